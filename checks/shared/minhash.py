"""Vectorised MinHash + LSH: small pure numpy functions over batches of records.

Pipeline (every step works on a batch of records at once, never per record in Python):

1. `normalize_column` (pyarrow): NFKC, lower case, whitespace collapsed.
2. `token_arrays`: word tokens (letters/digits/underscore/combining marks, via pyarrow; runs of
   Chinese, Japanese, Thai... characters become their character bigrams, as
   `checks.shared.text.segment` does) hashed to uint64 with a vectorised polynomial hash
   (`segment_hashes`), or Unicode code points for character shingles; both as one flat array
   plus per-record offsets.
3. `kgram_hashes`: k-token shingles hashed to uint64 (a record shorter than k tokens is one
   shingle).
4. `minhash`: 32 bits of the 64-bit shingle hash are permuted with multiply-add-shift
   `((a * x + b) mod 2**64) >> 32` for `num_perm` (a, b) pairs; the minimum per record comes
   from `np.minimum.reduceat`. Chunked so the (shingles x permutations) block stays small.
5. `band_keys` + `candidate_pairs`: the banding LSH (b bands of r rows, `optimal_bands` picks
   b, r for a Jaccard threshold); records sharing a bucket in any band are candidates.
6. `jaccard_of_pairs`: the true Jaccard of the candidates' shingle sets (sorted, vectorised),
   to drop LSH false positives; `component_labels` clusters the kept pairs.

`shingle_batches` streams a text column in batches, so shingles of all records are never held
in memory at once (1M records need only the signatures' band keys).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from checks.shared.text import MARK_RANGES, UNSPACED_CLASS

Unit = Literal["word", "char"]

MAX_HASH = np.uint32((1 << 32) - 1)  # signature value of a record with no shingles
_POLY = np.uint64(0x100000001B3)  # FNV prime: multiplier of the polynomial hashes
_U64 = np.uint64
#: shingles per minhash block (block = shingles x permutations x 8 bytes)
BLOCK_SHINGLES = 1 << 14
#: records per streamed batch
BATCH_RECORDS = 4096


# ---------------------------------------------------------------------------------------------
# hashing
# ---------------------------------------------------------------------------------------------
def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a fast, well-mixed bijection of uint64 values."""
    z = x.astype(np.uint64, copy=True)
    z += _U64(0x9E3779B97F4A7C15)
    z ^= z >> _U64(30)
    z *= _U64(0xBF58476D1CE4E5B9)
    z ^= z >> _U64(27)
    z *= _U64(0x94D049BB133111EB)
    z ^= z >> _U64(31)
    return z


