"""The shared probe text classifier."""

from __future__ import annotations

from checks._features import make_text_classifier


def rows(n: int = 30) -> list[dict[str, str | None]]:
    good = ("great", "lovely", "excellent")
    bad = ("awful", "broken", "terrible")
    return [{"text": f"it was {(good if i % 2 else bad)[i % 3]} number {i}",
             "label": "pos" if i % 2 else "neg"} for i in range(n)]


def test_probe_model() -> None:
    texts = [r["text"] for r in rows()]
    labels = [r["label"] for r in rows()]
    model = make_text_classifier(0).fit(texts, labels)
    assert list(model.predict(["it was excellent", "it was awful"])) == ["pos", "neg"]
