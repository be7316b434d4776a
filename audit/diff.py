"""Compare two audit results: what a change to the data made better or worse, and where.

    diff = diff_results(base, head, config)     # two AuditResults (e.g. main vs a PR)
    diff.regressions                            # why the change is a regression (exit 1)

Per check: the status and the deciding metric before and after; the metrics that worsened
beyond a tolerance set in config (`[checks.NAME] tolerances = {metric = 0.01}`); new and
resolved findings, matched by record *content* (the content hashes in each result's
`record_index`), so inserted or reordered records do not show as changes. For the data: which
records were added, removed or edited (same key hash, other content) between the versions.

Refused, never mis-compared: results of another major schema version (they do not load), and
the record-level part when a result predates content hashes (schema 1.1 and older). A check
whose parameters differ between the two results is compared by status only and says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audit.config import Config, config_from_dict
from audit.judge import rejudge
from audit.result import AuditResult, CheckResult, RecordIndex, Status

#: how bad each status is; SKIPPED is "not measured", compared apart
STATUS_RANK = {Status.PASSED: 0, Status.WARNED: 1, Status.FAILED: 2, Status.ERRORED: 3}
#: record ids listed per finding code in a diff (the counts are complete)
MAX_IDS = 1000
#: the content hash findings are matched by for records that have none (skipped as unreadable)
NO_CONTENT = 0


@dataclass(frozen=True)
class MetricChange:
    metric: str
    base: float | None
    head: float | None
    direction: str  # "max": lower is better; "min": higher is better
    tolerance: float | None  # from the config; None: not judged
    regression: bool

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "base": self.base, "head": self.head,
                "direction": self.direction, "tolerance": self.tolerance,
                "regression": self.regression}


@dataclass(frozen=True)
class FindingChange:
    """Records a finding code flags in one result and not in the other (by content)."""

    code: str
    new: tuple[int, ...] = ()  # head record ids newly flagged, the added and edited first
    resolved: tuple[int, ...] = ()  # base record ids no longer flagged
    n_new: int = 0
    n_resolved: int = 0
    #: of the newly flagged, records the change added or edited; the others are unchanged
    #: records flagged anew (a whole-dataset model or statistic moved with the change)
    n_new_changed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "n_new": self.n_new, "n_new_changed": self.n_new_changed,
                "n_resolved": self.n_resolved, "new": list(self.new),
                "resolved": list(self.resolved)}


@dataclass(frozen=True)
class CheckDiff:
    name: str
    base_status: str | None
    head_status: str | None
    deciding_metric: str | None
    metrics: tuple[MetricChange, ...] = ()
    findings: tuple[FindingChange, ...] = ()
    regressions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n_new(self) -> int:
        return sum(f.n_new for f in self.findings)

    @property
    def n_resolved(self) -> int:
        return sum(f.n_resolved for f in self.findings)

    @property
    def n_new_changed(self) -> int:
        return sum(f.n_new_changed for f in self.findings)

    @property
    def changed(self) -> bool:
        return bool(self.base_status != self.head_status or self.n_new or self.n_resolved
                    or any(m.base != m.head for m in self.metrics) or self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base_status": self.base_status,
                "head_status": self.head_status, "deciding_metric": self.deciding_metric,
                "metrics": [m.to_dict() for m in self.metrics],
                "findings": [f.to_dict() for f in self.findings],
                "n_new": self.n_new, "n_new_changed": self.n_new_changed,
                "n_resolved": self.n_resolved, "regressions": list(self.regressions),
                "notes": list(self.notes)}


@dataclass(frozen=True)
class DataChanges:
    """Records added, removed and edited between the two datasets (ids of each side)."""

    added: tuple[int, ...] = ()  # head ids whose key is not in base
    removed: tuple[int, ...] = ()  # base ids whose key is not in head
    edited: tuple[tuple[int, int], ...] = ()  # (base id, head id): same key, other content
    unchanged: int = 0
    comparable: bool = True

    @property
    def changed_records(self) -> np.ndarray:
        """Head ids (sorted) of the records the change added or edited."""
        return np.union1d(np.asarray(self.added, dtype=np.int64),
                          np.asarray([head for _, head in self.edited], dtype=np.int64))

    def to_dict(self) -> dict[str, Any]:
        return {"comparable": self.comparable, "n_added": len(self.added),
                "n_removed": len(self.removed), "n_edited": len(self.edited),
                "n_unchanged": self.unchanged, "added": list(self.added[:MAX_IDS]),
                "removed": list(self.removed[:MAX_IDS]),
                "edited": [list(p) for p in self.edited[:MAX_IDS]]}


@dataclass(frozen=True)
class AuditDiff:
    base_source: str
    head_source: str
    base_go: bool
    head_go: bool
    checks: tuple[CheckDiff, ...]
    data: DataChanges
    notes: tuple[str, ...] = field(default=())

    @property
    def regressions(self) -> tuple[str, ...]:
        return tuple(f"{c.name}: {r}" for c in self.checks for r in c.regressions)

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0

    def to_dict(self) -> dict[str, Any]:
        return {"base": {"source": self.base_source, "go": self.base_go},
                "head": {"source": self.head_source, "go": self.head_go},
                "regression": bool(self.regressions), "regressions": list(self.regressions),
                "exit_code": self.exit_code, "notes": list(self.notes),
                "data": self.data.to_dict(), "checks": [c.to_dict() for c in self.checks]}


def diff_results(base: AuditResult, head: AuditResult, config: Config | None = None
                 ) -> AuditDiff:
    """What changed from `base` to `head`, both judged under one config: `config`, or the one
    `head` was run with. Its thresholds decide the statuses compared (so a threshold changed
    between the runs is not mistaken for a change in the data), its tolerances the metric
    regressions. A result run with a baseline is judged without it: the diff compares what the
    two audits found."""
    notes = [f"the {side} was run with the baseline {result.baseline.get('source')}: judged "
             "here without it, on what it found" for side, result in (("base", base),
                                                                    ("head", head))
             if result.baseline]
    if config is None:
        config = result_config(head)
        if dict(base.config.get("checks", {})) != dict(head.config.get("checks", {})) or \
                base.config.get("policy") != head.config.get("policy"):
            notes.append("the two results were run with different configs: the base was judged "
                         "again under the head's thresholds and policy")
        base = rejudge(base, config, baseline=False)
        head = rejudge(head, config, baseline=False) if head.baseline else head
    else:
        base, head = (rejudge(r, config, baseline=False) for r in (base, head))
    base_hashes = _hashes_by_id(base.record_index)
    head_hashes = _hashes_by_id(head.record_index)
    if base_hashes is None or head_hashes is None:
        notes.append("a result has no record content hashes (written before schema 1.2): "
                     "records and findings are not matched, only statuses and metrics")
    data = _data_changes(base.record_index, head.record_index)
    base_checks = {c.name: c for c in base.checks}
    head_checks = {c.name: c for c in head.checks}
    order = [c.name for c in head.checks] + [n for n in base_checks if n not in head_checks]
    checks = tuple(_check_diff(name, base_checks.get(name), head_checks.get(name), config,
                               base_hashes, head_hashes, data.changed_records)
                   for name in order)
    return AuditDiff(base_source=base.dataset.source, head_source=head.dataset.source,
                     base_go=base.verdict.go, head_go=head.verdict.go, checks=checks,
                     data=data, notes=tuple(notes))


def result_config(result: AuditResult) -> Config:
    """The config a result was run with, as recorded in it."""
    recorded = {k: v for k, v in dict(result.config).items() if k != "source"}
    return config_from_dict(recorded, source=f"the config recorded in {result.dataset.source}")


def _hashes_by_id(index: RecordIndex | None) -> dict[int, int] | None:
    if index is None:
        return None
    ids, content, _ = index.arrays()
    return dict(zip(ids.tolist(), content.tolist(), strict=True))


def _check_diff(name: str, base: CheckResult | None, head: CheckResult | None, config: Config,
                base_hashes: Mapping[int, int] | None, head_hashes: Mapping[int, int] | None,
                changed: np.ndarray) -> CheckDiff:
    if head is None or base is None:
        present = base or head
        assert present is not None
        return CheckDiff(name=name, base_status=base.status.value if base else None,
                         head_status=head.status.value if head else None,
                         deciding_metric=present.deciding_metric,
                         notes=("not run in the head result" if head is None
                                else "not run in the base result",))
    notes: list[str] = []
    regressions: list[str] = []
    if dict(base.params) != dict(head.params):
        notes.append("parameters differ between the two results: compared by status only")
    if _rank(head.status) is not None and _rank(base.status) is not None:
        if _rank(head.status) > _rank(base.status):  # type: ignore[operator]
            regressions.append(f"status {base.status.value} -> {head.status.value}")
    elif head.status != base.status:
        notes.append(f"status {base.status.value} -> {head.status.value} (not measured on one "
                     "side)")
    metrics: tuple[MetricChange, ...] = ()
    findings: tuple[FindingChange, ...] = ()
    if not notes:
        metrics = _metric_changes(base, head, config.check_config(name).tolerances)
        regressions += [f"{m.metric} {_num(m.base)} -> {_num(m.head)} (tolerance "
                        f"{_num(m.tolerance)})" for m in metrics if m.regression]
        if base_hashes is not None and head_hashes is not None:
            findings = _finding_changes(base, head, base_hashes, head_hashes, changed)
    return CheckDiff(name=name, base_status=base.status.value, head_status=head.status.value,
                     deciding_metric=head.deciding_metric, metrics=metrics, findings=findings,
                     regressions=tuple(regressions), notes=tuple(notes))


def _rank(status: Status) -> int | None:
    return STATUS_RANK.get(status)


def _metric_changes(base: CheckResult, head: CheckResult,
                    tolerances: Mapping[str, float]) -> tuple[MetricChange, ...]:
    directions = {t.metric: t.direction for t in (*base.thresholds, *head.thresholds)}
    out = []
    for metric in sorted(set(base.metrics) | set(head.metrics)):
        before, after = _finite(base.metrics.get(metric)), _finite(head.metrics.get(metric))
        direction = directions.get(metric)
        tolerance = tolerances.get(metric)
        worse = None
        if before is not None and after is not None and direction is not None:
            worse = after - before if direction == "max" else before - after
        regression = tolerance is not None and worse is not None and worse > tolerance + 1e-12
        if before != after or tolerance is not None:
            out.append(MetricChange(metric=metric, base=before, head=after,
                                    direction=direction or "-", tolerance=tolerance,
                                    regression=regression))
    return tuple(out)


def _finding_changes(base: CheckResult, head: CheckResult, base_hashes: Mapping[int, int],
                     head_hashes: Mapping[int, int], changed: np.ndarray
                     ) -> tuple[FindingChange, ...]:
    """Per finding code, the records flagged in HEAD only and in BASE only, matched by
    content as multisets (`excess_copies`: a further copy of a flagged record is new); the
    new ones on `changed` records (added or edited) first."""
    before, after = flagged_contents(base, base_hashes), flagged_contents(head, head_hashes)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64))
    changes = []
    for code in sorted(set(before) | set(after)):
        (old_ids, old), (new_ids, new) = before.get(code, empty), after.get(code, empty)
        extra = excess_copies(new_ids, new, old)
        ids = new_ids[extra]
        gone = old_ids[excess_copies(old_ids, old, new)].tolist()
        # the change brought a flagged record it added or edited, or one more unreadable one
        brought = np.isin(ids, changed) | (new[extra] == NO_CONTENT)
        added = [*ids[brought].tolist(), *ids[~brought].tolist()]
        if added or gone:
            changes.append(FindingChange(code=code, new=tuple(added[:MAX_IDS]),
                                         resolved=tuple(gone[:MAX_IDS]), n_new=len(added),
                                         n_resolved=len(gone),
                                         n_new_changed=int(brought.sum())))
    return tuple(changes)


def flagged_contents(check: CheckResult, hashes: Mapping[int, int]
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per finding code, the ids (sorted) and content hashes of the records its findings
    list. Records without a content hash (skipped by the loader as unreadable) share the hash
    NO_CONTENT, so they are matched by count: as many as the other result flagged are the
    same ones."""
    by_code: dict[str, set[int]] = {}
    for finding in check.findings:
        by_code.setdefault(finding.code, set()).update(finding.records)
    out = {}
    for code, records in by_code.items():
        ids = np.asarray(sorted(records), dtype=np.int64)
        out[code] = (ids, np.asarray([hashes.get(r, NO_CONTENT) for r in ids.tolist()],
                                     dtype=np.uint64))
    return out


