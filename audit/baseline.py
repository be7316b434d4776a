"""A baseline: accept a dataset's known findings, block only on new ones.

    ft-audit run train.jsonl --baseline main.json

A finding's record is *known* when the baseline result flagged a record with the same content
hash under the same check and finding code; it is *new* otherwise. Copies count: where the
baseline flagged k records of one content, k of the records of that content flagged now are
known (the lowest ids) and any more are new, so a change that adds a third copy of a known
duplicate adds a new record. Records skipped as unreadable have no content to match: they are
matched by count (as many as the baseline skipped are known, any more are new). Known records
never block:

- A check whose findings list records is judged on its metrics scaled by the share of its
  flagged records that are new: an upper-bound ("max") threshold sees
  `metric x new / flagged`. With 100 flagged records of which 10 are new and
  `duplicate_fraction` 0.05, the threshold sees 0.005; with none new, 0. The metrics
  themselves keep their real values; `details.baseline` holds the counts and the judged values.
- Lower-bound ("min") thresholds (diversity, predictability) and the thresholds of checks whose
  findings list no records are *known debt* where the baseline's metric already breached
  them: such a threshold does not count, unless the metric is now worse than the baseline's
  by more than the check's `tolerances` (the ones `ft-audit diff` uses; without one, any value
  that breaches the threshold no further than the baseline did, warn against warn, fail
  against fail, is accepted). A threshold the baseline met is judged as without a baseline,
  and so is every threshold of a check whose parameters changed. `details.baseline.known_debt`
  holds the accepted metrics with the baseline's and the current values.
- Each record of a finding carries `record_values.baseline` = "known" or "new"; a finding
  whose records are all known, or whose metric is known debt, becomes INFO.

The baseline must hold record content hashes (results of schema 1.2 and later).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from audit.config import Config
from audit.diff import excess_copies, flagged_contents
from audit.errors import AuditError
from audit.judge import judge_metrics
from audit.result import JSON, AuditResult, CheckResult, Finding, Severity, Status, Threshold

JUDGED = (Status.PASSED, Status.WARNED, Status.FAILED)
RANK = {status: rank for rank, status in enumerate(JUDGED)}


def known_findings(baseline: AuditResult) -> dict[tuple[str, str], np.ndarray]:
    """Per (check, finding code), the content hashes of the records the baseline flagged."""
    if baseline.record_index is None:
        raise AuditError(f"the baseline {baseline.dataset.source} has no record content hashes "
                         "(it was written before schema 1.2): audit the baseline data again "
                         "with this version of ft-audit")
    ids, content, _ = baseline.record_index.arrays()
    hash_of = dict(zip(ids.tolist(), content.tolist(), strict=True))
    return {(check.name, code): contents for check in baseline.checks
            for code, (_, contents) in flagged_contents(check, hash_of).items()}


def apply_baseline(results: Sequence[CheckResult], hash_of: Mapping[int, int],
                   baseline: AuditResult, config: Config) -> list[CheckResult]:
    """`results` judged again with the baseline's known findings and known debt accepted
    (module docstring). `hash_of` maps the audited records' ids to their content hashes."""
    known = known_findings(baseline)
    before = {check.name: check for check in baseline.checks}
    return [_with_baseline(r, hash_of, known, before.get(r.name), config)
            if r.status in JUDGED else r for r in results]


def _new_records(result: CheckResult, hash_of: Mapping[int, int],
                 known: Mapping[tuple[str, str], np.ndarray]) -> set[int]:
    """The records flagged beyond the copies of their content the baseline flagged under the
    same check and code (`audit.diff.excess_copies`; records without content, skipped as
    unreadable, by count)."""
    new: set[int] = set()
    for code, (ids, contents) in flagged_contents(result, hash_of).items():
        seen = known.get((result.name, code), np.zeros(0, dtype=np.uint64))
        new.update(ids[excess_copies(ids, contents, seen)].tolist())
    return new


