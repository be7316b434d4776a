"""`ft-audit card`: from an audit (and a fix log) to a README.md, as a new user would run it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from audit.cli.main import main

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data"
CHECKS = ["exact_duplicates", "near_duplicates", "empty_responses", "refusals", "pii",
          "placeholder_responses", "truncation", "class_balance", "fit_advisory", "language",
          "group_representation"]


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_audit_fix_audit_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "support.jsonl"
    shutil.copy(SAMPLE / "support_alpaca.jsonl", data)
    checks = [a for c in CHECKS for a in ("--check", c)]
    assert cli(["run", str(data), *checks, "--json", str(tmp_path / "a.json"), "-q"],
               capsys)[0] in (0, 1)
    clean = tmp_path / "clean.jsonl"
    assert cli(["fix", str(data), "--out", str(clean), "--from-result",
                str(tmp_path / "a.json")], capsys)[0] == 0
    assert cli(["run", str(clean), *checks, "--json", str(tmp_path / "b.json"), "-q"],
               capsys)[0] in (0, 1)
    readme = tmp_path / "README.md"
    code, out, _ = cli(["card", str(tmp_path / "b.json"), "--out", str(readme), "--changes",
                        str(clean) + ".changes.jsonl", "--license", "cc-by-4.0",
                        "--pretty-name", "Support Alpaca (cleaned)"], capsys)
    assert code == 0 and f"wrote {readme}" in out
    card = readme.read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["en"]
    assert meta["pretty_name"] == "Support Alpaca (cleaned)"
    assert meta["size_categories"] == ["n<1K"]
    assert "## Cleaning applied" in card and "| drop | exact\\_duplicates |" in card
    assert "| billing |" in card  # class balance of the cleaned data


def test_refuses_to_overwrite_its_inputs_and_names_a_bad_log_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = tmp_path / "a.json"
    assert cli(["run", str(SAMPLE / "reviews_classification.jsonl"), "--check",
                "class_balance", "--json", str(result), "-q"], capsys)[0] in (0, 1)
    before = result.read_bytes()
    code, _, err = cli(["card", str(result), "--out", str(result)], capsys)
    assert code == 2 and "refusing to write" in err and result.read_bytes() == before
    log = tmp_path / "bad.changes.jsonl"
    log.write_text('{"id": 1, "action": "drop", "check": "pii"}\nnot json\n')
    code, _, err = cli(["card", str(result), "--out", str(tmp_path / "R.md"), "--changes",
                        str(log)], capsys)
    assert code == 2 and "bad.changes.jsonl:2" in err
    assert not (tmp_path / "R.md").exists()
