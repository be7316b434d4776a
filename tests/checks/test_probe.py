"""Out-of-fold probe predictions: folds, model choice by cost, embedding features."""

from __future__ import annotations

import numpy as np
import pytest

import checks._embeddings as embeddings
import checks._probe as probe
from audit.context import RunContext
from audit.load import load_dataset
from checks._embeddings import EmbeddingsUnavailable
from checks._probe import fold_count, linear_model, oof_feasible
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
    cheap, _ = linear_model(0, probe.LBFGS_MAX_WORK)
    costly, make = linear_model(0, probe.LBFGS_MAX_WORK + 1)
    assert "L-BFGS" in cheap and "SGD" in costly
    assert make().max_iter == probe.SGD_EPOCHS


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
    out = probe.cross_validated(np.arange(len(y))[:, None], y, 2, 4, 0, Recording,
                                lambda _: None, exclude=exclude)
    assert len(seen) == 4 and not set().union(*seen) & {3, 10, 21, 38}
    assert set().union(*seen) == set(np.flatnonzero(~exclude).tolist())
    assert np.allclose(out, [0.25, 0.75])  # every record predicted, excluded ones too