def _powers(n: int) -> np.ndarray:
    """_POLY ** k mod 2**64 for k in [0, n)."""
    powers = np.full(max(n, 1), _POLY, dtype=np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


def segment_hashes(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """64-bit hash of each segment data[offsets[i]:offsets[i+1]] (bytes or code points).

    A polynomial hash (mod 2**64) of the values + 1, finalised by splitmix64; empty segments
    hash like each other. Vectorised with np.add.reduceat.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    lengths = np.diff(offsets)
    out = np.zeros(n, dtype=np.uint64)
    nonempty = lengths > 0
    if data.size and nonempty.any():
        segment = np.repeat(np.arange(n), lengths)
        position_from_end = offsets[1:][segment] - 1 - np.arange(offsets[0], offsets[-1])
        terms = (data[offsets[0]:offsets[-1]].astype(np.uint64) + _U64(1)) * _powers(
            int(lengths.max()))[position_from_end]
        starts = offsets[:-1][nonempty] - offsets[0]
        out[nonempty] = np.add.reduceat(terms, starts)
    out += lengths.astype(np.uint64)
    return splitmix64(out)


# ---------------------------------------------------------------------------------------------
# tokens and shingles
# ---------------------------------------------------------------------------------------------
def normalize_column(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """NFKC, lower case, whitespace collapsed to single spaces and stripped (nulls become '')."""
    text = pc.utf8_lower(pc.utf8_normalize(pc.fill_null(column, ""), form="NFKC"))
    text = pc.binary_join(pc.utf8_split_whitespace(text), " ")
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return text.cast(pa.large_string())


def _buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64, data uint8) of a string or large_string array."""
    if array.offset:
        array = pa.concat_arrays([array.slice(0, 0), array])
    large = pa.types.is_large_string(array.type)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64 if large else np.int32)
    offsets = offsets[: len(array) + 1].astype(np.int64)
    data_buffer = array.buffers()[2]
    data = (np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None
            else np.zeros(0, dtype=np.uint8))
    return offsets, data


def token_arrays(normalized: pa.Array, unit: Unit) -> tuple[np.ndarray, np.ndarray]:
    """Tokens of each (normalised) text as uint64 values, flat, with per-record offsets.

    word: runs of letters, digits, underscore and combining marks (Unicode), each hashed to
    uint64; a run of characters of an unspaced script (Chinese, Japanese, Thai...) gives the
    hashes of its character bigrams instead (`checks.shared.text.segment`).
    char: Unicode code points (spaces included, already collapsed).
    """
    if unit == "char":
        points, lengths = code_points(normalized)
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        return splitmix64(points.astype(np.uint64)), offsets
    spaced = pc.replace_substring_regex(normalized, r"[^\pL\pN\pM_ ]", " ")
    unspaced = bool(pc.any(pc.match_substring_regex(spaced, f"[{UNSPACED_CLASS}]")).as_py())
    if unspaced:  # unspaced runs become words of their own ("使用python" -> "使用 python")
        spaced = pc.replace_substring_regex(spaced, f"([{UNSPACED_CLASS}]+)", " \\1 ")
    words = pc.split_pattern(spaced, " ")
    if isinstance(words, pa.ChunkedArray):
        words = words.combine_chunks()
    list_offsets = np.asarray(words.offsets, dtype=np.int64)
    list_offsets = list_offsets - list_offsets[0]
    flat = words.flatten()
    keep = np.asarray(pc.binary_length(flat).to_numpy(zero_copy_only=False)) > 0  # no ""
    encoded = flat.dictionary_encode()  # hash each distinct word once
    offsets, data = _buffers(encoded.dictionary)
    distinct = segment_hashes(data, offsets)
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))[keep]
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    if not unspaced:
        return distinct[indices], kept_before[list_offsets]
    # each distinct unspaced run -> its bigram hashes; every occurrence takes its run's list
    is_run = np.asarray(pc.match_substring_regex(encoded.dictionary, f"^[{UNSPACED_CLASS}]")
                        .to_numpy(zero_copy_only=False), dtype=bool)
    run_rows = np.flatnonzero(is_run)
    bigram_values, bigram_offsets = run_bigram_hashes(
        encoded.dictionary.take(pa.array(run_rows, pa.int64())))
    count = np.ones(len(distinct), dtype=np.int64)
    count[run_rows] = np.diff(bigram_offsets)
    start = np.zeros(len(distinct), dtype=np.int64)
    start[run_rows] = bigram_offsets[:-1]
    per_token = count[indices]
    expanded = _segment_positions(start[indices], per_token)
    source = np.repeat(indices, per_token)
    hashes = distinct[source]
    from_run = is_run[source]
    hashes[from_run] = bigram_values[expanded[from_run]]
    tokens_before = np.concatenate(([0], np.cumsum(per_token)))
    return hashes, tokens_before[kept_before[list_offsets]]


