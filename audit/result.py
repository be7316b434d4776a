"""Frozen, typed, plain-data results: what checks measure and what the judge decides.

Nothing here imports a heavy library, and everything converts to and from plain JSON-able
dicts (`to_dict` / `from_dict`), so a saved audit can be re-rendered or re-judged without
recomputing anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum, StrEnum
from typing import Any, Literal

JSON = Any  # a value made only of dict/list/str/int/float/bool/None

#: How many record ids a renderer shows per finding (the result itself keeps every id).
MAX_FINDING_RECORDS = 1000
#: details key under which non-finite numbers replaced by null are recorded (path -> value)
NON_FINITE_KEY = "non_finite"


class Severity(IntEnum):
    INFO = 10
    WARNING = 20
    ERROR = 30

    @classmethod
    def parse(cls, value: str | int | Severity) -> Severity:
        if isinstance(value, Severity):
            return value
        if isinstance(value, int):
            return cls(value)
        try:
            return cls[value.strip().upper()]
        except KeyError:
            choices = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {value!r}; use one of: {choices}") from None


class Status(StrEnum):
    PASSED = "passed"
    WARNED = "warned"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERRORED = "errored"


Direction = Literal["max", "min"]


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """Turns a metric into a status.

    direction "max": the metric is an upper bound (value > fail -> FAILED, > warn -> WARNED).
    direction "min": the metric is a lower bound (value < fail -> FAILED, < warn -> WARNED).
    """

    metric: str
    warn: float | None = None
    fail: float | None = None
    direction: Direction = "max"

    def __post_init__(self) -> None:
        if self.direction not in ("max", "min"):
            raise ValueError(f"threshold direction must be 'max' or 'min', not {self.direction!r}")
        if self.warn is not None and self.fail is not None:
            inverted = self.warn > self.fail if self.direction == "max" else self.warn < self.fail
            if inverted:
                raise ValueError(
                    f"threshold for {self.metric!r}: warn={self.warn} is beyond fail={self.fail} "
                    f"for direction {self.direction!r}"
                )

    def outcome(self, value: float) -> Status:
        if math.isnan(value):
            return Status.PASSED
        if self.direction == "max":
            if self.fail is not None and value > self.fail:
                return Status.FAILED
            if self.warn is not None and value > self.warn:
                return Status.WARNED
        else:
            if self.fail is not None and value < self.fail:
                return Status.FAILED
            if self.warn is not None and value < self.warn:
                return Status.WARNED
        return Status.PASSED

    def to_dict(self) -> dict[str, JSON]:
        return {"metric": self.metric, "warn": self.warn, "fail": self.fail,
                "direction": self.direction}

    @classmethod
    def from_dict(cls, d: Mapping[str, JSON]) -> Threshold:
        return cls(metric=d["metric"], warn=d.get("warn"), fail=d.get("fail"),
                   direction=d.get("direction", "max"))


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One thing worth a human's attention, with the records that show it."""

    check: str
    code: str
    severity: Severity
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    records: tuple[int, ...] = ()
    n_records: int = -1  # -1: same as len(records)
    details: Mapping[str, JSON] = field(default_factory=dict)
    #: per-record values aligned with `records` (e.g. "score", "cluster", "suggested_label")
    record_values: Mapping[str, Sequence[JSON]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        records = tuple(int(r) for r in self.records)
        n = len(records) if self.n_records < 0 else self.n_records
        object.__setattr__(self, "n_records", max(n, len(records)))
        object.__setattr__(self, "records", records)
        object.__setattr__(self, "severity", Severity.parse(self.severity))
        object.__setattr__(self, "details", plain_details(self.details))
        values: dict[str, tuple[JSON, ...]] = {}
        for key, column in self.record_values.items():
            column = tuple(plain_json(list(column), f"record_values.{key}", {}))
            if len(column) != len(records):
                raise ValueError(f"finding {self.code!r}: record_values[{key!r}] has "
                                 f"{len(column)} values for {len(records)} records")
            values[str(key)] = column
        object.__setattr__(self, "record_values", values)

    def to_dict(self) -> dict[str, JSON]:
        out = {
            "code": self.code,
            "severity": self.severity.name.lower(),
            "message": self.message,
            "metric": self.metric,
            "value": _json_float(self.value),
            "threshold": _json_float(self.threshold),
            "records": list(self.records),
            "n_records": self.n_records,
            "details": dict(self.details),
        }
        if self.record_values:
            out["record_values"] = {k: list(v) for k, v in self.record_values.items()}
        return out

    @classmethod
    def from_dict(cls, check: str, d: Mapping[str, JSON]) -> Finding:
        return cls(check=check, code=d["code"], severity=Severity.parse(d["severity"]),
                   message=d["message"], metric=d.get("metric"), value=d.get("value"),
                   threshold=d.get("threshold"), records=tuple(d.get("records", ())),
                   n_records=d.get("n_records", -1), details=d.get("details", {}),
                   record_values=d.get("record_values", {}))


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """What `Check.run` returns: facts only, no judgement.

    metrics: named numbers that thresholds can judge (NaN means "not applicable").
    findings: evidence with record ids.
    details: small JSON-able summaries worth showing (distributions, tables, curves).
    """

    metrics: Mapping[str, float]
    findings: tuple[Finding, ...] = ()
    details: Mapping[str, JSON] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clean: dict[str, float] = {}
        replaced: dict[str, str] = {}
        for name, value in self.metrics.items():
            if isinstance(value, bool) or (not isinstance(value, (int, float)) and not hasattr(
                value, "__float__"
            )):
                raise TypeError(f"metric {name!r} must be a number, got {type(value).__name__}")
            number = float(value)
            if math.isinf(number):  # NaN means "not applicable"; an infinity is not a measure
                replaced[f"metrics.{name}"] = repr(number)
                number = math.nan
            clean[str(name)] = number
        object.__setattr__(self, "metrics", clean)
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "details", plain_details(self.details, replaced))


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One check's outcome: its measurement and the judgement of it."""

    name: str
    category: str
    status: Status
    metrics: Mapping[str, float] = field(default_factory=dict)
    thresholds: tuple[Threshold, ...] = ()
    findings: tuple[Finding, ...] = ()
    details: Mapping[str, JSON] = field(default_factory=dict)
    deciding_metric: str | None = None
    skipped_reason: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    description: str = ""
    params: Mapping[str, JSON] = field(default_factory=dict)

    def to_dict(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "category": self.category,
            "status": self.status.value,
            "description": self.description,
            "params": dict(self.params),
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "thresholds": [t.to_dict() for t in self.thresholds],
            "deciding_metric": self.deciding_metric,
            "findings": [f.to_dict() for f in self.findings],
            "details": dict(self.details),
            "skipped_reason": self.skipped_reason,
            "error": self.error,
            "duration_s": round(self.duration_s, 6),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, JSON]) -> CheckResult:
        name = d["name"]
        return cls(
            name=name,
            category=d["category"],
            status=Status(d["status"]),
            description=d.get("description", ""),
            params=d.get("params", {}),
            metrics={k: (math.nan if v is None else float(v)) for k, v in d["metrics"].items()},
            thresholds=tuple(Threshold.from_dict(t) for t in d.get("thresholds", ())),
            deciding_metric=d.get("deciding_metric"),
            findings=tuple(Finding.from_dict(name, f) for f in d.get("findings", ())),
            details=d.get("details", {}),
            skipped_reason=d.get("skipped_reason"),
            error=d.get("error"),
            duration_s=float(d.get("duration_s", 0.0)),
        )


