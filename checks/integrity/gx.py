"""Great Expectations as the integrity engine: the normalised table validated by a GX suite.

The suite holds the built-in integrity expectations (required fields present and non-null,
text lengths within bounds, labels in the declared set, ids unique) plus any expectations the
user adds in the config by GX class name and kwargs:

    [checks.gx_expectations.params]
    label_values = ["billing", "account"]
    expectations = [
      {type = "ExpectColumnValuesToMatchRegex", kwargs = {column = "response", regex = "^[A-Z]"}},
    ]

Columns are the normalised ones (`id`, `prompt`, `response`, `text`, `system`, `context`,
`label`, `split`) or any original field of the data (an original field whose name clashes with
a normalised column is `raw.<name>`). `ft-audit gx-suite` writes the same suite as GX JSON.

Great Expectations takes seconds to import: it is imported only when a suite is built.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.check import Check, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.errors import InvalidParameterError
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation import Expectation

CHECK_NAME = "gx_expectations"
RAW_PREFIX = "raw."
#: original fields taken as record ids (first present wins) when `id_field = "auto"`
ID_FIELD_CANDIDATES = ("id", "uid", "uuid", "example_id", "record_id", "sample_id")
#: the meta key that carries ft-audit's finding code on each expectation of the suite
CODE_KEY = "ft_audit_code"
#: unexpected values quoted per finding (shortened), to keep results small
MAX_QUOTED_VALUES = 5
QUOTE_CHARS = 80

_SEVERITY = {"critical": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}
_SPEC_KEYS = ("type", "kwargs", "meta", "severity")


class ExpectationSpec(dict):  # type: ignore[type-arg]
    """One user expectation from the config: {"type", "kwargs", "meta"?, "severity"?}.

    A dict (so params stay plain JSON) that is hashable (so the check's params are).
    """

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(json.dumps(self, sort_keys=True, default=str))

    @property
    def type(self) -> str:
        return str(self["type"])

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.get("kwargs") or {})


def parse_spec(value: Any, index: int) -> ExpectationSpec:
    """Check the shape of one configured expectation (no GX import needed)."""
    where = f"check {CHECK_NAME!r} parameter 'expectations' item {index}"
    if not isinstance(value, Mapping):
        raise InvalidParameterError(
            f"{where} must be a table like {{type = \"ExpectColumnValuesToMatchRegex\", kwargs = "
            f"{{column = \"response\", regex = \"...\"}}}}, got {value!r}")
    unknown = sorted(set(value) - set(_SPEC_KEYS))
    if unknown:
        raise InvalidParameterError(
            f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; allowed: "
            f"{', '.join(_SPEC_KEYS)}")
    if not isinstance(value.get("type"), str) or not value["type"].strip():
        raise InvalidParameterError(f"{where} needs a 'type': a GX expectation class name such as "
                                    "'ExpectColumnValuesToMatchRegex' (or its snake_case form)")
    for key in ("kwargs", "meta"):
        if key in value and not isinstance(value[key], Mapping):
            raise InvalidParameterError(f"{where} ({value['type']}): {key!r} must be a table, "
                                        f"got {value[key]!r}")
    if "severity" in value and value["severity"] not in _SEVERITY:
        raise InvalidParameterError(f"{where} ({value['type']}): severity must be one of "
                                    f"{', '.join(_SEVERITY)}, got {value['severity']!r}")
    return ExpectationSpec({k: value[k] for k in _SPEC_KEYS if k in value})


def snake_name(type_name: str) -> str:
    """'ExpectColumnValuesToMatchRegex' or 'expect_column_values_to_match_regex' -> snake_case."""
    name = type_name.strip()
    if "_" in name or name.islower():
        return name.lower()
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def make_expectation(spec: ExpectationSpec, *, columns: Sequence[str] | None = None) -> Expectation:
    """A GX Expectation from a configured spec; unknown names or bad kwargs raise a config error.

    `columns`, when given, are the columns the data offers: a `column` kwarg must name one.
    """
    import pydantic
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import (
        get_expectation_impl,
        list_registered_expectation_implementations,
    )

    snake = snake_name(spec.type)
    where = f"check {CHECK_NAME!r}: expectation {spec.type!r}"
    try:
        cls = get_expectation_impl(snake)
    except ExpectationNotFoundError:
        from audit.errors import did_you_mean

        raise InvalidParameterError(
            f"{where} is not a Great Expectations expectation.{did_you_mean(snake, list_registered_expectation_implementations())} "  # noqa: E501
            "Use a GX class name such as 'ExpectColumnValuesToMatchRegex' or its snake_case form."
        ) from None
    kwargs = spec.kwargs
    if columns is not None:
        for key in ("column", "column_A", "column_B"):
            if key in kwargs and kwargs[key] not in columns:
                raise InvalidParameterError(
                    f"{where}: column {kwargs[key]!r} is not in the data; columns: "
                    f"{', '.join(columns)}")
    meta = {**(spec.get("meta") or {}), CODE_KEY: snake}
    try:
        return cls(**kwargs, meta=meta, severity=spec.get("severity", "warning"))
    except (pydantic.ValidationError, TypeError, ValueError) as exc:
        detail = str(exc).replace("\n", "; ")
        raise InvalidParameterError(f"{where} has invalid kwargs {kwargs!r}: {detail}") from None


@dataclass(frozen=True)
class Plan:
    """What the suite validates: the columns it needs and the expectations, in order."""

    expectations: tuple[Expectation, ...]
    columns: tuple[str, ...]


def available_columns(data: DatasetView) -> dict[str, tuple[str, str]]:
    """Column name as the suite sees it -> ("table" | "raw", column in that table)."""
    out: dict[str, tuple[str, str]] = {}
    for name in data.table.column_names:
        if name != "messages" and name != "line":
            out[name] = ("table", name)
    for name in data.raw.column_names:
        out[RAW_PREFIX + name if name in out else name] = ("raw", name)
    return out


def _id_field(data: DatasetView | None, id_field: str) -> str | None:
    if data is None or not id_field:
        return None
    raw = data.raw.column_names
    if id_field != "auto":
        if id_field not in raw:
            raise InvalidParameterError(
                f"check {CHECK_NAME!r} parameter 'id_field': {id_field!r} is not a field of the "
                f"data; fields: {', '.join(raw)}")
        return id_field
    import pyarrow as pa

    for name in ID_FIELD_CANDIDATES:
        if name in raw and not pa.types.is_nested(data.raw.schema.field(name).type):
            return name
    return None


def build_plan(params: Any, data: DatasetView | None = None) -> Plan:
    """The effective suite for `data` (or, without data, for prompt/response records)."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity

    critical, warning = FailureSeverity.CRITICAL, FailureSeverity.WARNING

    has_prompt = data is None or data.has_prompt
    has_response = data is None or data.has_response
    has_labels = data is not None and data.has_labels
    exps: list[Expectation] = [gxe.ExpectColumnValuesToBeUnique(
        column="id", meta={CODE_KEY: "duplicate_id"}, severity=critical)]
    columns = ["id"]
    raw_id = _id_field(data, params.id_field)
    if raw_id is not None and data is not None:
        name = RAW_PREFIX + raw_id if raw_id in data.table.column_names else raw_id
        exps.append(gxe.ExpectColumnValuesToBeUnique(
            column=name, meta={CODE_KEY: "duplicate_source_id"}, severity=critical))
        columns.append(name)
    for field, present, lo, hi in (
            ("prompt", has_prompt, params.min_prompt_chars, params.max_prompt_chars),
            ("response", has_response, params.min_response_chars, params.max_response_chars)):
        if not present:
            continue
        columns.append(field)
        exps.append(gxe.ExpectColumnToExist(column=field, meta={CODE_KEY: f"missing_{field}"},
                                            severity=critical))
        exps.append(gxe.ExpectColumnValuesToNotBeNull(
            column=field, meta={CODE_KEY: f"null_{field}"}, severity=critical))
        exps.append(gxe.ExpectColumnValueLengthsToBeBetween(
            column=field, min_value=lo or None, max_value=hi,
            meta={CODE_KEY: f"{field}_length"}, severity=warning))
    if params.label_values and (has_labels or data is None):
        columns.append("label")
        exps.append(gxe.ExpectColumnValuesToBeInSet(
            column="label", value_set=list(params.label_values),
            meta={CODE_KEY: "label_not_in_set"}, severity=critical))
    known = list(available_columns(data)) if data is not None else None
    for spec in params.expectations:
        expectation = make_expectation(spec, columns=known)
        exps.append(expectation)
        for key in ("column", "column_A", "column_B"):
            column = spec.kwargs.get(key)
            if isinstance(column, str) and column not in columns:
                columns.append(column)
    return Plan(expectations=tuple(exps), columns=tuple(columns))


def ephemeral_context() -> Any:
    """A fresh in-memory GX context (no files, no analytics, no progress bars); GX makes it the
    process's current context, which suites need."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                               analytics_enabled=False,
                               progress_bars=ProgressBarsConfig(globally=False))
    return gx.get_context(mode="ephemeral", project_config=config)


def build_suite(plan: Plan, name: str = "ft_audit_integrity") -> ExpectationSuite:
    import great_expectations as gx

    ephemeral_context()
    suite = gx.ExpectationSuite(name=name, meta={
        "ft_audit": "integrity suite generated by ft-audit; columns are ft-audit's normalised "
                    "columns (id, prompt, response, text, label, ...) or original field names"})
    for expectation in plan.expectations:
        suite.add_expectation(expectation)
    return suite


def suite_json(suite: ExpectationSuite) -> str:
    """The suite as GX JSON (loadable with `ExpectationSuite(**json.load(f))`)."""
    return json.dumps(suite.to_json_dict(), indent=2, sort_keys=True, default=str) + "\n"


def frame_for(data: DatasetView, columns: Sequence[str]) -> pd.DataFrame:
    """Only the columns the suite needs, positions as the index (row i is data position i)."""
    import pyarrow as pa

    sources = available_columns(data)
    arrays = {}
    for name in columns:
        where, column = sources.get(name, ("table", name))
        table = data.table if where == "table" else data.raw
        if column in table.column_names:
            arrays[name] = table.column(column)
    frame: pd.DataFrame = pa.table(arrays).to_pandas() if arrays else pa.table(
        {"id": pa.array([], pa.int64())}).to_pandas()
    return frame


@contextmanager
def quiet_gx() -> Iterator[None]:
    """GX without log noise or warnings."""
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def validate(plan: Plan, frame: pd.DataFrame) -> list[Any]:
    """Run the suite on `frame` in an ephemeral GX context (in memory, no progress bars)."""
    suite = build_suite(plan)
    context = ephemeral_context()
    asset = context.data_sources.add_pandas("ft_audit").add_dataframe_asset(name="records")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "partial_unexpected_count": MAX_QUOTED_VALUES,
        "return_unexpected_index_query": False})
    return list(result.results)


def _quote(value: Any) -> Any:
    if isinstance(value, str) and len(value) > QUOTE_CHARS:
        return value[:QUOTE_CHARS] + "…"
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)[:QUOTE_CHARS]


@register
class GxExpectations(Check):
    """The normalised table validated by a Great Expectations suite: fields, lengths, labels, ids.

    Built-in expectations: prompt and response present and non-null, their lengths within
    bounds, labels in the declared set (`label_values`), record ids unique (also the data's own
    id field when it has one). Add your own GX expectations by class name and kwargs in
    `expectations`; `ft-audit gx-suite` exports the effective suite as GX JSON so your team's GX
    project can enforce the same contract. Broken structure caught here (nulls, duplicated ids,
    labels outside the set) silently corrupts training batches and evaluation splits.
    """

    name = CHECK_NAME
    category = "integrity"
    metrics = ("failed_expectations", "critical_failures", "unexpected_record_fraction",
               "n_expectations")
    default_thresholds = (
        Threshold(metric="critical_failures", warn=None, fail=0.0),
        Threshold(metric="failed_expectations", warn=0.0, fail=None),
    )

    @dataclass(frozen=True)
    class Params:
        min_prompt_chars: int = param(1, doc="shortest allowed prompt, in characters", ge=0)
        max_prompt_chars: int = param(100_000, doc="longest allowed prompt, in characters", ge=1)
        min_response_chars: int = param(0, doc="shortest allowed response (0: no lower bound; "
                                               "empty responses are empty_responses' job)", ge=0)
        max_response_chars: int = param(100_000, doc="longest allowed response, in characters",
                                        ge=1)
        label_values: tuple[str, ...] = param((), doc="the declared label set; labels outside it "
                                                      "are flagged (empty: not checked)")
        id_field: str = param("auto", doc="original field holding record ids, checked for "
                                          "uniqueness; 'auto': the first of id, uid, uuid, "
                                          "example_id, record_id, sample_id; '': none")
        expectations: tuple[Any, ...] = param((), doc="extra GX expectations: tables {type = "
                                                      "\"ExpectColumnValuesToMatchRegex\", "
                                                      "kwargs = {column = \"response\", regex = "
                                                      "\"...\"}, severity = \"warning\"}")

        def __post_init__(self) -> None:
            specs = tuple(parse_spec(v, i) for i, v in enumerate(self.expectations))
            object.__setattr__(self, "expectations", specs)
            for lo, hi, what in ((self.min_prompt_chars, self.max_prompt_chars, "prompt"),
                                 (self.min_response_chars, self.max_response_chars, "response")):
                if lo > hi:
                    raise InvalidParameterError(
                        f"check {CHECK_NAME!r}: min_{what}_chars={lo} is above "
                        f"max_{what}_chars={hi}")
            if specs:  # fail at config time, not mid-audit, on unknown names or bad kwargs
                with quiet_gx():
                    for spec in specs:
                        make_expectation(spec)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        with quiet_gx():
            plan = build_plan(self.params, data)
            if data.n == 0:
                return Measurement(metrics={
                    "failed_expectations": 0.0, "critical_failures": 0.0,
                    "unexpected_record_fraction": 0.0,
                    "n_expectations": float(len(plan.expectations))})
            results = validate(plan, frame_for(data, plan.columns))
        findings: list[Finding] = []
        flagged = np.zeros(data.n, dtype=bool)
        summary = []
        critical = 0
        for outcome in _in_plan_order(plan, results):
            config = outcome.expectation_config
            kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
            code = str((config.meta or {}).get(CODE_KEY, config.type))
            summary.append({"code": code, "type": config.type, "success": bool(outcome.success),
                            "column": kwargs.get("column")})
            if outcome.success:
                continue
            severity = _SEVERITY.get(str(getattr(config.severity, "value", config.severity)),
                                     Severity.WARNING)
            critical += severity is Severity.ERROR
            findings.append(self._finding(code, config.type, kwargs, outcome, severity, data,
                                          flagged))
        metrics = {
            "failed_expectations": float(len(findings)),
            "critical_failures": float(critical),
            "unexpected_record_fraction": float(flagged.mean()),
            "n_expectations": float(len(plan.expectations)),
        }
        details: dict[str, Any] = {"expectations": summary}
        if self.params.label_values and not data.has_labels:
            details["note"] = ("label_values is set but the data has no label field: the label "
                               "set was not checked (map one with --label-field)")
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)

    def _finding(self, code: str, gx_type: str, kwargs: Mapping[str, Any], outcome: Any,
                 severity: Severity, data: DatasetView, flagged: np.ndarray) -> Finding:
        result = outcome.result or {}
        if outcome.exception_info and outcome.exception_info.get("raised_exception"):
            message = str(outcome.exception_info.get("exception_message", ""))[:300]
            return Finding(check=self.name, code=code, severity=severity,
                           message=f"{gx_type} could not be evaluated: {message}",
                           metric="failed_expectations", details={"kwargs": _jsonable(kwargs)})
        positions = np.asarray(result.get("unexpected_index_list") or [], dtype=np.int64)
        positions = positions[(positions >= 0) & (positions < data.n)]
        flagged[positions] = True
        count = int(result.get("unexpected_count") or len(positions))
        column = kwargs.get("column")
        where = f" in column {column!r}" if column else ""
        message = (f"{count} records fail {gx_type}{where}" if count
                   else f"{gx_type}{where} failed (observed {_quote(result.get('observed_value'))})")
        details: dict[str, Any] = {"expectation": gx_type, "kwargs": _jsonable(kwargs)}
        if "unexpected_percent" in result:
            details["unexpected_percent"] = _quote(result.get("unexpected_percent"))
        values = result.get("partial_unexpected_list") or []
        if values:
            details["examples"] = [_quote(v) for v in values[:MAX_QUOTED_VALUES]]
        if "observed_value" in result:
            details["observed_value"] = _quote(result["observed_value"])
        return Finding(check=self.name, code=code, severity=severity, message=message,
                       metric="unexpected_record_fraction", value=count / data.n,
                       records=tuple(int(i) for i in data.ids[np.sort(positions)]),
                       n_records=count, details=details)


def _in_plan_order(plan: Plan, results: Sequence[Any]) -> list[Any]:
    """GX returns results grouped by domain, not in suite order: restore the suite's order."""
    order = {_key(e.configuration.to_json_dict()): i for i, e in enumerate(plan.expectations)}
    return sorted(results, key=lambda r: order.get(
        _key(r.expectation_config.to_json_dict()), len(order)))


def _key(config: Mapping[str, Any]) -> str:
    kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
    return json.dumps([config.get("type"), kwargs, config.get("meta")], sort_keys=True,
                      default=str)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def effective_suite_json(params: Mapping[str, Any] | None = None,
                         data: DatasetView | None = None) -> tuple[str, int]:
    """The `gx_expectations` suite that an audit of `data` would validate (built-in and
    configured expectations), as GX JSON, and its number of expectations. `params` are the
    check's parameters (config `[checks.gx_expectations.params]`)."""
    check = GxExpectations(**dict(params or {}))
    with quiet_gx():
        plan = build_plan(check.params, data)
        return suite_json(build_suite(plan)), len(plan.expectations)
