"""fit_advisory: signals, their directions, and the recommendation."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from audit.context import RunContext
from audit.result import CheckResult, Status
from audit.runner import run_check
from checks.advice.advisory import LEXICONS, FitAdvisory, response_shape, volatile_patterns
from checks.shared.corpus import load_json_lexicon
from tests.checks.diversity.diversity_data import pseudo_words, view


def advise(records: list[dict[str, Any]], **params: object) -> CheckResult:
    result = run_check(FitAdvisory(**params), RunContext(view(records), seed=0))
    assert result.status is Status.PASSED, result.error  # advice never gates by default
    return result


def signal(result: CheckResult, name: str) -> dict[str, object]:
    signals: list[dict[str, Any]] = result.details["signals"]
    return next(s for s in signals if s["signal"] == name)


@pytest.mark.parametrize(("text", "shape"), [
    ('{"name": "Ann", "years": 3}', "json"),
    ("[1, 2, 3]", "json"),
    ("{not json", "label"),
    ("```python\nprint(1)\n```", "code"),
    ("- one\n- two\n- three", "list"),
    ("positive", "label"),
    ("A short sentence of a few words.", "short"),
    (" ".join(["word"] * 40), "prose"),
])
def test_response_shape(text: str, shape: str) -> None:
    assert response_shape(text) == shape


def test_volatile_lexicon_is_documented_and_compiles_in_re2() -> None:
    assert load_json_lexicon(LEXICONS / "volatile.json")["_doc"]
    examples = {"temporal": ("What is the latest model?", "a lateststyle word"),
                "dates": ("It opened on March 3rd", "march onwards in 12345"),
                "prices": ("It is $49.99 a month", "the dollar sign $ alone"),
                "versions": ("Upgrade to v3.2.1 now", "vital 3 things")}
    patterns = volatile_patterns()
    assert set(patterns) == set(examples)
    for kind, (hit, miss) in examples.items():
        column = pa.array([hit, miss])
        found = pc.match_substring_regex(column, patterns[kind], ignore_case=True).to_pylist()
        assert found == [True, False], kind


def structured_records(n: int) -> list[dict[str, Any]]:
    vocab = pseudo_words(50)
    return [{"instruction": f"Extract the fields from resume {i}: {vocab[i % 50]} worked "
                            f"{i % 9 + 1} years as {vocab[(i * 3) % 50]}",
             "input": "", "output": json.dumps({"name": vocab[i % 50], "years": i % 9 + 1,
                                                "title": vocab[(i * 3) % 50]})}
            for i in range(n)]


def volatile_records(n: int) -> list[dict[str, Any]]:
    vocab = pseudo_words(400)
    return [{"instruction": f"What is the latest version of {vocab[i % 400]}?", "input": "",
             "output": f"As of March 3, the current release is v{i % 7}.{i % 5}.1 and it costs "
                       f"${10 + i % 90} per month; {' '.join(vocab[(i * 13 + j) % 400] for j in range(8))}"}
            for i in range(n)]


def test_structured_output_with_many_examples_recommends_fine_tuning() -> None:
    result = advise(structured_records(1200))
    assert result.details["recommendation"] == "fine-tune"
    assert result.metrics["structured_output_fraction"] == 1.0
    assert signal(result, "structured_output_fraction")["direction"] == "fine-tune"
    assert signal(result, "distinct_prompts")["direction"] == "fine-tune"
    assert result.metrics["volatile_fraction"] == 0.0


def test_volatile_facts_and_few_examples_recommend_context() -> None:
    result = advise(volatile_records(120))
    assert result.details["recommendation"] == "context"
    assert result.metrics["volatile_fraction"] == 1.0
    assert result.metrics["fine_tune_score"] <= 1 / 3
    assert signal(result, "distinct_prompts")["direction"] == "context"
    finding = next(f for f in result.findings if f.code == "volatile_knowledge")
    assert finding.n_records == 120
    assert result.details["volatile_by_kind"]["versions"] == 1.0


def test_facts_supplied_by_the_prompt_are_not_volatile() -> None:
    records = [{"instruction": f"A pen costs ${i % 9 + 1} in 2021. What do {i % 5 + 2} pens cost?",
                "input": "", "output": f"They cost {(i % 9 + 1) * (i % 5 + 2)} dollars in 2021."}
               for i in range(100)]
    assert advise(records).metrics["volatile_fraction"] == 0.0


def test_answers_drawn_from_the_input_point_to_both() -> None:
    records = [{"instruction": "Copy the key sentence", "input": f"the code word is w{i} today",
                "output": f"the code word is w{i}"} for i in range(60)]
    result = advise(records)
    assert result.metrics["grounded_fraction"] == 1.0
    assert signal(result, "grounded_fraction")["direction"] == "both"


def test_thresholds_are_configurable_but_absent_by_default() -> None:
    assert FitAdvisory.default_thresholds == ()
    result = advise(volatile_records(50), volatile_share=1.0)
    assert signal(result, "volatile_fraction")["direction"] == "context"  # 1.0 >= 1.0
    relaxed = advise(volatile_records(50), few_examples=10)
    assert signal(relaxed, "distinct_prompts")["direction"] == "neutral"
