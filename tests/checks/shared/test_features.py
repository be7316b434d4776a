"""The shared probe text classifier."""

from __future__ import annotations

from checks.shared.features import make_text_classifier
from tests.checks.conftest import sentiment_rows


def test_probe_model() -> None:
    texts = [r["text"] for r in sentiment_rows()]
    labels = [r["label"] for r in sentiment_rows()]
    model = make_text_classifier(0).fit(texts, labels)
    assert list(model.predict(["it was excellent", "it was awful"])) == ["pos", "neg"]
