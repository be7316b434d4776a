"""Load any supported source into a normalised `DatasetView`.

Sources: JSONL (.jsonl, .ndjson, .jsonl.gz), JSON arrays (.json), CSV, TSV, Parquet, a
Hugging Face `save_to_disk` folder, a `datasets.Dataset`/`DatasetDict`, a pandas DataFrame,
a pyarrow Table, or a list of dicts.

Files are read with pyarrow where it can (fast). When pyarrow rejects a file, a line-by-line
reader takes over, only to say exactly where the file is broken (file:line, byte offset) or,
with `on_bad_records="skip"`, to keep the good records. The input is only ever read.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from audit.dataset import GROUP_PREFIX, DatasetView, SchemaInfo, SkippedRecord
from audit.errors import DataLoadError, SchemaError

OnBadRecords = Literal["fail", "skip"]

#: schema name -> (required fields, optional fields) in the source records
SCHEMAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "chat": (("messages",), ()),
    "sharegpt": (("conversations",), ()),
    "alpaca": (("instruction", "output"), ("input",)),
    "prompt_completion": (("prompt", "completion"), ()),
    "prompt_response": (("prompt", "response"), ()),
    "question_answer": (("question", "answer"), ()),
    "text_label": (("text", "label"), ()),
    "text": (("text",), ()),
}
#: fields used as a label when the schema itself has none (first present wins)
LABEL_CANDIDATES = ("label", "category", "intent", "class")
SPLIT_CANDIDATES = ("split",)
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "chatgpt": "assistant", "bard": "assistant", "bing": "assistant",
                  "model": "assistant", "system": "system", "tool": "tool", "function": "tool",
                  "prompter": "user"}
MAX_LISTED = 5
FORMATS = ("jsonl", "json", "csv", "tsv", "parquet", "hf")
#: deepest JSON nesting accepted in a record (its own braces are level 1). Real records nest a
#: few levels; pyarrow's JSON reader overflows its stack (segfault) some thousands deep and
#: Python's json module raises RecursionError about a thousand deep, so deeper input is refused.
MAX_NESTING = 100
_SCAN_CHUNK = 1 << 22  # bytes per step of the nesting pre-scan (bounds its temporary memory)
_SCAN_THREADS = 4
_BYTE_SUM = np.uint64(0x0101010101010101)  # (w * _BYTE_SUM) >> 56: the sum of w's 8 bytes
_TOP_BYTE = np.uint64(56)
_UTF8_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FieldMapping:
    """Explicit field names that override schema detection (config `[fields]` or CLI flags)."""

    prompt: str | None = None
    response: str | None = None
    label: str | None = None
    groups: tuple[str, ...] = ()
    split: str | None = None
    schema: str | None = None

    def __post_init__(self) -> None:
        if self.schema is not None and self.schema not in SCHEMAS:
            raise SchemaError(
                f"unknown schema {self.schema!r}; supported: {', '.join(SCHEMAS)}")

    def merged(self, other: FieldMapping) -> FieldMapping:
        """`other`'s explicit values win over this mapping's."""
        return FieldMapping(
            prompt=other.prompt or self.prompt,
            response=other.response or self.response,
            label=other.label or self.label,
            groups=other.groups or self.groups,
            split=other.split or self.split,
            schema=other.schema or self.schema,
        )


@dataclass
class _Raw:
    """What a reader produced: the original table, line numbers, and records it dropped."""

    table: pa.Table
    lines: list[int | None] | None = None
    ids: list[int] | None = None
    dropped: list[SkippedRecord] = field(default_factory=list)
    path: str | None = None


def load_dataset(
    source: Any,
    *,
    fields: FieldMapping | None = None,
    on_bad_records: OnBadRecords = "fail",
    format: str | None = None,
    name: str | None = None,
) -> DatasetView:
    """Load `source` and normalise it. Raises `DataLoadError` / `SchemaError` on bad input."""
    if isinstance(source, DatasetView):
        return source
    if on_bad_records not in ("fail", "skip"):
        raise DataLoadError(f"on_bad_records must be 'fail' or 'skip', not {on_bad_records!r}")
    fields = fields or FieldMapping()
    raw = _read_source(source, on_bad_records=on_bad_records, format=format)
    label = name or _describe(source)
    return _normalise(raw, fields=fields, on_bad_records=on_bad_records, source=label)


# ---------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------
def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"<{type(source).__module__}.{type(source).__name__}>"


def _read_source(source: Any, *, on_bad_records: OnBadRecords, format: str | None) -> _Raw:
    if isinstance(source, (str, os.PathLike)):
        return _read_path(Path(source), on_bad_records=on_bad_records, format=format)
    if isinstance(source, pa.Table):
        return _Raw(table=source)
    if isinstance(source, list):
        bad = [i for i, r in enumerate(source) if not isinstance(r, Mapping)]
        if bad:
            raise DataLoadError(
                f"records must be dicts; item {bad[0]} is a {type(source[bad[0]]).__name__}")
        return _Raw(table=_table_from_records([dict(r) for r in source]))
    module = type(source).__module__
    if module.startswith("pandas"):
        return _Raw(table=pa.Table.from_pandas(source, preserve_index=False))
    if module.startswith("datasets"):
        return _Raw(table=_table_from_hf(source))
    raise DataLoadError(
        f"cannot load a {type(source).__name__}; pass a file path, a pandas DataFrame, a "
        "datasets.Dataset/DatasetDict, a pyarrow Table or a list of dicts")


def sniff_format(path: Path, format: str | None) -> str:
    if format:
        if format not in FORMATS:
            raise DataLoadError(f"unknown format {format!r}; supported: {', '.join(FORMATS)}")
        return format
    if path.is_dir():
        return "hf"
    name = path.name.lower()
    for suffix, fmt in ((".jsonl.gz", "jsonl"), (".ndjson.gz", "jsonl"), (".jsonl", "jsonl"),
                        (".ndjson", "jsonl"), (".json.gz", "json"), (".json", "json"),
                        (".csv", "csv"), (".tsv", "tsv"), (".parquet", "parquet"),
                        (".pq", "parquet")):
        if name.endswith(suffix):
            return fmt
    data = read_bytes(path)
    _check_text_encoding(path, data[:4])
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "jsonl"
    if head.startswith(b"["):
        return "json"
    raise DataLoadError(
        f"{path}: cannot tell the format from the name; use one of .jsonl, .json, .csv, .tsv, "
        ".parquet, a Hugging Face save_to_disk folder, or pass --format")


def _read_path(path: Path, *, on_bad_records: OnBadRecords, format: str | None) -> _Raw:
    if not path.exists():
        raise DataLoadError(f"{path}: no such file or folder")
    if not path.is_dir() and not path.is_file():  # reading a FIFO would wait forever
        raise DataLoadError(f"{path}: not a regular file (a FIFO, socket or device); write the "
                            "data to a file and pass that")
    try:
        fmt = sniff_format(path, format)
        if fmt == "hf":
            return _Raw(table=_read_hf_folder(path), path=str(path))
        if path.stat().st_size == 0:
            raise DataLoadError(f"{path}: the file is empty")
        reader: Callable[[Path, OnBadRecords], _Raw] = {
            "jsonl": _read_jsonl, "json": _read_json_array, "csv": _read_csv,
            "tsv": _read_csv, "parquet": _read_parquet}[fmt]
        raw = reader(path, on_bad_records)
    except OSError as exc:  # permission denied, a folder given with --format, I/O errors
        raise DataLoadError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except RecursionError:  # a last guard; the readers refuse deep nesting before this
        raise DataLoadError(f"{path}: JSON nested too deeply to read (more than {MAX_NESTING} "
                            "levels)") from None
    raw.path = str(path)
    if raw.table.num_rows == 0 and not raw.dropped:
        raise DataLoadError(f"{path}: the file holds no records")
    return raw


def read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataLoadError(f"{path}: a gzip file that cannot be decompressed ({exc}); it is "
                                "truncated or damaged") from None
    elif data and path.name.lower().endswith(".gz"):
        raise DataLoadError(f"{path}: named .gz but not gzip-compressed; compress it, or drop "
                            ".gz from the name if it is plain text")
    return data


def _check_text_encoding(path: Path, head: bytes) -> None:
    """Refuse UTF-16/UTF-32 text. JSON, JSONL and CSV files start with ASCII characters, so
    the NUL bytes among the first four tell the encoding even without a byte-order mark."""
    found = next((f"{name} (with a byte-order mark)" for bom, name in (
        (b"\xff\xfe\x00\x00", "UTF-32 LE"), (b"\x00\x00\xfe\xff", "UTF-32 BE"),
        (b"\xff\xfe", "UTF-16 LE"), (b"\xfe\xff", "UTF-16 BE")) if head.startswith(bom)), None)
    if found is None and len(head) >= 4:
        zeros = "".join("0" if b == 0 else "x" for b in head[:4])
        found = {"x000": "UTF-32 LE", "000x": "UTF-32 BE", "x0x0": "UTF-16 LE",
                 "0x0x": "UTF-16 BE"}.get(zeros)
    if found is not None:
        iconv = found.split(" (")[0].replace(" ", "")  # "UTF-16 LE" -> "UTF-16LE"
        raise DataLoadError(f"{path}: the file is {found}, not UTF-8; re-encode it as UTF-8 "
                            f"(for example: iconv -f {iconv} -t UTF-8)")


def _newlines(data: bytes) -> np.ndarray:
    """Byte offsets of the newlines in `data`."""
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)


def load_jsonl_bytes(data: bytes, *, name: str, fields: FieldMapping | None = None,
                     on_bad_records: OnBadRecords = "fail", first_line: int = 1) -> DatasetView:
    """Records of JSONL bytes (e.g. a byte range of a file, cut at a newline), normalised;
    line numbers count from `first_line`, record ids from 0."""
    raw = _parse_jsonl(data, Path(name), on_bad_records, first_line=first_line)
    raw.path = name
    return _normalise(raw, fields=fields or FieldMapping(), on_bad_records=on_bad_records,
                      source=name)


def _read_jsonl(path: Path, on_bad_records: OnBadRecords) -> _Raw:
    return _parse_jsonl(read_bytes(path), path, on_bad_records)


def _parse_jsonl(data: bytes, path: Path, on_bad_records: OnBadRecords, *,
                 first_line: int = 1) -> _Raw:
    if not data or data.isspace():
        raise DataLoadError(f"{path}: the file is empty")
    _check_text_encoding(path, data[:4])
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"[") and path.suffix.lower() != ".jsonl":
        return _read_json_array(path, on_bad_records)
    newlines = _newlines(data)
    lines = _record_line_numbers(data, newlines)
    too_deep = dict(_too_deep(data, newlines, MAX_NESTING, per_line=True))
    # pyarrow's reader crashes (segfault) on deep nesting and on a block that starts with null
    if not too_deep and not data.startswith(_UTF8_BOM) and _lines_are_objects(data, newlines):
        try:
            import pyarrow.json as pj

            longest = int(np.diff(newlines, prepend=-1, append=len(data)).max())
            block = min(max(1 << 24, longest + 1), (1 << 31) - 1)  # no line straddles blocks
            table = pj.read_json(pa.BufferReader(data),
                                 read_options=pj.ReadOptions(block_size=block))
            table.validate(full=True)  # pyarrow's JSON reader does not check UTF-8 itself
            _decode_field_names(table.schema)  # ... nor in keys: UnicodeDecodeError
            if table.num_rows == len(lines):
                if first_line != 1:
                    lines = [None if x is None else x + first_line - 1 for x in lines]
                return _Raw(table=table, lines=lines)
        except (pa.ArrowException, UnicodeDecodeError):  # the latter: a key is not UTF-8
            pass  # broken or irregular file: the line reader says where, or copes
    return _read_jsonl_lines(path, data, on_bad_records, too_deep, first_line=first_line)


def _decode_field_names(types: Any) -> None:
    """Read every (nested) field name; pyarrow raises UnicodeDecodeError for one that is not
    valid UTF-8, which the JSON reader lets through."""
    for item in types:
        value_type = item.type if isinstance(item, pa.Field) else item
        if isinstance(item, pa.Field):
            item.name  # noqa: B018 -- decodes the name
        if pa.types.is_struct(value_type):
            _decode_field_names([value_type.field(i) for i in range(value_type.num_fields)])
        elif pa.types.is_map(value_type):
            _decode_field_names([value_type.key_type, value_type.item_type])
        elif pa.types.is_list(value_type) or pa.types.is_large_list(value_type) or \
                pa.types.is_fixed_size_list(value_type):
            _decode_field_names([value_type.value_type])


def _lines_are_objects(data: bytes, newlines: np.ndarray) -> bool:
    """Whether every non-blank line starts with "{" (JSONL records are objects; anything else
    is a bad line for the line reader to name)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate(([0], newlines + 1))
    starts = starts[starts < len(buf)]
    first = buf[starts]
    for i in np.flatnonzero((first != 0x7B) & (first != 0x0A)):  # blank, indented or not "{"
        start = int(starts[i])
        end = data.find(b"\n", start)
        line = data[start:end if end >= 0 else len(data)].strip(b" \t\r")
        if line and not line.startswith(b"{"):
            return False
    return True


