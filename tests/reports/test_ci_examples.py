"""The CI examples (GitHub Actions workflow, pre-commit hook) use only options the CLI has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

import audit.cli.main as cli

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "github-actions" / "ft-audit.yml"
DATA_PR_WORKFLOW = REPO / "examples" / "github-actions" / "ft-audit-data-pr.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
PRE_COMMIT_CONFIG = REPO / "examples" / "pre-commit" / ".pre-commit-config.yaml"


def command_group() -> Any:
    """The click group behind `ft-audit` (typer vendors its own click, so no isinstance)."""
    if not any(c.name == "report" for c in cli.app.registered_commands):
        cli._load_command_modules()
    return typer.main.get_command(cli.app)


def is_usage_error(exc: BaseException) -> bool:
    return "UsageError" in {cls.__name__ for cls in type(exc).__mro__}


def parse_command_line(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse `ft-audit SUB ARGS...` with the real click command; raises on unknown options."""
    assert argv[0] == "ft-audit", argv
    group = command_group()
    with group.context_class(group, info_name="ft-audit") as ctx:
        command = group.get_command(ctx, argv[1])
        assert command is not None, f"no command {argv[1]!r}"
        sub = command.make_context(f"ft-audit {argv[1]}", list(argv[2:]), parent=ctx)
        return argv[1], dict(sub.params)


def ft_audit_lines(script: str) -> list[list[str]]:
    """The `ft-audit ...` command lines of a shell script, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [shlex.split(line.strip()) for line in joined.splitlines()
            if line.strip().startswith("ft-audit ")]


def workflow_steps(path: Path = WORKFLOW) -> list[dict[str, Any]]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["name"].startswith("ft-audit")
    # yaml reads the `on` key as True
    triggers = workflow.get("on", workflow.get(True))
    assert "pull_request" in triggers
    steps: list[dict[str, Any]] = []
    for job in workflow["jobs"].values():
        steps.extend(job["steps"])
    return steps


def test_workflow_command_lines_match_the_cli() -> None:
    commands = [ft_audit_lines(step["run"]) for step in workflow_steps() if "run" in step]
    parsed = [parse_command_line(argv) for lines in commands for argv in lines]
    names = [name for name, _ in parsed]
    assert names == ["run", "rejudge"]
    run_params = parsed[0][1]
    for option in ("json_out", "html_out", "markdown_out", "junit_out"):
        assert run_params[option] is not None, option
    for _, params in parsed:
        assert params.get("fail_on") in (None, "fail", "warn")


def test_workflow_steps_read_what_the_audit_writes() -> None:
    steps = workflow_steps()
    run_step = next(s for s in steps if "ft-audit run" in s.get("run", ""))
    _, params = parse_command_line(ft_audit_lines(run_step["run"])[0])
    outputs = {str(params[k]) for k in ("json_out", "html_out", "markdown_out", "junit_out")}
    folders = {str(Path(p).parent) for p in outputs}
    assert all(f"mkdir -p {folder}" in run_step["run"] for folder in folders)
    summary = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert f"cat {params['markdown_out']} >>" in summary["run"]
    assert summary["if"].startswith("always()")
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert all(path.startswith(upload["with"]["path"]) for path in outputs)
    rejudge = next(s for s in steps if "ft-audit rejudge" in s.get("run", ""))
    _, re_params = parse_command_line(ft_audit_lines(rejudge["run"])[0])
    assert str(re_params["result_file"]) == str(params["json_out"])


def test_data_pr_workflow_audits_both_sides_and_diffs_them() -> None:
    steps = workflow_steps(DATA_PR_WORKFLOW)
    lines = [(step, argv) for step in steps if "run" in step
             for argv in ft_audit_lines(step["run"])]
    parsed = [(step, *parse_command_line(argv)) for step, argv in lines]
    assert [name for _, name, _ in parsed] == ["run", "run", "diff", "cache"]
    (base_step, _, base), (_, _, head), (diff_step, _, diff), _ = parsed
    assert str(diff["base"]) == str(base["json_out"]) and str(diff["head"]) == str(head["json_out"])
    assert diff["markdown_out"] is not None and "test \"$code\" -le 1" in base_step["run"]
    caches = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache")]
    result = next(s for s in caches if s["with"]["path"] == str(base["json_out"]))
    assert base_step["if"] == f"steps.{result['id']}.outputs.cache-hit != 'true'"
    # both audits share the incremental cache, restored before them and saved after the job
    assert base["cache"] is not None and str(base["cache"]) == str(head["cache"])
    restored = next(s for s in caches if s["with"]["path"] == str(base["cache"]))
    assert steps.index(restored) < steps.index(base_step)
    assert restored["with"]["restore-keys"] and "run_id" in restored["with"]["key"]
    summary = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert f"cat {diff['markdown_out']} >>" in summary["run"]
    assert "continue-on-error" not in diff_step  # a regression fails the job


def test_pre_commit_hook_and_example_config_match_the_cli() -> None:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "ft-audit")
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    pattern = re.compile(hook["files"])
    assert pattern.search("data/train.jsonl") and pattern.search("x/y.parquet")
    assert not pattern.search("README.md")
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))
    used = config["repos"][0]["hooks"][0]
    assert used["id"] == hook["id"]
    argv = shlex.split(hook["entry"]) + [str(a) for a in used["args"]]
    name, params = parse_command_line(argv)
    assert name == "run" and str(params["data"]) == "data/train.jsonl"
    assert re.compile(used["files"]).search("data/train.jsonl")


@pytest.mark.parametrize("argv", [
    ["ft-audit", "run", "data.jsonl", "--htm", "x.html"],
    ["ft-audit", "report", "a.json", "--json", "b.json"],
    ["ft-audit", "rejudge"],
])
def test_the_checker_rejects_lines_the_cli_would_reject(argv: list[str]) -> None:
    with pytest.raises(Exception) as error:  # click's class is private to typer
        parse_command_line(argv)
    assert is_usage_error(error.value), error.value
