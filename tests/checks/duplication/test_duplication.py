"""exact_duplicates, near_duplicates, semantic_duplicates, conflicting_responses and the
duplicate_groups artifact, on small planted data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from audit.context import RunContext
from audit.dataset import DatasetView
from audit.load import load_dataset
from audit.result import Measurement
from benchmarks.duplication import edit_words, jaccard, random_documents
from checks.duplication._neardup import (
    NearConfig,
    combine_codes,
    first_occurrence_labels,
    first_occurrence_of_hash,
    hash_codes,
    isolate_empty,
    near_candidates,
)
from checks.duplication.duplicates import (
    ConflictingResponses,
    ExactDuplicates,
    NearDuplicates,
    SemanticDuplicates,
    exact_clusters,
)
from checks.shared import embeddings as _embeddings
from checks.shared import minhash as mh


def view(records: list[dict[str, Any]]) -> DatasetView:
    return load_dataset(records, name="test")


def run(check: Any, data: DatasetView) -> Measurement:
    return check.run(data, RunContext(data, seed=0))


def docs(n: int, seed: int = 0) -> list[str]:
    return random_documents(n, words=60, seed=seed)


# -- exact --------------------------------------------------------------------------------------
def test_exact_clusters_ignore_case_whitespace_and_unicode_forms() -> None:
    records = [{"prompt": "Hello  World", "response": "Ｈｉ there"},
               {"prompt": "hello world", "response": "hi there"},
               {"prompt": "hello world", "response": "something else"},
               {"prompt": "other", "response": "hi there"}]
    result = run(ExactDuplicates(), view(records))
    assert result.metrics["n_duplicate_records"] == 1
    assert result.metrics["duplicate_fraction"] == pytest.approx(0.25)
    pair = [f for f in result.findings if f.code == "duplicate_cluster"]
    assert [f.records for f in pair] == [(0, 1)]
    assert pair[0].details["representative"] == 0
    prompt = [f.records for f in result.findings if f.code == "duplicate_prompt_cluster"]
    response = [f.records for f in result.findings if f.code == "duplicate_response_cluster"]
    assert prompt == [(0, 1, 2)] and response == [(0, 1, 3)]
    assert result.metrics["prompt_duplicate_fraction"] == pytest.approx(0.5)


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_exact_duplicates_combined_from_batches_equal_one_run(batch: int) -> None:
    rng = np.random.default_rng(batch)
    prompts, responses = ["a b", "c d", "", "e f"], ["x", "", "y z", "x"]
    data = view([{"prompt": prompts[i], "response": responses[j]}
                 for i, j in rng.integers(0, 4, size=(60, 2))])
    check = ExactDuplicates()
    whole = run(check, data)
    assert whole.metrics["n_duplicate_records"] > 0
    slices = [data.slice(s, min(s + batch, data.n)) for s in range(0, data.n, batch)]
    partials = [check.map(b, RunContext(b, seed=0)) for b in slices]
    assert check.combine(partials, data.n, RunContext(data, seed=0)) == whole


def test_exact_finds_nothing_in_distinct_records() -> None:
    records = [{"prompt": t[:40], "response": t[40:]} for t in docs(30)]
    result = run(ExactDuplicates(), view(records))
    assert result.metrics["duplicate_fraction"] == 0.0 and not result.findings


def test_exact_clusters_helper_skips_empty_keys() -> None:
    assert exact_clusters(["a", "", "b", "a", ""]) == [[0, 3]]
    assert exact_clusters(["a", "", "b", "a", ""], skip_empty=False) == [[0, 3], [1, 4]]


def test_exact_on_text_label_data_uses_the_text() -> None:
    data = view([{"text": "Great product", "label": "pos"},
                 {"text": "great product", "label": "pos"},
                 {"text": "bad", "label": "neg"}])
    assert run(ExactDuplicates(), data).metrics["n_duplicate_records"] == 1


# -- near ---------------------------------------------------------------------------------------
def planted_near(n: int = 120, copies: int = 15) -> tuple[list[str], list[tuple[int, int]]]:
    texts = docs(n, seed=3)
    rng = np.random.default_rng(5)
    planted = []
    for source in range(copies):
        copy, ops = edit_words(texts[source], rng)
        assert ops and jaccard(copy, texts[source]) >= 0.8
        planted.append((source, len(texts)))
        texts.append(copy)
    return texts, planted


def test_near_duplicates_find_planted_edits_and_nothing_else() -> None:
    texts, planted = planted_near()
    data = view([{"text": t} for t in texts])
    result = run(NearDuplicates(), data)
    found = {tuple(sorted(f.records)) for f in result.findings}
    assert found == {tuple(sorted(p)) for p in planted}
    assert result.metrics["n_pairs"] == len(planted)
    assert result.metrics["near_duplicate_fraction"] == pytest.approx(len(planted) / len(texts))
    assert all(f.details["min_jaccard"] >= 0.8 for f in result.findings)


def test_near_duplicates_reject_pairs_below_threshold() -> None:
    base = docs(1, seed=9)[0].split(" ")
    changed = list(base)
    for i in range(0, len(changed), 4):  # a quarter of the words replaced: Jaccard ~0.3
        changed[i] = "zzz" + str(i)
    data = view([{"text": " ".join(base)}, {"text": " ".join(changed)}])
    assert jaccard(" ".join(base), " ".join(changed)) < 0.7
    result = run(NearDuplicates(), data)
    assert result.metrics["n_pairs"] == 0 and not result.findings
    lenient = run(NearDuplicates(threshold=0.2, shingle_size=1), data)
    assert lenient.metrics["n_pairs"] == 1


def test_exact_copies_are_not_counted_as_near_beyond_exact() -> None:
    texts = docs(10, seed=4)
    data = view([{"text": t} for t in [*texts, texts[0].upper()]])
    result = run(NearDuplicates(), data)
    assert result.metrics["near_duplicate_fraction"] == 0.0
    assert result.metrics["removable_fraction"] == pytest.approx(1 / 11)


def stacked_near_candidates(hashes: np.ndarray, keys: np.ndarray,
                            config: NearConfig) -> tuple[np.ndarray, np.ndarray]:
    """near_candidates as it was before the band keys were read one band at a time: codes,
    labels, and the candidate pairs of the distinct texts' keys copied together."""
    n = len(hashes)
    codes = hash_codes(hashes)
    exact_labels = first_occurrence_labels(codes)
    distinct = np.flatnonzero((exact_labels == np.arange(n)) & (codes >= 0))
    isolate_empty(keys, codes < 0, config)
    if len(distinct) < 2:
        return exact_labels, np.zeros((0, 2), dtype=np.int64)
    return exact_labels, distinct[mh.candidate_pairs(keys[distinct])]


