"""overfitting_risk and its bigram LM: orderings on synthetic data, probes, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import CheckResult, Status
from audit.runner import run_check
from checks.overfitting._ngram_lm import Bigrams, bigrams, cross_entropy, fit_bigram_lm
from checks.overfitting._probes import grouped_folds
from checks.overfitting.risk import OverfittingRisk, risk_level
from checks.shared.corpus import tokenize
from tests.checks.diversity.diversity_data import markov_records, view


# -- the bigram LM ---------------------------------------------------------------------------------
def test_bigram_lm_is_a_distribution_for_seen_and_unseen_contexts() -> None:
    corpus = tokenize(["the cat sat on the mat", "a dog ran", "the dog sat"])
    lm = fit_bigram_lm(bigrams(corpus.ids, corpus.offsets), len(corpus.vocab) + 1)
    size = lm.vocab_size
    predictable = np.arange(1, size)  # every id but BOS
    for context in (0, 2, size - 1):  # BOS, "the", the never-seen extra id
        pairs = Bigrams(np.full(len(predictable), context), predictable,
                        np.zeros(len(predictable), dtype=np.int64))
        assert np.exp(lm.log_prob(pairs)).sum() == pytest.approx(1.0)


def test_bigram_lm_held_out_loss_falls_with_data_and_exceeds_train_loss() -> None:
    texts = [r["output"] for r in markov_records(600)]
    corpus = tokenize(texts)
    pairs = bigrams(corpus.ids, corpus.offsets)
    test = pairs.take(np.arange(500, 600))
    losses = []
    for n in (20, 100, 500):
        train = pairs.take(np.arange(n))
        lm = fit_bigram_lm(train, len(corpus.vocab))
        losses.append(cross_entropy(lm, test))
        assert cross_entropy(lm, train) < cross_entropy(lm, test)
    assert losses[0] > losses[1] > losses[2]


def test_grouped_folds_keep_duplicate_groups_together() -> None:
    groups = np.array([0, 0, 0, 3, 4, 4, 6, 7, 8, 9, 10, 10])
    folds = grouped_folds(groups, 3, seed=0)
    assert len(folds) == 3
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    assert grouped_folds(np.zeros(5, dtype=np.int64), 3, seed=0) == []


def test_risk_levels() -> None:
    assert [risk_level(s) for s in (0.1, 0.5, 0.9, float("nan"))] == [
        "low", "medium", "high", "unknown"]


# -- the check ------------------------------------------------------------------------------------
def run(records: list[dict[str, Any]], seed: int = 0, **params: object) -> CheckResult:
    result = run_check(OverfittingRisk(**params), RunContext(view(records), seed=seed))
    assert result.status is not Status.ERRORED, result.error
    return result


def test_a_small_subsample_is_riskier_than_the_full_set() -> None:
    full = run(markov_records(800))
    small = run(markov_records(800)[:80])
    assert small.metrics["overfitting_risk_score"] > full.metrics["overfitting_risk_score"]
    assert small.metrics["generalization_gap"] > full.metrics["generalization_gap"]
    assert small.metrics["heldout_loss"] > full.metrics["heldout_loss"]
    curve = full.details["learning_curve"]
    assert [c["fraction"] for c in curve] == [0.1, 0.25, 0.5, 1.0]
    assert curve[0]["heldout_loss"] > curve[-1]["heldout_loss"]
    assert full.details["proxy"] == "bigram_lm"
    assert "collect more data" in " ".join(small.details["recommendations"])
    for key in ("risk_level", "components", "recommendations"):
        assert key in full.details


def test_duplicating_records_raises_memorisation() -> None:
    base = markov_records(300)
    clean = run(base)
    duplicated = run(base + base[:150])
    assert duplicated.metrics["memorization_fraction"] > clean.metrics["memorization_fraction"] + 0.2
    assert duplicated.metrics["response_ngram_overlap"] > clean.metrics["response_ngram_overlap"]
    finding = next(f for f in duplicated.findings if f.code == "memorisable_records")
    assert finding.n_records > 0
    assert "deduplicate" in " ".join(duplicated.details["recommendations"])


def labelled_records(n: int, flipped: set[int]) -> list[dict[str, Any]]:
    positive = ("great", "excellent", "wonderful", "superb", "lovely", "fantastic")
    negative = ("awful", "terrible", "broken", "useless", "horrible", "dreadful")
    records = []
    for i in range(n):
        good = i % 2 == 0
        word = (positive if good else negative)[(i // 2) % 6]
        label = "pos" if good else "neg"
        if i in flipped:
            label = "neg" if good else "pos"
        records.append({"text": f"item {i} was {word} and {word} again", "label": label})
    return records


def test_classifier_proxy_and_cartography_find_flipped_labels() -> None:
    flipped = set(range(3, 300, 25))
    result = run(labelled_records(300, flipped))
    assert result.details["proxy"] == "probe_classifier"
    assert result.metrics["heldout_accuracy"] > 0.85
    hard = next(f for f in result.findings if f.code == "hard_to_learn")
    found = set(hard.records)
    assert len(found & flipped) / len(flipped) >= 0.8  # recall
    assert len(found & flipped) / len(found) >= 0.8  # precision
    clean = run(labelled_records(300, set()))
    assert clean.metrics["hard_to_learn_fraction"] == 0.0


def test_probe_coverage_lists_the_uncovered_probe() -> None:
    records = markov_records(200)
    probe = load_dataset([{"prompt": records[5]["instruction"], "response": records[5]["output"]},
                          {"prompt": "zzz quantum chromodynamics xyzzy", "response": ""}],
                         name="probe")
    ctx = RunContext(view(records), seed=0, probe_data=probe)
    result = run_check(OverfittingRisk(), ctx)
    assert result.metrics["probe_coverage"] == 0.5
    finding = next(f for f in result.findings if f.code == "uncovered_probes")
    assert finding.records == () and [p["probe_id"] for p in finding.details["probes"]] == [1]
    assert np.isfinite(result.metrics["probe_perplexity"])
    assert result.details["components"]["uncovered_probes"] == 0.5
    no_probe = run(records)
    assert np.isnan(no_probe.metrics["probe_coverage"])


def test_too_few_records_are_skipped_with_a_reason() -> None:
    result = run(markov_records(10))
    assert result.status is Status.SKIPPED
    assert "at least" in (result.skipped_reason or "") and "got 10" in (result.skipped_reason or "")


def test_deterministic_for_a_seed() -> None:
    records = markov_records(150)
    first = run(records, seed=5).to_dict()
    second = run(records, seed=5).to_dict()
    first.pop("duration_s"), second.pop("duration_s")
    assert first == second


def test_samples_and_says_so() -> None:
    result = run(markov_records(300), max_records=100)
    assert result.details["sampled"] is True and result.details["sampled_records"] == 100
    assert result.metrics["effective_records"] == pytest.approx(300, rel=0.1)


def test_classifier_proxy_small_subsample_is_riskier() -> None:
    records = labelled_records(600, set(range(3, 600, 40)))
    full = run(records)
    small = run(records[:60])
    assert small.metrics["overfitting_risk_score"] > full.metrics["overfitting_risk_score"]
    assert "end_gain_definition" in full.details and full.details["proxy"] == "probe_classifier"
    assert all("heldout_accuracy" in point for point in full.details["learning_curve"])


# -- the classifier proxy on the shared out-of-fold fits ------------------------------------------
def test_row_groups_join_equal_rows_and_leaked_rows_find_copies_in_other_folds() -> None:
    from scipy import sparse

    from checks.overfitting._probes import leaked_rows, row_groups

    matrix = sparse.csr_matrix(np.array([[1, 0, 2], [0, 1, 0], [1, 0, 2], [0, 0, 0],
                                         [0, 0, 0], [1, 0, 2.5]], dtype=np.float32))
    groups = row_groups(matrix)
    assert groups[0] == groups[2] and groups[3] == groups[4]
    assert len({groups[0], groups[1], groups[3], groups[5]}) == 4
    folds = np.array([0, 1, 1, 2, 2, -1])
    assert leaked_rows(groups, folds).tolist() == [True, False, True, False, False, False]


def test_classifier_proxy_reads_the_label_probe_fits() -> None:
    from checks.labels.label_issues import LabelIssuesCheck

    ctx = RunContext(view(labelled_records(300, set(range(3, 300, 25)))), seed=0)
    LabelIssuesCheck().run(ctx.data, ctx)
    oof = ctx.artifact("oof_predictions")
    result = run_check(OverfittingRisk(), ctx)
    assert ctx.artifact("oof_predictions") is oof  # fitted once, read by both checks
    proxy = result.details["classifier_proxy"]
    assert result.details["n_folds"] == oof.n_folds and proxy["heldout_records"] == 300
    assert oof.first_run is not None
    expected = float((oof.first_run.argmax(axis=1) == oof.labels).mean())
    assert result.metrics["heldout_accuracy"] == pytest.approx(expected)
    assert result.metrics["generalization_gap"] == pytest.approx(oof.train_accuracy - expected)
    assert [c["fraction"] for c in result.details["learning_curve"]] == [0.1, 0.25, 0.5, 1.0]


def test_copies_in_training_folds_do_not_score_as_held_out() -> None:
    clean = labelled_records(300, set())
    copied = run(clean + clean[:150])
    proxy = copied.details["classifier_proxy"]
    assert proxy["heldout_with_copy_in_training"] > 0
    assert proxy["heldout_records"] + proxy["heldout_with_copy_in_training"] == 450
    assert run(clean).details["classifier_proxy"]["heldout_with_copy_in_training"] == 0
