"""Record content hashes: stable, order-free over columns, sensitive to every value."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import load_dataset
from audit.hashing import NULL_HASH, array_hashes, table_hashes, text_hash


def test_strings_hash_to_their_blake2b_digest() -> None:
    expected = int.from_bytes(hashlib.blake2b(b"caf\xc3\xa9", digest_size=8).digest(), "little")
    assert text_hash("café") == expected
    assert array_hashes(pa.array(["café"])).tolist() == [expected]


def test_null_and_empty_differ_and_numbers_hash_as_text() -> None:
    hashes = array_hashes(pa.array(["", None, "1"])).tolist()
    assert hashes[1] == int(NULL_HASH) and hashes[0] != hashes[1]
    assert array_hashes(pa.array([1])).tolist() == [hashes[2]]


def test_column_order_does_not_matter_but_column_names_do() -> None:
    one = pa.table({"a": ["x", "y"], "b": [1, 2]})
    assert table_hashes(one).tolist() == table_hashes(one.select(["b", "a"])).tolist()
    renamed = pa.table({"a": ["x", "y"], "c": [1, 2]})
    assert table_hashes(one).tolist() != table_hashes(renamed).tolist()
    swapped = pa.table({"a": [1, 2], "b": ["x", "y"]})
    assert table_hashes(pa.table({"a": ["x"], "b": ["1"]}))[0] != table_hashes(
        pa.table({"a": ["1"], "b": ["x"]}))[0]
    assert len(set(table_hashes(swapped).tolist())) == 2


def test_nested_values_hash_by_content_and_position() -> None:
    turns = pa.array([
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        [{"role": "user", "content": "yo"}, {"role": "assistant", "content": "hi"}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        [], None])
    hashes = array_hashes(turns).tolist()
    assert hashes[0] == hashes[2] and hashes[0] != hashes[1]
    assert len({hashes[0], hashes[1], hashes[3], hashes[4]}) == 4
    sliced = array_hashes(turns.slice(2, 2)).tolist()
    assert sliced == hashes[2:4]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=20),
                          st.one_of(st.none(), st.integers(-(2 ** 63), 2 ** 63 - 1))),
                min_size=1, max_size=20))
def test_equal_rows_hash_equal_and_distinct_rows_differ(rows: list[tuple[str, int | None]]
                                                        ) -> None:
    table = pa.table({"text": [r[0] for r in rows], "n": pa.array([r[1] for r in rows],
                                                                   pa.int64())})
    hashes = table_hashes(table).tolist()
    for i, a in enumerate(rows):
        for j, b in enumerate(rows):
            assert (hashes[i] == hashes[j]) == (a == b)


def test_dataset_hashes_content_and_key() -> None:
    records = [{"prompt": "q1", "response": "a1"}, {"prompt": "q1", "response": "a2"},
               {"prompt": "q2", "response": "a1"}]
    view = load_dataset(records)
    assert view.key_hashes[0] == view.key_hashes[1] != view.key_hashes[2]
    assert len(set(view.content_hashes.tolist())) == 3
    again = load_dataset(list(reversed(records)))
    assert sorted(again.content_hashes.tolist()) == sorted(view.content_hashes.tolist())
    assert isinstance(view.content_hashes, np.ndarray)
