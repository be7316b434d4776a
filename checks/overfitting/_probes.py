"""The measurements behind `overfitting_risk`: grouped folds, the two proxies (probe classifier,
bigram LM), learning curves, memorisation, dataset cartography and probe coverage.

Every function takes the (possibly sampled) view the check works on, and returns plain numbers
and positions in that view. scikit-learn is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audit.context import RunContext
from audit.dataset import DatasetView
from checks.overfitting._ngram_lm import (
    BigramLM,
    bigrams,
    cross_entropy,
    fit_bigram_lm,
    record_cross_entropy,
)
from checks.shared.corpus import TokenCorpus, corpus_for, ngram_hashes, snippet
from checks.shared.features import (
    classifier_text,
    encode_labels,
    fit_tfidf,
    make_text_classifier,
    tokenize_texts,
)
from checks.shared.probe import (
    fit_fold,
    log_loss,
    oof_feasible,
    probe_view,
    tfidf_fold_model,
)
from checks.shared.tasks import task_lexicon, task_type
from checks.shared.text import words

Folds = list[tuple[np.ndarray, np.ndarray]]
#: held-out groups (task types, classes) reported, and the fewest records one needs
MAX_WORST_GROUPS = 3
MIN_GROUP_RECORDS = 10
#: held-out records compared with the training part for memorisation
MAX_MEMO_QUERIES = 2000


@dataclass
class ProxyResult:
    kind: str
    metrics: dict[str, float]
    curve: list[dict[str, float]]
    per_group: dict[str, float]
    worst_groups: list[str]
    group_kind: str
    gap_definition: str
    gap_floor: float  # gap that still counts as no risk
    gap_scale: float  # gap above the floor at which the gap component reaches 1
    gain_definition: str  # what learning_curve_end_gain measures for this proxy
    gain_scale: float  # end gain at which the still-data-limited component reaches 1
    model: Any = None  # fitted on the whole view, for probes
    extra: dict[str, Any] = field(default_factory=dict)


def use_classifier(view: DatasetView, proxy: str) -> bool:
    """The classifier proxy for labelled data (auto: only when there are no responses)."""
    labelled = view.has_labels and len({x for x in view.labels if x is not None}) >= 2
    if proxy == "classifier":
        return labelled
    return proxy == "auto" and labelled and not view.has_response


def grouped_folds(groups: np.ndarray, n_folds: int, seed: int) -> Folds:
    """GroupKFold splits (shuffled, seeded) so duplicate groups never straddle folds."""
    from sklearn.model_selection import GroupKFold

    n_groups = len(np.unique(groups))
    k = min(n_folds, n_groups)
    if k < 2:
        return []
    splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    index = np.zeros(len(groups))
    return [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(index, groups=groups)]


def subsample(train: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    size = max(2, round(fraction * len(train)))
    return train if size >= len(train) else np.sort(rng.choice(train, size=size, replace=False))


def end_gain(curve: list[dict[str, float]]) -> float:
    """Relative fall of the held-out loss between the last two curve points (> 0: improving)."""
    if len(curve) < 2:
        return float("nan")
    before, last = curve[-2]["heldout_loss"], curve[-1]["heldout_loss"]
    return float((before - last) / before) if before > 0 else float("nan")


def accuracy_gain(curve: list[dict[str, float]]) -> float:
    """Held-out accuracy gained between the last two curve points (> 0: improving)."""
    points = [c for c in curve if np.isfinite(c.get("heldout_accuracy", np.nan))]
    if len(points) < 2:
        return float("nan")
    return float(points[-1]["heldout_accuracy"] - points[-2]["heldout_accuracy"])


def _worst(per_group: dict[str, float], overall: float, higher_is_worse: bool) -> list[str]:
    ranked = sorted(per_group.items(), key=lambda kv: (-kv[1] if higher_is_worse else kv[1], kv[0]))
    margin = 1.1 if higher_is_worse else 0.9
    return [g for g, v in ranked if (v > overall * margin if higher_is_worse
                                     else v < overall * margin)][:MAX_WORST_GROUPS]


# -- generative data: bigram LM of responses ------------------------------------------------------
def lm_field(view: DatasetView) -> str:
    return "response" if view.has_response else "text"


def lm_proxy(view: DatasetView, ctx: RunContext, folds: Folds,
             fractions: Sequence[float]) -> ProxyResult:
    corpus = corpus_for(view, ctx, lm_field(view), max(view.n, 1))
    pairs = bigrams(corpus.ids, corpus.offsets)
    vocab = len(corpus.vocab) + 1  # + an unknown-word id for probes
    rng = ctx.rng("overfitting_risk:curve")
    train_h, test_h = [], []
    heldout_record = np.full(view.n, np.nan)
    train_sum, train_count = np.zeros(view.n), np.zeros(view.n)
    curve_losses: dict[float, list[float]] = {f: [] for f in sorted(fractions)}
    for train, test in folds:
        test_pairs = pairs.take(test)
        for fraction in curve_losses:
            part = subsample(train, fraction, rng)
            lm = fit_bigram_lm(pairs.take(part), vocab)
            curve_losses[fraction].append(cross_entropy(lm, test_pairs))
        train_pairs = pairs.take(train)
        lm = fit_bigram_lm(train_pairs, vocab)
        train_h.append(cross_entropy(lm, train_pairs))
        test_h.append(cross_entropy(lm, test_pairs))
        heldout_record[test] = record_cross_entropy(lm, test_pairs, view.n)[test]
        in_train = record_cross_entropy(lm, train_pairs, view.n)[train]
        train_sum[train] += np.nan_to_num(in_train)
        train_count[train] += np.isfinite(in_train)
    curve = [{"fraction": f, "heldout_loss": round(float(np.mean(v)), 4)}
             for f, v in curve_losses.items() if v]
    h_train = float(np.mean(train_h)) if folds else float("nan")
    h_test = float(np.mean(test_h)) if folds else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        record_gap = (heldout_record - train_sum / train_count) / heldout_record
    per_group: dict[str, float] = {}
    if view.has_prompt and view.has_response and folds:
        lexicon = task_lexicon()
        types = np.array([task_type(words(t[:300]), lexicon) for t in view.prompts])
        for name in sorted(set(types.tolist())):
            values = record_gap[(types == name) & np.isfinite(record_gap)]
            if len(values) >= MIN_GROUP_RECORDS:
                per_group[name] = round(float(values.mean()), 4)
    overall_gap = float(np.nanmean(record_gap)) if np.isfinite(record_gap).any() else np.nan
    metrics = {
        "train_loss": h_train, "heldout_loss": h_test,
        "train_perplexity": float(np.exp(h_train)), "heldout_perplexity": float(np.exp(h_test)),
        "generalization_gap": (h_test - h_train) / h_test if h_test > 0 else float("nan"),
        "learning_curve_end_gain": end_gain(curve),
    }
    return ProxyResult(
        kind="bigram_lm", metrics=metrics, curve=curve, per_group=per_group,
        worst_groups=_worst({k: v for k, v in per_group.items() if k != "other"}, overall_gap,
                            True),
        group_kind="task types (by generalisation gap)",
        gap_definition="(held-out - train cross-entropy) / held-out cross-entropy of a "
                       "Kneser-Ney bigram LM of the responses",
        gap_floor=0.3, gap_scale=0.4,
        gain_definition="relative fall of the held-out cross-entropy between the last two "
                        "learning-curve points", gain_scale=0.05,
        model=(fit_bigram_lm(pairs, vocab), corpus))


def lm_probe_cross_entropy(model: tuple[BigramLM, TokenCorpus], texts: Sequence[str]) -> float:
    """Cross-entropy of the full-data LM on probe answers (unknown words share one id)."""
    lm, corpus = model
    index = {w: i for i, w in enumerate(corpus.vocab)}
    unknown = len(corpus.vocab)
    toks = [[index.get(w, unknown) for w in words(t)] for t in texts]
    lengths = np.array([len(t) for t in toks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = np.array([i for t in toks for i in t], dtype=np.int64)
    return cross_entropy(lm, bigrams(ids, offsets))


# -- labelled data: the probe classifier ----------------------------------------------------------
def classifier_available(data: DatasetView, ctx: RunContext, proxy: str) -> bool:
    """The classifier proxy applies (`use_classifier`) and the shared out-of-fold fits can
    be computed on the probe's records."""
    return use_classifier(data, proxy) and oof_feasible(probe_view(data, ctx)) is None


