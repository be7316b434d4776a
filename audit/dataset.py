"""`DatasetView`: the read-only, Arrow-backed, normalised table every check reads.

Loaders (`audit.load`) turn each supported format into one of these; checks never parse
files. Normalised columns:

    id        int64   0-based position of the record in the input (stable across skips)
    line      int64   1-based line number in the input file (line formats), else null
    prompt    string  instruction/prompt/question/user turns; null when the schema has none
    response  string  output/completion/answer/assistant turns; null when the schema has none
    text      string  prompt and response together (or the text of text+label data)
    system    string  system prompt (chat), else null
    context   string  Alpaca `input` field, else null
    n_turns   int32   number of turns (chat), 1 or 2 otherwise
    label     string  label, null when none
    split     string  split name, null when none
    group:<g> string  explicit group column g
    messages  list<struct<role, content>>  chat turns (chat schemas only)

The original fields are kept untouched in `raw`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandas as pd

GROUP_PREFIX = "group:"
TEXT_COLUMNS = ("prompt", "response", "text", "system", "context")
#: records per batch of `DatasetView.text_batches`
TEXT_BATCH = 10_000


@dataclass(frozen=True)
class SchemaInfo:
    """Which record schema was detected (or forced) and which source fields fill each role."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    detected: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.name, "fields": dict(self.fields), "detected": self.detected}


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out under `--on-bad-records skip`, and why."""

    id: int
    line: int | None
    reason: str


def index_fingerprint(schema: SchemaInfo, index: Any) -> str:
    """sha256 over the schema name, the field mapping, and a `RecordIndex`'s bytes."""
    import json

    digest = hashlib.sha256()
    digest.update(json.dumps({"schema": schema.name, "fields": dict(schema.fields)},
                             sort_keys=True, default=str).encode())
    for part in (index.ids, index.content, index.key):
        digest.update(part)
    return "sha256:" + digest.hexdigest()