@dataclass(frozen=True, kw_only=True)
class Verdict:
    go: bool
    exit_code: int
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSON]:
        return {"go": self.go, "exit_code": self.exit_code, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, d: Mapping[str, JSON]) -> Verdict:
        return cls(go=bool(d["go"]), exit_code=int(d["exit_code"]),
                   reasons=tuple(d.get("reasons", ())))


@dataclass(frozen=True, kw_only=True)
class DatasetInfo:
    source: str
    schema: str
    fields: Mapping[str, JSON]
    n_records: int
    fingerprint: str
    n_skipped: int = 0
    splits: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, JSON]:
        return {"source": self.source, "schema": self.schema, "fields": dict(self.fields),
                "n_records": self.n_records, "fingerprint": self.fingerprint,
                "n_skipped": self.n_skipped, "splits": dict(self.splits)}

    @classmethod
    def from_dict(cls, d: Mapping[str, JSON]) -> DatasetInfo:
        return cls(source=d["source"], schema=d["schema"], fields=d.get("fields", {}),
                   n_records=int(d["n_records"]), fingerprint=d["fingerprint"],
                   n_skipped=int(d.get("n_skipped", 0)), splits=d.get("splits", {}))


@dataclass(frozen=True)
class RecordIndex:
    """Every record of the audited dataset, in input order: its id and two content hashes
    (`audit.hashing`), stored as little-endian bytes (int64 ids, uint64 hashes).

    `content` covers all the record's fields, `key` what identifies the example (its prompt or
    text): `ft-audit diff` and `--baseline` match records and findings by them.
    """

    ids: bytes
    content: bytes
    key: bytes

    @classmethod
    def from_arrays(cls, ids: Any, content: Any, key: Any) -> RecordIndex:
        import numpy as np

        return cls(ids=np.asarray(ids, dtype="<i8").tobytes(),
                   content=np.asarray(content, dtype="<u8").tobytes(),
                   key=np.asarray(key, dtype="<u8").tobytes())

    @classmethod
    def from_parts(cls, ids: Sequence[Any], content: Sequence[Any], key: Sequence[Any]
                   ) -> RecordIndex:
        """`from_arrays` of the concatenated parts (e.g. one per batch), joined as bytes
        without a concatenated copy of each array."""
        import numpy as np

        def joined(parts: Sequence[Any], dtype: str) -> bytes:
            return b"".join(np.asarray(part, dtype=dtype).tobytes() for part in parts)

        return cls(ids=joined(ids, "<i8"), content=joined(content, "<u8"),
                   key=joined(key, "<u8"))

    def arrays(self) -> tuple[Any, Any, Any]:
        """(ids int64, content uint64, key uint64) as read-only numpy arrays."""
        import numpy as np

        return (np.frombuffer(self.ids, dtype="<i8"), np.frombuffer(self.content, dtype="<u8"),
                np.frombuffer(self.key, dtype="<u8"))

    def __len__(self) -> int:
        return len(self.ids) // 8

    def to_dict(self) -> dict[str, JSON]:
        import base64

        return {"encoding": "base64 of little-endian int64 ids and uint64 hashes",
                "n": len(self),
                "ids": base64.b64encode(self.ids).decode("ascii"),
                "content": base64.b64encode(self.content).decode("ascii"),
                "key": base64.b64encode(self.key).decode("ascii")}

    @classmethod
    def from_dict(cls, d: Mapping[str, JSON]) -> RecordIndex:
        import base64

        index = cls(ids=base64.b64decode(d["ids"]), content=base64.b64decode(d["content"]),
                    key=base64.b64decode(d["key"]))
        if not len(index.ids) == len(index.content) == len(index.key) == 8 * int(d["n"]):
            raise ValueError("record_index: ids, content and key do not hold n values each")
        return index


