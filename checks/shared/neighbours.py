"""Nearest labelled records and their label votes: a probe that trains no model.

A record whose given label disagrees with the labels of the records most like it is a label
error candidate (the k-nearest-neighbour view of label noise). Its errors differ from a
linear model's: it sees one record's closest relatives (a phrase and the longer phrases that
contain it, paraphrases, templated questions), where a linear model sees weights learned over
all records. The probabilities it gives, averaged with a trained probe's, rank label errors
better than either (benchmarks/results/label_noise_neighbours.md).

Similarity is cosine on word TF-IDF (1-2-grams in at least two records); terms in more than
MAX_DF of the records (TERM_RECORDS in small data) are dropped: they say little about which
records are close, and they make the all-pairs product costly. The product runs a chunk of
rows at a time against all records (sparse), so memory stays linear; time grows with the
number of record pairs that share a kept term (figures: benchmarks.label_noise --neighbours).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: neighbours that vote
K = 5
#: terms in more than this share of the records (or TERM_RECORDS, whichever is more) are not
#: used for similarity: a larger share costs time for no better ranking, while small sets
#: (short questions) need their common words, hence the floor of TERM_RECORDS records
MAX_DF = 0.005
TERM_RECORDS = 100
#: rows per chunk of the all-pairs product
CHUNK = 2_000


def neighbour_matrix(texts: Sequence[str]) -> Any:
    """L2-normalised word TF-IDF rows for similarity (see MAX_DF), float32 CSR."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2,
                                 max_df=min(1.0, max(MAX_DF, TERM_RECORDS / max(1, len(texts)))),
                                 sublinear_tf=True, dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no term in two records: no neighbours at all
        from scipy import sparse

        return sparse.csr_matrix((len(texts), 1), dtype=np.float32)


def nearest(matrix: Any, voters: np.ndarray, k: int = K,
            advance: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For every row of `matrix`, the `k` most similar other rows among `voters` (a boolean
    per row) and their cosine similarities, most similar first; -1 and 0 fill the places of a
    row with fewer than `k` similar voters. Ties go to the lower row index. `advance(1)` is
    called after each chunk of CHUNK rows."""
    n = matrix.shape[0]
    neighbours = np.full((n, k), -1, dtype=np.int64)
    similarities = np.zeros((n, k), dtype=np.float32)
    candidates = matrix[voters].T.tocsr()
    voter_rows = np.flatnonzero(voters)
    for start in range(0, n, CHUNK):
        product = (matrix[start:start + CHUNK] @ candidates).tocsr()
        product.sum_duplicates()  # also sorts each row's columns: ties keep the lower index
        rows = np.repeat(np.arange(product.shape[0]), np.diff(product.indptr))
        columns = voter_rows[product.indices]
        keep = (columns != rows + start) & (product.data > 0)  # not itself
        rows, columns, values = rows[keep], columns[keep], product.data[keep]
        # by row, then most similar first: one stable sort of a single key (cosine <= 1 + eps;
        # much faster than a three-key lexsort)
        order = np.argsort(rows * 4.0 + (2.0 - values.astype(np.float64)), kind="stable")
        rows, columns, values = rows[order], columns[order], values[order]
        first = np.searchsorted(rows, rows, side="left")
        rank = np.arange(len(rows)) - first
        top = rank < k
        neighbours[start + rows[top], rank[top]] = columns[top]
        similarities[start + rows[top], rank[top]] = values[top]
        if advance is not None:
            advance(1)
    return neighbours, similarities


def neighbour_votes(neighbours: np.ndarray, similarities: np.ndarray, labels: np.ndarray,
                    n_classes: int) -> np.ndarray:
    """Class probabilities from the similarity-weighted labels of each row's neighbours, with
    one pseudo-vote spread evenly over the classes (a row without neighbours gets the uniform
    distribution: no opinion)."""
    votes = np.full((len(neighbours), n_classes), 1.0 / n_classes)
    has = neighbours >= 0
    rows = np.broadcast_to(np.arange(len(neighbours))[:, None], neighbours.shape)
    np.add.at(votes, (rows[has], labels[neighbours[has]]), similarities[has])
    return np.asarray(votes / votes.sum(axis=1, keepdims=True))
