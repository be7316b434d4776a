"""The incremental cache: per-text values kept on disk between audits (`--cache DIR`).

Most of an audit's time goes into work done on each text alone: identifying its language,
matching group lexicons, hashing its normalised form, MinHash band keys. `per_text` runs such a
function only on the texts the cache has not seen, and reads the others' values: a re-audit
after a small edit recomputes the edited and appended records and reads the rest. What needs
every record at once (LSH banding, clustering, model fits, TF-IDF vocabularies) runs again on
the assembled values, so a cached run's result is identical to an uncached one.

Keys: the 64-bit BLAKE2b hash of the text (`audit.hashing.array_hashes`) within a *namespace*
naming the function, its version and the parameters that change its output
(`namespace("lsh_keys", 1, config, seed)`). A new ft-audit version starts new namespaces.

On disk, DIR holds a marker file (`ft-audit-cache.json`, so `ft-audit cache clear` never
deletes a folder it did not make), a lock file, and one folder per namespace of *segments*:
compressed `.npz` files of sorted keys and value arrays (no pickles). A run writes each batch
of new values as a new segment (written to a temporary name, then renamed: readers never see
half a file), so two concurrent runs never write the same file. At the end of a run, under an
exclusive lock, a namespace with more than MAX_SEGMENTS segments is compacted into one, and the
least recently used segments are deleted until the cache fits `max_mb` (a segment's mtime is
refreshed whenever it serves a value). A segment that cannot be read (truncated, tampered) is
skipped with a warning, deleted, and its values are computed again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.errors import AuditError
from audit.io import OutputError, atomic_write_bytes

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

MARKER = "ft-audit-cache.json"
LOCK = ".lock"
FORMAT = 1
#: segments per namespace above which a run's end compacts them into one
MAX_SEGMENTS = 8
DEFAULT_MAX_MB = 2048

Values = tuple[np.ndarray, ...]


class CacheWarning(UserWarning):
    """A cache entry could not be read (it is ignored and recomputed)."""


class CacheError(AuditError):
    """The cache folder cannot be used (not a cache, not writable)."""


def namespace(name: str, version: int, *params: Any) -> str:
    """The namespace of function `name` at `version` with the params that change its output
    (and the ft-audit version): `name.vVERSION.DIGEST`."""
    from audit import __version__

    digest = hashlib.blake2b(json.dumps([__version__, *map(repr, params)]).encode(),
                             digest_size=6).hexdigest()
    return f"{name}.v{version}.{digest}"


def per_text(ctx: RunContext, name: str, data: DatasetView, field: str,
             compute: Callable[[pa.Array | pa.ChunkedArray], Values], *,
             min_bytes: int = 0) -> Values:
    """`compute(column)` (a tuple of arrays of one row per text) for the text column `field`
    of `data` (`DatasetView.text_column`), computed only for the texts missing from the run's
    cache (`ctx.cache`) when it has one.

    `compute` must give each text a value that depends on that text alone (and on what
    `name` says: see `namespace`), never on its neighbours or position; its arrays must not
    be object arrays (convert strings to a fixed-width str dtype). Texts of fewer than
    `min_bytes` UTF-8 bytes are computed every run and never stored: where a value (with its
    key) takes more room than its text, keeping it would make the cache larger than the data
    for little time saved.
    """
    column = data.text_column(field)
    cache: RecordCache | None = ctx.cache
    if cache is None:
        return compute(column)
    keys = ctx.text_keys(data, field)
    kept = np.arange(len(keys)) if not min_bytes else np.flatnonzero(
        pc.fill_null(pc.binary_length(column), 0).to_numpy(zero_copy_only=False) >= min_bytes)
    if len(kept) == len(keys):
        return cache.rows(name, keys, lambda rows: compute(column.take(pa.array(rows))))
    if not len(kept):
        return compute(column)
    short = np.setdiff1d(np.arange(len(keys)), kept, assume_unique=True)
    stored = cache.rows(name, keys[kept], lambda rows: compute(column.take(pa.array(kept[rows]))))
    fresh = compute(column.take(pa.array(short)))
    return tuple(_interleaved(len(keys), (kept, a), (short, b))
                 for a, b in zip(stored, fresh, strict=True))


def _interleaved(n: int, *parts: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One array of `n` rows from (positions, rows) parts that cover them."""
    values = [v for _, v in parts]
    out = np.empty((n, *values[0].shape[1:]), dtype=np.result_type(*values))
    for positions, rows in parts:
        out[positions] = rows
    return out


