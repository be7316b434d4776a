"""Batches of records: how a dataset is cut for the map steps, and how a job reads its batch.

Two kinds of source:

- **in memory**: a dataset already loaded in this process (a file of moderate size, a
  DataFrame, a list of dicts). Batches are slices of it. A job finds the loaded view through
  `share()`: forked pool workers inherit it, nothing is copied; other engines get the slice's
  rows in the job itself.
- **shards**: a directory or glob of files (Parquet, JSONL, JSONL.gz, ...), or one file too
  large to load whole. Nothing is loaded up front: each job reads its own shard, or its row
  groups (Parquet) or byte range (uncompressed JSONL), and normalises it with the schema that
  the first shard resolved. Record ids run on across shards in sorted path order.
"""

from __future__ import annotations

import glob as globlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from audit.dataset import DatasetView
from audit.errors import DataLoadError
from audit.load import FieldMapping, OnBadRecords, load_dataset, sniff_format

#: records per batch of the map steps
BATCH_RECORDS = 20_000
#: bytes read at a time when counting a JSONL file's records
COUNT_CHUNK = 1 << 24
#: shard formats read as shards (others are loaded whole)
SHARD_SUFFIXES = (".parquet", ".pq", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".json",
                  ".csv", ".tsv")

_SHARED: dict[str, DatasetView] = {}


def share(view: DatasetView) -> str:
    """Register a loaded view for jobs in this process and its forked workers."""
    token = uuid.uuid4().hex
    _SHARED[token] = view
    return token


def unshare(token: str) -> None:
    _SHARED.pop(token, None)


@dataclass(frozen=True)
class Batch:
    """One batch of records: where it is and the id of its first record."""

    index: int
    first_id: int
    n_records: int  # records it holds (before any that fail to read are skipped)
    path: str | None = None  # a shard; None: a slice of the shared in-memory view
    token: str | None = None  # the shared view (in memory)
    start: int = 0  # view rows / Parquet row group / JSONL byte offset
    stop: int = 0
    first_line: int = 1  # JSONL byte range: the file's line number at `start`
    rows: Any = None  # the slice's tables when it travels to another machine
    #: ids of skipped records that belong to this batch (in memory): [low, high or None)
    skipped_ids: tuple[int, int | None] = (0, None)

    def describe(self) -> str:
        last = self.first_id + max(self.n_records, 1) - 1
        where = f" of {self.path}" if self.path else ""
        return f"batch {self.index} (records {self.first_id}-{last}{where})"


@dataclass(frozen=True)
class ShardSpec:
    """How jobs read and normalise shards: the field mapping the first shard resolved."""

    fields: FieldMapping
    on_bad_records: OnBadRecords
    source: str


@dataclass
class SourcePlan:
    """The batches of a source, the number of records they hold, and how to read them."""

    batches: list[Batch]
    n_records: int
    source: str
    view: DatasetView | None = None  # in memory
    spec: ShardSpec | None = None  # shards
    paths: list[str] = field(default_factory=list)
    first: DatasetView | None = None  # shards: the first batch (what the data has)

    @property
    def in_memory(self) -> bool:
        return self.view is not None


def is_uri(path: str) -> bool:
    """A path with a scheme (s3://, gs://, file://...): read through pyarrow's filesystems."""
    return "://" in path


