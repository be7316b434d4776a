"""`ft-audit fix`: what it changes on planted and real data, and how fast it is.

    python -m benchmarks.fix            # sample data, real data, 100k records
    python -m benchmarks.fix --quick    # 20k records for the speed part

1. Sample data (`sample_data/`, planted defects in `manifest.json`): the default policy, per
   planted defect: how many of its records were removed or repaired (recall), which planted
   defects the default policy does not act on, and every record changed that the manifest
   does not list (precision: changed records that are planted / all changed records).
2. Real data (`../shared/datasets`, skipped when absent): no published before/after cleaning
   with both sides is available there, so what is measured is the share of records fix
   changes in sets documented as clean or as the kept side of a filter (each change there is
   a disagreement with the people who kept the record), by action.
3. Speed: a generated instruction set (`benchmarks.generate`) with PII and control characters
   added to 10% of the records: the full audit, fix from that saved result, and fix auditing
   itself (the checks the policy reads), each in a fresh process.

Writes benchmarks/results/fix.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, markdown_table, shared_datasets_dir, write_results

SAMPLE = REPO_ROOT / "sample_data"
#: manifest defect -> the default-policy action that acts on it
COVERED = {
    "exact_duplicates": "duplicates", "near_duplicates": "duplicates",
    "eval_leakage": "eval_leaks", "empty_responses": "empty_responses",
    "placeholder_responses": "placeholders",
    "placeholder_responses:inconsistent_no_input": "no_input_markers",
    "unavailable_context": "unavailable_context", "refusals": "refusals",
    "truncation": "truncation", "control_characters": "control_characters", "pii": "pii",
    "structured_output:python_literal": "structured_output",
    "structured_output:code_fence": "structured_output",
    "structured_output:invalid_json": "structured_output",
}
#: planted defects the default policy has no action for, and why
NOT_COVERED = {
    "structured_output:empty_field": "an empty value cannot be filled in without guessing",
    "structured_output:ungrounded": "the right value is not known",
    "structured_output:schema_deviation": "renamed keys are not repaired",
    "merged_instructions": "no action in the issue's policy",
    "length_outliers": "no action in the issue's policy",
    "conflicting_responses": "opt-in action `conflicts`",
    "label_issues": "opt-in action `relabel`",
    "group_label_disparity": "a property of the data, not of records",
    "stereotype_association": "a property of the data, not of records",
}
EVAL = {"support_alpaca.jsonl": "support_eval.jsonl"}
_TRAIN = re.compile(r"train record (\d+)")


def changed_records(log: Iterable[Mapping[str, Any]]) -> tuple[set[int], set[int]]:
    """(dropped, edited) record ids of a fix log."""
    dropped = {int(r["id"]) for r in log if r["action"] == "drop"}
    edited = {int(r["id"]) for r in log if r["action"] != "drop"} - dropped
    return dropped, edited


def score_sample(entry: Mapping[str, Any], log: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per planted defect of one manifest file: planted, fixed and missed records; and the
    records changed that the manifest does not list."""
    log = list(log)
    dropped, edited = changed_records(log)
    changed = dropped | edited
    planted_any: set[int] = set()
    per: dict[str, dict[str, Any]] = {}
    for item in entry["planted"]:
        defect = item["defect"]
        records = [int(r) for r in item["records"]]
        row = per.setdefault(defect, {"planted": 0, "fixed": 0, "missed": []})
        if defect in ("exact_duplicates", "near_duplicates"):
            planted_any.update(records)
            row["planted"] += 1
            if len(dropped & set(records)) >= len(records) - 1:  # one copy left at most
                row["fixed"] += 1
            else:
                row["missed"].append(records)
            continue
        if defect == "eval_leakage":
            match = _TRAIN.search(item.get("detail", ""))
            if match is None:
                continue
            train = int(match.group(1))
            planted_any.add(train)
            row["planted"] += 1
            if train in dropped:
                row["fixed"] += 1
            else:
                row["missed"].append(train)
            continue
        planted_any.update(records)
        for record in records:
            row["planted"] += 1
            if record in changed:
                row["fixed"] += 1
            else:
                row["missed"].append(record)
    clean_changed = sorted(changed - planted_any)
    return {"defects": per, "changed": len(changed), "dropped": len(dropped),
            "edited": len(edited), "clean_changed": clean_changed,
            "precision": (len(changed & planted_any) / len(changed)) if changed else 1.0,
            "clean_reasons": Counter(f"{r['action']} {r['check']}:{r['code']}" for r in log
                                     if int(r["id"]) in set(clean_changed))}


