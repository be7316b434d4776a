"""`ft-audit diff BASE.json HEAD.json`: what a change to the data made worse, and where.

    ft-audit diff main.json pr.json                              # console table
    ft-audit diff main.json pr.json --markdown "$GITHUB_STEP_SUMMARY" --json diff.json
    ft-audit diff main.json pr.json --json - | jq .regressions  # '-': standard output

Exit 0: no regression; 1: a check's status got worse, or a metric worsened beyond its
`[checks.NAME] tolerances` in the config; 2: unreadable results or config.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

#: an output path that means standard output
STDOUT = "-"

ResultArg = Annotated[Path, typer.Argument(help="A JSON result written by `ft-audit run --json`.",
                                           show_default=False)]


def diff(
    base: Annotated[Path, typer.Argument(metavar="BASE.json", help="The result before the "
                                         "change (e.g. of the main branch).", show_default=False)],
    head: Annotated[Path, typer.Argument(metavar="HEAD.json", help="The result after the "
                                         "change (e.g. of the pull request).", show_default=False)],
    config: Annotated[Optional[Path], typer.Option(
        "--config", "-c", help="Judge both results under this config's thresholds and "
                               "tolerances (default: the config HEAD was run with).")] = None,
    markdown_out: Annotated[Optional[Path], typer.Option(
        "--markdown", help="Write the diff as Markdown (a PR comment, $GITHUB_STEP_SUMMARY); "
                           "'-' prints it instead of the table.")] = None,
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the diff as JSON; '-' prints it instead of the table.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the headline.")
                     ] = False,
) -> None:
    """Compare two audit results: status and metric changes, new and resolved findings
    (matched by record content), records added, removed and edited. Exit 1 on a regression."""
    from audit.config import load_config
    from audit.diff import diff_results
    from audit.io import atomic_write_text, ensure_not_input
    from audit.result_io import load_result
    from reports.diff_report import headline, print_diff, render_diff_markdown

    inputs = [base, head, config]
    outputs = [(fmt, out) for fmt, out in (("markdown", markdown_out), ("json", json_out))
               if out is not None]
    if len(outputs) == 2 and str(markdown_out) == str(json_out):
        raise typer.BadParameter("--markdown and --json need a path each ('-': standard output)")
    for _, out in outputs:
        if str(out) != STDOUT:
            ensure_not_input(out, inputs)
    cfg = load_config(config) if config is not None else None
    result = diff_results(load_result(base), load_result(head), cfg)
    for fmt, out in outputs:
        text = render_diff_markdown(result) if fmt == "markdown" else \
            json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
        if str(out) == STDOUT:
            sys.stdout.write(text)
        else:
            atomic_write_text(out, text)
    if all(str(out) != STDOUT for _, out in outputs):  # else stdout holds that document alone
        if quiet:
            typer.echo(headline(result))
        else:
            print_diff(result)
    raise typer.Exit(result.exit_code)


def add_commands(app: typer.Typer) -> None:
    app.command("diff")(diff)
