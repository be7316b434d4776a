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
#: folds for out-of-fold predictions
N_FOLDS = 5


def classifier_text(data: DatasetView) -> tuple[str, ...]:
    """The text a label is predicted from: the prompt (the text of text+label data)."""
    return data.prompts if data.has_prompt else data.texts("text")


def make_text_classifier(seed: int, **overrides: Any) -> Any:
    """The probe model: TF-IDF word 1-2-grams + char 2-4-grams, multinomial logistic regression.

    Small, fast, well calibrated enough for cleanlab, and deterministic for `seed`.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=1, max_features=200_000,
                                 sublinear_tf=True, dtype=np.float32)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2,
                                 max_features=200_000, sublinear_tf=True, dtype=np.float32)),
    ])
    params = {"C": 4.0, "max_iter": 300, "random_state": seed}
    params.update(overrides)
    return Pipeline([("features", features), ("model", LogisticRegression(**params))])


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold class probabilities for every record (rows aligned with the data)."""

    probabilities: np.ndarray  # (n_records, n_classes)
    classes: tuple[str, ...]
    labels: np.ndarray  # (n_records,) index of each record's given label in `classes`
    n_folds: int


def encode_labels(labels: tuple[str | None, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    classes = tuple(sorted({label for label in labels if label is not None}))
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index.get(label, -1) if label is not None else -1
                              for label in labels], dtype=np.int64)


@artifact("oof_predictions")
def out_of_fold_predictions(data: DatasetView, ctx: RunContext) -> OutOfFold:
    """Probe-classifier probabilities from stratified k-fold cross-validation (seeded)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    classes, y = encode_labels(data.labels)
    texts = list(classifier_text(data))
    counts = np.bincount(y, minlength=len(classes))
    n_folds = int(min(N_FOLDS, max(2, counts.min() if len(counts) else 2)))
    if len(classes) < 2 or len(texts) < 2 * n_folds:
        raise ValueError("out-of-fold predictions need at least two classes and "
                         f"{2 * n_folds} records")
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=ctx.seed)
    with ctx.progress("Out-of-fold predictions", None):
        probabilities = cross_val_predict(make_text_classifier(ctx.seed), texts, y, cv=cv,
                                          method="predict_proba")
    return OutOfFold(probabilities=np.asarray(probabilities, dtype=np.float64), classes=classes,
                     labels=y, n_folds=n_folds)


@artifact("tfidf")
def tfidf_vectors(data: DatasetView, ctx: RunContext) -> Any:
    """L2-normalised TF-IDF (word 1-2-grams) of each record's full text, as a sparse matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = data.texts("text")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2 if len(texts) > 50 else 1,
                                 max_features=262_144, sublinear_tf=True, dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts)
    except ValueError:  # empty vocabulary (no words at all)
        from scipy import sparse

        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)


@artifact("lsa")
def lsa_vectors(data: DatasetView, ctx: RunContext) -> np.ndarray:
    """Dense, L2-normalised LSA vectors (truncated SVD of `tfidf`), float32, seeded."""
    from sklearn.decomposition import TruncatedSVD

    matrix = ctx.artifact("tfidf", data)
    n_components = min(LSA_COMPONENTS, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if n_components < 1:
        dense = np.asarray(matrix.todense(), dtype=np.float32)
    else:
        dense = TruncatedSVD(n_components=n_components, random_state=ctx.seed,
                             algorithm="randomized").fit_transform(matrix).astype(np.float32)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return dense / norms
