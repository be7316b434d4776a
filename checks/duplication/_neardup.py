"""Exact and near-duplicate detection pipelines shared by the duplication and leakage checks.

Exact: strings are dictionary-encoded by pyarrow (a C++ hash table), so equal strings get equal
integer codes without per-record Python. Near: `checks.shared.minhash` (MinHash + banding LSH),
candidates verified against the true Jaccard of their shingle sets, recomputed only for the
candidate records. Within one set (`near_duplicates`) or across two (`cross_near_pairs`, for
train/eval leakage).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from checks.shared import minhash as mh


# ---------------------------------------------------------------------------------------------
# exact
# ---------------------------------------------------------------------------------------------
def string_codes(strings: Sequence[str] | pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An int64 code per string, equal for equal strings; -1 for empty (or null) strings."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    array = strings if isinstance(strings, pa.Array) else pa.array(list(strings), pa.large_string())
    array = pc.fill_null(array, "")
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    encoded = array.dictionary_encode()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    empty = np.asarray(pc.binary_length(encoded.dictionary).to_numpy(zero_copy_only=False)) == 0
    return np.where(empty[codes], -1, codes)


def hash_codes(hashes: np.ndarray) -> np.ndarray:
    """Dense int64 codes of 64-bit text hashes (`checks.shared.minhash.text_hashes`); -1 for 0
    (empty text)."""
    _, inverse = np.unique(hashes, return_inverse=True)
    return np.where(hashes == 0, -1, inverse.astype(np.int64))


def combine_codes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One code per (first, second) pair; -1 where both are -1 (both empty)."""
    both_empty = (first < 0) & (second < 0)
    width = np.int64(max(int(second.max(initial=0)) + 2, 1))
    combined = (first + 1) * width + (second + 1)
    return np.where(both_empty, -1, combined)


def first_occurrence_labels(codes: np.ndarray) -> np.ndarray:
    """Per record, the position of the first record with the same code (itself when unique
    or when its code is -1)."""
    n = len(codes)
    labels = np.arange(n, dtype=np.int64)
    valid = np.flatnonzero(codes >= 0)
    if not len(valid):
        return labels
    _, first, inverse = np.unique(codes[valid], return_index=True, return_inverse=True)
    labels[valid] = valid[first][inverse]
    return labels


def first_occurrence_of_hash(*hashes: np.ndarray) -> np.ndarray:
    """`first_occurrence_labels` of the hashes' codes (`hash_codes`; for several arrays,
    the codes of their tuples, as `combine_codes`) from one sort, with fewer temporary
    arrays: per record, the position of the first record with the same hash (or tuple of
    hashes); itself when unique or when every hash is 0 (empty texts)."""
    n = len(hashes[0])
    # stable: each hash's first position comes first
    order = np.argsort(hashes[0], kind="stable") if len(hashes) == 1 else \
        np.lexsort(hashes[::-1])
    first = np.zeros(n, dtype=bool)
    first[:1] = True
    for values in hashes:
        ordered = values[order]
        first[1:] |= ordered[1:] != ordered[:-1]
        del ordered
    start = np.arange(n)  # per sorted position, that of its hash's first occurrence
    start[~first] = 0
    del first
    np.maximum.accumulate(start, out=start)
    np.take(order, start, out=start)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = start
    del order, start
    empty = np.flatnonzero(np.logical_and.reduce([values == 0 for values in hashes]))
    labels[empty] = empty
    return labels


@dataclass(frozen=True)
class Clusters:
    """Groups of 2+ positions sharing a label, largest first (ties: earliest first)."""

    members: tuple[np.ndarray, ...]

    @property
    def n_removable(self) -> int:
        return sum(len(m) - 1 for m in self.members)

    def sizes(self) -> dict[str, int]:
        counts: dict[int, int] = {}
        for m in self.members:
            counts[len(m)] = counts.get(len(m), 0) + 1
        return {str(size): counts[size] for size in sorted(counts)}


def clusters_from_labels(labels: np.ndarray) -> Clusters:
    """Clusters (sorted position arrays) of records sharing a label; singletons left out."""
    order = np.argsort(labels, kind="stable")
    starts, sizes = mh.equal_runs(labels[order])
    groups = [np.sort(order[start:start + size]) for start, size in zip(starts, sizes,
                                                                         strict=True)]
    groups.sort(key=lambda g: (-len(g), int(g[0])))
    return Clusters(members=tuple(groups))


