"""A baseline: accept a dataset's known findings, block only on new ones.

    ft-audit run train.jsonl --baseline main.json

A finding's record is *known* when the baseline result flagged a record with the same content
hash under the same check and finding code; it is *new* otherwise. Copies count: where the
baseline flagged k records of one content, k of the records of that content flagged now are
known (the lowest ids) and any more are new, so a change that adds a third copy of a known
duplicate adds a new record. Known records never block:

- A check whose findings list records is judged on its metrics scaled by the share of its
  flagged records that are new: an upper-bound ("max") threshold sees
  `metric x new / flagged`. With 100 flagged records of which 10 are new and
  `duplicate_fraction` 0.05, the threshold sees 0.005; with none new, 0. The metrics
  themselves keep their real values; `details.baseline` holds the counts and the judged values.
- Lower-bound ("min") thresholds (diversity, predictability) and checks whose findings list no
  records are judged as without a baseline: a baseline accepts flagged records, not scores.
- Each record of a finding carries `record_values.baseline` = "known" or "new"; a finding
  whose records are all known becomes INFO.

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
from audit.result import AuditResult, CheckResult, Finding, Severity, Status

JUDGED = (Status.PASSED, Status.WARNED, Status.FAILED)


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
    """`results` judged again with the baseline's known findings accepted (module docstring).
    `hash_of` maps the audited records' ids to their content hashes."""
    known = known_findings(baseline)
    return [_with_baseline(r, hash_of, known, config) if r.status in JUDGED else r
            for r in results]


def _new_records(result: CheckResult, hash_of: Mapping[int, int],
                 known: Mapping[tuple[str, str], np.ndarray]) -> set[int]:
    """The records flagged beyond the copies of their content the baseline flagged under the
    same check and code (`audit.diff.excess_copies`), and those without a content hash."""
    new = {r for finding in result.findings for r in finding.records if r not in hash_of}
    for code, (ids, contents) in flagged_contents(result, hash_of).items():
        seen = known.get((result.name, code), np.zeros(0, dtype=np.uint64))
        new.update(ids[excess_copies(ids, contents, seen)].tolist())
    return new


def _with_baseline(result: CheckResult, hash_of: Mapping[int, int],
                   known: Mapping[tuple[str, str], np.ndarray], config: Config) -> CheckResult:
    flagged: set[int] = set()
    new = _new_records(result, hash_of, known)
    findings: list[Finding] = []
    for finding in result.findings:
        marks = ["new" if r in new else "known" for r in finding.records]
        flagged.update(finding.records)
        if finding.records:
            finding = replace(finding, record_values={**finding.record_values, "baseline": marks})
            if "new" not in marks:
                finding = replace(finding, severity=Severity.INFO)
        findings.append(finding)
    if not flagged:
        return result
    share = len(new) / len(flagged)
    judged = {t.metric: result.metrics[t.metric] * share for t in result.thresholds
              if t.direction == "max" and math.isfinite(result.metrics.get(t.metric, math.nan))}
    metrics = {**result.metrics, **judged}
    status, deciding, judged_findings = judge_metrics(
        metrics, findings, result.thresholds, config.check_config(result.name).severity)
    # keep the baseline's INFO for findings whose records are all known
    judged_findings = tuple(
        replace(j, severity=Severity.INFO) if "new" not in j.record_values.get("baseline", ["new"])
        else j for j in judged_findings)
    details = {**result.details, "baseline": {
        "known_records": len(flagged) - len(new), "new_records": len(new),
        "judged_metrics": judged}}
    return replace(result, status=status, deciding_metric=deciding, findings=judged_findings,
                   details=details)