def fix_sample(name: str, out_dir: Path) -> list[dict[str, Any]]:
    """Run the default policy on one sample file (auditing first); its changes log."""
    from audit.cli.fix import changes_path, fix_dataset
    from audit.cli.fix_policy import default_policy
    from audit.config import Config

    out = out_dir / name
    eval_name = EVAL.get(name)
    fix_dataset(SAMPLE / name, out, policy=default_policy(), config=Config(),
                eval=SAMPLE / eval_name if eval_name else None)
    return [json.loads(line) for line in changes_path(out).read_text().splitlines()]


def sample_section() -> str:
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    parts = ["## Sample data, default policy", "",
             "Recall: planted records (pairs for duplicates, the training copy for eval leaks) "
             "that fix removed or repaired. Precision: changed records that the manifest lists "
             "as planted. Defects without a default action are listed apart.", ""]
    rows: list[list[Any]] = []
    totals = Counter[str]()
    with tempfile.TemporaryDirectory() as tmp:
        for name, entry in manifest["files"].items():
            if name in EVAL.values():
                continue
            if name in EVAL:  # the eval set's planted leaks name the training copies
                entry = {**entry, "planted": [*entry["planted"],
                                              *manifest["files"][EVAL[name]]["planted"]]}
            score = score_sample(entry, fix_sample(name, Path(tmp)))
            for defect, row in sorted(score["defects"].items()):
                if defect in COVERED:
                    rows.append([name, defect, row["planted"], row["fixed"],
                                 f"{row['fixed'] / row['planted']:.2f}" if row["planted"] else "-",
                                 _missed(row["missed"])])
                    totals["planted"] += row["planted"]
                    totals["fixed"] += row["fixed"]
                else:
                    rows.append([name, defect, row["planted"], "-", "not covered",
                                 NOT_COVERED.get(defect, "")])
            totals["changed"] += score["changed"]
            totals["clean"] += len(score["clean_changed"])
            parts_line = (f"- `{name}`: {score['changed']} records changed ({score['dropped']} "
                          f"dropped, {score['edited']} edited), precision "
                          f"{score['precision']:.3f}; changed but not planted: "
                          f"{len(score['clean_changed'])}")
            if score["clean_reasons"]:
                parts_line += " (" + ", ".join(f"{k} {v}" for k, v in
                                               sorted(score["clean_reasons"].items())) + ")"
            parts.append(parts_line)
    parts += ["", markdown_table(["file", "planted defect", "planted", "fixed", "recall",
                                  "missed (ids)"], rows), "",
              f"Covered defects overall: {totals['fixed']} of {totals['planted']} fixed "
              f"(recall {totals['fixed'] / max(totals['planted'], 1):.3f}); "
              f"{totals['clean']} of {totals['changed']} changed records are not planted."]
    return "\n".join(parts)


def _missed(missed: list[Any]) -> str:
    shown = ", ".join(str(m) for m in missed[:8])
    return shown + (f" (+{len(missed) - 8})" if len(missed) > 8 else "")


# -- real data ----------------------------------------------------------------------------------
REAL = (
    ("dolly_alpagasus_filtered_3k/dolly_3k.json",
     "the kept side of the AlpaGasus filter (LLM-rated best 20% of Dolly 15k)"),
    ("gsm8k_train_alpaca_format/gsm_8k_train.json", "human-written, human-verified (GSM8K)"),
    ("code_alpaca/code_alpaca_2k.json", "generated; no documented per-row issues"),
    ("code_alpaca/new_codealpaca.json", "generated; no documented per-row issues"),
    ("banking77/train.csv", "human-labelled intents; no duplicates (derived)"),
)