def merge_labels(*labelings: np.ndarray) -> np.ndarray:
    """Labels of the finest partition coarser than all given ones (union of clusterings)."""
    n = len(labelings[0])
    positions = np.arange(n, dtype=np.int64)
    edges = np.concatenate([np.stack([positions, lab], axis=1) for lab in labelings])
    edges = edges[edges[:, 0] != edges[:, 1]]
    return mh.component_labels(n, edges)


# ---------------------------------------------------------------------------------------------
# near
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NearConfig:
    """How texts are compared: shingles, Jaccard threshold and MinHash/LSH sizes."""

    unit: mh.Unit = "word"
    size: int = 3
    threshold: float = 0.8
    num_perm: int = 64
    #: LSH tuned for threshold - margin, so pairs just above the threshold are rarely missed
    lsh_margin: float = 0.25

    @property
    def bands_rows(self) -> tuple[int, int]:
        return _bands(max(0.05, self.threshold - self.lsh_margin), self.num_perm)


@lru_cache(maxsize=64)
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    return mh.optimal_bands(threshold, num_perm)


@dataclass(frozen=True)
class NearResult:
    """Verified near-duplicate pairs (positions, i < j), their Jaccard, and cluster labels."""

    pairs: np.ndarray  # (m, 2) int64 positions
    jaccard: np.ndarray  # (m,) float64
    labels: np.ndarray  # (n,) int64: first position of the record's cluster
    keys: np.ndarray  # (n, bands) uint64 LSH bucket keys of every row (for cross-set lookups)
    n_candidates: int
    bands: int
    rows: int


def lsh_keys(column: pa.Array | pa.ChunkedArray, config: NearConfig, seed: int,
             *, hashes: np.ndarray | None = None) -> np.ndarray:
    """Band keys (n x bands) of each text of a raw column, streamed in batches (only the keys
    are kept, so memory grows by bands x 8 bytes per record).

    With `hashes` (a uint64 array of len(column)), also fills in the 64-bit hash of each
    normalised text (0 when empty, as `checks.shared.minhash.text_hashes`) from the same pass.
    """
    bands, rows = config.bands_rows
    perms = mh.make_permutations(config.num_perm, seed)
    keys = np.zeros((len(column), bands), dtype=np.uint64)
    for start in range(0, len(column), mh.BATCH_RECORDS):
        batch = mh.normalize_column(column.slice(start, mh.BATCH_RECORDS))
        values, offsets = mh.shingles(batch, config.unit, config.size)
        signatures = mh.minhash(values, offsets, perms)
        keys[start:start + len(offsets) - 1] = mh.band_keys(signatures, bands, rows)
        if hashes is not None:
            hashes[start:start + len(offsets) - 1] = mh.normalized_hashes(batch)
    return keys


def _unique_shingles(column: pa.Array | pa.ChunkedArray, rows: np.ndarray,
                     config: NearConfig) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique shingles of the given rows only (flat, offsets aligned with `rows`)."""
    subset = mh.normalize_column(column.take(pa.array(rows, pa.int64())))
    values, offsets = mh.shingles(subset, config.unit, config.size)
    return mh.unique_per_record(values, offsets)


def verify_pairs(column_a: pa.Array | pa.ChunkedArray, column_b: pa.Array | pa.ChunkedArray,
                 pairs: np.ndarray, config: NearConfig) -> np.ndarray:
    """True Jaccard of each candidate (row in a, row in b) of two raw text columns, shingles
    recomputed only for the candidate rows."""
    if not len(pairs):
        return np.zeros(0, dtype=np.float64)
    rows_a, index_a = np.unique(pairs[:, 0], return_inverse=True)
    rows_b, index_b = np.unique(pairs[:, 1], return_inverse=True)
    values_a, offsets_a = _unique_shingles(column_a, rows_a, config)
    if column_b is column_a and np.array_equal(rows_a, rows_b):
        values_b, offsets_b = values_a, offsets_a
    else:
        values_b, offsets_b = _unique_shingles(column_b, rows_b, config)
    local = np.stack([index_a.ravel(), index_b.ravel()], axis=1)
    return mh.jaccard_of_pairs(values_a, offsets_a, values_b, offsets_b, local)


def near_duplicates(column: pa.Array | pa.ChunkedArray, config: NearConfig, seed: int, *,
                    hashes: np.ndarray | None = None, keys: np.ndarray | None = None
                    ) -> NearResult:
    """Near-duplicate pairs and clusters of one raw text column.

    Texts identical after normalisation (equal `hashes`, computed when not given) are
    clustered directly and only their first occurrence takes part in LSH and verification.
    Empty texts are never duplicates. `keys`: the column's `lsh_keys`, when known (they are
    updated in place).
    """
    n = len(column)
    if hashes is None:
        hashes = np.zeros(n, dtype=np.uint64)
        keys = lsh_keys(column, config, seed, hashes=hashes)
    elif keys is None:
        keys = lsh_keys(column, config, seed)
    exact_labels, candidates = near_candidates(hashes, keys, config)
    jaccard = verify_pairs(column, column, candidates, config)
    return near_clusters(exact_labels, candidates, jaccard, keys, config)


def near_candidates(hashes: np.ndarray, keys: np.ndarray, config: NearConfig
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(exact-duplicate labels, candidate pairs of positions) from the records' normalised
    text hashes and LSH band keys. Only the first of identical texts is a candidate; empty
    texts get keys of their own (`keys` is updated in place), so they never collide."""
    isolate_empty(keys, hashes == 0, config)  # hash 0: an empty text (`hash_codes` -1)
    return banded_near_candidates(hashes, lambda band: keys[:, band], keys.shape[1])