@dataclass(frozen=True, kw_only=True)
class AuditResult:
    """The whole audit: dataset, every check's result, the verdict, and how it was run.

    `examples` maps record ids referenced by findings to short excerpts of those records
    (capped), so reports can show evidence without the dataset at hand.
    """

    tool_version: str
    dataset: DatasetInfo
    checks: tuple[CheckResult, ...]
    verdict: Verdict
    config: Mapping[str, JSON]
    seed: int
    eval_dataset: DatasetInfo | None = None
    examples: Mapping[int, Mapping[str, JSON]] = field(default_factory=dict)
    duration_s: float = 0.0
    #: ids and content hashes of every record (None in results written before schema 1.2)
    record_index: RecordIndex | None = None
    #: the baseline whose known findings this result accepted (`audit.baseline`), if any:
    #: its source and dataset fingerprint
    baseline: Mapping[str, JSON] | None = None
    #: what the run did with the incremental cache (`run --cache`), None without one:
    #: {"read": per-text values read, "computed": texts whose values were computed}
    cache_use: Mapping[str, int] | None = None

    def check(self, name: str) -> CheckResult:
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r} in this result")

    def with_checks(self, checks: Sequence[CheckResult], verdict: Verdict) -> AuditResult:
        return replace(self, checks=tuple(checks), verdict=verdict)

    def to_dict(self) -> dict[str, JSON]:
        from audit.result_io import result_to_dict

        return result_to_dict(self)

    def to_json(self, path: str | None = None, *, indent: int | None = 2) -> str:
        """The versioned JSON form; also written atomically to `path` when given."""
        from audit.io import atomic_write_text
        from audit.result_io import dumps

        text = dumps(self, indent=indent)
        if path is not None:
            atomic_write_text(path, text)
        return text

    def to_html(self, path: str | None = None) -> str:
        """The self-contained HTML report (the "html" renderer, see `audit.renderers`); also
        written atomically to `path` when given."""
        from audit.renderers import get_renderer

        html = get_renderer("html")(self)
        if path is not None:
            from audit.io import atomic_write_text

            atomic_write_text(path, html)
        return html

    def records(self) -> Any:
        """A pandas DataFrame with one row per record: each check's flag, codes and values
        (see `audit.records`)."""
        from audit.records import records_frame

        return records_frame(self)

    def _repr_html_(self) -> str:
        """Notebook display: the verdict and the table of checks."""
        from audit.renderers import get_renderer

        return get_renderer("html_fragment")(self)

    @classmethod
    def from_json(cls, text_or_path: str) -> AuditResult:
        from audit.result_io import load_result

        return load_result(text_or_path)


