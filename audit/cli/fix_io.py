"""Records as the input file writes them, edited and written back in the input's format.

`ft-audit fix` edits the original records, not the normalised table: a record is a dict of
its original fields (parsed from its JSONL line, JSON array item, CSV row, or Arrow row), and
the roles of those fields (prompt, response, chat turns, label) come from the detected schema.

Untouched records are copied byte for byte where the format allows it: JSONL lines and CSV/TSV
rows keep their original bytes; a JSON array is written again with the values of every record
unchanged (key order kept, the file's indent); Parquet and Hugging Face folders keep the
schema and every value. An edited record keeps its key order; in JSONL it is written in the
style of its own line (escaped or raw non-ASCII, separators, CRLF).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audit.dataset import DatasetView, SchemaInfo
from audit.errors import AuditError
from audit.io import OutputError, atomic_write_bytes
from audit.load import SHAREGPT_ROLES, read_bytes

Record = dict[str, Any]
_BOM = b"\xef\xbb\xbf"
#: source fields on the prompt side, per schema role name
PROMPT_ROLES = ("instruction", "input", "prompt", "question", "text")
RESPONSE_ROLES = ("output", "completion", "response", "answer")


def content_hash(record: Mapping[str, Any]) -> str:
    """sha256 of a record's canonical JSON (keys sorted, no spaces, UTF-8): the same record
    hashes the same in any format."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------------------------------------
# roles: which original fields hold what
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Roles:
    """The original field names behind the normalised columns."""

    prompt: tuple[str, ...] = ()
    response: str | None = None
    chat: str | None = None
    label: str | None = None
    context: str | None = None

    @classmethod
    def of(cls, schema: SchemaInfo) -> Roles:
        fields = {k: v for k, v in schema.fields.items() if isinstance(v, str)}
        chat = fields.get("messages") or fields.get("conversations")
        prompt = tuple(fields[r] for r in PROMPT_ROLES if r in fields)
        response = next((fields[r] for r in RESPONSE_ROLES if r in fields), None)
        if schema.name == "custom":
            prompt = (fields["prompt"],) if "prompt" in fields else ()
            response = fields.get("response")
        return cls(prompt=prompt, response=response, chat=chat, label=fields.get("label"),
                   context=fields.get("input") if schema.name == "alpaca" else None)


def _turns(record: Record, field: str) -> tuple[list[Any] | None, bool]:
    """The chat turns of a record, and whether they were stored as JSON text."""
    value = record.get(field)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, True
        return (value if isinstance(value, list) else None), True
    return (value if isinstance(value, list) else None), False


def _store_turns(record: Record, field: str, turns: list[Any], as_text: bool) -> None:
    record[field] = json.dumps(turns, ensure_ascii=False) if as_text else turns


def _content_key(turn: Mapping[str, Any]) -> str:
    return "content" if "content" in turn else "value"


def _is_assistant(turn: Any) -> bool:
    if not isinstance(turn, dict):
        return False
    role = turn.get("role", turn.get("from"))
    return SHAREGPT_ROLES.get(str(role).lower(), str(role).lower()) == "assistant"


def map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """`value` with `fn` applied to every string in it (nested lists and dicts: values only)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


def map_text(record: Record, roles: Roles, fn: Callable[[str], str]) -> None:
    """Apply `fn` to every text the audit reads in `record`: prompt-side fields, the
    response, and every chat turn's content (system turns included)."""
    for name in (*roles.prompt, roles.response):
        if name is not None and name in record and record[name] is not None:
            record[name] = map_strings(record[name], fn)
    if roles.chat is not None:
        turns, as_text = _turns(record, roles.chat)
        if turns is None:
            return
        for turn in turns:
            if isinstance(turn, dict):
                key = _content_key(turn)
                if key in turn:
                    turn[key] = map_strings(turn[key], fn)
        _store_turns(record, roles.chat, turns, as_text)


def get_response(record: Record, roles: Roles) -> Any:
    """The response as stored: the response field, or the last assistant turn's content."""
    if roles.chat is not None:
        turns, _ = _turns(record, roles.chat)
        for turn in reversed(turns or []):
            if _is_assistant(turn):
                return turn.get(_content_key(turn))
        return None
    return record.get(roles.response) if roles.response else None