def banded_near_candidates(hashes: np.ndarray, band_keys: Callable[[int], np.ndarray],
                           bands: int) -> tuple[np.ndarray, np.ndarray]:
    """`near_candidates` with the band keys read one band at a time: `band_keys(band)` gives
    that band's key of every record (e.g. concatenated from the batches' partials), so the
    keys of all bands are never copied together. Empty texts take no part (they are never
    candidates), so their keys need no isolating."""
    exact_labels = first_occurrence_of_hash(hashes)
    distinct = np.flatnonzero((exact_labels == np.arange(len(hashes))) & (hashes != 0))
    if len(distinct) < 2:
        return exact_labels, np.zeros((0, 2), dtype=np.int64)
    pairs = mh.banded_candidate_pairs((band_keys(band)[distinct] for band in range(bands)),
                                      len(distinct))
    return exact_labels, distinct[pairs]


def isolate_empty(keys: np.ndarray, empty: np.ndarray, config: NearConfig) -> None:
    """Give the rows without text band keys of their own, in place: they never collide."""
    bands, _ = config.bands_rows
    keys[empty] = mh.splitmix64(np.arange(int(empty.sum()) * bands, dtype=np.uint64)
                                + np.uint64(0xE3)).reshape(-1, bands)


def near_clusters(exact_labels: np.ndarray, candidates: np.ndarray, jaccard: np.ndarray,
                  keys: np.ndarray, config: NearConfig) -> NearResult:
    """Verified pairs (Jaccard >= threshold) and the clusters of verified and exact pairs."""
    pairs, kept, labels = verified_clusters(exact_labels, candidates, jaccard, config)
    bands, rows = config.bands_rows
    return NearResult(pairs=pairs, jaccard=kept, labels=labels, keys=keys,
                      n_candidates=len(candidates), bands=bands, rows=rows)


def verified_clusters(exact_labels: np.ndarray, candidates: np.ndarray, jaccard: np.ndarray,
                      config: NearConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(verified pairs, their Jaccard, cluster labels of verified and exact pairs)."""
    n = len(exact_labels)
    keep = jaccard >= config.threshold
    pairs, kept = candidates[keep], jaccard[keep]
    copies = np.flatnonzero(exact_labels != np.arange(n))
    exact_edges = np.stack([copies, exact_labels[copies]], axis=1)
    return pairs, kept, mh.component_labels(n, np.concatenate([pairs, exact_edges]))


def unique_shingles(column: pa.Array | pa.ChunkedArray, rows: np.ndarray,
                    config: NearConfig) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique shingles of the given rows (flat values, offsets aligned with `rows`)."""
    return _unique_shingles(column, rows, config)


def cross_near_pairs(column_a: pa.Array | pa.ChunkedArray, column_b: pa.Array | pa.ChunkedArray,
                     config: NearConfig, seed: int, *, keys_b: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Verified pairs (row in a, row in b) of two raw text columns with Jaccard >= threshold,
    and their Jaccard.

    `keys_b`: LSH keys of b computed before with the same config and seed (e.g.
    `NearResult.keys`), to avoid hashing b twice.
    """
    if not len(column_a) or not len(column_b):
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    if keys_b is None:
        keys_b = lsh_keys(column_b, config, seed)
    candidates = mh.candidate_pairs(lsh_keys(column_a, config, seed), other_keys=keys_b)
    jaccard = verify_pairs(column_a, column_b, candidates, config)
    keep = jaccard >= config.threshold
    return candidates[keep], jaccard[keep]
