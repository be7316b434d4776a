"""The `ft-audit` command line.

Exit codes: 0 go, 1 no-go, 2 usage/config/data error, 3 internal error.
Heavy libraries are imported inside commands, so `ft-audit --help` and `ft-audit checks`
stay fast.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from audit.errors import AuditError

EXIT_USAGE = 2
EXIT_INTERNAL = 3

app = typer.Typer(
    name="ft-audit",
    help="Audit a fine-tuning dataset before you train on it: integrity, structured output, "
         "duplication and leakage, label noise, bias, diversity and overfitting risk, with a "
         "go/no-go verdict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: modules that add more commands (audit/cli/*): each defines `add_commands(app)`
COMMAND_MODULES: list[str] = ["audit.cli.report", "audit.cli.dedupe", "audit.cli.gx_suite",
                             "audit.cli.diff", "audit.cli.fix", "audit.cli.card",
                             "audit.cli.cache"]

DataArg = Annotated[Path, typer.Argument(metavar="DATA",
                                         help="Dataset file (JSONL, JSON, CSV, TSV, Parquet) or "
                                              "Hugging Face save_to_disk folder.",
                                         show_default=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="Config file (default: ft-audit.toml or [tool.ft-audit] in "
                           "pyproject.toml, searched from the current folder up).")]


def _fields_option(prompt: str | None, response: str | None, label: str | None,
                   groups: list[str] | None, split: str | None, schema: str | None) -> Any:
    from audit.load import FieldMapping

    return FieldMapping(prompt=prompt, response=response, label=label,
                        groups=tuple(groups or ()), split=split, schema=schema)


def _workers_option(workers: str | None) -> int | str | None:
    if workers is None or workers == "auto":
        return workers
    try:
        count = int(workers)
    except ValueError:
        raise typer.BadParameter("must be a positive number or 'auto'",
                                 param_hint="--workers") from None
    if count < 1:
        raise typer.BadParameter("must be a positive number or 'auto'", param_hint="--workers")
    return count


def _token_options(cfg: Any, tokenizer: Path | None, max_tokens: int | None) -> Any:
    """`--tokenizer` / `--max-tokens` as params of the token_lengths check, over the config's."""
    params = {k: v for k, v in (("tokenizer", str(tokenizer) if tokenizer else None),
                                ("max_tokens", max_tokens)) if v is not None}
    if not params:
        return cfg
    from dataclasses import replace

    from audit.config import validate_against_registry

    current = cfg.check_config("token_lengths")
    checks = {**cfg.checks, "token_lengths": replace(current, params={**current.params, **params})}
    config = cfg.with_overrides(checks=checks)
    validate_against_registry(config)  # a bad path is a usage error (exit 2) before the audit
    return config