def set_response(record: Record, roles: Roles, value: Any) -> None:
    if roles.chat is not None:
        turns, as_text = _turns(record, roles.chat)
        for turn in reversed(turns or []):
            if _is_assistant(turn):
                turn[_content_key(turn)] = value
                assert turns is not None
                _store_turns(record, roles.chat, turns, as_text)
                return
        raise AuditError("the record has no assistant turn to edit")
    if roles.response is None:
        raise AuditError("the data has no response field to edit")
    record[roles.response] = value


def typed_label(new: str, old: Any) -> Any:
    """`new` (a label as the audit shows it, text) in the type of the label it replaces."""
    if isinstance(old, bool):
        return new.strip().lower() == "true"
    if isinstance(old, int):
        try:
            return int(new)
        except ValueError:
            return new
    if isinstance(old, float):
        try:
            return float(new)
        except ValueError:
            return new
    return new


# ---------------------------------------------------------------------------------------------
# sources: read the original records, write them back
# ---------------------------------------------------------------------------------------------
class Source:
    """The input file's records, by position in the loaded view."""

    fmt = ""

    def __init__(self, path: Path, view: DatasetView) -> None:
        self.path = path
        self.view = view

    def records(self, positions: Sequence[int]) -> list[Record]:
        """Fresh (editable) copies of the original records at these positions."""
        rows = self.view.raw.take(np.asarray(positions, dtype=np.int64)).to_pylist()
        return [dict(r) for r in rows]

    def render(self, keep: np.ndarray, edited: Mapping[int, Record]) -> bytes:
        """The output file: the records at `keep` (positions, in order), `edited` ones
        replaced (position -> record)."""
        raise NotImplementedError

    def write(self, out: Path, keep: np.ndarray, edited: Mapping[int, Record]) -> None:
        payload = self.render(keep, edited)
        if out.name.lower().endswith(".gz"):
            payload = gzip.compress(payload, mtime=0)
        atomic_write_bytes(out, payload)


class JsonlSource(Source):
    fmt = "jsonl"

    def __init__(self, path: Path, view: DatasetView) -> None:
        super().__init__(path, view)
        self.lines = read_bytes(path).split(b"\n")
        self.by_line = all(line is not None for line in view.lines)

    def _line(self, position: int) -> bytes:
        line = self.view.lines[position]
        assert line is not None
        raw = self.lines[line - 1]
        return raw[3:] if line == 1 and raw.startswith(_BOM) else raw

    def records(self, positions: Sequence[int]) -> list[Record]:
        if not self.by_line:
            return super().records(positions)
        return [json.loads(self._line(p).decode("utf-8")) for p in positions]

    def render(self, keep: np.ndarray, edited: Mapping[int, Record]) -> bytes:
        if not self.by_line:  # a JSON array named .jsonl: written as JSONL from the values
            rows = self.records(keep.tolist())
            for i, p in enumerate(keep.tolist()):
                if p in edited:
                    rows[i] = edited[p]
            return b"".join(_dumps_line(r, b"") + b"\n" for r in rows)
        out = []
        for p in keep.tolist():
            line = self.view.lines[p]
            assert line is not None
            raw = self.lines[line - 1]
            if p in edited:
                raw = _dumps_line(edited[p], raw)
            out.append(raw + b"\n")
        return b"".join(out)


def _dumps_line(record: Record, like: bytes) -> bytes:
    """`record` as one JSONL line in the style of the line `like` (its original)."""
    body = like.rstrip(b"\r")
    ascii_only = bool(body) and body.isascii() and b"\\u" in body
    compact = b'":' in body and b'": ' not in body
    separators = (",", ":") if compact else (", ", ": ")
    try:
        text = json.dumps(record, ensure_ascii=ascii_only, separators=separators)
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only escaped JSON can hold it
        data = json.dumps(record, ensure_ascii=True, separators=separators).encode("ascii")
    if like.startswith(_BOM):
        data = _BOM + data
    return data + (b"\r" if like.endswith(b"\r") else b"")


