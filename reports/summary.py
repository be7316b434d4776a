"""Plain-text facts every renderer shows the same way: numbers, thresholds, verdict, top findings.

Pure functions over result types (`audit.result`) so the console, HTML, Markdown and JUnit
outputs never disagree about what a check decided or how a value is written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from audit.result import AuditResult, CheckResult, Finding, Status, Threshold

#: the order statuses are listed in (worst first)
STATUS_ORDER = (Status.FAILED, Status.ERRORED, Status.WARNED, Status.SKIPPED, Status.PASSED)


def fmt_number(value: float | int | None) -> str:
    """A short human form: integers with thousands separators, others with 4 significant digits."""
    if value is None or isinstance(value, bool):
        return "-" if value is None else str(value)
    number = float(value)
    if math.isnan(number):
        return "-"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if number.is_integer() and abs(number) >= 1:
        return f"{int(number):,}"
    return f"{number:.4g}"


def threshold_text(threshold: Threshold | None) -> str:
    """'warn > 0.01, fail > 0.05' (the values that trigger each status)."""
    if threshold is None:
        return ""
    op = ">" if threshold.direction == "max" else "<"
    parts = [f"{name} {op} {fmt_number(bound)}"
             for name, bound in (("warn", threshold.warn), ("fail", threshold.fail))
             if bound is not None]
    return ", ".join(parts)


def threshold_for(check: CheckResult, metric: str | None) -> Threshold | None:
    if metric is None:
        return None
    return next((t for t in check.thresholds if t.metric == metric), None)


@dataclass(frozen=True)
class Decision:
    """What decided a check's status, as display strings."""

    metric: str
    value: str
    threshold: str
    note: str  # skipped reason / first line of the error, else ""


def decision(check: CheckResult) -> Decision:
    if check.status is Status.SKIPPED:
        return Decision("", "", "", check.skipped_reason or "skipped")
    if check.status is Status.ERRORED:
        return Decision("", "", "", first_line(check.error) or "errored")
    metric = check.deciding_metric
    if metric is None:
        return Decision("", "", "", "")
    value = fmt_number(check.metrics.get(metric))
    return Decision(metric, value, threshold_text(threshold_for(check, metric)), "")


def decision_text(check: CheckResult) -> str:
    """One line: 'metric = value (warn > a, fail > b)', or the skip/error reason."""
    d = decision(check)
    if d.note:
        return d.note
    if not d.metric:
        return ""
    return f"{d.metric} = {d.value}" + (f" ({d.threshold})" if d.threshold else "")


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def status_counts(result: AuditResult) -> dict[Status, int]:
    """How many checks ended in each status, worst first, zero counts left out."""
    counts = {status: 0 for status in STATUS_ORDER}
    for check in result.checks:
        counts[check.status] += 1
    return {status: n for status, n in counts.items() if n}


def tally_text(result: AuditResult) -> str:
    return ", ".join(f"{n} {status.value}" for status, n in status_counts(result).items())


def verdict_headline(result: AuditResult) -> str:
    """'GO' / 'NO-GO' plus the one-line why."""
    if result.verdict.go:
        return f"GO: {result.dataset.n_records:,} records, {tally_text(result) or 'no checks'}"
    return "NO-GO: " + "; ".join(result.verdict.reasons)


def baseline_text(result: AuditResult) -> str | None:
    """What a baseline (`run --baseline`) accepted: known records and known debt; None without
    one."""
    if not result.baseline:
        return None
    known = new = 0
    debts = []
    for check in result.checks:
        counts = check.details.get("baseline")
        if not isinstance(counts, Mapping):
            continue
        known += int(counts.get("known_records", 0))
        new += int(counts.get("new_records", 0))
        debts += [f"{check.name} {metric} {fmt_number(v['baseline'])} -> {fmt_number(v['now'])}"
                  for metric, v in (counts.get("known_debt") or {}).items()]
    text = (f"Judged against the baseline {result.baseline.get('source', '?')}: {known:,} flagged "
            f"records known (accepted), {new:,} new")
    return text + (f"; known debt accepted: {', '.join(debts)}" if debts else "")


def checks_worst_first(result: AuditResult) -> list[CheckResult]:
    rank = {status: i for i, status in enumerate(STATUS_ORDER)}
    return sorted(result.checks, key=lambda c: rank[c.status])


def findings_shown(check: CheckResult, default: int) -> int:
    """How many of a check's findings a report lists one by one: `default`, or fewer when
    the check's `max_clusters_listed` parameter says so (the JSON keeps them all)."""
    limit = check.params.get("max_clusters_listed")
    return min(default, limit) if isinstance(limit, int) else default


def iter_findings(result: AuditResult) -> Iterator[tuple[CheckResult, Finding]]:
    for check in result.checks:
        for finding in check.findings:
            yield check, finding


def top_findings(result: AuditResult, n: int) -> list[tuple[CheckResult, Finding]]:
    """The `n` most severe findings (ties: more records first, then check order)."""
    indexed = list(enumerate(iter_findings(result)))
    indexed.sort(key=lambda item: (-int(item[1][1].severity), -item[1][1].n_records, item[0]))
    return [pair for _, pair in indexed[:n]]


def paragraphs(text: str) -> list[str]:
    """A docstring's paragraphs, each on one line."""
    return [" ".join(block.split()) for block in text.strip().split("\n\n") if block.strip()]


def example_text(example: Mapping[str, object] | None) -> str:
    """A record excerpt as one line: 'prompt → response [label: x]'."""
    if not example:
        return ""
    parts = [str(example[f]) for f in ("prompt", "response") if example.get(f) not in (None, "")]
    label = example.get("label")
    text = " → ".join(parts)
    return f"{text} [label: {label}]" if label not in (None, "") else text
