"""The committed sample data is exactly what the generator makes, and the manifest fits it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from audit import load_dataset

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("sample_generate", SAMPLE / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_the_generator(tmp_path: Path) -> None:
    _generator().generate(tmp_path)
    for path in sorted(tmp_path.iterdir()):
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes(), path.name


def test_manifest_ids_exist_and_schemas_load() -> None:
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    expected_schema = {"resumes_chat.jsonl": "chat", "support_alpaca.jsonl": "alpaca",
                       "support_eval.jsonl": "alpaca", "reviews_classification.jsonl": "text_label"}
    for name, entry in manifest["files"].items():
        data = load_dataset(SAMPLE / name)
        assert data.n == entry["n_records"]
        assert data.schema.name == expected_schema[name]
        for planted in entry["planted"]:
            assert planted["records"], planted
            assert all(0 <= r < data.n for r in planted["records"]), planted


def test_planted_exact_duplicates_are_identical() -> None:
    manifest = json.loads((SAMPLE / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        lines = (SAMPLE / name).read_text().splitlines()
        for planted in entry["planted"]:
            if planted["defect"] == "exact_duplicates":
                a, b = planted["records"]
                assert json.loads(lines[a]) == json.loads(lines[b])
