"""The shared probe model and out-of-fold predictions."""

from __future__ import annotations

import numpy as np
import pytest

from audit.context import RunContext
from audit.load import load_dataset
from checks._features import fold_count, make_text_classifier, oof_feasible


def rows(n: int = 30) -> list[dict[str, str | None]]:
    good = ("great", "lovely", "excellent")
    bad = ("awful", "broken", "terrible")
    return [{"text": f"it was {(good if i % 2 else bad)[i % 3]} number {i}",
             "label": "pos" if i % 2 else "neg"} for i in range(n)]


def test_oof_predictions_are_out_of_fold_and_deterministic() -> None:
    data = load_dataset(rows(), name="t")
    a = RunContext(data, seed=3).artifact("oof_predictions")
    b = RunContext(data, seed=3).artifact("oof_predictions")
    assert a.classes == ("neg", "pos") and a.n_folds == 5
    assert np.array_equal(a.probabilities, b.probabilities)
    assert np.allclose(a.probabilities.sum(axis=1), 1.0)
    assert (a.probabilities.argmax(axis=1) == a.labels).mean() > 0.9


def test_infeasible_data_raises_with_reason() -> None:
    one_class = [dict(r, label="pos") for r in rows(10)]
    data = load_dataset(one_class, name="t")
    assert "two classes" in (oof_feasible(data) or "")
    with pytest.raises(ValueError):
        RunContext(data).artifact("oof_predictions")


def test_fold_count_and_probe_model() -> None:
    assert fold_count(6) == 3 and fold_count(1000) == 5 and fold_count(100_000) == 3
    texts = [r["text"] for r in rows()]
    labels = [r["label"] for r in rows()]
    model = make_text_classifier(0).fit(texts, labels)
    assert list(model.predict(["it was excellent", "it was awful"])) == ["pos", "neg"]
