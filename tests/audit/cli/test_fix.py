"""`ft-audit fix`: the cleaned copy in the input's format, untouched records byte for byte, a
changes log whose hashes chain, a saved result used only when it matches, every output safe."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.cli.fix_io import content_hash
from audit.cli.main import main

CLEAN_ANSWER = "Reset it from Settings, then sign in again with the new password."


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def instruction(i: int) -> str:
    topics = ["billing", "shipping", "passwords", "exports", "invoices", "teams", "alerts",
              "backups", "reports", "tokens", "calendars", "webhooks"]
    return f"Question {i}: how do I manage {topics[i % len(topics)]} for project {i * 7919 % 1000}?"


def answer(i: int) -> str:
    words = ["open", "settings", "choose", "the", "tab", "then", "save", "and", "confirm", "it"]
    return " ".join(words[(i + k) % len(words)] for k in range(12)) + f" (ref {i * 104729})."


#: record index -> what is planted there
PLANTED = {
    3: "exact copy of 1",
    5: "empty response",
    7: "refusal",
    9: "control characters",
    11: "email",
}


def records() -> list[dict[str, Any]]:
    rows = [{"instruction": instruction(i), "input": "", "output": answer(i),
             "category": "a" if i % 2 else "b"} for i in range(24)]
    rows[3] = dict(rows[1])
    rows[5]["output"] = "   "
    rows[7]["output"] = "I'm sorry, but I cannot help with that request."
    rows[9]["output"] = "Click \u00e2\u20ac\u0153Save\u00e2\u20ac\x9d\x00 to finish."
    rows[11]["output"] = "Write to dana.smith@gmail.com and we will reply. " + answer(11)
    return rows


@pytest.fixture()
def jsonl(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """JSONL with varied but valid formatting: compact, escaped non-ASCII, CRLF."""
    lines = []
    for i, row in enumerate(records()):
        if i % 3 == 0:
            line = json.dumps(row, separators=(",", ":"), ensure_ascii=True).encode()
        elif i % 3 == 1:
            line = json.dumps(row, ensure_ascii=False).encode()
        else:
            line = json.dumps(row, ensure_ascii=False).encode() + b"\r"
        lines.append(line)
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


def log_of(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(str(out) + ".changes.jsonl").read_text().splitlines()]


def test_fix_writes_kept_lines_byte_for_byte_and_logs_every_change(
        jsonl: tuple[Path, list[bytes]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, lines = jsonl
    before = path.read_bytes()
    out = tmp_path / "clean.jsonl"
    code, stdout, _ = cli(["fix", str(path), "--out", str(out)], capsys)
    assert code == 0, stdout
    assert path.read_bytes() == before  # the input is never written
    written = out.read_bytes().split(b"\n")[:-1]
    originals = {line: i for i, line in enumerate(lines)}
    kept = [originals.get(line) for line in written]
    edited = [i for i, k in enumerate(kept) if k is None]
    # dropped: the copy, the empty response, the refusal; everything else kept, in order
    untouched = [k for k in kept if k is not None]
    assert 3 not in untouched and 5 not in untouched and 7 not in untouched
    assert untouched == [i for i in range(24) if i not in (3, 5, 7, 9, 11)]
    assert len(edited) == 2
    repaired = [json.loads(written[i]) for i in edited]
    assert repaired[0]["output"] == "Click “Save” to finish."
    assert repaired[1]["output"].startswith("Write to <EMAIL> and we will reply.")
    assert written[edited[0]].endswith(b"\r") is lines[9].endswith(b"\r")  # CRLF kept
    assert b"\\u" in written[edited[0]]  # line 9 escaped its non-ASCII: so does the edit
    log = log_of(out)
    assert [(r["id"], r["action"], r["check"]) for r in log] == [
        (3, "drop", "exact_duplicates"), (5, "drop", "empty_responses"),
        (7, "drop", "refusals"), (9, "strip_control", "control_characters"),
        (11, "mask_pii", "pii")]
    source = records()
    for row in log:
        assert row["line"] == row["id"] + 1
        assert row["before"] == content_hash(source[row["id"]])
    assert log[0]["kept"] == 1 and log[0]["after"] is None
    assert log[3]["after"] == content_hash(repaired[0])
    assert log[4]["masked"] == {"email": 1}
    assert "kept 21 of 24 records: dropped 3, edited 2" in stdout


def test_dry_run_writes_nothing(jsonl: tuple[Path, list[bytes]], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = jsonl
    out = tmp_path / "clean.jsonl"
    code, stdout, _ = cli(["fix", str(path), "--out", str(out), "--dry-run"], capsys)
    assert code == 0 and "dry run: nothing written" in stdout
    assert "drop" in stdout and "refusals: refusals:refusal" in stdout
    assert list(tmp_path.iterdir()) == [path]


def test_a_matching_saved_result_is_used_and_a_stale_one_refused(
        jsonl: tuple[Path, list[bytes]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = jsonl
    result = tmp_path / "audit.json"
    cli(["run", str(path), "--json", str(result), "-q"], capsys)
    out = tmp_path / "clean.jsonl"
    code, _, err = cli(["fix", str(path), "--out", str(out), "--from-result", str(result)],
                       capsys)
    assert code == 0 and "audited" not in err
    again = tmp_path / "again.jsonl"
    cli(["fix", str(path), "--out", str(again)], capsys)
    assert out.read_bytes() == again.read_bytes()  # the same plan either way
    changed = tmp_path / "changed.jsonl"
    changed.write_bytes(path.read_bytes().replace(b"Question 0:", b"Question zero:"))
    code, _, err = cli(["fix", str(changed), "--out", str(tmp_path / "x.jsonl"),
                        "--from-result", str(result)], capsys)
    assert code == 2 and "made from other data" in err and "fingerprint" in err
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("target", ["input", "eval", "format"])
def test_refuses_unsafe_outputs(jsonl: tuple[Path, list[bytes]], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str], target: str) -> None:
    path, _ = jsonl
    eval_path = tmp_path / "eval.jsonl"
    eval_path.write_text(json.dumps({"instruction": "x", "input": "", "output": "y"}) + "\n")
    before = {p: p.read_bytes() for p in (path, eval_path)}
    out = {"input": path, "eval": eval_path, "format": tmp_path / "clean.parquet"}[target]
    code, _, err = cli(["fix", str(path), "--out", str(out), "--eval", str(eval_path)], capsys)
    assert code == 2
    assert ("refusing to write" in err) if target != "format" else ("input's format" in err)
    assert {p: p.read_bytes() for p in before} == before


def test_same_input_gives_the_same_bytes(jsonl: tuple[Path, list[bytes]], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = jsonl
    outs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for out in outs:
        assert cli(["fix", str(path), "--out", str(out), "--seed", "3"], capsys)[0] == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert Path(str(outs[0]) + ".changes.jsonl").read_bytes() == \
        Path(str(outs[1]) + ".changes.jsonl").read_bytes()


def test_eval_leaks_are_dropped(jsonl: tuple[Path, list[bytes]], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = jsonl
    leak = records()[13]
    eval_path = tmp_path / "eval.jsonl"
    eval_path.write_text(json.dumps(leak) + "\n" + json.dumps(
        {"instruction": "Something else entirely about weather in Oslo today", "input": "",
         "output": "Cold and clear.", "category": "a"}) + "\n")
    out = tmp_path / "clean.jsonl"
    assert cli(["fix", str(path), "--out", str(out), "--eval", str(eval_path)], capsys)[0] == 0
    row = next(r for r in log_of(out) if r["id"] == 13)
    assert (row["check"], row["code"], row["eval"], row["kind"]) == (
        "eval_leakage", "eval_leak_exact", 0, "exact")


# -- formats ------------------------------------------------------------------------------------
def test_json_array_keeps_its_wrapper_indent_and_values(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"meta": {"v": 1}, "data": records()}, indent=4,
                               ensure_ascii=False))
    out = tmp_path / "clean.json"
    assert cli(["fix", str(path), "--out", str(out)], capsys)[0] == 0
    text = out.read_text()
    document = json.loads(text)
    assert document["meta"] == {"v": 1} and len(document["data"]) == 21
    assert text.startswith('{\n    "meta"')
    source = records()
    untouched = [r for r in document["data"] if r in source]
    assert len(untouched) == 19 and list(untouched[0]) == ["instruction", "input", "output",
                                                           "category"]


def test_csv_keeps_untouched_rows_as_written(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.csv"
    rows = records()
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(["instruction", "input", "output", "category"])
        for row in rows:
            writer.writerow([row["instruction"], row["input"], row["output"], row["category"]])
    original = path.read_bytes().decode().split("\r\n")
    out = tmp_path / "clean.csv"
    assert cli(["fix", str(path), "--out", str(out)], capsys)[0] == 0
    written = out.read_bytes().decode().split("\r\n")
    assert written[0] == original[0]  # the header as written
    kept = [line for line in written[1:] if line and line in original]
    assert len(kept) == 19 and all(line.startswith('"') for line in kept)  # QUOTE_ALL kept
    parsed = list(csv.DictReader(out.open(newline="")))
    assert len(parsed) == 21
    assert any(r["output"] == "Click “Save” to finish." for r in parsed)


def test_parquet_keeps_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = records()
    table = pa.table({"instruction": [r["instruction"] for r in rows],
                      "input": [r["input"] for r in rows],
                      "output": [r["output"] for r in rows],
                      "label": pa.array([i % 3 for i in range(len(rows))], pa.int8())})
    path = tmp_path / "train.parquet"
    pq.write_table(table, path)
    out = tmp_path / "clean.parquet"
    assert cli(["fix", str(path), "--out", str(out)], capsys)[0] == 0
    cleaned = pq.read_table(out)
    assert cleaned.schema.equals(table.schema)
    assert cleaned.num_rows == 21
    assert "dana.smith@gmail.com" not in cleaned.column("output").to_pylist()[-10]


def test_hugging_face_folder_keeps_its_splits(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import datasets

    rows = records()
    folder = tmp_path / "hf"
    datasets.DatasetDict({
        "train": datasets.Dataset.from_list(rows[:20]),
        "test": datasets.Dataset.from_list(rows[20:]),
    }).save_to_disk(str(folder))
    out = tmp_path / "clean_hf"
    assert cli(["fix", str(folder), "--out", str(out)], capsys)[0] == 0
    cleaned = datasets.load_from_disk(str(out))
    assert set(cleaned) == {"train", "test"}
    assert cleaned["test"].num_rows == 4 and cleaned["train"].num_rows == 17
    assert "split" not in cleaned["train"].column_names
    outputs = cleaned["train"]["output"]
    assert "Click “Save” to finish." in outputs
    assert datasets.load_from_disk(str(folder))["train"].num_rows == 20  # input untouched


# -- structured output and the opt-in actions ---------------------------------------------------
def extraction_rows() -> list[dict[str, Any]]:
    """Name/city extraction; every answer also has "priority": 1, which no request asks for."""
    rows = []
    for i in range(30):
        name, city = f"Person {chr(65 + i % 26)}{chr(65 + i // 26)}", ["Lyon", "Pune", "Oslo"][i % 3]
        value = {"name": name, "city": city, "priority": 1}
        rows.append({"prompt": f"Extract the name and city: {name} lives in {city}.",
                     "completion": json.dumps(value), "value": value})
    rows[4]["completion"] = repr(rows[4]["value"])  # a Python literal
    rows[8]["completion"] = "```json\n" + json.dumps(rows[8]["value"]) + "\n```"
    rows[12]["completion"] = json.dumps(rows[12]["value"])[:30]  # cut off
    return [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]


def test_structured_output_repaired_unparseable_dropped_defaults_removed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "extract.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in extraction_rows()))
    policy = tmp_path / "policy.toml"
    policy.write_text("[default_fields]\nenabled = true\n")
    out = tmp_path / "clean.jsonl"
    code, stdout, _ = cli(["fix", str(path), "--out", str(out), "--policy", str(policy)], capsys)
    assert code == 0, stdout
    cleaned = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(cleaned) == 29  # the truncated one is dropped
    values = [json.loads(r["completion"]) for r in cleaned]
    assert all("priority" not in v for v in values)  # the default-filled field is gone
    assert cleaned[4]["completion"] == '{"name": "Person EA", "city": "Pune"}'
    assert cleaned[8]["completion"] == '{"name": "Person IA", "city": "Oslo"}'
    log = log_of(out)
    actions = {(r["id"], r["action"]) for r in log}
    assert {(4, "repair_json"), (8, "repair_json"), (12, "drop"), (0, "drop_field")} <= actions
    repair = next(r for r in log if r["id"] == 4 and r["action"] == "repair_json")
    removal = next(r for r in log if r["id"] == 4 and r["action"] == "drop_field")
    assert repair["after"] == removal["before"]  # hashes chain across a record's changes
    assert repair["fixes"] == ["python_literal"]


def test_relabel_keeps_the_label_type_and_conflicts_keep_the_majority(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from audit.result import (
        AuditResult,
        CheckResult,
        DatasetInfo,
        Finding,
        Severity,
        Status,
        Verdict,
    )
    from audit.result_io import write_json

    rows = [{"prompt": f"Is item {i} fine?", "response": f"Answer {i}", "label": i % 2}
            for i in range(8)]
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    from audit import load_dataset

    view = load_dataset(path)
    label = Finding(check="label_issues", code="likely_label_errors", severity=Severity.WARNING,
                    message="m", records=(2, 3), record_values={
                        "given": ["0", "1"], "suggested": ["1", "0"],
                        "label_quality": [0.02, 0.4]})
    conflict = Finding(check="conflicting_responses", code="conflicting_responses",
                       severity=Severity.WARNING, message="m", records=(4, 5, 6),
                       record_values={"group": [4, 4, 4], "variant": [0, 1, 0]})
    result = AuditResult(
        tool_version="test", dataset=DatasetInfo(
            source=str(path), schema=view.schema.name, fields=dict(view.schema.fields),
            n_records=view.n, fingerprint=view.fingerprint),
        checks=(CheckResult(name="label_issues", category="labels", status=Status.WARNED,
                            findings=(label,)),
                CheckResult(name="conflicting_responses", category="duplication",
                            status=Status.WARNED, findings=(conflict,))),
        verdict=Verdict(go=False, exit_code=1), config={}, seed=0)
    saved = tmp_path / "audit.json"
    write_json(result, saved)
    policy = tmp_path / "policy.toml"
    policy.write_text("[relabel]\nenabled = true\nmin_confidence = 0.9\n"
                      "[conflicts]\nenabled = true\n")
    out = tmp_path / "clean.jsonl"
    code, stdout, _ = cli(["fix", str(path), "--out", str(out), "--policy", str(policy),
                           "--from-result", str(saved)], capsys)
    assert code == 0, stdout
    cleaned = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["prompt"][8] for r in cleaned] == ["0", "1", "2", "3", "4", "6", "7"]
    assert cleaned[2]["label"] == 1 and isinstance(cleaned[2]["label"], int)  # 0.98 confident
    assert cleaned[3]["label"] == 1  # 0.6 confident: under min_confidence, left alone
    assert "under min_confidence" in stdout
    assert "did not run" in stdout  # the other actions say why they did nothing


def test_hashes_identify_records_across_formats() -> None:
    record = {"b": 1, "a": "é"}
    expected = "sha256:" + hashlib.sha256('{"a":"é","b":1}'.encode()).hexdigest()
    assert content_hash(record) == expected == content_hash({"a": "é", "b": 1})


@pytest.mark.parametrize("name", ["support_alpaca.jsonl", "reviews_classification.jsonl",
                                  "resumes_chat.jsonl"])
def test_duplicates_keep_what_plan_dedupe_keeps(name: str) -> None:
    """The duplicates action reads the findings; `checks.duplication.plan_dedupe` recomputes:
    both keep the same records, for the same reasons."""
    from audit import load_dataset
    from audit.cli.fix_plan import plan_fix
    from audit.cli.fix_policy import only
    from audit.context import RunContext
    from audit.runner import run_audit
    from checks.duplication import plan_dedupe

    path = Path(__file__).resolve().parents[3] / "sample_data" / name
    view = load_dataset(path)
    plan = plan_fix(run_audit(view, checks=["exact_duplicates", "near_duplicates"]),
                    only("duplicates"))
    reference = plan_dedupe(view, RunContext(view))
    reasons = {"duplicate_cluster": "exact_duplicate", "near_duplicate_cluster": "near_duplicate"}
    ours = {i: (reasons[c.code], c.details["kept"]) for i, c in plan.drops.items()}
    assert ours == {r["id"]: (r["reason"], r["kept"]) for r in reference.removed}
    assert ours  # every sample file has duplicates
