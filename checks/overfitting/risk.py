"""`overfitting_risk`: held-out probes on a small proxy model trained by the tool.

Will a model fine-tuned on this data generalise, or memorise it? The check answers with a
small, fast proxy whose held-out scores copies cannot inflate: the probe classifier for
labelled data (the shared out-of-fold fits, scored on records whose features equal no
training record's), a Kneser-Ney bigram language model of the responses for generative data
(grouped k-fold splits, duplicates kept in one fold). The proxy measurements are in
checks/overfitting/_probes.py; this module combines them into a risk level with advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.check import Check, SkipCheck, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.overfitting._probes import (
    ProxyResult,
    cartography,
    classifier_available,
    classifier_proxy,
    grouped_folds,
    lm_proxy,
    memorisation,
    probe_coverage,
)
from checks.shared.corpus import sample_view

#: risk level boundaries on overfitting_risk_score
LEVELS = ((1 / 3, "low"), (2 / 3, "medium"), (1.01, "high"))
#: distinct records at which the size component of the risk reaches 0 (10k) and 1 (100)
SIZE_RISK_DECADES = (2.0, 4.0)


def clip01(value: float) -> float:
    return float(min(1.0, max(0.0, value))) if np.isfinite(value) else float("nan")


def risk_level(score: float) -> str:
    if not np.isfinite(score):
        return "unknown"
    return next(name for bound, name in LEVELS if score < bound)


@register
class OverfittingRisk(Check):
    """Risk that a fine-tune memorises this data instead of learning the task (low/medium/high).

    A small proxy is trained on grouped k-fold splits (near-duplicates in the same fold): the
    probe classifier for labelled data (accuracy, log-loss), a smoothed bigram LM of responses
    for generative data (held-out vs training perplexity). It reports the generalisation gap,
    the learning curve at 10/25/50/100% of the training folds (a held-out loss still falling at
    100% means more data would help), memorisation (held-out records with a near-duplicate in
    training under a plain random split, verbatim response 8-gram overlap), hard-to-learn
    records (dataset cartography: low confidence, low variability over training epochs), and,
    with `--probe FILE`, how well the training data covers each real-use prompt. The score in
    [0, 1] is the mean of the components listed in details, each scaled to [0, 1]. The probe
    classifier reuses the out-of-fold fits `label_issues` reads (stratified k-fold on every
    labelled record, or on its seeded sample of large data; its held-out scores count only
    records whose probe features equal no training record's); the bigram LM, memorisation
    and cartography run on a seeded sample of at most `max_records` records (the result says
    when).
    """

    name = "overfitting_risk"
    category = "overfitting"
    uses = frozenset({"diversity_tokens", "diversity_view", "duplicate_groups", "tfidf",
                      "oof_predictions", "probe_features", "probe_view"})
    metrics = ("overfitting_risk_score", "generalization_gap", "train_loss", "heldout_loss",
               "heldout_accuracy", "train_perplexity", "heldout_perplexity",
               "learning_curve_end_gain", "memorization_fraction", "response_ngram_overlap",
               "hard_to_learn_fraction", "effective_records", "probe_coverage",
               "probe_mean_similarity", "probe_accuracy", "probe_perplexity")
    default_thresholds = (Threshold(metric="overfitting_risk_score", warn=1 / 3, fail=2 / 3),)

    @dataclass(frozen=True)
    class Params:
        proxy: str = param("auto", choices=("auto", "classifier", "lm"),
                           doc="proxy model: the probe classifier (labelled data without "
                               "responses, in auto) or a bigram LM of responses")
        n_folds: int = param(3, ge=2, le=10, doc="grouped cross-validation folds of the bigram "
                             "LM (the probe classifier uses the shared out-of-fold fits)")
        max_records: int = param(10_000, ge=100, doc="records sampled (seeded) for the bigram "
                                 "LM, memorisation and cartography")
        curve_fractions: tuple[float, ...] = param((0.1, 0.25, 0.5, 1.0),
                                                   doc="learning-curve training fractions")
        near_duplicate_similarity: float = param(0.8, gt=0, le=1, doc="TF-IDF cosine at which "
                                                 "a held-out record counts as memorisable")
        overlap_ngram: int = param(8, ge=3, le=12, doc="words per verbatim-overlap n-gram")
        cartography_epochs: int = param(5, ge=2, le=20, doc="epochs of training dynamics")
        hard_confidence: float = param(0.3, gt=0, lt=1, doc="hard-to-learn: mean gold-label "
                                       "probability below this ...")
        hard_variability: float = param(0.15, gt=0, lt=1, doc="... and its std below this")
        probe_similarity: float = param(0.3, gt=0, le=1, doc="a probe is covered when its most "
                                        "similar training prompt has this TF-IDF cosine")
        min_records: int = param(30, ge=10, doc="below this many records the risk is not "
                                 "estimated")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        p = self.params
        metrics = {m: float("nan") for m in self.metrics}
        if data.n < p.min_records:
            raise SkipCheck(f"needs at least {p.min_records} records (min_records) to probe "
                            f"overfitting, got {data.n}")
        view, _ = sample_view(data, ctx, p.max_records)
        groups = ctx.artifact("duplicate_groups", view)
        n_groups = len(np.unique(groups))
        effective = data.n * n_groups / view.n
        classifier = classifier_available(data, ctx, p.proxy)
        with ctx.progress("Overfitting proxy", None):
            if classifier:
                proxy = classifier_proxy(data, ctx, p.curve_fractions)
                n_folds = int(proxy.extra["n_folds"])
            else:
                folds = grouped_folds(groups, p.n_folds, ctx.seed)
                proxy = lm_proxy(view, ctx, folds, p.curve_fractions)
                n_folds = len(folds)
        memo = memorisation(view, ctx, p.n_folds, p.near_duplicate_similarity, p.overlap_ngram,
                            groups)
        hard = (cartography(view, ctx, p.cartography_epochs, p.hard_confidence,
                            p.hard_variability) if classifier else None)
        probes = probe_coverage(view, ctx, proxy, p.probe_similarity)
        metrics.update(proxy.metrics)
        metrics.update({"effective_records": effective,
                        "memorization_fraction": memo.fraction,
                        "response_ngram_overlap": memo.ngram_overlap})
        if hard is not None:
            metrics["hard_to_learn_fraction"] = len(hard.positions) / view.n
        metrics.update(probes.metrics)
        components = {
            "small_data": clip01((SIZE_RISK_DECADES[1] - np.log10(max(effective, 1.0)))
                                 / (SIZE_RISK_DECADES[1] - SIZE_RISK_DECADES[0])),
            "generalization_gap": clip01((metrics["generalization_gap"] - proxy.gap_floor)
                                         / proxy.gap_scale),
            "still_data_limited": clip01(metrics["learning_curve_end_gain"] / proxy.gain_scale),
            "memorization": clip01(max(memo.fraction, memo.ngram_overlap) / 0.2),
            "hard_to_learn": clip01(metrics["hard_to_learn_fraction"] / 0.2),
            "uncovered_probes": clip01(1.0 - metrics["probe_coverage"]),
        }
        used = {k: round(v, 4) for k, v in components.items() if np.isfinite(v)}
        score = float(np.mean(list(used.values()))) if used else float("nan")
        metrics["overfitting_risk_score"] = score
        level = risk_level(score)
        advice = recommendations(metrics, proxy, memo.fraction, probes.uncovered)
        ids = view.ids
        findings = [Finding(
            check=self.name, code=f"overfitting_risk_{level}",
            severity=Severity.WARNING if level in ("medium", "high") else Severity.INFO,
            message=f"overfitting risk {level} (score {score:.2f}): "
                    + ("; ".join(advice[:3]) if advice else "no driver stands out"),
            metric="overfitting_risk_score", value=score, details={"components": used})]
        if memo.positions.size:
            findings.append(Finding(
                check=self.name, code="memorisable_records", severity=Severity.WARNING,
                message=f"{memo.fraction:.1%} of held-out records under a random split have a "
                        "near-duplicate in training: deduplicate before splitting",
                metric="memorization_fraction", value=memo.fraction,
                records=tuple(int(ids[i]) for i in memo.positions),
                n_records=len(memo.positions)))
        if hard is not None and hard.positions.size:
            findings.append(Finding(
                check=self.name, code="hard_to_learn", severity=Severity.WARNING,
                message=f"{len(hard.positions)} records stay hard to learn (gold-label "
                        f"probability < {p.hard_confidence} across epochs, low variability): "
                        "likely mislabelled or ambiguous; review or drop them",
                metric="hard_to_learn_fraction", value=metrics["hard_to_learn_fraction"],
                records=tuple(int(ids[i]) for i in hard.positions),
                n_records=len(hard.positions)))
        if probes.uncovered:
            findings.append(Finding(
                check=self.name, code="uncovered_probes", severity=Severity.WARNING,
                message=f"{probes.n_uncovered} probe prompt(s) have no similar training "
                        f"prompt (TF-IDF cosine < {p.probe_similarity}): collect examples "
                        "like them",
                metric="probe_coverage", value=metrics["probe_coverage"],
                details={"probes": probes.uncovered}))
        details: dict[str, Any] = {
            "risk_level": level, "components": used, "recommendations": advice,
            "proxy": proxy.kind, "gap_definition": proxy.gap_definition,
            "end_gain_definition": proxy.gain_definition,
            "learning_curve": proxy.curve, "per_group_heldout": proxy.per_group,
            "n_folds": n_folds, "records": data.n, "sampled_records": view.n,
            "sampled": view.n < data.n, "distinct_groups_in_sample": n_groups,
        }
        if classifier:
            details["classifier_proxy"] = {
                k: proxy.extra[k] for k in ("records", "sampled", "heldout_records",
                                            "heldout_with_copy_in_training", "features",
                                            "model", "fits")}
        if hard is not None:
            details["cartography"] = hard.summary
        if probes.details:
            details["probes"] = probes.details
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)


def recommendations(metrics: dict[str, float], proxy: ProxyResult, memorised: float,
                    uncovered: list[dict[str, Any]]) -> list[str]:
    """What to do, from the numbers that drove the risk (most important first)."""
    out = []
    effective = metrics["effective_records"]
    if effective < 1000:
        out.append(f"collect more data: only about {effective:.0f} distinct records")
    if memorised > 0.02 or metrics["response_ngram_overlap"] > 0.2:
        out.append(f"deduplicate: {memorised:.0%} of held-out records have a near-duplicate in "
                   f"training and {metrics['response_ngram_overlap']:.0%} of held-out response "
                   "8-grams occur verbatim in training")
    if metrics["learning_curve_end_gain"] > 0.4 * proxy.gain_scale:
        out.append("the learning curve still improves between the last two training sizes "
                   f"(end gain {metrics['learning_curve_end_gain']:.3f}): more examples of the "
                   "same tasks will help")
    if proxy.worst_groups:
        out.append("collect more of " + ", ".join(proxy.worst_groups)
                   + f" (the worst held-out {proxy.group_kind})")
    if metrics["hard_to_learn_fraction"] > 0.02:
        out.append("review or drop hard-to-learn records (likely mislabelled or ambiguous)")
    if np.isfinite(metrics["generalization_gap"]) and metrics["generalization_gap"] > (
            proxy.gap_floor + proxy.gap_scale / 2):
        out.append("large generalisation gap: train for fewer epochs, regularise, or add data")
    if uncovered:
        out.append(f"collect examples like the {len(uncovered)} uncovered probe prompt(s)")
    return out
