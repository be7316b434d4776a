"""`ft-audit gx-suite`: the effective GX suite written as JSON, atomically, never over an input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.cli.main import main

CONFIG = """
[checks.gx_expectations.params]
label_values = ["billing", "account"]
expectations = [
  {type = "ExpectColumnValuesToMatchRegex", kwargs = {column = "response", regex = "^[A-Z]"}},
]
"""


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


@pytest.fixture()
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    rows = [{"instruction": f"Question {i}", "output": f"Answer {i}", "category": "billing"}
            for i in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_writes_the_effective_suite_for_the_data(tmp_path: Path, data_file: Path) -> None:
    import great_expectations as gx

    config = tmp_path / "ft-audit.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "suite.json"
    assert _exit_code(["gx-suite", str(data_file), "--config", str(config), "--out", str(out)]) == 0
    suite = json.loads(out.read_text(encoding="utf-8"))
    types = [e["type"] for e in suite["expectations"]]
    assert "expect_column_values_to_match_regex" in types
    label = next(e for e in suite["expectations"] if e["type"] == "expect_column_values_to_be_in_set")
    assert label["kwargs"] == {"column": "label", "value_set": ["billing", "account"]}
    assert gx.ExpectationSuite(**suite).expectations  # loadable by GX
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ft-audit.toml", "suite.json",
                                                         "train.jsonl"]


def test_without_data_and_config_gives_the_default_suite(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "suite.json"
    assert _exit_code(["gx-suite", "--out", str(out)]) == 0
    codes = [e["meta"]["ft_audit_code"] for e in json.loads(out.read_text())["expectations"]]
    assert codes == ["duplicate_id", "missing_prompt", "null_prompt", "prompt_length",
                     "missing_response", "null_response", "response_length"]


def test_refuses_to_write_over_an_input(data_file: Path) -> None:
    before = data_file.read_bytes()
    assert _exit_code(["gx-suite", str(data_file), "--out", str(data_file)]) == 2
    assert data_file.read_bytes() == before


def test_bad_expectation_name_is_a_usage_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[checks.gx_expectations.params]\nexpectations = [{type = "ExpectNothing"}]\n',
                      encoding="utf-8")
    out = tmp_path / "suite.json"
    assert _exit_code(["gx-suite", "--config", str(config), "--out", str(out)]) == 2
    assert "ExpectNothing" in capsys.readouterr().err
    assert not out.exists()
