"""Judging: thresholds turn a Measurement into a status; a policy turns statuses into a verdict.

Checks only measure. Everything here works on plain result data, so a saved audit can be
re-judged under another config without recomputing (`rejudge`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from audit.config import Config, Policy
from audit.result import (
    AuditResult,
    CheckResult,
    Finding,
    Measurement,
    Severity,
    Status,
    Threshold,
    Verdict,
)

_RANK = {Status.PASSED: 0, Status.WARNED: 1, Status.FAILED: 2}
_SEVERITY_OF = {Status.PASSED: Severity.INFO, Status.WARNED: Severity.WARNING,
                Status.FAILED: Severity.ERROR}

EXIT_GO = 0
EXIT_NO_GO = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


def judge_metrics(
    metrics: Mapping[str, float],
    findings: Sequence[Finding],
    thresholds: Sequence[Threshold],
    severity_overrides: Mapping[str, Severity] | None = None,
) -> tuple[Status, str | None, tuple[Finding, ...]]:
    """(status, deciding metric, findings with threshold and severity filled in).

    A metric that is missing or NaN is "not applicable" and passes. A finding tied to a judged
    metric takes that metric's outcome as its severity; config overrides by finding code win.
    """
    status = Status.PASSED
    deciding: str | None = None
    outcomes: dict[str, tuple[Status, Threshold]] = {}
    for threshold in thresholds:
        value = metrics.get(threshold.metric, math.nan)
        outcome = threshold.outcome(value)
        outcomes[threshold.metric] = (outcome, threshold)
        if deciding is None and not math.isnan(value):
            deciding = threshold.metric
        if _RANK[outcome] > _RANK[status]:
            status, deciding = outcome, threshold.metric
    judged = []
    for finding in findings:
        if finding.metric in outcomes:
            outcome, threshold = outcomes[finding.metric]
            bound = threshold.fail if outcome is Status.FAILED or threshold.warn is None \
                else threshold.warn
            finding = replace(finding, threshold=bound, severity=_SEVERITY_OF[outcome])
        if severity_overrides and finding.code in severity_overrides:
            finding = replace(finding, severity=severity_overrides[finding.code])
        judged.append(finding)
    return status, deciding, tuple(judged)


def judge_measurement(result: CheckResult, measurement: Measurement,
                      thresholds: Sequence[Threshold],
                      severity_overrides: Mapping[str, Severity] | None = None) -> CheckResult:
    """Fill a CheckResult shell (name, category, timing) with a judged measurement."""
    status, deciding, findings = judge_metrics(measurement.metrics, measurement.findings,
                                               thresholds, severity_overrides)
    return replace(result, status=status, metrics=dict(measurement.metrics),
                   thresholds=tuple(thresholds), findings=findings,
                   details=dict(measurement.details), deciding_metric=deciding)


def decide_verdict(results: Sequence[CheckResult], policy: Policy) -> Verdict:
    """No-go when a check FAILED (or WARNED under fail_on="warn"), ERRORED (errors_block), or a
    required check was SKIPPED. A check that did not run never counts as a pass."""
    reasons = []
    for r in results:
        if r.status is Status.FAILED:
            reasons.append(f"{r.name} failed" + _because(r))
        elif r.status is Status.WARNED and policy.fail_on == "warn":
            reasons.append(f"{r.name} warned (fail_on = warn)" + _because(r))
        elif r.status is Status.ERRORED and policy.errors_block:
            reasons.append(f"{r.name} errored: {(r.error or '').splitlines()[0] if r.error else ''}")
        elif r.status is Status.SKIPPED and r.name in policy.required:
            reasons.append(f"{r.name} is required but was skipped: {r.skipped_reason}")
    ran = {r.name for r in results}
    for name in policy.required:
        if name not in ran:
            reasons.append(f"{name} is required but was not run")
    go = not reasons
    return Verdict(go=go, exit_code=EXIT_GO if go else EXIT_NO_GO, reasons=tuple(reasons))


def _because(result: CheckResult) -> str:
    metric = result.deciding_metric
    if metric is None:
        return ""
    value = result.metrics.get(metric, math.nan)
    bound = next((t for t in result.thresholds if t.metric == metric), None)
    if bound is None:
        return f": {metric} = {value:.4g}"
    limit = bound.fail if result.status is Status.FAILED else bound.warn
    op = ">" if bound.direction == "max" else "<"
    return f": {metric} = {value:.4g} {op} {limit:g}" if limit is not None else ""


def rejudge(result: AuditResult, config: Config, *, baseline: bool = True) -> AuditResult:
    """Re-apply `config`'s thresholds, severity overrides and policy to a saved result; a
    result run with a baseline keeps what the baseline accepted (`audit.baseline`), unless
    `baseline` is False."""
    from audit.baseline import judge_with_baseline
    from audit.registry import all_checks

    registered = all_checks(config.plugins)
    checks = []
    for check in result.checks:
        if check.status in (Status.SKIPPED, Status.ERRORED):
            checks.append(check)
            continue
        defaults = registered[check.name].default_thresholds if check.name in registered \
            else check.thresholds
        thresholds = config.thresholds_for(check.name, defaults)
        measurement = Measurement(metrics=check.metrics, findings=check.findings,
                                  details=check.details)
        judged = judge_measurement(check, measurement, thresholds,
                                   config.check_config(check.name).severity)
        checks.append(judge_with_baseline(judged, config) if baseline else judged)
    verdict = decide_verdict(checks, config.policy)
    return replace(result, checks=tuple(checks), verdict=verdict, config=config.to_dict())
