"""class_balance: counts, imbalance, rare classes, entropy, per split."""

from __future__ import annotations

import math

from audit.context import RunContext
from audit.dataset import DatasetView
from audit.load import load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.labels.class_balance import ClassBalance, imbalance_ratio, normalized_entropy


def view(counts: dict[str, int], split: bool = False) -> DatasetView:
    rows: list[dict[str, str]] = []
    for label, n in counts.items():
        for i in range(n):
            row = {"text": f"{label} example {i}", "label": label}
            if split:
                row["split"] = "test" if i % 5 == 0 else "train"
            rows.append(row)
    return load_dataset(rows, name="t")


def test_imbalanced_data_warns_and_lists_rare_classes() -> None:
    data = view({"a": 200, "b": 50, "c": 4})
    result = run_check(ClassBalance(), RunContext(data))
    assert result.status is Status.WARNED
    assert result.metrics["imbalance_ratio"] == 50.0
    assert result.metrics["n_classes_below_min"] == 1.0
    assert result.details["counts"] == {"a": 200, "b": 50, "c": 4}
    rare = result.findings[0]
    assert rare.code == "rare_classes" and len(rare.records) == 4


def test_balanced_data_passes() -> None:
    result = run_check(ClassBalance(), RunContext(view({"a": 30, "b": 30, "c": 30})))
    assert result.status is Status.PASSED
    assert result.metrics["imbalance_ratio"] == 1.0
    assert math.isclose(result.metrics["label_entropy"], 1.0)
    assert not result.findings


def test_per_split_counts() -> None:
    result = run_check(ClassBalance(min_count=1), RunContext(view({"a": 10, "b": 5}, split=True)))
    assert result.details["per_split"] == {"test": {"a": 2, "b": 1}, "train": {"a": 8, "b": 4}}
    assert result.details["imbalance_ratio_per_split"]["train"] == 2.0


def test_pure_functions() -> None:
    assert imbalance_ratio([10, 2]) == 5.0
    assert math.isnan(imbalance_ratio([]))
    assert normalized_entropy([5, 5]) == 1.0
    assert normalized_entropy([99, 1]) < 0.1
    assert math.isnan(normalized_entropy([7]))
