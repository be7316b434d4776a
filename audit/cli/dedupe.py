"""`ft-audit dedupe`: write a deduplicated copy of a dataset.

    ft-audit dedupe train.jsonl --out train.dedup.jsonl
    ft-audit dedupe train.jsonl --out clean.jsonl --drop-eval-leaks --eval eval.jsonl

Keeps one record per exact/near duplicate cluster: the FIRST occurrence in input order (the
record with the smallest id), so the choice is deterministic and does not depend on the seed.
Exact duplicates are (prompt, response) pairs equal after normalisation; near duplicates are
full texts with Jaccard >= the `near_duplicates` threshold (config `[checks.near_duplicates]`
params apply). With `--drop-eval-leaks`, training records that leak an evaluation record (see
`eval_leakage`) are dropped too.

Kept records are preserved exactly: for JSONL the original line bytes are copied; JSON, CSV,
TSV and Parquet are rewritten in the same format from the original fields. The output is
written atomically, never over the input, and `<out>.removed.jsonl` lists every removed
record with the reason and the record kept in its place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import numpy as np
import typer

from audit.errors import AuditError

if TYPE_CHECKING:
    from audit.dataset import DatasetView

SIDECAR_SUFFIX = ".removed.jsonl"


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def kept_jsonl_bytes(source: Path, lines: list[int]) -> bytes:
    """The original bytes of the given 1-based lines of a JSONL file, each ending in newline."""
    from audit.load import read_bytes

    raw = read_bytes(source).split(b"\n")
    return b"".join(raw[line - 1] + b"\n" for line in lines)


def output_bytes(data: DatasetView, source: Path, keep: np.ndarray, fmt: str) -> bytes:
    """The kept records in the input's format (JSONL: original line bytes)."""
    import io

    import pyarrow as pa

    positions = np.flatnonzero(keep)
    if fmt == "jsonl":
        lines = [data.lines[p] for p in positions]
        if all(line is not None for line in lines):
            return kept_jsonl_bytes(source, [int(line) for line in lines if line is not None])
        rows = data.raw.take(pa.array(positions, pa.int64())).to_pylist()
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    table = data.raw.take(pa.array(positions, pa.int64()))
    if fmt == "json":
        return (json.dumps(table.to_pylist(), ensure_ascii=False, indent=2) + "\n").encode()
    sink = io.BytesIO()
    if fmt in ("csv", "tsv"):
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, sink, write_options=pcsv.WriteOptions(
            delimiter="\t" if fmt == "tsv" else ","))
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    else:
        raise AuditError(f"dedupe cannot write the {fmt!r} format; convert {source} to JSONL, "
                         "JSON, CSV, TSV or Parquet first")
    return sink.getvalue()


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
    from audit.config import load_config
    from audit.context import RunContext
    from audit.io import atomic_write_bytes, atomic_write_text, ensure_not_input
    from audit.load import FieldMapping, load_dataset, sniff_format
    from checks.duplication import plan_dedupe

    sidecar = Path(str(out) + SIDECAR_SUFFIX)
    inputs = [data, eval, config]
    for target in (out, sidecar):
        ensure_not_input(target, inputs)
    cfg = load_config(config, discover=True).with_overrides(seed=seed)
    fields = cfg.fields.merged(FieldMapping(prompt=prompt_field, response=response_field,
                                            label=label_field, split=split_field, schema=schema))
    fmt = sniff_format(data, None)
    view = load_dataset(data, fields=fields, on_bad_records=cfg.on_bad_records)
    eval_view = None
    if eval is not None:
        eval_view = load_dataset(eval, fields=FieldMapping(
            prompt=fields.prompt, response=fields.response, label=fields.label,
            schema=fields.schema))
    ctx = RunContext(view, seed=cfg.seed, eval_data=eval_view)
    plan = plan_dedupe(view, ctx, near=not exact_only,
                       near_params=dict(cfg.check_config("near_duplicates").params),
                       drop_eval_leaks=drop_eval_leaks,
                       leak_params=dict(cfg.check_config("eval_leakage").params))
    payload = output_bytes(view, data, plan.keep, fmt)
    if out.name.endswith(".gz"):
        import gzip

        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(out, payload)
    atomic_write_text(sidecar, "".join(json.dumps(row) + "\n" for row in plan.removed))
    counts = plan.counts()
    kept = int(plan.keep.sum())
    typer.echo(f"kept {kept} of {view.n} records; removed {counts['exact_duplicate']} exact "
               f"duplicates, {counts['near_duplicate']} near duplicates"
               + (f", {counts['eval_leak']} eval leaks" if drop_eval_leaks else ""))
    if view.skipped:
        typer.echo(f"note: {len(view.skipped)} unreadable records were skipped and are not in "
                   "the output", err=True)
    typer.echo(f"wrote {out} and {sidecar}")


def add_commands(app: typer.Typer) -> None:
    app.command("dedupe")(dedupe)
