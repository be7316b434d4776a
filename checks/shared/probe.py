"""The probe's features and its out-of-fold predictions, as memoised artifacts.

Label checks need, for every labelled record, class probabilities from a model that never saw
that record's label; `overfitting_risk` needs the same fits' held-out and training scores and
`counterfactual_probe` the same features. The trained probes share one fold procedure
(`fold_fits`); the neighbour vote predicts each record from the others directly (leave one
out):

- `probe_features`: TF-IDF word 1-2-grams + char 2-4-grams (checks/shared/features.py) of the
  classifier text of every record, fitted once on all of them (unsupervised: no label is
  seen, so fitting the vocabulary and IDF on the held-out texts too leaks nothing); every fit
  slices its rows. Char n-grams only for short texts (CHAR_NGRAM_MAX_WORDS): on longer ones
  they multiply the non-zeros, so the cost of every fit, and the word n-grams already carry
  what they add; there word n-grams count from 2 texts up (`vectorise`; benchmarks.whole_audit
  compares the choices).
- `oof_predictions`: one linear model per fold on `probe_features`: multinomial logistic
  regression (L-BFGS) while its cost stays bounded; beyond that (many classes x many records)
  a fixed number of SGD passes of the same log-loss model, whose cost does not grow with the
  number of iterations L-BFGS would need (`linear_model`). It also keeps each fold model (a
  refit without some records starts from them), the first run's fold of each record and its
  probabilities, and the fold models' scores on their own training rows.
- `oof_embedding_predictions`: logistic regression on the sentence embeddings of the optional
  `embeddings` extra (raises EmbeddingsUnavailable without it).
- `oof_finetuned_predictions`: the extra's encoder fine-tuned on each fold
  (checks/shared/finetune.py): the strongest probe, and by far the slowest on CPU.
- `oof_neighbour_predictions`: no model; each record's label predicted from the labels of its
  nearest other records (leave one out, checks/shared/neighbours.py). Weak alone, it errs on
  other records than the trained probes, so it helps where averaged with them.

Data larger than PROBE_MAX_RECORDS is probed on a seeded sample (`probe_view`), shared by the
checks that read these artifacts. scikit-learn is imported inside the functions, so importing
this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.check import SkipCheck
from audit.context import artifact
from checks.shared.features import (
    CHAR_NGRAM_MAX_WORDS,
    MAX_FEATURES,
    PROBE_MAX_RECORDS,
    TextTfidf,
    TokenizedTexts,
    classifier_field,
    classifier_text,
    encode_labels,
    fit_tfidf,
    make_text_classifier,
    text_tokens,
    tokenize_texts,
)

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

#: folds for out-of-fold predictions (LARGE_N_FOLDS from LARGE_N labelled records on)
N_FOLDS = 5
LARGE_N = 20_000
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
    #: probabilities of the first k-fold run alone (rows as `probabilities`; the same array
    #: when there is one run)
    first_run: np.ndarray | None = None
    #: each record's held-out fold in the first run (-1: not labelled)
    fold_of: np.ndarray | None = None
    #: mean accuracy and log-loss of the first run's fold models on their own training rows
    #: (NaN where the probe does not score them)
    train_accuracy: float = float("nan")
    train_loss: float = float("nan")
    #: the fitted model of every fold of every run (run-major), where the probe keeps them
    models: tuple[Any, ...] = ()

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
    only where that fit predicts its held-out fold better than chance (`label_lift`), how
    many times the k-fold runs on different splits, its probabilities averaged (`repeats`),
    optionally `warm(fitted)`: an unfitted model that starts from a fitted one (a refit on
    fewer records of the same fold starts there instead of from zero), and `stalled`."""

    name: str
    make: Callable[[], Any]
    refine: Callable[[Any, Any, np.ndarray], Any] | None = None
    repeats: int = 1
    warm: Callable[[Any], Any] | None = None
    #: whether a first fit stopped where it started (its tolerance met before any step):
    #: then its predictions say nothing of the labels, and it is refined whatever its lift
    stalled: Callable[[Any], bool] | None = None


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


def _no_step(fitted: Any) -> bool:
    """L-BFGS stopped before its first iteration: where every feature carries a weak signal
    (many records, long texts), the gradient at zero is within the coarse tolerance."""
    return int(np.max(fitted.n_iter_)) == 0


def _start_from(fitted: Any) -> Any:
    """A copy of a fitted L-BFGS model whose next fit starts from its coefficients."""
    import copy

    return copy.deepcopy(fitted).set_params(tol=COARSE_TOL, warm_start=True)


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
                         _continue_to_tolerance, repeats=repeats, warm=_start_from,
                         stalled=_no_step)
    return FoldModel(SGD_MODEL,
                     lambda: SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=SGD_EPOCHS,
                                           tol=None, random_state=seed))


