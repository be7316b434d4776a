"""`run_audit`: load, run every selected check, judge, decide the verdict.

The runner has no per-check special cases. A check whose needs the data cannot meet is
SKIPPED with the reason; a check that raises is ERRORED with the exception (never silent,
never aborting the audit). Work runs serially in this process, so checks share one memo of
artifacts (`RunContext`); after each check the artifacts no check left to run uses (`Check.uses`)
are freed, so memory holds what the rest of the run needs, not everything computed so far.
"""

from __future__ import annotations

import os
import time
import traceback
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from audit.batches import (
    Batch,
    ShardSpec,
    SourcePlan,
    is_sharded,
    large_file,
    plan_memory,
    plan_shards,
    portable,
    share,
    unshare,
)
from audit.cache import CacheUse, cache_use, open_cache
from audit.check import Check, Need, SkipCheck
from audit.config import Config, config_from_dict, load_config
from audit.context import RunContext
from audit.dataset import DatasetView, SkippedRecord, index_fingerprint
from audit.engines import Engine, make_engine, return_free_memory
from audit.errors import AuditError, ConfigError
from audit.execution import (
    Aux,
    BatchOutput,
    CheckJob,
    CheckJobOutput,
    MapJob,
    artifact_groups,
    combine_check,
    failed_job_results,
    nbytes,
)
from audit.judge import decide_verdict, judge_measurement
from audit.load import FieldMapping, load_dataset
from audit.progress import Progress, make_progress
from audit.registry import all_checks, get_check
from audit.result import (
    AuditResult,
    CheckResult,
    DatasetInfo,
    Measurement,
    RecordIndex,
    Status,
    Verdict,
)

#: below this many records the pool engine runs in this process (starting workers costs more
#: than they save); the result is the same either way
POOL_MIN_RECORDS = 10_000
#: how many records per finding get an excerpt in the result, and how long an excerpt is
EXAMPLES_PER_FINDING = 20
MAX_EXAMPLES = 2000
EXCERPT_CHARS = 600


def resolve_config(config: Config | str | Path | dict[str, Any] | None) -> Config:
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return config_from_dict(config)
    return load_config(config)


def select_checks(config: Config, only: Iterable[str | Check] | None = None) -> list[Check]:
    """Instances of the checks to run: `only` (names or instances), else all enabled ones."""
    registered = all_checks(config.plugins)
    chosen: list[Check] = []
    if only is not None:
        for item in only:
            if isinstance(item, Check):
                chosen.append(item)
            else:
                cls = get_check(item, config.plugins)
                chosen.append(cls(**config.check_config(cls.name).params))
        return chosen
    for name, cls in registered.items():
        enabled = config.check_config(name).enabled
        if enabled is None:
            enabled = cls.enabled_by_default
        if enabled:
            chosen.append(cls(**config.check_config(name).params))
    return chosen


def unmet_need(check: Check, ctx: RunContext) -> str | None:
    """Why `check` cannot run on this data, or None when all its needs are met."""
    data = ctx.data
    reasons = {
        Need.PROMPT: (data.has_prompt, "the data has no prompt field"),
        Need.RESPONSE: (data.has_response, "the data has no response field (e.g. text+label "
                        "data)"),
        Need.LABELS: (data.has_labels, "the data has no labels (map one with --label-field)"),
        Need.GROUPS: (bool(data.group_names), "no explicit group column (use --group-field)"),
        Need.CHAT: (data.is_chat, "the data is not in a chat format"),
        Need.SPLIT: (data.has_split, "the data has no split column"),
        Need.EVAL: (ctx.eval_data is not None or bool(ctx.contamination),
                    "no evaluation set (pass --eval FILE or add a split column)"),
        Need.PROBE: (ctx.probe_data is not None, "no probe set (pass --probe FILE)"),
    }
    for need in sorted(check.requires):
        ok, reason = reasons[need]
        if not ok:
            return reason
    return None


def still_used(remaining: Sequence[Check]) -> frozenset[str]:
    """The artifacts the checks still to run use (the rest can be freed)."""
    return frozenset().union(*(check.uses for check in remaining))