def _with_baseline(result: CheckResult, hash_of: Mapping[int, int],
                   known: Mapping[tuple[str, str], np.ndarray], before: CheckResult | None,
                   config: Config) -> CheckResult:
    """`result` with its flagged records marked known or new, and what the baseline had for it
    kept in `details.baseline`, judged by `judge_with_baseline`."""
    new = _new_records(result, hash_of, known)
    flagged: set[int] = set()
    findings: list[Finding] = []
    for finding in result.findings:
        if finding.records:
            flagged.update(finding.records)
            marks = ["new" if r in new else "known" for r in finding.records]
            finding = replace(finding, record_values={**finding.record_values, "baseline": marks})
        findings.append(finding)
    comparable = before is not None and before.status in JUDGED \
        and dict(before.params) == dict(result.params)
    if not flagged and not comparable:
        return result
    before_metrics = {metric: float(value) for metric, value in before.metrics.items()
                      if math.isfinite(value)} if before is not None and comparable else {}
    accepted: dict[str, JSON] = {"known_records": len(flagged) - len(new),
                                 "new_records": len(new), "baseline_metrics": before_metrics}
    return judge_with_baseline(replace(result, findings=tuple(findings),
                                       details={**result.details, "baseline": accepted}), config)


def judge_with_baseline(result: CheckResult, config: Config) -> CheckResult:
    """`result` judged under its thresholds with what `details.baseline` says the baseline
    accepted (module docstring): by a run with a baseline, and again by `rejudge`."""
    accepted = result.details.get("baseline")
    if not isinstance(accepted, Mapping) or result.status not in JUDGED:
        return result
    new = int(accepted["new_records"])
    flagged = new + int(accepted["known_records"])
    scaled = [t for t in result.thresholds if flagged and t.direction == "max"]
    check_config = config.check_config(result.name)
    debt = _known_debt(result.metrics, accepted.get("baseline_metrics") or {},
                       [t for t in result.thresholds if t not in scaled], check_config.tolerances)
    share = new / flagged if flagged else 0.0
    judged = {t.metric: result.metrics[t.metric] * share for t in scaled
              if math.isfinite(result.metrics.get(t.metric, math.nan))}
    status, deciding, findings = judge_metrics(
        {**result.metrics, **judged}, result.findings,
        [t for t in result.thresholds if t.metric not in debt], check_config.severity)
    findings = tuple(replace(f, severity=Severity.INFO) if _accepted(f, debt) else f
                     for f in findings)
    details = {**result.details, "baseline": {**accepted, "judged_metrics": judged,
                                              "known_debt": debt}}
    return replace(result, status=status, deciding_metric=deciding or result.deciding_metric,
                   findings=findings, details=details)


def _known_debt(metrics: Mapping[str, float], before: Mapping[str, float],
                thresholds: Sequence[Threshold], tolerances: Mapping[str, float]
                ) -> dict[str, dict[str, JSON]]:
    """Of `thresholds`, those the baseline's metric (`before`) already breached and that the
    current one breaches no further (status) and no worse than its tolerance: metric ->
    {"baseline": value, "now": value}."""
    debt: dict[str, dict[str, JSON]] = {}
    for threshold in thresholds:
        old = before.get(threshold.metric, math.nan)
        now = metrics.get(threshold.metric, math.nan)
        if not (math.isfinite(old) and math.isfinite(now)):
            continue
        was, is_ = threshold.outcome(old), threshold.outcome(now)
        if was is Status.PASSED or is_ is Status.PASSED or RANK[is_] > RANK[was]:
            continue
        worse = now - old if threshold.direction == "max" else old - now
        tolerance = tolerances.get(threshold.metric)
        if tolerance is not None and worse > tolerance + 1e-12:
            continue
        debt[threshold.metric] = {"baseline": old, "now": now}
    return debt


def _accepted(finding: Finding, debt: Mapping[str, object]) -> bool:
    """Whether a finding is all known: its records (all known) or its metric (known debt)."""
    if finding.records:
        return "new" not in finding.record_values.get("baseline", ["new"])
    return finding.metric in debt
