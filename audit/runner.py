"""`run_audit`: load, run every selected check, judge, decide the verdict.

The runner has no per-check special cases. A check whose needs the data cannot meet is
SKIPPED with the reason; a check that raises is ERRORED with the exception (never silent,
never aborting the audit). Work runs serially in this process, so checks share one memo of
artifacts (`RunContext`); after each check the artifacts no check left to run uses (`Check.uses`)
are freed, so memory holds what the rest of the run needs, not everything computed so far.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from audit.check import Check, Need, SkipCheck
from audit.config import Config, config_from_dict, load_config
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.errors import ConfigError
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
) -> AuditResult:
    """Audit `source` (a path, DataFrame, datasets object, list of dicts or DatasetView).

    `config` may be a Config, a TOML path, or a dict in the config file's shape. `checks`
    restricts the run to these names or instances. `eval`, `probe` and `contamination` are
    extra sources loaded with the same field mapping. `baseline` (a result or its JSON file)
    accepts the findings it already had: only new ones block (`audit.baseline`). Returns the
    judged `AuditResult`.
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
    reporter = progress if isinstance(progress, Progress) else make_progress(progress)
    try:
        data = load_dataset(source, fields=cfg.fields, on_bad_records=cfg.on_bad_records)
        aux_fields = FieldMapping(prompt=cfg.fields.prompt, response=cfg.fields.response,
                                  label=cfg.fields.label, schema=cfg.fields.schema)
        eval_data = None if eval is None else load_dataset(eval, fields=aux_fields,
                                                           on_bad_records=cfg.on_bad_records)
        probe_data = None if probe is None else load_dataset(
            probe, fields=FieldMapping(prompt=cfg.fields.prompt, schema=cfg.fields.schema),
            on_bad_records=cfg.on_bad_records)
        contamination_data = [load_dataset(c, fields=FieldMapping(), on_bad_records="skip")
                              for c in contamination]
        ctx = RunContext(data, seed=cfg.seed, eval_data=eval_data, probe_data=probe_data,
                         contamination=contamination_data, progress=reporter)
        selected = select_checks(cfg, checks)
        names = [c.name for c in selected]
        if len(set(names)) != len(names):
            raise ConfigError(f"a check was selected twice: {', '.join(names)}")
        results: list[CheckResult] = []
        try:
            with reporter.task("Auditing", len(selected)) as advance:
                for done, check in enumerate(selected, start=1):
                    with reporter.task(f"  {check.name}", None):
                        results.append(run_check(check, ctx, cfg))
                    ctx.release(still_used(selected[done:]))
                    advance(1)
            if base_result is not None:
                from audit.baseline import apply_baseline

                results = apply_baseline(results, dict(zip(
                    data.ids.tolist(), data.content_hashes.tolist(), strict=True)),
                    base_result, cfg)
            verdict = decide_verdict(results, cfg.policy)
            examples = collect_examples(data, results)
        except Exception as exc:  # a bug outside the checks: keep what was computed
            partial = _result(data, eval_data, results, Verdict(
                go=False, exit_code=1, reasons=(f"internal error after {len(results)} of "
                                                f"{len(selected)} checks: {_describe_error(exc)}",)),
                cfg, {}, started)
            raise IncompleteAuditError(partial) from exc
    finally:
        reporter.close()
    result = _result(data, eval_data, results, verdict, cfg, examples, started)
    if base_result is not None:
        result = replace(result, baseline={"source": base_result.dataset.source,
                                           "fingerprint": base_result.dataset.fingerprint})
    return result


class IncompleteAuditError(Exception):
    """An internal error stopped the audit; `result` holds the checks that completed (its
    verdict is no-go), so callers can still write it before reporting the error."""

    def __init__(self, result: AuditResult) -> None:
        super().__init__(result.verdict.reasons[0])
        self.result = result


def _result(data: DatasetView, eval_data: DatasetView | None, results: Sequence[CheckResult],
            verdict: Verdict, cfg: Config, examples: Mapping[int, Mapping[str, Any]],
            started: float) -> AuditResult:
    from audit import __version__

    return AuditResult(
        tool_version=__version__,
        dataset=dataset_info(data),
        eval_dataset=dataset_info(eval_data) if eval_data is not None else None,
        checks=tuple(results),
        verdict=verdict,
        config=cfg.to_dict(),
        seed=cfg.seed,
        examples=examples,
        duration_s=time.perf_counter() - started,
        record_index=RecordIndex.from_arrays(data.ids, data.content_hashes, data.key_hashes),
    )