def run_check(check: Check | str, ctx: RunContext | Any, config: Config | None = None,
              **params: Any) -> CheckResult:
    """Run one check and judge it: PASSED/WARNED/FAILED, SKIPPED (unmet need) or ERRORED.

    `check` is an instance or a registered name (then `params` configure it); `ctx` is a
    RunContext, or any source `load_dataset` accepts (a path, a DataFrame, a list of dicts...).

        run_check("empty_responses", "train.jsonl").findings
    """
    config = config or Config()
    if isinstance(check, str):
        check = get_check(check, config.plugins)(**{**config.check_config(check).params, **params})
    elif params:
        raise TypeError("params are only accepted with a check name")
    if not isinstance(ctx, RunContext):
        ctx = RunContext(load_dataset(ctx, fields=config.fields,
                                      on_bad_records=config.on_bad_records), seed=config.seed)
    shell = CheckResult(name=check.name, category=check.category, status=Status.PASSED,
                        description=check.describe(), params=check.get_params())
    reason = unmet_need(check, ctx)
    if reason is not None:
        return replace(shell, status=Status.SKIPPED, skipped_reason=reason)
    started = time.perf_counter()
    try:
        measurement = check.run(ctx.data, ctx)
        if not isinstance(measurement, Measurement):
            raise TypeError(f"{type(check).__name__}.run returned {type(measurement).__name__}, "
                            "expected a Measurement")
    except SkipCheck as skip:
        return replace(shell, status=Status.SKIPPED, skipped_reason=str(skip),
                       duration_s=time.perf_counter() - started)
    except Exception as exc:
        return replace(shell, status=Status.ERRORED, error=_describe_error(exc),
                       duration_s=time.perf_counter() - started)
    duration = time.perf_counter() - started
    thresholds = config.thresholds_for(check.name, check.default_thresholds)
    judged = judge_measurement(shell, measurement, thresholds,
                               config.check_config(check.name).severity)
    return replace(judged, duration_s=duration)


def _describe_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def dataset_info(data: DatasetView) -> DatasetInfo:
    return DatasetInfo(source=data.source, schema=data.schema.name,
                       fields=dict(data.schema.fields), n_records=data.n,
                       fingerprint=data.fingerprint, n_skipped=len(data.skipped),
                       splits=data.split_counts())


def collect_examples(data: DatasetView, results: Sequence[CheckResult]) -> dict[int, dict[str, Any]]:
    """Short excerpts of records that findings point at, so reports can show evidence."""
    wanted: list[int] = []
    seen: set[int] = set()
    for result in results:
        for finding in result.findings:
            for record_id in finding.records[:EXAMPLES_PER_FINDING]:
                if record_id not in seen and len(wanted) < MAX_EXAMPLES:
                    seen.add(record_id)
                    wanted.append(record_id)
    if not wanted or data.n == 0:
        return {}
    known = set(data.ids.tolist())
    wanted = sorted(i for i in wanted if i in known)
    positions = data.position_of(wanted)
    examples: dict[int, dict[str, Any]] = {}
    subset = data.table.take(positions).select(
        [c for c in ("id", "line", "prompt", "response", "label") if c in data.table.column_names])
    for row in subset.to_pylist():
        examples[int(row["id"])] = {
            "line": row.get("line"),
            "prompt": _excerpt(row.get("prompt")),
            "response": _excerpt(row.get("response")),
            "label": row.get("label"),
        }
    return examples


def _excerpt(text: str | None) -> str | None:
    if text is None or len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS] + "…"