def _filesystem(uri: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    try:
        return pafs.FileSystem.from_uri(uri)
    except (pa.ArrowException, ValueError) as exc:
        raise DataLoadError(f"{uri}: cannot open this location: {exc}") from None


def open_input(path: str) -> Any:
    """A binary file object for a local path or a URI (seekable)."""
    if not is_uri(path):
        return open(path, "rb")
    filesystem, inner = _filesystem(path)
    try:
        return filesystem.open_input_file(inner)
    except (pa.ArrowException, OSError) as exc:
        raise DataLoadError(f"{path}: cannot read: {exc}") from None


def is_sharded(source: Any) -> bool:
    """Whether `source` names several files: a directory of data files or a glob pattern
    (local, or a URI such as s3://bucket/prefix/ read through pyarrow's filesystems)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    text = str(source)
    if is_uri(text):
        import pyarrow.fs as pafs

        if any(c in text for c in "*?["):
            return True
        filesystem, inner = _filesystem(text)
        return bool(filesystem.get_file_info(inner).type == pafs.FileType.Directory)
    if any(c in text for c in "*?[") and not Path(text).exists():
        return True
    path = Path(text)
    return path.is_dir() and not _is_hf_folder(path)


def _is_hf_folder(path: Path) -> bool:
    return any((path / marker).exists()
               for marker in ("dataset_info.json", "state.json", "dataset_dict.json"))


def shard_paths(source: str | os.PathLike[str]) -> list[str]:
    """The data files of a directory (recursively) or a glob, sorted; an error if none."""
    text = str(source)
    if is_uri(text):
        found = _remote_paths(text)
    elif Path(text).is_dir():
        found = [str(p) for p in sorted(Path(text).rglob("*"))
                 if p.is_file() and p.name.lower().endswith(SHARD_SUFFIXES)
                 and not p.name.startswith(".")]
    else:
        found = sorted(p for p in globlib.glob(text, recursive=True)
                       if Path(p).is_file() and p.lower().endswith(SHARD_SUFFIXES))
    if not found:
        raise DataLoadError(f"{text}: no data files (a directory or glob of "
                            f"{', '.join(SHARD_SUFFIXES)} files)")
    return found


def _remote_paths(uri: str) -> list[str]:
    """The data files under a URI prefix (recursively), or matching a URI glob."""
    import fnmatch

    import pyarrow.fs as pafs

    scheme = uri.split("://", 1)[0]
    pattern = uri if any(c in uri for c in "*?[") else None
    base = uri.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0] if pattern else uri
    base = base if pattern is None else base.rsplit("/", 1)[0]
    filesystem, inner = _filesystem(base)
    infos = filesystem.get_file_info(pafs.FileSelector(inner, recursive=True))
    found = sorted(f"{scheme}://{info.path}" if scheme != "file" else f"file://{info.path}"
                   for info in infos if info.type == pafs.FileType.File
                   and info.base_name.lower().endswith(SHARD_SUFFIXES)
                   and not info.base_name.startswith("."))
    if pattern is not None:
        found = [f for f in found if fnmatch.fnmatch(f, pattern)]
    return found


def large_file(path: Path, limit: int) -> bool:
    """Whether `path` is an uncompressed JSONL or a Parquet file of more than `limit` records
    (counted without parsing): such a file is read in batches, never loaded whole."""
    try:  # any problem with the file: the loader says what it is
        if not path.is_file():
            return False
        fmt = sniff_format(path, None)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return bool(pq.ParquetFile(path).metadata.num_rows > limit)
        if fmt == "jsonl" and not path.name.lower().endswith(".gz") and \
                path.stat().st_size > limit:
            return _count_jsonl_records(str(path)) > limit
    except (DataLoadError, OSError, pa.ArrowException):
        pass
    return False


def plan_memory(view: DatasetView, batch_records: int = BATCH_RECORDS) -> SourcePlan:
    """Batches as slices of a loaded view."""
    token = share(view)
    ids = view.ids
    batches = []
    starts = list(range(0, view.n, batch_records)) or [0]
    for index, start in enumerate(starts):
        stop = min(view.n, start + batch_records)
        low = 0 if index == 0 else int(ids[start])
        high = int(ids[stop]) if stop < view.n else None
        first = int(ids[start]) if start < view.n else 0
        batches.append(Batch(index=index, first_id=first, n_records=stop - start, token=token,
                             start=start, stop=stop, skipped_ids=(low, high)))
    return SourcePlan(batches=batches, n_records=view.n, source=view.source, view=view)


def plan_shards(source: str | os.PathLike[str] | Sequence[str], fields: FieldMapping,
                on_bad_records: OnBadRecords, batch_records: int = BATCH_RECORDS) -> SourcePlan:
    """Batches over the shards of `source` (a directory, a glob, a list of files, or one large
    file), without loading them: counts come from Parquet metadata or a newline count."""
    if isinstance(source, (str, os.PathLike)):
        paths = shard_paths(source) if is_sharded(source) else [str(source)]
    else:
        paths = [str(p) for p in source]
    name = str(source) if not isinstance(source, (list, tuple)) else f"{len(paths)} files"
    batches: list[Batch] = []
    next_id = 0
    for path in paths:
        for start, stop, count, first_line in _pieces(path, batch_records):
            batches.append(Batch(index=len(batches), first_id=next_id, n_records=count,
                                 path=path, start=start, stop=stop, first_line=first_line))
            next_id += count
    given = ShardSpec(fields=fields, on_bad_records=on_bad_records, source=name)
    first = read_batch(batches[0], given) if batches else load_dataset(paths[0], fields=fields)
    spec = ShardSpec(fields=_resolved(first, fields), on_bad_records=on_bad_records, source=name)
    return SourcePlan(batches=batches, n_records=next_id, source=name, spec=spec, paths=paths,
                      first=first)


def _resolved(view: DatasetView, fields: FieldMapping) -> FieldMapping:
    """The mapping that reads every shard as the first one was read (no detection drift)."""
    roles = view.schema.fields
    groups = roles.get("groups") or list(fields.groups)
    if view.schema.name == "custom":
        return FieldMapping(prompt=roles.get("prompt"), response=roles.get("response"),
                            label=roles.get("label"), split=roles.get("split"),
                            groups=tuple(groups))
    return FieldMapping(schema=view.schema.name, label=roles.get("label"),
                        split=roles.get("split"), groups=tuple(groups))


def _pieces(path: str, batch_records: int) -> list[tuple[int, int, int, int]]:
    """(start, stop, records, first line) pieces of one file: Parquet row groups, JSONL byte
    ranges at line boundaries, or the whole file (other formats)."""
    fmt = sniff_format(Path(path), None)
    lower = path.lower()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with open_input(path) as handle:
            meta = pq.ParquetFile(handle).metadata
        pieces, group, count = [], 0, 0
        for g in range(meta.num_row_groups):
            count += meta.row_group(g).num_rows
            if count >= batch_records or g == meta.num_row_groups - 1:
                pieces.append((group, g + 1, count, 1))
                group, count = g + 1, 0
        return pieces or [(0, 0, 0, 1)]
    if fmt == "jsonl" and not lower.endswith(".gz"):
        return _jsonl_ranges(path, batch_records)
    if fmt == "jsonl":
        return [(0, -1, _count_jsonl_records(path), 1)]
    if is_uri(path):
        raise DataLoadError(f"{path}: only Parquet and JSONL (.jsonl, .jsonl.gz) shards are read "
                            "from a URI")
    whole = load_dataset(path, on_bad_records="skip")  # other formats: count by reading
    return [(0, -1, whole.n + len(whole.skipped), 1)]


def _jsonl_ranges(path: str, batch_records: int) -> list[tuple[int, int, int, int]]:
    """Byte ranges of about `batch_records` non-blank lines each, cut at newlines."""
    pieces: list[tuple[int, int, int, int]] = []
    start, count, line, first_line, offset = 0, 0, 1, 1, 0
    carry = b""
    with open_input(path) as fh:
        while chunk := fh.read(COUNT_CHUNK):
            data = carry + chunk
            base = offset - len(carry)
            ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
            begin = 0
            for end in ends.tolist():
                if data[begin:end].strip():
                    count += 1
                line += 1
                begin = end + 1
                if count >= batch_records:
                    pieces.append((start, base + begin, count, first_line))
                    start, count, first_line = base + begin, 0, line
            carry = data[begin:]
            offset += len(chunk)
    if carry.strip():
        count += 1
    if count or not pieces:
        pieces.append((start, offset, count, first_line))
    return pieces


def _count_jsonl_records(path: str) -> int:
    import gzip

    count, carry = 0, b""
    with open_input(path) as raw:
        fh = gzip.GzipFile(fileobj=raw) if path.lower().endswith(".gz") else raw
        while chunk := fh.read(COUNT_CHUNK):
            lines = (carry + chunk).split(b"\n")
            carry = lines.pop()
            count += sum(1 for line in lines if line.strip())
    return count + (1 if carry.strip() else 0)


def read_batch(batch: Batch, spec: ShardSpec | None) -> DatasetView:
    """The normalised records of `batch`, ids (and JSONL line numbers) as in the whole source."""
    if batch.path is None:
        if batch.rows is not None:
            table, raw, schema, source, skipped = batch.rows
            return DatasetView(table, raw=raw, schema=schema, source=source, skipped=skipped)
        view = _SHARED.get(batch.token or "")
        if view is None:
            raise RuntimeError(f"{batch.describe()}: the loaded dataset is not shared with this "
                               "worker")
        return view.slice(batch.start, batch.stop, skipped_ids=batch.skipped_ids)
    assert spec is not None
    from audit.load import load_jsonl_bytes

    path = batch.path
    fmt = sniff_format(Path(path), None)
    if batch.stop == -1 and not is_uri(path):
        view = load_dataset(Path(path), fields=spec.fields, on_bad_records=spec.on_bad_records)
        return view.with_id_offset(batch.first_id)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with open_input(path) as handle:
            table = pq.ParquetFile(handle).read_row_groups(list(range(batch.start, batch.stop)))
        view = load_dataset(table, fields=spec.fields, on_bad_records=spec.on_bad_records,
                            name=path)
        return view.with_id_offset(batch.first_id)
    with open_input(path) as fh:
        if batch.stop == -1:  # a whole compressed JSONL shard at a URI
            import gzip

            data = fh.read()
            data = gzip.decompress(data) if path.lower().endswith(".gz") else data
        else:
            fh.seek(batch.start)
            data = fh.read(batch.stop - batch.start)
    view = load_jsonl_bytes(data, name=path, fields=spec.fields,
                            on_bad_records=spec.on_bad_records, first_line=batch.first_line)
    return view.with_id_offset(batch.first_id)


def portable(batch: Batch) -> Batch:
    """`batch` with its rows inside, for a worker that does not share this process's memory
    (Ray, spawned processes). A slice is copied (a pickled slice would carry its whole table)."""
    if batch.path is not None or batch.rows is not None:
        return batch
    view = read_batch(batch, None)
    positions = pa.array(np.arange(view.n, dtype=np.int64))
    rows = (view.table.take(positions), view.raw.take(positions), view.schema, view.source,
            tuple(view.skipped))
    return Batch(index=batch.index, first_id=batch.first_id, n_records=batch.n_records,
                 rows=rows)
