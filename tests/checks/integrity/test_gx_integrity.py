"""gx_expectations: the Great Expectations suite over the normalised table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.context import RunContext
from audit.errors import InvalidParameterError
from audit.load import load_dataset
from audit.result import CheckResult, Severity, Status
from audit.runner import run_check
from checks.integrity.gx import GxExpectations, build_plan, build_suite, snake_name, suite_json


def _records(n: int = 20) -> list[dict[str, Any]]:
    return [{"uid": f"r{i}", "instruction": f"Summarise ticket {i}.",
             "output": f"Ticket {i} is about a refund.", "category": "billing" if i % 2 else "account",
             "notes": "ok"} for i in range(n)]


def _run(records: list[dict[str, Any]], **params: Any) -> CheckResult:
    data = load_dataset(records)
    return run_check(GxExpectations(**params), RunContext(data))


def _finding(result: CheckResult, code: str) -> Any:
    matches = [f for f in result.findings if f.code == code]
    assert matches, f"no finding {code!r}; findings: {[f.code for f in result.findings]}"
    return matches[0]


def test_clean_data_passes_with_no_findings() -> None:
    result = _run(_records(), label_values=["billing", "account"])
    assert result.status is Status.PASSED, result.error
    assert result.findings == ()
    assert result.metrics["failed_expectations"] == 0
    assert result.metrics["n_expectations"] >= 8  # ids x2, prompt x3, response x3, labels


def test_planted_defects_become_findings_with_record_ids() -> None:
    records = _records()
    records[3]["uid"] = records[7]["uid"]  # duplicated source id
    records[5]["output"] = "x" * 500  # over the length bound
    records[11]["category"] = "refunds"  # outside the declared label set
    result = _run(records, label_values=["billing", "account"], max_response_chars=100)
    assert result.status is Status.FAILED
    dup = _finding(result, "duplicate_source_id")
    assert dup.records == (3, 7) and dup.severity is Severity.ERROR
    length = _finding(result, "response_length")
    assert length.records == (5,) and length.severity is Severity.WARNING
    label = _finding(result, "label_not_in_set")
    assert label.records == (11,) and label.details["examples"] == ["refunds"]
    assert result.metrics["critical_failures"] == 2
    assert result.metrics["unexpected_record_fraction"] == pytest.approx(4 / 20)


def test_label_set_without_labels_is_noted_not_checked() -> None:
    records = [{"prompt": f"q{i}", "response": f"a{i}"} for i in range(4)]
    result = _run(records, label_values=["x"])
    assert result.status is Status.PASSED
    assert "no label field" in result.details["note"]


def test_record_ids_are_input_positions_not_view_positions() -> None:
    records = _records()
    records[15]["output"] = "x" * 500
    data = load_dataset(records).take(list(range(10, 20)))
    result = run_check(GxExpectations(max_response_chars=100), RunContext(data))
    assert _finding(result, "response_length").records == (15,)


@pytest.mark.parametrize("type_name", ["ExpectColumnValuesToMatchRegex",
                                       "expect_column_values_to_match_regex"])
def test_user_expectation_by_class_or_snake_name(type_name: str) -> None:
    records = _records()
    records[4]["output"] = "refund issued"  # lower-case start
    spec = {"type": type_name, "kwargs": {"column": "response", "regex": "^[A-Z]"}}
    result = _run(records, expectations=[spec])
    finding = _finding(result, "expect_column_values_to_match_regex")
    assert finding.records == (4,) and finding.severity is Severity.WARNING
    assert result.status is Status.WARNED


def test_user_expectation_on_an_original_field_with_severity() -> None:
    records = _records()
    records[2]["notes"] = None
    spec = {"type": "ExpectColumnValuesToNotBeNull", "kwargs": {"column": "notes"},
            "severity": "critical"}
    result = _run(records, expectations=[spec])
    finding = _finding(result, "expect_column_values_to_not_be_null")
    assert finding.records == (2,) and finding.severity is Severity.ERROR
    assert result.status is Status.FAILED


def test_unknown_expectation_name_is_a_config_error_naming_it() -> None:
    with pytest.raises(InvalidParameterError, match=r"ExpectColumnValuesToMatchRegx.*Did you mean"):
        GxExpectations(expectations=[{"type": "ExpectColumnValuesToMatchRegx",
                                      "kwargs": {"column": "response", "regex": "a"}}])


def test_bad_kwargs_are_a_config_error_naming_the_expectation() -> None:
    with pytest.raises(InvalidParameterError,
                       match=r"ExpectColumnValuesToMatchRegex.*invalid kwargs.*colum"):
        GxExpectations(expectations=[{"type": "ExpectColumnValuesToMatchRegex",
                                      "kwargs": {"colum": "response", "regex": "a"}}])
    with pytest.raises(InvalidParameterError, match="mostly"):
        GxExpectations(expectations=[{"type": "ExpectColumnValuesToMatchRegex",
                                      "kwargs": {"column": "response", "regex": "a", "mostly": 5}}])
    with pytest.raises(InvalidParameterError, match="unknown key"):
        GxExpectations(expectations=[{"type": "ExpectColumnToExist", "kwarg": {}}])
    with pytest.raises(InvalidParameterError, match="needs a 'type'"):
        GxExpectations(expectations=[{"kwargs": {"column": "response"}}])


def test_unknown_column_is_a_config_error_listing_columns() -> None:
    check = GxExpectations(expectations=[{"type": "ExpectColumnToExist",
                                          "kwargs": {"column": "answer"}}])
    data = load_dataset(_records(3))
    with pytest.raises(InvalidParameterError, match=r"'answer' is not in the data; columns: .*prompt"):
        build_plan(check.params, data)


def test_params_with_expectations_round_trip_and_hash() -> None:
    spec = {"type": "ExpectColumnToExist", "kwargs": {"column": "response"}}
    check = GxExpectations(expectations=[spec])
    rebuilt = GxExpectations(**check.get_params())
    assert rebuilt == check and hash(rebuilt) == hash(check)
    assert check.get_params()["expectations"] == [spec]


def test_exported_suite_is_loadable_gx_json() -> None:
    import great_expectations as gx

    check = GxExpectations(label_values=["a"], expectations=[
        {"type": "ExpectColumnValuesToMatchRegex", "kwargs": {"column": "response", "regex": "."}}])
    text = suite_json(build_suite(build_plan(check.params)))
    loaded = gx.ExpectationSuite(**json.loads(text))
    types = [e.expectation_type for e in loaded.expectations]
    assert "expect_column_values_to_match_regex" in types
    assert "expect_column_values_to_be_in_set" in types


def test_validation_leaves_no_files_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run(_records(5))
    assert result.status is Status.PASSED
    assert list(tmp_path.iterdir()) == []


def test_snake_name() -> None:
    assert snake_name("ExpectColumnValuesToMatchRegex") == "expect_column_values_to_match_regex"
    assert snake_name("expect_column_to_exist") == "expect_column_to_exist"
