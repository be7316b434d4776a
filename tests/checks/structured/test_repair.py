"""Structured-output repairs (`ft-audit fix`): only what needs no guessing, and the check agrees."""

from __future__ import annotations

import json

import pytest

from audit import load_dataset
from audit.context import RunContext
from audit.runner import run_check
from checks.structured import (
    JsonStyle,
    StructuredOutput,
    infer_json_style,
    remove_field,
    remove_field_from_text,
    repair_response,
)


def test_python_literal_becomes_json_with_the_same_key_order() -> None:
    repaired = repair_response("{'name': 'Kofi', 'ok': True, 'n': None, 'xs': (1, 2.5), "
                               "'a': {'z': 1, 'b': False}}")
    assert repaired.status == "repaired" and repaired.fixes == ("python_literal",)
    assert repaired.text == ('{"name": "Kofi", "ok": true, "n": null, "xs": [1, 2.5], '
                             '"a": {"z": 1, "b": false}}')
    assert list(json.loads(repaired.text)) == ["name", "ok", "n", "xs", "a"]


def test_python_literal_is_written_in_the_given_style() -> None:
    style = JsonStyle(indent=2, separators=(",", ": "), ensure_ascii=True)
    repaired = repair_response("{'name': 'Zoë', 'n': 1}", style)
    assert repaired.text == '{\n  "name": "Zo\\u00eb",\n  "n": 1\n}'


@pytest.mark.parametrize(("text", "fixes"), [
    ('```json\n{"a": 1,  "b": [1,2]}\n```', ("code_fence",)),
    ('```\n[{"a": 1}]\n```\n', ("code_fence",)),
    ('Here is the JSON: {"a": 1,  "b": [1,2]}', ("leading_text",)),
    ('{"a": 1,  "b": [1,2]}\nHope this helps!', ("trailing_text",)),
    ('Sure!\n```json\n{"a": 1,  "b": [1,2]}\n```\nAnything else?',
     ("code_fence", "leading_text", "trailing_text")),
])
def test_fences_and_wrapper_text_are_stripped_keeping_the_json_text_exactly(
        text: str, fixes: tuple[str, ...]) -> None:
    repaired = repair_response(text)
    assert repaired.status == "repaired" and repaired.fixes == fixes
    assert repaired.text in text  # the JSON as written, not re-serialised
    assert isinstance(json.loads(repaired.text), (dict, list))


@pytest.mark.parametrize(("text", "status", "reason"), [
    ('{"name": "Raj", "skills": ["a", "b', "unparseable", "truncated"),
    ("no json here at all", "unparseable", "no_json"),
    ('"just a string"', "unparseable", "scalar"),
    ("{'tags': {1, 2}}", "unparseable", "set"),
    ("{1: 'a'}", "unparseable", "non-string key"),
    ("   ", "empty", ""),
    ('{"a": 1}', "unchanged", ""),
    ('  [1, 2]\n', "unchanged", ""),
])
def test_what_cannot_or_need_not_be_repaired(text: str, status: str, reason: str) -> None:
    repaired = repair_response(text)
    assert repaired.status == status
    assert reason in repaired.reason
    assert repaired.text == text


def test_the_check_finds_nothing_to_report_after_repair() -> None:
    bare = [json.dumps({"name": f"n{i}", "city": "Lyon"}) for i in range(20)]
    broken = ["{'name': 'n20', 'city': 'Lyon'}", '```json\n{"name": "n21", "city": "Lyon"}\n```',
              'Here you go: {"name": "n22", "city": "Lyon"} Thanks!']
    rows = [{"prompt": f"Extract n{i} from Lyon", "response": r}
            for i, r in enumerate(bare + broken)]
    before = run_check(StructuredOutput(), RunContext(load_dataset(rows)))
    assert before.metrics["python_literal_rate"] > 0 and before.metrics["wrapper_text_rate"] > 0
    style = infer_json_style(r["response"] for r in rows)
    fixed = [{**r, "response": repair_response(r["response"], style).text} for r in rows]
    after = run_check(StructuredOutput(), RunContext(load_dataset(fixed)))
    for metric in ("parse_failure_rate", "python_literal_rate", "fence_inconsistency_rate",
                   "wrapper_text_rate"):
        assert after.metrics[metric] == 0.0, metric


def test_infer_json_style_votes_for_the_majority() -> None:
    indented = [json.dumps({"a": i, "b": [1, 2]}, indent=2) for i in range(5)]
    compact = [json.dumps({"a": i}, separators=(",", ":")) for i in range(2)]
    assert infer_json_style(indented + compact) == JsonStyle(indent=2, separators=(",", ": "))
    assert infer_json_style(compact) == JsonStyle(separators=(",", ":"))
    assert infer_json_style(['{"é": 1}'.replace("é", "\\u00e9")]).ensure_ascii
    assert infer_json_style(["not json", "{'a': 1}"]) == JsonStyle()


def test_remove_field_top_level_nested_and_in_lists() -> None:
    value = {"title": "x", "priority": 1, "event": {"all_day": False, "n": 2},
             "items": [{"q": 1, "unit": "pcs"}, {"q": 2, "unit": "kg"}]}
    assert remove_field(value, "priority", 1) == 1
    assert remove_field(value, "event.all_day", False) == 1
    assert remove_field(value, "items[].unit", "PCS") == 1  # strings compared normalised
    assert value == {"title": "x", "event": {"n": 2}, "items": [{"q": 1}, {"q": 2, "unit": "kg"}]}


def test_remove_field_compares_values_as_the_check_does() -> None:
    assert remove_field({"p": "1"}, "p", 1) == 1  # a numeric string is the number
    assert remove_field({"p": 1.0}, "p", 1) == 1
    assert remove_field({"p": True}, "p", 1) == 0  # a boolean is not a number
    assert remove_field({"p": 2}, "p", 1) == 0
    assert remove_field({"p": {"x": 1}}, "p", 1) == 0  # objects are never removed
    assert remove_field([{"flag": True}, {"flag": False}], "[].flag", True) == 1
    assert remove_field({"a.b": 1}, "a.b", 1) == 1  # a key holding a dot


def test_remove_field_from_text() -> None:
    text, removed = remove_field_from_text('{"title": "x", "priority": 1}', "priority", 1)
    assert (text, removed) == ('{"title": "x"}', 1)
    assert remove_field_from_text('{"title": "x"}', "priority", 1) == ('{"title": "x"}', 0)
    assert remove_field_from_text("not json", "priority", 1) == ("not json", 0)
