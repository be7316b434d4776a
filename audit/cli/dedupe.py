"""`ft-audit dedupe`: a deduplicated copy of a dataset (a shortcut for a `fix` policy).

    ft-audit dedupe train.jsonl --out train.dedup.jsonl
    ft-audit dedupe train.jsonl --out clean.jsonl --drop-eval-leaks --eval eval.jsonl

The same as `ft-audit fix` with only its `duplicates` action (and, with `--drop-eval-leaks`,
its `eval_leaks` action for every leak kind): keeps one record per exact/near duplicate
cluster, the FIRST occurrence in input order (the record with the smallest id), so the choice
is deterministic and does not depend on the seed. Exact duplicates are (prompt, response) pairs
equal after normalisation; near duplicates are full texts with Jaccard >= the
`near_duplicates` threshold (config `[checks.near_duplicates]` params apply). With
`--drop-eval-leaks`, training records that leak an evaluation record (see `eval_leakage`) are
dropped too.

Kept records are preserved exactly (for JSONL the original line bytes). The output is written
atomically, never over the input, with `<out>.changes.jsonl` (the `fix` log) and
`<out>.removed.jsonl`, which lists every removed record with the reason and the record kept in
its place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from audit.errors import AuditError

if TYPE_CHECKING:
    from audit.cli.fix import FixOutcome

SIDECAR_SUFFIX = ".removed.jsonl"
#: the sidecar's reason for each finding code fix drops by
REASONS = {"duplicate_cluster": "exact_duplicate", "near_duplicate_cluster": "near_duplicate"}


def removed_rows(outcome: FixOutcome) -> list[dict[str, Any]]:
    """The sidecar rows: id, line, reason, the record kept in its place (and for a leak, the
    evaluation record and the kind of leak)."""
    rows = []
    for row in outcome.log:
        if row["action"] != "drop" or row["check"] == "bad_records":
            continue
        if row["code"] in REASONS:
            rows.append({"id": row["id"], "line": row["line"], "reason": REASONS[row["code"]],
                         "kept": row.get("kept")})
        else:
            rows.append({"id": row["id"], "line": row["line"], "reason": "eval_leak",
                         "kept": None, "eval": row.get("eval"), "kind": row.get("kind")})
    return rows


def dedupe(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="Dataset file to deduplicate.",
                                         show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the deduplicated "
                                      "copy (same format as DATA).", show_default=False)],
    drop_eval_leaks: Annotated[bool, typer.Option(
        "--drop-eval-leaks", help="Also drop training records that leak an evaluation record "
                                  "(needs --eval or an eval split).")] = False,
    eval: Annotated[Optional[Path], typer.Option("--eval", help="Evaluation set for "
                                                 "--drop-eval-leaks.")] = None,
    exact_only: Annotated[bool, typer.Option("--exact-only", help="Remove exact duplicates "
                                             "only (no near duplicates).")] = False,
    config: Annotated[Optional[Path], typer.Option(
        "--config", "-c", help="Config file ([fields], seed, and near_duplicates / "
                               "eval_leakage params).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (default 0).")] = None,
    prompt_field: Annotated[Optional[str], typer.Option("--prompt-field")] = None,
    response_field: Annotated[Optional[str], typer.Option("--response-field")] = None,
    label_field: Annotated[Optional[str], typer.Option("--label-field")] = None,
    split_field: Annotated[Optional[str], typer.Option("--split-field")] = None,
    schema: Annotated[Optional[str], typer.Option("--schema", help="Force a schema.")] = None,
) -> None:
    """Write DATA without duplicates (first occurrence kept) and list what was removed."""
    from audit.cli.fix import _config, _fields, changes_path, fix_dataset, write_fix
    from audit.cli.fix_policy import LEAK_KINDS, only
    from audit.io import atomic_write_text, ensure_not_input

    sidecar = Path(str(out) + SIDECAR_SUFFIX)
    inputs = [data, eval, config]
    ensure_not_input(sidecar, inputs)
    actions = ("duplicates", "eval_leaks") if drop_eval_leaks else ("duplicates",)
    policy = only(*actions, duplicates={"near": not exact_only},
                  eval_leaks={"kinds": list(LEAK_KINDS), "benchmarks": False})
    cfg = _config(config, None, seed, _fields(prompt_field, response_field, label_field,
                                              split_field, schema))
    outcome = fix_dataset(data, out, policy=policy, config=cfg, eval=eval,
                          extra_inputs=[config], dry_run=True)
    if drop_eval_leaks and any("eval_leaks" in note and "nothing done" in note
                               for note in outcome.notes):
        raise AuditError("--drop-eval-leaks needs an evaluation set: pass --eval FILE (or use "
                         "data with an eval/test split column)")
    write_fix(outcome, out, changes_path(out), inputs)
    rows = removed_rows(outcome)
    atomic_write_text(sidecar, "".join(json.dumps(row) + "\n" for row in rows))
    reasons = [row["reason"] for row in rows]
    typer.echo(f"kept {len(outcome.keep)} of {outcome.n_records} records; removed "
               f"{reasons.count('exact_duplicate')} exact duplicates, "
               f"{reasons.count('near_duplicate')} near duplicates"
               + (f", {reasons.count('eval_leak')} eval leaks" if drop_eval_leaks else ""))
    skipped = sum(1 for row in outcome.log if row["check"] == "bad_records")
    if skipped:
        typer.echo(f"note: {skipped} unreadable records were skipped and are not in the output",
                   err=True)
    typer.echo(f"wrote {out}, {outcome.written[1]} and {sidecar}")


def add_commands(app: typer.Typer) -> None:
    app.command("dedupe")(dedupe)
