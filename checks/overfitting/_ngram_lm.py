"""A small smoothed bigram language model over token ids, fitted and scored with numpy.

Interpolated Kneser-Ney (absolute discount D) with an add-one continuation distribution over
a fixed vocabulary (every id that will be scored), so unseen words and contexts get a non-zero
probability and losses of models fitted on different amounts of data are comparable. Each
record is one sequence framed by BOS/EOS, so bigrams never cross records. Used by
`overfitting_risk` as the proxy model of generative data: held-out vs training cross-entropy,
learning curves, probe perplexity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from checks.shared.features import positions_in

BOS = 0
EOS = 1
#: token ids are shifted by this many reserved ids (BOS, EOS)
RESERVED = 2


@dataclass(frozen=True)
class Bigrams:
    """Next-token predictions of some records: (prev, cur) pairs and the record of each."""

    prev: np.ndarray
    cur: np.ndarray
    record: np.ndarray  # index into the records the pairs were built from

    def take(self, records: np.ndarray) -> Bigrams:
        mask = np.isin(self.record, records, kind="table")  # linear in the records
        return Bigrams(self.prev[mask], self.cur[mask], self.record[mask])


def bigrams(ids: np.ndarray, offsets: np.ndarray) -> Bigrams:
    """Framed bigrams of records given as flat token ids (0-based) and offsets."""
    n_records = len(offsets) - 1
    lengths = np.diff(offsets)
    record_of_token = np.repeat(np.arange(n_records, dtype=np.int64), lengths)
    total = len(ids) + n_records  # every record predicts its tokens and EOS
    token_slot = np.arange(len(ids), dtype=np.int64) + record_of_token
    cur = np.full(total, EOS, dtype=np.int64)
    cur[token_slot] = ids + RESERVED
    prev = np.full(total, BOS, dtype=np.int64)
    prev[token_slot + 1] = ids + RESERVED
    record = np.repeat(np.arange(n_records, dtype=np.int64), lengths + 1)
    return Bigrams(prev, cur, record)


@dataclass(frozen=True)
class BigramLM:
    vocab_size: int
    keys: np.ndarray  # sorted distinct prev * vocab_size + cur
    counts: np.ndarray  # count of each key
    context_counts: np.ndarray  # c(prev)
    context_types: np.ndarray  # distinct words seen after prev
    continuation: np.ndarray  # smoothed continuation probability of each word
    discount: float

    def log_prob(self, pairs: Bigrams) -> np.ndarray:
        """Natural-log probability of each pair's `cur` given its `prev`."""
        if not len(pairs.cur):
            return np.zeros(0)
        where = positions_in(pairs.prev * self.vocab_size + pairs.cur, self.keys)
        pair_count = np.where(where >= 0, self.counts[where] if len(self.counts) else 0, 0)
        ctx_count = self.context_counts[pairs.prev].astype(np.float64)
        cont = self.continuation[pairs.cur]
        safe = np.maximum(ctx_count, 1.0)
        interpolated = (np.maximum(pair_count - self.discount, 0.0) / safe
                        + self.discount * self.context_types[pairs.prev] / safe * cont)
        return np.log(np.where(ctx_count > 0, interpolated, cont))


def fit_bigram_lm(pairs: Bigrams, vocab_size: int, discount: float = 0.75) -> BigramLM:
    """Fit on `pairs`; `vocab_size` covers every token id that will ever be scored."""
    size = vocab_size + RESERVED
    keys, counts = np.unique(pairs.prev * size + pairs.cur, return_counts=True)
    key_prev, key_cur = keys // size, keys % size
    context_counts = np.bincount(pairs.prev, minlength=size)
    context_types = np.bincount(key_prev, minlength=size)
    followers = np.bincount(key_cur, minlength=size).astype(np.float64)
    followers[BOS] = -1.0  # BOS is never predicted: no mass for it
    continuation = (followers + 1.0) / (len(keys) + size - 1.0)
    return BigramLM(vocab_size=size, keys=keys, counts=counts, context_counts=context_counts,
                    context_types=context_types, continuation=continuation, discount=discount)


def cross_entropy(lm: BigramLM, pairs: Bigrams) -> float:
    """Mean negative log-likelihood per predicted token (nats); NaN without tokens."""
    if not len(pairs.cur):
        return float("nan")
    return float(-lm.log_prob(pairs).mean())


def record_cross_entropy(lm: BigramLM, pairs: Bigrams, n_records: int) -> np.ndarray:
    """Mean negative log-likelihood per token of each record (NaN for records without pairs)."""
    nll = -lm.log_prob(pairs)
    total = np.bincount(pairs.record, weights=nll, minlength=n_records)
    count = np.bincount(pairs.record, minlength=n_records)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
