"""Fixtures for check tests."""

from __future__ import annotations

import zlib

import numpy as np
import pytest


def sentiment_rows(n: int = 30) -> list[dict[str, str | None]]:
    """`n` tiny text+label records whose label one word decides (pos/neg alternate)."""
    good = ("great", "lovely", "excellent")
    bad = ("awful", "broken", "terrible")
    return [{"text": f"it was {(good if i % 2 else bad)[i % 3]} number {i}",
             "label": "pos" if i % 2 else "neg"} for i in range(n)]


def hashed_bag_of_words(texts: list[str], *, seed: int = 0) -> np.ndarray:
    """L2-normalised hashed bag-of-words vectors standing in for sentence embeddings."""
    out = np.zeros((len(texts), 512), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.split():
            out[i, zlib.crc32(word.encode()) % 512] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def fake_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `embeddings` artifact without torch: hashed bag-of-words vectors."""
    import checks.shared.embeddings as embeddings

    monkeypatch.setattr(embeddings, "encode", hashed_bag_of_words)
