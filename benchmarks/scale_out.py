"""Scale-out: the whole default audit on one engine against another, side by side.

    python -m benchmarks.scale_out [--sizes 100000,1000000] [--ray] [--quick]
    python -m benchmarks.scale_out --sizes 10000000 --words 30 --engines ray \
        --checks MAP --eval-records 20000   # writes scale_out_10m

For each size it generates instruction records (`benchmarks.generate`, ~150 words unless
--words, cached under benchmarks/out/) and runs the whole default audit (or the --checks
given: `MAP` stands for every check that splits into batches) in a fresh process per engine:
`serial` (one process; only up to --serial-max records, it would take the longest),
`pool` (2 workers) and, with --ray, `ray` on a local instance (num_cpus=2). With
--eval-records, an evaluation set of that size (`benchmarks.generate eval`: 5% of it copied
from the training records) is given as `eval`, so eval_leakage splits over the batches.
Measured: wall time, CPU time of the whole process tree, and the peak memory of the tree as
the sum of the processes' PSS (proportional set size: pages shared copy-on-write by forked
workers are counted once), sampled every 0.2 s until the audit returns; the driver's own peak
RSS when the audit returns, and once the result's JSON text is made (as `ft-audit run --json`
does). The results of the engines are compared too (timings aside), as the identity tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.audit_scale import dataset
from benchmarks.common import REPO_ROOT, markdown_table, write_results

CHILD = """
import json, sys, time, resource
from audit import run_audit

def peak_mb():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024

checks = json.loads(sys.argv[4]) or None
eval_path = sys.argv[5] or None
started = time.perf_counter()
result = run_audit(sys.argv[1], engine=sys.argv[2], workers=2, progress=False, checks=checks,
                   eval=eval_path)
wall = time.perf_counter() - started
audit_peak = peak_mb()
open(sys.argv[3] + ".audited", "w").close()  # the tree's peak memory of the audit ends here
text = result.to_json()
json_peak = peak_mb()
doc = json.loads(text)
doc.pop("duration_s")
for c in doc["checks"]:
    c.pop("duration_s")
with open(sys.argv[3], "w") as fh:
    json.dump(doc, fh)
print(json.dumps({"wall": wall, "driver_peak_mb": audit_peak, "driver_json_peak_mb": json_peak,
                  "json_mb": len(text.encode()) / 1e6,
                  "go": result.verdict.go,
                  "checks": [(c.name, c.status.value, c.duration_s) for c in result.checks]}))
"""


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in children:
        out += _tree(int(child))
    return out


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # own time: children are sampled
    except (OSError, IndexError):
        return 0.0


def measure(path: Path, engine: str, out: Path, checks: list[str] | None = None,
            eval_path: Path | None = None) -> dict[str, Any]:
    """Run one audit in a child process; sample its tree's PSS and CPU time."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), engine, str(out),
                             json.dumps(checks or []), str(eval_path or "")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env, cwd=REPO_ROOT)
    peak, cpu = 0.0, dict[int, float]()
    audited = Path(str(out) + ".audited")
    audited.unlink(missing_ok=True)
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            pids = _tree(proc.pid)
            if not audited.exists():  # not the result's parsing for the comparison
                peak = max(peak, sum(_pss_mb(p) for p in pids))
            for p in pids:
                cpu[p] = max(cpu.get(p, 0.0), _cpu_seconds(p))
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    stdout, _ = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} audit of {path} failed with exit {proc.returncode}")
    report = json.loads(stdout.strip().splitlines()[-1])
    audited.unlink(missing_ok=True)
    report["peak_mb"] = peak
    report["cpu_s"] = sum(cpu.values())
    return report


def split_checks() -> list[str]:
    """The checks that define map() and combine() (eval_leakage splits when `eval` is given)."""
    from audit.registry import all_checks

    return sorted(name for name, cls in all_checks().items() if cls.splittable())


def resolve_checks(spec: str | None) -> list[str] | None:
    if not spec:
        return None
    names: list[str] = []
    for name in spec.split(","):
        names += split_checks() if name == "MAP" else [name]
    return list(dict.fromkeys(names))


