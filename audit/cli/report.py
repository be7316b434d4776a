"""`ft-audit report` and `ft-audit rejudge`: work from a saved JSON result, never recomputing.

    ft-audit report audit.json --html report.html --markdown summary.md --junit audit.xml
    ft-audit report audit.json --records flags.parquet   # one row per record
    ft-audit rejudge audit.json --config stricter.toml --json rejudged.json   # exit 0 go / 1 no-go
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

ResultArg = Annotated[Path, typer.Argument(metavar="AUDIT.json",
                                           help="A JSON result written by `ft-audit run --json`.",
                                           show_default=False)]
HtmlOpt = Annotated[Optional[Path], typer.Option("--html", help="Write the HTML report here.")]
MarkdownOpt = Annotated[Optional[Path], typer.Option(
    "--markdown", help="Write a Markdown summary here.")]
JunitOpt = Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here.")]
RecordsOpt = Annotated[Optional[Path], typer.Option(
    "--records", help="Write the per-record flags table here (.parquet, .jsonl or .csv).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict line.")]


def report(result_file: ResultArg, html_out: HtmlOpt = None, markdown_out: MarkdownOpt = None,
           junit_out: JunitOpt = None, records_out: RecordsOpt = None,
           quiet: QuietOpt = False) -> None:
    """Render a saved result as HTML, Markdown or JUnit XML, and print its summary.

    Exits 0 whatever the verdict (rendering is not gating; use `rejudge` or `run` to gate).
    """
    from audit.result_io import load_result
    from reports.console_report import print_summary
    from reports.outputs import check_outputs, write_reports

    outputs = {"html": html_out, "markdown": markdown_out, "junit": junit_out,
               "records": records_out}
    check_outputs(outputs, [result_file])
    result = load_result(result_file)
    written = write_reports(result, outputs, [result_file])
    print_summary(result, quiet=quiet)
    for path in written.values():
        typer.echo(f"wrote {path}", err=True)


def rejudge(
    result_file: ResultArg,
    config: Annotated[Optional[Path], typer.Option(
        "--config", "-c", help="Config whose thresholds, severities and policy to apply "
                               "(default: ft-audit.toml discovered from the current folder).")] = None,
    fail_on: Annotated[Optional[str], typer.Option(
        "--fail-on", help="'fail' (default): only FAILED blocks; 'warn': warnings block too.")] = None,
    json_out: Annotated[Optional[Path], typer.Option(
        "--json", help="Write the re-judged JSON result here.")] = None,
    html_out: HtmlOpt = None,
    markdown_out: MarkdownOpt = None,
    junit_out: JunitOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Re-apply a config's thresholds and policy to a saved result (no recomputing).

    Metrics and findings are kept; statuses, finding severities and the verdict are decided
    again. Exits 0 go, 1 no-go. Checks that were skipped or errored stay so.
    """
    from audit.config import load_config
    from audit.judge import rejudge as rejudge_result
    from audit.result_io import load_result
    from reports.console_report import print_summary
    from reports.outputs import check_outputs, write_reports

    if fail_on not in (None, "fail", "warn"):
        raise typer.BadParameter("must be 'fail' or 'warn'", param_hint="--fail-on")
    inputs = [result_file, config]
    outputs = {"json": json_out, "html": html_out, "markdown": markdown_out, "junit": junit_out}
    check_outputs(outputs, inputs)
    cfg = load_config(config, discover=True).with_overrides(fail_on=fail_on)
    result = rejudge_result(load_result(result_file), cfg)
    write_reports(result, outputs, inputs)
    print_summary(result, quiet=quiet)
    raise typer.Exit(result.verdict.exit_code)


def add_commands(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("rejudge")(rejudge)