def plain_details(details: Mapping[str, JSON],
                  replaced: dict[str, str] | None = None) -> dict[str, JSON]:
    """`details` as plain JSON: numpy scalars and arrays become Python values, tuples lists,
    and each NaN or infinity null, its path recorded under `details["non_finite"]`.

    Raises TypeError for a value JSON cannot hold (the check then ends ERRORED): a result is
    made valid where it is made, never at write time.
    """
    replaced = {} if replaced is None else replaced
    if not isinstance(details, Mapping):
        raise TypeError(f"details must be a mapping, got {type(details).__name__}")
    clean = {str(k): plain_json(v, str(k), replaced) for k, v in details.items()}
    if replaced:
        previous = clean.get(NON_FINITE_KEY)
        clean[NON_FINITE_KEY] = {**(previous if isinstance(previous, dict) else {}), **replaced}
    return clean


def plain_json(value: Any, path: str, replaced: dict[str, str]) -> JSON:
    """`value` made of dict/list/str/int/float/bool/None only (see `plain_details`)."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        replaced[path] = repr(value)
        return None
    if isinstance(value, Mapping):
        return {str(k): plain_json(v, f"{path}.{k}", replaced) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v, f"{path}[{i}]", replaced) for i, v in enumerate(value)]
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # scalar or array
        return plain_json(value.tolist(), path, replaced)
    if isinstance(value, Enum):
        return plain_json(value.value, path, replaced)
    raise TypeError(f"details value at {path!r} is a {type(value).__name__}, which JSON cannot "
                    "hold")


def _json_float(value: float | None) -> float | None:
    """JSON has no NaN/inf: they become null (and NaN again on load)."""
    if value is None or not math.isfinite(value):
        return None
    return value
