"""The runner: needs -> SKIPPED, exceptions -> ERRORED, plugins, registry, determinism."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from audit import Check, Measurement, Need, param, register, run_audit
from audit.errors import DuplicateCheckError, InvalidParameterError, PluginLoadError
from audit.registry import all_checks, load_plugins, unregister
from audit.result import Status
from audit.testing import classification_records, instruction_records


class Boom(Check):
    """Always raises."""

    name = "boom_test"
    category = "test"

    def run(self, data, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom")


def test_errored_check_is_reported_not_raised_and_blocks() -> None:
    result = run_audit(instruction_records(), checks=[Boom(), "empty_responses"])
    boom = result.check("boom_test")
    assert boom.status is Status.ERRORED
    assert "RuntimeError: kaboom" in (boom.error or "") and "test_runner.py" in (boom.error or "")
    assert result.check("empty_responses").status is not Status.ERRORED
    assert not result.verdict.go and any("boom_test errored" in r for r in result.verdict.reasons)


def test_unmet_need_is_skipped_with_reason() -> None:
    result = run_audit(classification_records(), checks=["empty_responses"])
    (check,) = result.checks
    assert check.status is Status.SKIPPED and "no response field" in (check.skipped_reason or "")
    assert result.verdict.go


def test_required_skip_blocks() -> None:
    result = run_audit(classification_records(), {"policy": {"required": ["empty_responses"]}},
                       checks=["empty_responses"])
    assert not result.verdict.go


def test_disabled_check_does_not_run() -> None:
    result = run_audit(instruction_records(), {"checks": {"exact_duplicates": {"enabled": False}}})
    assert "exact_duplicates" not in {c.name for c in result.checks}


def test_duplicate_check_names_raise() -> None:
    class Dup(Check):
        """Same name as a built-in."""

        name = "exact_duplicates"
        category = "x"

        def run(self, data, ctx):  # type: ignore[no-untyped-def]
            return Measurement(metrics={})

    all_checks()
    with pytest.raises(DuplicateCheckError, match="two checks are named 'exact_duplicates'"):
        register(Dup)


def test_plugin_module_registers_its_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "team_checks.py").write_text('''
from dataclasses import dataclass
from audit import Check, Measurement, Need, param, register

@register
class LongPrompts(Check):
    """Prompts longer than a limit."""
    name = "team_long_prompts"
    category = "team"
    requires = frozenset({Need.PROMPT})
    metrics = ("long_fraction",)

    @dataclass(frozen=True)
    class Params:
        limit: int = param(10, ge=1)

    def run(self, data, ctx):
        n = sum(len(p) > self.params.limit for p in data.prompts)
        return Measurement(metrics={"long_fraction": n / data.n if data.n else 0.0})
''')
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        result = run_audit(instruction_records(), {
            "plugins": ["team_checks"],
            "checks": {"team_long_prompts": {"params": {"limit": 5},
                                             "thresholds": {"long_fraction": {"fail": 0.5}}}}})
        check = result.check("team_long_prompts")
        assert check.status is Status.FAILED and check.metrics["long_fraction"] == 1.0
        with pytest.raises(InvalidParameterError, match="'limit' must be >= 1"):
            run_audit(instruction_records(), {"plugins": ["team_checks"], "checks": {
                "team_long_prompts": {"params": {"limit": 0}}}})
    finally:
        unregister("team_long_prompts")
        sys.modules.pop("team_checks", None)


def test_broken_plugin_is_a_plugin_error() -> None:
    with pytest.raises(PluginLoadError, match="plugin 'no_such_module_xyz' could not be imported"):
        load_plugins(["no_such_module_xyz"])


def test_params_validation_on_construction() -> None:
    @dataclass(frozen=True)
    class P:
        k: float = param(0.5, ge=0.0, le=1.0)
        mode: str = param("a", choices=("a", "b"))

    class WithParams(Check):
        """x"""

        name = "with_params_test"
        category = "test"
        requires = frozenset({Need.PROMPT})
        Params = P

        def run(self, data, ctx):  # type: ignore[no-untyped-def]
            return Measurement(metrics={})

    assert WithParams(k=1).params.k == 1.0
    with pytest.raises(InvalidParameterError,
                       match=r"check 'with_params_test' parameter 'k' must be <= 1\.0"):
        WithParams(k=2)
    with pytest.raises(InvalidParameterError, match="must be one of 'a', 'b'"):
        WithParams(mode="c")


def test_audit_is_deterministic_apart_from_timings() -> None:
    a = run_audit(instruction_records(), seed=3).to_dict()
    b = run_audit(instruction_records(), seed=3).to_dict()
    for doc in (a, b):
        doc.pop("duration_s")
        for check in doc["checks"]:
            check.pop("duration_s")
    assert a == b


def test_examples_carry_flagged_records() -> None:
    result = run_audit(instruction_records(), checks=["empty_responses"])
    (finding,) = result.check("empty_responses").findings
    assert finding.records == (5,)
    assert result.examples[5]["response"] == " "


def test_run_check_by_name_on_a_dataframe() -> None:
    import pandas as pd

    from audit import run_check

    frame = pd.DataFrame(instruction_records())
    result = run_check("exact_duplicates", frame, max_clusters_listed=1)
    assert result.status in (Status.WARNED, Status.FAILED)
    assert result.params["max_clusters_listed"] == 1 and result.findings
    with pytest.raises(TypeError):
        run_check(Boom(), frame, limit=1)