def _record_line_numbers(data: bytes, newlines: np.ndarray) -> list[int | None]:
    """1-based numbers of the non-blank lines of `data` (one JSON record per line)."""
    starts = np.concatenate(([0], newlines + 1))
    stops = np.concatenate((newlines, [len(data)]))
    lengths = stops - starts
    keep = lengths > 0
    for i in np.flatnonzero(lengths <= 8):  # short lines may be blank ("\r", spaces)
        keep[i] = bool(data[starts[i]:stops[i]].strip())
    return [int(i) + 1 for i in np.flatnonzero(keep)]


def _too_deep(data: bytes, newlines: np.ndarray, limit: int, *,
              per_line: bool) -> list[tuple[int, int]]:
    """Where JSON nesting in `data` passes `limit`: (1-based line, byte offset) pairs.

    `per_line` (JSONL): each line is its own document; one pair per line that nests too deep.
    Otherwise `data` is one document and only the first place is given.

    Vectorised with numpy, `_SCAN_CHUNK` bytes (whole lines) at a time into reused buffers, so
    memory stays a few chunks per thread; JSONL chunks are scanned on up to `_SCAN_THREADS`
    threads (numpy releases the GIL), as pyarrow's reader uses every core. A cheap bound comes
    first: a line with at most `limit` opening brackets cannot nest deeper, and only chunks
    holding a line with more pay for the exact count. That one knows strings: JSON strings do
    not span lines, so the parity of the unescaped quotes before a byte on its line says
    whether it is inside one.
    """
    chunks = []
    start, size = 0, len(data)
    while start < size:
        k = int(np.searchsorted(newlines, start + _SCAN_CHUNK))
        stop = int(newlines[k]) + 1 if k < len(newlines) else size
        first_line = int(np.searchsorted(newlines, start))  # lines before this chunk
        nl = newlines[first_line:k] - start  # line ends inside the chunk, not its last byte
        if len(nl) and nl[-1] == stop - start - 1:
            nl = nl[:-1]
        chunks.append((start, stop, first_line, nl))
        start = stop
    if not per_line:  # one document: the level carries from chunk to chunk
        scratch: dict[str, np.ndarray] = {}
        depth = 0
        for chunk in chunks:
            found, depth = _scan_chunk(data, chunk, limit, depth, False, scratch)
            if found:
                return found[:1]
        return []
    local = threading.local()

    def scan(chunk: tuple[int, int, int, np.ndarray]) -> list[tuple[int, int]]:
        if not hasattr(local, "scratch"):
            local.scratch = {}
        return _scan_chunk(data, chunk, limit, 0, True, local.scratch)[0]

    workers = min(_SCAN_THREADS, os.cpu_count() or 1, len(chunks))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(scan, chunks))
    else:
        results = [scan(chunk) for chunk in chunks]
    return [place for places in results for place in places]


