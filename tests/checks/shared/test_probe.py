"""Out-of-fold probe predictions: folds, model choice by cost, embedding features."""

from __future__ import annotations

import numpy as np
import pytest

import checks.shared.embeddings as embeddings
import checks.shared.probe as probe
from audit.context import RunContext
from audit.load import load_dataset
from checks.shared.embeddings import EmbeddingsUnavailable
from checks.shared.probe import fold_count, linear_model, oof_feasible
from tests.checks.conftest import sentiment_rows


def test_oof_predictions_are_out_of_fold_and_deterministic() -> None:
    data = load_dataset(sentiment_rows(), name="t")
    a = RunContext(data, seed=3).artifact("oof_predictions")
    b = RunContext(data, seed=3).artifact("oof_predictions")
    assert a.classes == ("neg", "pos") and a.n_folds == 5
    assert a.model == "logistic regression (L-BFGS)"
    assert np.array_equal(a.probabilities, b.probabilities)
    assert np.allclose(a.probabilities.sum(axis=1), 1.0)
    assert (a.probabilities.argmax(axis=1) == a.labels).mean() > 0.9


def test_infeasible_data_raises_with_reason() -> None:
    one_class = [dict(r, label="pos") for r in sentiment_rows(10)]
    data = load_dataset(one_class, name="t")
    assert "two classes" in (oof_feasible(data) or "")
    with pytest.raises(ValueError):
        RunContext(data).artifact("oof_predictions")


def test_fold_count() -> None:
    assert fold_count(6) == 3 and fold_count(1000) == 5 and fold_count(100_000) == 3


def test_costly_problems_switch_from_lbfgs_to_sgd() -> None:
    cheap = linear_model(0, probe.LBFGS_MAX_WORK)
    costly = linear_model(0, probe.LBFGS_MAX_WORK + 1)
    assert "L-BFGS" in cheap.name and "SGD" in costly.name
    assert costly.make().max_iter == probe.SGD_EPOCHS
    assert cheap.refine is not None and costly.refine is None


def test_cheap_probes_average_k_fold_runs_on_different_splits() -> None:
    assert linear_model(0, probe.REPEAT_MAX_WORK // probe.REPEATS).repeats == probe.REPEATS > 1
    assert linear_model(0, probe.REPEAT_MAX_WORK).repeats == 1
    data = load_dataset(sentiment_rows(60), name="t")
    oof = RunContext(data, seed=2).artifact("oof_predictions")
    assert oof.repeats == probe.REPEATS
    rng = np.random.default_rng(0)
    y = np.array([0, 1, 2] * 20)
    matrix = rng.normal(size=(len(y), 4)) + y[:, None]
    once = linear_model(0, 0)
    single = probe.FoldModel(once.name, once.make, once.refine)
    steps: list[int] = []
    averaged = probe.cross_validated(matrix, y, 3, 4, 7, once, steps.append)
    runs = [probe.cross_validated(matrix, y, 3, 4, 7 + r, single, lambda _: None)
            for r in range(probe.REPEATS)]
    assert np.allclose(averaged, np.mean(runs, axis=0))
    assert not np.allclose(runs[0], runs[1])  # the splits differ
    assert steps == [1] * 4  # progress counts folds, not fits


def test_sgd_probe_is_deterministic_and_accurate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "LBFGS_MAX_WORK", 0)
    data = load_dataset(sentiment_rows(60), name="t")
    a = RunContext(data, seed=1).artifact("oof_predictions")
    b = RunContext(data, seed=1).artifact("oof_predictions")
    assert "SGD" in a.model
    assert np.array_equal(a.probabilities, b.probabilities)
    assert (a.probabilities.argmax(axis=1) == a.labels).mean() > 0.9


@pytest.mark.usefixtures("fake_embeddings")
def test_embedding_probe_uses_the_embeddings_artifact() -> None:
    data = load_dataset(sentiment_rows(60), name="t")
    ctx = RunContext(data, seed=0)
    oof = ctx.artifact("oof_embedding_predictions")
    assert "embeddings" in ctx.memoised() and "sentence embeddings" in oof.model
    assert (oof.probabilities.argmax(axis=1) == oof.labels).mean() > 0.9