def leaked_rows(groups: np.ndarray, fold_of: np.ndarray) -> np.ndarray:
    """Per record: a duplicate of it (same `groups` value) was in a training fold when it was
    held out, i.e. sits in another fold (`fold_of`, -1 for records in no fold)."""
    inside = fold_of >= 0
    if not inside.any():
        return np.zeros(len(groups), dtype=bool)
    _, group = np.unique(groups, return_inverse=True)
    pairs = np.unique(np.stack([group[inside], fold_of[inside]]), axis=1)
    folds_per_group = np.bincount(pairs[0], minlength=int(group.max()) + 1)
    return np.asarray(inside & (folds_per_group[group] > 1))


def row_groups(matrix: Any) -> np.ndarray:
    """One int per row of a CSR matrix, equal for rows with equal values (64-bit hashes of
    the (column, value) entries, summed per row)."""
    import pandas as pd

    from checks.shared.minhash import splitmix64

    entries = splitmix64((matrix.indices.astype(np.uint64) << np.uint64(32))
                         | matrix.data.astype(np.float32).view(np.uint32).astype(np.uint64))
    totals = np.concatenate([[np.uint64(0)], np.cumsum(entries, dtype=np.uint64)])
    hashes = totals[matrix.indptr[1:]] - totals[matrix.indptr[:-1]]
    return np.asarray(pd.factorize(hashes)[0])