def fold_workers(n_folds: int) -> int:
    """Folds fitted at once: one per available core (the fits release the GIL)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(n_folds, cores or 1))


def normalised(proba: np.ndarray) -> np.ndarray:
    """Probabilities clipped away from 0 and renormalised (for log-loss)."""
    clipped = np.clip(proba, 1e-6, 1.0)
    return np.asarray(clipped / clipped.sum(axis=1, keepdims=True))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-probability of the labels `y` (class indices) under `proba`."""
    if not len(y):
        return float("nan")
    return float(-np.log(normalised(proba)[np.arange(len(y)), y]).mean())


def split_folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The stratified k-fold (shuffled, seeded) train / held-out rows of labels `y`."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(np.asarray(train), np.asarray(test))
            for train, test in splitter.split(np.zeros(len(y)), y)]


def fit_fold(matrix: Any, y: np.ndarray, train: np.ndarray, test: np.ndarray,
             n_classes: int, model: FoldModel, start: Any = None) -> tuple[Any, np.ndarray]:
    """Fit `model` on the `train` rows (from `start`, a fitted model, when `model.warm`
    allows) and predict the `test` rows: (fitted, probabilities over all n_classes). Refined
    where the first fit predicts its held-out rows better than chance (MIN_LIFT) or stalled."""
    x_train, x_test = matrix[train], matrix[test]  # sliced once: sparse copies
    fresh = model.make() if start is None or model.warm is None or not np.array_equal(
        np.unique(y[train]), start.classes_) else model.warm(start)
    fitted = fresh.fit(x_train, y[train])
    predicted = fitted.predict_proba(x_test)
    if model.refine is not None and (
            (model.stalled is not None and model.stalled(fitted))
            or label_lift(fitted.classes_[predicted.argmax(axis=1)], y[test]) >= MIN_LIFT):
        fitted = model.refine(fitted, x_train, y[train])
        predicted = fitted.predict_proba(x_test)
    out = np.zeros((len(test), n_classes))
    out[:, fitted.classes_] = predicted
    return fitted, out


@dataclass(frozen=True)
class FoldFits:
    """What `fold_fits` returns: probabilities averaged over the runs, the first run's
    alone and each row's held-out fold in it, the first run's training scores (NaN unless
    asked), and the fitted models (run-major; empty unless asked)."""

    probabilities: np.ndarray
    first_run: np.ndarray
    fold_of: np.ndarray
    train_accuracy: float
    train_loss: float
    models: tuple[Any, ...]


def fold_fits(matrix: Any, y: np.ndarray, n_classes: int, n_folds: int, seed: int,
              model: FoldModel, advance: Callable[[int], None], *, workers: int | None = None,
              exclude: np.ndarray | None = None, train_scores: bool = False,
              keep_models: bool = False, warm: Sequence[Any] = ()) -> FoldFits:
    """Stratified k-fold (seeded) probabilities of `model` for the rows of `matrix`, averaged
    over `model.repeats` runs on different splits (seeds `seed`, `seed + 1`, ...).

    Rows where the boolean `exclude` is set train no fold's model but are predicted like the
    others (the folds stay those of the full data). A model with `refine` is refined where its
    first fit's held-out `label_lift` reaches MIN_LIFT (one yes/no per fold from the held-out
    labels; the predictions still come from a model fitted on the other folds only). `warm`:
    the fitted models of an earlier call on the same rows, labels and seed (its
    `keep_models`), one per split: each split's fit starts from its model, which never saw
    that split's held-out rows either. `train_scores`: accuracy and log-loss of the first
    run's models on their own training rows.

    Folds are fitted in threads, one per core (`fold_workers`) unless `workers` says how many;
    each fit uses one BLAS thread: on sparse or small dense features more BLAS threads gain
    nothing and spin against each other on shared cores. A model that
    uses every core itself (the fine-tuned encoder) asks for `workers=1`. Results do not depend
    on the thread count.
    """
    import warnings
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from threadpoolctl import threadpool_limits

    probabilities = np.zeros((model.repeats, len(y), n_classes))
    fold_of = np.full(len(y), -1, dtype=np.int64)
    splits = [(repeat, fold, train, test) for repeat in range(model.repeats)
              for fold, (train, test) in enumerate(split_folds(y, n_folds, seed + repeat))]
    models: list[Any] = [None] * len(splits)
    scores: dict[int, tuple[float, float]] = {}  # by fold: averaged in fold order

    def fit_split(k: int, repeat: int, fold: int, train: np.ndarray, test: np.ndarray) -> None:
        if exclude is not None:
            train = train[~exclude[train]]
        fitted, predicted = fit_fold(matrix, y, train, test, n_classes, model,
                                     warm[k] if k < len(warm) else None)
        probabilities[repeat][test] = predicted
        if repeat == 0:
            fold_of[test] = fold
            if train_scores:
                own = np.zeros((len(train), n_classes))
                own[:, fitted.classes_] = fitted.predict_proba(matrix[train])
                scores[fold] = (float((own.argmax(axis=1) == y[train]).mean()),
                                log_loss(y[train], own))
        if keep_models:
            models[k] = fitted

    with threadpool_limits(1), warnings.catch_warnings(), \
            ThreadPoolExecutor(workers or fold_workers(n_folds)) as pool:
        warnings.simplefilter("ignore")  # rare classes (fewer members than folds), SGD passes
        futures = [pool.submit(fit_split, k, *split) for k, split in enumerate(splits)]
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()
            if done % model.repeats == 0:  # the progress counts n_folds steps
                advance(1)
    nan = float("nan")
    ordered = [scores[fold] for fold in sorted(scores)]
    return FoldFits(probabilities=np.asarray(probabilities.mean(axis=0)),
                    first_run=probabilities[0], fold_of=fold_of,
                    train_accuracy=float(np.mean([s[0] for s in ordered])) if ordered else nan,
                    train_loss=float(np.mean([s[1] for s in ordered])) if ordered else nan,
                    models=tuple(models) if keep_models else ())