def test_embedding_probe_without_the_extra_says_how_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    data = load_dataset(sentiment_rows(), name="t")
    with pytest.raises(EmbeddingsUnavailable, match="pip install"):
        RunContext(data).artifact("oof_embedding_predictions")


def test_results_do_not_depend_on_how_many_folds_run_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = load_dataset(sentiment_rows(60), name="t")
    monkeypatch.setattr(probe, "fold_workers", lambda n_folds: 1)
    serial = RunContext(data, seed=2).artifact("oof_predictions")
    monkeypatch.setattr(probe, "fold_workers", lambda n_folds: n_folds)
    parallel = RunContext(data, seed=2).artifact("oof_predictions")
    assert np.array_equal(serial.probabilities, parallel.probabilities)
    assert probe.fold_workers(3) >= 1


def test_excluded_records_train_no_fold_but_are_predicted() -> None:
    seen: list[set[int]] = []

    class Recording:
        classes_ = np.array([0, 1])

        def fit(self, matrix: np.ndarray, y: np.ndarray) -> Recording:
            seen.append(set(matrix[:, 0].tolist()))
            return self

        def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
            return np.tile([0.25, 0.75], (len(matrix), 1))

    y = np.array([0, 1] * 20)
    exclude = np.zeros(len(y), dtype=bool)
    exclude[[3, 10, 21, 38]] = True
    out = probe.cross_validated(np.arange(len(y))[:, None], y, 2, 4, 0,
                                probe.FoldModel("recording", Recording), lambda _: None,
                                exclude=exclude)
    assert len(seen) == 4 and not set().union(*seen) & {3, 10, 21, 38}
    assert set().union(*seen) == set(np.flatnonzero(~exclude).tolist())
    assert np.allclose(out, [0.25, 0.75])  # every record predicted, excluded ones too


def test_label_lift_is_zero_for_the_majority_guess_and_one_when_all_right() -> None:
    y = np.array([0, 0, 0, 1])
    assert probe.label_lift(np.zeros(4, dtype=int), y) == 0.0
    assert probe.label_lift(y, y) == 1.0
    assert probe.label_lift(1 - y, y) < 0
    assert probe.label_lift(np.zeros(0, dtype=int), np.zeros(0, dtype=int)) == 0.0


@pytest.mark.parametrize("learns", [True, False])
def test_folds_are_refined_only_where_the_first_fit_predicts_its_held_out_fold(
        learns: bool) -> None:
    refined: list[int] = []

    class Echo:
        """Predicts the label stored in column 1 when it learns, else always class 0."""

        classes_ = np.array([0, 1])

        def fit(self, matrix: np.ndarray, y: np.ndarray) -> Echo:
            return self

        def predict(self, matrix: np.ndarray) -> np.ndarray:
            return matrix[:, 1] if learns else np.zeros(len(matrix), dtype=int)

        def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
            return np.eye(2)[self.predict(matrix)]

    def refine(fitted: Echo, matrix: np.ndarray, y: np.ndarray) -> Echo:
        refined.append(len(y))
        return fitted

    y = np.array([0, 1] * 20)
    matrix = np.column_stack([np.arange(len(y)), y])
    probe.cross_validated(matrix, y, 2, 4, 0, probe.FoldModel("echo", Echo, refine),
                          lambda _: None)
    assert refined == ([30] * 4 if learns else [])


def test_refining_the_coarse_fit_reaches_the_tight_tolerance_solution() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 30))
    y = (x[:, :3].sum(axis=1) + rng.normal(scale=0.5, size=400) > 0).astype(int)
    model = linear_model(0, 1.0)
    assert model.refine is not None
    coarse = model.make().fit(x, y)
    assert coarse.tol == probe.COARSE_TOL
    refined = model.refine(coarse, x, y)
    direct = LogisticRegression(C=coarse.C, tol=probe.LBFGS_TOL, max_iter=1000).fit(x, y)
    assert refined.tol == probe.LBFGS_TOL
    assert np.abs(refined.predict_proba(x) - direct.predict_proba(x)).max() < 0.01


