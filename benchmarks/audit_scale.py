"""The whole default audit at scale: wall time, peak RSS, time per check, and the parse floor.

    python -m benchmarks.audit_scale [--sizes 10000,100000] [--words 150] [--quick]

For each size it generates instruction records (benchmarks.generate, cached under
benchmarks/out/), then measures in separate forked processes: parsing the file with pyarrow
alone (the floor), loading it into a DatasetView, and the whole default audit. Also the CLI
start-up time (`ft-audit --help`, `ft-audit checks`). Writes benchmarks/results/audit_scale.md,
with the 1-minute load average before and after each audit (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, markdown_table, measure_isolated, write_results
from benchmarks.generate import write

OUT = REPO_ROOT / "benchmarks" / "out"


def dataset(n: int, words: int) -> Path:
    path = OUT / f"instruction_{n}_{words}w.jsonl"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        write("instruction", n, path, words=words)
    return path


def parse_floor(path: Path) -> int:
    import pyarrow.json as pj

    return int(pj.read_json(path).num_rows)


def load_only(path: Path) -> int:
    from audit.load import load_dataset

    return load_dataset(path).n


def full_audit(path: Path) -> dict[str, Any]:
    from audit.runner import run_audit

    result = run_audit(path, progress=False)
    return {"go": result.verdict.go,
            "checks": [(c.name, c.status.value, c.duration_s) for c in result.checks]}


def startup_seconds(args: list[str], repeats: int = 5) -> float:
    exe = str(Path(sys.executable).parent / "ft-audit")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([exe, *args], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(sizes: list[int], words: int, repeats: int) -> str:
    sections = []
    startup = [["ft-audit --help", startup_seconds(["--help"], repeats)],
               ["ft-audit checks", startup_seconds(["checks"], repeats)]]
    sections.append(f"## CLI start-up (median of {repeats} runs)\n\n"
                    + markdown_table(["command", "wall s"], startup))
    rows = []
    per_check: dict[str, dict[int, float]] = {}
    for n in sizes:
        path = dataset(n, words)
        mb = path.stat().st_size / 2**20
        floor = measure_isolated(parse_floor, path)
        load = measure_isolated(load_only, path)
        load_before = os.getloadavg()[0]
        audit = measure_isolated(full_audit, path)
        rows.append([f"{n:,}", f"{mb:.0f}", floor.wall_s, load.wall_s, load.peak_rss_mb,
                     audit.wall_s, audit.peak_rss_mb, audit.wall_s / floor.wall_s,
                     "go" if audit.value["go"] else "no-go",
                     f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"])
        for name, _status, seconds in audit.value["checks"]:
            per_check.setdefault(name, {})[n] = seconds
        print(f"{n:,} records: audit {audit.wall_s:.1f}s, peak {audit.peak_rss_mb:.0f} MB",
              flush=True)
    sections.append(
        f"## Whole default audit, instruction records of ~{words} words\n\n"
        + markdown_table(["records", "file MB", "pyarrow parse s", "load s", "load peak MB",
                          "audit s", "audit peak MB", "audit / parse", "verdict",
                          "load avg before / after audit"], rows))
    check_rows = [[name, *(times.get(n, float("nan")) for n in sizes)]
                  for name, times in sorted(per_check.items(), key=lambda kv: -max(kv[1].values()))]
    sections.append("## Time per check (s), from the JSON result's duration_s\n\n"
                    + markdown_table(["check", *(f"{n:,}" for n in sizes)], check_rows))
    return "\n\n".join(sections)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (smoke run)")
    args = parser.parse_args(argv)
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",")]
    markdown = run(sizes, args.words if not args.quick else 30, 1 if args.quick else 5)
    if args.quick:
        print(markdown)
    else:
        print(f"wrote {write_results('audit_scale', markdown)}")


if __name__ == "__main__":
    main()