def cross_validated(matrix: Any, y: np.ndarray, n_classes: int, n_folds: int, seed: int,
                    model: FoldModel, advance: Callable[[int], None], *,
                    workers: int | None = None,
                    exclude: np.ndarray | None = None) -> np.ndarray:
    """The averaged out-of-fold probabilities of `fold_fits`."""
    return fold_fits(matrix, y, n_classes, n_folds, seed, model, advance, workers=workers,
                     exclude=exclude).probabilities


def _out_of_fold(data: DatasetView, ctx: RunContext, title: str,
                 features: Callable[[np.ndarray, int], tuple[Any, FoldModel]],
                 *, workers: int | None = None, exclude: np.ndarray | None = None,
                 scored: bool = False, warm: OutOfFold | None = None) -> OutOfFold:
    """Shared frame: encode labels, build features for the labelled rows, cross-validate
    (records where `exclude`, a boolean per record, is set train no model). `scored`: keep
    the fold models and score them on their training rows; `warm`: an earlier result of the
    same probe on the same data whose kept models the fits start from."""
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
        fits = fold_fits(matrix, y[rows], len(classes), n_folds, ctx.seed, model, advance,
                         workers=workers, exclude=None if exclude is None else exclude[rows],
                         train_scores=scored, keep_models=scored,
                         warm=warm.models if warm is not None else ())
    probabilities[rows] = fits.probabilities
    first_run = probabilities
    if model.repeats > 1:
        first_run = np.full((data.n, len(classes)), np.nan)
        first_run[rows] = fits.first_run
    fold_of = np.full(data.n, -1, dtype=np.int64)
    fold_of[rows] = fits.fold_of
    return OutOfFold(probabilities=probabilities, classes=classes, labels=y, n_folds=n_folds,
                     model=model.name, repeats=model.repeats, first_run=first_run,
                     fold_of=fold_of, train_accuracy=fits.train_accuracy,
                     train_loss=fits.train_loss, models=fits.models)


# -- the probe's features -------------------------------------------------------------------------
def probe_sample(data: DatasetView, ctx: RunContext,
                 cap: int = PROBE_MAX_RECORDS) -> tuple[DatasetView, np.ndarray]:
    """The records the probe is fitted on and their positions in `data`: `data` itself, or
    a seeded sample of `cap` of its records (memoised as `probe_view`, so checks sharing the
    probe share the sample and the artifacts computed on it)."""
    if data.n <= cap:
        return data, np.arange(data.n, dtype=np.int64)

    def build() -> tuple[DatasetView, np.ndarray]:
        positions = np.sort(ctx.rng("probe_view").choice(data.n, cap, replace=False))
        return data.take(positions), positions

    return ctx.memo(f"probe_view:{cap}", build, data)


def probe_view(data: DatasetView, ctx: RunContext, cap: int = PROBE_MAX_RECORDS) -> DatasetView:
    """The records the probe is fitted on (`probe_sample` without the positions)."""
    return probe_sample(data, ctx, cap)[0]