def _scan_chunk(data: bytes, chunk: tuple[int, int, int, np.ndarray], limit: int, depth: int,
                per_line: bool, scratch: dict[str, np.ndarray]) -> tuple[list[tuple[int, int]], int]:
    """One chunk of `_too_deep`: the places found, and the level at its end (one document)."""
    start, stop, first_line, nl = chunk
    buf = np.frombuffer(data, dtype=np.uint8, count=stop - start, offset=start)
    size = len(buf)
    padded = -(-size // 64) * 64
    if len(scratch) == 0 or len(scratch["folded"]) < padded:
        scratch.clear()
        scratch.update({name: np.empty(padded, dtype=np.uint8 if name == "folded" else bool)
                        for name in ("folded", "opening", "closing", "quote", "work")})
        scratch["words"] = np.empty(padded // 8, dtype=np.uint64)
        scratch["counts"] = np.empty(padded // 8, dtype=np.uint8)
        scratch["blocks"] = np.empty(padded // 64, dtype=np.uint64)
    work = {name: scratch[name][:size] for name in ("folded", "opening", "closing", "quote", "work")}
    np.bitwise_or(buf, 0x20, out=work["folded"])  # "[" -> "{", "]" -> "}"
    np.equal(work["folded"], 0x7B, out=work["opening"])
    if per_line:  # opening brackets per 64-byte block, by byte sums of 8-byte words
        opening = scratch["opening"][:padded]
        opening[size:] = False
        words = np.multiply(opening.view(np.uint64), _BYTE_SUM, out=scratch["words"][:padded // 8])
        np.right_shift(words, _TOP_BYTE, out=words)
        counts = scratch["counts"][:padded // 8]
        np.copyto(counts, words, casting="unsafe")
        blocks = np.multiply(counts.view(np.uint64), _BYTE_SUM, out=scratch["blocks"][:padded // 64])
        np.right_shift(blocks, _TOP_BYTE, out=blocks)
        upto = np.cumsum(blocks, dtype=np.int64)  # opening brackets in blocks 0..i
        first = np.concatenate(([0], nl + 1)) // 64  # the blocks each line touches
        last = np.concatenate((nl, [size - 1])) // 64
        bound = upto[last] - np.where(first > 0, upto[first - 1], 0)
        if bound.max() <= limit:
            return [], 0  # no line (with the bytes around it) has more opening brackets
    found = []
    for line, pos in _deep_places(buf, nl, work, limit, depth, per_line):
        if line < 0:  # the level at the end of the chunk, to carry on with
            depth = pos
        else:
            found.append((first_line + line + 1, start + pos))
    return found, depth


def _deep_places(buf: np.ndarray, nl: np.ndarray, work: dict[str, np.ndarray], limit: int,
                 depth: int, per_line: bool) -> list[tuple[int, int]]:
    """The string-aware nesting count of one chunk: (line index in the chunk, offset) of the
    first bracket past `limit` on each line (`per_line`) or in the chunk, then (-1, level at
    the chunk's end) when the chunk continues one document. `work` holds its buffers, with
    "folded" (bytes | 0x20) and "opening" filled in."""
    opening, closing, quote, scan = work["opening"], work["closing"], work["quote"], work["work"]
    np.equal(work["folded"], 0x7D, out=closing)
    np.equal(buf, 0x22, out=quote)
    after_slash = np.equal(buf[:-1], 0x5C, out=scan[:-1])
    np.logical_and(after_slash, quote[1:], out=after_slash)
    escaped = np.flatnonzero(after_slash) + 1
    if len(escaped):  # a quote after an odd run of backslashes is escaped
        run = np.ones(len(escaped), dtype=np.int64)
        todo = np.flatnonzero(escaped > 1)
        todo = todo[buf[escaped[todo] - 2] == 0x5C]  # runs of two or more backslashes (rare)
        while len(todo):
            run[todo] += 1
            todo = todo[escaped[todo] > run[todo]]
            todo = todo[buf[escaped[todo] - run[todo] - 1] == 0x5C]
        quote[escaped[run % 2 == 1]] = False
    inside = np.bitwise_xor.accumulate(quote.view(np.uint8), out=work["folded"])  # 1: in a string
    if len(nl) and (at_end := inside[nl]).any():  # a line left a string open: restart each line
        restart = np.zeros(len(buf), dtype=np.uint8)
        restart[nl] = at_end ^ np.concatenate(([0], at_end[:-1]))
        inside ^= np.bitwise_xor.accumulate(restart)
    structural = np.logical_or(opening, closing, out=scan)
    np.greater(structural, inside, out=structural)  # a bracket (1) outside strings (0)
    brackets = np.flatnonzero(structural)
    if not len(brackets):
        return [] if per_line else [(-1, depth)]
    level = np.cumsum(opening[brackets].view(np.int8) * 2 - 1, dtype=np.int32) + depth
    if not per_line:
        over = np.flatnonzero(level > limit)
        if len(over):
            return [(int(np.searchsorted(nl, brackets[over[0]])), int(brackets[over[0]]))]
        return [(-1, int(level[-1]))]
    first = np.concatenate(([0], np.searchsorted(brackets, nl)))  # first bracket of each line
    last = np.concatenate((first[1:], [len(brackets)]))
    lines = np.flatnonzero(first < last)
    base = np.where(first[lines] > 0, level[first[lines] - 1], 0)  # the level before the line
    peak = np.maximum.reduceat(level, first[lines]) - base
    places = []
    for i in np.flatnonzero(peak > limit):
        line, lo = int(lines[i]), int(first[lines[i]])
        at = lo + int(np.argmax(level[lo:last[line]] - base[i] > limit))
        places.append((line, int(brackets[at])))
    return places


def _json_type(value: Any) -> str:
    """JSON's name for the type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else type(value).__name__


def _nesting_reason(line: int, offset: int) -> str:
    return (f"line {line} (byte offset {offset}): JSON nested more than {MAX_NESTING} levels "
            "deep")


def _read_jsonl_lines(path: Path, data: bytes, on_bad_records: OnBadRecords,
                      too_deep: Mapping[int, int] | None = None, *, first_line: int = 1) -> _Raw:
    if too_deep is None:
        too_deep = dict(_too_deep(data, _newlines(data), MAX_NESTING, per_line=True))
    records: list[dict[str, Any]] = []
    lines: list[int | None] = []
    ids: list[int] = []
    problems: list[SkippedRecord] = []
    offset = 0
    position = 0
    for here, raw_line in enumerate(data.split(b"\n"), 1):
        lineno = here + first_line - 1  # as numbered in the whole file
        line_offset = offset
        offset += len(raw_line) + 1
        if here == 1 and raw_line.startswith(_UTF8_BOM):
            raw_line = raw_line[3:]
        if not raw_line.strip():
            continue
        record_id = position
        position += 1
        if here in too_deep:
            problems.append(SkippedRecord(record_id, lineno,
                                          _nesting_reason(lineno, too_deep[here])))
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(SkippedRecord(
                record_id, lineno,
                f"line {lineno} (byte offset {line_offset + exc.start}): not valid UTF-8 "
                f"(byte 0x{raw_line[exc.start]:02x}); re-encode the file as UTF-8"))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(SkippedRecord(
                record_id, lineno,
                f"line {lineno}, column {exc.colno}: malformed JSON ({exc.msg})"))
            continue
        except RecursionError:  # not reached: the pre-scan flags these lines
            problems.append(SkippedRecord(record_id, lineno,
                                          _nesting_reason(lineno, line_offset)))
            continue
        if "\\ud" in text or "\\uD" in text:  # escaped UTF-16 surrogates may be unpaired
            value = _without_lone_surrogates(value)
        if not isinstance(value, dict):
            problems.append(SkippedRecord(
                record_id, lineno,
                f"line {lineno}: a JSON {_json_type(value)}, expected an object (one record "
                "per line)"))
            continue
        records.append(value)
        lines.append(lineno)
        ids.append(record_id)
    if problems and on_bad_records == "fail":
        raise DataLoadError(_problem_message(str(path), problems, "bad line(s)"))
    return _Raw(table=_table_from_records(records), lines=lines, ids=ids, dropped=problems)


def _without_lone_surrogates(value: Any) -> Any:
    """Replace unpaired UTF-16 surrogates (valid JSON escapes, invalid Unicode) with U+FFFD.

    Arrow strings must be valid UTF-8; the replacement character keeps the defect visible to
    the control_characters check.
    """
    if isinstance(value, str):
        if not _has_lone_surrogate(value):
            return value
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_lone_surrogates(v) for k, v in value.items()}
    return value


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _problem_message(where: str, problems: Sequence[SkippedRecord], what: str) -> str:
    shown = "\n".join(f"  {where}: {p.reason}" for p in problems[:MAX_LISTED])
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return (f"{len(problems)} {what} in {where}:\n{shown}{more}\n"
            "Fix them, or pass --on-bad-records skip to audit the rest (skipped records are "
            "counted and listed in the result).")


def _read_json_array(path: Path, on_bad_records: OnBadRecords) -> _Raw:
    data = read_bytes(path)
    _check_text_encoding(path, data[:4])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataLoadError(f"{path}: line {line} (byte offset {exc.start}): not valid UTF-8 "
                            f"(byte 0x{data[exc.start]:02x}); re-encode the file as UTF-8") from None
    if not text.strip():
        raise DataLoadError(f"{path}: the file is empty")
    try:
        value = json.loads(text)  # deep nesting: RecursionError, never a crash
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("{") and exc.msg == "Extra data":
            return _read_jsonl_lines(path, data, on_bad_records)  # JSONL named .json
        raise DataLoadError(f"{path}:{exc.lineno}:{exc.colno}: malformed JSON ({exc.msg})") from None
    except RecursionError:
        value = RecursionError
    # the array and an object around it ({"data": [...]}) are two levels more than a record's
    deep = _too_deep(data, _newlines(data), MAX_NESTING + 2, per_line=False)
    if deep or value is RecursionError:
        where = _nesting_reason(*deep[0]) if deep else "JSON nested too deeply"
        raise DataLoadError(f"{path}: {where}; flatten the data or store deep structures as "
                            "JSON text")
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            value = lists[0]
        else:
            raise DataLoadError(f"{path}: a JSON object; expected an array of records (or JSONL)")
    if not isinstance(value, list):
        raise DataLoadError(f"{path}: a JSON {_json_type(value)}; expected an array of records")
    problems = [SkippedRecord(i, None, f"item {i}: a JSON {_json_type(v)}, expected an object")
                for i, v in enumerate(value) if not isinstance(v, dict)]
    if problems and on_bad_records == "fail":
        raise DataLoadError(_problem_message(str(path), problems, "bad item(s)"))
    ids = [i for i, v in enumerate(value) if isinstance(v, dict)]
    records = [value[i] for i in ids]
    return _Raw(table=_table_from_records(records), ids=ids, dropped=problems)


def _read_csv(path: Path, on_bad_records: OnBadRecords) -> _Raw:
    import pyarrow.csv as pcsv

    delimiter = "\t" if path.name.lower().split(".gz")[0].endswith(".tsv") else ","
    kind = "TSV" if delimiter == "\t" else "CSV"
    if not path.name.lower().endswith(".gz"):  # pyarrow decompresses .gz itself
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        _check_text_encoding(path, head[:4])
        if not head.strip() and len(head) < 1 << 16:
            raise DataLoadError(f"{path}: the file is empty")
    try:
        table = pcsv.read_csv(
            path,
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(strings_can_be_null=False),
        )
        # pyarrow reads a column that is not valid UTF-8 as binary, and does not check the
        # header at all: both are an encoding problem of the file
        if any(pa.types.is_binary(t) or pa.types.is_large_binary(t) for t in table.schema.types):
            raise pa.ArrowInvalid("CSV holds invalid UTF-8")
        table.column_names  # noqa: B018 -- decodes the header names
    except (pa.ArrowException, UnicodeDecodeError) as exc:
        message = str(exc)
        if "Empty CSV file" in message:
            raise DataLoadError(f"{path}: the file is empty") from None
        where = _csv_problem(read_bytes(path), delimiter)
        if where:
            raise DataLoadError(f"{path}: {where}") from None
        if len(message) > 300:
            message = message[:300] + " ..."
        raise DataLoadError(f"{path}: cannot parse as {kind}: {message}") from None
    return _Raw(table=table)


def _csv_problem(data: bytes, delimiter: str) -> str | None:
    """Where a CSV that pyarrow rejected goes wrong: bad UTF-8, or a row whose field count is
    not the header's (read again with Python's csv module; only on this error path)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return (f"line {line} (byte offset {exc.start}): not valid UTF-8 (byte "
                f"0x{data[exc.start]:02x}); re-encode the file as UTF-8")
    limit = csv.field_size_limit()
    csv.field_size_limit((1 << 31) - 1)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return None
        before = reader.line_num
        for row in reader:
            if row and len(row) != len(header):
                return (f"line {before + 1}: {len(row)} field{'s' if len(row) != 1 else ''}, "
                        f"the header has {len(header)} (quote values that hold the delimiter, "
                        "a quote or a line break)")
            before = reader.line_num
    except csv.Error as exc:
        return f"line {reader.line_num}: {exc}"
    finally:
        csv.field_size_limit(limit)
    return None


def _read_parquet(path: Path, on_bad_records: OnBadRecords) -> _Raw:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        table.validate(full=True)  # strings that are not UTF-8 (a damaged file)
        _decode_field_names(table.schema)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DataLoadError(f"{path}: cannot read as Parquet (damaged, truncated or not Parquet): "
                            f"{exc}") from None
    return _Raw(table=table)


def _read_hf_folder(path: Path) -> pa.Table:
    if not any((path / marker).exists()
               for marker in ("dataset_info.json", "state.json", "dataset_dict.json")):
        raise DataLoadError(
            f"{path}: a folder, but not a Hugging Face save_to_disk folder (no state.json or "
            "dataset_dict.json); pass a file instead")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises many types for a damaged folder
        raise DataLoadError(f"{path}: cannot load the Hugging Face dataset: {exc}") from None
    return _table_from_hf(loaded)


def _table_from_hf(obj: Any) -> pa.Table:
    if hasattr(obj, "keys") and hasattr(obj, "values") and not hasattr(obj, "features"):
        tables = []
        for split_name, ds in obj.items():
            table = ds.with_format("arrow")[:]
            if "split" not in table.column_names:
                table = table.append_column("split", pa.array([split_name] * table.num_rows,
                                                              pa.string()))
            tables.append(table)
        if not tables:
            raise DataLoadError("the DatasetDict holds no splits")
        return pa.concat_tables(tables, promote_options="permissive")
    single: pa.Table = obj.with_format("arrow")[:]
    return single


def _table_from_records(records: list[dict[str, Any]]) -> pa.Table:
    """A table from Python records; a field whose values do not share one type becomes JSON text."""
    keys: dict[str, None] = {}
    for record in records:
        for key in record:
            keys.setdefault(key, None)
    columns = {}
    for key in keys:
        values = [r.get(key) for r in records]
        try:
            columns[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            columns[key] = pa.array([v if v is None or isinstance(v, str)
                                     else json.dumps(v, ensure_ascii=False) for v in values],
                                    pa.string())
    return pa.table(columns)


# ---------------------------------------------------------------------------------------------
# schema detection and normalisation
# ---------------------------------------------------------------------------------------------
def _find(columns: Sequence[str], wanted: str) -> str | None:
    if wanted in columns:
        return wanted
    lowered = {c.lower(): c for c in columns}
    return lowered.get(wanted.lower())


def detect_schema(columns: Sequence[str], fields: FieldMapping | None = None) -> SchemaInfo:
    """Which schema the columns fit, and which fields fill prompt/response/label/split/groups."""
    fields = fields or FieldMapping()
    for given in (fields.prompt, fields.response, fields.label, fields.split, *fields.groups):
        if given is not None and given not in columns:
            raise SchemaError(
                f"field {given!r} is not in the data; fields seen: {', '.join(columns) or 'none'}")
    roles: dict[str, Any] = {}
    if fields.prompt or fields.response:
        name = "custom"
        roles = {"prompt": fields.prompt, "response": fields.response}
        detected = False
    else:
        order = [fields.schema] if fields.schema else list(SCHEMAS)
        name = ""
        for candidate in order:
            assert candidate is not None
            required, optional = SCHEMAS[candidate]
            found = [_find(columns, f) for f in required]
            if all(found) or fields.schema:
                missing = [f for f, c in zip(required, found, strict=True) if c is None]
                if missing:
                    raise SchemaError(
                        f"schema {candidate!r} needs field(s) {', '.join(missing)}; fields seen: "
                        f"{', '.join(columns) or 'none'}")
                name = candidate
                roles = dict(zip(required, found, strict=True))
                for opt in optional:
                    if (col := _find(columns, opt)) is not None:
                        roles[opt] = col
                break
        if not name:
            raise SchemaError(
                "the records fit no supported schema. Fields seen: "
                f"{', '.join(columns) or 'none'}. Supported: chat `messages`, ShareGPT "
                "`conversations`, Alpaca `instruction`/`input`/`output`, `prompt`/`completion`, "
                "`prompt`/`response`, `question`/`answer`, `text`/`label`. Map your fields with "
                "--prompt-field/--response-field/--label-field or [fields] in the config (text "
                "and a label: --prompt-field TEXT_COLUMN --label-field LABEL_COLUMN).")
        detected = fields.schema is None
    label = fields.label
    if label is None:
        label = roles.pop("label", None)
        if label is None and name != "custom":
            label = next((c for c in (_find(columns, f) for f in LABEL_CANDIDATES)
                          if c is not None and c not in roles.values()), None)
    else:
        roles.pop("label", None)
    split = fields.split or next((c for c in (_find(columns, f) for f in SPLIT_CANDIDATES)
                                  if c is not None), None)
    out: dict[str, Any] = {k: v for k, v in roles.items() if v is not None}
    if label:
        out["label"] = label
    if split:
        out["split"] = split
    if fields.groups:
        out["groups"] = list(fields.groups)
    return SchemaInfo(name=name, fields=out, detected=detected)


def _normalise(raw: _Raw, *, fields: FieldMapping, on_bad_records: OnBadRecords,
               source: str) -> DatasetView:
    table = raw.table
    n = table.num_rows
    ids = raw.ids if raw.ids is not None else list(range(n))
    lines = raw.lines if raw.lines is not None else [None] * n
    if n == 0 and fields.schema is None and not (fields.prompt or fields.response):
        if raw.dropped:
            raise DataLoadError(_problem_message(source, raw.dropped, "bad record(s), and no good "
                                                 "ones"))
        raise DataLoadError(f"{source}: no records")
    if n == 0 and fields.schema is not None:  # an empty dataset of a declared schema
        required, optional = SCHEMAS[fields.schema]
        for column in (*required, *optional):
            if column not in table.column_names:
                table = table.append_column(column, pa.array([], pa.string()))
    try:
        schema = detect_schema(table.column_names, fields)
    except SchemaError as exc:
        raise SchemaError(f"{source}: {exc}") from None
    builder = _Builder(table, schema)
    columns, misfits = builder.build()
    problems = [SkippedRecord(ids[i], lines[i], _where(lines[i], ids[i]) + reason)
                for i, reason in misfits]
    if problems and on_bad_records == "fail":
        raise SchemaError(_problem_message(source, problems, "record(s) that do not fit schema "
                                           f"{schema.name!r}"))
    keep = None
    if problems:
        bad_ids = {p.id for p in problems}
        keep = np.array([i for i in range(n) if ids[i] not in bad_ids], dtype=np.int64)
    columns["id"] = pa.array(ids, pa.int64())
    columns["line"] = pa.array(lines, pa.int64())
    normalised = pa.table({name: columns[name] for name in _column_order(columns)})
    raw_table = table
    if keep is not None:
        normalised = normalised.take(pa.array(keep))
        raw_table = table.take(pa.array(keep))
    skipped = sorted([*raw.dropped, *problems], key=lambda s: s.id)
    return DatasetView(normalised, raw=raw_table, schema=schema, source=source,
                       skipped=skipped, path=raw.path)


def _where(line: int | None, record_id: int) -> str:
    return f"line {line}: " if line is not None else f"record {record_id}: "


def _column_order(columns: Mapping[str, Any]) -> list[str]:
    fixed = ["id", "line", "prompt", "response", "text", "system", "context", "n_turns", "label",
             "split", "messages"]
    return [c for c in fixed if c in columns] + sorted(c for c in columns if c not in fixed)


class _Builder:
    """Builds the normalised columns of one schema; collects (row, reason) for misfits.

    Plain string fields stay in Arrow (vectorised compute); only nested values (chat turns,
    objects stored as responses) go through Python.
    """

    def __init__(self, table: pa.Table, schema: SchemaInfo) -> None:
        self.table = table
        self.schema = schema
        self.n = table.num_rows
        self.problems: list[tuple[int, str]] = []

    def values(self, column: str) -> list[Any]:
        return self.table.column(column).to_pylist()

    def text_values(self, column: str, *, required: bool) -> pa.ChunkedArray:
        """The field as strings; objects become JSON text; nulls flagged if required."""
        array = self.table.column(column)
        if pa.types.is_string(array.type):
            out = array
        elif pa.types.is_large_string(array.type):
            out = array.cast(pa.string())
        elif pa.types.is_null(array.type):
            out = pa.chunked_array([pa.nulls(self.n, pa.string())])
        elif pa.types.is_nested(array.type):  # structured output stored as an object
            out = pa.chunked_array([pa.array(
                [None if v is None else json.dumps(v, ensure_ascii=False)
                 for v in array.to_pylist()], pa.string())], pa.string())
        else:
            out = array.cast(pa.string())
        if required and out.null_count:
            for i in _true_positions(out.is_null()):
                self.problems.append((i, self._missing(column, i)))
        return out

    def _missing(self, column: str, row: int) -> str:
        others = [name for name, (required, _) in SCHEMAS.items()
                  if name != self.schema.name
                  and all((c := _find(self.table.column_names, f)) is not None
                          and self.table.column(c)[row].is_valid for f in required)]
        if others:
            return (f"field {column!r} is missing; this record looks like schema {others[0]!r} "
                    f"while the file is {self.schema.name!r} (mixed schemas)")
        return f"field {column!r} is missing or null"

    def build(self) -> tuple[dict[str, pa.Array], list[tuple[int, str]]]:
        import pyarrow.compute as pc

        f = self.schema.fields
        cols: dict[str, pa.Array] = {}
        name = self.schema.name
        none = pa.chunked_array([pa.nulls(self.n, pa.string())])
        if name in ("chat", "sharegpt"):
            prompt_list, response_list, system, turns, messages = self._chat(
                f["messages" if name == "chat" else "conversations"])
            prompt = pa.array(prompt_list, pa.string())
            response = pa.array(response_list, pa.string())
            cols["system"] = pa.array(system, pa.string())
            cols["n_turns"] = pa.array(turns, pa.int32())
            cols["messages"] = pa.array(messages, pa.list_(pa.struct(
                [("role", pa.string()), ("content", pa.string())])))
        elif name == "alpaca":
            instruction = self.text_values(f["instruction"], required=True)
            context = self.text_values(f["input"], required=False) if "input" in f else none
            has_context = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(context), ""), False)
            prompt = pc.if_else(has_context,
                                pc.binary_join_element_wise(instruction, context, "\n\n"),
                                instruction)
            response = self.text_values(f["output"], required=True)
            cols["context"] = context
        elif name in ("text", "text_label"):
            prompt = self.text_values(f["text"], required=True)
            response = none
        else:
            keys = {"prompt_completion": ("prompt", "completion"),
                    "prompt_response": ("prompt", "response"),
                    "question_answer": ("question", "answer"),
                    "custom": ("prompt", "response")}[name]
            prompt = self.text_values(f[keys[0]], required=True) if f.get(keys[0]) else none
            response = self.text_values(f[keys[1]], required=True) if f.get(keys[1]) else none
        cols["prompt"] = prompt
        cols["response"] = response
        # prompt + response, or the one that is there, or "". Not null_handling="skip": pyarrow
        # 26 drops the rows where every input is null, and the columns no longer line up
        cols["text"] = pc.coalesce(pc.binary_join_element_wise(prompt, response, "\n\n"),
                                   prompt, response, pa.scalar("", pa.string()))
        if "n_turns" not in cols:
            cols["n_turns"] = pc.add(pc.cast(pc.is_valid(prompt), pa.int32()),
                                     pc.cast(pc.is_valid(response), pa.int32()))
        if "label" in f:
            cols["label"] = self._labels(f["label"])
        if "split" in f:
            cols["split"] = self.text_values(f["split"], required=False)
        for group in f.get("groups", ()):
            cols[GROUP_PREFIX + group] = self.text_values(group, required=False)
        return cols, sorted(self.problems)

    def _labels(self, column: str) -> pa.Array:
        import pyarrow.compute as pc

        array = self.table.column(column)
        if pa.types.is_floating(array.type):  # 1.0 -> "1" (readers may turn int labels to float)
            whole = pc.fill_null(pc.equal(array, pc.floor(array)), True)
            if pc.all(whole).as_py():
                array = array.cast(pa.int64())
        if pa.types.is_integer(array.type) or pa.types.is_boolean(array.type):
            labels = array.cast(pa.string())
        else:
            labels = self.text_values(column, required=False)
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(labels), ""), True)
        for i in _true_positions(blank):
            self.problems.append((i, f"label field {column!r} has no value"))
        return pc.if_else(blank, pa.scalar(None, pa.string()), labels)

    def _chat(self, column: str) -> tuple[list[str | None], list[str | None], list[str | None],
                                          list[int], list[list[dict[str, str]] | None]]:
        prompts: list[str | None] = []
        responses: list[str | None] = []
        systems: list[str | None] = []
        turns_out: list[int] = []
        messages_out: list[list[dict[str, str]] | None] = []
        for i, value in enumerate(self.values(column)):
            turns, problem = _parse_turns(value, column)
            if problem:
                self.problems.append((i, problem))
                prompts.append(None)
                responses.append(None)
                systems.append(None)
                turns_out.append(0)
                messages_out.append(None)
                continue
            user = [t["content"] for t in turns if t["role"] == "user"]
            assistant = [t["content"] for t in turns if t["role"] == "assistant"]
            system = [t["content"] for t in turns if t["role"] == "system"]
            prompts.append("\n\n".join(user))
            responses.append("\n\n".join(assistant))
            systems.append("\n\n".join(system) if system else None)
            turns_out.append(len(turns))
            messages_out.append(turns)
        return prompts, responses, systems, turns_out, messages_out


def _parse_turns(value: Any, column: str) -> tuple[list[dict[str, str]], str | None]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [], f"field {column!r} is text, expected a list of turns"
        except RecursionError:
            return [], f"field {column!r} is JSON text nested too deeply to read"
    if value is None:
        return [], f"field {column!r} is missing or null"
    if not isinstance(value, list):
        return [], f"field {column!r} is a {type(value).__name__}, expected a list of turns"
    turns = []
    for j, turn in enumerate(value):
        if not isinstance(turn, dict):
            return [], f"{column}[{j}] is a {type(turn).__name__}, expected an object"
        role = turn.get("role", turn.get("from"))
        content = turn.get("content", turn.get("value"))
        if role is None:
            return [], f"{column}[{j}] has no 'role' (or 'from')"
        if isinstance(content, list):  # OpenAI-style content parts
            content = "".join(p["text"] for p in content
                              if isinstance(p, dict) and isinstance(p.get("text"), str))
        elif content is not None and not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        role = SHAREGPT_ROLES.get(str(role).lower(), str(role).lower())
        turns.append({"role": role, "content": content or ""})
    return turns, None


def _true_positions(mask: Any) -> list[int]:
    """Row positions where a boolean Arrow array is true."""
    import pyarrow.compute as pc

    return [int(i) for i in pc.indices_nonzero(mask).to_pylist()]
