"""Small synthetic datasets for the diversity, overfitting and advisory tests (deterministic)."""

from __future__ import annotations

from typing import Any

import numpy as np

from audit.dataset import DatasetView
from audit.load import load_dataset

OPENERS = ("Explain", "Write", "Summarize", "What is", "How do", "Translate", "Compare",
           "List", "Classify", "Why does", "Rewrite", "Calculate")


def pseudo_words(n: int = 600, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    consonants, vowels = list("bdfgklmnprstvz"), list("aeiou")
    out: set[str] = set()
    while len(out) < n:
        size = int(rng.integers(2, 4))
        out.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(size)))
    return sorted(out)


def diverse_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Varied openings, topics and wording: responses from a random bigram-ish process."""
    rng = np.random.default_rng(seed)
    vocab = pseudo_words()
    records = []
    for i in range(n):
        topic = " ".join(rng.choice(vocab, size=3))
        response = " ".join(rng.choice(vocab, size=int(rng.integers(20, 40))))
        records.append({"instruction": f"{OPENERS[i % len(OPENERS)]} {topic}?",
                        "input": "", "output": response})
    return records


def templated_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    vocab = pseudo_words()
    return [{"instruction": f"Please answer the question about {rng.choice(vocab)}.",
             "input": "",
             "output": f"Sure! Here is the answer you asked for: {rng.choice(vocab)} is "
                       f"{rng.choice(vocab)}. I hope this helps, let me know if you have any "
                       "other questions."} for _ in range(n)]


def near_duplicate_records(n: int, distinct: int = 20, seed: int = 0) -> list[dict[str, Any]]:
    base = diverse_records(distinct, seed)
    return [dict(base[i % distinct], output=base[i % distinct]["output"] + ("" if i < distinct
                                                                             else " ok"))
            for i in range(n)]


def markov_records(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Responses from a fixed sparse Markov chain: learnable structure, so more data helps."""
    vocab = pseudo_words(200, seed=1)
    chain = np.random.default_rng(1).integers(0, len(vocab), size=(len(vocab), 4))
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        state = int(rng.integers(len(vocab)))
        out = []
        for _ in range(int(rng.integers(15, 30))):
            out.append(vocab[state])
            state = int(chain[state, rng.integers(4)])
        records.append({"instruction": f"{OPENERS[i % len(OPENERS)]} {vocab[i % 200]} "
                                       f"{vocab[(i * 7) % 200]}?", "input": "",
                        "output": " ".join(out)})
    return records


def view(records: list[dict[str, Any]], name: str = "synthetic") -> DatasetView:
    return load_dataset(records, name=name)
