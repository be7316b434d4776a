"""Outliers: records far from every other record in the shared LSA vector space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit.check import Check, SkipCheck, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold

METRICS = ("outlier_fraction", "n_outliers", "score_threshold")
#: query rows per block (block x reference similarities in memory at once)
BLOCK = 1024


def knn_distance(vectors: np.ndarray, reference: np.ndarray, *, k: int,
                 self_in_reference: bool) -> np.ndarray:
    """Mean cosine distance of each row of `vectors` to its `k` nearest rows of `reference`.

    Rows must be L2-normalised. Memory is BLOCK x len(reference); time n x m x dims, never n^2
    when `reference` is a bounded sample. With `self_in_reference` the best match (the row
    itself) is dropped.
    """
    n, m = len(vectors), len(reference)
    take = min(k + int(self_in_reference), m)
    scores = np.zeros(n, dtype=np.float64)
    if take == 0 or n == 0:
        return scores
    for start in range(0, n, BLOCK):
        sims = vectors[start:start + BLOCK] @ reference.T
        top = -np.partition(-sims, take - 1, axis=1)[:, :take]
        top.sort(axis=1)
        top = top[:, ::-1]
        if self_in_reference:
            top = top[:, 1:]
        scores[start:start + BLOCK] = 1.0 - top.mean(axis=1) if top.shape[1] else 1.0
    return scores


def tukey_threshold(scores: np.ndarray, factor: float) -> float:
    """Upper Tukey fence: Q3 + factor x IQR."""
    q1, q3 = np.percentile(scores, [25, 75])
    return float(q3 + factor * (q3 - q1))


@register
class Outliers(Check):
    """Records far from the rest of the data (mean cosine distance to their nearest neighbours).

    Each record's text is embedded in the shared LSA space (TF-IDF + truncated SVD) and scored
    by its mean cosine distance to its `k` nearest other records (against a seeded reference
    sample of at most `reference_size` records, so time and memory stay linear in the data).
    Records beyond the upper Tukey fence (Q3 + `iqr_factor` x IQR) of the scores are flagged.
    Outliers are often junk (wrong language, boilerplate, scraped markup, empty text) or a
    topic the set barely covers: the model either learns noise from them or too little to
    generalise. Works on unlabelled data.
    """

    name = "outliers"
    category = "diversity"
    uses = frozenset({"lsa", "field_tokens"})
    metrics = METRICS
    default_thresholds = (Threshold(metric="outlier_fraction", warn=0.02, fail=0.10),)

    @dataclass(frozen=True)
    class Params:
        k: int = param(10, ge=1, le=100, doc="nearest neighbours averaged")
        iqr_factor: float = param(3.0, gt=0.0, le=100.0,
                                  doc="flag scores above Q3 + iqr_factor x IQR")
        reference_size: int = param(10_000, ge=100, le=1_000_000,
                                    doc="records sampled as neighbours (bounds time)")
        max_listed: int = param(50, ge=0, le=1000, doc="outliers listed with scores")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        if data.n < 3:
            raise SkipCheck(f"needs at least 3 records, got {data.n}")
        from threadpoolctl import threadpool_limits

        vectors = ctx.artifact("lsa", data)
        with threadpool_limits(1):  # more BLAS threads spin against each other on shared cores
            if data.n <= self.params.reference_size:
                scores = knn_distance(vectors, vectors, k=self.params.k,
                                      self_in_reference=True)
            else:
                sample = np.sort(ctx.rng(self.name).choice(data.n, self.params.reference_size,
                                                           replace=False))
                scores = knn_distance(vectors, vectors[sample], k=self.params.k,
                                      self_in_reference=False)
                # sampled records found themselves: score them against the rest of the sample
                scores[sample] = knn_distance(vectors[sample], vectors[sample],
                                              k=self.params.k, self_in_reference=True)
        threshold = tukey_threshold(scores, self.params.iqr_factor)
        flagged = np.flatnonzero(scores > threshold + 1e-9)
        flagged = flagged[np.lexsort((flagged, -scores[flagged]))]
        fraction = len(flagged) / data.n
        ids = data.ids
        listed = [{"id": int(ids[p]), "score": round(float(scores[p]), 4)}
                  for p in flagged[: self.params.max_listed]]
        findings = []
        if len(flagged):
            findings.append(Finding(
                check=self.name, code="outliers", severity=Severity.WARNING,
                message=f"{len(flagged)} records ({fraction:.1%}) are far from the rest of "
                        f"the data (mean cosine distance to their {self.params.k} nearest "
                        f"neighbours above {threshold:.3f})",
                metric="outlier_fraction", value=fraction,
                records=tuple(int(i) for i in ids[flagged]), details={"top": listed},
                record_values={"score": np.round(scores[flagged], 4).tolist()}))
        quantiles = np.percentile(scores, [0, 25, 50, 75, 90, 99, 100])
        return Measurement(
            metrics={"outlier_fraction": fraction, "n_outliers": float(len(flagged)),
                     "score_threshold": threshold},
            findings=tuple(findings),
            details={"score_quantiles": {q: round(float(v), 4) for q, v in
                                         zip(("min", "p25", "p50", "p75", "p90", "p99", "max"),
                                             quantiles, strict=True)},
                     "outliers": listed})