class DatasetView:
    """Read-only normalised dataset. Cheap to subset (`take`), keeps original record ids."""

    def __init__(
        self,
        table: pa.Table,
        *,
        raw: pa.Table,
        schema: SchemaInfo,
        source: str,
        skipped: Sequence[SkippedRecord] = (),
        path: str | None = None,
    ) -> None:
        self._table = table
        self._raw = raw
        self.schema = schema
        self.source = source
        self.skipped: tuple[SkippedRecord, ...] = tuple(skipped)
        self.path = path

    # -- size and identity --------------------------------------------------------------------
    def __len__(self) -> int:
        return self._table.num_rows

    @property
    def n(self) -> int:
        return self._table.num_rows

    @property
    def table(self) -> pa.Table:
        """The normalised Arrow table (immutable)."""
        return self._table

    @property
    def raw(self) -> pa.Table:
        """The original fields, untouched, row-aligned with `table`."""
        return self._raw

    @cached_property
    def ids(self) -> np.ndarray:
        ids = self._table.column("id").to_numpy()
        ids.setflags(write=False)
        return ids

    @cached_property
    def lines(self) -> tuple[int | None, ...]:
        return tuple(self._table.column("line").to_pylist())

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the schema, the field mapping and every record's id and content hashes
        (`index_fingerprint`): equal for equal data, however it was read or batched."""
        from audit.result import RecordIndex

        return index_fingerprint(self.schema, RecordIndex.from_arrays(
            self.ids, self.content_hashes, self.key_hashes))

    @cached_property
    def content_hashes(self) -> np.ndarray:
        """A stable 64-bit hash of each record's original fields (`audit.hashing`)."""
        from audit.hashing import table_hashes

        hashes = table_hashes(self._raw)
        hashes.setflags(write=False)
        return hashes

    @cached_property
    def key_hashes(self) -> np.ndarray:
        """A stable 64-bit hash of what identifies each record: its prompt (or its text)."""
        from audit.hashing import table_hashes

        column = "prompt" if self.has_prompt else "text"
        hashes = table_hashes(self._table, [column]) if column in self._table.column_names \
            else np.zeros(self.n, dtype=np.uint64)
        hashes.setflags(write=False)
        return hashes

    # -- what the data has (used to resolve check needs) --------------------------------------
    def _has_values(self, column: str) -> bool:
        if column not in self._table.column_names:
            return False
        return self.n == 0 or self._table.column(column).null_count < self.n

    @property
    def has_prompt(self) -> bool:
        return self._has_values("prompt")

    @property
    def has_response(self) -> bool:
        return self._has_values("response")

    @property
    def has_labels(self) -> bool:
        return self._has_values("label")

    @property
    def has_split(self) -> bool:
        return self._has_values("split")

    @property
    def is_chat(self) -> bool:
        return "messages" in self._table.column_names

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(c[len(GROUP_PREFIX):] for c in self._table.column_names
                     if c.startswith(GROUP_PREFIX))

    # -- column access ------------------------------------------------------------------------
    def column(self, name: str) -> pa.ChunkedArray:
        return self._table.column(name)

    def texts(self, name: str = "text",
              positions: Sequence[int] | np.ndarray | None = None) -> tuple[str, ...]:
        """A text column as Python strings, nulls as '' (only the rows at `positions` if given).

        Not cached: each call builds a new tuple (about 1 KB per record of 150 words), so a
        check holds its texts only while it runs. Convert once per check, pass `positions`
        for a sample, and use `text_batches` for one pass over a large column.
        """
        column = self._text_column(name)
        if positions is not None:
            column = column.take(pa.array(np.asarray(positions, dtype=np.int64)))
        return tuple(pc.fill_null(column, "").to_pylist())

    def text_batches(self, name: str = "text", size: int = TEXT_BATCH) -> Iterator[list[str]]:
        """A text column as lists of at most `size` Python strings, nulls as '' (in order).

        For one pass over a large column: only one batch of Python strings is alive at a time.
        """
        column = self._text_column(name)
        for start in range(0, self.n, size):
            yield pc.fill_null(column.slice(start, size), "").to_pylist()

    def text_column(self, name: str) -> pa.ChunkedArray:
        """The text column `name` (prompt, response, text...) as Arrow, or empty strings
        when the data has no such column."""
        if name not in self._table.column_names:
            return pa.chunked_array([pa.array([""] * self.n, pa.string())])
        return self._table.column(name)

    def _text_column(self, name: str) -> pa.ChunkedArray:
        if name not in self._table.column_names:
            raise KeyError(f"no column {name!r}; columns: {', '.join(self._table.column_names)}")
        return self._table.column(name)

    @property
    def prompts(self) -> tuple[str, ...]:
        return self.texts("prompt")

    @property
    def responses(self) -> tuple[str, ...]:
        return self.texts("response")

    @property
    def labels(self) -> tuple[str | None, ...]:
        return tuple(self._table.column("label").to_pylist())

    @property
    def splits(self) -> tuple[str | None, ...]:
        return tuple(self._table.column("split").to_pylist())

    def groups(self, name: str) -> tuple[str | None, ...]:
        return tuple(self._table.column(GROUP_PREFIX + name).to_pylist())

    def messages(self) -> Iterator[list[dict[str, str]]]:
        """Chat turns per record, each {"role", "content"} (chat schemas only)."""
        if not self.is_chat:
            raise KeyError("this dataset has no chat turns")
        for turns in self._table.column("messages").to_pylist():
            yield list(turns or [])

    def record(self, index: int) -> dict[str, Any]:
        """Normalised fields of the record at position `index` (not id)."""
        row = self._table.slice(index, 1).to_pylist()[0]
        return {k: v for k, v in row.items() if k != "messages"}

    def position_of(self, ids: Sequence[int]) -> np.ndarray:
        """Positions (row indices) of the given record ids."""
        order = np.argsort(self.ids, kind="stable")
        pos = np.searchsorted(self.ids, ids, sorter=order)
        return order[pos]

    # -- subsets ------------------------------------------------------------------------------
    def take(self, positions: Sequence[int] | np.ndarray) -> DatasetView:
        """A view of the records at the given positions; record ids are kept."""
        indices = pa.array(np.asarray(positions, dtype=np.int64))
        return DatasetView(self._table.take(indices), raw=self._raw.take(indices),
                           schema=self.schema, source=self.source, skipped=(), path=self.path)

    def slice(self, start: int, stop: int, *, skipped_ids: tuple[int, int | None] | None = None
              ) -> DatasetView:
        """The records at positions [start, stop) without copying (ids kept). `skipped_ids`
        (first, end or None) keeps the skipped records whose ids fall in that range."""
        n = max(0, min(stop, self.n) - start)
        low, high = skipped_ids if skipped_ids is not None else (0, -1)
        skipped = [s for s in self.skipped if s.id >= low and (high is None or s.id < high)]
        return DatasetView(self._table.slice(start, n), raw=self._raw.slice(start, n),
                           schema=self.schema, source=self.source, skipped=skipped,
                           path=self.path)

    def with_id_offset(self, offset: int, *, line_offset: int = 0) -> DatasetView:
        """The same records with `offset` added to every id (and `line_offset` to every line
        number): a shard's records numbered after the shards before it."""
        if offset == 0 and line_offset == 0:
            return self
        table = self._table
        table = table.set_column(table.column_names.index("id"), "id",
                                 pc.add(table.column("id"), offset))
        if line_offset:
            table = table.set_column(table.column_names.index("line"), "line",
                                     pc.add(table.column("line"), line_offset))
        skipped = [SkippedRecord(s.id + offset, None if s.line is None else s.line + line_offset,
                                 s.reason) for s in self.skipped]
        return DatasetView(table, raw=self._raw, schema=self.schema, source=self.source,
                           skipped=skipped, path=self.path)

    @staticmethod
    def concat(parts: Sequence[DatasetView], *, source: str, path: str | None = None
               ) -> DatasetView:
        """One view of several (same schema), in the given order."""
        if not parts:
            raise ValueError("nothing to concatenate")
        table = pa.concat_tables([p.table for p in parts], promote_options="permissive")
        raw = pa.concat_tables([p.raw for p in parts], promote_options="permissive")
        skipped = sorted((s for p in parts for s in p.skipped), key=lambda s: s.id)
        return DatasetView(table, raw=raw, schema=parts[0].schema, source=source,
                           skipped=skipped, path=path)

    def filter_split(self, names: Sequence[str], *, keep: bool = True) -> DatasetView:
        if not self.has_split:
            return self if keep else self.take([])
        mask = pc.fill_null(pc.is_in(self._table.column("split"), pa.array(list(names))), False)
        if not keep:
            mask = pc.invert(mask)
        return self.take(np.flatnonzero(mask.to_numpy(zero_copy_only=False)))

    def split_counts(self) -> dict[str, int]:
        if not self.has_split:
            return {}
        counts = pc.value_counts(pc.fill_null(self._table.column("split"), ""))
        return {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}

    def to_pandas(self) -> pd.DataFrame:
        return self._table.to_pandas()

    def __repr__(self) -> str:
        return f"DatasetView({self.n} records, schema={self.schema.name!r}, source={self.source!r})"
