"""Class balance: how the labels are distributed, overall and per split."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold

METRICS = ("n_classes", "imbalance_ratio", "min_class_count", "n_classes_below_min",
           "label_entropy", "unlabelled_fraction")
#: classes listed one by one in details (the rest are summed into "(other)")
MAX_CLASSES_LISTED = 200


def class_counts(labels: Sequence[str | None]) -> dict[str, int]:
    """Records per label (None left out), most frequent first, ties by name."""
    return ordered(Counter(label for label in labels if label is not None))


def ordered(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def imbalance_ratio(counts: Sequence[int]) -> float:
    """Largest class count over smallest (1.0 for one class, NaN for none)."""
    return max(counts) / min(counts) if counts else float("nan")


def normalized_entropy(counts: Sequence[int]) -> float:
    """Shannon entropy of the label distribution over log(number of classes): 1 = balanced."""
    if len(counts) < 2:
        return float("nan")
    p = np.asarray(counts, dtype=np.float64) / float(sum(counts))
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(len(counts)))


def capped(counts: dict[str, int]) -> dict[str, int]:
    if len(counts) <= MAX_CLASSES_LISTED:
        return counts
    items = list(counts.items())
    head = dict(items[:MAX_CLASSES_LISTED])
    head["(other)"] = sum(c for _, c in items[MAX_CLASSES_LISTED:])
    return head


@register
class ClassBalance(Check):
    """Class distribution, imbalance ratio, rare classes and label entropy (per split too).

    A fine-tuned classifier sees the majority class far more often and learns to over-predict
    it; classes with only a handful of examples are not learned reliably at all. Reported: the
    count per class (overall and per split), the ratio of the largest to the smallest class,
    the classes below `min_count` records, and the label entropy normalised to 0..1 (1 means
    perfectly balanced).
    """

    name = "class_balance"
    category = "labels"
    requires = frozenset({Need.LABELS})
    metrics = METRICS
    default_thresholds = (
        Threshold(metric="imbalance_ratio", warn=10.0, fail=100.0),
        Threshold(metric="n_classes_below_min", warn=0.0),
    )

    @dataclass(frozen=True)
    class Params:
        min_count: int = param(20, ge=1, le=1_000_000,
                               doc="fewest records per class for a reliable fine-tune")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        labels = data.labels
        counts = class_counts(labels)
        values = list(counts.values())
        rare = [c for c, k in counts.items() if k < self.params.min_count]
        n_labelled = sum(values)
        findings = []
        if rare:
            label_array = np.array([label if label is not None else "" for label in labels],
                                   dtype=object)
            rare_positions = np.flatnonzero(np.isin(label_array, rare))
            findings.append(Finding(
                check=self.name, code="rare_classes", severity=Severity.WARNING,
                message=f"{len(rare)} classes have fewer than {self.params.min_count} records: "
                        + ", ".join(repr(c) for c in rare[:10])
                        + (" ..." if len(rare) > 10 else ""),
                metric="n_classes_below_min", value=float(len(rare)),
                records=tuple(int(i) for i in data.ids[rare_positions]),
                details={"classes": {c: counts[c] for c in rare[:MAX_CLASSES_LISTED]}}))
        details: dict[str, object] = {"counts": capped(counts), "min_count": self.params.min_count}
        if data.has_split:
            per_split: dict[str, dict[str, int]] = {}
            for split, label in zip(data.splits, labels, strict=True):
                if label is not None:
                    bucket = per_split.setdefault(split or "(none)", {})
                    bucket[label] = bucket.get(label, 0) + 1
            details["per_split"] = {s: capped(ordered(per_split[s]))
                                    for s in sorted(per_split)}
            details["imbalance_ratio_per_split"] = {
                s: imbalance_ratio(list(per_split[s].values())) for s in sorted(per_split)}
            missing = {s: sorted(set(counts) - set(per_split[s]))[:20] for s in sorted(per_split)}
            details["classes_missing_per_split"] = {s: m for s, m in missing.items() if m}
        return Measurement(
            metrics={"n_classes": float(len(counts)), "imbalance_ratio": imbalance_ratio(values),
                     "min_class_count": float(min(values)) if values else float("nan"),
                     "n_classes_below_min": float(len(rare)),
                     "label_entropy": normalized_entropy(values),
                     "unlabelled_fraction": (data.n - n_labelled) / data.n if data.n
                     else float("nan")},
            findings=tuple(findings), details=details)

