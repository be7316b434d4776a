"""Label noise: records whose given label the data itself contradicts (confident learning).

A probe classifier (checks/_features.py) predicts every record's label out of fold; cleanlab
compares those predictions with the given labels to estimate how many labels are wrong, which
ones, and what they probably should be. By default the probe is then refitted without the
records flagged in that first pass and cleanlab asked again (prune and refit): a probe trained
on cleaner labels is more accurate and contradicts fewer correct labels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from audit.check import Check, Need, SkipCheck, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.shared.probe import (
    FEATURE_ARTIFACTS,
    FEATURE_SOURCES,
    MIN_LIFT,
    PROBE_FITS,
    PROBE_INPUTS,
    SGD_MODEL,
    OutOfFold,
    label_lift,
    oof_feasible,
    probe_view,
)

METRICS = ("estimated_noise_rate", "flagged_fraction", "n_flagged", "probe_accuracy",
           "label_predictability")


@dataclass(frozen=True)
class LabelIssues:
    """cleanlab's verdict on out-of-fold probabilities (positions index the labelled rows)."""

    flagged: np.ndarray  # positions of flagged rows, most likely mislabelled first
    quality: np.ndarray  # label quality score per labelled row (low = suspicious)
    suggested: np.ndarray  # argmax class per labelled row
    joint: np.ndarray  # estimated joint P(given label, true label), rows = given


#: the default flagging rule (`find_issues`); the others are cleanlab's `find_label_issues` rules
LOWEST_QUALITY = "lowest_quality"
FILTER_RULES = (LOWEST_QUALITY, "prune_by_noise_rate", "prune_by_class", "both",
                "confident_learning", "predicted_neq_given")


def find_issues(labels: np.ndarray, probabilities: np.ndarray, *,
                filter_by: str = LOWEST_QUALITY) -> LabelIssues:
    """Run cleanlab on integer `labels` and matching out-of-fold `probabilities`.

    `lowest_quality` flags as many records as the estimated noise rate implies (from the
    calibrated confident joint), those of lowest label quality among the ones the probe
    predicts another class for. cleanlab's own rules prune each (given, true) cell of the
    confident joint separately, which on many classes picks by small, noisy per-cell counts
    (benchmarks.label_noise compares the rules). Any other `filter_by` is passed to
    cleanlab's `find_label_issues`.
    """
    from cleanlab.count import estimate_joint
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = np.asarray(get_label_quality_scores(labels, probabilities,
                                                  method="self_confidence"))
    joint = np.asarray(estimate_joint(labels, probabilities))
    suggested = probabilities.argmax(axis=1)
    if filter_by == LOWEST_QUALITY:
        count = round(len(labels) * (1.0 - float(np.trace(joint))))
        flagged = np.flatnonzero(suggested != labels)
    else:
        flagged = np.flatnonzero(find_label_issues(labels, probabilities, filter_by=filter_by,
                                                   n_jobs=1))
        count = len(flagged)
    flagged = flagged[np.lexsort((flagged, quality[flagged]))][:count]
    return LabelIssues(flagged=flagged, quality=quality, suggested=suggested, joint=joint)


def per_class_noise(joint: np.ndarray, classes: tuple[str, ...],
                    counts: np.ndarray, flagged_counts: np.ndarray) -> dict[str, Any]:
    """Per given class: records, flagged records and the estimated share of wrong labels."""
    given = joint.sum(axis=1)
    rates = np.where(given > 0, 1.0 - np.diag(joint) / np.where(given > 0, given, 1.0), 0.0)
    return {c: {"count": int(counts[i]), "flagged": int(flagged_counts[i]),
                "estimated_noise_rate": round(float(rates[i]), 4)}
            for i, c in enumerate(classes)}