def run_audit(
    source: Any,
    config: Config | str | Path | dict[str, Any] | None = None,
    *,
    checks: Iterable[str | Check] | None = None,
    eval: Any = None,
    probe: Any = None,
    contamination: Sequence[Any] = (),
    fields: FieldMapping | None = None,
    seed: int | None = None,
    progress: bool | Progress | None = False,
    baseline: AuditResult | str | Path | None = None,
    engine: str | None = None,
    workers: int | str | None = None,
    ray_address: str | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> AuditResult:
    """Audit `source`: a path (a file, a directory or glob of shards), a DataFrame, a datasets
    object, a list of dicts or a DatasetView.

    `config` may be a Config, a TOML path, or a dict in the config file's shape. `checks`
    restricts the run to these names or instances. `eval`, `probe` and `contamination` are
    extra sources loaded with the same field mapping. `baseline` (a result or its JSON file)
    accepts the findings it already had: only new ones block (`audit.baseline`). `engine`
    ("serial", "pool" or "ray"), `workers` and `ray_address` override the config's: where the
    work runs, never what it finds (`audit.engines`). `cache` (or the config's `cache`): a
    folder of per-text values kept between runs, so a re-audit computes only what changed
    (`audit.cache`); the result is the same. Returns the judged `AuditResult`.
    """
    started = time.perf_counter()
    cfg = resolve_config(config)
    base_result = None
    if baseline is not None:
        from audit.baseline import known_findings
        from audit.result_io import load_result

        base_result = baseline if isinstance(baseline, AuditResult) else load_result(baseline)
        known_findings(base_result)  # refuses a baseline without content hashes, before work
    if seed is not None:
        cfg = cfg.with_overrides(seed=seed)
    if fields is not None:
        cfg = cfg.with_overrides(fields=cfg.fields.merged(fields))
    cfg = cfg.with_overrides(engine=engine, workers=workers, ray_address=ray_address,
                             cache=None if cache is None else os.fspath(cache))
    record_cache = None
    if cfg.cache is not None:
        record_cache = open_cache(cfg.cache, cfg.cache_max_mb)
        record_cache.create()
    reporter = progress if isinstance(progress, Progress) else make_progress(progress)
    try:
        plan = plan_source(source, cfg)
        aux_fields = FieldMapping(prompt=cfg.fields.prompt, response=cfg.fields.response,
                                  label=cfg.fields.label, schema=cfg.fields.schema)
        aux = Aux(
            seed=cfg.seed,
            eval_data=None if eval is None else load_dataset(
                eval, fields=aux_fields, on_bad_records=cfg.on_bad_records),
            probe_data=None if probe is None else load_dataset(
                probe, fields=FieldMapping(prompt=cfg.fields.prompt, schema=cfg.fields.schema),
                on_bad_records=cfg.on_bad_records),
            contamination=tuple(load_dataset(c, fields=FieldMapping(), on_bad_records="skip")
                                for c in contamination),
            cache=record_cache)
        selected = select_checks(cfg, checks)
        names = [c.name for c in selected]
        if len(set(names)) != len(names):
            raise ConfigError(f"a check was selected twice: {', '.join(names)}")
        run = AuditRun(plan, cfg, aux, selected, reporter)
        try:
            run.execute()
            results = run.results
            if base_result is not None:
                from audit.baseline import apply_baseline

                ids, content, _ = run.index.arrays()
                results = apply_baseline(results, dict(zip(ids.tolist(), content.tolist(),
                                                           strict=True)), base_result, cfg)
            verdict = decide_verdict(results, cfg.policy)
            assert run.data is not None
            examples = collect_examples(run.data, results)
        except AuditError:
            raise
        except Exception as exc:  # a bug outside the checks: keep what was computed
            done = run.results
            if run.data is None:
                raise
            partial = _result(run, done, Verdict(
                go=False, exit_code=1, reasons=(f"internal error after {len(done)} of "
                                                f"{len(selected)} checks: {_describe_error(exc)}",)),
                cfg, {}, started, aux)
            raise IncompleteAuditError(partial) from exc
    finally:
        reporter.close()
    if record_cache is not None:
        record_cache.maintain()
    result = _result(run, results, verdict, cfg, examples, started, aux)
    if base_result is not None:
        result = replace(result, baseline={"source": base_result.dataset.source,
                                           "fingerprint": base_result.dataset.fingerprint})
    return result


def plan_source(source: Any, cfg: Config) -> SourcePlan:
    """In memory when the data is small enough to load (`driver_records`), else shards read
    batch by batch: a directory or glob always, one large JSONL or Parquet file when it holds
    more records than that."""
    if isinstance(source, DatasetView):
        return plan_memory(source, cfg.batch_records)
    if is_sharded(source) or (isinstance(source, (list, tuple)) and bool(source) and all(
            isinstance(s, (str, os.PathLike)) for s in source)):
        return plan_shards(source, cfg.fields, cfg.on_bad_records, cfg.batch_records)
    if isinstance(source, (str, os.PathLike)) and large_file(Path(source), cfg.driver_records):
        return plan_shards([str(source)], cfg.fields, cfg.on_bad_records, cfg.batch_records)
    view = load_dataset(source, fields=cfg.fields, on_bad_records=cfg.on_bad_records)
    return plan_memory(view, cfg.batch_records)


class AuditRun:
    """One audit's execution: map jobs for splittable checks, check jobs for the rest, on the
    configured engine; `results` in the selected checks' order, `data` the view the
    whole-dataset checks saw, `index` every record's ids and content hashes."""

    def __init__(self, plan: SourcePlan, cfg: Config, aux: Aux, selected: Sequence[Check],
                 reporter: Progress) -> None:
        self.plan, self.cfg, self.aux, self.selected = plan, cfg, aux, list(selected)
        self.reporter = reporter
        self.by_name: dict[str, CheckResult] = {}
        self.data: DatasetView | None = plan.view
        self.sampled: tuple[int, int] | None = None  # (sample, of) when checks saw a sample
        self.n = plan.n_records
        self.skipped: list[SkippedRecord] = []
        self.splits: dict[str, int] = {}
        self.index = RecordIndex.from_arrays([], [], [])
        #: what the workers did with the incremental cache (this process counts its own)
        self.worker_cache_use = CacheUse()
        self._driver_cache_start = cache_use(aux.cache)

    @property
    def cache_use(self) -> CacheUse | None:
        """What the run did with the incremental cache so far (None without one)."""
        if self.aux.cache is None:
            return None
        return cache_use(self.aux.cache) - self._driver_cache_start + self.worker_cache_use

    @property
    def results(self) -> list[CheckResult]:
        return [self.by_name[c.name] for c in self.selected if c.name in self.by_name]

    def execute(self) -> None:
        if self.plan.in_memory:
            self._in_memory()
        else:
            self._streaming()

    # -- the two kinds of source ----------------------------------------------------------------
    def _in_memory(self) -> None:
        data = self.plan.view
        assert data is not None
        ctx = self.aux.context(data)
        mapped, whole = self._split_by_needs(ctx)
        small = self.cfg.engine == "pool" and data.n < POOL_MIN_RECORDS
        engine = make_engine("serial" if small else self.cfg.engine, workers=self.cfg.workers,
                             ray_address=self.cfg.ray_address)
        try:
            checks: list[Any] = []
            if engine.name != "ray":  # local workers share the view: run the checks there
                groups = sorted(artifact_groups(whole), key=len, reverse=True)
                checks = [CheckJob(tuple(g), self.plan.batches[0].token or share(data),
                                   self.aux, self.cfg) for g in groups]
            shipped = [b if engine.name != "ray" else portable(b) for b in self.plan.batches]
            maps = [MapJob(b, None, tuple(mapped), self.aux, facts=False) for b in shipped]
            # the largest group of checks first (the model-based ones: the longest job), then
            # the batches, then the other groups, so no worker waits at the end
            outputs = self._run_jobs(engine, [*checks[:1], *maps, *checks[1:]], mapped)
            if engine.name == "ray":  # Ray ran the maps; the whole-dataset checks run here
                self._run_locally(whole, ctx)
            self._combine(mapped, outputs, ctx, engine, shipped, None)
        finally:
            engine.close()
            if self.plan.batches and self.plan.batches[0].token:
                unshare(self.plan.batches[0].token)
        self.n = data.n
        ids, content, key = data.ids, data.content_hashes, data.key_hashes
        self.index = RecordIndex.from_arrays(ids, content, key)

    def _streaming(self) -> None:
        spec = self.plan.spec
        assert spec is not None
        probe = self.plan.first
        assert probe is not None
        mapped, whole = self._split_by_needs(self.aux.context(probe))
        total = self.plan.n_records
        keep = None
        if total > self.cfg.driver_records:
            rng = np.random.default_rng([self.cfg.seed, zlib.crc32(b"driver sample")])
            keep = np.sort(rng.choice(total, self.cfg.driver_records, replace=False))
            self.sampled = (self.cfg.driver_records, total)
        engine = make_engine(self.cfg.engine, workers=self.cfg.workers,
                             ray_address=self.cfg.ray_address)
        try:
            jobs = [MapJob(b, spec, tuple(mapped), self.aux, facts=True,
                           sample_ids=None if keep is None else keep[
                               (keep >= b.first_id) & (keep < b.first_id + b.n_records)])
                    for b in self.plan.batches]
            if keep is None:  # every record goes to the whole-dataset checks
                jobs = [replace(j, sample_ids=np.arange(j.batch.first_id, j.batch.first_id
                                                        + j.batch.n_records)) for j in jobs]
            outputs = self._run_jobs(engine, jobs, mapped)
            data = self._facts(outputs, probe)
            self._combine(mapped, outputs, self.aux.context(data), engine, self.plan.batches,
                          spec)
            del outputs, jobs  # the partials: the whole-dataset checks' workers need none
        finally:
            engine.close()
        self._whole_on_sample(whole, data)

    def _facts(self, outputs: Sequence[BatchOutput], probe: DatasetView) -> DatasetView:
        """What the batches told about the data: counts, skipped records, splits, the record
        index; and the view of the records the whole-dataset checks see."""
        self.n = sum(o.n for o in outputs)
        self.skipped = [s for o in outputs for s in o.skipped]
        for output in outputs:
            for name, count in output.splits.items():
                self.splits[name] = self.splits.get(name, 0) + count
        self.index = RecordIndex.from_parts([o.ids for o in outputs],
                                            [o.content for o in outputs],
                                            [o.key for o in outputs])
        for output in outputs:  # the index holds them now
            output.ids, output.content, output.key = output.ids[:0], output.content[:0], \
                output.key[:0]
        return_free_memory()
        parts = [o.sample for o in outputs if o.sample is not None]
        table = pa.concat_tables([p[0] for p in parts], promote_options="permissive") \
            if parts else probe.table.slice(0, 0)
        raw = pa.concat_tables([p[1] for p in parts], promote_options="permissive") \
            if parts else probe.raw.slice(0, 0)
        data = DatasetView(table, raw=raw, schema=probe.schema, source=self.plan.source,
                           skipped=self.skipped)
        self.data = data
        return data

    def _whole_on_sample(self, whole: Sequence[Check], data: DatasetView) -> None:
        ctx = self.aux.context(data)
        if self.cfg.engine == "pool" and whole:
            return_free_memory()  # each forked worker would count what the driver freed
            local = make_engine("pool", workers=self.cfg.workers)  # forks now: sees `data`
            token = share(data)
            try:
                jobs2 = [CheckJob(tuple(g), token, self.aux, self.cfg)
                         for g in artifact_groups(whole)]
                self._run_jobs(local, jobs2, [])
            finally:
                local.close()
                unshare(token)
        else:
            self._run_locally(whole, ctx)
        if self.sampled is not None:
            note = {"records": self.sampled[0], "of": self.sampled[1], "seed": self.cfg.seed}
            for check in whole:
                result = self.by_name.get(check.name)
                if result is not None and result.status not in (Status.SKIPPED,):
                    self.by_name[check.name] = replace(
                        result, details={**result.details, "driver_sample": note})

    # -- helpers --------------------------------------------------------------------------------
    def _split_by_needs(self, ctx: RunContext) -> tuple[list[Check], list[Check]]:
        """(splittable checks whose needs are met, whole-dataset checks); checks with an
        unmet need are SKIPPED here."""
        mapped, whole = [], []
        for check in self.selected:
            reason = unmet_need(check, ctx)
            if reason is not None:
                self.by_name[check.name] = CheckResult(
                    name=check.name, category=check.category, status=Status.SKIPPED,
                    description=check.describe(), params=check.get_params(),
                    skipped_reason=reason)
            elif check.splittable() and check.can_split(ctx):
                mapped.append(check)
            else:
                whole.append(check)
        return mapped, whole

    def _run_jobs(self, engine: Engine, jobs: Sequence[Any], mapped: Sequence[Check]
                  ) -> list[BatchOutput]:
        """Run jobs; check jobs' results are stored, map outputs returned in batch order."""
        outputs: list[BatchOutput] = []
        n_batches = sum(isinstance(j, MapJob) for j in jobs)
        n_checks = sum(len(j.checks) for j in jobs if isinstance(j, CheckJob))
        with self.reporter.task("Records", self.plan.n_records if n_batches else None) as rec, \
                self.reporter.task("Checks", n_checks or None) as chk:
            for index, value, error in engine.run(jobs):
                job = jobs[index]
                if isinstance(job, CheckJob):
                    if error is not None:
                        value = CheckJobOutput(failed_job_results(
                            job.checks, error, "a worker running "
                            f"{', '.join(c.name for c in job.checks)}"), CacheUse())
                    self.worker_cache_use += value.cache
                    for result in value.results:
                        self.by_name[result.name] = result
                    chk(len(job.checks))
                    continue
                if error is not None:
                    if isinstance(error, AuditError):
                        raise error
                    for result in failed_job_results(mapped, error, job.batch.describe()):
                        self.by_name[result.name] = result
                    continue
                outputs.append(value)
                self.worker_cache_use += value.cache
                rec(job.batch.n_records)
        return sorted(outputs, key=lambda o: o.index)

    def _run_locally(self, checks: Sequence[Check], ctx: RunContext) -> None:
        with self.reporter.task("Checks", len(checks) or None) as advance:
            for done, check in enumerate(checks, start=1):
                self.by_name[check.name] = run_check(check, ctx, self.cfg)
                ctx.release(still_used(checks[done:]))
                advance(1)

    def _combine(self, mapped: Sequence[Check], outputs: Sequence[BatchOutput],
                 ctx: RunContext, engine: Engine, batches: Sequence[Batch],
                 spec: ShardSpec | None) -> None:
        """Each splittable check's result; first a second pass over the batches for the
        checks that ask for one (`Check.second_pass`)."""
        describe = {b.index: b.describe() for b in self.plan.batches}
        n = sum(o.n for o in outputs) if not self.plan.in_memory else ctx.data.n
        requests: dict[str, Any] = {}
        for check in mapped:
            if check.name in self.by_name or any(check.name in o.errors for o in outputs):
                continue  # its job failed as a whole, or a batch failed: combine_check says
            try:
                request = check.second_pass([o.partials[check.name] for o in outputs], n, ctx)
            except Exception as exc:
                self.by_name[check.name] = failed_job_results([check], exc, "second pass")[0]
                continue
            if request is not None:
                requests[check.name] = request
        again: list[BatchOutput] = []
        if requests:
            asking = tuple(c for c in mapped if c.name in requests)
            again = self._run_jobs(engine, [MapJob(b, spec, asking, self.aux, facts=False,
                                                   again=requests) for b in batches], asking)
        # the largest partials first: each check's are freed once it is combined, so the
        # checks after it combine beside less (results do not depend on the order)
        everything = [*outputs, *again]
        for check in sorted(mapped, key=lambda c: -sum(nbytes(o.partials.get(c.name))
                                                       for o in everything)):
            if check.name not in self.by_name:
                self.by_name[check.name] = combine_check(
                    check, outputs, n, ctx, self.cfg, describe,
                    again=again if check.name in requests else None)
            for output in everything:  # combined: the run needs them no more
                output.partials.pop(check.name, None)
            return_free_memory()


class IncompleteAuditError(Exception):
    """An internal error stopped the audit; `result` holds the checks that completed (its
    verdict is no-go), so callers can still write it before reporting the error."""

    def __init__(self, result: AuditResult) -> None:
        super().__init__(result.verdict.reasons[0])
        self.result = result


def _result(run: AuditRun, results: Sequence[CheckResult], verdict: Verdict, cfg: Config,
            examples: Mapping[int, Mapping[str, Any]], started: float, aux: Aux) -> AuditResult:
    from audit import __version__

    data = run.data
    assert data is not None
    if run.plan.in_memory:
        info = dataset_info(data)
    else:
        info = DatasetInfo(source=run.plan.source, schema=data.schema.name,
                           fields=dict(data.schema.fields), n_records=run.n,
                           fingerprint=index_fingerprint(data.schema, run.index),
                           n_skipped=len(run.skipped), splits=run.splits)
    return AuditResult(
        tool_version=__version__,
        dataset=info,
        eval_dataset=dataset_info(aux.eval_data) if aux.eval_data is not None else None,
        checks=tuple(results),
        verdict=verdict,
        config=cfg.to_dict(),
        seed=cfg.seed,
        examples=examples,
        duration_s=time.perf_counter() - started,
        record_index=run.index,
        cache_use=None if run.cache_use is None else run.cache_use.to_dict(),
    )
