"""Out-of-fold predictions of the probe classifier, as memoised artifacts.

Label checks need, for every labelled record, class probabilities from a model that never saw
that record's label. The trained probes share one fold procedure (`cross_validated`); the
neighbour vote predicts each record from the others directly (leave one out):

- `oof_predictions`: TF-IDF word 1-2-grams + char 2-4-grams (checks/_features.py). The model is
  multinomial logistic regression (L-BFGS) while its cost stays bounded; beyond that (many
  classes x many records) a fixed number of SGD passes of the same log-loss model, whose cost
  does not grow with the number of iterations L-BFGS would need (`linear_model`).
- `oof_embedding_predictions`: logistic regression on the sentence embeddings of the optional
  `embeddings` extra (raises EmbeddingsUnavailable without it).
- `oof_finetuned_predictions`: the extra's encoder fine-tuned on each fold
  (checks/_finetune.py): the strongest probe, and by far the slowest on CPU.
- `oof_neighbour_predictions`: no model; each record's label predicted from the labels of its
  nearest other records (leave one out, checks/_neighbours.py). Weak alone, it errs on other
  records than the trained probes, so it helps where averaged with them.

scikit-learn is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.check import SkipCheck
from audit.context import artifact
from checks.shared.features import MAX_FEATURES, classifier_text, encode_labels, make_text_classifier

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

#: folds for out-of-fold predictions (LARGE_N_FOLDS from LARGE_N labelled records on)
N_FOLDS = 5
LARGE_N = 40_000
LARGE_N_FOLDS = 3
#: most model weights (features x classes): caps the TF-IDF features for many-class data,
#: where more weights cost time without ranking label errors better (benchmarks.label_noise)
MAX_WEIGHTS = 2_000_000
#: most L-BFGS work per fold, as training rows x non-zero features per row x weight vectors
#: (one for two classes). One L-BFGS iteration costs about this many multiply-adds (twice) and
#: it takes tens of iterations, so this bounds the seconds per fold on one core.
LBFGS_MAX_WORK = 300_000_000
#: passes over the data when SGD replaces L-BFGS: as good a ranking as L-BFGS on large
#: many-class data in a fraction of its time (benchmarks.label_noise, 100k records)
SGD_EPOCHS = 3
SGD_MODEL = f"logistic regression (SGD, {SGD_EPOCHS} passes)"
#: L-BFGS stopping tolerance of the probe. The classifier default (1e-3) stops clean-label fits
#: far from converged, and an unconverged probe flags many clean labels. Each fold is first
#: fitted to COARSE_TOL and continued (warm start) to LBFGS_TOL only where that fit predicts its
#: held-out fold better than chance (MIN_LIFT): labels the text does not determine gain nothing
#: from the tighter fit, and cost most there
LBFGS_TOL = 1e-4
COARSE_TOL = 1e-3
#: k-fold runs on different splits, their probabilities averaged, where the linear probe's
#: work (all runs together) stays within REPEAT_MAX_WORK: an ensemble over splits ranks label
#: errors better for REPEATS times the fitting time, so it runs only where that is cheap
REPEATS = 3
REPEAT_MAX_WORK = 20_000_000
#: least `label_lift` for labels to count as predictable from the text
MIN_LIFT = 0.1
#: probe features -> the out-of-fold artifacts whose probabilities are averaged, and what each
#: artifact's probe reads
FEATURE_ARTIFACTS = {
    "tfidf": ("oof_predictions",),
    "embeddings": ("oof_embedding_predictions",),
    "both": ("oof_predictions", "oof_embedding_predictions"),
    "finetuned": ("oof_finetuned_predictions",),
    "finetuned+tfidf": ("oof_predictions", "oof_finetuned_predictions"),
    "tfidf+neighbours": ("oof_predictions", "oof_neighbour_predictions"),
    "finetuned+tfidf+neighbours": ("oof_predictions", "oof_finetuned_predictions",
                                   "oof_neighbour_predictions"),
}
FEATURE_SOURCES = tuple(FEATURE_ARTIFACTS)
PROBE_INPUTS = {"oof_predictions": "TF-IDF", "oof_embedding_predictions": "sentence embeddings",
                "oof_finetuned_predictions": "fine-tuned encoder",
                "oof_neighbour_predictions": "nearest neighbours"}


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold class probabilities for every record (rows aligned with the data).

    Records without a label have label -1 and a row of NaN probabilities.
    """

    probabilities: np.ndarray  # (n_records, n_classes)
    classes: tuple[str, ...]
    labels: np.ndarray  # (n_records,) index of each record's given label in `classes`
    n_folds: int
    model: str  # the per-fold model, e.g. "logistic regression (L-BFGS)"
    repeats: int = 1  # k-fold runs on different splits whose probabilities are averaged

    @property
    def labelled(self) -> np.ndarray:
        """Boolean mask of the records that have a label."""
        return np.asarray(self.labels >= 0)


