"""Smoke run of the label-noise benchmark's pieces on small synthetic data (no shared data)."""

from __future__ import annotations

import numpy as np

from audit.testing import classification_records
from benchmarks.label_noise import flip_class, flip_uniform, run_label_issues, score


def test_flips_score_and_audit_agree_on_planted_noise() -> None:
    rows = classification_records(600)
    texts = [r["text"] for r in rows]
    labels = [r["label"] for r in rows]
    noisy, truth = flip_uniform(labels, 0.10, seed=1)
    assert 0.05 < truth.mean() < 0.15
    assert all((a != b) == t for a, b, t in zip(labels, noisy, truth, strict=True))
    result = run_label_issues(texts, noisy)
    precision, recall, f1 = score(result["flagged"], truth)
    assert precision > 0.5 and recall > 0.5 and 0 < f1 <= 1
    assert result["oof"].model.startswith("logistic regression")
    _, class_truth, pair = flip_class(labels, 0.2, seed=2)
    assert "->" in pair and class_truth.sum() > 0


def test_score_counts_true_positives() -> None:
    truth = np.array([True, False, True, False])
    assert score(np.array([0, 1]), truth) == (0.5, 0.5, 0.5)
