"""The vectorised MinHash/LSH helpers, tested directly (datasketch as the reference)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.shared import minhash as mh


def shingle_arrays(texts: list[str], unit: mh.Unit = "word", k: int = 3
                   ) -> tuple[np.ndarray, np.ndarray]:
    return mh.shingles(mh.normalize_column(pa.array(texts)), unit, k)


def test_segment_hashes_equal_segments_hash_equal_and_differ_otherwise() -> None:
    data = np.frombuffer(b"abcabcabd", dtype=np.uint8)
    hashes = mh.segment_hashes(data, np.array([0, 3, 6, 9, 9]))
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]
    assert hashes[3] != hashes[0]  # empty segment


def test_word_tokens_ignore_case_and_punctuation() -> None:
    tokens, offsets = mh.token_arrays(mh.normalize_column(pa.array(
        ["Hello, World!", "hello world", "hello  there", "", None])), "word")
    assert offsets.tolist() == [0, 2, 4, 6, 6, 6]
    assert tokens[0:2].tolist() == tokens[2:4].tolist()
    assert tokens[4] == tokens[0] and tokens[5] != tokens[1]


def test_unicode_words_are_kept() -> None:
    _tokens, offsets = mh.token_arrays(mh.normalize_column(pa.array(["Ça va, élève?"])), "word")
    assert offsets.tolist() == [0, 3]


def test_kgram_counts_short_records_and_strict_mode() -> None:
    tokens = np.arange(1, 8, dtype=np.uint64)  # records of 5 and 2 tokens
    offsets = np.array([0, 5, 7])
    values, out = mh.kgram_hashes(tokens, offsets, 3)
    assert len(set(values.tolist())) == 4
    assert out.tolist() == [0, 3, 4]  # 5 - 3 + 1 windows, then one partial shingle
    _values, out = mh.kgram_hashes(tokens, offsets, 3, partial=False)
    assert out.tolist() == [0, 3, 3]


def test_char_shingles_count_code_points() -> None:
    _values, offsets = shingle_arrays(["abcdé", "ab"], "char", 3)
    assert np.diff(offsets).tolist() == [3, 1]


def test_minhash_matches_datasketch_estimates() -> None:
    from datasketch import MinHash

    rng = np.random.default_rng(0)
    perms = mh.make_permutations(256, seed=1)
    errors_ours, errors_ref = [], []
    for overlap in (0.2, 0.5, 0.8, 0.95):
        universe = rng.integers(0, 2**63, size=400, dtype=np.uint64)
        shared = int(200 * overlap)
        a = universe[:200]
        b = np.concatenate([universe[:shared], universe[200:400 - shared]])
        true = len(np.intersect1d(a, b)) / len(np.union1d(a, b))
        sig = mh.minhash(np.concatenate([a, b]), np.array([0, len(a), len(a) + len(b)]), perms)
        ours = float(mh.estimated_jaccard(sig[0], sig[1]))
        ref_a, ref_b = MinHash(num_perm=256, seed=1), MinHash(num_perm=256, seed=1)
        ref_a.update_batch([int(v).to_bytes(8, "little") for v in a])
        ref_b.update_batch([int(v).to_bytes(8, "little") for v in b])
        ref = ref_a.jaccard(ref_b)
        errors_ours.append(abs(ours - true))
        errors_ref.append(abs(ref - true))
        assert abs(ours - ref) < 0.12
    assert np.mean(errors_ours) < 0.06
    assert np.mean(errors_ours) < np.mean(errors_ref) + 0.03


def test_minhash_empty_record_gets_max_hash() -> None:
    sig = mh.minhash(np.array([5], dtype=np.uint64) << np.uint64(40), np.array([0, 0, 1]),
                     mh.make_permutations(16, 0))
    assert (sig[0] == mh.MAX_HASH).all() and not (sig[1] == mh.MAX_HASH).all()


def test_minhash_blocks_do_not_change_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    values, offsets = shingle_arrays([f"record {i} " + "word " * (i % 7) + f"tail {i * 3}"
                                      for i in range(50)])
    perms = mh.make_permutations(32, 3)
    whole = mh.minhash(values, offsets, perms)
    monkeypatch.setattr(mh, "BLOCK_SHINGLES", 4)
    assert np.array_equal(whole, mh.minhash(values, offsets, perms))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=60, unique=True))
def test_signature_ignores_order_and_repeats(values: list[int]) -> None:
    perms = mh.make_permutations(32, 0)
    array = np.array(values, dtype=np.uint64)
    shuffled = np.concatenate([array[::-1], array[: len(array) // 2]])
    sig = mh.minhash(np.concatenate([array, shuffled]),
                     np.array([0, len(array), len(array) + len(shuffled)]), perms)
    assert np.array_equal(sig[0], sig[1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sets(st.integers(0, 40), max_size=25), min_size=2, max_size=6))
def test_jaccard_of_pairs_equals_set_jaccard(sets: list[set[int]]) -> None:
    values = np.concatenate([np.array(sorted(s), dtype=np.uint64) for s in sets])
    offsets = np.concatenate(([0], np.cumsum([len(s) for s in sets])))
    pairs = np.array([(i, j) for i in range(len(sets)) for j in range(len(sets))])
    got = mh.jaccard_of_pairs(values, offsets, values, offsets, pairs, max_block=7)
    for (i, j), value in zip(pairs, got, strict=True):
        union = sets[i] | sets[j]
        assert value == pytest.approx(len(sets[i] & sets[j]) / len(union) if union else 0.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 9), max_size=12), min_size=1, max_size=8))
def test_unique_per_record(records: list[list[int]]) -> None:
    values = np.array([v for r in records for v in r], dtype=np.uint64)
    offsets = np.concatenate(([0], np.cumsum([len(r) for r in records])))
    out, out_offsets = mh.unique_per_record(values, offsets)
    for i, record in enumerate(records):
        assert out[out_offsets[i]:out_offsets[i + 1]].tolist() == sorted(set(record))


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
def test_optimal_bands_match_datasketch(threshold: float) -> None:
    from datasketch.lsh import _optimal_param

    assert mh.optimal_bands(threshold, 128) == _optimal_param(threshold, 128, 0.5, 0.5)


def test_candidate_pairs_within_and_across_sets() -> None:
    keys = np.array([[1, 10], [2, 20], [1, 30], [3, 20], [4, 40]], dtype=np.uint64)
    assert mh.candidate_pairs(keys).tolist() == [[0, 2], [1, 3]]
    other = np.array([[9, 40], [3, 99]], dtype=np.uint64)
    assert mh.candidate_pairs(keys, other_keys=other).tolist() == [[3, 1], [4, 0]]


def stacked_candidate_pairs(keys: np.ndarray, other_keys: np.ndarray | None = None,
                            max_all_pairs: int = 16) -> np.ndarray:
    """candidate_pairs as it was before it read the bands one at a time: every band's pairs
    gathered, then deduplicated once (the reference the banded version must equal)."""
    n = keys.shape[0]
    found = []
    for band in range(keys.shape[1]):
        column = keys[:, band] if other_keys is None else np.concatenate(
            [keys[:, band], other_keys[:, band]])
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        boundary = np.flatnonzero(np.diff(ordered) != 0) + 1
        starts = np.concatenate(([0], boundary))
        sizes = np.diff(np.concatenate((starts, [len(ordered)])))
        big = sizes > 1
        if not big.any():
            continue
        pairs = mh._bucket_pairs(order, starts[big], sizes[big], max_all_pairs)
        if other_keys is not None:
            pairs = pairs[(pairs[:, 0] < n) != (pairs[:, 1] < n)]
            pairs = np.sort(pairs, axis=1)
            pairs[:, 1] -= n
        found.append(pairs)
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    if other_keys is None:
        pairs = np.sort(pairs, axis=1)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    width = np.int64(max(n, 1) if other_keys is None else max(len(other_keys), 1))
    codes = np.unique(pairs[:, 0] * width + pairs[:, 1])
    return np.stack([codes // width, codes % width], axis=1)


@pytest.mark.parametrize("seed", range(8))
def test_band_by_band_candidates_equal_the_stacked_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, bands = int(rng.integers(0, 400)), int(rng.integers(1, 13))
    # few distinct keys per band: buckets of every size, some above max_all_pairs
    keys = rng.integers(0, int(rng.integers(1, 60)), size=(n, bands)).astype(np.uint64)
    other = rng.integers(0, 60, size=(int(rng.integers(0, 50)), bands)).astype(np.uint64)
    for max_all_pairs in (2, 16):
        expected = stacked_candidate_pairs(keys, max_all_pairs=max_all_pairs)
        assert np.array_equal(mh.candidate_pairs(keys, max_all_pairs=max_all_pairs), expected)
        banded = mh.banded_candidate_pairs((keys[:, b].copy() for b in range(bands)), n,
                                           max_all_pairs=max_all_pairs)
        assert banded.dtype == np.int64 and np.array_equal(banded, expected)
        assert np.array_equal(
            mh.candidate_pairs(keys, other_keys=other, max_all_pairs=max_all_pairs),
            stacked_candidate_pairs(keys, other, max_all_pairs))


def test_equal_runs_of_a_sorted_array() -> None:
    starts, sizes = mh.equal_runs(np.array([1, 2, 2, 3, 4, 4, 4, 5, 6, 6]))
    assert starts.tolist() == [1, 4, 8] and sizes.tolist() == [2, 3, 2]
    assert [a.tolist() for a in mh.equal_runs(np.array([7]))] == [[], []]
    assert [a.tolist() for a in mh.equal_runs(np.array([7, 7]))] == [[0], [2]]
    assert [a.tolist() for a in mh.equal_runs(np.array([1, 2, 3]))] == [[], []]


def test_large_buckets_are_bounded_but_connected() -> None:
    keys = np.zeros((100, 1), dtype=np.uint64)
    pairs = mh.candidate_pairs(keys, max_all_pairs=16)
    assert len(pairs) < 300
    assert (mh.component_labels(100, pairs) == 0).all()


def test_component_labels_are_first_member() -> None:
    labels = mh.component_labels(6, np.array([[4, 2], [2, 5], [0, 1]]))
    assert labels.tolist() == [0, 0, 2, 3, 2, 2]


def test_near_identical_texts_collide_in_lsh_and_unrelated_do_not() -> None:
    base = " ".join(f"w{i}" for i in range(100))
    edited = base.replace("w50", "changed")
    other = " ".join(f"x{i}" for i in range(100))
    values, offsets = shingle_arrays([base, edited, other])
    signatures = mh.minhash(values, offsets, mh.make_permutations(128, 0))
    pairs = mh.candidate_pairs(mh.band_keys(signatures, *mh.optimal_bands(0.6, 128)))
    assert pairs.tolist() == [[0, 1]]
