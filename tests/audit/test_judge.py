"""Judging: thresholds -> status, policy -> verdict, re-judging saved results."""

from __future__ import annotations

import math

import pytest

from audit.config import Policy, config_from_dict
from audit.judge import decide_verdict, judge_metrics, rejudge
from audit.result import CheckResult, Finding, Severity, Status, Threshold
from audit.runner import run_audit
from audit.testing import instruction_records


@pytest.mark.parametrize("value, direction, expected", [
    (0.0, "max", Status.PASSED), (0.02, "max", Status.WARNED), (0.2, "max", Status.FAILED),
    (0.9, "min", Status.PASSED), (0.4, "min", Status.WARNED), (0.1, "min", Status.FAILED),
    (math.nan, "max", Status.PASSED),
])
def test_threshold_outcome(value: float, direction: str, expected: Status) -> None:
    if direction == "max":
        t = Threshold(metric="m", warn=0.01, fail=0.1, direction="max")
    else:
        t = Threshold(metric="m", warn=0.5, fail=0.2, direction="min")
    assert t.outcome(value) is expected


def test_worst_threshold_decides_and_findings_take_its_severity() -> None:
    finding = Finding(check="c", code="x", severity=Severity.INFO, message="m", metric="b",
                      value=0.5, records=(1,))
    status, deciding, findings = judge_metrics(
        {"a": 0.02, "b": 0.5},
        [finding],
        [Threshold(metric="a", warn=0.01, fail=0.1), Threshold(metric="b", warn=0.1, fail=0.3)],
    )
    assert status is Status.FAILED and deciding == "b"
    assert findings[0].severity is Severity.ERROR and findings[0].threshold == 0.3


def test_severity_override_by_code() -> None:
    finding = Finding(check="c", code="x", severity=Severity.ERROR, message="m")
    _, _, (judged,) = judge_metrics({}, [finding], [], {"x": Severity.INFO})
    assert judged.severity is Severity.INFO


def _result(name: str, status: Status, **kw: object) -> CheckResult:
    return CheckResult(name=name, category="c", status=status, **kw)  # type: ignore[arg-type]


def test_verdict_policy() -> None:
    passed = _result("a", Status.PASSED)
    warned = _result("b", Status.WARNED)
    assert decide_verdict([passed, warned], Policy()).go
    assert not decide_verdict([passed, warned], Policy(fail_on="warn")).go
    errored = _result("c", Status.ERRORED, error="ValueError: boom")
    verdict = decide_verdict([passed, errored], Policy())
    assert not verdict.go and verdict.exit_code == 1 and "c errored: ValueError: boom" in verdict.reasons
    assert decide_verdict([passed, errored], Policy(errors_block=False)).go
    skipped = _result("d", Status.SKIPPED, skipped_reason="no labels")
    assert decide_verdict([passed, skipped], Policy()).go
    assert not decide_verdict([passed, skipped], Policy(required=("d",))).go
    assert not decide_verdict([passed], Policy(required=("zzz",))).go


def test_rejudge_changes_verdict_without_recomputing() -> None:
    result = run_audit(instruction_records(), checks=["exact_duplicates", "empty_responses"])
    assert not result.verdict.go
    lenient = config_from_dict({"checks": {
        "exact_duplicates": {"thresholds": {"duplicate_fraction": {"warn": 0.5, "fail": 0.9}}},
        "empty_responses": {"thresholds": {"empty_fraction": {"warn": 0.5, "fail": 0.9}}}}})
    again = rejudge(result, lenient)
    assert again.verdict.go
    assert again.check("exact_duplicates").metrics == result.check("exact_duplicates").metrics
    assert again.check("exact_duplicates").status is Status.PASSED
