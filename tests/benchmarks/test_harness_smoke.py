"""A small smoke run of the benchmark harness, so that it cannot rot (full runs are by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from audit import load_dataset
from benchmarks import audit_scale
from benchmarks.generate import write


def test_generator_is_deterministic_and_truth_matches(tmp_path: Path) -> None:
    a = write("instruction", 600, tmp_path / "a.jsonl", words=40)
    write("instruction", 600, tmp_path / "b.jsonl", words=40)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(records) == 600
    for source, copy in a.planted["exact_duplicates"]:
        assert records[source] == records[copy]
    for source, copy, _op in a.planted["near_duplicates"]:
        assert records[source]["output"] != records[copy]["output"]
        assert records[source]["instruction"] == records[copy]["instruction"]
    for i in a.planted.get("empty_responses", []):
        assert records[i]["output"] == ""
    truth = json.loads((tmp_path / "a.jsonl.truth.json").read_text())
    assert truth["n_records"] == 600


def test_classification_and_eval_kinds(tmp_path: Path) -> None:
    truth = write("classification", 400, tmp_path / "c.jsonl", words=10)
    data = load_dataset(tmp_path / "c.jsonl")
    assert data.schema.name == "text_label" and data.n == 400
    assert 0.05 < len(truth.planted["label_issues"]) / 400 < 0.15
    write("instruction", 300, tmp_path / "t.jsonl", words=20)
    leak = write("eval", 100, tmp_path / "e.jsonl", train=tmp_path / "t.jsonl")
    train = (tmp_path / "t.jsonl").read_text().splitlines()
    evals = (tmp_path / "e.jsonl").read_text().splitlines()
    for eval_id, train_id, kind in leak.planted["eval_leakage"]:
        same = json.loads(evals[eval_id])["instruction"] == json.loads(train[train_id])["instruction"]
        assert same, kind


def test_audit_scale_quick_run_reports_every_section() -> None:
    markdown = audit_scale.run([150], words=20, repeats=1)
    assert "ft-audit checks" in markdown
    assert "| 150 |" in markdown
    assert "empty_responses" in markdown