def fold_count(n_labelled: int, largest_class: int | None = None) -> int:
    """Folds for `n_labelled` records: 5, or 3 for large data (each fit is the costly part),
    and no more than the largest class has records (stratified folds need that)."""
    folds = LARGE_N_FOLDS if n_labelled >= LARGE_N else N_FOLDS
    if largest_class is not None:
        folds = min(folds, largest_class)
    return int(min(folds, max(2, n_labelled // 2)))


def oof_feasible(data: DatasetView) -> str | None:
    """Why out-of-fold predictions cannot be computed for `data`, or None when they can."""
    classes, y = encode_labels(data.labels)
    if len(classes) < 2:
        return (f"out-of-fold predictions need at least two classes, the data has "
                f"{len(classes)}")
    n = int((y >= 0).sum())
    if n < 4:
        return f"out-of-fold predictions need at least 4 labelled records, got {n}"
    counts = np.bincount(y[y >= 0], minlength=len(classes))
    if counts.max() < 2:
        return (f"every labelled record has a class of its own ({len(classes)} classes): "
                "there is nothing to learn a label from out of fold")
    if (counts >= 2).sum() < 2:
        return ("out-of-fold predictions need two classes with at least 2 records each; "
                f"only {classes[int(counts.argmax())]!r} has more than one")
    return None


@dataclass(frozen=True)
class FoldModel:
    """The per-fold model of a probe: its name, a factory for a fresh unfitted one,
    optionally `refine(fitted, X_train, y_train)`, which continues a first fit and is called
    only where that fit predicts its held-out fold better than chance (`label_lift`), and how
    many times the k-fold runs on different splits, its probabilities averaged (`repeats`)."""

    name: str
    make: Callable[[], Any]
    refine: Callable[[Any, Any, np.ndarray], Any] | None = None
    repeats: int = 1


def label_lift(predicted: np.ndarray, y: np.ndarray) -> float:
    """How much better than always guessing the most common class `predicted` matches `y`,
    as a share of the largest possible gain (Cohen's kappa against that guess): 0 for no
    better, 1 for every label right, negative for worse."""
    if not len(y):
        return 0.0
    majority = float(np.bincount(y).max() / len(y))
    accuracy = float((np.asarray(predicted) == y).mean())
    return 0.0 if majority >= 1.0 else (accuracy - majority) / (1.0 - majority)


def _continue_to_tolerance(fitted: Any, matrix: Any, y: np.ndarray) -> Any:
    return fitted.set_params(tol=LBFGS_TOL, warm_start=True).fit(matrix, y)


def linear_model(seed: int, work: float) -> FoldModel:
    """The per-fold log-loss linear model for `work` (see LBFGS_MAX_WORK).

    Logistic regression with L-BFGS when affordable (better converged, so better calibrated:
    a better-ranked noise estimate than SGD), fitted to COARSE_TOL and then refined
    to LBFGS_TOL, on REPEATS k-fold splits where the work allows (REPEAT_MAX_WORK); otherwise
    SGD on the same loss, whose cost is SGD_EPOCHS passes.
    """
    from sklearn.base import clone
    from sklearn.linear_model import SGDClassifier

    if work <= LBFGS_MAX_WORK:
        model = make_text_classifier(seed, tol=COARSE_TOL).named_steps["model"]
        repeats = REPEATS if work * REPEATS <= REPEAT_MAX_WORK else 1
        return FoldModel("logistic regression (L-BFGS)", lambda: clone(model),
                         _continue_to_tolerance, repeats=repeats)
    return FoldModel(SGD_MODEL,
                     lambda: SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=SGD_EPOCHS,
                                           tol=None, random_state=seed))


def fold_workers(n_folds: int) -> int:
    """Folds fitted at once: one per available core (the fits release the GIL)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(n_folds, cores or 1))


def cross_validated(matrix: Any, y: np.ndarray, n_classes: int, n_folds: int, seed: int,
                    model: FoldModel, advance: Callable[[int], None], *,
                    workers: int | None = None,
                    exclude: np.ndarray | None = None) -> np.ndarray:
    """Stratified k-fold (seeded) probabilities of `model` for the rows of `matrix`, averaged
    over `model.repeats` runs on different splits (seeds `seed`, `seed + 1`, ...).

    Rows where the boolean `exclude` is set train no fold's model but are predicted like the
    others (the folds stay those of the full data). A model with `refine` is refined where its
    first fit's held-out `label_lift` reaches MIN_LIFT (one yes/no per fold from the held-out
    labels; the predictions still come from a model fitted on the other folds only).

    Folds are fitted in threads, one per core (`fold_workers`) unless `workers` says how many;
    each fit uses one BLAS thread: on sparse or small dense features more BLAS threads gain
    nothing and spin against each other on shared cores. A model that
    uses every core itself (the fine-tuned encoder) asks for `workers=1`. Results do not depend
    on the thread count.
    """
    import warnings
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    probabilities = np.zeros((model.repeats, len(y), n_classes))
    splits = [(repeat, train, test) for repeat in range(model.repeats)
              for train, test in StratifiedKFold(n_splits=n_folds, shuffle=True,
                                                 random_state=seed + repeat
                                                 ).split(np.zeros(len(y)), y)]

    def fit_fold(repeat: int, train: np.ndarray, test: np.ndarray) -> None:
        if exclude is not None:
            train = train[~exclude[train]]
        x_train, x_test = matrix[train], matrix[test]  # sliced once: sparse copies
        fitted = model.make().fit(x_train, y[train])
        predicted = fitted.predict_proba(x_test)
        if model.refine is not None and \
                label_lift(fitted.classes_[predicted.argmax(axis=1)], y[test]) >= MIN_LIFT:
            fitted = model.refine(fitted, x_train, y[train])
            predicted = fitted.predict_proba(x_test)
        probabilities[repeat][np.ix_(test, fitted.classes_)] = predicted

    with threadpool_limits(1), warnings.catch_warnings(), \
            ThreadPoolExecutor(workers or fold_workers(n_folds)) as pool:
        warnings.simplefilter("ignore")  # rare classes (fewer members than folds), SGD passes
        futures = [pool.submit(fit_fold, *split) for split in splits]
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()
            if done % model.repeats == 0:  # the progress counts n_folds steps
                advance(1)
    return np.asarray(probabilities.mean(axis=0))


def _out_of_fold(data: DatasetView, ctx: RunContext, title: str,
                 features: Callable[[np.ndarray, int], tuple[Any, FoldModel]],
                 *, workers: int | None = None, exclude: np.ndarray | None = None) -> OutOfFold:
    """Shared frame: encode labels, build features for the labelled rows, cross-validate
    (records where `exclude`, a boolean per record, is set train no model)."""
    reason = oof_feasible(data)
    if reason is not None:
        raise ValueError(reason)
    classes, y = encode_labels(data.labels)
    rows = np.flatnonzero(y >= 0)
    n_folds = fold_count(len(rows), int(np.bincount(y[rows]).max()))
    probabilities = np.full((data.n, len(classes)), np.nan)
    if exclude is not None:
        title += " (refit)"
    with ctx.progress(title, n_folds + 1) as advance:
        matrix, model = features(rows, len(classes))
        advance(1)
        probabilities[rows] = cross_validated(
            matrix, y[rows], len(classes), n_folds, ctx.seed, model, advance,
            workers=workers, exclude=None if exclude is None else exclude[rows])
    return OutOfFold(probabilities=probabilities, classes=classes, labels=y, n_folds=n_folds,
                     model=model.name, repeats=model.repeats)


@artifact("oof_predictions")
def out_of_fold_predictions(data: DatasetView, ctx: RunContext, *,
                            exclude: np.ndarray | None = None) -> OutOfFold:
    """Probe probabilities on TF-IDF features (fitted once on all labelled texts: unsupervised,
    no labels seen, and memoised as `probe_tfidf` for a refit), one linear model per fold."""

    def features(rows: np.ndarray, n_classes: int) -> tuple[Any, FoldModel]:
        def vectorise() -> Any:
            texts = classifier_text(data)
            cap = int(min(MAX_FEATURES, max(5_000, MAX_WEIGHTS // (2 * n_classes))))
            union = make_text_classifier(ctx.seed).named_steps["features"]
            union.set_params(word__max_features=cap, char__max_features=cap)
            try:
                return union.fit_transform([texts[i] for i in rows]).tocsr()
            except ValueError as exc:  # no word, or no character n-gram in two records
                raise SkipCheck("the labelled texts hold too few words or characters for a "
                                f"probe to learn from ({exc})") from None

        matrix = ctx.memo("probe_tfidf", vectorise, data)
        vectors = 1 if n_classes == 2 else n_classes
        work = matrix.nnz * (1 - 1 / fold_count(len(rows))) * vectors
        return matrix, linear_model(ctx.seed, work)

    return _out_of_fold(data, ctx, "Out-of-fold predictions", features, exclude=exclude)


@artifact("oof_embedding_predictions")
def out_of_fold_embedding_predictions(data: DatasetView, ctx: RunContext, *,
                                      exclude: np.ndarray | None = None) -> OutOfFold:
    """Probe probabilities on sentence embeddings (the optional extra), one logistic
    regression per fold (dense 384 dimensions: cheap next to encoding)."""

    def features(rows: np.ndarray, n_classes: int) -> tuple[Any, FoldModel]:
        from sklearn.linear_model import LogisticRegression

        vectors = np.asarray(ctx.artifact("embeddings", data))[rows]
        return vectors, FoldModel("logistic regression on sentence embeddings",
                                  lambda: LogisticRegression(C=1.0, max_iter=500,
                                                             random_state=ctx.seed))

    return _out_of_fold(data, ctx, "Out-of-fold predictions (embeddings)", features,
                        exclude=exclude)


@artifact("oof_finetuned_predictions")
def out_of_fold_finetuned_predictions(data: DatasetView, ctx: RunContext, *,
                                      exclude: np.ndarray | None = None) -> OutOfFold:
    """Probe probabilities of the bundled encoder fine-tuned on each fold (the optional extra;
    raises EmbeddingsUnavailable without it). Folds run one after another: each uses every
    core."""
    from checks.shared.embeddings import require_extra
    from checks.shared.finetune import EPOCHS, FineTunedEncoder

    require_extra()

    def features(rows: np.ndarray, n_classes: int) -> tuple[Any, FoldModel]:
        texts = classifier_text(data)
        matrix = np.empty(len(rows), dtype=object)
        matrix[:] = [texts[i] for i in rows]
        return matrix, FoldModel(f"all-MiniLM-L6-v2 fine-tuned per fold ({EPOCHS} epoch)",
                                 lambda: FineTunedEncoder(seed=ctx.seed))

    return _out_of_fold(data, ctx, "Out-of-fold predictions (fine-tuned encoder)", features,
                        workers=1, exclude=exclude)


@artifact("oof_neighbour_predictions")
def neighbour_predictions(data: DatasetView, ctx: RunContext, *,
                          exclude: np.ndarray | None = None) -> OutOfFold:
    """Leave-one-out probabilities from the similarity-weighted labels of each labelled
    record's nearest other labelled records (checks/_neighbours.py; word TF-IDF memoised as
    `neighbour_tfidf`). With `exclude` (a boolean per record) those records cast no vote."""
    from checks.shared.neighbours import CHUNK, K, nearest, neighbour_matrix, neighbour_votes

    reason = oof_feasible(data)
    if reason is not None:
        raise ValueError(reason)
    classes, y = encode_labels(data.labels)
    rows = np.flatnonzero(y >= 0)
    voters = np.ones(len(rows), dtype=bool) if exclude is None else ~exclude[rows]
    title = "Nearest-neighbour label votes" + ("" if exclude is None else " (refit)")
    with ctx.progress(title, -(-len(rows) // CHUNK) + 1) as advance:
        texts = classifier_text(data)
        matrix = ctx.memo("neighbour_tfidf",
                          lambda: neighbour_matrix([texts[i] for i in rows]), data)
        advance(1)
        neighbours, similarities = nearest(matrix, voters, advance=advance)
    probabilities = np.full((data.n, len(classes)), np.nan)
    probabilities[rows] = neighbour_votes(neighbours, similarities, y[rows], len(classes))
    return OutOfFold(probabilities=probabilities, classes=classes, labels=y, n_folds=len(rows),
                     model=f"similarity-weighted vote of the {K} nearest labelled records "
                           f"(word TF-IDF, leave one out)")


#: each out-of-fold artifact's function, called directly to refit its probe with records left
#: out of training (`exclude`)
PROBE_FITS: dict[str, Callable[..., OutOfFold]] = {
    "oof_predictions": out_of_fold_predictions,
    "oof_embedding_predictions": out_of_fold_embedding_predictions,
    "oof_finetuned_predictions": out_of_fold_finetuned_predictions,
    "oof_neighbour_predictions": neighbour_predictions,
}
