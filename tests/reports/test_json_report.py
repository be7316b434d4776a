"""JSON result: schema-valid, round-trips, atomic, stable."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from audit import AuditResult, run_audit
from audit.errors import DataLoadError
from audit.result_io import SCHEMA_VERSION, schema
from audit.testing import chat_records, instruction_records


@pytest.fixture(scope="module")
def result() -> AuditResult:
    return run_audit(instruction_records(), eval=instruction_records(8))


def test_json_validates_against_published_schema(result: AuditResult) -> None:
    doc = json.loads(result.to_json())
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(doc, schema())
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["dataset"]["n_records"] == 48 and doc["verdict"]["go"] is False


def test_schema_rejects_a_broken_document(result: AuditResult) -> None:
    doc = json.loads(result.to_json())
    doc["verdict"]["go"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema())


def test_round_trip(result: AuditResult, tmp_path: Path) -> None:
    path = tmp_path / "audit.json"
    text = result.to_json(str(path))
    assert path.read_text() == text
    loaded = AuditResult.from_json(str(path))
    assert loaded == result or loaded.to_json() == text
    assert AuditResult.from_json(text).to_json() == text


def test_other_schemas_validate() -> None:
    doc = json.loads(run_audit(chat_records()).to_json())
    jsonschema.validate(doc, schema())


def test_bad_result_files(tmp_path: Path) -> None:
    with pytest.raises(DataLoadError, match="no such audit result"):
        AuditResult.from_json(str(tmp_path / "none.json"))
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(DataLoadError, match="not valid JSON"):
        AuditResult.from_json(str(tmp_path / "bad.json"))
    (tmp_path / "old.json").write_text(json.dumps({"schema_version": "0.1"}))
    with pytest.raises(DataLoadError, match="schema_version"):
        AuditResult.from_json(str(tmp_path / "old.json"))