def random_near_partials(seed: int, batch: int) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """(hashes, band keys, partials of batches of `batch` records) with exact copies (equal
    hashes), near copies (some equal band keys) and empty texts (hash 0)."""
    rng = np.random.default_rng(seed)
    n, bands = int(rng.integers(0, 300)), NearConfig().bands_rows[0]
    hashes = rng.integers(0, 40, size=n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    keys = rng.integers(0, 2**63, size=(n, bands), dtype=np.uint64)
    for i in np.flatnonzero(rng.random(n) < 0.3):
        source = int(rng.integers(0, n))
        shared = rng.random(bands) < 0.4
        keys[i, shared] = keys[source, shared]
    ids = np.arange(n, dtype=np.int64) + 1000
    partials = [(ids[s:s + batch], hashes[s:s + batch], keys[s:s + batch].copy())
                for s in range(0, n, batch)]
    return hashes, keys, partials


@pytest.mark.parametrize("seed", range(6))
def test_near_candidates_band_by_band_equal_the_stacked_computation(seed: int) -> None:
    config = NearConfig()
    for batch in (7, 64, 1000):
        hashes, keys, partials = random_near_partials(seed, batch)
        expected_labels, expected = stacked_near_candidates(hashes, keys.copy(), config)
        labels, candidates = near_candidates(hashes, keys, config)
        assert np.array_equal(labels, expected_labels)
        assert np.array_equal(candidates, expected)
        request = NearDuplicates().second_pass(partials, len(hashes),
                                               RunContext(view([{"text": "x"}])))
        assert (request is None) == (len(expected) == 0)
        if request is not None:
            assert request.tolist() == (np.unique(expected) + 1000).tolist()


def test_first_occurrence_of_hashes_equals_codes_then_labels() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(0, 200))
        hashes = rng.integers(0, int(rng.integers(1, 30)), size=n).astype(np.uint64)
        hashes *= np.uint64(1 << 60 if rng.random() < 0.3 else 1)  # 0 (empty) stays 0
        assert np.array_equal(first_occurrence_of_hash(hashes),
                              first_occurrence_labels(hash_codes(hashes)))
        other = rng.integers(0, int(rng.integers(1, 5)), size=n).astype(np.uint64)
        assert np.array_equal(  # tuples: (prompt, response) pairs, empty when both are
            first_occurrence_of_hash(hashes, other),
            first_occurrence_labels(combine_codes(hash_codes(hashes), hash_codes(other))))