# -- the shared features and fits -----------------------------------------------------------------
def test_oof_keeps_first_run_folds_models_and_training_scores() -> None:
    data = load_dataset(sentiment_rows(60), name="t")
    oof = RunContext(data, seed=2).artifact("oof_predictions")
    assert oof.repeats == probe.REPEATS and len(oof.models) == probe.REPEATS * oof.n_folds
    assert oof.first_run is not None and oof.fold_of is not None
    assert not np.allclose(oof.first_run, oof.probabilities)  # one run, not the average
    assert set(oof.fold_of.tolist()) == set(range(oof.n_folds))
    held_out = float((oof.first_run.argmax(axis=1) == oof.labels).mean())
    assert oof.train_accuracy >= held_out and 0 < oof.train_loss < np.log(2)


def test_refit_from_the_first_pass_models_matches_a_refit_from_zero() -> None:
    rows = sentiment_rows(80)
    for i in (3, 17, 40):
        rows[i]["label"] = "pos" if rows[i]["label"] == "neg" else "neg"
    data = load_dataset(rows, name="t")
    ctx = RunContext(data, seed=0)
    first = ctx.artifact("oof_predictions")
    exclude = np.zeros(data.n, dtype=bool)
    exclude[[3, 17, 40]] = True
    warm = probe.out_of_fold_predictions(data, ctx, exclude=exclude, warm=first)
    cold = probe.out_of_fold_predictions(data, ctx, exclude=exclude)
    assert np.abs(warm.probabilities - cold.probabilities).max() < 0.02
    assert (warm.probabilities.argmax(axis=1) == cold.probabilities.argmax(axis=1)).all()


def test_a_first_fit_that_stalled_is_refined_whatever_its_lift() -> None:
    refined: list[int] = []

    class Constant:
        classes_ = np.array([0, 1])
        n_iter_ = np.array([0])

        def fit(self, matrix: np.ndarray, y: np.ndarray) -> Constant:
            return self

        def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
            return np.tile([0.5, 0.5], (len(matrix), 1))

    def refine(fitted: Constant, matrix: np.ndarray, y: np.ndarray) -> Constant:
        refined.append(len(y))
        return fitted

    y = np.array([0, 1] * 20)
    matrix = np.arange(len(y))[:, None]
    for stalled, expected in ((None, []), (probe._no_step, [30] * 4)):
        refined.clear()
        probe.fold_fits(matrix, y, 2, 4, 0,
                        probe.FoldModel("constant", Constant, refine, stalled=stalled),
                        lambda _: None)
        assert refined == expected


def test_probe_features_cover_every_record_once_for_all_checks() -> None:
    rows = sentiment_rows(60)
    data = load_dataset(rows, name="t")
    ctx = RunContext(data, seed=0)
    features = ctx.artifact("probe_features")
    assert features.matrix.shape[0] == data.n and features.chars
    ctx.artifact("oof_predictions")
    assert ctx.artifact("probe_features") is features
    # the vectoriser puts new texts in the same columns as the fitted rows
    same = features.vectorizer.transform([rows[0]["text"], rows[1]["text"]])
    assert abs(same - features.matrix[:2]).max() < 1e-7


def test_long_texts_drop_char_ngrams_and_single_text_word_ngrams() -> None:
    short = probe.vectorise([r["text"] for r in sentiment_rows(60)], 2)
    assert short.chars and short.word_min_df == 1 and "char" in short.description
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    long_texts = [" ".join(rng.choice(words, 40)) for _ in range(60)]
    long = probe.vectorise(long_texts, 2)
    assert not long.chars and long.word_min_df == 2 and "2+ records" in long.description
    tokens = {t for text in long_texts for t in text.split()}
    assert long.matrix.shape[1] < len(tokens) + 60 * 39  # hapax bigrams are gone


def test_large_data_is_probed_on_one_shared_seeded_sample() -> None:
    data = load_dataset(sentiment_rows(300), name="t")
    ctx = RunContext(data, seed=0)
    view, positions = probe.probe_sample(data, ctx, cap=100)
    assert view.n == 100 and np.all(np.diff(positions) > 0)
    assert probe.probe_view(data, ctx, cap=100) is view
    assert probe.probe_view(data, ctx) is data  # under the default cap
