"""`ft-audit dedupe`: byte-exact kept lines, first occurrence kept, sidecar, refusals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from audit.cli.main import main
from benchmarks.duplication import edit_words, random_documents


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture()
def jsonl(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """Lines with odd but valid formatting; 2 = exact dup of 0, 5 = near dup of 3."""
    texts = random_documents(6, words=40, seed=50)
    near, _ = edit_words(texts[3], np.random.default_rng(0))
    lines = [
        b'{"instruction": "Say hi", "output": "Hi \\u00e9t\\u00e9!"}',
        b'{ "output":"Plain",   "instruction" : "' + texts[1].encode() + b'" }',
        b'{"instruction": "say   HI", "output": "hi \xc3\xa9t\xc3\xa9!", "extra": 1}',
        b'{"instruction": "' + texts[3].encode() + b'", "output": "Same answer"}\r',
        b'{"instruction": "' + texts[4].encode() + b'", "output": "Other"}',
        b'{"instruction": "' + near.encode() + b'", "output": "Same answer"}',
    ]
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\n".join(lines[:4]) + b"\n\n" + b"\n".join(lines[4:]))  # a blank line
    return path, lines


def test_keeps_first_occurrence_lines_byte_for_byte(
        jsonl: tuple[Path, list[bytes]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, lines = jsonl
    out = tmp_path / "clean.jsonl"
    code, stdout, _ = cli(["dedupe", str(path), "--out", str(out)], capsys)
    assert code == 0
    assert out.read_bytes() == b"".join(lines[i] + b"\n" for i in (0, 1, 3, 4))
    assert "kept 4 of 6 records; removed 1 exact duplicates, 1 near duplicates" in stdout
    removed = [json.loads(x) for x in Path(str(out) + ".removed.jsonl").read_text().splitlines()]
    assert removed == [
        {"id": 2, "line": 3, "reason": "exact_duplicate", "kept": 0},
        {"id": 5, "line": 7, "reason": "near_duplicate", "kept": 3},
    ]
    assert path.read_bytes().count(b"\n") == 6  # input untouched


def test_exact_only_keeps_near_duplicates(jsonl: tuple[Path, list[bytes]], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path, lines = jsonl
    out = tmp_path / "exact.jsonl"
    assert cli(["dedupe", str(path), "--out", str(out), "--exact-only"], capsys)[0] == 0
    assert out.read_bytes().split(b"\n")[:-1] == [lines[i] for i in (0, 1, 3, 4, 5)]


def test_refuses_to_overwrite_the_input(jsonl: tuple[Path, list[bytes]],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = jsonl
    before = path.read_bytes()
    code, _, err = cli(["dedupe", str(path), "--out", str(path)], capsys)
    assert code == 2 and "refusing to write" in err
    assert path.read_bytes() == before


def test_drop_eval_leaks(jsonl: tuple[Path, list[bytes]], tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    path, lines = jsonl
    texts = random_documents(6, words=40, seed=50)
    eval_path = tmp_path / "eval.jsonl"
    eval_path.write_text(json.dumps({"instruction": texts[4], "output": "Other"}) + "\n")
    out = tmp_path / "clean.jsonl"
    code, stdout, _ = cli(["dedupe", str(path), "--out", str(out), "--drop-eval-leaks",
                           "--eval", str(eval_path)], capsys)
    assert code == 0 and "1 eval leaks" in stdout
    assert out.read_bytes().split(b"\n")[:-1] == [lines[i] for i in (0, 1, 3)]
    removed = [json.loads(x) for x in Path(str(out) + ".removed.jsonl").read_text().splitlines()]
    assert {"id": 4, "line": 6, "reason": "eval_leak", "kept": None, "eval": 0,
            "kind": "exact"} in removed


def test_drop_eval_leaks_without_eval_is_a_usage_error(
        jsonl: tuple[Path, list[bytes]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = jsonl
    code, _, err = cli(["dedupe", str(path), "--out", str(tmp_path / "o.jsonl"),
                        "--drop-eval-leaks"], capsys)
    assert code == 2 and "--eval" in err
    assert not (tmp_path / "o.jsonl").exists()


def test_csv_is_written_back_as_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prompt", "response", "note"])
        writer.writerows([["a question", "an answer", "x"], ["A  Question", "an answer", "y"],
                          ["other", "thing", "z"]])
    out = tmp_path / "clean.csv"
    assert cli(["dedupe", str(path), "--out", str(out)], capsys)[0] == 0
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["prompt"], r["note"]) for r in rows] == [("a question", "x"), ("other", "z")]