class JsonSource(Source):
    fmt = "json"

    def __init__(self, path: Path, view: DatasetView) -> None:
        super().__init__(path, view)
        data = read_bytes(path)
        document = json.loads(data.decode("utf-8-sig"))
        self.wrapper: dict[str, Any] | None = None
        self.key = ""
        if isinstance(document, dict):
            self.wrapper = document
            self.key = next(k for k, v in document.items() if isinstance(v, list))
            document = document[self.key]
        self.items: list[Any] = document
        self.indent = _json_indent(data)
        self.ascii_only = data.isascii() and b"\\u" in data  # the file escapes non-ASCII

    def records(self, positions: Sequence[int]) -> list[Record]:
        ids = self.view.ids
        return [json.loads(json.dumps(self.items[int(ids[p])])) for p in positions]

    def render(self, keep: np.ndarray, edited: Mapping[int, Record]) -> bytes:
        ids = self.view.ids
        items = [edited[p] if p in edited else self.items[int(ids[p])] for p in keep.tolist()]
        document: Any = items
        if self.wrapper is not None:
            document = {**self.wrapper, self.key: items}
        return (json.dumps(document, indent=self.indent, ensure_ascii=self.ascii_only)
                + "\n").encode()


def _json_indent(data: bytes) -> int | None:
    """The indent of a JSON file's first nested line (None: written on one line)."""
    head = data[:4096].lstrip(_BOM + b" \t\r\n")
    newline = head.find(b"\n")
    if newline < 0:
        return None
    rest = head[newline + 1:]
    indent = len(rest) - len(rest.lstrip(b" "))
    return indent or None


class CsvSource(Source):
    """CSV/TSV rows with their original text; falls back to values when the Python csv
    module and pyarrow do not see the same rows."""

    def __init__(self, path: Path, view: DatasetView, fmt: str) -> None:
        super().__init__(path, view)
        self.fmt = fmt
        self.delimiter = "\t" if fmt == "tsv" else ","
        data = read_bytes(path)
        self.bom = data.startswith(_BOM)
        text = data.decode("utf-8-sig")
        self.header, self.rows, self.spans, self.lines = _csv_rows(text, self.delimiter)
        n = view.n + len(view.skipped)
        self.exact = (len(self.rows) == n and len(set(self.header)) == len(self.header)
                      and all(len(r) == len(self.header) for r in self.rows))

    def records(self, positions: Sequence[int]) -> list[Record]:
        if not self.exact:
            return super().records(positions)
        ids = self.view.ids
        return [dict(zip(self.header, self.rows[int(ids[p])], strict=True)) for p in positions]

    def render(self, keep: np.ndarray, edited: Mapping[int, Record]) -> bytes:
        if not self.exact:
            return self._render_values(keep, edited)
        ids = self.view.ids
        first = self.spans[0][0] if self.spans else len(self.lines)
        parts = ["".join(self.lines[:first])]  # the header, as written
        for p in keep.tolist():
            start, stop = self.spans[int(ids[p])]
            original = "".join(self.lines[start:stop])
            if p in edited:
                ending = "\r\n" if original.endswith("\r\n") else "\n"
                sink = io.StringIO()
                csv.writer(sink, delimiter=self.delimiter, lineterminator=ending).writerow(
                    ["" if edited[p].get(h) is None else str(edited[p].get(h))
                     for h in self.header])
                original = sink.getvalue()
            elif not original.endswith("\n"):
                original += "\n"
            parts.append(original)
        return (_BOM if self.bom else b"") + "".join(parts).encode("utf-8")

    def _render_values(self, keep: np.ndarray, edited: Mapping[int, Record]) -> bytes:
        import pyarrow.csv as pcsv

        table = _replace_rows(self.view, keep, edited)
        sink = io.BytesIO()
        pcsv.write_csv(table, sink, write_options=pcsv.WriteOptions(delimiter=self.delimiter))
        return sink.getvalue()


