"""outliers: planted off-topic records are flagged, homogeneous data flags few."""

from __future__ import annotations

from typing import Any

import numpy as np

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Measurement
from checks.diversity.outliers import Outliers, knn_distance

SUPPORT = ("refund", "order", "shipping", "delivery", "account", "password", "invoice", "card")


def support_rows(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    return [{"prompt": "Customer asks about " + " ".join(rng.choice(SUPPORT, 3)),
             "response": "Please check your " + " ".join(rng.choice(SUPPORT, 2)) + " page."}
            for _ in range(n)]


ODD = [{"prompt": "Quantum chromodynamics gluon confinement lattice", "response": "Hadrons."},
       {"prompt": "Recette: tarte aux pommes, beurre, sucre, farine", "response": "Cuire 40 min."},
       {"prompt": "<div><span>&nbsp;</span></div> <script>x()</script>", "response": "<br/>"}]


def run(rows: list[dict[str, str]], **params: Any) -> Measurement:
    data = load_dataset(rows, name="t")
    return Outliers(**params).run(data, RunContext(data, seed=0))


def test_planted_outliers_are_flagged_first() -> None:
    rows = support_rows(200)
    rows[50:50] = ODD
    m = run(rows)
    flagged = m.findings[0].records
    assert set(flagged[:3]) == {50, 51, 52}
    assert m.metrics["outlier_fraction"] <= 0.05


def test_homogeneous_data_flags_few() -> None:
    m = run(support_rows(200))
    assert m.metrics["outlier_fraction"] <= 0.02


def test_sampled_reference_agrees_on_planted_outliers() -> None:
    rows = support_rows(300)
    rows[10:10] = ODD
    m = run(rows, reference_size=100)
    assert {10, 11, 12} <= set(m.findings[0].records)


def test_knn_distance_excludes_self() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    scores = knn_distance(vectors, vectors, k=1, self_in_reference=True)
    assert np.allclose(scores, [0.0, 0.0, 1.0])
