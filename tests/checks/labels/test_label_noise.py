"""label_issues: planted label flips are found, clean data flags few, results are stable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Measurement, Severity, Status
from audit.runner import run_check
from checks.labels.label_issues import LabelIssuesCheck, confused_pairs, find_issues

TOPICS = {
    "sports": ("match", "goal", "team", "coach", "league", "striker", "season", "stadium"),
    "cooking": ("recipe", "oven", "garlic", "simmer", "flour", "butter", "sauce", "bake"),
    "finance": ("stock", "bond", "interest", "dividend", "market", "loan", "budget", "tax"),
}
FILLER = ("the", "a", "today", "really", "about", "this", "we", "talked", "new", "my")


def records(n_per_class: int = 40, seed: int = 1) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    out = []
    for label, vocab in TOPICS.items():
        for _ in range(n_per_class):
            words = list(rng.choice(vocab, 5)) + list(rng.choice(FILLER, 3))
            rng.shuffle(words)
            out.append({"text": " ".join(words), "label": label})
    return out


def flipped(data: list[dict[str, str]], positions: list[int]) -> list[dict[str, str]]:
    labels = list(TOPICS)
    out = [dict(r) for r in data]
    for p in positions:
        out[p]["label"] = labels[(labels.index(out[p]["label"]) + 1) % len(labels)]
    return out


PLANTED = [3, 17, 45, 60, 88, 101, 115]


def run(data: list[dict[str, str]], **params: Any) -> Measurement:
    view = load_dataset(data, name="t")
    return LabelIssuesCheck(**params).run(view, RunContext(view, seed=0))


def test_planted_flips_are_found_with_suggested_labels() -> None:
    clean = records()
    m = run(flipped(clean, PLANTED))
    flagged = set(m.findings[0].records)
    assert len(flagged & set(PLANTED)) >= 5  # as many as the estimated rate: 5 of 120 here
    assert len(flagged - set(PLANTED)) <= 1
    assert 0.02 <= m.metrics["estimated_noise_rate"] <= 0.12
    top = {row["id"]: row for row in m.details["flagged"]}
    for p in set(PLANTED) & flagged:
        assert top[p]["suggested"] == clean[p]["label"]
        assert top[p]["given"] != clean[p]["label"]


@pytest.mark.parametrize(("refit", "least"), [(False, 5), (True, 3)])
def test_confused_pairs_name_the_planted_direction(refit: bool, least: int) -> None:
    data = records()
    # sports -> cooking only (class-conditional noise)
    for p in (1, 5, 9, 13, 21, 29):
        data[p]["label"] = "cooking"
    m = run(data, refit=refit)
    pair = m.details["confused_pairs"][0]
    assert (pair["given"], pair["suggested"]) == ("cooking", "sports")
    # the refitted probe is surer of the clean 'sports' records, which raises cleanlab's
    # per-class threshold: on 6 flips in 120 records it keeps the 3 most confident
    assert pair["count"] >= least
    assert m.details["probe"]["refitted_without"] == (5 if refit else 0)
    assert m.details["per_class"]["cooking"]["estimated_noise_rate"] > \
        m.details["per_class"]["finance"]["estimated_noise_rate"]


def test_clean_data_flags_few() -> None:
    m = run(records())
    assert m.metrics["flagged_fraction"] <= 0.02
    assert m.metrics["estimated_noise_rate"] <= 0.03


def test_deterministic_and_ranked() -> None:
    data = flipped(records(), PLANTED)
    a, b = run(data), run(data)
    assert a.findings[0].records == b.findings[0].records
    qualities = [row["label_quality"] for row in a.details["flagged"]]
    assert qualities == sorted(qualities)


def test_too_few_records_is_skipped_with_a_reason() -> None:
    view = load_dataset(records(1)[:2], name="two")
    result = run_check(LabelIssuesCheck(), RunContext(view))
    assert result.status is Status.SKIPPED
    assert "at least 4 labelled records, got 2" in (result.skipped_reason or "")


def test_every_record_its_own_class_is_skipped_with_a_reason() -> None:
    rows = [{"text": f"a record about topic number {i} and more words", "label": f"c{i}"}
            for i in range(30)]
    result = run_check(LabelIssuesCheck(), RunContext(load_dataset(rows, name="own")))
    assert result.status is Status.SKIPPED
    assert "class of its own" in (result.skipped_reason or "")


def test_no_words_to_learn_from_is_skipped_with_a_reason() -> None:
    rows = [{"text": "" if i % 3 else "?", "label": "ab"[i % 2]} for i in range(12)]
    result = run_check(LabelIssuesCheck(), RunContext(load_dataset(rows, name="nowords")))
    assert result.status is Status.SKIPPED and "too few words" in (result.skipped_reason or "")


def test_unlabelled_data_is_skipped() -> None:
    view = load_dataset([{"text": r["text"]} for r in records(5)], name="nolabels")
    assert run_check(LabelIssuesCheck(), RunContext(view)).status is Status.SKIPPED


def test_find_issues_and_pairs_on_known_probabilities() -> None:
    labels = np.array([0] * 10 + [1] * 10)
    probs = np.tile([[0.9, 0.1]], (20, 1))
    probs[10:] = [0.1, 0.9]
    probs[[2, 4]] = [0.05, 0.95]  # labelled 0, look like 1
    issues = find_issues(labels, probs)
    assert sorted(issues.flagged.tolist()) == [2, 4]
    assert confused_pairs(labels[issues.flagged], issues.suggested[issues.flagged], 2, 5) == \
        [(0, 1, 2)]


def noisy_probabilities(n: int = 600, n_classes: int = 6, seed: int = 0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probe-like probabilities: mostly confident and right, some of each kind of
    doubt (unsure but right, confidently other)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    probs = rng.dirichlet(np.ones(n_classes) * 0.3, n)
    probs[np.arange(n), labels] += rng.choice([0.1, 2.0, 6.0], n, p=[0.15, 0.25, 0.6])
    return labels, probs / probs.sum(axis=1, keepdims=True)


def test_lowest_quality_flags_the_estimated_count_of_least_likely_given_labels() -> None:
    labels, probs = noisy_probabilities()
    issues = find_issues(labels, probs)
    expected = round(len(labels) * (1 - np.trace(issues.joint)))
    disagree = probs.argmax(axis=1) != labels
    assert 0 < len(issues.flagged) == min(expected, int(disagree.sum()))
    assert disagree[issues.flagged].all()  # never "given X, suggested X"
    quality = probs[np.arange(len(labels)), labels]
    assert np.all(np.diff(quality[issues.flagged]) >= 0)  # most likely mislabelled first
    unflagged = np.setdiff1d(np.flatnonzero(disagree), issues.flagged)
    assert quality[issues.flagged].max() <= quality[unflagged].min()


def test_other_rules_are_cleanlabs() -> None:
    from cleanlab.filter import find_label_issues

    labels, probs = noisy_probabilities(seed=1)
    for rule in ("prune_by_noise_rate", "predicted_neq_given"):
        issues = find_issues(labels, probs, filter_by=rule)
        theirs = np.flatnonzero(find_label_issues(labels, probs, filter_by=rule))
        assert sorted(issues.flagged.tolist()) == theirs.tolist()
    assert len(find_issues(labels, probs, filter_by="predicted_neq_given").flagged) == \
        int((probs.argmax(axis=1) != labels).sum())


def test_large_data_is_audited_on_a_seeded_sample() -> None:
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.testing import classification_records
    from checks.labels.label_issues import LabelIssuesCheck

    data = load_dataset(classification_records(1500))
    check = LabelIssuesCheck(max_records=1000)
    first = check.run(data, RunContext(data, seed=1))
    again = check.run(data, RunContext(data, seed=1))
    assert first.details["sample"] == {"sampled": True, "records": 1000, "of": 1500}
    assert first.metrics == again.metrics
    known = set(data.ids.tolist())
    assert all(set(f.records) <= known for f in first.findings)


@pytest.mark.usefixtures("fake_embeddings")
def test_both_features_average_the_two_probes() -> None:
    view = load_dataset(flipped(records(), PLANTED), name="t")
    ctx = RunContext(view, seed=0)
    m = LabelIssuesCheck(features="both").run(view, ctx)
    tfidf, embedded = ctx.artifact("oof_predictions"), ctx.artifact("oof_embedding_predictions")
    mean = (tfidf.probabilities + embedded.probabilities) / 2
    assert m.metrics["probe_accuracy"] == float((mean.argmax(axis=1) == tfidf.labels).mean())
    assert m.details["probe"]["features"] == "both"
    assert "TF-IDF" in m.details["probe"]["model"] and "embeddings" in m.details["probe"]["model"]
    assert len(set(m.findings[0].records) & set(PLANTED)) >= 5


def test_embedding_features_without_the_extra_error_with_the_install_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.shared.embeddings as embeddings

    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    view = load_dataset(records(), name="t")
    result = run_check(LabelIssuesCheck(features="embeddings"), RunContext(view))
    assert result.status is Status.ERRORED and "pip install" in (result.error or "")


def test_refit_leaves_out_the_flagged_records_and_keeps_mostly_flagged_classes() -> None:
    from checks.labels.label_issues import refit_exclusion
    from checks.shared.probe import OutOfFold

    labels = np.array([0] * 10 + [1] * 4 + [-1])
    oof = OutOfFold(probabilities=np.full((15, 2), 0.5), classes=("a", "b"), labels=labels,
                    n_folds=2, model="m")
    # class b: 3 of its 4 records flagged, too many to leave out; class a: 2 of 10
    exclude = refit_exclusion(oof, np.array([1, 5, 10, 11, 12]))
    assert np.flatnonzero(exclude).tolist() == [1, 5]


def test_refit_runs_a_second_pass_that_can_be_turned_off() -> None:
    data = flipped(records(), PLANTED)
    refitted, single = run(data), run(data, refit=False)
    assert refitted.details["probe"]["refitted_without"] == single.metrics["n_flagged"]
    assert single.details["probe"]["refitted_without"] == 0
    assert len(set(refitted.findings[0].records) & set(PLANTED)) >= 5


def test_no_refit_for_the_bounded_cost_sgd_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.shared.probe as probe

    monkeypatch.setattr(probe, "LBFGS_MAX_WORK", 0)
    m = run(flipped(records(), PLANTED))
    assert "SGD" in m.details["probe"]["model"] and m.metrics["n_flagged"] > 0
    assert m.details["probe"]["refitted_without"] == 0


def test_labels_the_text_does_not_determine_are_reported_as_unpredictable() -> None:
    rng = np.random.default_rng(0)
    shuffled = [dict(r, label=str(rng.choice(list(TOPICS)))) for r in records()]
    view = load_dataset(shuffled, name="random")
    result = run_check(LabelIssuesCheck(), RunContext(view, seed=0))
    assert result.metrics["label_predictability"] < 0.1
    warning = next(f for f in result.findings if f.code == "labels_unpredictable")
    assert warning.severity is Severity.WARNING and "cannot be told apart" in warning.message
    assert result.details["probe"]["refitted_without"] == 0  # nothing learned to refit
    # no label errors claimed: a warning, not cleanlab's meaningless "noise rate" failing it
    assert result.status is Status.WARNED and [f.code for f in result.findings] == [
        "labels_unpredictable"]
    assert np.isnan(result.metrics["estimated_noise_rate"])
    assert result.details["unreliable_noise_estimate"] > 0.5


def test_learnable_labels_are_not_called_unpredictable() -> None:
    m = run(flipped(records(), PLANTED))
    assert m.metrics["label_predictability"] > 0.8
    assert "labels_unpredictable" not in {f.code for f in m.findings}
