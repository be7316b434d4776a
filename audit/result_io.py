"""The versioned JSON form of an `AuditResult`, and loading it back (part of the core: a
saved result is re-read, re-judged and re-rendered without the checks).

Schema: `audit/schema/audit-result.schema.json` (JSON Schema draft 2020-12). Same input,
config and seed give byte-identical JSON apart from the `duration_s` timings (and, with a
cache, `cache_use`: what the run read from it, computed and reused).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audit.errors import DataLoadError
from audit.io import atomic_write_text
from audit.result import AuditResult, CheckResult, DatasetInfo, RecordIndex, Verdict

SCHEMA_VERSION = "1.4"
SCHEMA_PATH = Path(__file__).parent / "schema" / "audit-result.schema.json"


def result_to_dict(result: AuditResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool_version": result.tool_version,
        "dataset": result.dataset.to_dict(),
        "eval_dataset": result.eval_dataset.to_dict() if result.eval_dataset else None,
        "verdict": result.verdict.to_dict(),
        "checks": [c.to_dict() for c in result.checks],
        "examples": {str(k): dict(v) for k, v in sorted(result.examples.items())},
        "config": dict(result.config),
        "seed": result.seed,
        "duration_s": round(result.duration_s, 6),
        "record_index": result.record_index.to_dict() if result.record_index else None,
        "baseline": dict(result.baseline) if result.baseline else None,
        "cache_use": dict(result.cache_use) if result.cache_use is not None else None,
    }


def result_from_dict(data: dict[str, Any]) -> AuditResult:
    version = str(data.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise DataLoadError(f"audit JSON has schema_version {version!r}; this ft-audit reads "
                            f"{SCHEMA_VERSION.split('.')[0]}.x")
    return AuditResult(
        tool_version=data["tool_version"],
        dataset=DatasetInfo.from_dict(data["dataset"]),
        eval_dataset=DatasetInfo.from_dict(data["eval_dataset"]) if data.get("eval_dataset")
        else None,
        checks=tuple(CheckResult.from_dict(c) for c in data["checks"]),
        verdict=Verdict.from_dict(data["verdict"]),
        examples={int(k): v for k, v in data.get("examples", {}).items()},
        config=data.get("config", {}),
        seed=int(data.get("seed", 0)),
        duration_s=float(data.get("duration_s", 0.0)),
        record_index=RecordIndex.from_dict(data["record_index"]) if data.get("record_index")
        else None,
        baseline=data.get("baseline"),
        cache_use=data.get("cache_use"),
    )


def dumps(result: AuditResult, *, indent: int | None = 2) -> str:
    """Strict JSON (no NaN/inf: results hold none, see `audit.result.plain_details`).

    Indented objects, but a list of plain values (record ids, per-record scores) on one line,
    so a result listing every flagged record of a large dataset stays compact.
    """
    document = result_to_dict(result)
    if indent is None:
        return json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n"
    return "".join(_encode(document, indent, 0)) + "\n"


def _encode(value: Any, indent: int, level: int) -> list[str]:
    if isinstance(value, dict):
        if not value:
            return ["{}"]
        inner = " " * (indent * (level + 1))
        parts = ["{"]
        for i, (key, item) in enumerate(value.items()):
            parts += ["\n" if i == 0 else ",\n", inner, _scalar(str(key)), ": ",
                      *_encode(item, indent, level + 1)]
        return [*parts, "\n", " " * (indent * level), "}"]
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            return [json.dumps(value, ensure_ascii=False, allow_nan=False)]
        inner = " " * (indent * (level + 1))
        parts = ["["]
        for i, item in enumerate(value):
            parts += ["\n" if i == 0 else ",\n", inner, *_encode(item, indent, level + 1)]
        return [*parts, "\n", " " * (indent * level), "]"]
    return [_scalar(value)]


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def write_json(result: AuditResult, path: str | Path, *, indent: int | None = 2) -> Path:
    return atomic_write_text(path, dumps(result, indent=indent))


def load_result(text_or_path: str | Path) -> AuditResult:
    """An AuditResult from a JSON file path or a JSON string."""
    text = str(text_or_path)
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise DataLoadError(f"{path}: no such audit result file")
        text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataLoadError(f"audit result is not valid JSON: line {exc.lineno}, column "
                            f"{exc.colno}: {exc.msg}") from None
    try:
        return result_from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataLoadError(f"audit result JSON is missing or has a bad field: {exc}") from None


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded
