"""The fine-tuned encoder probe: batching and schedule maths, wiring into the out-of-fold
frame (with a stand-in model, so CI needs no torch), and the real model when the extra is
installed."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import checks.shared.embeddings as embeddings
import checks.shared.finetune as finetune
import checks.shared.probe as probe
from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.labels.label_issues import LabelIssuesCheck
from checks.shared.embeddings import EmbeddingsUnavailable
from checks.shared.features import make_text_classifier
from checks.shared.finetune import learning_rate_factor, length_batches
from tests.checks.conftest import sentiment_rows


def test_length_batches_cover_every_position_once_with_similar_lengths() -> None:
    lengths = [5, 1, 9, 3, 3, 7, 2, 8, 6, 4, 10]
    batches = length_batches(lengths, 3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert [len(b) for b in batches] == [3, 3, 3, 2]
    spans = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert max(spans) <= 2  # sorted by length: neighbours in a batch


def test_length_batches_shuffle_batch_order_deterministically() -> None:
    lengths = list(range(100))
    a = length_batches(lengths, 10, np.random.default_rng(1))
    b = length_batches(lengths, 10, np.random.default_rng(1))
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    assert [x.tolist() for x in a] != [x.tolist() for x in length_batches(lengths, 10)]
    assert sorted(np.concatenate(a).tolist()) == lengths


def test_learning_rate_warms_up_then_decays_to_zero() -> None:
    factors = [learning_rate_factor(s, 100, 10) for s in range(101)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(factors[9:]))
    assert factors[100] == 0.0


class StandIn:
    """A fast text classifier in place of the fine-tuned encoder (same protocol)."""

    def __init__(self, *, seed: int = 0) -> None:
        self.model = make_text_classifier(seed)

    def fit(self, texts: Any, y: np.ndarray) -> StandIn:
        assert isinstance(texts[0], str)
        self.model.fit(list(texts), y)
        self.classes_ = self.model.classes_
        return self

    def predict_proba(self, texts: Any) -> np.ndarray:
        return np.asarray(self.model.predict_proba(list(texts)))


def test_finetuned_probe_runs_folds_one_at_a_time_on_the_texts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: True)
    monkeypatch.setattr(finetune, "FineTunedEncoder", StandIn)
    seen: list[int | None] = []
    real = probe.fold_fits

    def spy(*args: Any, **kwargs: Any) -> probe.FoldFits:
        seen.append(kwargs.get("workers"))
        return real(*args, **kwargs)

    monkeypatch.setattr(probe, "fold_fits", spy)
    rows = sentiment_rows(60)
    for i in (4, 11, 30):  # a few flipped labels: something for a refit to leave out
        rows[i]["label"] = "pos" if rows[i]["label"] == "neg" else "neg"
    data = load_dataset(rows, name="t")
    ctx = RunContext(data, seed=0)
    assert LabelIssuesCheck().run(data, RunContext(data)).details["probe"][
        "refitted_without"] > 0  # the TF-IDF probe alone refits
    seen.clear()
    m = LabelIssuesCheck(features="finetuned+tfidf").run(data, ctx)
    # TF-IDF folds in threads, the encoder's one after another; no refit with the encoder
    assert seen == [None, 1] and m.details["probe"]["refitted_without"] == 0
    tuned, tfidf = ctx.artifact("oof_finetuned_predictions"), ctx.artifact("oof_predictions")
    mean = (tuned.probabilities + tfidf.probabilities) / 2
    assert m.metrics["probe_accuracy"] == float((mean.argmax(axis=1) == tfidf.labels).mean())
    assert "fine-tuned" in m.details["probe"]["model"] and "TF-IDF" in m.details["probe"]["model"]
    assert (tuned.probabilities.argmax(axis=1) == tuned.labels).mean() > 0.85


def test_finetuned_features_without_the_extra_error_with_the_install_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    data = load_dataset(sentiment_rows(), name="t")
    with pytest.raises(EmbeddingsUnavailable, match="pip install"):
        RunContext(data).artifact("oof_finetuned_predictions")
    result = run_check(LabelIssuesCheck(features="finetuned"), RunContext(data))
    assert result.status is Status.ERRORED and "pip install" in (result.error or "")


@pytest.mark.slow
@pytest.mark.skipif(not embeddings.embeddings_available(), reason="needs the embeddings extra")
def test_real_encoder_learns_the_labels_deterministically() -> None:
    data = load_dataset(sentiment_rows(60), name="t")
    a = RunContext(data, seed=0).artifact("oof_finetuned_predictions")
    b = RunContext(data, seed=0).artifact("oof_finetuned_predictions")
    assert "fine-tuned" in a.model and a.n_folds == 5
    assert np.array_equal(a.probabilities, b.probabilities)
    assert np.allclose(a.probabilities.sum(axis=1), 1.0)
    assert (a.probabilities.argmax(axis=1) == a.labels).mean() > 0.8


@pytest.mark.skipif(not embeddings.embeddings_available(), reason="needs the embeddings extra")
def test_loading_the_encoder_shows_no_progress_bar(capfd: pytest.CaptureFixture[str]) -> None:
    import huggingface_hub  # noqa: F401  (imported first, as `datasets` does, bars still on)
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    path = embeddings.model_path()
    with embeddings.quiet_loading():
        AutoModel.from_pretrained(path, local_files_only=True)
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()  # the caller's setting is back
