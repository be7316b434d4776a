"""`ft-audit gx-suite`: write the effective Great Expectations suite as GX JSON.

    ft-audit gx-suite train.jsonl --config ft-audit.toml --out suite.json

The suite is the one the `gx_expectations` check validates: the built-in integrity
expectations plus the config's own, for DATA's fields when DATA is given (without DATA, for
prompt/response records). A team's GX project loads it with
`gx.ExpectationSuite(**json.load(open("suite.json")))`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

DataOpt = Annotated[Optional[Path], typer.Argument(
    metavar="[DATA]", help="Dataset whose fields the suite is built for (optional).",
    show_default=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="Config with [checks.gx_expectations] params (default: ft-audit.toml "
                           "discovered from the current folder).")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Where to write the suite (GX JSON).",
                                      show_default=False)]
SchemaOpt = Annotated[Optional[str], typer.Option(
    "--schema", help="Force a schema for DATA (chat, alpaca, prompt_completion, ...).")]


def gx_suite(out: OutOpt, data: DataOpt = None, config: ConfigOpt = None,
             schema: SchemaOpt = None) -> None:
    """Write the effective Great Expectations suite (built-in + configured expectations)."""
    from audit.config import load_config
    from audit.io import atomic_write_text, ensure_not_input
    from audit.load import FieldMapping, load_dataset
    from checks.integrity import effective_suite_json

    ensure_not_input(out, [data, config])
    cfg = load_config(config, discover=True)
    view = None
    if data is not None:
        fields = cfg.fields.merged(FieldMapping(schema=schema))
        view = load_dataset(data, fields=fields, on_bad_records=cfg.on_bad_records)
    text, count = effective_suite_json(cfg.check_config("gx_expectations").params, view)
    atomic_write_text(out, text)
    typer.echo(f"wrote {out} ({count} expectations)", err=True)


def add_commands(app: typer.Typer) -> None:
    app.command("gx-suite")(gx_suite)
