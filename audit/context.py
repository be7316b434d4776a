"""`RunContext`: what a check sees besides the data, and the memo of shared artifacts.

Artifacts are named, registered functions `fn(data, ctx) -> value` (normalised texts, token
lists, TF-IDF vectors, out-of-fold predictions, duplicate groups...). `ctx.artifact(name)`
computes one once per dataset view and hands the same object to every check that asks, so two
checks never compute the same thing twice. Artifact values are shared: never mutate them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from audit.progress import Progress

if TYPE_CHECKING:
    from audit.dataset import DatasetView

T = TypeVar("T")
ArtifactFn = Callable[["DatasetView", "RunContext"], Any]

_ARTIFACTS: dict[str, ArtifactFn] = {}

#: split values that mark evaluation records when the data has a split column
EVAL_SPLITS = ("eval", "evaluation", "test", "validation", "valid", "val", "dev")


def artifact(name: str) -> Callable[[ArtifactFn], ArtifactFn]:
    """Register `fn(data, ctx)` as the one way to compute artifact `name`."""

    def decorator(fn: ArtifactFn) -> ArtifactFn:
        existing = _ARTIFACTS.get(name)
        if existing is not None and existing is not fn and (
                existing.__module__, existing.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"artifact {name!r} is already registered by {existing.__module__}")
        _ARTIFACTS[name] = fn
        return fn

    return decorator


def registered_artifacts() -> tuple[str, ...]:
    return tuple(sorted(_ARTIFACTS))


class RunContext:
    """Seed, auxiliary datasets (eval, probe, contamination), progress, and the artifact memo."""

    def __init__(
        self,
        data: DatasetView,
        *,
        seed: int = 0,
        eval_data: DatasetView | None = None,
        probe_data: DatasetView | None = None,
        contamination: Sequence[DatasetView] = (),
        progress: Progress | None = None,
    ) -> None:
        self.data = data
        self.seed = seed
        self.probe_data = probe_data
        self.contamination = tuple(contamination)
        self.progress_reporter = progress or Progress()
        self._memo: dict[tuple[str, int], Any] = {}
        self._pinned: list[Any] = []  # keeps views alive so their id() stays unique
        if eval_data is None and data.has_split:
            names = [s for s in data.split_counts() if s.lower() in EVAL_SPLITS]
            if names:
                eval_data = data.filter_split(names)
                self.train_data = data.filter_split(names, keep=False)
            else:
                self.train_data = data
        else:
            self.train_data = data
        self.eval_data = eval_data

    def rng(self, key: str) -> np.random.Generator:
        """A generator seeded from the run seed and `key` (e.g. the check name): deterministic."""
        return np.random.default_rng([self.seed, zlib.crc32(key.encode())])

    def artifact(self, name: str, data: DatasetView | None = None) -> Any:
        """The artifact `name` for `data` (default: the audited dataset), computed once."""
        data = self.data if data is None else data
        key = (name, id(data))
        if key not in self._memo:
            fn = _ARTIFACTS.get(name)
            if fn is None:
                import checks  # noqa: F401  (built-in artifacts register on import)

                fn = _ARTIFACTS.get(name)
            if fn is None:
                raise KeyError(f"no artifact named {name!r}; known: {', '.join(registered_artifacts())}")
            self._pinned.append(data)
            self._memo[key] = fn(data, self)
        return self._memo[key]

    def memo(self, key: str, factory: Callable[[], T], data: DatasetView | None = None) -> T:
        """Memoise an ad-hoc value under `key` for `data` (prefer named artifacts when shared)."""
        data = self.data if data is None else data
        memo_key = ("memo:" + key, id(data))
        if memo_key not in self._memo:
            self._pinned.append(data)
            self._memo[memo_key] = factory()
        value: T = self._memo[memo_key]
        return value

    def progress(self, description: str, total: int | None = None) -> Any:
        """Context manager yielding `advance(n)`; draws a bar when progress is enabled."""
        return self.progress_reporter.task(description, total)
