"""Diversity checks: the maths directly, and orderings on synthetic data."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from audit.context import RunContext
from audit.result import Status
from audit.runner import run_check
from checks.diversity.lexical import LexicalDiversity, TemplateConcentration, boilerplate_spans
from checks.diversity.semantic import SemanticDiversity, TaskCoverage
from checks.shared.corpus import (
    compression_ratio,
    distinct_n,
    entropy_effective_number,
    load_json_lexicon,
    mattr,
    ngram_hashes,
    tokenize,
    vendi_score,
)
from checks.shared.tasks import LEXICONS, task_lexicon, task_type
from checks.shared.text import words
from tests.checks.diversity.diversity_data import (
    diverse_records,
    near_duplicate_records,
    templated_records,
    view,
)


def measure(check: object, records: list[dict[str, Any]], seed: int = 0) -> dict[str, float]:
    data = view(records)
    result = run_check(check, RunContext(data, seed=seed))  # type: ignore[arg-type]
    assert result.status is not Status.ERRORED, result.error
    return dict(result.metrics)


# -- maths -----------------------------------------------------------------------------------------
def test_distinct_n_counts_within_records_only() -> None:
    corpus = tokenize(["the cat sat on the mat", "the cat sat", "", "a b"])
    hashes, record = ngram_hashes(corpus, 2)
    assert len(hashes) == 5 + 2 + 1 and record.tolist() == [0] * 5 + [1] * 2 + [3]
    assert distinct_n(corpus, 2) == pytest.approx(6 / 8)  # "the cat", "cat sat" repeat
    assert distinct_n(corpus, 1) == pytest.approx(7 / 11)
    assert np.isnan(distinct_n(tokenize(["one"]), 2))


def test_mattr_and_compression_separate_repetition_from_variety() -> None:
    repeated = np.arange(2000) % 20
    varied = np.arange(2000)
    assert mattr(repeated, 100) == pytest.approx(0.2)
    assert mattr(varied, 100) == pytest.approx(1.0)
    assert np.isnan(mattr(varied[:50], 100))
    rng = np.random.default_rng(0)
    prose = [" ".join(rng.choice(["w" + str(i) for i in range(5000)], size=30)) for _ in range(50)]
    assert compression_ratio(["same sentence here"] * 200) > 3 * compression_ratio(prose)


def test_vendi_and_effective_number_bounds() -> None:
    assert vendi_score(np.eye(6)) == pytest.approx(6.0)
    same = np.tile([[0.6, 0.8]], (6, 1))
    assert vendi_score(same) == pytest.approx(1.0)
    assert entropy_effective_number(np.array([5, 5, 5, 5])) == pytest.approx(4.0)
    assert entropy_effective_number(np.array([100, 0, 0])) == pytest.approx(1.0)


def test_boilerplate_spans_found_only_when_shared() -> None:
    shared = "as an ai language model i cannot browse the internet"
    texts = [f"{shared} answer {i} x{i} y{i}" for i in range(10)] + \
        [f"unique words number {i} a{i} b{i} c{i} d{i} e{i} f{i}" for i in range(10)]
    spans = boilerplate_spans(tokenize(texts), 8, 0.3, 3)
    assert spans.n_records_with == 10 and set(spans.records) == set(range(10))
    assert len(spans.top) == 1  # overlapping windows of the passage are listed once
    none = boilerplate_spans(tokenize(texts[10:]), 8, 0.3, 3)
    assert none.n_spans == 0 and none.records == ()


# -- the task lexicon -----------------------------------------------------------------------------
@pytest.mark.parametrize(("prompt", "expected"), [
    ("Can you please summarize this article for me?", "summarization"),
    ("Write a Python function that reverses a list", "code"),
    ("Write a short poem about autumn", "creative_writing"),
    ("What is the capital of France?", "open_qa"),
    ("How many apples are left if I eat two?", "math"),
    ("Translate 'good morning' into French", "translation"),
    ("Classify the sentiment of this review", "classification"),
    ("Extract the names from the passage", "extraction"),
    ("Compare cats and dogs as pets", "comparison"),
    ("Brainstorm names for a bakery", "brainstorming"),
    ("Zebra crossing", "other"),
])
def test_task_type_lexicon(prompt: str, expected: str) -> None:
    assert task_type(words(prompt), task_lexicon()) == expected


def test_task_lexicon_is_documented_and_well_formed() -> None:
    raw = load_json_lexicon(LEXICONS / "task_types.json")
    assert raw["_doc"] and raw["types"]
    names = [t["name"] for t in raw["types"]]
    assert len(names) == len(set(names)) and "other" not in names
    for entry in raw["types"]:
        assert entry["match"] in ("window", "first") and entry["cues"]
        assert all(re.fullmatch(r"[a-z ]+", cue) for cue in entry["cues"]), entry["name"]


# -- orderings on synthetic data ------------------------------------------------------------------
def test_lexical_diversity_ranks_diverse_above_templated_and_near_duplicates() -> None:
    diverse = measure(LexicalDiversity(), diverse_records(300))
    templated = measure(LexicalDiversity(), templated_records(300))
    near = measure(LexicalDiversity(), near_duplicate_records(300))
    for key in ("response_distinct_2", "prompt_distinct_2", "response_distinct_3"):
        assert diverse[key] > templated[key] and diverse[key] > near[key], key
    assert diverse["response_mattr"] > templated["response_mattr"]
    assert diverse["response_compression_ratio"] < templated["response_compression_ratio"]


def test_template_concentration_flags_templates_not_varied_data() -> None:
    check = TemplateConcentration()
    templated = run_check(check, RunContext(view(templated_records(200))))
    diverse = run_check(check, RunContext(view(diverse_records(200))))
    assert templated.metrics["response_top_opening_share"] == 1.0
    assert templated.metrics["prompt_top_opening_share"] == 1.0
    assert templated.metrics["boilerplate_record_fraction"] == 1.0
    assert diverse.metrics["response_top_opening_share"] < 0.1
    assert diverse.metrics["boilerplate_record_fraction"] == 0.0
    assert templated.status is Status.FAILED and diverse.status is Status.PASSED
    codes = {f.code for f in templated.findings}
    assert {"repeated_opening", "boilerplate_spans"} <= codes
    spans = templated.details["boilerplate_spans"]
    assert any("know if you have any other questions" in s["text"] for s in spans)
    assert len(spans) == 2  # two passages, overlapping windows merged


def test_semantic_diversity_vendi_ranks_diverse_above_near_duplicates() -> None:
    diverse = measure(SemanticDiversity(vectors="lsa"), diverse_records(240))
    near = measure(SemanticDiversity(vectors="lsa"), near_duplicate_records(240))
    templated = measure(SemanticDiversity(vectors="lsa"), templated_records(240))
    assert diverse["vendi_ratio"] > 2 * near["vendi_ratio"]
    assert diverse["vendi_ratio"] > templated["vendi_ratio"]
    assert diverse["k"] == near["k"] == 11


def test_semantic_diversity_samples_and_says_so() -> None:
    data = view(diverse_records(300))
    result = run_check(SemanticDiversity(vectors="lsa", max_records=100, vendi_sample=50), RunContext(data))
    assert result.details["sampled"] is True and result.details["sampled_records"] == 100
    assert result.details["vector_source"] in ("lsa", "embeddings")


def test_task_coverage_flags_dominant_and_rare_types() -> None:
    records = [{"instruction": f"Summarize document {i}", "input": "", "output": "ok"}
               for i in range(95)]
    records += [{"instruction": f"Translate phrase {i}", "input": "", "output": "ok"}
                for i in range(5)]
    result = run_check(TaskCoverage(), RunContext(view(records)))
    assert result.metrics["dominant_task_share"] == pytest.approx(0.95)
    assert result.metrics["n_rare_task_types"] == 1.0
    assert result.status is Status.WARNED
    assert {f.code for f in result.findings} == {"dominant_task", "rare_tasks"}
    assert "code" in result.details["missing"]
    balanced = measure(TaskCoverage(), diverse_records(120))
    assert balanced["dominant_task_share"] < 0.25 and balanced["effective_task_types"] > 8


def test_task_coverage_uses_the_category_field_when_present() -> None:
    records = [{"instruction": f"Question {i}", "input": "", "output": "answer",
                "category": "a" if i % 10 else "b"} for i in range(100)]
    result = run_check(TaskCoverage(), RunContext(view(records)))
    assert result.details["source"] == "labels"
    assert result.metrics["dominant_task_share"] == pytest.approx(0.9)


def test_lexical_diversity_flags_a_repetitive_label() -> None:
    records = diverse_records(200)
    for i, record in enumerate(records):
        record["category"] = "varied" if i % 2 else "canned"
        if not i % 2:
            record["output"] = "thank you for your message we will reply soon " * 3
    result = run_check(LexicalDiversity(), RunContext(view(records)))
    finding = next(f for f in result.findings if f.code == "low_diversity_labels")
    assert finding.details["labels"] == ["canned"]
    clean = run_check(LexicalDiversity(), RunContext(view(
        [dict(r, category="x" if i % 2 else "y") for i, r in enumerate(diverse_records(200))])))
    assert not clean.findings


@pytest.mark.parametrize("check_cls", [LexicalDiversity, TemplateConcentration,
                                       SemanticDiversity, TaskCoverage])
def test_deterministic_for_a_seed(check_cls: type) -> None:
    records = diverse_records(150) + templated_records(50)
    params = {"vectors": "lsa"} if check_cls is SemanticDiversity else {}
    first = run_check(check_cls(**params), RunContext(view(records), seed=3)).to_dict()
    second = run_check(check_cls(**params), RunContext(view(records), seed=3)).to_dict()
    first.pop("duration_s"), second.pop("duration_s")
    assert first == second


def test_vector_source_follows_the_optional_extra() -> None:
    from checks.diversity.semantic import vector_source
    from checks.shared.embeddings import embeddings_available

    assert vector_source("lsa") == "lsa"
    assert vector_source("embeddings") == "embeddings"
    assert vector_source("auto") == ("embeddings" if embeddings_available() else "lsa")


def test_distinct_share_counts_like_distinct_n() -> None:
    from checks.diversity.lexical import distinct_share
    from checks.shared.corpus import distinct_n, tokenize

    corpus = tokenize(["a b c a b", "c d e f", "a b c a b", ""] * 5)
    for n in (1, 2, 3):
        assert distinct_share(corpus, n) == distinct_n(corpus, n)
    assert np.isnan(distinct_share(tokenize([""]), 2))


def test_mattr_equals_the_mean_over_its_windows() -> None:
    from checks.shared.corpus import mattr

    def windows_mean(ids: np.ndarray, window: int, max_windows: int) -> float:
        starts = np.unique(np.linspace(0, len(ids) - window,
                                       num=min(max_windows, len(ids) - window + 1)).astype(int))
        return float(np.mean([len(set(ids[s:s + window].tolist())) / window for s in starts]))

    rng = np.random.default_rng(0)
    for ids in (rng.integers(0, 50, 3000), rng.integers(0, 200_000, 3000), np.arange(300),
                rng.integers(-5, 5, 500)):
        for max_windows in (20_000, 40):
            assert mattr(ids, 100, max_windows) == pytest.approx(
                windows_mean(ids, 100, max_windows), abs=1e-12)
    assert np.isnan(mattr(np.arange(10), 100))


def test_task_coverage_lexicon_is_skipped_on_other_languages_but_labels_still_count() -> None:
    from audit.load import load_dataset
    from tests.checks.language.multilingual_data import records

    japanese = load_dataset(records("ja", 30))
    result = run_check(TaskCoverage(), RunContext(japanese))
    assert result.status is Status.SKIPPED and "task lexicon" in (result.skipped_reason or "")
    english = run_check(TaskCoverage(), RunContext(load_dataset(records("en", 30))))
    assert english.status is not Status.SKIPPED
    assert english.details["language_coverage"]["share"] == 1.0
    labelled = load_dataset([{**r, "label": "qa"} for r in records("ja", 30)])
    by_label = run_check(TaskCoverage(), RunContext(labelled))
    assert by_label.status is not Status.SKIPPED and by_label.details["source"] == "labels"


def test_openings_that_never_repeat_are_no_concentration() -> None:
    """One record, or a few with distinct openings, are no template (share 0, not 1 / n)."""
    from audit.load import load_dataset
    from checks.diversity.lexical import concentration

    assert concentration(["a b c"], 10)[0] == 0.0
    assert concentration(["a b c", "d e f", "a b c"], 10)[0] == pytest.approx(2 / 3)
    one = run_check(TemplateConcentration(), RunContext(load_dataset(
        [{"prompt": "Bonjour, ça va ?", "response": "Oui, très bien."}]), seed=0))
    assert one.status is Status.PASSED
    assert one.metrics["response_top_opening_share"] == 0.0
