"""Lexical diversity and template detection on Chinese and Japanese text."""

from __future__ import annotations

from audit.context import RunContext
from audit.load import load_dataset
from audit.runner import run_check
from benchmarks.language import join, parallel_words
from checks.diversity.lexical import LexicalDiversity, TemplateConcentration, edge_keys
from tests.checks.language.multilingual_data import sentences


def test_openings_of_unspaced_text_are_character_bigrams() -> None:
    keys = edge_keys(["请用两句话概括下面这段文字。", "请用两句话解释光合作用。", "写一首诗。"], 3,
                     from_start=True)
    assert keys == ["请用两句", "请用两句", "写一首诗"]


def test_templated_chinese_responses_are_detected_and_varied_ones_are_not() -> None:
    template = "感谢您的来信，我们已经收到您的问题，客服人员会尽快处理。"
    templated = [{"prompt": sentences("zh", i, 1), "response": template + sentences("zh", i, 1)}
                 for i in range(40)]
    generated = [join(words, "zh") for words in parallel_words(40, seed=1)[1]]
    varied = [{"prompt": sentences("zh", i, 1), "response": text}
              for i, text in enumerate(generated)]
    tmpl = run_check(TemplateConcentration(), RunContext(load_dataset(templated), seed=0))
    free = run_check(TemplateConcentration(), RunContext(load_dataset(varied), seed=0))
    assert tmpl.metrics["response_top_opening_share"] == 1.0
    assert tmpl.metrics["boilerplate_record_fraction"] == 1.0
    assert tmpl.details["boilerplate_spans"][0]["text"] in template.replace("，", "")
    assert free.metrics["response_top_opening_share"] < 0.2
    lex_tmpl = run_check(LexicalDiversity(), RunContext(load_dataset(templated), seed=0))
    lex_free = run_check(LexicalDiversity(), RunContext(load_dataset(varied), seed=0))
    assert lex_tmpl.metrics["response_distinct_2"] < lex_free.metrics["response_distinct_2"]