def excess_copies(ids: np.ndarray, contents: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Whether each record is a copy of its content beyond the copies `other` (content
    hashes) holds: records matched as multisets of contents, the lowest ids of a content
    being the matched ones."""
    order = np.argsort(ids, kind="stable")
    number = np.empty(len(ids), dtype=np.int64)
    number[order] = _copy_number(contents[order])
    return number >= _count_in(contents, other)


def _data_changes(base: RecordIndex | None, head: RecordIndex | None) -> DataChanges:
    if base is None or head is None:
        return DataChanges(comparable=False)
    base_ids, base_content, base_key = base.arrays()
    head_ids, head_content, head_key = head.arrays()
    # matched as multisets: a record appended as a copy of another is added, not unchanged
    same = ~excess_copies(head_ids, head_content, base_content)
    kept = ~excess_copies(base_ids, base_content, head_content)
    new_ids, new_keys = head_ids[~same], head_key[~same]
    old_ids, old_keys = base_ids[~kept], base_key[~kept]
    first_old: dict[int, int] = {}
    for record, key in zip(old_ids.tolist(), old_keys.tolist(), strict=True):
        first_old.setdefault(key, record)
    edited: list[tuple[int, int]] = []
    added: list[int] = []
    matched: set[int] = set()
    for record, key in zip(new_ids.tolist(), new_keys.tolist(), strict=True):
        old = first_old.get(key)
        if old is not None and old not in matched:
            matched.add(old)
            edited.append((old, record))
        else:
            added.append(record)
    removed = [r for r in old_ids.tolist() if r not in matched]
    return DataChanges(added=tuple(added), removed=tuple(removed), edited=tuple(edited),
                       unchanged=int(same.sum()))


def _copy_number(values: np.ndarray) -> np.ndarray:
    """For each value, how many equal values come before it (0 for the first of its kind)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(values)]))
    number = np.empty(len(values), dtype=np.int64)
    number[order] = np.arange(len(values)) - run_start
    return number


def _count_in(values: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each value, how many times it occurs in `other`."""
    distinct, counts = np.unique(other, return_counts=True)
    slot = np.searchsorted(distinct, values).clip(max=max(len(distinct) - 1, 0))
    found = distinct[slot] == values if len(distinct) else np.zeros(len(values), dtype=bool)
    return np.where(found, counts[slot] if len(distinct) else 0, 0)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def worst_first(checks: Iterable[CheckDiff]) -> list[CheckDiff]:
    """Regressions first, then checks with new findings, then the rest (stable)."""
    return sorted(checks, key=lambda c: (not c.regressions, -c.n_new, not c.changed))