def confused_pairs(given: np.ndarray, suggested: np.ndarray, n_classes: int,
                   limit: int) -> list[tuple[int, int, int]]:
    """(given, suggested, count) of flagged records, most frequent first."""
    if not len(given):
        return []
    counts = np.bincount(given * n_classes + suggested, minlength=n_classes * n_classes)
    order = np.lexsort((np.arange(len(counts)), -counts))
    return [(int(k) // n_classes, int(k) % n_classes, int(counts[k]))
            for k in order[:limit] if counts[k] > 0]


def probe_predictions(data: DatasetView, ctx: RunContext, features: str,
                      exclude: np.ndarray | None = None) -> OutOfFold:
    """Out-of-fold probabilities from the probe on `features` (see FEATURE_ARTIFACTS); where
    it names several probes, their probabilities averaged: they err on different records. With
    `exclude` (a boolean per record) each probe is refitted with those records left out of
    training (not memoised), each fold's fit starting from the first pass's model of that fold
    where the probe keeps its models (it never saw that fold's held-out records either)."""
    names = FEATURE_ARTIFACTS[features]
    probes: list[OutOfFold] = [ctx.artifact(name, data) if exclude is None else
                               PROBE_FITS[name](data, ctx, exclude=exclude,
                                                warm=ctx.artifact(name, data))
                               for name in names]
    if len(probes) == 1:
        return probes[0]
    return replace(probes[0],
                   probabilities=np.mean([p.probabilities for p in probes], axis=0),
                   model="mean of " + "; ".join(f"{PROBE_INPUTS[n]}: {p.model}"
                                                for n, p in zip(names, probes, strict=True)))


def refit_exclusion(oof: OutOfFold, flagged_rows: np.ndarray) -> np.ndarray:
    """Records to leave out of the refit (a boolean per record): the flagged ones, except in a
    class whose labelled records are mostly flagged (its probe would have too little left to
    learn the class from)."""
    exclude = np.zeros(len(oof.labels), dtype=bool)
    exclude[flagged_rows] = True
    n_classes = len(oof.classes)
    labelled = oof.labels[oof.labelled]
    flagged_share = (np.bincount(oof.labels[flagged_rows], minlength=n_classes)
                     / np.maximum(1, np.bincount(labelled, minlength=n_classes)))
    exclude &= ~np.isin(oof.labels, np.flatnonzero(flagged_share > 0.5))
    return exclude


#: probes whose features the refit skips: refitting the fine-tuned encoder doubles a long run
#: and gained nothing in benchmarks.label_noise --finetuned
NO_REFIT_PROBES = frozenset({"oof_finetuned_predictions"})


def refits(features: str) -> bool:
    """Whether the probe on `features` may be refitted (none of its probes is in
    NO_REFIT_PROBES)."""
    return not NO_REFIT_PROBES.intersection(FEATURE_ARTIFACTS[features])


@dataclass(frozen=True)
class LabelAudit:
    """The probe's out-of-fold predictions and cleanlab's verdict on its labelled rows."""

    oof: OutOfFold
    rows: np.ndarray  # record positions of the labelled rows
    issues: LabelIssues
    refitted: int  # records left out of the refit's training (0: no refit)


def audit_labels(data: DatasetView, ctx: RunContext, *, features: str = "tfidf",
                 filter_by: str = LOWEST_QUALITY, refit: bool = True) -> LabelAudit:
    """Probe predictions and cleanlab's issues for `data` (which oof_feasible accepts); with
    `refit`, a second pass with the probe refitted without the first pass's flagged records,
    unless the probe is the bounded-cost SGD model of costly problems (there the refit gained
    nothing and broke the time bound), includes the fine-tuned encoder (NO_REFIT_PROBES) or predicts
    the labels barely better than chance (`label_lift` below MIN_LIFT: nothing learned to
    refit). Memoised per parameters."""

    def compute() -> LabelAudit:
        oof = probe_predictions(data, ctx, features)
        rows = np.flatnonzero(oof.labelled)
        issues = find_issues(oof.labels[rows], oof.probabilities[rows], filter_by=filter_by)
        exclude = refit_exclusion(oof, rows[issues.flagged]) if refit else None
        learned = label_lift(issues.suggested, oof.labels[rows]) >= MIN_LIFT
        if exclude is None or not exclude.any() or oof.model == SGD_MODEL or not learned \
                or not refits(features):
            return LabelAudit(oof=oof, rows=rows, issues=issues, refitted=0)
        oof = probe_predictions(data, ctx, features, exclude=exclude)
        issues = find_issues(oof.labels[rows], oof.probabilities[rows], filter_by=filter_by)
        return LabelAudit(oof=oof, rows=rows, issues=issues, refitted=int(exclude.sum()))

    return ctx.memo(f"label_audit:{features}:{filter_by}:{refit}", compute, data)


@register
class LabelIssuesCheck(Check):
    """Likely label errors, found by confident learning on out-of-fold predictions.

    A small probe classifier (TF-IDF word and character n-grams + logistic regression; or, with
    `features`, sentence embeddings from the optional extra, alone or averaged with TF-IDF, or
    the extra's encoder fine-tuned on each fold; optionally with the labels of each record's
    nearest records averaged in) predicts each record's label without having seen it (k-fold);
    cleanlab (`find_label_issues`, `estimate_joint`) flags records whose given label the
    model confidently contradicts, ranks them by label quality, and estimates the noise rate
    overall and per class. With
    `refit` (default) the probe is then refitted without the flagged records and cleanlab
    asked again: twice the probe's cost, fewer of its own mistakes flagged.
    Mislabelled examples are the most expensive defect in a classification fine-tuning set:
    the model learns the errors, and they are hard to see by eye. Flagged records are
    candidates to review, not proof: where the probe model itself is weak (many classes, few
    records, subtle labels), its own mistakes also get flagged, and the noise rate is then an
    upper estimate (compare `probe_accuracy`). Where the probe predicts the labels barely
    better than always guessing the most common class (`label_predictability` below 0.1), the
    check warns that the text does not determine the labels or most are wrong, and claims no
    label errors: the noise estimate would be meaningless.
    """

    name = "label_issues"
    category = "labels"
    requires = frozenset({Need.LABELS})
    uses = frozenset({"oof_predictions", "oof_embedding_predictions",
                      "oof_finetuned_predictions", "oof_neighbour_predictions", "embeddings",
                      "label_audit", "probe_features", "field_tokens", "probe_view",
                      "neighbour_tfidf"})
    metrics = METRICS
    default_thresholds = (
        Threshold(metric="estimated_noise_rate", warn=0.05, fail=0.15),
        Threshold(metric="label_predictability", warn=MIN_LIFT, direction="min"),
    )

    @dataclass(frozen=True)
    class Params:
        filter_by: str = param(LOWEST_QUALITY, choices=FILTER_RULES,
                               doc="which records to flag: lowest_quality (as many as the "
                                   "estimated noise rate, lowest label quality first) or a "
                                   "cleanlab find_label_issues rule")
        max_listed: int = param(50, ge=0, le=1000,
                                doc="flagged records listed with labels in details")
        max_pairs: int = param(10, ge=0, le=100, doc="confused class pairs reported")
        features: str = param("tfidf", choices=FEATURE_SOURCES,
                              doc="probe features: tfidf; embeddings (optional extra; slow to "
                                  "encode on CPU); both (the two probes' probabilities "
                                  "averaged); finetuned (the extra's encoder fine-tuned per "
                                  "fold: strongest, slowest); finetuned+tfidf (averaged); "
                                  "tfidf+neighbours, finetuned+tfidf+neighbours (the nearest "
                                  "records' labels averaged in as one more probe)")
        refit: bool = param(True, doc="refit the probe without the records a first pass "
                            "flags, then flag again (twice the cost, fewer of the probe's own "
                            "mistakes flagged; not for the fine-tuned probe)")
        max_records: int = param(200_000, ge=1000, doc="larger datasets are audited on a "
                                 "seeded sample of this many records (the result says so)")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        total = data.n
        # bound time and memory on a seeded sample (the rate stays unbiased), shared with the
        # other checks that read the probe
        data = probe_view(data, ctx, self.params.max_records)
        reason = oof_feasible(data)
        if reason is not None:
            raise SkipCheck(reason)
        audit = audit_labels(data, ctx, features=self.params.features,
                             filter_by=self.params.filter_by, refit=self.params.refit)
        oof, rows, issues = audit.oof, audit.rows, audit.issues
        labels = oof.labels[rows]
        n_classes = len(oof.classes)
        counts = np.bincount(labels, minlength=n_classes)
        noise_rate = float(1.0 - np.trace(issues.joint))
        classes = oof.classes
        accuracy = float((issues.suggested == labels).mean())
        predictability = label_lift(issues.suggested, labels)
        about = {"n_labelled": len(rows), "n_folds": oof.n_folds, "repeats": oof.repeats,
                 "n_classes": n_classes,
                 "probe": {"features": self.params.features, "model": oof.model,
                           "refitted_without": audit.refitted,
                           **self.tfidf_inputs(data, ctx)},
                 "sample": {"sampled": data.n < total, "records": data.n, "of": total}}
        if predictability < MIN_LIFT:
            return self.unpredictable(classes, counts, accuracy, predictability, noise_rate,
                                      about)
        flagged_counts = np.bincount(labels[issues.flagged], minlength=n_classes)
        fraction = len(issues.flagged) / len(rows)
        ids = data.ids[rows]
        listed = [{"id": int(ids[p]), "given": classes[labels[p]],
                   "suggested": classes[issues.suggested[p]],
                   "label_quality": round(float(issues.quality[p]), 4)}
                  for p in issues.flagged[: self.params.max_listed]]
        pairs = confused_pairs(labels[issues.flagged], issues.suggested[issues.flagged],
                               n_classes, self.params.max_pairs)
        findings = []
        if len(issues.flagged):
            findings.append(Finding(
                check=self.name, code="likely_label_errors", severity=Severity.WARNING,
                message=f"{len(issues.flagged)} records ({fraction:.1%}) look mislabelled; "
                        f"estimated noise rate {noise_rate:.1%}",
                metric="estimated_noise_rate", value=noise_rate,
                records=tuple(int(i) for i in ids[issues.flagged]),
                details={"top": listed},
                record_values={
                    "given": [classes[g] for g in labels[issues.flagged]],
                    "suggested": [classes[s] for s in issues.suggested[issues.flagged]],
                    "label_quality": np.round(issues.quality[issues.flagged], 4).tolist()}))
        for given, suggested, count in pairs:
            members = issues.flagged[(labels[issues.flagged] == given)
                                     & (issues.suggested[issues.flagged] == suggested)]
            findings.append(Finding(
                check=self.name, code="confused_pair", severity=Severity.INFO,
                message=f"{count} records labelled {classes[given]!r} look like "
                        f"{classes[suggested]!r}",
                metric="flagged_fraction", value=count / len(rows),
                records=tuple(int(i) for i in ids[members]),
                details={"given": classes[given], "suggested": classes[suggested],
                         "count": count}))
        return Measurement(
            metrics={"estimated_noise_rate": noise_rate, "flagged_fraction": fraction,
                     "n_flagged": float(len(issues.flagged)), "probe_accuracy": accuracy,
                     "label_predictability": predictability},
            findings=tuple(findings),
            details={"per_class": per_class_noise(issues.joint, classes, counts,
                                                  flagged_counts),
                     "confused_pairs": [{"given": classes[g], "suggested": classes[s],
                                         "count": c} for g, s, c in pairs],
                     "flagged": listed, **about})

    def tfidf_inputs(self, data: DatasetView, ctx: RunContext) -> dict[str, str]:
        """What the TF-IDF probe reads, where the probe includes it."""
        if "oof_predictions" not in FEATURE_ARTIFACTS[self.params.features]:
            return {}
        return {"tfidf": ctx.artifact("probe_features", data).description}

    def unpredictable(self, classes: tuple[str, ...], counts: np.ndarray, accuracy: float,
                      predictability: float, noise_rate: float,
                      about: dict[str, Any]) -> Measurement:
        """The result where the probe predicts the labels barely better than chance: no label
        errors claimed (with no learnable true label, cleanlab's estimate is not a noise rate;
        it is kept in the details for reference), one warning that says why."""
        majority = int(counts.argmax())
        warning = Finding(
            check=self.name, code="labels_unpredictable", severity=Severity.WARNING,
            message=f"the probe predicts the labels barely better than always guessing "
                    f"{classes[majority]!r}: accuracy {accuracy:.1%} against "
                    f"{counts[majority] / counts.sum():.1%} (predictability "
                    f"{predictability:.2f}); the text does not determine these labels, or "
                    f"most of them are wrong, so label errors cannot be told apart",
            metric="label_predictability", value=predictability)
        nan = float("nan")
        return Measurement(
            metrics={"estimated_noise_rate": nan, "flagged_fraction": nan, "n_flagged": nan,
                     "probe_accuracy": accuracy, "label_predictability": predictability},
            findings=(warning,),
            details={"class_counts": {c: int(n) for c, n in zip(classes, counts, strict=True)},
                     "unreliable_noise_estimate": round(noise_rate, 4), **about})
