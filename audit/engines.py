"""Where the work of an audit runs: in this process, on a local process pool, or on Ray.

An engine runs *jobs*: picklable, argument-free callables (`Job`). It yields each job with its
outcome as the job finishes (the order of completion, not of submission): the runner puts the
pieces back in order, so the result does not depend on the engine. A job that raises comes
back with its exception; a worker that dies fails the jobs it held, not the run.

- `serial`: one job after another in this process (debugging, tests, tiny data).
- `pool` (the default): a local process pool, `workers` processes (`auto`: one per core). On
  Linux the workers are forked, so they share the loaded dataset with this process
  copy-on-write instead of receiving a copy.
- `ray`: Ray tasks on a cluster (`address`) or on a local Ray instance the run starts and
  stops (`pip install 'ft-audit[ray]'`). Jobs read their own shards there.

Ctrl-C stops the workers: the pool's processes are terminated, Ray tasks cancelled.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from audit.errors import ConfigError

ENGINES = ("serial", "pool", "ray")
Job = Callable[[], Any]


class Engine(Protocol):
    name: str
    workers: int

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Any, BaseException | None]]:
        """(job index, result, None) or (job index, None, exception) as jobs finish."""
        ...

    def close(self) -> None: ...


def cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | str | None) -> int:
    """`auto` (or None): one per available core; else a positive integer."""
    if workers in (None, "auto"):
        return cpu_count()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer or 'auto', got {workers!r}")
    return workers


def make_engine(name: str = "pool", *, workers: int | str | None = "auto",
                ray_address: str | None = None) -> Engine:
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
    if name == "serial":
        return SerialEngine()
    if name == "ray":
        return RayEngine(address=ray_address, workers=workers)
    count = resolve_workers(workers)
    return SerialEngine() if count == 1 else PoolEngine(count)


class SerialEngine:
    name = "serial"
    workers = 1

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Any, BaseException | None]]:
        for index, job in enumerate(jobs):
            try:
                result = job()
            except Exception as exc:
                yield index, None, exc
            else:
                yield index, result, None

    def close(self) -> None:
        """Nothing to release."""


def _call(job: Job) -> Any:
    return job()


def return_free_memory() -> None:
    """Hand memory freed by this process back to the system (glibc keeps freed blocks in its
    heap for reuse; numpy's large temporaries leave much there): before forking workers,
    which would otherwise each count the kept pages, and between a worker's checks. A no-op
    where the C library is not glibc."""
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        if sys.platform.startswith("linux"):
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
    if _TRIM:
        _TRIM(0)


_TRIM: Any = None


def _call_attached(job: Any, *shared: Any) -> Any:
    """A detached job (see `MapJob.detached`) with its shared parts put back, run."""
    return job.attached(shared)()


_LIMITS: Any = None


def _limit_threads(threads: int) -> None:
    """Pool worker start: BLAS/OpenMP threads per worker, so that workers x threads stays
    within the cores (more threads than cores spin against each other)."""
    global _LIMITS
    from threadpoolctl import threadpool_limits

    _LIMITS = threadpool_limits(limits=threads)


class PoolEngine:
    """A local process pool (fork on Linux: workers share the loaded data copy-on-write)."""

    name = "pool"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=mp.get_context(method),
            initializer=_limit_threads, initargs=(max(1, cpu_count() // workers),))

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Any, BaseException | None]]:
        pending: dict[Future[Any], int] = {}
        queue = list(enumerate(jobs))
        queue.reverse()
        try:
            while queue or pending:
                # keep at most two jobs per worker in flight: results return while others run
                while queue and len(pending) < 2 * self.workers:
                    index, job = queue.pop()
                    pending[self._executor.submit(_call, job)] = index
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    error = future.exception()
                    yield (index, None, error) if error is not None else (
                        index, future.result(), None)
        except BaseException:
            self.terminate()
            raise

    def terminate(self) -> None:
        """Stop every worker now (Ctrl-C, a failure): no orphan processes."""
        processes = list(getattr(self._executor, "_processes", {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class RayEngine:
    """Ray tasks, one per job, on the cluster at `address` or on a local instance."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | str | None = "auto") -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--engine ray needs Ray: pip install 'ft-audit[ray]'") from None
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False,
                                      "include_dashboard": False, "logging_level": "ERROR"}
            if address:
                kwargs["address"] = address
                kwargs["runtime_env"] = ray_runtime_env()
            else:
                kwargs["num_cpus"] = resolve_workers(workers)
            ray.init(**kwargs)
            self._started = True
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self._remote = ray.remote(_call)
        self._remote_attached = ray.remote(_call_attached)
        #: id(part) -> (part, its object ref): parts shared by jobs, stored once per run
        self._stored: dict[int, tuple[Any, Any]] = {}

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Any, BaseException | None]]:
        ray = self._ray
        stored = self._stored

        def stored_ref(part: Any) -> Any:
            if id(part) not in stored:
                stored[id(part)] = (part, ray.put(part))
            return stored[id(part)][1]

        def submit(job: Job) -> Any:
            """Parts that every job holds (`detached`) go to the object store once; the task
            receives them as arguments, which Ray resolves on the worker."""
            detach = getattr(job, "detached", None)
            if detach is None:
                return self._remote.remote(job)
            light, shared = detach()
            return self._remote_attached.remote(light, *(stored_ref(p) for p in shared))

        refs = {submit(job): index for index, job in enumerate(jobs)}
        try:
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                for ref in done:
                    index = refs.pop(ref)
                    try:
                        value = _owned(ray.get(ref))
                    except Exception as exc:
                        yield index, None, getattr(exc, "cause", None) or exc
                    else:
                        yield index, value, None
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        self._stored.clear()
        if self._started:
            self._ray.shutdown()


def _owned(value: Any) -> Any:
    """A copy of a job's result that holds no memory of Ray's object store.

    `ray.get` returns numpy arrays and Arrow buffers as zero-copy views of the store's shared
    memory; the pages of it that this process reads stay in its resident memory until Ray
    shuts down, even once the objects are freed. A copy is ordinary memory that the runner
    returns as it is done with each part (a check's partials once combined), and the store
    reuses its own for the next results.
    """
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def ray_runtime_env() -> dict[str, Any]:
    """Ship ft-audit's own packages to cluster workers that do not have it installed."""
    from pathlib import Path

    import audit

    root = Path(audit.__file__).resolve().parent.parent
    modules = [str(root / name) for name in ("audit", "checks", "reports")
               if (root / name).is_dir()]
    return {"py_modules": modules}
