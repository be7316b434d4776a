"""Shared vector features and the small probe classifier, as memoised artifacts.

One way to compute each: TF-IDF vectors (`tfidf`), LSA vectors (`lsa`), and the probe text
classifier (`make_text_classifier`) used by the bias and overfitting checks and, out of fold,
by the label checks (checks/_probe.py). scikit-learn is imported inside the functions, so
importing this module stays cheap.
"""

from __future__ import annotations

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
#: most TF-IDF features per vectorizer (word, char)
MAX_FEATURES = 200_000


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


def encode_labels(labels: tuple[str | None, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    classes = tuple(sorted({label for label in labels if label is not None}))
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index.get(label, -1) if label is not None else -1
                              for label in labels], dtype=np.int64)


@artifact("tfidf")
def tfidf_vectors(data: DatasetView, ctx: RunContext) -> Any:
    """L2-normalised TF-IDF (words) of each record's full text, as a sparse matrix.

    Single words, not bigrams: counting bigrams costs several times as much, for vectors used
    to compare topics (LSA, neighbours, clusters), where word order adds little.
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
    (the topic axes of such a sample are stable, and the fit costs a fraction).
    """
    from sklearn.decomposition import TruncatedSVD

    matrix = ctx.artifact("tfidf", data, store=False)  # kept only if a check asked for it
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
        dense = svd.transform(matrix).astype(np.float32, copy=False)
    del matrix
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    dense /= norms
    return dense
