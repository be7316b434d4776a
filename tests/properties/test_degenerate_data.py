"""Degenerate but valid data never errors (property-based).

Hypothesis builds datasets in every record schema: 1, 2 or a few records, all identical, one
class, every record its own class, numeric and boolean labels, empty and whitespace-only
fields, non-Latin scripts, emoji, RTL marks, control characters, escaped lone surrogates,
JSON inside text fields, nulls where a field is optional, and numbers or booleans where text is
expected. Each is written as a JSONL file and audited with every registered check: each ends
PASSED, WARNED, FAILED or SKIPPED with a reason, never ERRORED, and the result is strict JSON
that validates against the published schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import Status, run_audit
from audit.registry import all_checks
from audit.result_io import schema

ODD_TEXTS = (
    "", " ", "\t\n ", "héllo wörld", "日本語のテキストです。東京に行きました。",
    "مرحبا بالعالم كيف حالك", "नमस्ते दुनिया", "สวัสดีครับ ยินดีต้อนรับ", "😀🎉👍🏽 👨‍👩‍👧",
    "\u202eRTL override\u202c text", "\u200f\u200e\u200b", "a\x00b\x07c\x1b[31mred",
    "\ud800 lone surrogate \udfff", '{"a": 1, "b": [1, 2]}', "[1, 2, 3]", "null",
    "The cat sat on the mat. " * 40, "NaN", "Infinity",
)
SCHEMAS = ("chat", "sharegpt", "alpaca", "prompt_completion", "prompt_response",
           "question_answer", "text_label", "text")
PAIRS = {"prompt_completion": ("prompt", "completion"), "prompt_response": ("prompt", "response"),
         "question_answer": ("question", "answer"), "text_label": ("text", None),
         "text": ("text", None)}
SHAPES = ("random", "identical", "one_class", "own_class")

texts = st.one_of(st.sampled_from(ODD_TEXTS), st.text(max_size=60))
#: what a text field may hold: mostly text, sometimes a number or a boolean
values = st.one_of(texts, texts, texts, st.integers(-(2 ** 70), 2 ** 70),
                   st.floats(allow_nan=False, allow_infinity=False), st.booleans())
labels = st.one_of(st.sampled_from(["a", "b", "c"]), st.integers(0, 3), st.booleans(),
                   st.sampled_from([0.5, 1.5]))
ALL_CHECKS = tuple(all_checks())


@st.composite
def datasets(draw: st.DrawFn) -> list[dict[str, Any]]:
    schema_name = draw(st.sampled_from(SCHEMAS))
    n = draw(st.sampled_from((1, 2, 3, 5, 12)))
    shape = draw(st.sampled_from(SHAPES))
    labelled = schema_name == "text_label" or draw(st.booleans())

    def record(i: int) -> dict[str, Any]:
        if schema_name == "chat":
            turns = [{"role": "user", "content": draw(values)},
                     {"role": "assistant", "content": draw(values)}]
            if draw(st.booleans()):
                turns.insert(0, {"role": "system", "content": draw(values)})
            out: dict[str, Any] = {"messages": turns}
        elif schema_name == "sharegpt":
            out = {"conversations": [{"from": "human", "value": draw(values)},
                                     {"from": "gpt", "value": draw(values)}]}
        elif schema_name == "alpaca":
            out = {"instruction": draw(values), "input": draw(st.one_of(values, st.none())),
                   "output": draw(values)}
        else:
            first, second = PAIRS[schema_name]
            out = {first: draw(values)}
            if second:
                out[second] = draw(values)
        if labelled:
            out["label"] = {"one_class": "same", "own_class": f"class {i}"}.get(
                shape, draw(labels))
        return out

    if shape == "identical":
        first_record = record(0)
        return [json.loads(json.dumps(first_record)) for _ in range(n)]
    return [record(i) for i in range(n)]


def audit_file(records: list[dict[str, Any]], folder: Path) -> Any:
    path = folder / "data.jsonl"
    # ensure_ascii escapes lone surrogates as \ud800, as real exports do
    path.write_text("".join(json.dumps(r, ensure_ascii=True) + "\n" for r in records))
    return run_audit(path, checks=ALL_CHECKS)


def assert_clean(result: Any) -> None:
    errored = {c.name: c.error for c in result.checks if c.status is Status.ERRORED}
    assert not errored, errored
    for check in result.checks:
        assert check.status is not Status.SKIPPED or check.skipped_reason, check.name
    doc = json.loads(result.to_json(), parse_constant=_not_json)  # strict: no NaN/Infinity
    jsonschema.validate(doc, schema())


def _not_json(constant: str) -> None:
    raise AssertionError(f"the result holds {constant}, which strict JSON does not allow")


@pytest.mark.slow
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(records=datasets())
def test_degenerate_datasets_never_error(records: list[dict[str, Any]],
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    assert_clean(audit_file(records, tmp_path_factory.mktemp("degenerate")))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("schema_name", SCHEMAS)
def test_each_shape_of_each_schema(schema_name: str, shape: str, tmp_path: Path) -> None:
    """The named corners, one by one (readable failures): 12 records of plain text."""
    records = []
    for i in range(12):
        text = "the same words" if shape == "identical" else f"record number {i} says {i * 7}"
        if schema_name == "chat":
            record: dict[str, Any] = {"messages": [{"role": "user", "content": text},
                                                   {"role": "assistant", "content": text}]}
        elif schema_name == "sharegpt":
            record = {"conversations": [{"from": "human", "value": text},
                                        {"from": "gpt", "value": text}]}
        elif schema_name == "alpaca":
            record = {"instruction": text, "input": "", "output": text}
        else:
            first, second = PAIRS[schema_name]
            record = {first: text, **({second: text} if second else {})}
        if schema_name == "text_label" or shape in ("one_class", "own_class"):
            record["label"] = {"one_class": "same", "own_class": f"class {i}"}.get(shape, i % 2)
        records.append(record)
    assert_clean(audit_file(records, tmp_path))


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_labels_are_bad_records_listed_with_skip(blank: str | None, tmp_path: Path) -> None:
    """A record without a label cannot be trained on: the load says where (exit 2), and with
    on_bad_records = "skip" the audit runs on the rest and `bad_records` lists it."""
    from audit.errors import SchemaError

    records = [{"text": f"review number {i} was fine", "label": "ab"[i % 2]} for i in range(12)]
    records[4]["label"] = blank
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(SchemaError, match="line 5: label field 'label' has no value"):
        run_audit(path, checks=ALL_CHECKS)
    result = run_audit(path, checks=ALL_CHECKS, config={"on_bad_records": "skip"})
    assert_clean(result)
    assert result.check("bad_records").findings[0].records == (4,)


def test_one_huge_record(tmp_path: Path) -> None:
    """A 5 MB record among ordinary ones."""
    records = [{"prompt": f"question {i}", "response": f"answer number {i}"} for i in range(20)]
    records[7]["response"] = ("word " * 1_000_000) + "end"
    assert_clean(audit_file(records, tmp_path))