@dataclass(frozen=True)
class CacheUse:
    """What a run (or one job of it) did with the cache: per-text values read that earlier
    runs stored, distinct texts whose values were computed (and stored), and values this run
    computed and found again (another check, another worker)."""

    read: int = 0
    computed: int = 0
    reused: int = 0

    def __add__(self, other: CacheUse) -> CacheUse:
        return CacheUse(self.read + other.read, self.computed + other.computed,
                        self.reused + other.reused)

    def __sub__(self, other: CacheUse) -> CacheUse:
        return CacheUse(self.read - other.read, self.computed - other.computed,
                        self.reused - other.reused)

    def to_dict(self) -> dict[str, int]:
        return {"read": self.read, "computed": self.computed, "reused": self.reused}


def cache_use(cache: RecordCache | None) -> CacheUse:
    """`cache`'s counts so far in this process (a job's use is the difference of two)."""
    return CacheUse() if cache is None else CacheUse(cache.hits, cache.misses, cache.reuses)


@dataclass(frozen=True)
class CacheInfo:
    path: str
    bytes: int
    segments: int
    entries: int
    namespaces: dict[str, int]  # namespace -> entries (duplicates across segments counted)


class RecordCache:
    """Per-text values on disk under `root`, at most `max_mb` megabytes after each run.

    One instance per folder and process (`open_cache`); it keeps the namespaces it has read
    in memory for the run, so a worker that maps many batches reads each namespace once.
    """

    def __init__(self, root: str | os.PathLike[str], max_mb: float = DEFAULT_MAX_MB) -> None:
        self.root = Path(root)
        self.max_mb = max_mb
        #: name -> (sorted keys, their values, whether the current run stored each key)
        self._loaded: dict[str, tuple[np.ndarray, list[np.ndarray], np.ndarray]] = {}
        self._run: str | None = None  # the run the loaded namespaces were read for
        self.hits = 0  # values found that earlier runs stored
        self.misses = 0  # distinct keys computed
        self.reuses = 0  # values found that this run stored

    def __reduce__(self) -> tuple[Any, ...]:  # workers reuse their process's instance
        return open_cache, (str(self.root), self.max_mb)

    # -- setup ---------------------------------------------------------------------------------
    def create(self) -> None:
        """Make the folder a cache (refusing a non-empty folder that is not one). Two runs
        may make the same folder at once: the marker is written under a temporary name of
        its own (a folder holding only those is still empty), then renamed."""
        marker = self.root / MARKER
        if marker.is_file():
            self._read_marker()
            return
        if self.root.exists() and (not self.root.is_dir() or any(
                not p.name.startswith(f".{MARKER}.") for p in self.root.iterdir())):
            if marker.is_file():  # another run made it a cache meanwhile
                self._read_marker()
                return
            raise CacheError(f"{self.root} is not an ft-audit cache (no {MARKER}) and is not "
                             "an empty folder: give a new or empty folder for --cache")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(marker, json.dumps({"format": FORMAT}).encode())
        except (OSError, OutputError) as exc:
            raise CacheError(f"cannot create the cache {self.root}: {exc}") from exc

    def _read_marker(self) -> None:
        try:
            found = json.loads((self.root / MARKER).read_text()).get("format")
        except (OSError, ValueError, AttributeError) as exc:
            raise CacheError(f"{self.root / MARKER} is unreadable: {exc}") from exc
        if found != FORMAT:
            raise CacheError(f"{self.root} is a cache of format {found!r}; this ft-audit "
                             f"reads format {FORMAT}: clear it with `ft-audit cache clear`")

    def is_cache(self) -> bool:
        return (self.root / MARKER).is_file()

    # -- reading and writing values ------------------------------------------------------------
    def begin(self, run: str) -> None:
        """Work for run `run` from now on: a process that outlives a run (a Ray worker, a
        notebook) reads the namespaces again for the next one, which sees what other
        processes stored meanwhile."""
        if run != self._run:
            self._loaded.clear()
            self._run = run

    def rows(self, name: str, keys: np.ndarray, compute: Callable[[np.ndarray], Values]
             ) -> Values:
        """The values of every key: read where cached, else `compute(rows)` for the rows of
        the missing keys (each distinct key once), stored as a new segment."""
        keys = np.asarray(keys, dtype=np.uint64)
        known, stored, this_run = self._namespace(name)
        slot = np.searchsorted(known, keys).clip(max=max(len(known) - 1, 0))
        hit = known[slot] == keys if len(known) else np.zeros(len(keys), dtype=bool)
        missing = np.flatnonzero(~hit)
        new_keys, first = np.unique(keys[missing], return_index=True)
        reused = int(this_run[slot[hit]].sum()) if len(known) else 0
        self.hits += int(hit.sum()) - reused
        self.reuses += reused
        self.misses += len(new_keys)
        if not len(new_keys):
            return tuple(v[slot] for v in stored) if stored else compute(missing)
        fresh = compute(missing[first])
        if stored and len(fresh) != len(stored):
            raise ValueError(f"{name}: {len(fresh)} values per text, the cache holds "
                             f"{len(stored)}")
        self._store(name, new_keys, fresh)
        known, stored, _ = self._namespace(name)
        return tuple(v[np.searchsorted(known, keys)] for v in stored)

    def _namespace(self, name: str) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        if name not in self._loaded:
            keys: list[np.ndarray] = []
            values: list[list[np.ndarray]] = []
            for path in self._segments(name):
                segment = _read_segment(path)
                if segment is None:
                    continue
                if values and not _same_shape(segment[1], values[0][:-1]):
                    _discard(path, "its values do not match the other segments'")
                    continue
                keys.append(segment[0])
                ours = self._run is not None and path.name.startswith(f"{self._run}-")
                values.append([*segment[1], np.full(len(segment[0]), ours)])
                _touch(path)
            self._loaded[name] = _split_run(_merged(keys, values))
        return self._loaded[name]

    def _store(self, name: str, keys: np.ndarray, values: Values) -> None:
        values = tuple(np.asarray(v) for v in values)
        for v in values:
            if v.dtype == object or len(v) != len(keys):
                raise TypeError(f"{name}: cached values must be arrays of one row per text, "
                                f"not {v.dtype} of {len(v)} rows")
        folder = self.root / name
        try:
            folder.mkdir(exist_ok=True)  # named after the run: other workers count it reused
            _write_segment(folder / f"{self._run or 'run'}-{uuid.uuid4().hex}.npz", keys,
                           values)
        except (OSError, OutputError) as exc:  # OutputError: the folder vanished meanwhile
            warnings.warn(f"cache {self.root}: cannot write to {folder}: {exc}", CacheWarning,
                          stacklevel=2)
        key_parts, value_parts = [keys], [[*values, np.ones(len(keys), dtype=bool)]]
        if name in self._loaded and self._loaded[name][1]:  # join what the run holds already
            known, stored, this_run = self._loaded[name]
            key_parts.insert(0, known)
            value_parts.insert(0, [*stored, this_run])
        self._loaded[name] = _split_run(_merged(key_parts, value_parts))

    def _segments(self, name: str) -> list[Path]:
        folder = self.root / name
        return sorted(folder.glob("*.npz")) if folder.is_dir() else []

    # -- upkeep --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock on the cache (compaction, eviction, clearing)."""
        with open(self.root / LOCK, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def maintain(self) -> None:
        """Compact namespaces of many segments, then evict least recently used segments
        until the cache fits `max_mb`."""
        if not self.is_cache():
            return
        try:
            self._maintain()
        except (OSError, OutputError) as exc:  # a read-only or vanished cache: this run's result stands
            warnings.warn(f"cache {self.root}: upkeep skipped: {exc}", CacheWarning,
                          stacklevel=2)
        self._loaded.clear()

    def _maintain(self) -> None:
        with self.locked():
            for folder in self._folders():
                paths = self._segments(folder.name)
                if len(paths) > MAX_SEGMENTS:
                    self._compact(folder, paths)
            paths = [p for f in self._folders() for p in self._segments(f.name)]
            sizes = {p: _size(p) for p in paths}
            total = sum(sizes.values())
            budget = self.max_mb * 1024 * 1024
            for path in sorted(paths, key=_mtime):
                if total <= budget:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()
                total -= sizes[path]

    def _compact(self, folder: Path, paths: Sequence[Path]) -> None:
        keys: list[np.ndarray] = []
        values: list[list[np.ndarray]] = []
        for path in paths:
            segment = _read_segment(path)
            if segment is not None and (not values or _same_shape(segment[1], values[0])):
                keys.append(segment[0])
                values.append(segment[1])
        if keys:
            merged_keys, merged_values = _merged(keys, values)
            _write_segment(folder / f"{uuid.uuid4().hex}.npz", merged_keys, merged_values)
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink()

    def _folders(self) -> list[Path]:
        return sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() \
            else []

    def info(self) -> CacheInfo:
        namespaces: dict[str, int] = {}
        total = segments = 0
        for folder in self._folders():
            for path in self._segments(folder.name):
                segments += 1
                total += _size(path)
                namespaces[folder.name] = namespaces.get(folder.name, 0) + _entries(path)
        return CacheInfo(path=str(self.root), bytes=total, segments=segments,
                         entries=sum(namespaces.values()), namespaces=namespaces)

    def clear(self) -> int:
        """Delete every segment (the folder stays a cache); the number of bytes freed."""
        if not self.is_cache():
            raise CacheError(f"{self.root} is not an ft-audit cache (no {MARKER}): "
                             "nothing deleted")
        freed = 0
        with self.locked():
            for folder in self._folders():
                for path in folder.iterdir():
                    freed += _size(path)
                    with contextlib.suppress(OSError):
                        path.unlink()
                with contextlib.suppress(OSError):
                    folder.rmdir()
        self._loaded.clear()
        return freed


_OPEN: dict[tuple[str, float], RecordCache] = {}


def open_cache(root: str | os.PathLike[str], max_mb: float = DEFAULT_MAX_MB) -> RecordCache:
    """This process's cache object for `root` (created on first use)."""
    key = (os.path.abspath(root), float(max_mb))
    if key not in _OPEN:
        _OPEN[key] = RecordCache(key[0], max_mb)
    return _OPEN[key]


# -- segments --------------------------------------------------------------------------------
def _write_segment(path: Path, keys: np.ndarray, values: Sequence[np.ndarray]) -> None:
    import io

    arrays: dict[str, np.ndarray] = {"keys": np.asarray(keys, dtype=np.uint64)}
    for i, value in enumerate(values):
        if value.dtype == bool:  # 8 flags a byte
            arrays[f"bits{i}"] = np.packbits(value, axis=0)
            arrays[f"shape{i}"] = np.asarray(value.shape, dtype=np.int64)
        else:
            arrays[f"v{i}"] = value
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _read_segment(path: Path) -> tuple[np.ndarray, list[np.ndarray]] | None:
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = np.asarray(npz["keys"], dtype=np.uint64)
            values = []
            for i in range(len(npz.files)):
                if f"v{i}" in npz.files:
                    values.append(npz[f"v{i}"])
                elif f"bits{i}" in npz.files:
                    shape = tuple(int(s) for s in npz[f"shape{i}"])
                    values.append(np.unpackbits(npz[f"bits{i}"], axis=0,
                                                count=shape[0]).astype(bool).reshape(shape))
                else:
                    break
        if keys.ndim != 1 or not values or any(len(v) != len(keys) for v in values) or \
                np.any(keys[1:] <= keys[:-1]):
            raise ValueError("keys and values do not line up")
    except FileNotFoundError:
        return None  # compacted or evicted by another run meanwhile
    except Exception as exc:
        _discard(path, f"{type(exc).__name__}: {exc}")
        return None
    return keys, values


def _entries(path: Path) -> int:
    """How many keys a segment holds (only its key array is read; 0 if unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return len(npz["keys"])
    except Exception:
        return 0


def _same_shape(values: Sequence[np.ndarray], others: Sequence[np.ndarray]) -> bool:
    """Whether two segments' values can be joined (same count, row shapes and kinds)."""
    return len(values) == len(others) and all(
        v.shape[1:] == o.shape[1:] and v.dtype.kind == o.dtype.kind
        for v, o in zip(values, others, strict=True))


def _discard(path: Path, why: str) -> None:
    warnings.warn(f"ignoring the unreadable cache entry {path} ({why}); its values are "
                  "computed again", CacheWarning, stacklevel=3)
    with contextlib.suppress(OSError):
        path.unlink()


def _merged(keys: list[np.ndarray], values: list[list[np.ndarray]]
            ) -> tuple[np.ndarray, list[np.ndarray]]:
    """One sorted key array (first occurrence of each key kept) and its values."""
    if not keys:
        return np.zeros(0, dtype=np.uint64), []
    all_keys = np.concatenate(keys)
    unique, first = np.unique(all_keys, return_index=True)
    return unique, [np.concatenate([v[i] for v in values])[first]
                    for i in range(len(values[0]))]


def _split_run(merged: tuple[np.ndarray, list[np.ndarray]]
               ) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """(keys, values, this-run flags) from merged keys and values whose last array holds the
    flags."""
    keys, values = merged
    return (keys, values[:-1], values[-1]) if values else (keys, [], np.zeros(0, dtype=bool))


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
