"""The jobs an audit is cut into, and how their outputs are put back together.

- `MapJob`: one batch of records through the map step of every splittable check; it also
  returns what the run needs to know of the batch without its text: ids, content hashes,
  skipped records, split counts and, when the run samples, the batch's sampled rows.
- `CheckJob`: a group of whole-dataset checks run on the loaded (or sampled) dataset. Checks
  that share an artifact (`Check.uses`) go in one group, so it is computed once.

Outputs are combined in batch order, so the result does not depend on the engine, the number
of workers or the order in which jobs finish.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from audit.batches import Batch, ShardSpec, read_batch
from audit.cache import CacheUse, RecordCache, cache_use
from audit.check import Check, SkipCheck
from audit.config import Config
from audit.context import RunContext
from audit.dataset import DatasetView, SkippedRecord
from audit.judge import judge_measurement
from audit.result import CheckResult, Measurement, Status


@dataclass(frozen=True)
class Aux:
    """What every job's context holds besides its data: the run's seed, auxiliary sets and
    incremental cache."""

    seed: int
    eval_data: DatasetView | None = None
    probe_data: DatasetView | None = None
    contamination: tuple[DatasetView, ...] = ()
    cache: RecordCache | None = None
    #: the process that runs the audit: it counts its own use of the cache itself
    driver: int = field(default_factory=os.getpid)
    #: this run, among the runs a long-lived worker may serve (`RecordCache.begin`)
    run: str = field(default_factory=lambda: uuid.uuid4().hex)

    def context(self, data: DatasetView) -> RunContext:
        if self.cache is not None:
            self.cache.begin(self.run)
        return RunContext(data, seed=self.seed, eval_data=self.eval_data,
                          probe_data=self.probe_data, contamination=self.contamination,
                          cache=self.cache)

    def cache_use_since(self, before: CacheUse) -> CacheUse:
        """This worker's use of the cache since `before` (nothing in the driver process, which
        counts its own use: `AuditRun`)."""
        return cache_use(self.cache) - before if os.getpid() != self.driver else CacheUse()


@dataclass
class BatchOutput:
    """A map job's output: per check a partial (or the exception it raised), and the batch's
    facts (ids and content hashes of its records, skipped records, split counts)."""

    index: int
    n: int
    partials: dict[str, Any]
    errors: dict[str, str]
    ids: np.ndarray
    content: np.ndarray
    key: np.ndarray
    skipped: list[SkippedRecord]
    splits: dict[str, int]
    sample: tuple[pa.Table, pa.Table] | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    #: what the batch's checks did with the incremental cache
    cache: CacheUse = field(default_factory=CacheUse)


@dataclass(frozen=True)
class MapJob:
    batch: Batch
    spec: ShardSpec | None
    checks: tuple[Check, ...]
    aux: Aux
    sample_ids: np.ndarray | None = None  # ids of this batch's records the run samples
    facts: bool = True  # return ids, hashes, skipped and splits (shard sources)
    #: a second pass: check name -> its `second_pass` request (then only `map_again` runs)
    again: dict[str, Any] | None = None

    def __call__(self) -> BatchOutput:
        view = read_batch(self.batch, self.spec)
        ctx = self.aux.context(view)
        before = cache_use(self.aux.cache)
        partials: dict[str, Any] = {}
        errors: dict[str, str] = {}
        seconds: dict[str, float] = {}
        for check in self.checks:
            started = time.perf_counter()
            try:
                partials[check.name] = (check.map(view, ctx) if self.again is None else
                                        check.map_again(view, ctx, self.again[check.name]))
            except Exception as exc:
                errors[check.name] = f"{type(exc).__name__}: {exc}"
            seconds[check.name] = time.perf_counter() - started
        if self.again is not None:
            empty = np.zeros(0, dtype=np.uint64)
            return BatchOutput(index=self.batch.index, n=view.n, partials=partials,
                               errors=errors, ids=np.zeros(0, dtype=np.int64), content=empty,
                               key=empty, skipped=[], splits={}, seconds=seconds,
                               cache=self.aux.cache_use_since(before))
        sample = None
        if self.sample_ids is not None and len(self.sample_ids):
            positions = np.flatnonzero(np.isin(view.ids, self.sample_ids))
            take = pa.array(positions, pa.int64())
            sample = (view.table.take(take), view.raw.take(take))
        empty = np.zeros(0, dtype=np.uint64)
        return BatchOutput(
            index=self.batch.index, n=view.n, partials=partials, errors=errors,
            ids=np.asarray(view.ids) if self.facts else np.zeros(0, dtype=np.int64),
            content=np.asarray(view.content_hashes) if self.facts else empty,
            key=np.asarray(view.key_hashes) if self.facts else empty,
            skipped=list(view.skipped) if self.facts else [],
            splits=view.split_counts() if self.facts else {}, sample=sample, seconds=seconds,
            cache=self.aux.cache_use_since(before))

    def detached(self) -> tuple[MapJob, tuple[Any, ...]]:
        """This job without the parts every job of its pass holds (the run's auxiliary sets,
        a second pass's requests), and those parts: an engine that ships jobs to other
        processes sends each part once, not with every batch (`attached` puts them back)."""
        return replace(self, aux=Aux(self.aux.seed, driver=self.aux.driver, run=self.aux.run),
                       again=None), \
            (self.aux, self.again)

    def attached(self, shared: Sequence[Any]) -> MapJob:
        aux, again = shared
        return replace(self, aux=aux, again=again)


@dataclass(frozen=True)
class CheckJobOutput:
    results: list[CheckResult]
    cache: CacheUse  # what the checks did with the incremental cache


@dataclass(frozen=True)
class CheckJob:
    """Whole-dataset checks run one after another on a shared context (and its artifacts)."""

    checks: tuple[Check, ...]
    data_token: str
    aux: Aux
    config: Config

    def __call__(self) -> CheckJobOutput:
        from audit.batches import _SHARED
        from audit.engines import return_free_memory
        from audit.runner import run_check, still_used

        data = _SHARED.get(self.data_token)
        if data is None:
            raise RuntimeError("the loaded dataset is not shared with this worker")
        ctx = self.aux.context(data)
        before = cache_use(self.aux.cache)
        results = []
        for done, check in enumerate(self.checks, start=1):
            results.append(run_check(check, ctx, self.config))
            ctx.release(still_used(self.checks[done:]))
            return_free_memory()
        return CheckJobOutput(results, self.aux.cache_use_since(before))


def artifact_groups(checks: Sequence[Check]) -> list[list[Check]]:
    """Checks joined when they share an artifact that is not cheap to compute again
    (transitively); in the given order."""
    from audit.context import is_cheap

    parent = list(range(len(checks)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, check in enumerate(checks):
        for name in sorted(check.uses):
            if is_cheap(name):
                continue
            if name in owner:
                parent[find(i)] = find(owner[name])
            else:
                owner[name] = i
    groups: dict[int, list[Check]] = {}
    for i, check in enumerate(checks):
        groups.setdefault(find(i), []).append(check)
    return sorted(groups.values(), key=lambda g: checks.index(g[0]))


def combine_check(check: Check, outputs: Sequence[BatchOutput], n: int, ctx: RunContext,
                  config: Config, describe: Mapping[int, str],
                  again: Sequence[BatchOutput] | None = None) -> CheckResult:
    """One splittable check's result from every batch's partial (ERRORED, naming the batch,
    when a batch failed); `again`: the second pass's outputs, when the check asked for one."""
    shell = CheckResult(name=check.name, category=check.category, status=Status.PASSED,
                        description=check.describe(), params=check.get_params())
    everything = [*outputs, *(again or [])]
    seconds = sum(o.seconds.get(check.name, 0.0) for o in everything)
    failed = next((o for o in everything if check.name in o.errors), None)
    if failed is not None:
        return replace(shell, status=Status.ERRORED, duration_s=seconds,
                       error=f"{describe[failed.index]}: {failed.errors[check.name]}")
    started = time.perf_counter()
    try:
        partials = [o.partials[check.name] for o in outputs]
        if again is not None:
            partials = list(zip(partials, [o.partials[check.name] for o in again], strict=True))
        measurement = check.combine(partials, n, ctx)
        if not isinstance(measurement, Measurement):
            raise TypeError(f"{type(check).__name__}.combine returned "
                            f"{type(measurement).__name__}, expected a Measurement")
    except SkipCheck as skip:
        return replace(shell, status=Status.SKIPPED, skipped_reason=str(skip),
                       duration_s=seconds + time.perf_counter() - started)
    except Exception as exc:
        from audit.runner import _describe_error

        return replace(shell, status=Status.ERRORED, error=_describe_error(exc),
                       duration_s=seconds + time.perf_counter() - started)
    thresholds = config.thresholds_for(check.name, check.default_thresholds)
    judged = judge_measurement(shell, measurement, thresholds,
                               config.check_config(check.name).severity)
    return replace(judged, duration_s=seconds + time.perf_counter() - started)


def nbytes(value: Any) -> int:
    """Bytes of the arrays in a partial result: numpy arrays and Arrow data, also inside
    tuples, lists and dicts (anything else counts 0)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (pa.Array, pa.ChunkedArray, pa.Table, pa.RecordBatch)):
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    return 0


def failed_job_results(checks: Sequence[Check], error: BaseException, where: str
                       ) -> list[CheckResult]:
    """ERRORED results for checks whose job failed as a whole (a worker died, a read failed)."""
    message = f"{where}: {type(error).__name__}: {error}"
    return [CheckResult(name=c.name, category=c.category, status=Status.ERRORED,
                        description=c.describe(), params=c.get_params(), error=message)
            for c in checks]
