"""Text hygiene: characters a tokenizer should never see in training text.

Each kind is one regular expression run over whole Arrow columns (pyarrow's RE2, vectorised);
a cheap combined prefilter picks the few records worth a closer look, and kinds that need more
than a pattern (mojibake, stray escapes) confirm their candidates in Python.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from audit.check import Check, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.shared.scan import alternation, regex_mask

#: characters cp1252 gives to the bytes 0x80-0xBF (UTF-8 continuation bytes); latin-1 for the
#: five bytes cp1252 leaves undefined
_CONTINUATION_CHARS = "".join(
    bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(0x80, 0xC0))
#: characters a UTF-8 lead byte (0xC2-0xF4) becomes when read as cp1252/latin-1
_LEAD_CHARS = "".join(chr(b) for b in range(0xC2, 0xF5))
_VALID_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_CP1252_RUN = re.compile(f"[{_LEAD_CHARS}][{_CONTINUATION_CHARS}{_LEAD_CHARS}]+")
#: code spans and one-line quoted strings, where escape sequences are legitimate
_CODE_AND_QUOTES = re.compile(
    r"```.*?(?:```|$)|`[^`\n]*`|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", re.DOTALL)
#: a snippet shows this many characters either side of the first hit
SNIPPET_CONTEXT = 24
MAX_EXAMPLES = 3


def is_mojibake(text: str) -> bool:
    """True when `text` holds UTF-8 bytes that were decoded as cp1252/latin-1 ("Ã©", "â€™").

    The test is principled, not a list of bad pairs: a run of cp1252-encodable characters that,
    encoded back to cp1252 (latin-1 for the bytes cp1252 lacks), contains a valid UTF-8
    multi-byte sequence. Legitimate accented text ("ñé", "Äß", "ção") never does.
    """
    for match in _CP1252_RUN.finditer(text):
        run = match.group()
        encoded = bytes(_cp1252_byte(ch) for ch in run)
        if _VALID_UTF8_MULTIBYTE.search(encoded):
            return True
    return False


def _cp1252_byte(ch: str) -> int:
    try:
        return ch.encode("cp1252")[0]
    except UnicodeEncodeError:
        return ord(ch) if ord(ch) < 256 else 0x3F


def has_stray_escape(text: str) -> bool:
    """Literal escape sequences outside code spans and quoted strings, where code and string
    literals legitimately write "\\n"."""
    return bool(_ESCAPE.search(_CODE_AND_QUOTES.sub(" ", text)))


@dataclass(frozen=True)
class Kind:
    """One kind of defect: an RE2/Python regex, and an optional Python confirmation."""

    name: str
    pattern: str
    what: str
    confirm: Callable[[str], bool] | None = None


_ESCAPE_PATTERN = r"\\[nr]\\[nrt]|\\n *[A-Z#*•-]|\\u[0-9a-fA-F]{4}|\\x1b\["
_ESCAPE = re.compile(_ESCAPE_PATTERN)

KINDS: tuple[Kind, ...] = (
    Kind("control", "[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]",
         "control characters (other than tab, newline, carriage return)"),
    Kind("ansi_escape", "\x1b", "terminal escape sequences (ESC, e.g. ANSI colour codes)"),
    Kind("escape_sequence", _ESCAPE_PATTERN,
         "stray escape sequences written out as text (\\n, \\u00e9) outside code",
         has_stray_escape),
    Kind("mojibake", f"[{_LEAD_CHARS}][{_CONTINUATION_CHARS}]",
         "mojibake: UTF-8 read as cp1252/latin-1 (e.g. 'Ã©', 'â€™')", is_mojibake),
    Kind("invalid_unicode", "[\ufffd\ufffe\uffff]",
         "replacement characters U+FFFD or non-characters: bytes that failed to decode "
         "(invalid UTF-8, lone surrogates)"),
    Kind("zero_width", "[\u200b\u2060\ufeff\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]",
         "invisible characters: zero-width space, word joiner, BOM, soft hyphen, "
         "bidirectional controls"),
)
KIND_NAMES = tuple(k.name for k in KINDS)
_PREFILTER = alternation([k.pattern for k in KINDS])


def scan_column(column: pa.ChunkedArray, kinds: Sequence[Kind] = KINDS) -> dict[str, np.ndarray]:
    """Per kind, the positions of the records in `column` that show it (sorted)."""
    candidates = np.flatnonzero(regex_mask(column, _PREFILTER))
    out = {k.name: np.zeros(0, dtype=np.int64) for k in kinds}
    if not len(candidates):
        return out
    subset = column.take(pa.array(candidates))
    texts: list[str] | None = None
    for kind in kinds:
        hit = candidates[regex_mask(subset, kind.pattern)]
        if kind.confirm is not None and len(hit):
            if texts is None:
                texts = subset.to_pylist()
            lookup = dict(zip(candidates.tolist(), texts, strict=True))
            hit = np.asarray([p for p in hit.tolist() if kind.confirm(lookup[p] or "")],
                             dtype=np.int64)
        out[kind.name] = hit
    return out


def snippet(text: str, pattern: str) -> str:
    """An excerpt around the first match, invisible characters escaped so they show."""
    match = re.search(pattern, text)
    start = 0 if match is None else max(0, match.start() - SNIPPET_CONTEXT)
    end = len(text) if match is None else match.end() + SNIPPET_CONTEXT
    return visible(text[start:end])


_SHOWN = {"\n": "⏎", "\t": "⇥", "\r": "␍"}
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn"))


def visible(text: str) -> str:
    """`text` with control, format and unassigned characters written as escapes (\\u200b);
    line breaks and tabs as ⏎ ⇥ ␍ so that they differ from a literal backslash-n."""
    return "".join(_SHOWN.get(ch) or (ch.encode("unicode_escape").decode("ascii")
                                      if unicodedata.category(ch) in _INVISIBLE else ch)
                   for ch in text)


@register
class ControlCharacters(Check):
    """Control characters, stray escape sequences, mojibake, broken and invisible characters.

    These come from scraping, double encoding and bad JSON handling. A fine-tune copies them:
    the model learns to emit "Ã©" for "é", literal "\\n" instead of line breaks, or invisible
    zero-width characters that break string matching downstream. Mojibake is found by a
    principled test (text that re-encoded as cp1252 holds valid UTF-8 sequences), and escape
    sequences inside code spans are not counted.
    """

    name = "control_characters"
    category = "integrity"
    metrics = ("flagged_fraction", *(f"n_{k}" for k in KIND_NAMES))
    default_thresholds = (Threshold(metric="flagged_fraction", warn=0.0, fail=0.02),)

    @dataclass(frozen=True)
    class Params:
        columns: tuple[str, ...] = param(("prompt", "response", "system"),
                                         doc="normalised text columns to scan (those present)")
        kinds: tuple[str, ...] = param(KIND_NAMES, doc="kinds of defect to look for: "
                                                       + ", ".join(KIND_NAMES))

        def __post_init__(self) -> None:
            from audit.errors import InvalidParameterError

            unknown = sorted(set(self.kinds) - set(KIND_NAMES))
            if unknown:
                raise InvalidParameterError(
                    f"check 'control_characters' parameter 'kinds': unknown kind(s) "
                    f"{', '.join(map(repr, unknown))}; known: {', '.join(KIND_NAMES)}")

    def map(self, batch: DatasetView, ctx: RunContext) -> dict[str, dict[str, Any]]:
        """Per column: per kind the ids of the records it flags and up to MAX_EXAMPLES
        examples (the first records', in order)."""
        kinds = [k for k in KINDS if k.name in self.params.kinds]
        out: dict[str, dict[str, Any]] = {}
        for column in [c for c in self.params.columns if c in batch.table.column_names]:
            found = scan_column(batch.table.column(column), kinds)
            out[column] = {}
            for kind in kinds:
                positions = found[kind.name]
                examples: list[str] = []
                self._add_examples(examples, batch, column, positions, kind)
                out[column][kind.name] = (batch.ids[positions].tolist(), examples)
        return out

    def combine(self, partials: Sequence[dict[str, dict[str, Any]]], n: int,
                ctx: RunContext) -> Measurement:
        kinds = [k for k in KINDS if k.name in self.params.kinds]
        columns = [c for c in self.params.columns if any(c in p for p in partials)]
        flagged: set[int] = set()
        per_kind: dict[str, set[int]] = {k.name: set() for k in kinds}
        per_column: dict[str, dict[str, int]] = {}
        examples: dict[str, list[str]] = {k.name: [] for k in kinds}
        for column in columns:
            counts = {}
            for kind in kinds:
                parts = [p[column][kind.name] for p in partials if column in p]
                ids = [i for part in parts for i in part[0]]
                flagged.update(ids)
                per_kind[kind.name].update(ids)
                if ids:
                    counts[kind.name] = len(ids)
                for _, part_examples in parts:
                    room = MAX_EXAMPLES - len(examples[kind.name])
                    examples[kind.name].extend(part_examples[:max(room, 0)])
            per_column[column] = counts
        findings = []
        for kind in kinds:
            hits = sorted(per_kind[kind.name])
            if not hits:
                continue
            findings.append(Finding(
                check=self.name, code=kind.name, severity=Severity.WARNING,
                message=f"{len(hits)} records contain {kind.what}",
                metric="flagged_fraction", value=len(hits) / n,
                records=tuple(hits), n_records=len(hits),
                details={"examples": examples[kind.name]}))
        metrics = {"flagged_fraction": len(flagged) / n if n else 0.0}
        metrics.update({f"n_{k}": float(len(per_kind.get(k, ()))) if k in per_kind else np.nan
                        for k in KIND_NAMES})
        return Measurement(metrics=metrics, findings=tuple(findings),
                           details={"per_column": per_column})

    @staticmethod
    def _add_examples(out: list[str], data: DatasetView, column: str, positions: np.ndarray,
                      kind: Kind) -> None:
        for position in positions[:MAX_EXAMPLES - len(out)].tolist():
            text = data.table.column(column)[position].as_py() or ""
            out.append(f"record {int(data.ids[position])} {column}: "
                       f"{snippet(text, kind.pattern)}")
