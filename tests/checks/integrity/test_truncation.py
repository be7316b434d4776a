"""truncation: cut-off responses, open code blocks and brackets, length caps."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from audit.context import RunContext
from audit.dataset import DatasetView
from audit.load import load_dataset
from audit.result import Measurement
from checks.integrity.truncation import Truncation, length_cap, response_endings

SENTENCES = ("Open Settings and choose Billing to see every invoice.",
             "Refunds reach your card within five business days.",
             "You can change the plan at any time from the same page.",
             "Our team answers most tickets within one working day.",
             "Exports are available as CSV or JSON files.")


def _answer(i: int, n_sentences: int = 3) -> str:
    return " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(n_sentences))


def _data(responses: list[str]) -> DatasetView:
    return load_dataset([{"prompt": f"Question {i}?", "response": r}
                         for i, r in enumerate(responses)])


def _run(responses: list[str], **params: object) -> Measurement:
    data = _data(responses)
    return Truncation(**params).run(data, RunContext(data))


def _by_code(result: Measurement) -> dict[str, set[int]]:
    return {f.code: set(f.records) for f in result.findings}


def test_planted_cut_offs_are_found_and_complete_answers_are_not() -> None:
    responses = [_answer(i) for i in range(40)]
    responses[3] = "Open Settings and choose Billing. Then pick the invoice you need and"
    responses[7] = "Refunds reach your card within five business days, but for bank transfers,"
    responses[11] = "Here is the script:\n```python\nfor row in rows:\n    print(row"
    responses[15] = "Call the helper like this: compute(load(path, [1, 2,"
    responses[19] = "Refunds reach your card within five business days and arrive on the"
    result = _run(responses)
    codes = _by_code(result)
    assert codes["dangling_ending"] == {3, 7, 19}  # 15's last line is code: the brackets tell
    assert codes["unclosed_code_fence"] == {11}
    assert codes["unclosed_bracket"] == {15}  # two or more left open
    assert result.metrics["n_truncated"] == 5
    assert result.metrics["n_unclosed_code"] == 1
    assert result.metrics["truncated_fraction"] == pytest.approx(5 / 40)


@pytest.mark.parametrize("ending", [
    "Best regards,\nThe Support Team",
    "Thanks for your patience.\n\nKind regards,",
    "- Billing\n- Security\n- Notifications",
    "Run this command:\n\npip install requests",
    "The answer is 42",
    "Paris",
    "Steps:\n1. Open Settings\n2. Choose Billing",
    "See https://example.com/docs/billing",
    "def add(a, b):\n    return a + b",
    "Signature:\n\ndef gcd(x: int, y: int) -> int:",
    "print (\"%d\" % arr[i]),",
    "So the total is 20 + 25 = 45 balls,",
    "Example:\n\nfrom math import sqrt",
])
def test_legitimate_endings_are_not_truncation(ending: str) -> None:
    responses = [_answer(i) for i in range(40)] + [_answer(1) + "\n\n" + ending]
    assert not _run(responses).findings


def test_missing_final_punctuation_only_counts_where_the_dataset_usually_has_it() -> None:
    cut = "Refunds reach your card within five business days once we approve the request"
    usual = [_answer(i) for i in range(60)] + [cut]
    assert _by_code(_run(usual)) == {"no_terminal_punctuation": {60}}
    # a dataset whose answers often end without punctuation: the rule is not applied
    loose = [_answer(i).rstrip(".") if i % 3 == 0 else _answer(i) for i in range(60)] + [cut]
    result = _run(loose)
    assert not result.findings
    assert result.details["punctuation_rule_applied"] is False
    assert result.metrics["terminal_punctuation_rate"] < 0.9


def test_length_cap_pile_up_is_reported() -> None:
    rng = np.random.default_rng(0)
    responses = [_answer(i, int(n)) for i, n in enumerate(rng.integers(1, 6, size=200))]
    long_text = " ".join(SENTENCES * 8)
    capped = {int(i) for i in rng.choice(200, size=12, replace=False)}
    for i in capped:
        responses[i] = long_text[:300]  # cut at 300 characters, mid-word
    result = _run(responses)
    cap = next(f for f in result.findings if f.code == "length_cap")
    assert set(cap.records) == capped
    assert cap.details == {"measure": "chars", "cap": 300}
    assert result.metrics["n_at_length_cap"] == 12


def test_a_cap_in_another_tokenizer_is_found_in_approximate_tokens() -> None:
    rng = np.random.default_rng(3)
    responses = [_answer(i, int(n)) for i, n in enumerate(rng.integers(1, 6, size=300))]
    long_text = " ".join(SENTENCES * 12)
    capped = sorted(int(i) for i in rng.choice(300, size=20, replace=False))
    for i in capped:  # cut by a tokenizer we do not have: the cut varies by +-4% of length
        cut = int(600 * rng.uniform(0.96, 1.04))
        responses[i] = long_text[:cut].rsplit(" ", 1)[0] + " and"
    result = _run(responses)
    cap = next(f for f in result.findings if f.code == "length_cap")
    assert set(cap.records) == set(capped)
    assert cap.details["measure"] in ("tokens", "words")
    narrow = _by_code(_run(responses, cap_tolerance=0.02)).get("length_cap", set())
    assert len(narrow) < len(capped)  # a 2% window sees only part of the pile-up


def test_identical_length_complete_answers_are_not_a_cap() -> None:
    responses = [_answer(i) for i in range(100)] + [SENTENCES[0] * 3] * 12
    assert "length_cap" not in _by_code(_run(responses))


def test_length_cap_helper() -> None:
    lengths = np.array([10, 20, 30, 40, 100, 100, 100, 100, 100, 55])
    cut = np.array([False] * 4 + [True] * 4 + [False, False])
    cap = length_cap(lengths, cut, measure="words", tolerance=0.0, min_records=3,
                     min_fraction=0.0, min_cut_share=0.5)
    assert cap is not None and cap.cap == 100 and cap.positions.tolist() == [4, 5, 6, 7]
    assert length_cap(lengths, cut, measure="words", tolerance=0.0, min_records=6,
                      min_fraction=0.0, min_cut_share=0.5) is None
    assert length_cap(lengths, ~cut, measure="words", tolerance=0.0, min_records=3,
                      min_fraction=0.0, min_cut_share=0.5) is None


def test_response_endings_vectorised() -> None:
    column = pa.chunked_array([pa.array(["Done.", "and the", None, "x = f(a, [b",
                                         "Here are the steps to follow:  \n", "def gcd(x, y):",
                                         "total = price * (1 + tax) / ("])])
    ends = response_endings(column)
    assert ends.terminal.tolist() == [True, False, False, False, False, False, False]
    assert ends.dangling_char.tolist() == [False, False, False, False, True, False, True]
    assert ends.unclosed_bracket.tolist() == [False, False, False, True, False, False, False]
    assert ends.prose_ending.tolist() == [False, False, False, False, True, False, False]


def test_response_endings_in_slices_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import checks.integrity.truncation as truncation

    texts = ["Done.", "and the", None, "x = f(a, [b", "Here are the steps to follow:"] * 3
    column = pa.chunked_array([pa.array(texts[:6]), pa.array(texts[6:])])
    whole = response_endings(column)
    monkeypatch.setattr(truncation, "SLICE_ROWS", 4)
    sliced = truncation.response_endings(column)
    for field in dataclasses.fields(whole):
        assert getattr(sliced, field.name).tolist() == getattr(whole, field.name).tolist()
