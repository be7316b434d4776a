"""Duplication checks: records repeated after normalisation.

A duplicated example is seen several times per epoch: the model memorises it and over-weights
whatever it says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audit.check import Check, param
from audit.context import RunContext, artifact
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold

#: clusters listed one by one in findings (the rest are counted)
MAX_CLUSTER_FINDINGS = 50


def exact_clusters(keys: Sequence[str], *, skip_empty: bool = True) -> list[list[int]]:
    """Positions grouped by identical key; only groups of 2+, each sorted, ordered by first member."""
    groups: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        if skip_empty and not key:
            continue
        groups.setdefault(key, []).append(position)
    return [members for members in groups.values() if len(members) > 1]


def group_labels(n: int, clusters: Sequence[Sequence[int]]) -> np.ndarray:
    """One int per record: records in the same cluster share the label of its first member."""
    labels = np.arange(n, dtype=np.int64)
    for members in clusters:
        labels[list(members)] = members[0]
    return labels


def pair_keys(data: DatasetView, ctx: RunContext) -> list[str]:
    prompts = ctx.artifact("normalized_prompts")
    responses = ctx.artifact("normalized_responses")
    return [f"{p}\x1f{r}" if (p or r) else "" for p, r in zip(prompts, responses, strict=True)]


@artifact("duplicate_groups")
def _duplicate_groups(data: DatasetView, ctx: RunContext) -> np.ndarray:
    """Per record, the position of the first record it duplicates (itself when unique).

    Used to keep duplicates together (e.g. in the same cross-validation fold).
    """
    return group_labels(data.n, exact_clusters(pair_keys(data, ctx)))


@register
class ExactDuplicates(Check):
    """Records identical to another after normalisation (Unicode NFKC, case, whitespace).

    Duplicates are seen several times per epoch, so the model memorises them and over-weights
    what they say; they also inflate the dataset's apparent size. Reported as clusters with a
    representative (the first occurrence) and the fraction of records that could be removed.
    """

    name = "exact_duplicates"
    category = "duplication"
    metrics = ("duplicate_fraction", "n_clusters", "n_duplicate_records")
    default_thresholds = (Threshold(metric="duplicate_fraction", warn=0.01, fail=0.05),)

    @dataclass(frozen=True)
    class Params:
        max_clusters_listed: int = param(MAX_CLUSTER_FINDINGS, ge=0, le=10_000,
                                         doc="clusters reported one by one")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        clusters = exact_clusters(pair_keys(data, ctx))
        clusters.sort(key=lambda c: (-len(c), c[0]))
        ids = data.ids
        removable = sum(len(c) - 1 for c in clusters)
        fraction = removable / data.n if data.n else 0.0
        findings = []
        for members in clusters[: self.params.max_clusters_listed]:
            member_ids = tuple(int(ids[p]) for p in members)
            findings.append(Finding(
                check=self.name, code="duplicate_cluster", severity=Severity.WARNING,
                message=f"{len(members)} identical records (representative: record "
                        f"{member_ids[0]})",
                metric="duplicate_fraction", value=fraction, records=member_ids,
                details={"representative": member_ids[0], "size": len(members)}))
        sizes = np.bincount([len(c) for c in clusters]) if clusters else np.zeros(0, dtype=int)
        return Measurement(
            metrics={"duplicate_fraction": fraction, "n_clusters": len(clusters),
                     "n_duplicate_records": removable},
            findings=tuple(findings),
            details={"cluster_sizes": {str(size): int(count) for size, count in enumerate(sizes)
                                       if count}})
