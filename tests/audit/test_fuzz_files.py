"""Issue #22, no audit lost to a broken file: a fuzz corpus run through `ft-audit run`.

Every broken or odd input gets exit code 2 and a message on stderr naming the file (and the
line or byte offset where that means something), fast and without a traceback; never exit 3,
a crash or a hang. Valid-but-odd files (UTF-8 BOM, CRLF, duplicate keys, brackets inside
strings, one huge record) load and are audited normally (exit 0 or 1, JSON written).

The corpus is generated here, in tmp_path. Cases that could crash the interpreter (pyarrow
26's JSON reader segfaults on deep nesting and on a JSONL block that starts with `null`) or
hang it (a FIFO) run in a subprocess with a timeout; the rest call `audit.cli.main`
in-process. Two hypothesis tests mutate small valid files (60 examples each, derandomized).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.cli.main import main
from audit.load import MAX_NESTING, load_dataset

REPO = Path(__file__).resolve().parents[2]
GOOD = [{"prompt": f"Question {i}?", "response": f"Answer {i}."} for i in range(6)]
DEEP = 100_000
#: one quick check keeps each run fast; loading is what is under test
FAST = ["-q", "--check", "empty_responses"]


def jsonl(records: list[dict] = GOOD, eol: str = "\n") -> bytes:
    return "".join(json.dumps(r) + eol for r in records).encode()


def json_array(records: list[dict] = GOOD, eol: str = "\n") -> bytes:
    return json.dumps(records, indent=1).replace("\n", eol).encode()


def csv_text(records: list[dict] = GOOD, eol: str = "\n") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator=eol)
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def parquet(records: list[dict] = GOOD) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), sink)
    return sink.getvalue()


def nested(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def parquet_with_bad_utf8() -> bytes:
    sink = io.BytesIO()
    records = [*GOOD[:5], {"prompt": "caf\u00e9 MARK", "response": "x"}]
    pq.write_table(pa.Table.from_pylist(records), sink, compression="none", use_dictionary=False)
    return sink.getvalue().replace("caf\u00e9 MARK".encode(), b"caf\xff\xfe MARK")


def utf16(text: bytes, order: str, bom: bool) -> bytes:
    encoded = text.decode().encode(f"utf-16-{order}")
    return ({"le": b"\xff\xfe", "be": b"\xfe\xff"}[order] if bom else b"") + encoded


def corrupt_deflate() -> bytes:
    data = bytearray(gzip.compress(jsonl() * 20))
    data[12:40] = bytes(range(200, 228))  # inside the deflate stream
    return bytes(data)


@dataclass(frozen=True)
class Case:
    id: str
    filename: str
    content: bytes
    where: str  # a regex the error message must match (line, offset or reason)


def broken_cases() -> list[Case]:
    rows = jsonl().splitlines(keepends=True)
    cases = [
        Case("truncated-json-array", "t.json", json_array()[:-25], r":\d+:\d+: malformed JSON"),
        Case("truncated-jsonl-last-line", "t.jsonl", jsonl()[:-12], r"line 6\b.*malformed JSON"),
        Case("json-trailing-comma", "c.json", b'[{"prompt": "a", "response": "b"},\n]\n',
             r":2:1: malformed JSON"),
        Case("json-scalar-number", "n.json", b"42\n", r"a JSON number; expected an array"),
        Case("json-scalar-string", "s.json", b'"text"', r"a JSON string; expected an array"),
        Case("json-null", "z.json", b"null", r"a JSON null; expected an array"),
        Case("json-boolean", "b.json", b"true", r"a JSON boolean; expected an array"),
        Case("json-single-object", "o.json", b'{"prompt": "a", "response": "b"}',
             r"a JSON object; expected an array"),
        Case("jsonl-lines-are-arrays", "a.jsonl", b'[1, 2]\n["x", "y"]\n',
             r"line 1: a JSON array, expected an object"),
        Case("jsonl-lines-are-scalars", "n.jsonl", b"1\nnull\n", r"line 2: a JSON null"),
        Case("jsonl-two-objects-one-line", "two.jsonl", rows[0].rstrip() + rows[1],
             r"line 1\b.*malformed JSON"),
        Case("jsonl-nul-in-string", "nul.jsonl",
             rows[0] + b'{"prompt": "a\x00b", "response": "c"}\n' + rows[2], r"line 2\b"),
        Case("jsonl-invalid-utf8-in-key", "k.jsonl", jsonl().replace(b'"response"', b'"r\xe9sponse"'),
             r"line 1 \(byte offset 28\): not valid UTF-8 \(byte 0xe9\)"),
        Case("jsonl-invalid-utf8-in-nested-key", "nk.jsonl",
             b'{"messages": [{"role": "user", "co\xf4tent": "Q"}]}\n',
             r"line 1 \(byte offset 34\): not valid UTF-8 \(byte 0xf4\)"),
        Case("csv-invalid-utf8-in-header", "k.csv", b"prompt,r\xe9sponse\n" + csv_text()[16:],
             r"line 1 \(byte offset 8\): not valid UTF-8"),
        Case("csv-invalid-utf8-in-value", "v.csv", csv_text() + b"caf\xe9,ok\n",
             r"line 8 \(byte offset \d+\): not valid UTF-8"),
        Case("jsonl-nul-padding", "pad.jsonl", jsonl() + b"\x00" * 4096, r"line 7\b"),
        Case("jsonl-nul-file", "zeros.jsonl", b"\x00" * 4096, r"line 1\b"),
        Case("jsonl-deep-200", "d.jsonl",
             rows[0] + b'{"prompt": "a", "response": ' + nested(200) + b"}\n",
             rf"line 2 \(byte offset \d+\): JSON nested more than {MAX_NESTING} levels deep"),
        Case("json-deep-2000", "d.json", b'[{"prompt": "a", "response": ' + nested(2000) + b"}]",
             rf"line 1 \(byte offset \d+\): JSON nested more than {MAX_NESTING} levels deep"),
        Case("csv-ragged-more", "more.csv", csv_text() + b"x,y,z\n" + csv_text()[16:],
             r"line 8: 3 fields, the header has 2"),
        Case("csv-ragged-fewer", "fewer.csv", csv_text()[:40] + b"\nlonely\n",
             r"line \d+: 1 field, the header has 2"),
        Case("csv-header-only", "h.csv", b"prompt,response\n", r"no records"),
        Case("csv-deep-json-text", "chat.csv",
             b'messages\n"' + nested(DEEP) + b'"\n',
             r"record 0: field 'messages' is JSON text nested too deeply"),
        Case("fake-gzip", "f.jsonl.gz", jsonl(), r"named \.gz but not gzip-compressed"),
        Case("truncated-gzip", "t.jsonl.gz", gzip.compress(jsonl() * 20)[:-30], r"gzip"),
        Case("truncated-gzip-header", "h.jsonl.gz", gzip.compress(jsonl())[:6], r"gzip"),
        Case("corrupt-gzip", "c.jsonl.gz", corrupt_deflate(), r"gzip"),
        Case("fake-parquet", "f.parquet", jsonl(), r"Parquet"),
        Case("truncated-parquet-half", "t.parquet", parquet()[: len(parquet()) // 2], r"Parquet"),
        Case("truncated-parquet-last-byte", "l.parquet", parquet()[:-1], r"Parquet"),
        Case("parquet-magic-only", "m.parquet", b"PAR1", r"Parquet"),
        Case("parquet-invalid-utf8-value", "u.parquet", parquet_with_bad_utf8(),
             r"cannot read as Parquet.*UTF8"),
        Case("unknown-extension-binary", "data.bin", random.Random(9).randbytes(512),
             r"cannot tell the format"),
    ]
    for ext in ("jsonl", "json", "csv", "parquet"):
        cases.append(Case(f"empty-{ext}", f"e.{ext}", b"", r"empty"))
    for ext in ("jsonl", "json", "csv"):
        cases.append(Case(f"whitespace-{ext}", f"w.{ext}", b" \n\t\r\n   \n", r"empty|no records"))
    for seed in range(3):
        noise = random.Random(seed).randbytes(4096)
        for ext in ("jsonl", "json", "csv"):
            cases.append(Case(f"random-{seed}-{ext}", f"r{seed}.{ext}", noise,
                              r"line \d+|byte offset \d+|UTF-16|malformed"))
    for order in ("le", "be"):
        for bom in (True, False):
            tag = f"utf16-{order}-{'bom' if bom else 'nobom'}"
            cases.append(Case(tag + "-jsonl", "u.jsonl", utf16(jsonl(), order, bom),
                              rf"UTF-16 {order.upper()}.*re-encode it as UTF-8"))
    cases.append(Case("utf16-le-bom-json", "u.json", utf16(json_array(), "le", True),
                      r"UTF-16 LE.*re-encode it as UTF-8"))
    cases.append(Case("utf16-be-csv", "u.csv", utf16(csv_text(), "be", False),
                      r"UTF-16 BE.*re-encode it as UTF-8"))
    cases.append(Case("utf32-le-jsonl", "u32.jsonl", jsonl().decode().encode("utf-32-le"),
                      r"UTF-32 LE.*re-encode it as UTF-8"))
    return cases


BROKEN = broken_cases()


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def run_process(args: list[str]) -> tuple[int, str, str]:
    """`ft-audit` in a child process: a crash or a hang fails the test instead of the suite."""
    proc = subprocess.run([sys.executable, "-m", "audit", *args], capture_output=True, text=True,
                          timeout=60, cwd=REPO)
    return proc.returncode, proc.stdout, proc.stderr


def assert_refused(code: int, out: str, err: str, path: Path, where: str) -> None:
    shown = f"exit {code}\nstdout:\n{out[-2000:]}\nstderr:\n{err[-2000:]}"
    assert code == 2, shown
    assert "Traceback" not in out + err, shown
    assert str(path) in err, shown
    assert re.search(where, err, re.DOTALL), shown


@pytest.mark.parametrize("case", BROKEN, ids=[c.id for c in BROKEN])
def test_broken_file_exit_2_with_clear_message(case: Case, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / case.filename
    path.write_bytes(case.content)
    code, out, err = run_cli(["run", str(path), *FAST], capsys)
    assert_refused(code, out, err, path, case.where)
    assert len(err) < 4000  # one paragraph (a short list at most), not a dump


# --- cases that crashed (segfault, exit 139) or could hang: run in a child process -------------
def crash_cases() -> list[Case]:
    line = jsonl().splitlines(keepends=True)[0]
    deep = rf"\(byte offset \d+\): JSON nested more than {MAX_NESTING} levels deep"
    return [
        Case("jsonl-null-first-line", "null.jsonl", b"null\n" + jsonl(),  # pyarrow: segfault
             r"line 1: a JSON null, expected an object"),
        Case("jsonl-null-glued-to-record", "nullrec.jsonl", b"null" + jsonl(), r"line 1\b"),
        Case("deep-json-array", "deep.json", nested(DEEP), "line 1 " + deep),
        Case("deep-json-object", "deep_obj.json", nested_objects(DEEP), "line 1 " + deep),
        Case("deep-json-array-multiline", "deep_lines.json",
             b'[{"prompt": "a",\n "response":\n' + nested(DEEP) + b"}]",
             "line 3 " + deep.replace(r"\d+", "130")),
        Case("deep-jsonl-field", "deep.jsonl",
             line * 2 + b'{"prompt":"a","response":' + nested(DEEP) + b"}\n" + line,
             "line 3 " + deep),
        Case("deep-jsonl-field-only", "deep1.jsonl",  # alone, it segfaulted pyarrow
             b'{"prompt":"a","response":' + nested(DEEP) + b"}\n",
             "line 1 " + deep.replace(r"\d+", "124")),
        Case("deep-jsonl-object-field", "deep_obj.jsonl",
             line + b'{"prompt":"a","response":' + nested_objects(DEEP) + b"}\n", "line 2 " + deep),
        Case("deep-jsonl-behind-string-closers", "sneaky.jsonl",
             line + b'{"prompt":"' + b"]}" * DEEP + b'","response":' + nested(DEEP) + b"}\n",
             "line 2 " + deep),
        Case("deep-jsonl-unterminated", "open.jsonl", line + b"[" * DEEP + b"\n", "line 2 " + deep),
    ]


CRASH_CASES = crash_cases()


@pytest.mark.parametrize("case", CRASH_CASES, ids=[c.id for c in CRASH_CASES])
def test_crashing_input_refused_in_child_process(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.filename
    path.write_bytes(case.content)
    code, out, err = run_process(["run", str(path), *FAST])
    assert_refused(code, out, err, path, case.where)


def test_deep_record_skipped_with_on_bad_records_skip(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(jsonl()[:-1] + b'\n{"prompt":"a","response":' + nested(DEEP) + b"}\n")
    report = tmp_path / "audit.json"
    code, _, err = run_process(["run", str(path), "--on-bad-records", "skip", "--json",
                                  str(report), "-q", "--check", "bad_records"])
    assert code == 1 and "Traceback" not in err, err
    doc = json.loads(report.read_text())
    assert doc["dataset"]["n_records"] == 6 and doc["dataset"]["n_skipped"] == 1
    finding = doc["checks"][0]["findings"][0]
    assert finding["records"] == [6]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("name", ["pipe.jsonl", "pipe"])
def test_fifo_refused_without_hanging(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    os.mkfifo(path)
    code, out, err = run_process(["run", str(path), *FAST])
    assert_refused(code, out, err, path, r"not a regular file")


def test_corrupt_parquet_pages_never_crash(tmp_path: Path) -> None:
    data = bytearray(parquet(GOOD * 50))
    rng = random.Random(4)
    for i in rng.sample(range(8, len(data) - 8), 40):
        data[i] ^= 0xFF
    path = tmp_path / "flipped.parquet"
    path.write_bytes(bytes(data))
    code, out, err = run_process(["run", str(path), *FAST])
    assert code in (0, 1, 2) and "Traceback" not in out + err, err


# --- other paths ----------------------------------------------------------------------------
def test_missing_path_and_plain_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    assert_refused(*run_cli(["run", str(missing), *FAST], capsys), missing, r"no such file")
    folder = tmp_path / "folder"  # a folder of data files is a dataset in shards ...
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(jsonl())
    code, out, err = run_cli(["run", str(folder), *FAST], capsys)
    assert code in (0, 1) and "Traceback" not in out + err
    empty = tmp_path / "empty"  # ... a folder without any is refused
    empty.mkdir()
    (empty / "notes.txt").write_text("no data here")
    assert_refused(*run_cli(["run", str(empty), *FAST], capsys), empty, r"no data files")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads a file without read permission")
def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, content in (("locked.jsonl", jsonl()), ("locked.csv", csv_text()),
                          ("locked.parquet", parquet()), ("locked.json", json_array())):
        path = tmp_path / name
        path.write_bytes(content)
        path.chmod(0)
        try:
            assert_refused(*run_cli(["run", str(path), *FAST], capsys), path, r"cannot read")
        finally:
            path.chmod(0o600)


@pytest.mark.parametrize("name", ["denied.jsonl", "denied.json", "denied.csv", "denied.bin"])
def test_read_error_is_a_clear_message(name: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name  # what a file without read permission does, also when run as root
    path.write_bytes(jsonl())

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    with mock.patch("audit.load.open", denied, create=True):
        code, out, err = run_cli(["run", str(path), *FAST], capsys)
    assert_refused(code, out, err, path, r"cannot read the file: Permission denied")


# --- valid but odd: load and audit normally ------------------------------------------------------
def dup_keys() -> bytes:
    return b"".join(b'{"prompt": "first", "response": "x", "prompt": "Question %d?", '
                    b'"response": "Answer %d."}\n' % (i, i) for i in range(6))


BRACKETY = [{"prompt": "[" * 5000 + "{" * 5000, "response": "]" * 3000},
            {"prompt": 'say \\"[[[[ and \\\\', "response": '"]]]]' * 200},
            *GOOD[2:]]
VALID: list[tuple[str, str, Callable[[], bytes]]] = [
    ("utf8-bom-jsonl", "b.jsonl", lambda: b"\xef\xbb\xbf" + jsonl()),
    ("utf8-bom-json", "b.json", lambda: b"\xef\xbb\xbf" + json_array()),
    ("utf8-bom-csv", "b.csv", lambda: b"\xef\xbb\xbf" + csv_text()),
    ("crlf-jsonl", "c.jsonl", lambda: jsonl(eol="\r\n")),
    ("crlf-json", "c.json", lambda: json_array(eol="\r\n")),
    ("crlf-csv", "c.csv", lambda: csv_text(eol="\r\n")),
    ("bom-crlf-jsonl", "bc.jsonl", lambda: b"\xef\xbb\xbf" + jsonl(eol="\r\n")),
    ("blank-lines-jsonl", "bl.jsonl", lambda: b"\n \n" + jsonl(eol="\n\r\n \t\n")),
    ("no-final-newline-jsonl", "nf.jsonl", lambda: jsonl()[:-1]),
    ("duplicate-keys-jsonl", "dup.jsonl", dup_keys),
    ("duplicate-keys-json", "dup.json", lambda: b"[" + dup_keys().strip().replace(b"\n", b",")
     + b"]"),
    ("brackets-in-strings-jsonl", "s.jsonl", lambda: jsonl(BRACKETY)),
    ("brackets-in-strings-json", "s.json", lambda: json_array(BRACKETY)),
    ("nesting-at-limit-jsonl", "n.jsonl",  # the record's own braces are level 1
     lambda: jsonl() + b'{"prompt": "p", "response": ' + nested(MAX_NESTING - 1) + b"}\n"),
    ("nesting-at-limit-json", "n.json",  # {"data": [record, ...]}: two levels more
     lambda: b'{"data": [' + json.dumps(GOOD[0]).encode() + b', {"prompt": "p", "response": '
     + nested(MAX_NESTING - 1) + b"}]}"),
    ("jsonl-named-json", "l.json", jsonl),
    ("chat-content-parts-not-text", "parts.jsonl", lambda: jsonl([
        {"messages": [{"role": "user", "content": [{"type": "text", "text": r["prompt"]},
                                                   {"type": "image", "text": None},
                                                   {"type": "audio", "text": 5}]},
                      {"role": "assistant", "content": r["response"]}]} for r in GOOD])),
    ("gzip-jsonl", "g.jsonl.gz", lambda: gzip.compress(jsonl())),
]


@pytest.mark.parametrize(("filename", "make"), [(f, m) for _, f, m in VALID],
                         ids=[i for i, _, _ in VALID])
def test_valid_odd_file_is_audited(filename: str, make: Callable[[], bytes], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / filename
    path.write_bytes(make())
    report = tmp_path / "audit.json"
    code, out, err = run_cli(["run", str(path), "--json", str(report), *FAST], capsys)
    assert code in (0, 1), err
    assert "Traceback" not in out + err
    doc = json.loads(report.read_text())
    expected = {"n.jsonl": 7, "n.json": 2}.get(filename, 6)
    assert doc["dataset"]["n_records"] == expected and doc["dataset"]["n_skipped"] == 0
    data = load_dataset(path)
    assert data.prompts[0] == ("[" * 5000 + "{" * 5000 if filename.startswith("s.")
                               else "Question 0?")


def test_duplicate_keys_last_wins(tmp_path: Path) -> None:
    for name, content in (("dup.jsonl", dup_keys()),
                          ("dup.json", b"[" + dup_keys().strip().replace(b"\n", b",") + b"]")):
        path = tmp_path / name
        path.write_bytes(content)
        data = load_dataset(path)
        assert data.prompts == tuple(f"Question {i}?" for i in range(6)), name
        assert data.responses[5] == "Answer 5."


def test_one_huge_record_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.jsonl"
    huge = {"prompt": "Summarise this.", "response": "word " * 10_000_000}  # ~50 MB
    path.write_bytes(jsonl(GOOD[:2]) + jsonl([huge]) + jsonl(GOOD[2:]))
    report = tmp_path / "audit.json"
    code, _, err = run_cli(["run", str(path), "--json", str(report), *FAST], capsys)
    assert code in (0, 1) and "Traceback" not in err, err[-2000:]
    doc = json.loads(report.read_text())
    assert doc["dataset"]["n_records"] == 7


# --- hypothesis: mutate a small valid file; the answer is always 0, 1 or 2 ----------------------
SPECIAL = [b"{", b"}", b"[", b"]", b'"', b"\\", b",", b":", b"\n", b"\r", b"\x00", b"\xff",
           b"\xef\xbb\xbf", b"\xc3", b"null", b"[[[[[[[[", b"\x1f\x8b"]

mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True), st.just(0)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(range(len(SPECIAL)))),
    st.tuples(st.just("delete"), st.floats(0, 1, exclude_max=True), st.integers(1, 40)),
)


def mutate(data: bytes, ops: list[tuple[str, float, int]]) -> bytes:
    buf = bytearray(data)
    for op, where, arg in ops:
        i = int(where * len(buf))
        if op == "flip" and buf:
            buf[min(i, len(buf) - 1)] ^= arg
        elif op == "truncate":
            del buf[i:]
        elif op == "insert":
            buf[i:i] = SPECIAL[arg]
        elif op == "delete":
            del buf[i:i + arg]
    return bytes(buf)


def check_mutant(tmp_path: Path, name: str, content: bytes,
                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run_cli(["run", str(path), *FAST], capsys)
    assert code in (0, 1, 2), f"exit {code}: {err[-3000:]}"
    assert "Traceback" not in out + err, err[-3000:]
    if code == 2:
        assert str(path) in err, err


FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(ops=st.lists(mutation, min_size=1, max_size=4),
       base=st.sampled_from(["jsonl", "json", "chat"]))
def test_mutated_json_never_crashes(ops: list[tuple[str, float, int]], base: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    chat = [{"messages": [{"role": "user", "content": r["prompt"]},
                          {"role": "assistant", "content": r["response"]}]} for r in GOOD]
    source = {"jsonl": jsonl(), "json": json_array(), "chat": jsonl(chat)}[base]
    check_mutant(tmp_path, "m.json" if base == "json" else "m.jsonl", mutate(source, ops), capsys)


@FUZZ
@given(ops=st.lists(mutation, min_size=1, max_size=4), gz=st.booleans())
def test_mutated_csv_never_crashes(ops: list[tuple[str, float, int]], gz: bool, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    labelled = [{"text": r["prompt"], "label": i % 2} for i, r in enumerate(GOOD)]
    if gz:
        check_mutant(tmp_path, "m.jsonl.gz", mutate(gzip.compress(jsonl()), ops), capsys)
    else:
        check_mutant(tmp_path, "m.csv", mutate(csv_text(labelled), ops), capsys)