@app.command()
def run(
    data: DataArg,
    eval: Annotated[Optional[Path], typer.Option("--eval", help="Evaluation set to check for "
                                                 "leakage into the training data.")] = None,
    probe: Annotated[Optional[Path], typer.Option("--probe", help="Prompts that represent real "
                                                  "use, for coverage and overfitting probes.")] = None,
    contamination: Annotated[Optional[list[Path]], typer.Option(
        "--contamination", help="Benchmark file to check for contamination (repeatable).")] = None,
    config: ConfigOpt = None,
    check: Annotated[Optional[list[str]], typer.Option(
        "--check", help="Run only this check (repeatable).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the JSON result here.")] = None,
    html_out: Annotated[Optional[Path], typer.Option(
        "--html", help="Write the self-contained HTML report here.")] = None,
    markdown_out: Annotated[Optional[Path], typer.Option(
        "--markdown", help="Write a Markdown summary here (PR comment, $GITHUB_STEP_SUMMARY).")] = None,
    junit_out: Annotated[Optional[Path], typer.Option(
        "--junit", help="Write JUnit XML here (one testcase per check).")] = None,
    records_out: Annotated[Optional[Path], typer.Option(
        "--records", help="Write one row per record with each check's flag, codes and scores "
                          "(.parquet, .jsonl or .csv).")] = None,
    baseline: Annotated[Optional[Path], typer.Option(
        "--baseline", help="A JSON result of an earlier version of the data: its findings are "
                           "known and do not block, only new ones do.")] = None,
    engine: Annotated[Optional[str], typer.Option(
        "--engine", help="Where the work runs: 'pool' (default: local processes), 'serial' "
                         "(this process) or 'ray' (pip install 'ft-audit[ray]').")] = None,
    workers: Annotated[Optional[str], typer.Option(
        "--workers", help="Pool processes: a number or 'auto' (one per core, the default).")
    ] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        "--ray-address", help="A Ray cluster to run on (default: a local instance started and "
                              "stopped by the run).")] = None,
    cache: Annotated[Optional[Path], typer.Option(
        "--cache", help="A folder of per-text values kept between runs: a re-audit computes "
                        "only new and edited texts (same result). Made when missing.")] = None,
    fail_on: Annotated[Optional[str], typer.Option(
        "--fail-on", help="'fail' (default): only FAILED blocks; 'warn': warnings block too.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (default 0).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the verdict line; "
                                        "no progress bars.")] = False,
    prompt_field: Annotated[Optional[str], typer.Option("--prompt-field")] = None,
    response_field: Annotated[Optional[str], typer.Option("--response-field")] = None,
    label_field: Annotated[Optional[str], typer.Option("--label-field")] = None,
    group_field: Annotated[Optional[list[str]], typer.Option(
        "--group-field", help="Explicit demographic group column (repeatable).")] = None,
    split_field: Annotated[Optional[str], typer.Option("--split-field")] = None,
    schema: Annotated[Optional[str], typer.Option(
        "--schema", help="Force a schema: chat, sharegpt, alpaca, prompt_completion, "
                         "prompt_response, question_answer, text_label, text.")] = None,
    on_bad_records: Annotated[Optional[str], typer.Option(
        "--on-bad-records", help="'fail' (default) or 'skip' unreadable/misfit records.")] = None,
    tokenizer: Annotated[Optional[Path], typer.Option(
        "--tokenizer", help="Local Hugging Face tokenizer.json for exact token lengths "
                            "(token_lengths check; default: an estimate).")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(
        "--max-tokens", min=1, help="The model's context in tokens: records longer than this "
                                    "are truncated (token_lengths check).")] = None,
) -> None:
    """Audit DATA and print a go/no-go verdict (exit 0 go, 1 no-go)."""
    from audit.config import load_config
    from audit.runner import IncompleteAuditError, run_audit
    from reports.console_report import print_summary
    from reports.outputs import check_outputs, write_reports

    if fail_on not in (None, "fail", "warn"):
        raise typer.BadParameter("must be 'fail' or 'warn'", param_hint="--fail-on")
    if on_bad_records not in (None, "fail", "skip"):
        raise typer.BadParameter("must be 'fail' or 'skip'", param_hint="--on-bad-records")
    cfg = load_config(config, discover=True)
    cfg = cfg.with_overrides(seed=seed, fail_on=fail_on, on_bad_records=on_bad_records)
    cfg = _token_options(cfg, tokenizer, max_tokens)
    fields = _fields_option(prompt_field, response_field, label_field, group_field, split_field,
                            schema)
    inputs = [data, eval, probe, baseline, *(contamination or [])]
    outputs = {"json": json_out, "html": html_out, "markdown": markdown_out, "junit": junit_out,
               "records": records_out}
    check_outputs(outputs, inputs)
    try:
        result = run_audit(data, cfg, checks=check or None, eval=eval, probe=probe,
                           contamination=contamination or (), fields=fields,
                           progress=None if not quiet else False, baseline=baseline,
                           engine=engine, workers=_workers_option(workers),
                           ray_address=ray_address, cache=cache)
    except IncompleteAuditError as exc:  # write what was computed, then report the bug
        write_reports(exc.result, outputs, inputs)
        raise exc.__cause__ or exc from None
    write_reports(result, outputs, inputs)
    print_summary(result, quiet=quiet)
    raise typer.Exit(result.verdict.exit_code)


@app.command("checks")
def list_checks(
    config: ConfigOpt = None,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the full reference in Markdown (what docs/checks.md holds).")
    ] = False,
) -> None:
    """List the available checks: category, what they need, default thresholds."""
    from audit.config import load_config
    from audit.registry import all_checks

    cfg = load_config(config, discover=True)
    checks = all_checks(cfg.plugins).values()
    if markdown:
        from reports.check_docs import checks_markdown

        sys.stdout.write(checks_markdown(checks))
        return
    from reports.console_report import print_check_list

    print_check_list(checks)


@app.command()
def explain(name: Annotated[str, typer.Argument(help="Check name.")],
            config: ConfigOpt = None) -> None:
    """Show what a check measures and why, its parameters and thresholds."""
    from audit.config import load_config
    from audit.registry import get_check
    from reports.console_report import print_check_help

    cfg = load_config(config, discover=True)
    print_check_help(get_check(name, cfg.plugins))


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = Path("ft-audit.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config with every check's defaults."""
    from audit.cli.config_template import render_config_template
    from audit.io import atomic_write_text

    if path.exists() and not force:
        raise AuditError(f"{path} exists; pass --force to overwrite it")
    atomic_write_text(path, render_config_template())
    typer.echo(f"wrote {path}")


_added_modules: set[str] = set()


def _load_command_modules() -> None:
    for module in COMMAND_MODULES:
        if module not in _added_modules:
            importlib.import_module(module).add_commands(app)
            _added_modules.add(module)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, mapping errors to exit codes 2 (usage/data) and 3 (internal)."""
    _load_command_modules()
    try:
        code = app(args=argv, prog_name="ft-audit", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except AuditError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "Abort" in kinds:
            typer.echo("aborted", err=True)
            sys.exit(EXIT_USAGE)
        if "ClickException" in kinds:  # usage errors (typer vendors its own click)
            exc.show()  # type: ignore[attr-defined]
            sys.exit(EXIT_USAGE)
        import traceback

        traceback.print_exc()
        typer.echo(f"internal error: {type(exc).__name__}: {exc}. This is a bug in ft-audit; "
                   "please report it with the traceback above.", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
