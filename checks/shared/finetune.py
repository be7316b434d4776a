"""A fine-tuned encoder as probe classifier (optional `embeddings` extra).

The bundled all-MiniLM-L6-v2 encoder with a linear head on its mean-pooled tokens, fine-tuned
end to end on one fold's labels and asked for the held-out fold's class probabilities: a
stronger probe than a linear model on fixed features where labels are subtle (sentiment
phrases; benchmarks/results/label_noise_finetune_pilot.md). It is costly on CPU: minutes for
thousands of records, far more for 100k; a CUDA GPU is used when torch sees one. One epoch,
so the model learns the bulk of the labels before it can memorise the wrong ones.
Deterministic for a seed on CPU.

`FineTunedEncoder` follows the scikit-learn protocol that `checks.shared.probe.cross_validated`
expects (`fit`, `predict_proba`, `classes_`); torch is imported only inside its methods.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from checks.shared.embeddings import model_path, quiet_loading

#: tokens kept per record (longer texts are truncated)
MAX_TOKENS = 128
#: records per training step and per prediction batch
TRAIN_BATCH = 32
PREDICT_BATCH = 128
#: one epoch at 1e-4: the best of the learning rates and epochs compared in
#: benchmarks.label_noise --finetune-pilot (a second epoch gained nothing for its cost)
EPOCHS = 1
LEARNING_RATE = 1e-4
#: share of the steps over which the learning rate warms up (then decays linearly to 0)
WARMUP = 0.06


def length_batches(lengths: Sequence[int], size: int,
                   rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Positions grouped into batches of similar length (little padding), in shuffled batch
    order when `rng` is given (sorting first cuts padding, so training is much faster)."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches = [order[i:i + size] for i in range(0, len(order), size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def learning_rate_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up over `warmup` steps, then linear decay to 0 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


@contextmanager
def torch_threads() -> Iterator[None]:
    """All available cores for torch while fitting (the caller may have capped BLAS to one
    thread for the linear probes); the previous setting is restored."""
    import os

    import torch

    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(max(1, cores or 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class FineTunedEncoder:
    """Fine-tunes a fresh copy of the bundled encoder on `fit`; `predict_proba` afterwards."""

    def __init__(self, *, seed: int = 0, epochs: int = EPOCHS,
                 learning_rate: float = LEARNING_RATE) -> None:
        self.seed = seed
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.classes_: np.ndarray = np.zeros(0, dtype=np.int64)
        self._parts: tuple[Any, Any, Any, Any] | None = None

    def _tokenize(self, tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
        ids: list[list[int]] = tokenizer([str(t) for t in texts], truncation=True,
                                         max_length=MAX_TOKENS)["input_ids"]
        return ids

    def _logits(self, ids: list[list[int]]) -> Any:
        tokenizer, encoder, head, device = self._parts  # type: ignore[misc]
        batch = tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(device)
        tokens = encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        return head((tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0))

    def fit(self, texts: Sequence[str], y: np.ndarray) -> FineTunedEncoder:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = model_path()
        self.classes_, targets = np.unique(np.asarray(y), return_inverse=True)
        with torch_threads():
            torch.manual_seed(self.seed)
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            with quiet_loading():
                tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                encoder = AutoModel.from_pretrained(path, local_files_only=True).to(device)
            # the 30k x 384 word embeddings stay as they are: updating them every step was
            # most of the cost, for rare words a fold barely sees
            encoder.get_input_embeddings().weight.requires_grad_(False)
            head = torch.nn.Linear(encoder.config.hidden_size, len(self.classes_)).to(device)
            self._parts = (tokenizer, encoder, head, device)
            trained = [p for p in encoder.parameters() if p.requires_grad] + list(head.parameters())
            optimizer = torch.optim.AdamW(trained, lr=self.learning_rate, weight_decay=0.01)
            ids = self._tokenize(tokenizer, texts)
            rng = np.random.default_rng(self.seed)
            total = self.epochs * -(-len(ids) // TRAIN_BATCH)
            warmup = max(1, int(WARMUP * total))
            schedule = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: learning_rate_factor(step, total, warmup))
            target = torch.as_tensor(targets, dtype=torch.long)
            encoder.train()
            for _ in range(self.epochs):
                for batch in length_batches([len(i) for i in ids], TRAIN_BATCH, rng):
                    loss = torch.nn.functional.cross_entropy(
                        self._logits([ids[i] for i in batch]), target[batch].to(device))
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    schedule.step()
            encoder.eval()
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        if self._parts is None:
            raise RuntimeError("FineTunedEncoder.predict_proba before fit")
        probabilities = np.zeros((len(texts), len(self.classes_)))
        ids = self._tokenize(self._parts[0], texts)
        with torch_threads(), torch.no_grad():
            for batch in length_batches([len(i) for i in ids], PREDICT_BATCH):
                logits = self._logits([ids[i] for i in batch])
                probabilities[batch] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return probabilities
