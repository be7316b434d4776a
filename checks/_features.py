"""Shared vector features and the small probe classifier, as memoised artifacts.

One way to compute each: TF-IDF vectors (`tfidf`), LSA vectors (`lsa`), and out-of-fold
predicted probabilities of the probe classifier (`oof_predictions`) used by the label-noise,
bias and overfitting checks. scikit-learn is imported inside the functions, so importing
this module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.context import artifact

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

#: LSA dimensions (fewer when the vocabulary is smaller)
LSA_COMPONENTS = 100
#: records the SVD is fitted on (a seeded sample when there are more)
LSA_FIT_SAMPLE = 20_000
#: folds for out-of-fold predictions (LARGE_N_FOLDS from LARGE_N labelled records on)
N_FOLDS = 5
LARGE_N = 40_000
LARGE_N_FOLDS = 3
#: most TF-IDF features per vectorizer (word, char)
MAX_FEATURES = 200_000
#: most model weights (features x classes): caps the features for many-class data, so the
#: L-BFGS cost per iteration stays bounded (banking77: 13k features per vectorizer; measured
#: there: 4M weights 30 s F1 0.781, 2M 20 s F1 0.786, 1M 15 s F1 0.775)
MAX_WEIGHTS = 2_000_000


def classifier_text(data: DatasetView) -> tuple[str, ...]:
    """The text a label is predicted from: the prompt (the text of text+label data)."""
    return data.prompts if data.has_prompt else data.texts("text")


def make_text_classifier(seed: int, **overrides: Any) -> Any:
    """The probe model: TF-IDF word 1-2-grams + char 2-4-grams, multinomial logistic regression.

    Small, fast, well calibrated enough for cleanlab, and deterministic for `seed`. `overrides`
    go to `LogisticRegression`. Fit it under `threadpoolctl.threadpool_limits(1)`: L-BFGS on
    sparse TF-IDF gains nothing from BLAS threads and slows down many-fold on shared cores.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=1, max_features=MAX_FEATURES,
                                 sublinear_tf=True, dtype=np.float32)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2,
                                 max_features=MAX_FEATURES, sublinear_tf=True,
                                 dtype=np.float32)),
    ])
    params = {"C": 4.0, "max_iter": 300, "tol": 1e-3, "random_state": seed}
    params.update(overrides)
    return Pipeline([("features", features), ("model", LogisticRegression(**params))])


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold class probabilities for every record (rows aligned with the data).

    Records without a label have label -1 and a row of NaN probabilities.
    """

    probabilities: np.ndarray  # (n_records, n_classes)
    classes: tuple[str, ...]
    labels: np.ndarray  # (n_records,) index of each record's given label in `classes`
    n_folds: int

    @property
    def labelled(self) -> np.ndarray:
        """Boolean mask of the records that have a label."""
        return np.asarray(self.labels >= 0)


def encode_labels(labels: tuple[str | None, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    classes = tuple(sorted({label for label in labels if label is not None}))
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index.get(label, -1) if label is not None else -1
                              for label in labels], dtype=np.int64)


def fold_count(n_labelled: int) -> int:
    """Folds for `n_labelled` records: 5, or 3 for large data (each fit is the costly part)."""
    folds = LARGE_N_FOLDS if n_labelled >= LARGE_N else N_FOLDS
    return int(min(folds, max(2, n_labelled // 2)))


def oof_feasible(data: DatasetView) -> str | None:
    """Why out-of-fold predictions cannot be computed for `data`, or None when they can."""
    classes, y = encode_labels(data.labels)
    if len(classes) < 2:
        return "out-of-fold predictions need at least two classes"
    n = int((y >= 0).sum())
    if n < 4:
        return f"out-of-fold predictions need at least 4 labelled records, got {n}"
    return None


@artifact("oof_predictions")
def out_of_fold_predictions(data: DatasetView, ctx: RunContext) -> OutOfFold:
    """Probe-classifier probabilities from stratified k-fold cross-validation (seeded).

    The TF-IDF vocabulary is fitted once on all labelled texts (unsupervised, no labels seen),
    then one logistic regression per fold is fitted on the other folds' rows.
    """
    import warnings

    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    reason = oof_feasible(data)
    if reason is not None:
        raise ValueError(reason)
    classes, y = encode_labels(data.labels)
    rows = np.flatnonzero(y >= 0)
    texts = classifier_text(data)
    y_rows = y[rows]
    n_folds = fold_count(len(rows))
    pipeline = make_text_classifier(ctx.seed)
    cap = int(min(MAX_FEATURES, max(5_000, MAX_WEIGHTS // (2 * len(classes)))))
    pipeline.set_params(features__word__max_features=cap, features__char__max_features=cap)
    features, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    probabilities = np.full((data.n, len(classes)), np.nan)
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=ctx.seed)
    with ctx.progress("Out-of-fold predictions", n_folds + 1) as advance, \
            threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rare classes (fewer members than folds), convergence
        matrix = features.fit_transform([texts[i] for i in rows]).tocsr()
        advance(1)
        fold_probabilities = np.zeros((len(rows), len(classes)))
        for train, test in cv.split(np.zeros(len(rows)), y_rows):
            fitted = clone(model).fit(matrix[train], y_rows[train])
            fold_probabilities[np.ix_(test, fitted.classes_)] = fitted.predict_proba(matrix[test])
            advance(1)
    probabilities[rows] = fold_probabilities
    return OutOfFold(probabilities=probabilities, classes=classes, labels=y, n_folds=n_folds)


@artifact("tfidf")
def tfidf_vectors(data: DatasetView, ctx: RunContext) -> Any:
    """L2-normalised TF-IDF (words) of each record's full text, as a sparse matrix.

    Single words, not bigrams: on 100k records of 150 words bigram counting took 39 s against
    6 s, for vectors used to compare topics (LSA, neighbours, clusters), where word order adds
    little.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = data.texts("text")
    vectorizer = TfidfVectorizer(min_df=2 if len(texts) > 50 else 1,
                                 max_features=262_144, sublinear_tf=True, dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary (no words at all)
        from scipy import sparse

        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)


@artifact("lsa")
def lsa_vectors(data: DatasetView, ctx: RunContext) -> np.ndarray:
    """Dense, L2-normalised LSA vectors (truncated SVD of `tfidf`), float32, seeded.

    The SVD is fitted on a seeded sample of at most LSA_FIT_SAMPLE records and applied to all
    (100k records: 1 s instead of 23 s; the topic axes of a 20k sample are stable).
    """
    from sklearn.decomposition import TruncatedSVD

    matrix = ctx.artifact("tfidf", data)
    n_components = min(LSA_COMPONENTS, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if n_components < 1:
        dense = np.asarray(matrix.todense(), dtype=np.float32)
    else:
        svd = TruncatedSVD(n_components=n_components, random_state=ctx.seed,
                           algorithm="randomized")
        if matrix.shape[0] > LSA_FIT_SAMPLE:
            rows = np.sort(ctx.rng("lsa").choice(matrix.shape[0], LSA_FIT_SAMPLE, replace=False))
            svd.fit(matrix[rows])
        else:
            svd.fit(matrix)
        dense = svd.transform(matrix).astype(np.float32)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return dense / norms
