"""Stable 64-bit content hashes of records, computed column by column over Arrow data.

A record's *content hash* covers every original field (names and values, in any column order);
its *key hash* covers only what identifies the example (the prompt, or the text of text-only
data), so an edit of the response or the label keeps the key and changes the content. Results
keep both per record (`audit.result.RecordIndex`): `ft-audit diff` and `--baseline` match
findings and records across two versions of a dataset by content, not by row number.

The same bytes give the same hash on every machine and Python version: strings are hashed
with BLAKE2b (no seed, no Python `hash`); numbers and booleans by their text; lists and structs
by combining their children's hashes with their positions and field names (vectorised).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_U64 = np.uint64
#: the hash of a null value (distinct from the empty string's)
NULL_HASH = _U64(0x9E3779B97F4A7C15)
#: rows hashed per slice (bounds the temporary Python strings)
SLICE_ROWS = 65_536


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def text_hash(text: str) -> int:
    """The hash `array_hashes` gives the string `text`."""
    return int(np.frombuffer(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(),
                             dtype="<u8")[0])


def array_hashes(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each value of an Arrow array of any type (NULL_HASH for nulls)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_dictionary(kind):
        return array_hashes(array.cast(kind.value_type))
    if pa.types.is_struct(kind):
        out = np.zeros(len(array), dtype=_U64)
        for i in range(kind.num_fields):
            name = _U64(text_hash(kind.field(i).name))
            with np.errstate(over="ignore"):
                out += splitmix64(array_hashes(array.field(i)) ^ name)
        out = splitmix64(out)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        out = _list_hashes(array)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        out = np.frombuffer(b"".join(
            hashlib.blake2b(b"" if v is None else v.encode("utf-8"), digest_size=8).digest()
            for v in array.to_pylist()), dtype="<u8").astype(_U64)
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        out = np.frombuffer(b"".join(
            hashlib.blake2b(v or b"", digest_size=8).digest() for v in array.to_pylist()),
            dtype="<u8").astype(_U64)
    elif pa.types.is_null(kind):
        out = np.full(len(array), NULL_HASH, dtype=_U64)
    else:
        return array_hashes(pc.cast(array, pa.string()))
    if len(out) and array.null_count:
        out[~np.asarray(array.is_valid())] = NULL_HASH
    return out


def _list_hashes(array: pa.Array) -> np.ndarray:
    if array.offset:
        array = pa.concat_arrays([array.slice(0, 0), array])
    offsets = np.asarray(array.offsets, dtype=np.int64)
    values = array.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    child = array_hashes(values)
    lengths = np.diff(offsets)
    position = np.arange(len(child)) - np.repeat(offsets[:-1] - offsets[0], lengths)
    with np.errstate(over="ignore"):
        mixed = splitmix64(child + position.astype(_U64) * _U64(0x9E3779B97F4A7C15))
        sums = np.zeros(len(lengths), dtype=_U64)
        nonempty = lengths > 0
        if nonempty.any():
            sums[nonempty] = np.add.reduceat(mixed, (offsets[:-1] - offsets[0])[nonempty])
        return splitmix64(sums + lengths.astype(_U64) + _U64(1))


def table_hashes(table: pa.Table, columns: list[str] | None = None) -> np.ndarray:
    """One hash per row over `columns` (default: all), each value mixed with its column name:
    the column order does not matter, a value moved to another column does."""
    names = sorted(table.column_names if columns is None else columns)
    out = np.zeros(table.num_rows, dtype=_U64)
    for name in names:
        name_hash = _U64(text_hash(name))
        for start in range(0, table.num_rows, SLICE_ROWS):
            values = array_hashes(table.column(name).slice(start, SLICE_ROWS))
            with np.errstate(over="ignore"):
                out[start:start + len(values)] += splitmix64(values ^ name_hash)
    return splitmix64(out)
