"""`ft-audit card`: a Hugging Face dataset card (README.md) from a saved audit result.

    ft-audit run train.jsonl --json audit.json
    ft-audit card audit.json --out README.md
    ft-audit card clean.json --out README.md --changes clean.jsonl.changes.jsonl --license cc-by-4.0

The card states what the audit measured and nothing else (`reports.card`); a section with no
data says so. The changes log of `ft-audit fix` adds the cleaning that was applied. Written
atomically, never over an input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from audit.errors import DataLoadError


def read_changes(path: Path) -> list[dict[str, Any]]:
    """The rows of an `ft-audit fix` changes log (JSONL); DataLoadError names a bad line."""
    if not path.is_file():
        raise DataLoadError(f"{path}: no such changes log")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataLoadError(f"{path}:{number}: not JSON ({exc.msg}); give the "
                                "OUT.changes.jsonl that `ft-audit fix` wrote") from None
        if not isinstance(row, dict) or not {"id", "action", "check"} <= set(row):
            raise DataLoadError(f"{path}:{number}: not a changes-log line (needs id, action, "
                                "check); give the OUT.changes.jsonl that `ft-audit fix` wrote")
        rows.append(row)
    return rows


def card(
    result_file: Annotated[Path, typer.Argument(
        metavar="RESULT.json", help="A JSON result written by `ft-audit run --json`.",
        show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the card "
                                      "(README.md).", show_default=False)],
    changes: Annotated[Optional[Path], typer.Option(
        "--changes", help="The changes log of `ft-audit fix` (OUT.changes.jsonl): adds the "
                          "cleaning applied.")] = None,
    license: Annotated[Optional[str], typer.Option(
        "--license", help="The dataset's license id (e.g. cc-by-4.0); the audit does not "
                          "know it, so without this the card says it is not stated.")] = None,
    language: Annotated[Optional[list[str]], typer.Option(
        "--language", help="A language code (repeatable); default: the languages the "
                           "language check found.")] = None,
    pretty_name: Annotated[Optional[str], typer.Option(
        "--pretty-name", help="The dataset's name (default: the file name).")] = None,
) -> None:
    """Write a Hugging Face dataset card from a saved audit result."""
    from audit.io import atomic_write_text, ensure_not_input
    from audit.result_io import load_result
    from reports.card import render_card

    for item in (result_file, changes):
        if item is not None:
            ensure_not_input(out, [item])
    result = load_result(result_file)
    rows = read_changes(changes) if changes is not None else None
    text = render_card(result, changes=rows, license=license, name=pretty_name,
                       languages_given=tuple(language or ()))
    atomic_write_text(out, text)
    typer.echo(f"wrote {out}")


def add_commands(app: typer.Typer) -> None:
    app.command("card")(card)
