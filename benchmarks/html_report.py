"""Report rendering at scale: HTML size and render time (also Markdown and JUnit).

    python -m benchmarks.html_report [--quick] [--size 100000] [--checks a,b] [--from-json F ...]

1. A real audit: the default audit (or only --checks) of N generated instruction records with
   planted defects (benchmarks.generate via benchmarks.audit_scale's cache; N = 100,000, or
   10,000 with --quick), or a saved JSON result (--from-json). Each renderer runs in a forked
   process: wall time, peak RSS, output size.
2. A synthetic worst case: 30 failed checks with 200 findings of 50,000 records each, 2,000
   record excerpts of 600 characters, and chart-shaped details in every check, so every cap
   (rows, findings, charts) is hit.

Writes benchmarks/results/html_report.md. The target: under 2 MB of HTML for an audit of
100,000 records.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, markdown_table, measure_isolated, write_results

OUT = REPO_ROOT / "benchmarks" / "out"
TARGET_BYTES = 2_000_000


def run_default_audit(data: Path, json_path: Path, checks: list[str] | None) -> dict[str, Any]:
    from audit.runner import run_audit

    result = run_audit(data, checks=checks, progress=False)
    result.to_json(str(json_path))
    return {"checks": len(result.checks),
            "findings": sum(len(c.findings) for c in result.checks),
            "flagged": sum(f.n_records for c in result.checks for f in c.findings),
            "examples": len(result.examples)}


def describe(json_path: Path) -> dict[str, Any]:
    from audit.result import AuditResult

    result = AuditResult.from_json(str(json_path))
    return {"checks": len(result.checks),
            "findings": sum(len(c.findings) for c in result.checks),
            "flagged": sum(f.n_records for c in result.checks for f in c.findings),
            "examples": len(result.examples), "records": result.dataset.n_records}


def render(fmt: str, json_path: Path) -> tuple[int, float]:
    """(bytes, seconds) for one format, the JSON load excluded from the time."""
    from audit.result import AuditResult

    result = AuditResult.from_json(str(json_path))
    started = time.perf_counter()
    if fmt == "html":
        from reports.html_report import render_html

        text = render_html(result)
    elif fmt == "markdown":
        from reports.markdown_report import render_markdown

        text = render_markdown(result)
    else:
        from reports.junit_report import render_junit

        text = render_junit(result)
    return len(text.encode("utf-8")), time.perf_counter() - started


def synthetic_worst_case(json_path: Path) -> dict[str, Any]:
    from audit.result import (
        AuditResult,
        CheckResult,
        DatasetInfo,
        Finding,
        Severity,
        Status,
        Verdict,
    )

    text = "word " * 120
    checks = []
    for c in range(30):
        findings = tuple(Finding(check=f"check_{c}", code=f"code_{f % 5}",
                                 severity=Severity.WARNING, message="finding message " * 12,
                                 records=tuple(range(f * 7, f * 7 + 1000)), n_records=50_000,
                                 details={"k": list(range(50))}) for f in range(200))
        checks.append(CheckResult(
            name=f"check_{c}", category="synthetic", status=Status.FAILED, findings=findings,
            metrics={f"metric_{i}": float(i) for i in range(20)},
            description="A synthetic check.\n\nIt exists to hit every cap of the report.",
            details={"label_counts": {f"label {i}": i + 1 for i in range(500)},
                     "curve": [{"x": i, "y": i ** 0.5} for i in range(1000)],
                     "confusion": {"labels": [f"l{i}" for i in range(30)],
                                   "matrix": [[i * j for j in range(30)] for i in range(30)]},
                     "big": list(range(5000))}))
    result = AuditResult(
        tool_version="bench", checks=tuple(checks), config={}, seed=0,
        dataset=DatasetInfo(source="synthetic", schema="alpaca", fields={}, n_records=100_000,
                            fingerprint="sha256:0"),
        verdict=Verdict(go=False, exit_code=1, reasons=tuple(f"check_{c} failed"
                                                             for c in range(30))),
        examples={i: {"line": i + 1, "prompt": text, "response": text, "label": "lab"}
                  for i in range(2000)})
    result.to_json(str(json_path))
    return {"checks": 30, "findings": 6000, "flagged": 30 * 200 * 50_000, "examples": 2000}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 records instead of 100,000")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--checks", default=None,
                        help="comma-separated checks to run instead of the default audit")
    parser.add_argument("--from-json", type=Path, action="append", default=None,
                        help="render this saved result instead of running an audit "
                             "(repeatable)")
    args = parser.parse_args(argv)
    size = args.size or (10_000 if args.quick else 100_000)
    OUT.mkdir(parents=True, exist_ok=True)

    cases: list[tuple[str, Path, dict[str, Any], float]] = []
    if args.from_json:
        for saved in args.from_json:
            info = describe(saved)
            cases.append((f"saved result {saved.name} ({info['records']:,} records)", saved,
                          info, float("nan")))
    else:
        from benchmarks.audit_scale import dataset

        data = dataset(size, args.words)
        json_path = OUT / f"html_report_audit_{size}.json"
        checks = args.checks.split(",") if args.checks else None
        audit = measure_isolated(run_default_audit, data, json_path, checks)
        what = "default audit" if checks is None else f"audit ({', '.join(checks)})"
        cases.append((f"{what}, {size:,} records", json_path, audit.value, audit.wall_s))
    worst = OUT / "html_report_worst_case.json"
    cases.append(("synthetic worst case (30 checks x 200 findings x 50k records)", worst,
                  synthetic_worst_case(worst), float("nan")))

    rows = []
    for label, path, info, audit_s in cases:
        row: list[Any] = [label, info.get("checks", "-"), info.get("findings", "-"),
                          f"{info['flagged']:,}" if "flagged" in info else "-",
                          f"{path.stat().st_size / 1e6:.2f}", audit_s]
        for fmt in ("html", "markdown", "junit"):
            measured = measure_isolated(render, fmt, path)
            size_bytes, seconds = measured.value
            row += [f"{size_bytes / 1e6:.3f}", seconds]
            if fmt == "html":
                row.append(measured.peak_rss_mb)
                verdict = "yes" if size_bytes < TARGET_BYTES else "NO"
        row.append(verdict)
        rows.append(row)
        print(label, row)
    headers = ["result", "checks", "findings", "flagged records", "JSON MB", "audit s",
               "HTML MB", "HTML render s", "HTML peak RSS MB", "Markdown MB", "Markdown s",
               "JUnit MB", "JUnit s", "HTML < 2 MB"]
    table = markdown_table(headers, rows)
    note = ("Render times exclude loading the JSON. HTML render time is dominated by drawing the "
            "charts with matplotlib (at most 40 per report, 4 per check, 600 kB of SVG). Saved "
            "results come from `ft-audit run ... --json` (or an earlier run of this benchmark).")
    path = write_results("html_report", f"## Report rendering\n\n{table}\n\n{note}\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
