"""Data pull requests: `ft-audit diff` of two results, and the result's size, at 100k records.

    python -m benchmarks.data_ci [--quick]

N (default 100k, --quick 20k) generated instruction records (`benchmarks.generate`) are the
base; the head edits 1% of them (a changed response) and appends 1% new ones. Both are audited
with the record-level checks (duplicates, integrity patterns, empty responses) to get results
with realistic findings. Then, in a forked child each: loading both JSON results and diffing
them (`audit.diff.diff_results`, what `ft-audit diff` does), wall time and peak RSS. Reported
with the JSON sizes and what the diff found against what was planted.

Then the incremental cache (`run --cache DIR`), whole default audit on the default engine,
each run in a fresh process: the base audited with an empty cache (the cold run, which fills
it), the head audited with that cache (the warm run) and without one (the reference its
result must equal, timings aside). Target: warm at most 25% of cold. The same on real public
data from ../shared/datasets (Banking77 train: short labelled texts; GSM8K train: long
instruction records), each edited and extended the same way.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    markdown_table,
    measure_isolated,
    shared_datasets_dir,
    write_results,
)
from benchmarks.generate import instruction_records

CHECKS = ("exact_duplicates", "near_duplicates", "empty_responses", "placeholder_responses",
          "refusals", "control_characters")
EDIT_SHARE = 0.01
APPEND_SHARE = 0.01


def make_versions(n: int, folder: Path) -> tuple[Path, Path, int, int]:
    base = [record for record, _ in instruction_records(n, seed=11)]
    rng = np.random.default_rng(12)
    head = [dict(r) for r in base]
    edited = rng.choice(n, int(n * EDIT_SHARE), replace=False)
    for i in edited:
        head[int(i)]["output"] = head[int(i)]["output"] + " Edited in the pull request."
    extra = [record for record, _ in instruction_records(int(n * APPEND_SHARE), seed=13)]
    head += extra
    paths = []
    for name, rows in (("base", base), ("head", head)):
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(path)
    return paths[0], paths[1], len(edited), len(extra)


#: real datasets for the cache rows: (name, path under ../shared/datasets)
REAL = (("banking77 train", "banking77/train.csv"),
        ("gsm8k train", "gsm8k_train_alpaca_format/gsm_8k_train.json"))


def real_versions(source: Path, folder: Path) -> tuple[Path, Path]:
    """The real dataset as the base, and a head editing the longest text field of 1% of its
    records and appending 1% edited copies."""
    from audit.load import load_dataset

    base = load_dataset(source).raw.to_pylist()
    field = max((k for k, v in base[0].items() if isinstance(v, str)),
                key=lambda k: sum(len(r.get(k) or "") for r in base))
    rng = np.random.default_rng(21)
    head = [dict(r) for r in base]
    for i in rng.choice(len(base), max(1, len(base) // 100), replace=False).tolist():
        head[i][field] = f"{head[i][field]} (revised)"
    head += [dict(base[i], **{field: f"{base[i][field]} (new)"})
             for i in rng.choice(len(base), max(1, len(base) // 100), replace=False).tolist()]
    paths = []
    for name, rows in (("base", base), ("head", head)):
        path = folder / f"{source.stem}-{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(path)
    return paths[0], paths[1]


def audit_to(data: Path, out: Path) -> float:
    from audit import run_audit

    started = time.perf_counter()
    run_audit(data, checks=CHECKS).to_json(str(out))
    return time.perf_counter() - started


def diff_files(base: Path, head: Path) -> dict[str, Any]:
    from audit.diff import diff_results
    from audit.result_io import load_result

    diff = diff_results(load_result(base), load_result(head))
    return {"added": len(diff.data.added), "removed": len(diff.data.removed),
            "edited": len(diff.data.edited), "unchanged": diff.data.unchanged,
            "new_flags": sum(c.n_new for c in diff.checks),
            "regressions": len(diff.regressions)}


def whole_audit(data: Path, cache: Path | None, engine: str
                ) -> tuple[float, str, dict[str, float], str]:
    """(wall s, digest of the result without timings and cache use, seconds per check, the
    share of per-text values read from the cache that earlier runs stored)."""
    import hashlib

    from audit import run_audit
    from audit.testing import comparable_result

    started = time.perf_counter()
    result = run_audit(data, cache=cache, engine=engine)
    wall = time.perf_counter() - started
    seconds = {c.name: c.duration_s or 0.0 for c in result.checks}
    digest = hashlib.sha256(json.dumps(comparable_result(result), sort_keys=True).encode()
                            ).hexdigest()
    use = result.cache_use or {}
    looked_up = use.get("read", 0) + use.get("computed", 0)
    read = f"{use.get('read', 0) / looked_up:.1%}" if looked_up else "-"
    return wall, digest, seconds, read


def incremental(base: Path, head: Path, folder: Path, engine: str
                ) -> tuple[list[Any], str]:
    """A row of the cache table for `engine`, and a note (the slowest checks, before and
    after)."""
    from audit.cache import RecordCache

    cache = folder / f"cache-{base.stem}-{engine}"  # its own, so its size is this data's
    cold = measure_isolated(whole_audit, base, cache, engine)
    size_mb = RecordCache(cache).info().bytes / 1e6
    warm = measure_isolated(whole_audit, head, cache, engine)
    plain = measure_isolated(whole_audit, head, None, engine)
    row = [engine, plain.value[0], cold.value[0], warm.value[0], warm.value[0] / cold.value[0],
           f"{cold.peak_rss_mb:,.0f} / {warm.peak_rss_mb:,.0f}",
           "yes" if warm.value[1] == plain.value[1] else "NO", warm.value[3],
           f"{size_mb:.1f} / {base.stat().st_size / 1e6:.1f}"]
    slowest = sorted(plain.value[2], key=lambda c: -plain.value[2][c])[:12]
    return row, f"{engine}, slowest checks uncached → warm (check seconds): " + ", ".join(
        f"{c} {plain.value[2][c]:.1f} → {warm.value[2].get(c, 0.0):.1f}" for c in slowest)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k records instead of 100k")
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base, head, n_edited, n_appended = make_versions(n, folder)
        base_json, head_json = folder / "base.json", folder / "head.json"
        audit_s = [audit_to(base, base_json), audit_to(head, head_json)]
        measured = measure_isolated(diff_files, base_json, head_json)
        sizes = [p.stat().st_size / 1e6 for p in (base_json, head_json)]
        cached = [incremental(base, head, folder, engine) for engine in ("pool", "serial")]
        shared = shared_datasets_dir()
        for name, relative in REAL:
            if shared is None:
                break
            real_base, real_head = real_versions(shared / relative, folder)
            row, note = incremental(real_base, real_head, folder, "pool")
            cached.append(([f"{name}: {row[0]}", *row[1:]], f"{name}: {note}"))
    found = measured.value
    rows = [["records (base / head)", f"{n:,} / {n + n_appended:,}"],
            ["audits (checks: " + ", ".join(CHECKS) + ")",
             f"{audit_s[0]:.1f} s / {audit_s[1]:.1f} s"],
            ["JSON result size (base / head)", f"{sizes[0]:.1f} MB / {sizes[1]:.1f} MB"],
            ["diff: load both results + compare", f"{measured.wall_s:.2f} s, peak RSS "
                                                  f"{measured.peak_rss_mb:,.0f} MB"],
            ["records edited: planted / found", f"{n_edited:,} / {found['edited']:,}"],
            ["records appended: planted / found as added", f"{n_appended:,} / {found['added']:,}"],
            ["records removed found", f"{found['removed']:,}"],
            ["records unchanged", f"{found['unchanged']:,}"],
            ["newly flagged record contents", f"{found['new_flags']:,}"]]
    body = ["# Data pull requests", "",
            f"Generated instruction records; the head edits {EDIT_SHARE:.0%} of the base's "
            f"responses and appends {APPEND_SHARE:.0%} new records. Target: the diff of two "
            "100k-record results under 2 s.", "",
            markdown_table(["what", "measured"], rows), "",
            "## Incremental re-audit (whole default audit, `--cache`)", "",
            markdown_table(["engine", "head uncached s", "cold s (base, empty cache)",
                            "warm s (head, base's cache)", "warm / cold (target <= 0.25)",
                            "peak RSS MB cold / warm", "warm result = uncached",
                            "warm: per-text values read from earlier runs",
                            "cache MB / dataset MB"], [row for row, _ in cached]), "",
            *(f"- {note}" for _, note in cached)]
    write_results("data_ci", "\n".join(body))


if __name__ == "__main__":
    main()
