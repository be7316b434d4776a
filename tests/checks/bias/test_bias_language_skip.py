"""Bias checks built on English lexicons and VADER say when the data is not in English."""

from __future__ import annotations

from audit.context import RunContext
from audit.load import FieldMapping, load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.bias.groups import GroupRepresentation, GroupSentimentDisparity, StereotypeAssociation
from tests.checks.language.multilingual_data import records


def test_lexicon_checks_are_skipped_on_chinese_data_with_the_reason() -> None:
    data = load_dataset(records("zh", 30))
    for check in (GroupRepresentation(), StereotypeAssociation(), GroupSentimentDisparity()):
        result = run_check(check, RunContext(data))
        assert result.status is Status.SKIPPED, check.name
        assert "English" in (result.skipped_reason or "") and "zh 100%" in (
            result.skipped_reason or "")


def test_explicit_group_columns_keep_lexicon_checks_running_but_not_vader() -> None:
    rows = [{**r, "gender": "f" if i % 2 else "m"} for i, r in enumerate(records("zh", 30))]
    data = load_dataset(rows, fields=FieldMapping(groups=("gender",)))
    result = run_check(GroupRepresentation(), RunContext(data))
    assert result.status is not Status.SKIPPED
    assert result.details["language_coverage"]["share"] == 0.0
    assert run_check(GroupSentimentDisparity(), RunContext(data)).status is Status.SKIPPED


def test_english_data_reports_full_coverage() -> None:
    data = load_dataset(records("en", 30))
    result = run_check(GroupRepresentation(), RunContext(data))
    assert result.details["language_coverage"]["share"] == 1.0


def test_counterfactual_probe_is_skipped_on_chinese_data_and_reports_coverage_on_english(
        ) -> None:
    from checks.bias.counterfactual import CounterfactualProbe

    chinese = [{**r, "label": i % 2} for i, r in enumerate(records("zh", 40))]
    result = run_check(CounterfactualProbe(), RunContext(load_dataset(chinese)))
    assert result.status is Status.SKIPPED
    assert "swap lexicons" in (result.skipped_reason or "") and "zh 100%" in (
        result.skipped_reason or "")
    english = [{**r, "label": i % 2} for i, r in enumerate(records("en", 40))]
    result = run_check(CounterfactualProbe(), RunContext(load_dataset(english)))
    assert result.status is not Status.SKIPPED
    assert result.details["language_coverage"]["share"] == 1.0