def _csv_rows(text: str, delimiter: str) -> tuple[list[str], list[list[str]],
                                                  list[tuple[int, int]], list[str]]:
    """Header, data rows, and for each data row its [first, last+1) line indexes in `lines`."""
    lines = text.splitlines(keepends=True)
    consumed = 0

    def feed() -> Any:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    limit = csv.field_size_limit()
    csv.field_size_limit((1 << 31) - 1)
    try:
        reader = csv.reader(feed(), delimiter=delimiter)
        header: list[str] = []
        rows: list[list[str]] = []
        spans: list[tuple[int, int]] = []
        start = 0
        for row in reader:
            stop = consumed
            if not row:
                start = stop  # a blank line: pyarrow skips it too
                continue
            if not header:
                header = row
            else:
                rows.append(row)
                spans.append((start, stop))
            start = stop
    except csv.Error:
        return [], [], [], lines
    finally:
        csv.field_size_limit(limit)
    return header, rows, spans, lines


def _replace_rows(view: DatasetView, keep: np.ndarray, edited: Mapping[int, Record]) -> Any:
    """The original Arrow rows at `keep`, with the `edited` ones' values put in (types kept)."""
    import pyarrow as pa

    table = view.raw.take(pa.array(keep, pa.int64()))
    if not edited:
        return table
    row_of = {p: i for i, p in enumerate(keep.tolist()) if p in edited}
    for index, name in enumerate(table.column_names):
        changes = {row_of[p]: r.get(name) for p, r in edited.items() if p in row_of}
        column = table.column(name)
        current = column.take(pa.array(sorted(changes), pa.int64())).to_pylist()
        if all(changes[i] == old for i, old in zip(sorted(changes), current, strict=True)):
            continue
        values = column.to_pylist()
        for i, value in changes.items():
            values[i] = value
        table = table.set_column(index, table.schema.field(index),
                                 pa.array(values, type=column.type))
    return table


class ParquetSource(Source):
    fmt = "parquet"

    def render(self, keep: np.ndarray, edited: Mapping[int, Record]) -> bytes:
        import pyarrow.parquet as pq

        sink = io.BytesIO()
        pq.write_table(_replace_rows(self.view, keep, edited), sink)
        return sink.getvalue()


class HfSource(Source):
    """A Hugging Face `save_to_disk` folder (a Dataset, or a DatasetDict whose splits the
    loader joined with a `split` column)."""

    fmt = "hf"

    def render(self, keep: np.ndarray, edited: Mapping[int, Record]) -> bytes:
        raise AuditError("a Hugging Face folder is written as a folder")

    def write(self, out: Path, keep: np.ndarray, edited: Mapping[int, Record]) -> None:
        import datasets
        from datasets.table import InMemoryTable

        original = datasets.load_from_disk(str(self.path))
        table = _replace_rows(self.view, keep, edited)
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise OutputError(f"cannot write {out}: folder {parent} does not exist")
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
        try:
            if isinstance(original, datasets.DatasetDict):
                import pyarrow.compute as pc

                splits = {}
                for name, split in original.items():
                    part = table.filter(pc.equal(table.column("split"), name))
                    if "split" not in split.column_names:
                        part = part.drop_columns(["split"])
                    splits[name] = datasets.Dataset(InMemoryTable(part), info=split.info.copy())
                datasets.DatasetDict(splits).save_to_disk(str(staging / "data"))
            else:
                datasets.Dataset(InMemoryTable(table), info=original.info.copy()).save_to_disk(
                    str(staging / "data"))
            _swap_folder(staging / "data", out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _swap_folder(new: Path, out: Path) -> None:
    """Put folder `new` at `out`, replacing what is there only once `new` is complete."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"refusing to replace the file {out} with a folder")
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(new, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def open_source(path: Path, fmt: str, view: DatasetView) -> Source:
    if fmt == "jsonl":
        return JsonlSource(path, view)
    if fmt == "json":
        return JsonSource(path, view)
    if fmt in ("csv", "tsv"):
        return CsvSource(path, view, fmt)
    if fmt == "parquet":
        return ParquetSource(path, view)
    if fmt == "hf":
        return HfSource(path, view)
    raise AuditError(f"fix cannot write the {fmt!r} format")
