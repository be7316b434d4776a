"""Loading: formats, schema detection, field mapping, bad input, read-only view."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from unittest import mock

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import DataLoadError, SchemaError
from audit.load import FieldMapping, detect_schema, load_dataset

ALPACA = [{"instruction": f"Task {i}", "input": "ctx" if i == 1 else "", "output": f"Answer {i}."}
          for i in range(3)]


def write_jsonl(path: Path, records: list[dict], blank_lines: bool = False) -> Path:
    lines = [json.dumps(r) for r in records]
    text = ("\n\n".join(lines) if blank_lines else "\n".join(lines)) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_alpaca_normalised(tmp_path: Path) -> None:
    data = load_dataset(write_jsonl(tmp_path / "a.jsonl", ALPACA))
    assert data.schema.name == "alpaca"
    assert data.n == 3
    assert data.prompts[1] == "Task 1\n\nctx"
    assert data.responses[2] == "Answer 2."
    assert data.texts("context")[1] == "ctx"
    assert list(data.ids) == [0, 1, 2]
    assert data.lines == (1, 2, 3)
    assert data.schema.fields["instruction"] == "instruction"


def test_line_numbers_skip_blank_lines(tmp_path: Path) -> None:
    data = load_dataset(write_jsonl(tmp_path / "a.jsonl", ALPACA, blank_lines=True))
    assert data.lines == (1, 3, 5)


def test_gzip_json_array_csv_tsv_parquet(tmp_path: Path) -> None:
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(("\n".join(json.dumps(r) for r in ALPACA)).encode()))
    arr = tmp_path / "a.json"
    arr.write_text(json.dumps(ALPACA))
    frame = pd.DataFrame([{"text": f"t{i}", "label": i % 2} for i in range(4)])
    frame.to_csv(tmp_path / "c.csv", index=False)
    frame.to_csv(tmp_path / "c.tsv", index=False, sep="\t")
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "c.parquet")
    assert load_dataset(gz).n == 3
    assert load_dataset(arr).schema.name == "alpaca"
    for name in ("c.csv", "c.tsv", "c.parquet"):
        data = load_dataset(tmp_path / name)
        assert data.schema.name == "text_label", name
        assert data.labels == ("0", "1", "0", "1"), name


def test_in_memory_sources() -> None:
    frame = pd.DataFrame(ALPACA)
    assert load_dataset(frame).n == 3
    assert load_dataset(pa.Table.from_pylist(ALPACA)).n == 3
    assert load_dataset(ALPACA).schema.name == "alpaca"


def test_hugging_face_dataset_and_folder(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list(ALPACA)
    assert load_dataset(ds).n == 3
    dd = datasets.DatasetDict({"train": ds, "test": datasets.Dataset.from_list(ALPACA[:1])})
    data = load_dataset(dd)
    assert data.n == 4 and data.split_counts() == {"train": 3, "test": 1}
    dd.save_to_disk(str(tmp_path / "hf"))
    assert load_dataset(tmp_path / "hf").n == 4


@pytest.mark.parametrize("record, schema", [
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, "chat"),
    ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, "sharegpt"),
    ({"prompt": "q", "completion": "a"}, "prompt_completion"),
    ({"prompt": "q", "response": "a"}, "prompt_response"),
    ({"question": "q", "answer": "a"}, "question_answer"),
    ({"text": "q", "label": "x"}, "text_label"),
])
def test_schema_detection(record: dict, schema: str) -> None:
    data = load_dataset([record, record])
    assert data.schema.name == schema
    assert data.prompts[0] == "q"
    if schema != "text_label":
        assert data.responses[0] == "a"
    else:
        assert data.labels[0] == "x" and not data.has_response


def test_chat_multi_turn_and_system() -> None:
    record = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye"}]}
    data = load_dataset([record])
    assert data.texts("system")[0] == "Be brief."
    assert data.prompts[0] == "Hi\n\nBye"
    assert data.responses[0] == "Hello\n\nGoodbye"
    assert data.column("n_turns").to_pylist() == [5]
    assert next(data.messages())[0] == {"role": "system", "content": "Be brief."}


def test_structured_response_object_kept_as_json_text() -> None:
    data = load_dataset([{"prompt": "resume", "response": {"name": "Ann"}},
                         {"prompt": "resume", "response": "plain"}])
    assert json.loads(data.responses[0]) == {"name": "Ann"}


def test_explicit_field_mapping_and_groups() -> None:
    records = [{"q": "hello", "a": "hi", "cat": "greet", "gender": "f", "part": "train"}] * 2
    data = load_dataset(records, fields=FieldMapping(prompt="q", response="a", label="cat",
                                                     groups=("gender",), split="part"))
    assert data.schema.name == "custom"
    assert data.labels == ("greet", "greet")
    assert data.groups("gender") == ("f", "f")
    assert data.split_counts() == {"train": 2}


def test_label_field_auto_detected_for_instruction_data() -> None:
    data = load_dataset([{**r, "category": "c"} for r in ALPACA])
    assert data.has_labels and data.schema.fields["label"] == "category"


def test_unknown_field_in_mapping_lists_fields() -> None:
    with pytest.raises(SchemaError, match="fields seen: instruction, input, output"):
        detect_schema(["instruction", "input", "output"], FieldMapping(label="nope"))


def test_records_fitting_no_schema(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [{"foo": 1, "bar": 2}])
    with pytest.raises(SchemaError, match=r"x.jsonl.*fit no supported schema.*foo, bar") as info:
        load_dataset(path)
    assert "--prompt-field TEXT_COLUMN --label-field LABEL_COLUMN" in str(info.value)


def test_malformed_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "response": "b"}\n{"prompt": "c", "response": \n')
    with pytest.raises(DataLoadError, match=r"line 2, column \d+: malformed JSON"):
        load_dataset(path)


def test_non_utf8_says_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"prompt": "a", "response": "b"}\n{"prompt": "caf\xe9", "response": "x"}\n')
    with pytest.raises(DataLoadError, match=r"line 2 \(byte offset 48\): not valid UTF-8 \(byte 0xe9\)"):
        load_dataset(path)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blank.jsonl").write_text("\n\n  \n")
    for name in ("empty.jsonl", "blank.jsonl"):
        with pytest.raises(DataLoadError, match="empty"):
            load_dataset(tmp_path / name)
    with pytest.raises(DataLoadError, match="no such file"):
        load_dataset(tmp_path / "missing.jsonl")


def test_skip_bad_records_keeps_ids_and_lists_them(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"prompt": "a", "response": "b"}\nnot json\n{"prompt": "c"}\n'
                    '{"prompt": "d", "response": "e"}\n')
    with pytest.raises(DataLoadError, match="line 2, column 1: malformed JSON"):
        load_dataset(path)  # default: fail
    data = load_dataset(path, on_bad_records="skip")
    assert list(data.ids) == [0, 3]
    assert data.lines == (1, 4)
    assert [(s.id, s.line) for s in data.skipped] == [(1, 2), (2, 3)]
    assert "malformed JSON" in data.skipped[0].reason
    assert "'response' is missing" in data.skipped[1].reason


def test_mixed_schemas_named(tmp_path: Path) -> None:
    records = [*ALPACA, {"prompt": "p", "completion": "c"}]
    with pytest.raises(SchemaError, match="mixed schemas"):
        load_dataset(records)


def test_missing_label_values_are_bad_records() -> None:
    records = [{"text": "a", "label": "x"}, {"text": "b", "label": None}, {"text": "c", "label": ""}]
    with pytest.raises(SchemaError, match="label field 'label' has no value"):
        load_dataset(records)
    assert load_dataset(records, on_bad_records="skip").n == 1


def test_input_file_not_modified(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ALPACA)
    before = path.read_bytes(), path.stat().st_mtime_ns
    load_dataset(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_view_is_read_only_and_subsets_keep_ids() -> None:
    data = load_dataset(ALPACA)
    with pytest.raises(ValueError):
        data.ids[0] = 5
    with pytest.raises(TypeError):
        data.prompts[0] = "x"  # type: ignore[index]
    sub = data.take([2, 0])
    assert list(sub.ids) == [2, 0]
    assert sub.prompts == (data.prompts[2], data.prompts[0])


def test_fingerprint_depends_on_content_only(tmp_path: Path) -> None:
    a = load_dataset(write_jsonl(tmp_path / "a.jsonl", ALPACA))
    b = load_dataset(write_jsonl(tmp_path / "b.jsonl", ALPACA, blank_lines=True))
    c = load_dataset(ALPACA[:2])
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint
    assert a.fingerprint.startswith("sha256:")


def test_jsonl_with_irregular_types_falls_back(tmp_path: Path) -> None:
    records = [{"prompt": "a", "response": "b", "meta": 1}, {"prompt": "c", "response": "d",
                                                             "meta": "text"}]
    data = load_dataset(write_jsonl(tmp_path / "irregular.jsonl", records))
    assert data.n == 2 and data.lines == (1, 2)


def test_lone_surrogate_escapes_become_replacement_characters(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"prompt": "a\\ud800b", "response": "ok \\ud83d\\ude00"}\n'
                    '{"prompt": "c", "response": "d"}\n')
    data = load_dataset(path)
    assert data.prompts[0] == "a\ufffdb"
    assert data.responses[0] == "ok \U0001F600"  # a valid surrogate pair stays one character


# --- issue #22: broken and odd files (the CLI-level corpus is tests/audit/test_fuzz_files.py) ---
def _reference_too_deep(text: bytes, limit: int, per_line: bool) -> list[tuple[int, int]]:
    """A byte-by-byte JSON nesting count (strings and escapes honoured) to check the scan."""
    found: list[tuple[int, int]] = []
    depth, in_string, escaped, line = 0, False, False, 1
    for offset, byte in enumerate(text):
        if byte == 0x0A:
            line += 1
            if per_line:
                depth, in_string, escaped = 0, False, False
            continue
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth == limit + 1 and (not found or found[-1][0] != line):
                found.append((line, offset))
                if not per_line:
                    return found
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return found


_TRICKY = st.text(alphabet='ab[]{}"\\\n\té/\u2028', max_size=6)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | _TRICKY,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_TRICKY, children,
                                                                        max_size=3),
    max_leaves=25)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(values=st.lists(_JSON, min_size=1, max_size=6), limit=st.integers(0, 5),
       chunk=st.sampled_from([1, 7, 64, 1 << 22]), ascii_only=st.booleans())
def test_nesting_scan_matches_a_byte_by_byte_count(values: list, limit: int, chunk: int,
                                                   ascii_only: bool) -> None:
    from audit import load

    lines = b"\n".join(json.dumps(v, ensure_ascii=ascii_only).encode() for v in values) + b"\n"
    document = json.dumps(values, indent=1, ensure_ascii=ascii_only).encode()
    with mock.patch.object(load, "_SCAN_CHUNK", chunk):
        for text, per_line in ((lines, True), (document, False)):
            got = load._too_deep(text, load._newlines(text), limit, per_line=per_line)
            assert got == _reference_too_deep(text, limit, per_line), (text, per_line)


def test_deep_nesting_is_a_bad_record(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "deep.jsonl", ALPACA)
    with path.open("ab") as fh:
        fh.write(b'{"instruction": "x", "output": ' + b"[" * 300 + b"]" * 300 + b"}\n")
    with pytest.raises(DataLoadError, match=r"line 4 \(byte offset \d+\): JSON nested more than "
                                            r"100 levels deep"):
        load_dataset(path)
    data = load_dataset(path, on_bad_records="skip")
    assert data.n == 3 and [(s.id, s.line) for s in data.skipped] == [(3, 4)]
    at_limit = write_jsonl(tmp_path / "limit.jsonl", [{"prompt": "p", "response": "r"}])
    with at_limit.open("ab") as fh:  # the record's braces are level 1: 100 levels in all
        fh.write(b'{"prompt": "q", "response": ' + b"[" * 99 + b"]" * 99 + b"}\n")
    assert load_dataset(at_limit).n == 2


def test_deep_json_document_refused_with_place(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(b'[{"prompt": "a",\n "response": ' + b"[" * 5000 + b"]" * 5000 + b"}]")
    with pytest.raises(DataLoadError, match=r"deep.json: line 2 \(byte offset 130\): JSON nested"):
        load_dataset(path)


@pytest.mark.parametrize(("encoding", "bom", "name"), [
    ("utf-16-le", b"\xff\xfe", "UTF-16 LE"), ("utf-16-be", b"", "UTF-16 BE"),
    ("utf-32-le", b"", "UTF-32 LE")])
def test_utf16_and_utf32_refused_with_advice(tmp_path: Path, encoding: str, bom: bytes,
                                             name: str) -> None:
    text = "\n".join(json.dumps(r) for r in ALPACA)
    for suffix, content in ((".jsonl", text), (".json", json.dumps(ALPACA)),
                            (".csv", "text,label\nhello,1\n")):
        path = tmp_path / f"u{suffix}"
        path.write_bytes(bom + content.encode(encoding))
        with pytest.raises(DataLoadError, match=rf"{name}.*re-encode it as UTF-8"):
            load_dataset(path)


def test_json_values_named_as_json_types(tmp_path: Path) -> None:
    path = tmp_path / "n.json"
    for text, kind in (("null", "null"), ("3", "number"), ('"s"', "string"), ("false", "boolean")):
        path.write_text(text)
        with pytest.raises(DataLoadError, match=f"a JSON {kind}; expected an array"):
            load_dataset(path)
    lines = tmp_path / "l.jsonl"
    lines.write_text('{"prompt": "a", "response": "b"}\n[1]\n')
    with pytest.raises(DataLoadError, match="line 2: a JSON array, expected an object"):
        load_dataset(lines)


def test_gzip_name_and_content_must_agree(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_text(json.dumps(ALPACA[0]) + "\n")
    with pytest.raises(DataLoadError, match=r"named \.gz but not gzip-compressed"):
        load_dataset(plain)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress((json.dumps(ALPACA[0]) + "\n").encode() * 50)[:-20])
    with pytest.raises(DataLoadError, match="gzip file that cannot be decompressed"):
        load_dataset(cut)


def test_ragged_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text('text,label\n"a, quoted\nvalue",1\nb,0,extra\n')
    with pytest.raises(DataLoadError, match="line 4: 3 fields, the header has 2"):
        load_dataset(path)


def test_skipped_record_with_neither_prompt_nor_response(tmp_path: Path) -> None:
    turn = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    path = write_jsonl(tmp_path / "c.jsonl", [{"messages": turn}, {"other": 1}, {"messages": turn}])
    data = load_dataset(path, on_bad_records="skip")  # pyarrow 26 once dropped the empty row
    assert data.n == 2 and data.lines == (1, 3) and data.texts() == ("q\n\na", "q\n\na")
