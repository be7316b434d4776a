"""Refusal and placeholder patterns in seven more languages, and the honest skips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.integrity.instructions import (
    PLACEHOLDER_LEXICON,
    REFUSAL_LEXICON,
    PlaceholderResponses,
    Refusals,
    UnavailableContext,
    lexicon_languages,
)
from tests.checks.language.multilingual_data import records

DATA = json.loads((Path(__file__).parent / "data" / "multilingual_responses.json")
                  .read_text(encoding="utf-8"))
LANGUAGES = sorted(k for k in DATA if not k.startswith("_"))


def _flagged(check: object, texts: list[str], code: str) -> set[int]:
    data = load_dataset([{"prompt": "Q", "response": t} for t in texts])
    measured = check.run(data, RunContext(data))  # type: ignore[attr-defined]
    return {r for f in measured.findings if f.code == code for r in f.records}


def _split(items: list[str], split: int) -> list[str]:
    return [t for i, t in enumerate(items) if i % 2 == split]


def test_lexicons_name_the_languages_they_cover() -> None:
    for lexicon in (REFUSAL_LEXICON, PLACEHOLDER_LEXICON):
        assert set(lexicon_languages(lexicon)) == {"en", *LANGUAGES}
    assert len(LANGUAGES) >= 5


@pytest.mark.parametrize("split", [0, 1], ids=["dev", "held-out"])
@pytest.mark.parametrize("kind", ["refusals", "placeholders"])
def test_precision_and_recall_per_split(kind: str, split: int) -> None:
    check, code, negative = ((Refusals(), "refusal", "not_refusals") if kind == "refusals"
                             else (PlaceholderResponses(), "placeholder", "not_placeholders"))
    tp = fn = fp = 0
    for language in LANGUAGES:
        pos, neg = _split(DATA[language][kind], split), _split(DATA[language][negative], split)
        hit = _flagged(check, pos + neg, code)
        tp += len([i for i in range(len(pos)) if i in hit])
        fn += len([i for i in range(len(pos)) if i not in hit])
        fp += len([i for i in range(len(pos), len(pos) + len(neg)) if i in hit])
    assert tp / (tp + fn) >= 0.9 and tp / (tp + fp) >= 0.9


def test_refusals_report_coverage_and_run_on_covered_languages() -> None:
    data = load_dataset(records("zh", 30))
    result = run_check(Refusals(), RunContext(data))
    assert result.status is Status.PASSED
    assert result.details["language_coverage"]["share"] == 1.0
    assert "zh" in result.details["language_coverage"]["languages"]


@pytest.mark.parametrize("check", [Refusals, PlaceholderResponses])
def test_lexicon_checks_are_skipped_on_data_in_languages_they_do_not_cover(check: type) -> None:
    data = load_dataset(records("ko", 20) + records("th", 10))
    result = run_check(check(), RunContext(data))
    assert result.status is Status.SKIPPED
    assert "relies on" in (result.skipped_reason or "") and "patterns" in (result.skipped_reason or "")
    assert "ko 67%" in (result.skipped_reason or "")


def test_unavailable_context_is_english_only() -> None:
    data = load_dataset(records("zh", 30))
    result = run_check(UnavailableContext(), RunContext(data))
    assert result.status is Status.SKIPPED
    assert "English phrase patterns" in (result.skipped_reason or "")
    english = load_dataset(records("en", 30))
    assert run_check(UnavailableContext(), RunContext(english)).status is not Status.SKIPPED
