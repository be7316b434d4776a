"""Golden results: the JSON result of each sample dataset, timings and check descriptions
aside, equals the stored one.

A refactor must leave these files untouched. A change that means to change results updates
them in the same commit, and says why:

    FT_AUDIT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from audit import run_audit

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
SAMPLES = {
    "support_alpaca": {"eval": ROOT / "sample_data" / "support_eval.jsonl"},
    "resumes_chat": {},
    "reviews_classification": {},
}


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The result without what may change when nothing measured does: timings, the checks'
    descriptions (their docstrings), the tool version and the source path."""
    doc = json.loads(json.dumps(doc))
    doc.pop("duration_s", None)
    doc.pop("tool_version", None)
    doc.pop("schema_version", None)  # the form, checked against the schema in its own tests
    doc.pop("record_index", None)  # content hashes: tested in tests/audit/test_hashing.py
    if doc.get("baseline") is None:
        doc.pop("baseline", None)  # a run without --baseline
    if doc.get("cache_use") is None:
        doc.pop("cache_use", None)  # a run without --cache
    doc["dataset"].pop("source", None)
    if doc.get("eval_dataset"):
        doc["eval_dataset"].pop("source", None)
    for check in doc["checks"]:
        check.pop("duration_s", None)
        check.pop("description", None)
    return doc


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_results_are_unchanged(name: str) -> None:
    result = run_audit(ROOT / "sample_data" / f"{name}.jsonl", **SAMPLES[name])
    got = comparable(json.loads(result.to_json()))
    path = GOLDEN / f"{name}.json"
    if os.environ.get("FT_AUDIT_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    expected = comparable(json.loads(path.read_text(encoding="utf-8")))
    assert_same(got, expected, name)


def assert_same(got: Any, expected: Any, where: str) -> None:
    """Equal, floats to a relative 1e-6 (BLAS builds differ in the last bits)."""
    if isinstance(expected, float) or isinstance(got, float):
        assert isinstance(got, (int, float)) and isinstance(expected, (int, float)), where
        assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9), (
            f"{where}: {got} != {expected}")
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(expected), (
            f"{where}: keys {sorted(set(got) ^ set(expected))} differ")
        for key in expected:
            assert_same(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), f"{where}: length differs"
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            label = a.get("name", i) if isinstance(a, dict) else i
            assert_same(a, b, f"{where}[{label}]")
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"