def classifier_proxy(data: DatasetView, ctx: RunContext,
                     fractions: Sequence[float]) -> ProxyResult:
    """The probe classifier's scores from the shared out-of-fold fits (`oof_predictions` on
    `probe_view(data)`, the fits `label_issues` reads): held-out accuracy and log-loss of the
    first k-fold run over the records whose probe features equal no record's in their training
    folds (a copy the probe cannot tell apart would score it), the fold models' scores on
    their own training rows, and the learning curve on the first fold: its model is the 100%
    point, the smaller fractions are fits on seeded subsamples of its training rows."""
    view = probe_view(data, ctx)
    oof = ctx.artifact("oof_predictions", view)
    features = ctx.artifact("probe_features", view)
    groups = row_groups(features.matrix)
    classes, y = oof.classes, oof.labels
    n_classes = len(classes)
    assert oof.first_run is not None and oof.fold_of is not None
    first, fold_of = oof.first_run, oof.fold_of
    held = (fold_of >= 0) & ~leaked_rows(groups, fold_of)
    predicted = np.where(held, np.nan_to_num(first).argmax(axis=1), -1)
    correct = np.where(held, predicted == y, np.nan)
    heldout_acc = float(np.nanmean(correct)) if held.any() else float("nan")
    heldout_loss = log_loss(y[held], first[held])
    curve: list[dict[str, float]] = []
    train = np.flatnonzero((fold_of >= 0) & (fold_of != 0))
    test = np.flatnonzero(held & (fold_of == 0))
    if len(test):
        matrix = features.matrix
        model = tfidf_fold_model(matrix, y, ctx.seed)
        rng = ctx.rng("overfitting_risk:curve")
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            for fraction in sorted(fractions)[:-1]:
                part = subsample(train, fraction, rng)
                if len(np.unique(y[part])) < 2:
                    continue
                _, proba = fit_fold(matrix, y, part, test, n_classes, model)
                curve.append(_curve_point(fraction, y[test], proba))
        curve.append(_curve_point(1.0, y[test], first[test]))
    per_group = {}
    for index, name in enumerate(classes):
        values = correct[(y == index) & held]
        if len(values) >= MIN_GROUP_RECORDS:
            per_group[name] = round(float(values.mean()), 4)
    metrics = {
        "train_loss": oof.train_loss,
        "heldout_loss": heldout_loss,
        "heldout_accuracy": heldout_acc,
        "generalization_gap": oof.train_accuracy - heldout_acc,
        "learning_curve_end_gain": accuracy_gain(curve),
    }

    def full_model() -> Any:
        """The probe fitted on every labelled record (only labelled probe prompts ask)."""
        from threadpoolctl import threadpool_limits

        rows = np.flatnonzero(y >= 0)
        with threadpool_limits(1):
            return make_text_classifier(ctx.seed).named_steps["model"].fit(
                features.matrix[rows], y[rows])

    return ProxyResult(
        kind="probe_classifier", metrics=metrics, curve=curve, per_group=per_group,
        worst_groups=_worst(per_group, heldout_acc, False), group_kind="classes (by recall)",
        gap_definition="training accuracy - held-out accuracy of the probe classifier",
        gap_floor=0.05, gap_scale=0.3, model=(full_model, classes, features.vectorizer),
        gain_definition="held-out accuracy at the last learning-curve point minus the one "
                        "before (accuracy points)", gain_scale=0.02,
        extra={"n_folds": oof.n_folds, "records": view.n, "sampled": view.n < data.n,
               "heldout_records": int(held.sum()),
               "heldout_with_copy_in_training": int(((fold_of >= 0) & ~held).sum()),
               "features": features.description, "model": oof.model,
               "fits": "the out-of-fold fits shared with label_issues (stratified k-fold); "
                       "held-out scores from the first run over records whose probe features "
                       "equal no record's in their training folds; learning curve on fold 1, "
                       "the fractions below 100% fitted on seeded subsamples of its training "
                       "rows"})


def _curve_point(fraction: float, y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    return {"fraction": fraction, "heldout_loss": round(log_loss(y, proba), 4),
            "heldout_accuracy": round(float((proba.argmax(axis=1) == y).mean()), 4)}


@dataclass(frozen=True)
class Cartography:
    positions: np.ndarray  # hard-to-learn records (view positions)
    summary: dict[str, float]


def cartography(view: DatasetView, ctx: RunContext, epochs: int, max_confidence: float,
                max_variability: float) -> Cartography:
    """Dataset cartography (Swayamdipta et al. 2020) with a linear model on TF-IDF: per-record
    gold-label probability after each epoch; hard-to-learn = low mean and low std."""
    from sklearn.linear_model import SGDClassifier

    classes, y = encode_labels(view.labels)
    rows = np.flatnonzero(y >= 0)
    features = ctx.artifact("tfidf", view)[rows]
    gold = y[rows]
    model = SGDClassifier(loss="log_loss", alpha=1e-4, random_state=ctx.seed)
    rng = ctx.rng("overfitting_risk:cartography")
    trace = np.zeros((epochs, len(rows)))
    for epoch in range(epochs):
        order = rng.permutation(len(rows))
        model.partial_fit(features[order], gold[order], classes=np.arange(len(classes)))
        proba = np.zeros((len(rows), len(classes)))
        proba[:, model.classes_] = model.predict_proba(features)
        trace[epoch] = proba[np.arange(len(rows)), gold]
    confidence, variability = trace.mean(0), trace.std(0)
    hard = (confidence < max_confidence) & (variability < max_variability)
    return Cartography(positions=rows[hard], summary={
        "mean_confidence": round(float(confidence.mean()), 4),
        "easy_fraction": round(float((confidence > 0.7).mean()), 4),
        "ambiguous_fraction": round(float((variability >= 0.2).mean()), 4),
        "hard_fraction": round(float(hard.mean()), 4), "epochs": epochs})


# -- memorisation --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Memorisation:
    fraction: float  # held-out records with a near-duplicate in training
    ngram_overlap: float  # held-out response n-grams seen verbatim in training
    positions: np.ndarray  # the memorisable held-out records (view positions)


def memorisation(view: DatasetView, ctx: RunContext, n_folds: int, similarity: float,
                 ngram: int, groups: np.ndarray) -> Memorisation:
    """What a plain random train/validation split would leak: held-out records whose nearest
    training record is a near-duplicate (same duplicate group in `groups`, or TF-IDF cosine
    >= `similarity`), and the share of held-out response n-grams that occur verbatim in
    training responses."""
    import pandas as pd

    rng = ctx.rng("overfitting_risk:memorisation")
    order = rng.permutation(view.n)
    test, train = np.sort(order[: view.n // n_folds]), np.sort(order[view.n // n_folds:])
    queries = test if len(test) <= MAX_MEMO_QUERIES else np.sort(
        rng.choice(test, MAX_MEMO_QUERIES, replace=False))
    vectors = ctx.artifact("tfidf", view)
    nearest = np.zeros(len(queries))
    train_vectors = vectors[train].T.tocsr()
    for start in range(0, len(queries), 512):
        block = vectors[queries[start:start + 512]] @ train_vectors
        nearest[start:start + 512] = block.max(axis=1).toarray().ravel() if block.shape[1] else 0
    same_group = np.asarray(pd.Series(groups[queries]).isin(groups[train]))
    near = same_group | (nearest >= similarity)
    corpus = corpus_for(view, ctx, lm_field(view), max(view.n, 1))
    hashes, record = ngram_hashes(corpus, ngram)
    is_test = np.zeros(view.n, dtype=bool)
    is_test[test] = True
    in_test = is_test[record]
    test_hashes = hashes[in_test]
    # membership through a hash table (linear) rather than sorting both sides
    overlap = (float(pd.Series(test_hashes).isin(hashes[~in_test]).mean()) if len(test_hashes)
               else float("nan"))
    return Memorisation(fraction=float(near.mean()) if len(queries) else float("nan"),
                        ngram_overlap=overlap, positions=queries[near])


# -- probes ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProbeCoverage:
    metrics: dict[str, float]
    uncovered: list[dict[str, Any]]
    n_uncovered: int
    details: dict[str, Any]


def probe_coverage(view: DatasetView, ctx: RunContext, proxy: ProxyResult,
                   min_similarity: float) -> ProbeCoverage:
    """Nearest-neighbour TF-IDF cosine (word 1-2-grams, fitted on the training prompts) of
    each probe prompt to the training prompts, and the proxy's performance on probes that
    carry answers. Similarities stay sparse (one block of probes at a time)."""
    probe = ctx.probe_data
    if probe is None or probe.n == 0 or view.n == 0:
        return ProbeCoverage({}, [], 0, {})
    probe_texts = probe.prompts if probe.has_prompt else probe.texts("text")
    try:
        train_matrix, vectorizer = fit_tfidf(tokenize_texts(classifier_text(view)), chars=False,
                                             max_features=None)
    except ValueError:  # no words in the training data
        return ProbeCoverage({}, [], 0, {"reason": "training data has no words"})
    probe_matrix = vectorizer.transform(probe_texts)
    train_t = train_matrix.T.tocsr()
    best = np.zeros(probe.n)
    nearest = np.zeros(probe.n, dtype=np.int64)
    for start in range(0, probe.n, 1000):
        sims = (probe_matrix[start:start + 1000] @ train_t).tocsr()
        best[start:start + 1000] = sims.max(axis=1).toarray().ravel()
        nearest[start:start + 1000] = np.asarray(sims.argmax(axis=1)).ravel()
    covered = best >= min_similarity
    uncovered_rows = np.flatnonzero(~covered)
    uncovered = [{"probe_id": int(probe.ids[i]), "text": snippet(probe_texts[i]),
                  "similarity": round(float(best[i]), 4),
                  "nearest_record": int(view.ids[nearest[i]])} for i in uncovered_rows[:50]]
    metrics = {"probe_coverage": float(covered.mean()), "probe_mean_similarity": float(best.mean())}
    details: dict[str, Any] = {"n_probes": probe.n, "n_uncovered": len(uncovered_rows)}
    if proxy.kind == "probe_classifier" and probe.has_labels:
        fit, classes, probe_vectorizer = proxy.model
        index = {c: i for i, c in enumerate(classes)}
        rows = [i for i, label in enumerate(probe.labels) if label in index]
        if rows:
            predicted = fit().predict(probe_vectorizer.transform([probe_texts[i] for i in rows]))
            truth = np.array([index[probe.labels[i]] for i in rows])
            metrics["probe_accuracy"] = float((predicted == truth).mean())
            details["probes_with_labels"] = len(rows)
    elif proxy.kind == "bigram_lm" and probe.has_response:
        answers = [t for t in probe.responses if t.strip()]
        if answers:
            metrics["probe_perplexity"] = float(np.exp(lm_probe_cross_entropy(proxy.model,
                                                                               answers)))
            details["probes_with_answers"] = len(answers)
    return ProbeCoverage(metrics, uncovered, len(uncovered_rows), details)