def feature_cap(n_classes: int) -> int:
    """Most features per vectoriser (word, char) for `n_classes` classes (MAX_WEIGHTS)."""
    return int(min(MAX_FEATURES, max(5_000, MAX_WEIGHTS // (2 * max(2, n_classes)))))


@dataclass(frozen=True)
class ProbeFeatures:
    """The probe's TF-IDF of every record's classifier text (one CSR row per record, float32)
    and the fitted vectoriser, to put new texts in the same columns."""

    matrix: Any
    vectorizer: TextTfidf
    chars: bool  # char 2-4-grams included (short texts)
    field: str  # the column vectorised
    word_min_df: int = 1  # texts a word n-gram must occur in

    @property
    def description(self) -> str:
        words = "TF-IDF word 1-2-grams" + (f" (in {self.word_min_df}+ records)"
                                           if self.word_min_df > 1 else "")
        return words + (" + char 2-4-grams" if self.chars else "")


def vectorise(texts: Iterable[str] | TokenizedTexts, n_classes: int, field: str = "text"
              ) -> ProbeFeatures:
    """The probe's TF-IDF fitted on `texts` (or their tokens), at most `feature_cap(n_classes)`
    features per vectoriser. Texts averaging at most CHAR_NGRAM_MAX_WORDS words: word 1-2-grams
    and char 2-4-grams (in 2+ texts). Longer texts: word 1-2-grams in 2+ texts (of more than
    50): a term of one text cannot carry a label to any held-out text, and the many such
    bigrams of long texts only widen the model. Raises SkipCheck when the texts hold too few
    words or characters to vectorise."""
    tokens = texts if isinstance(texts, TokenizedTexts) else tokenize_texts(texts)
    chars = len(tokens.ids) <= CHAR_NGRAM_MAX_WORDS * max(tokens.n, 1)
    word_min_df = 1 if chars or tokens.n <= 50 else 2
    try:
        matrix, fitted = fit_tfidf(tokens, chars=chars, max_features=feature_cap(n_classes),
                                   word_min_df=word_min_df)
    except ValueError as exc:  # no word, or no character n-gram in two records
        raise SkipCheck("the texts hold too few words or characters for a probe to learn "
                        f"from ({exc})") from None
    return ProbeFeatures(matrix=matrix, vectorizer=fitted, chars=chars, field=field,
                         word_min_df=word_min_df)


@artifact("probe_features")
def probe_features(data: DatasetView, ctx: RunContext) -> ProbeFeatures:
    """`vectorise` on every record's classifier text (unsupervised: fitting on held-out
    texts too sees no label), for the data's number of classes."""
    field = classifier_field(data)
    classes = encode_labels(data.labels)[0] if data.has_labels else ()
    return vectorise(text_tokens(data, ctx, field), len(classes), field)


def tfidf_fold_model(matrix: Any, y: np.ndarray, seed: int) -> FoldModel:
    """The per-fold model of the TF-IDF probe on the labelled rows of `matrix` (labels `y`,
    -1 for none): `linear_model` for the work of one fold's fit."""
    rows = np.flatnonzero(y >= 0)
    n_classes = len(np.unique(y[rows]))
    vectors = 1 if n_classes <= 2 else n_classes
    nnz = matrix.nnz if len(rows) == matrix.shape[0] else int(np.diff(matrix.indptr)[rows].sum())
    return linear_model(seed, nnz * (1 - 1 / fold_count(len(rows))) * vectors)


@artifact("oof_predictions")
def out_of_fold_predictions(data: DatasetView, ctx: RunContext, *,
                            exclude: np.ndarray | None = None,
                            warm: OutOfFold | None = None) -> OutOfFold:
    """Probe probabilities on `probe_features` (its rows sliced), one linear model per fold;
    the fold models are kept and scored on their training rows. With `warm` (this probe's
    result on the same data), each fold's fit starts from that result's model of the fold."""

    def features(rows: np.ndarray, n_classes: int) -> tuple[Any, FoldModel]:
        matrix = ctx.artifact("probe_features", data).matrix
        model = tfidf_fold_model(matrix, encode_labels(data.labels)[1], ctx.seed)
        return (matrix if len(rows) == data.n else matrix[rows]), model

    return _out_of_fold(data, ctx, "Out-of-fold predictions", features, exclude=exclude,
                        scored=True, warm=warm)


@artifact("oof_embedding_predictions")
def out_of_fold_embedding_predictions(data: DatasetView, ctx: RunContext, *,
                                      exclude: np.ndarray | None = None,
                                      warm: OutOfFold | None = None) -> OutOfFold:
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
                                      exclude: np.ndarray | None = None,
                                      warm: OutOfFold | None = None) -> OutOfFold:
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
                          exclude: np.ndarray | None = None,
                          warm: OutOfFold | None = None) -> OutOfFold:
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
#: out of training (`exclude`), starting from the first fit's models where it kept them
#: (`warm`; the other probes ignore it)
PROBE_FITS: dict[str, Callable[..., OutOfFold]] = {
    "oof_predictions": out_of_fold_predictions,
    "oof_embedding_predictions": out_of_fold_embedding_predictions,
    "oof_finetuned_predictions": out_of_fold_finetuned_predictions,
    "oof_neighbour_predictions": neighbour_predictions,
}
