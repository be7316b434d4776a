"""Run benchmark suites and collect their latest figures into benchmarks/RESULTS.md.

    python -m benchmarks                      # every suite, full sizes (takes a while)
    python -m benchmarks audit_scale label_noise
    python -m benchmarks --collect            # only rebuild RESULTS.md from results/*.md

Each suite is a module `benchmarks/<name>.py` runnable as `python -m benchmarks.<name>` that
writes `benchmarks/results/<name>.md`. Suites run one after another in child processes so that
their memory figures do not mix.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from benchmarks.common import REPO_ROOT, RESULTS_DIR, machine_line

SUITES = ("audit_scale", "integrity_family", "instruction_defects", "structured_output",
          "duplication", "label_noise", "bias", "diversity", "unavailable_context", "grounding",
          "html_report", "data_ci", "language", "fix", "whole_audit")
RESULTS_MD = REPO_ROOT / "benchmarks" / "RESULTS.md"
#: the command that writes each results file, where it is not `python -m benchmarks.<name>`
COMMANDS = {
    "integrity": "python -m benchmarks.integrity_family",
    "label_noise_finetuned": "python -m benchmarks.label_noise --finetuned",
    "label_noise_finetune_pilot": "python -m benchmarks.label_noise --finetune-pilot",
    "label_noise_neighbours": "python -m benchmarks.label_noise --neighbours",
    "scale_out": "python -m benchmarks.scale_out --sizes 100000,1000000 --ray",
    "scale_out_10m": "python -m benchmarks.scale_out --sizes 10000000 --words 30 --engines ray "
                     "--checks MAP --eval-records 20000",
}


def command_for(stem: str) -> str:
    return COMMANDS.get(stem, f"python -m benchmarks.{stem}")


def available() -> list[str]:
    return [s for s in SUITES if (REPO_ROOT / "benchmarks" / f"{s}.py").exists()]


def collect() -> str:
    parts = ["# Benchmark results", "",
             "The only place measured figures live. Latest figures from `python -m benchmarks` "
             "(each section is written by its suite, named under its heading; the suite's module "
             "docstring says what it measures and how).", "",
             f"Collected {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on: {machine_line()}",
             ""]
    for path in sorted(RESULTS_DIR.glob("*.md")):
        body = path.read_text(encoding="utf-8")
        parts += [f"## {path.stem}", "", f"Produced by: `{command_for(path.stem)}`", "",
                  body.replace("\n## ", "\n### ").strip(), ""]
    text = "\n".join(parts)
    RESULTS_MD.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", help=f"default: all of {', '.join(available())}")
    parser.add_argument("--quick", action="store_true", help="pass --quick to each suite")
    parser.add_argument("--collect", action="store_true", help="only rebuild RESULTS.md")
    args = parser.parse_args(argv)
    failed = []
    if not args.collect:
        for suite in args.suites or available():
            if suite not in SUITES:
                parser.error(f"unknown suite {suite!r}; known: {', '.join(available())}")
            print(f"== {suite}", flush=True)
            cmd = [sys.executable, "-m", f"benchmarks.{suite}"] + (["--quick"] if args.quick else [])
            if subprocess.run(cmd, cwd=REPO_ROOT).returncode != 0:
                failed.append(suite)
    collect()
    print(f"wrote {RESULTS_MD}")
    if failed:
        sys.exit(f"failed suites: {', '.join(failed)}")


if __name__ == "__main__":
    main()