def real_section() -> str:
    folder = shared_datasets_dir()
    if folder is None:
        return "## Real data\n\nSkipped: ../shared/datasets is not available."
    from audit.cli.fix import fix_dataset
    from audit.cli.fix_policy import default_policy
    from audit.config import Config

    rows: list[list[Any]] = []
    details: list[str] = []
    for relative, what in REAL:
        path = folder / relative
        if not path.exists():
            continue
        started = time.perf_counter()
        outcome = fix_dataset(path, None, policy=default_policy(), config=Config(),
                              dry_run=True)
        wall = time.perf_counter() - started
        dropped, edited = changed_records(outcome.log)
        n = outcome.n_records
        rows.append([relative, what, n, len(dropped), f"{len(dropped) / n:.2%}", len(edited),
                     f"{len(edited) / n:.2%}", f"{wall:.1f}"])
        by_action = Counter(f"{r['action']} {r['check']}:{r['code']}" for r in outcome.log)
        details.append(f"- `{relative}`: " + ", ".join(f"{k} {v}" for k, v in
                                                        sorted(by_action.items()))
                       + _label_agreement(path, outcome.log))
    dolly = folder / REAL[0][0]
    markers = ""
    if dolly.exists():
        data = json.loads(dolly.read_text())
        cited = sum(1 for r in data if re.search(r"\[\d+\]", r.get("input", "")))
        markers = (f"Dolly's own card recommends removing bracketed Wikipedia citation markers "
                   f"(`[42]`) from the context field: {cited} of {len(data)} records of the "
                   "AlpaGasus subset have them, so that documented cleaning cannot be "
                   "measured here" + (" (fix has no action for them: no check reports them)."
                                      if cited else "."))
    return "\n".join([
        "## Real data, default policy (dry run)", "",
        "No dataset in ../shared/datasets comes with both sides of a published cleaning: "
        "Dolly's AlpaGasus subset is only the kept side (the ~12k rejected rows are not "
        "there), and code_alpaca's two files are different generations (one shared "
        "instruction), not a before/after pair. So precision and recall against authors' "
        "removals cannot be measured here. What is measured: the share of records fix changes "
        "in sets documented as clean or kept, an upper bound on its disagreement with the "
        "people who kept them.", "",
        markdown_table(["file", "what it is", "records", "dropped", "share", "edited", "share",
                        "wall s"], rows), "", "Changes by action:", "", *details, "", markers])


def _label_agreement(path: Path, log: list[dict[str, Any]]) -> str:
    """For labelled data: how many dropped duplicates carry the label of the record kept."""
    from audit import load_dataset

    view = load_dataset(path)
    if not view.has_labels:
        return ""
    pairs = [(r["id"], r["kept"]) for r in log if r.get("kept") is not None]
    if not pairs:
        return ""
    labels = view.labels
    position = {int(i): p for p, i in enumerate(view.ids.tolist())}
    same = sum(labels[position[a]] == labels[position[b]] for a, b in pairs)
    return (f" (of the {len(pairs)} duplicates dropped, {same} have the label of the record "
            "kept)")


# -- speed --------------------------------------------------------------------------------------
def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "audit", *args], check=False, capture_output=True)
    return time.perf_counter() - started


def _with_edits(path: Path, share: float = 0.1) -> int:
    """Add an e-mail address and a zero-width space to `share` of the responses (in place)."""
    lines = path.read_bytes().split(b"\n")
    step = max(int(1 / share), 1)
    edited = 0
    for i in range(0, len(lines), step):
        if not lines[i].strip():
            continue
        row = json.loads(lines[i])
        row["output"] = (f"Contact jo.miller{i}@gmail.com for help.\u200b " + row["output"])
        lines[i] = json.dumps(row).encode()
        edited += 1
    path.write_bytes(b"\n".join(lines))
    return edited


def speed_section(n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.jsonl"
        subprocess.run([sys.executable, "-m", "benchmarks.generate", "instruction", str(n),
                        str(data)], check=True, capture_output=True)
        edited = _with_edits(data)
        audit_json = Path(tmp) / "audit.json"
        audit_s = _timed(["run", str(data), "--json", str(audit_json), "--quiet"])
        from_result_s = _timed(["fix", str(data), "--out", str(Path(tmp) / "a.jsonl"),
                                "--from-result", str(audit_json), "--quiet"])
        reaudit_s = _timed(["fix", str(data), "--out", str(Path(tmp) / "b.jsonl"), "--quiet"])
        log = (Path(tmp) / "a.jsonl.changes.jsonl").read_text().splitlines()
        same = (Path(tmp) / "a.jsonl").read_bytes() == (Path(tmp) / "b.jsonl").read_bytes()
    rows = [["ft-audit run (every default check) --json", f"{audit_s:.1f}", ""],
            ["ft-audit fix --from-result", f"{from_result_s:.1f}", "target < 15 s"],
            ["ft-audit fix (audits the checks its policy reads)", f"{reaudit_s:.1f}",
             f"target < audit + 15 s = {audit_s + 15:.0f} s"]]
    return "\n".join([
        f"## Speed, {n:,} generated instruction records", "",
        f"{edited:,} responses carry an e-mail address and a zero-width space (masked and "
        f"stripped), plus the generator's planted duplicates, placeholders, empty responses "
        f"and refusals; {len(log):,} changes logged. Wall time of each command in a fresh "
        "process (imports included).", "",
        markdown_table(["command", "wall s", ""], rows), "",
        f"Both fix runs wrote the same bytes: {same}."])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k records for the speed part")
    parser.add_argument("--records", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.records or (20_000 if args.quick else 100_000)
    text = "\n\n".join([sample_section(), real_section(), speed_section(n)])
    path = write_results("fix", text)
    print(text)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