def code_points(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The Unicode code points of each string (uint32, flat) and the count per string."""
    offsets, data = _buffers(strings)
    lengths = pc.utf8_length(strings).to_numpy(zero_copy_only=False).astype(np.int64)
    used = data[offsets[0]:offsets[-1]]
    points = np.frombuffer(used.tobytes().decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
    return points, lengths


def _mark_table() -> np.ndarray:
    """is-combining-mark for every code point of the Basic Multilingual Plane."""
    table = np.zeros(0x10000, dtype=bool)
    for first, last in MARK_RANGES:
        table[first:last + 1] = True
    return table


_MARKS = _mark_table()


def run_bigram_hashes(runs: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the character bigrams of each run (flat, with per-run offsets).

    A character keeps the combining marks that follow it (a unit); a run of u units gives
    u - 1 bigrams, a run of one unit one token (as `checks.shared.text.bigrams`). Equal
    bigrams get equal hashes, whatever the run.
    """
    points, lengths = code_points(runs)
    n = len(lengths)
    if not len(points):
        return np.zeros(0, dtype=np.uint64), np.zeros(n + 1, dtype=np.int64)
    first_of_run = np.concatenate(([0], np.cumsum(lengths)[:-1]))[lengths > 0]
    starts = ~_MARKS[np.minimum(points, 0xFFFF)] | (points > 0xFFFF)
    starts[first_of_run] = True
    unit_starts = np.flatnonzero(starts)
    unit_hash = segment_hashes(points, np.append(unit_starts, len(points)))
    run_of_unit = np.repeat(np.arange(n), lengths)[unit_starts]
    units = np.bincount(run_of_unit, minlength=n)
    last = np.concatenate((run_of_unit[1:] != run_of_unit[:-1], [True]))
    pair = splitmix64(unit_hash[:-1] * _POLY + unit_hash[1:])
    single = units[run_of_unit] == 1  # a one-unit run: the unit itself
    values = np.where(single, unit_hash, np.append(pair, _U64(0)))[~last | single]
    counts = np.maximum(units - 1, 0) + (units == 1)
    return values, np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def kgram_hashes(tokens: np.ndarray, offsets: np.ndarray, k: int, *,
                 partial: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the k-token windows of each record (flat) with per-record offsets.

    Tokens must be well-mixed uint64 hashes. A record with 1..k-1 tokens yields one shingle of
    all its tokens when `partial`, none otherwise; an empty record none.
    """
    if k < 1:
        raise ValueError("shingle size must be >= 1")
    offsets = np.asarray(offsets, dtype=np.int64)
    n_tokens = len(tokens)
    lengths = np.diff(offsets)
    if n_tokens == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(offsets), dtype=np.int64)
    combined = tokens.astype(np.uint64, copy=True)
    for j in range(1, min(k, n_tokens)):  # polynomial over the window, in place
        head = combined[: n_tokens - j]
        head *= _POLY
        head += tokens[j:]
    record = np.repeat(np.arange(len(lengths)), lengths)
    valid = np.arange(n_tokens) + k <= offsets[1:][record]
    if partial:
        short = np.flatnonzero((lengths > 0) & (lengths < k))
        if len(short):
            starts = offsets[short]
            partial_hash = tokens[starts].astype(np.uint64)
            for j in range(1, k):
                inside = j < lengths[short]
                more = partial_hash * _POLY + tokens[np.minimum(starts + j, n_tokens - 1)]
                partial_hash = np.where(inside, more, partial_hash)
            combined[starts] = partial_hash
            valid[starts] = True
    counts = np.bincount(record[valid], minlength=len(lengths))
    return splitmix64(combined[valid]), np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def shingles(normalized: pa.Array, unit: Unit, k: int, *,
             partial: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes (uint64, flat) and per-record offsets of a batch of normalised texts."""
    tokens, offsets = token_arrays(normalized, unit)
    return kgram_hashes(tokens, offsets, k, partial=partial)


def shingle_batches(column: pa.Array | pa.ChunkedArray, unit: Unit, k: int, *,
                    batch_records: int = BATCH_RECORDS, partial: bool = True
                    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(first row, shingle hashes, offsets) per batch of `batch_records` rows of a raw text
    column, normalised batch by batch (the whole column is never normalised at once)."""
    for start in range(0, len(column), batch_records):
        batch = normalize_column(column.slice(start, batch_records))
        values, offsets = shingles(batch, unit, k, partial=partial)
        yield start, values, offsets


def text_hashes(column: pa.Array | pa.ChunkedArray, *,
                batch_records: int = BATCH_RECORDS * 4) -> np.ndarray:
    """A 64-bit hash of each normalised text (0 for an empty text), computed batch by batch:
    equal hashes mean exact duplicates after normalisation."""
    out = np.zeros(len(column), dtype=np.uint64)
    for start in range(0, len(column), batch_records):
        hashes = normalized_hashes(normalize_column(column.slice(start, batch_records)))
        out[start:start + len(hashes)] = hashes
    return out


def normalized_hashes(normalized: pa.Array) -> np.ndarray:
    """64-bit hash of each already-normalised text; 0 for an empty one."""
    offsets, data = _buffers(normalized)
    hashes = segment_hashes(data, offsets)
    hashes[np.diff(offsets) == 0] = 0
    return hashes


def unique_per_record(values: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each record's values sorted and deduplicated (flat, with new offsets)."""
    lengths = np.diff(offsets)
    record = np.repeat(np.arange(len(lengths)), lengths)
    order = np.lexsort((values, record))
    values, record = values[order], record[order]
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = (values[1:] != values[:-1]) | (record[1:] != record[:-1])
    counts = np.bincount(record[keep], minlength=len(lengths))
    return values[keep], np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# MinHash
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Permutations:
    """`num_perm` hash functions x -> ((a * x + b) mod 2**64) >> 32 for 32-bit x.

    Multiply-add-shift (Dietzfelbinger 1996): a 2-independent family, like (a * x + b) mod p
    over a prime, but without the modular reduction, which costs numpy five times the rest
    of the MinHash; estimates are checked against datasketch's in the tests.
    """

    a: np.ndarray  # uint64, odd
    b: np.ndarray  # uint64

    @property
    def num_perm(self) -> int:
        return len(self.a)


def make_permutations(num_perm: int, seed: int) -> Permutations:
    rng = np.random.default_rng([seed, 0x6D696E68])
    a = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * _U64(2) + _U64(1)
    return Permutations(a=a, b=rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * _U64(2))


def minhash(values: np.ndarray, offsets: np.ndarray, perms: Permutations) -> np.ndarray:
    """MinHash signatures (n_records x num_perm, uint32) of the shingle sets given flat.

    Computed in blocks of (num_perm x shingles), minimum per record with np.minimum.reduceat
    along the contiguous axis. A record without shingles gets MAX_HASH in every position.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n = len(offsets) - 1
    signatures = np.full((n, perms.num_perm), MAX_HASH, dtype=np.uint32)
    x = values >> _U64(32)  # the high 32 bits of the 64-bit shingle hash
    a, b = perms.a[:, None], perms.b[:, None]
    lengths = np.diff(offsets)
    record = 0
    while record < n:
        # records [record, stop) whose shingles fit one block (at least one record)
        limit = offsets[record] + BLOCK_SHINGLES
        stop = max(record + 1, int(np.searchsorted(offsets, limit, side="right")) - 1)
        stop = min(stop, n)
        block = a * x[None, offsets[record]:offsets[stop]]
        block += b
        nonempty = np.flatnonzero(lengths[record:stop] > 0)
        if len(nonempty):
            starts = offsets[record:stop][nonempty] - offsets[record]
            # the minimum of the top 32 bits is the top 32 bits of the minimum
            low = np.minimum.reduceat(block, starts, axis=1) >> _U64(32)
            signatures[record + nonempty] = low.T
        record = stop
    return signatures


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Fraction of equal signature positions (last axis): the MinHash Jaccard estimate."""
    return np.asarray(np.mean(sig_a == sig_b, axis=-1), dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# LSH
# ---------------------------------------------------------------------------------------------
def optimal_bands(threshold: float, num_perm: int, *, fp_weight: float = 0.5,
                  fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm minimising the weighted sum of the
    false-positive area (Jaccard < threshold) and false-negative area (>= threshold) under
    the S-curve 1 - (1 - s**r)**b: the standard calculation (as in datasketch)."""
    below = np.linspace(0.0, threshold, 201)
    above = np.linspace(threshold, 1.0, 201)
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = np.trapezoid(1 - (1 - below ** rows) ** bands, below)
            fn = np.trapezoid((1 - above ** rows) ** bands, above)
            error = float(fp_weight * fp + fn_weight * fn)
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One uint64 bucket key per record and band (n_records x bands)."""
    n = signatures.shape[0]
    keys = np.zeros((n, bands), dtype=np.uint64)
    for band in range(bands):
        part = signatures[:, band * rows:(band + 1) * rows].astype(np.uint64)
        key = np.full(n, _U64(band), dtype=np.uint64)
        for column in range(rows):
            key = splitmix64(key * _POLY + part[:, column])
        keys[:, band] = key
    return keys


def _bucket_pairs(members: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                  max_all_pairs: int) -> np.ndarray:
    """Pairs inside buckets: all pairs for buckets up to `max_all_pairs` members, else each
    member with the first and with its neighbour (sorted order), to bound the count."""
    out = [np.zeros((0, 2), dtype=np.int64)]
    for size in np.unique(sizes):
        first = starts[sizes == size]
        if size <= max_all_pairs:
            i, j = np.triu_indices(int(size), k=1)
            out.append(np.stack([members[first[:, None] + i].ravel(),
                                 members[first[:, None] + j].ravel()], axis=1))
        else:
            offsets = np.arange(1, int(size))
            out.append(np.stack([members[np.repeat(first, size - 1)],
                                 members[(first[:, None] + offsets).ravel()]], axis=1))
            out.append(np.stack([members[(first[:, None] + offsets - 1).ravel()],
                                 members[(first[:, None] + offsets).ravel()]], axis=1))
    return np.concatenate(out)


def equal_runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of each run of 2+ equal values of a sorted array, in order."""
    if len(ordered) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    same = ordered[1:] == ordered[:-1]  # a value equal to the one after it
    # a run covers a stretch of True in `same` and one position more
    starts = np.flatnonzero(same & ~np.concatenate(([False], same[:-1])))
    ends = np.flatnonzero(same & ~np.concatenate((same[1:], [False]))) + 2
    return starts, ends - starts


def candidate_pairs(keys: np.ndarray, *, other_keys: np.ndarray | None = None,
                    max_all_pairs: int = 16) -> np.ndarray:
    """Unique (i, j) pairs sharing a bucket in at least one band.

    With `other_keys`, pairs (i in keys, j in other_keys) across two sets; else i < j within
    one set.
    """
    if other_keys is None:
        return banded_candidate_pairs((keys[:, band] for band in range(keys.shape[1])),
                                      keys.shape[0], max_all_pairs=max_all_pairs)
    return banded_candidate_pairs(
        (np.concatenate([keys[:, band], other_keys[:, band]]) for band in range(keys.shape[1])),
        keys.shape[0], n_other=len(other_keys), max_all_pairs=max_all_pairs)


def banded_candidate_pairs(columns: Iterable[np.ndarray], n: int, *, n_other: int | None = None,
                           max_all_pairs: int = 16) -> np.ndarray:
    """`candidate_pairs` from the band keys given one band at a time: each of `columns` is one
    band's keys of the n records (followed, with `n_other`, by the other set's), so the keys
    of every band need not be held in one array. Each band's pairs are reduced to their
    unique codes before the next band is read."""
    width = np.int64(max(n, 1) if n_other is None else max(n_other, 1))
    found = [np.zeros(0, dtype=np.int64)]
    for column in columns:
        order = np.argsort(column, kind="stable")
        starts, sizes = equal_runs(column[order])
        del column
        if not len(starts):
            continue
        pairs = _bucket_pairs(order, starts, sizes, max_all_pairs)
        del order
        if n_other is not None:
            pairs = pairs[(pairs[:, 0] < n) != (pairs[:, 1] < n)]
            pairs = np.sort(pairs, axis=1)
            pairs[:, 1] -= n
        else:
            pairs = np.sort(pairs, axis=1)
            pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        found.append(np.unique(pairs[:, 0] * width + pairs[:, 1]))
    codes = np.unique(np.concatenate(found))
    return np.stack([codes // width, codes % width], axis=1)


# ---------------------------------------------------------------------------------------------
# verification and clustering
# ---------------------------------------------------------------------------------------------
def jaccard_of_pairs(values_a: np.ndarray, offsets_a: np.ndarray, values_b: np.ndarray,
                     offsets_b: np.ndarray, pairs: np.ndarray, *,
                     max_block: int = 1 << 22) -> np.ndarray:
    """True Jaccard of the sets values_a[record i] and values_b[record j] for each (i, j).

    Each record's values must be unique (see `unique_per_record`). Two empty sets: 0.
    """
    result = np.zeros(len(pairs), dtype=np.float64)
    if not len(pairs):
        return result
    len_a = np.diff(offsets_a)[pairs[:, 0]]
    len_b = np.diff(offsets_b)[pairs[:, 1]]
    cost = np.cumsum(len_a + len_b)
    start = 0
    while start < len(pairs):
        stop = max(start + 1, int(np.searchsorted(cost, cost[start] + max_block, side="left")))
        chunk = np.arange(start, stop)
        la, lb = len_a[chunk], len_b[chunk]
        owner = np.concatenate([np.repeat(chunk - start, la), np.repeat(chunk - start, lb)])
        gather_a = _segment_positions(offsets_a[pairs[chunk, 0]], la)
        gather_b = _segment_positions(offsets_b[pairs[chunk, 1]], lb)
        joined = np.concatenate([values_a[gather_a], values_b[gather_b]])
        order = np.lexsort((joined, owner))
        joined, owner = joined[order], owner[order]
        same = (joined[1:] == joined[:-1]) & (owner[1:] == owner[:-1])
        intersection = np.bincount(owner[1:][same], minlength=len(chunk))
        union = la + lb - intersection
        result[chunk] = np.where(union > 0, intersection / np.maximum(union, 1), 0.0)
        start = stop
    return result


def _segment_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenated ranges [start, start + length) for each segment."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return np.arange(total, dtype=np.int64) + shift


def component_labels(n: int, pairs: np.ndarray) -> np.ndarray:
    """Cluster label per node: the smallest node of its connected component (union-find
    result over the pairs), so the label is the first record in input order."""
    if not len(pairs):
        return np.arange(n, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                       shape=(n, n))
    _, component = connected_components(graph, directed=False)
    first = np.full(component.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, component, np.arange(n, dtype=np.int64))
    return first[component]