@pytest.mark.parametrize("batch", [1, 7, 50, 1000])
def test_near_duplicates_combined_from_batches_equal_one_run(batch: int) -> None:
    texts, _ = planted_near()
    texts += [texts[3], "", texts[20].upper()]  # exact copies and an empty text
    data = view([{"text": t} for t in texts])
    check = NearDuplicates()
    whole = run(check, data)
    assert whole.metrics["n_pairs"] >= 15 and whole.metrics["removable_fraction"] > 0
    ctx = RunContext(data, seed=0)
    slices = [data.slice(s, min(s + batch, data.n)) for s in range(0, data.n, batch)]
    first = [check.map(b, RunContext(b, seed=0)) for b in slices]
    request = check.second_pass(first, data.n, ctx)
    again = [check.map_again(b, RunContext(b, seed=0), request) for b in slices]
    combined = check.combine(list(zip(first, again, strict=True)), data.n, ctx)
    assert combined == whole


def test_char_shingles_catch_spelling_changes() -> None:
    a = "Please reset my password for the billing account today"
    b = "Please resett my pasword for the billing acount today"
    data = view([{"text": a}, {"text": b}, {"text": "Completely unrelated sentence about cats"}])
    assert run(NearDuplicates(), data).metrics["n_pairs"] == 0  # word shingles all differ
    result = run(NearDuplicates(shingle="char", shingle_size=4, threshold=0.5), data)
    assert [f.records for f in result.findings] == [(0, 1)]


def test_near_duplicates_on_prompt_field_only() -> None:
    texts, _ = planted_near(20, 1)
    records = [{"prompt": texts[0], "response": "one"}, {"prompt": texts[-1], "response": "two"},
               {"prompt": texts[5], "response": "three"}]
    data = view(records)
    assert run(NearDuplicates(field="prompt"), data).metrics["n_pairs"] == 1
    assert run(NearDuplicates(field="response"), data).metrics["n_pairs"] == 0


def test_duplicate_groups_join_exact_and_near_clusters() -> None:
    texts, planted = planted_near(40, 3)
    records = [{"prompt": t, "response": "r"} for t in texts]
    records.append(dict(records[10]))  # exact copy
    data = view(records)
    groups = RunContext(data, seed=0).artifact("duplicate_groups")
    assert groups.dtype == np.int64 and len(groups) == data.n
    for source, copy in planted:
        assert groups[copy] == groups[source] == source
    assert groups[len(records) - 1] == 10
    singles = set(range(data.n)) - {c for _, c in planted} - {len(records) - 1}
    assert all(groups[p] == p for p in singles)


# -- semantic -----------------------------------------------------------------------------------
def test_semantic_duplicates_find_shuffled_paraphrases_with_lsa() -> None:
    texts = docs(60, seed=6)
    words = np.array(texts[0].split(" "))
    shuffled = " ".join(words[np.random.default_rng(0).permutation(len(words))])
    assert jaccard(shuffled, texts[0]) < 0.2  # not a near duplicate: same words, new order
    data = view([{"text": t} for t in [*texts, shuffled]])
    result = run(SemanticDuplicates(vectors="lsa"), data)
    assert result.details["vectors"] == "lsa"
    assert [f.records for f in result.findings] == [(0, 60)]
    assert result.metrics["semantic_duplicate_fraction"] == pytest.approx(1 / 61)
    strict = run(SemanticDuplicates(vectors="lsa", min_cosine=1.0), view(
        [{"text": t} for t in texts]))
    assert strict.metrics["n_pairs"] == 0


