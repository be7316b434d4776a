"""Near duplicates and eval leakage on Chinese and Japanese text (no spaces between words)."""

from __future__ import annotations

from audit.context import RunContext
from audit.load import load_dataset
from audit.runner import run_check
from benchmarks.language import (
    LANGUAGES,
    join,
    near_duplicate_f1,
    near_duplicate_sets,
    parallel_words,
)
from checks.duplication.duplicates import NearDuplicates
from checks.duplication.leakage import EvalLeakage, word_counts
from tests.checks.language.multilingual_data import sentences


def test_planted_copies_are_found_alike_in_english_chinese_and_japanese() -> None:
    sets = near_duplicate_sets(400, sentences_per_record=8)
    f1 = {language: near_duplicate_f1(texts, pairs)["f1"] for language, (texts, pairs)
          in sets.items()}
    assert f1["en"] >= 0.85
    assert abs(f1["zh"] - f1["en"]) <= 0.03 and abs(f1["ja"] - f1["en"]) <= 0.05


def test_chinese_near_duplicate_is_flagged_and_different_texts_are_not() -> None:
    records = parallel_words(10, seed=5)[LANGUAGES.index("zh")]
    texts = [join(words, "zh") for words in records]
    edited = list(records[0])
    edited[3] = "图书馆"  # one word replaced
    data = load_dataset([{"text": t} for t in [*texts, join(edited, "zh")]])
    result = run_check(NearDuplicates(), RunContext(data, seed=0))
    flagged = {r for f in result.findings for r in f.records}
    assert flagged == {0, 10}


def test_chinese_word_counts_and_ngram_leaks() -> None:
    import pyarrow as pa

    counts = word_counts(pa.chunked_array([pa.array(["请用两句话概括下面这段文字。", "two words"])]))
    assert counts.tolist() == [12, 2]
    train = [{"prompt": sentences("zh", i, 2), "response": sentences("zh", i + 3, 5)}
             for i in range(10)]
    shared = sentences("zh", 7, 3)  # a long span copied from training record 4's response
    evals = [{"prompt": "总结一下。", "response": "前言：" + shared + "以上。"},
             {"prompt": "澳大利亚在哪里？", "response": "在南半球。"}]
    data = load_dataset(train)
    result = EvalLeakage().run(data, RunContext(data, seed=0, eval_data=load_dataset(evals)))
    leaked = {pair["eval"] for pair in result.details["pairs"]}
    assert leaked == {0}
