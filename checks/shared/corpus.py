"""Token corpora and the vectorised maths behind the diversity, overfitting and advisory checks.

A `TokenCorpus` is a sample of records tokenised once into flat integer ids with per-record
offsets, so n-gram counting, distinct-n, MATTR and boilerplate spans are numpy operations rather
than per-record Python. Pure functions, no heavy imports; tested in tests/checks/test_diversity.py.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.context import cheap_to_recompute
from checks.shared.text import arrow_words, tokens_of, words

# tokenising a capped sample again costs less than keeping its readers in one process
cheap_to_recompute("diversity_tokens")

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

#: multipliers for rolling n-gram hashes (odd 64-bit constants; overflow wraps deterministically)
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9,
                 0x2545F4914F6CDD1D, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1, 0x510E527FADE682D1],
                dtype=np.uint64)
MAX_NGRAM = len(_MIX)


@cache
def load_json_lexicon(path: Path) -> dict[str, Any]:
    """A project-authored JSON lexicon (a family's lexicons/<name>.json; cached, read-only)."""
    with open(path, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@dataclass(frozen=True)
class TokenCorpus:
    """Word tokens of some records: `ids[offsets[i]:offsets[i+1]]` are record i's tokens."""

    ids: np.ndarray  # int64 token ids
    offsets: np.ndarray  # int64, length n_records + 1
    vocab: tuple[str, ...]
    positions: np.ndarray  # position (row) in the dataset of each record

    @property
    def n_records(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def record_of_token(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_records, dtype=np.int64), self.lengths)

    def tokens(self, record: int) -> list[str]:
        return [self.vocab[i] for i in self.ids[self.offsets[record]:self.offsets[record + 1]]]


def tokenize(texts: Sequence[str], positions: np.ndarray | None = None) -> TokenCorpus:
    """Tokenise `texts` with `checks.shared.text.words` into a `TokenCorpus` (ids by first appearance)."""
    tokens, lengths = tokens_of(texts, words, arrow_words)
    encoded = tokens.dictionary_encode()  # ids in order of first appearance
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    pos = np.arange(len(texts), dtype=np.int64) if positions is None else np.asarray(positions)
    return TokenCorpus(ids=np.asarray(encoded.indices.to_numpy(zero_copy_only=False),
                                      dtype=np.int64), offsets=offsets,
                       vocab=tuple(encoded.dictionary.to_pylist()), positions=pos)


def sample_positions(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    """All positions when n <= cap, else `cap` positions drawn without replacement (sorted)."""
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    return np.sort(rng.choice(n, size=cap, replace=False)).astype(np.int64)


def corpus_for(data: DatasetView, ctx: RunContext, field: str, cap: int) -> TokenCorpus:
    """The tokenised sample (at most `cap` records, seeded) of a text column, memoised per run."""

    def build() -> TokenCorpus:
        positions = sample_positions(data.n, cap, ctx.rng(f"diversity_sample:{cap}"))
        return tokenize(data.texts(field, positions), positions)

    return ctx.memo(f"diversity_tokens:{field}:{cap}", build, data)


def sample_view(data: DatasetView, ctx: RunContext, cap: int) -> tuple[DatasetView, np.ndarray]:
    """The dataset itself when n <= cap, else a seeded sample of `cap` records (memoised, so
    checks sharing a cap share the sample and the artifacts computed on it)."""
    if data.n <= cap:
        return data, np.arange(data.n, dtype=np.int64)

    def build() -> tuple[DatasetView, np.ndarray]:
        positions = sample_positions(data.n, cap, ctx.rng(f"diversity_sample:{cap}"))
        return data.take(positions), positions

    return ctx.memo(f"diversity_view:{cap}", build, data)


def ngram_hashes(corpus: TokenCorpus, n: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every word n-gram inside a record, and the record index of each.

    Equal n-grams get equal hashes (collisions are negligible at 64 bits).
    """
    if not 1 <= n <= MAX_NGRAM:
        raise ValueError(f"n must be in 1..{MAX_NGRAM}")
    ids = corpus.ids.astype(np.uint64) + np.uint64(1)
    starts = corpus.offsets[:-1]
    lengths = corpus.lengths
    valid = np.maximum(lengths - n + 1, 0)
    if ids.size < n or valid.sum() == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    record = np.repeat(np.arange(corpus.n_records, dtype=np.int64), valid)
    # start index of every valid n-gram: record start + rank within the record
    first = np.repeat(starts - np.cumsum(valid) + valid, valid) + np.arange(valid.sum())
    hashes = np.zeros(len(first), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            hashes = (hashes ^ (ids[first + k] * _MIX[k])) * _MIX[(k + 5) % MAX_NGRAM]
    return hashes, record


def distinct_n(corpus: TokenCorpus, n: int) -> float:
    """Distinct n-grams / all n-grams (NaN without n-grams). Falls with corpus size: compare
    datasets at equal sample sizes."""
    hashes, _ = ngram_hashes(corpus, n)
    return float(len(np.unique(hashes)) / len(hashes)) if len(hashes) else float("nan")


def _stable_order(values: np.ndarray) -> np.ndarray:
    """Positions sorted by value, equal values in position order (numpy sorts 16-bit ids with
    a radix sort, faster than a two-key lexsort)."""
    if len(values) and values.min() >= 0 and values.max() < 2**16:
        values = values.astype(np.uint16)
    return np.argsort(values, kind="stable")


def mattr(ids: np.ndarray, window: int = 100, max_windows: int = 20_000) -> float:
    """Moving-average type-token ratio over the token stream (windows evenly sampled).

    Length-robust unlike a plain TTR: each window of `window` tokens gives distinct/`window`.
    NaN when the stream is shorter than one window.
    """
    n = len(ids)
    if n < window:
        return float("nan")
    order = _stable_order(ids)
    previous = np.full(n, -1, dtype=np.int64)
    same = ids[order[1:]] == ids[order[:-1]]
    previous[order[1:][same]] = order[:-1][same]
    starts = np.unique(np.linspace(0, n - window, num=min(max_windows, n - window + 1))
                       .astype(np.int64))
    offsets = starts[:, None] + np.arange(window)[None, :]
    # a token is the first of its type in the window when its previous occurrence lies before it
    first_in_window = previous[offsets] < starts[:, None]
    return float(first_in_window.sum(axis=1).mean() / window)


def compression_ratio(texts: Sequence[str], max_bytes: int = 4_000_000) -> float:
    """Raw bytes / zlib-compressed bytes of the texts joined (first `max_bytes`).

    Higher means more repeated text; natural English sits near 2.5-3.5. NaN when empty.
    """
    raw = "\n".join(texts).encode("utf-8")[:max_bytes]
    if not raw:
        return float("nan")
    return len(raw) / len(zlib.compress(raw, 6))


def document_frequency(hashes: np.ndarray, record: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                        np.ndarray]:
    """Distinct hashes, how many records contain each, and one record holding each."""
    if not len(hashes):
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), empty, empty
    order = np.lexsort((record, hashes))
    h, r = hashes[order], record[order]
    keep = np.ones(len(h), dtype=bool)
    keep[1:] = (h[1:] != h[:-1]) | (r[1:] != r[:-1])
    h, r = h[keep], r[keep]
    unique, first, counts = np.unique(h, return_index=True, return_counts=True)
    return unique, counts, r[first]


def entropy_effective_number(counts: np.ndarray) -> float:
    """exp(Shannon entropy) of a count distribution: the effective number of categories."""
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts > 0]
    if not len(counts):
        return float("nan")
    p = counts / counts.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def vendi_score(vectors: Any) -> float:
    """Vendi score of L2-normalised vectors (dense or sparse): exp entropy of the eigenvalues of
    K/n with K the cosine-similarity matrix.

    Between 1 (all identical) and n (all orthogonal): the effective number of distinct items.
    """
    n = vectors.shape[0]
    if n == 0:
        return float("nan")
    if hasattr(vectors, "toarray"):  # sparse: the n x n Gram matrix
        gram = np.asarray((vectors @ vectors.T).toarray(), dtype=np.float64) / n
    else:
        x = np.asarray(vectors, dtype=np.float64)
        # the non-zero eigenvalues of X X^T / n equal those of X^T X / n (cheaper if dims < n)
        gram = x.T @ x / n if x.shape[1] < n else x @ x.T / n
    eig = np.linalg.eigvalsh(gram)
    eig = eig[eig > 1e-12]
    return float(np.exp(-(eig * np.log(eig)).sum())) if len(eig) else float("nan")


def snippet(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