def test_semantic_excludes_pairs_that_are_already_duplicates() -> None:
    texts = docs(30, seed=7)
    data = view([{"text": t} for t in [*texts, texts[3]]])
    result = run(SemanticDuplicates(vectors="lsa"), data)
    assert result.metrics["n_pairs"] == 0
    assert result.details["pairs_already_duplicates"] >= 1


def test_auto_vectors_fall_back_to_lsa_without_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_embeddings, "embeddings_available", lambda: False)
    data = view([{"text": t} for t in docs(10)])
    assert run(SemanticDuplicates(), data).details["vectors"] == "lsa"
    with pytest.raises(_embeddings.EmbeddingsUnavailable, match="pip install"):
        run(SemanticDuplicates(vectors="embeddings"), data)


@pytest.mark.skipif(not _embeddings.embeddings_available(), reason="embeddings extra missing")
def test_sentence_embeddings_find_a_paraphrase() -> None:
    texts = ["How do I reset my password?", "What is the capital of France?",
             "Steps to change my forgotten password", "Best pasta recipe with tomatoes"]
    vectors = _embeddings.encode(texts)
    assert vectors.shape == (4, 384)
    similarity = vectors @ vectors.T
    assert similarity[0, 2] > 0.6 > similarity[0, 1]


# -- conflicting --------------------------------------------------------------------------------
def test_conflicting_responses_to_the_same_prompt() -> None:
    records = [
        {"prompt": "Can I get a refund after 30 days?", "response": "Yes, refunds are "
                                                                    "available for 60 days."},
        {"prompt": "can I get a refund after 30 days", "response": "No. Refunds end after 30 "
                                                                   "days, sorry."},
        {"prompt": "How do I reset my password?", "response": "Click Forgot password on the "
                                                               "sign-in page."},
        {"prompt": "How do I reset my password?", "response": "Click 'Forgot password' on the "
                                                              "sign-in page!"},
        {"prompt": "Where is my order?", "response": "Check the tracking link."},
    ]
    result = run(ConflictingResponses(), view(records))
    conflicts = [f for f in result.findings if f.code == "conflicting_responses"]
    assert [f.records for f in conflicts] == [(0, 1)]
    assert conflicts[0].details["n_variants"] == 2
    assert {v["records"][0] for v in conflicts[0].details["variants"]} == {0, 1}
    assert result.metrics["conflicting_fraction"] == pytest.approx(2 / 5)
    assert np.isnan(result.metrics["label_conflict_fraction"])


def test_near_identical_prompts_with_different_answers_conflict() -> None:
    prompt = docs(1, seed=8)[0]
    edited, _ = edit_words(prompt, np.random.default_rng(1))
    records = [{"prompt": prompt, "response": "The answer is blue."},
               {"prompt": edited, "response": "It is definitely green, not blue at all."},
               *({"prompt": t, "response": "x"} for t in docs(5, seed=9))]
    result = run(ConflictingResponses(), view(records))
    assert [f.records for f in result.findings] == [(0, 1)]


def test_label_conflicts_on_the_same_text() -> None:
    records = [{"text": "The battery died in a day", "label": "neg"},
               {"text": "the battery died in a day!", "label": "pos"},
               {"text": "Lovely screen", "label": "pos"},
               {"text": "Lovely screen", "label": "pos"}]
    result = run(ConflictingResponses(), view(records))
    assert [f.records for f in result.findings if f.code == "conflicting_labels"] == [(0, 1)]
    assert result.metrics["label_conflict_fraction"] == pytest.approx(0.5)
    assert np.isnan(result.metrics["conflicting_fraction"])


def test_similar_pairs_equal_a_brute_force_radius_search() -> None:
    from checks.duplication.duplicates import similar_pairs

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs, cosine = similar_pairs(vectors, 0.8, n_neighbors=300, block_elements=1000)
    sims = vectors @ vectors.T
    i, j = np.nonzero(np.triu(sims >= 0.8, k=1))
    assert sorted(map(tuple, pairs.tolist())) == sorted(zip(i.tolist(), j.tolist(), strict=True))
    assert np.allclose(cosine, sims[pairs[:, 0], pairs[:, 1]], atol=1e-5)
    capped, _ = similar_pairs(vectors, 0.8, n_neighbors=1)
    assert len(capped) == len(np.unique(pairs[:, 0]))