def eval_set(train: Path, n: int, words: int) -> Path:
    from benchmarks.generate import write

    path = train.with_name(f"{train.stem}.eval_{n}.jsonl")
    if not path.exists():
        write("eval", n, path, words=words, train=train)
    return path


def run(sizes: list[int], engines: list[str], *, words: int = 150, serial_max: int = 200_000,
        checks: list[str] | None = None, eval_records: int = 0) -> str:
    sections = []
    for n in sizes:
        path = dataset(n, words)
        eval_path = eval_set(path, eval_records, words) if eval_records else None
        rows, outputs, reports = [], {}, {}
        used = [e for e in engines if e != "serial" or n <= serial_max]
        for engine in used:
            out = REPO_ROOT / "benchmarks" / "out" / f"scale_{n}_{engine}.json"
            reports[engine] = measure(path, engine, out, checks, eval_path)
            outputs[engine] = json.loads(out.read_text())
        reference = reports.get("serial") or reports[used[0]]
        for engine in used:
            r = reports[engine]
            same = "yes" if outputs[engine] == outputs[used[0]] else "NO"
            rows.append([engine, f"{r['wall']:.1f}", f"{r['wall'] / reference['wall']:.2f}",
                         f"{r['cpu_s']:.0f}", f"{r['peak_mb']:,.0f}",
                         f"{r['driver_peak_mb']:,.0f}", f"{r['driver_json_peak_mb']:,.0f}",
                         f"{r['json_mb']:.1f}", same])
        slowest = sorted(reports[used[-1]]["checks"], key=lambda c: -c[2])[:8]
        skipped = [e for e in engines if e not in used]
        sections += [f"## {n:,} records ({path.stat().st_size / 1e6:.0f} MB JSONL)", "",
                     markdown_table(["engine", "wall s", f"vs {used[0]}", "CPU s (tree)",
                                     "peak PSS MB (tree)", "driver peak RSS MB",
                                     "driver peak RSS MB with the JSON text",
                                     "JSON result MB", f"result = {used[0]}'s"], rows), "",
                     f"Slowest checks ({used[-1]}): " + ", ".join(
                         f"{name} {seconds:.1f} s" for name, _, seconds in slowest), ""]
        if skipped:
            sections += [f"Not run at this size: {', '.join(skipped)} (above --serial-max "
                         f"{serial_max:,}).", ""]
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--ray", action="store_true", help="also run on a local Ray instance")
    parser.add_argument("--quick", action="store_true", help="20k records only")
    parser.add_argument("--engines", default=None, help="comma-separated (default serial,pool)")
    parser.add_argument("--words", type=int, default=150, help="words per generated record")
    parser.add_argument("--serial-max", type=int, default=200_000,
                        help="largest size the serial engine runs at")
    parser.add_argument("--checks", default=None,
                        help="comma-separated checks (MAP: every splittable one); default all")
    parser.add_argument("--eval-records", type=int, default=0,
                        help="give a generated evaluation set of this size as eval")
    parser.add_argument("--name", default=None,
                        help="results file name (default scale_out; scale_out_10m with --checks)")
    args = parser.parse_args(argv)
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",") if args.engines else ["serial", "pool"]
    if args.ray and "ray" not in engines:
        engines.append("ray")
    checks = resolve_checks(args.checks)
    body = run(sizes, engines, words=args.words, serial_max=args.serial_max, checks=checks,
               eval_records=args.eval_records)
    what = ("Whole default audit" if checks is None else
            f"Audit of {len(checks)} checks ({', '.join(checks)})")
    extra = (f" with a {args.eval_records:,}-record evaluation set given as `eval`"
             if args.eval_records else "")
    name = args.name or ("scale_out" if checks is None else "scale_out_10m")
    write_results(name, "# Scale-out: engines side by side\n\n"
                  f"{what} of generated instruction records (~{args.words} words){extra}, a "
                  "fresh process per engine; `pool` and `ray` with 2 workers. Peak PSS: the sum "
                  "over the process tree (shared pages counted once) until the audit returns. "
                  "Driver peak RSS: when the audit returns, and once its JSON text is made.\n\n" + body)


if __name__ == "__main__":
    main()
