"""`RunContext`: what a check sees besides the data, and the memo of shared artifacts.

Artifacts are named, registered functions `fn(data, ctx) -> value` (normalised texts, token
lists, TF-IDF vectors, out-of-fold predictions, duplicate groups...). `ctx.artifact(name)`
computes one once per dataset view and hands the same object to every check that asks, so two
checks never compute the same thing twice. Artifact values are shared: never mutate them.
`ctx.memo("name:details", factory)` memoises an ad-hoc value the same way (`name` is its
artifact name, e.g. `near` for `near:text:<config>`).

Memory: a check declares in `Check.uses` the artifact names it reads (directly, or that it
wants kept for reuse). `run_audit` calls `ctx.release(...)` after each check with the names
the checks still to run use, so an artifact lives from the first check that computes it to
the last check that declares it, not to the end of the run. A check that reads an artifact it
did not declare still gets it (computed again if it was released); the check contract
(`audit.testing`) fails on such a check.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from audit.progress import Progress

if TYPE_CHECKING:
    from audit.cache import RecordCache
    from audit.dataset import DatasetView

T = TypeVar("T")
ArtifactFn = Callable[["DatasetView", "RunContext"], Any]

_ARTIFACTS: dict[str, ArtifactFn] = {}
MEMO_PREFIX = "memo:"
#: artifact (and memo) names cheaper to compute again than to keep checks together for
_CHEAP: set[str] = set()

#: split values that mark evaluation records when the data has a split column
EVAL_SPLITS = ("eval", "evaluation", "test", "validation", "valid", "val", "dev")


def artifact(name: str, *, cheap: bool = False) -> Callable[[ArtifactFn], ArtifactFn]:
    """Register `fn(data, ctx)` as the one way to compute artifact `name`. `cheap`: computing
    it again costs less than running every check that reads it in one process (the runner
    groups checks only by the artifacts they share that are not cheap)."""
    if cheap:
        _CHEAP.add(name)

    def decorator(fn: ArtifactFn) -> ArtifactFn:
        existing = _ARTIFACTS.get(name)
        if existing is not None and existing is not fn and (
                existing.__module__, existing.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"artifact {name!r} is already registered by {existing.__module__}")
        _ARTIFACTS[name] = fn
        return fn

    return decorator


def cheap_to_recompute(*names: str) -> None:
    """Mark memo names (`ctx.memo("name:...")`) as cheap, like `artifact(name, cheap=True)`."""
    _CHEAP.update(names)


def is_cheap(name: str) -> bool:
    return name in _CHEAP


def artifact_name(key: str) -> str:
    """The artifact name of a memo key: `near` for `near:text:<config>`."""
    return key.removeprefix(MEMO_PREFIX).split(":", 1)[0]


def registered_artifacts() -> tuple[str, ...]:
    return tuple(sorted(_ARTIFACTS))


class RunContext:
    """Seed, auxiliary datasets (eval, probe, contamination), progress, the incremental cache
    and the artifact memo."""

    def __init__(
        self,
        data: DatasetView,
        *,
        seed: int = 0,
        eval_data: DatasetView | None = None,
        probe_data: DatasetView | None = None,
        contamination: Sequence[DatasetView] = (),
        progress: Progress | None = None,
        cache: RecordCache | None = None,
    ) -> None:
        self.data = data
        self.seed = seed
        #: per-text values kept between runs (`audit.cache.per_text`), or None
        self.cache = cache
        self.probe_data = probe_data
        self.contamination = tuple(contamination)
        self.progress_reporter = progress or Progress()
        self._memo: dict[tuple[str, int], Any] = {}
        self._pinned: dict[int, DatasetView] = {}  # keeps views alive so their id() stays unique
        self._text_keys: dict[tuple[str, int], np.ndarray] = {}  # (field, id(view)) -> hashes
        self._depth = 0  # > 0 while an artifact or memo value is being computed
        #: names of the artifacts requested directly (not while computing another artifact)
        self.requested: set[str] = set()
        #: whether `eval_data` is the data's own eval/test split (not a set given apart)
        self.eval_from_split = False
        if eval_data is None and data.has_split:
            names = [s for s in data.split_counts() if s.lower() in EVAL_SPLITS]
            if names:
                eval_data = data.filter_split(names)
                self.train_data = data.filter_split(names, keep=False)
                self.eval_from_split = True
            else:
                self.train_data = data
        else:
            self.train_data = data
        self.eval_data = eval_data

    def rng(self, key: str) -> np.random.Generator:
        """A generator seeded from the run seed and `key` (e.g. the check name): deterministic."""
        return np.random.default_rng([self.seed, zlib.crc32(key.encode())])

    def artifact(self, name: str, data: DatasetView | None = None, *, store: bool = True) -> Any:
        """The artifact `name` for `data` (default: the audited dataset), computed once.

        `store=False` reuses a memoised value but does not keep a newly computed one: for an
        input only this computation needs (LSA reads a TF-IDF matrix of 8 bytes per word).
        """
        data = self.data if data is None else data
        key = (name, id(data))
        if key in self._memo:
            self._note(name)
            return self._memo[key]
        fn = _ARTIFACTS.get(name)
        if fn is None:
            from audit.registry import load_entry_points

            load_entry_points()  # check packages register their artifacts on import
            fn = _ARTIFACTS.get(name)
        if fn is None:
            raise KeyError(f"no artifact named {name!r}; known: {', '.join(registered_artifacts())}")
        value = self._compute(name, lambda: fn(data, self))
        if store:
            self._keep(key, data, value)
        return value

    def memo(self, key: str, factory: Callable[[], T], data: DatasetView | None = None) -> T:
        """Memoise an ad-hoc value under `key` ("name:details") for `data` (prefer named
        artifacts when shared); `name` is what checks declare in `uses`."""
        data = self.data if data is None else data
        memo_key = (MEMO_PREFIX + key, id(data))
        if memo_key not in self._memo:
            self._keep(memo_key, data, self._compute(key, factory))
        else:
            self._note(key)
        value: T = self._memo[memo_key]
        return value

    def text_keys(self, data: DatasetView, field: str) -> np.ndarray:
        """The 64-bit content hash of each text of column `field` of `data` (empty strings
        where it has none): the keys of the incremental cache, hashed once per view."""
        from audit.hashing import array_hashes

        key = (field, id(data))
        if key not in self._text_keys:
            self._pinned[id(data)] = data
            self._text_keys[key] = array_hashes(data.text_column(field))
        return self._text_keys[key]

    def release(self, keep: Collection[str]) -> None:
        """Forget the memoised values (of every view) whose artifact name is not in `keep`."""
        for key in [k for k in self._memo if artifact_name(k[0]) not in keep]:
            del self._memo[key]
        # the run's own views live as long as the run: their text keys are kept (8 bytes a
        # text), those of views no memoised value holds go with them
        live = {view_id for _name, view_id in self._memo} | {
            id(view) for view in (self.data, self.train_data, self.eval_data, self.probe_data)
            if view is not None}
        self._text_keys = {k: v for k, v in self._text_keys.items() if k[1] in live}
        self._pinned = {i: view for i, view in self._pinned.items() if i in live}

    def memoised(self) -> tuple[str, ...]:
        """Names of the memoised values, sorted (one per name, whatever the views)."""
        return tuple(sorted({artifact_name(k) for k, _view in self._memo}))

    def _compute(self, key: str, factory: Callable[[], T]) -> T:
        self._note(key)
        self._depth += 1
        try:
            return factory()
        finally:
            self._depth -= 1

    def _note(self, key: str) -> None:
        if self._depth == 0:
            self.requested.add(artifact_name(key))

    def _keep(self, key: tuple[str, int], data: DatasetView, value: Any) -> None:
        self._pinned[id(data)] = data
        self._memo[key] = value

    def progress(self, description: str, total: int | None = None) -> Any:
        """Context manager yielding `advance(n)`; draws a bar when progress is enabled."""
        return self.progress_reporter.task(description, total)
