"""Integrity checks that every dataset needs: records that loaded badly, empty responses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView, SkippedRecord
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.shared.text import is_blank


@register
class BadRecords(Check):
    """Records that could not be read or did not fit the schema, and were skipped.

    Only non-zero under `--on-bad-records skip`: each skipped record is listed with its line and
    the reason, so nothing is dropped silently. A model trained on the rest is trained on less
    data than you think.
    """

    name = "bad_records"
    category = "integrity"
    metrics = ("skipped_fraction", "n_skipped")
    default_thresholds = (Threshold(metric="skipped_fraction", warn=0.0, fail=0.05),)

    def map(self, batch: DatasetView, ctx: RunContext) -> list[SkippedRecord]:
        return list(batch.skipped)

    def combine(self, partials: Sequence[list[SkippedRecord]], n: int,
                ctx: RunContext) -> Measurement:
        skipped = [s for part in partials for s in part]
        total = n + len(skipped)
        fraction = len(skipped) / total if total else 0.0
        findings: tuple[Finding, ...] = ()
        if skipped:
            reasons = [f"{'line ' + str(s.line) if s.line else 'record ' + str(s.id)}: {s.reason}"
                       for s in skipped[:50]]
            findings = (Finding(
                check=self.name, code="skipped_records", severity=Severity.WARNING,
                message=f"{len(skipped)} of {total} input records were skipped as unreadable or "
                        "not fitting the schema",
                metric="skipped_fraction", value=fraction,
                records=tuple(s.id for s in skipped), n_records=len(skipped),
                details={"reasons": reasons}),)
        return Measurement(metrics={"skipped_fraction": fraction, "n_skipped": len(skipped)},
                           findings=findings)


@register
class EmptyResponses(Check):
    """Records whose response (or an assistant turn) is empty or whitespace.

    A fine-tune learns to answer with nothing from them: a few per thousand are enough to make
    a model return empty output for some prompts.
    """

    name = "empty_responses"
    category = "integrity"
    requires = frozenset({Need.RESPONSE})
    metrics = ("empty_fraction", "n_empty", "n_empty_turns")
    default_thresholds = (Threshold(metric="empty_fraction", warn=0.0, fail=0.01),)

    @dataclass(frozen=True)
    class Params:
        check_turns: bool = param(True, doc="also flag chat records with any empty assistant "
                                            "turn, not only an empty final answer")

    def map(self, batch: DatasetView, ctx: RunContext) -> tuple[list[int], list[int]]:
        """(ids with an empty response, ids of other chat records with an empty turn)."""
        ids = batch.ids
        responses = (text for part in batch.text_batches("response") for text in part)
        empty = [int(ids[i]) for i, text in enumerate(responses) if is_blank(text)]
        empty_set = set(empty)
        turn_records: list[int] = []
        if batch.is_chat and self.params.check_turns:
            for i, turns in enumerate(batch.messages()):
                if int(ids[i]) in empty_set:
                    continue
                if any(t["role"] == "assistant" and is_blank(t["content"]) for t in turns):
                    turn_records.append(int(ids[i]))
        return empty, turn_records

    def combine(self, partials: Sequence[tuple[list[int], list[int]]], n: int,
                ctx: RunContext) -> Measurement:
        empty = [i for part in partials for i in part[0]]
        turn_records = [i for part in partials for i in part[1]]
        flagged = set(empty).union(turn_records)
        fraction = len(flagged) / n if n else 0.0
        findings = []
        if empty:
            findings.append(Finding(
                check=self.name, code="empty_response", severity=Severity.ERROR,
                message=f"{len(empty)} records have an empty or whitespace-only response",
                metric="empty_fraction", value=fraction, records=tuple(empty)))
        if turn_records:
            findings.append(Finding(
                check=self.name, code="empty_assistant_turn", severity=Severity.ERROR,
                message=f"{len(turn_records)} chat records have an empty assistant turn",
                metric="empty_fraction", value=fraction, records=tuple(turn_records)))
        return Measurement(
            metrics={"empty_fraction": fraction, "n_empty": len(empty),
                     "n_empty_turns": len(turn_records)},
            findings=tuple(findings))
