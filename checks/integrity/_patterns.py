"""Shared pattern-matching core for the instruction-data defect checks.

A lexicon (a documented TOML file under `checks/lexicons/`) lists named regular expressions,
each tied to a field (prompt, response or context) and a kind (the finding code it feeds).
Matching is two-stage so that it stays fast on large datasets:

1. all of a field's patterns are joined into one alternation and run vectorised over the Arrow
   column with `pyarrow.compute.match_substring_regex` (RE2, one pass; a pattern may give a
   cheaper `prefilter` regex for this pass when its own would slow RE2 down);
2. on the rows that matched, each pattern's first-pass regex runs again (RE2, those rows
   only), and only the (row, pattern) pairs that matched are handed to Python's `re` to find
   out where the pattern matched (the evidence a reviewer needs). `unless_prompt` regexes are
   run the same way: RE2 over those rows' prompts, then `re` to confirm.

Lexicon regexes must therefore be valid in both RE2 and Python `re`: no look-arounds, no
back-references; use scoped flags like `(?m:^...)` or `(?s:...)` where needed. Matching is
case-insensitive. `tests/checks/test_instruction_patterns.py` compiles every lexicon entry
with both engines.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.dataset import DatasetView
from audit.result import JSON, Finding, Severity

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
Field = Literal["prompt", "response", "context"]
FIELDS: tuple[Field, ...] = ("prompt", "response", "context")

#: examples kept per finding, and characters kept around each matched snippet
MAX_EXAMPLES = 5
SNIPPET_CHARS = 80
MAX_MATCHED = 200


@dataclass(frozen=True)
class Pattern:
    """One named regular expression from a lexicon."""

    name: str
    kind: str
    field: Field
    regex: str
    weight: float = 1.0
    #: skip the hit when the record's prompt matches this regex (e.g. "write a dialogue")
    unless_prompt: str = ""  # a regex (lexicons may name one from their [define] table)
    #: `unless_prompt` as its separate regexes when the lexicon gave a list (each is run once
    #: per record, however many patterns name it); () = use `unless_prompt`
    unless_parts: tuple[str, ...] = ()
    note: str = ""
    #: a cheaper regex matching a superset of `regex`, used in the vectorised pass instead of
    #: it (for patterns whose counted repetitions make RE2 slow); "" = use `regex`
    prefilter: str = ""

    @property
    def first_pass(self) -> str:
        return self.prefilter or self.regex

    @property
    def compiled(self) -> re.Pattern[str]:
        return _compile(self.regex)


@dataclass(frozen=True)
class Hit:
    """A pattern matched in the text of the record at `position` (row index, not id)."""

    position: int
    pattern: Pattern
    start: int
    end: int
    length: int  # length of the whole text the pattern matched in
    snippet: str  # the match with some context, one line (for reports)
    matched: str  # the matched text itself (at most MAX_MATCHED characters)
    quoted: bool = False  # inside a code block, inline code or a quoted string


@cache
def _compile(regex: str) -> re.Pattern[str]:
    return re.compile(regex, re.IGNORECASE)


@cache
def load_lexicon(filename: str) -> tuple[Pattern, ...]:
    """The patterns of `checks/lexicons/<filename>` (TOML with a `[[pattern]]` array)."""
    path = LEXICON_DIR / filename
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    defines = document.get("define", {})
    patterns = tuple(_pattern_from_entry(entry, defines, path)
                     for entry in document.get("pattern", []))
    names = [p.name for p in patterns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{path}: duplicate pattern names {duplicates}")
    return patterns


def _pattern_from_entry(entry: Mapping[str, object], defines: Mapping[str, str],
                        path: Path) -> Pattern:
    field = str(entry.get("field", "response"))
    if field not in FIELDS:
        raise ValueError(f"{path}: pattern {entry.get('name')!r} has field {field!r}; "
                         f"use one of {', '.join(FIELDS)}")
    weight = entry.get("weight", 1.0)
    if not isinstance(weight, (int, float)):
        raise ValueError(f"{path}: pattern {entry.get('name')!r} has a non-numeric weight")
    unless = entry.get("unless_prompt", "")
    parts = tuple(_resolve(item, defines) for item in unless) if isinstance(unless, list) else ()
    return Pattern(name=str(entry["name"]), kind=str(entry["kind"]), field=field,  # type: ignore[arg-type]
                   regex=str(entry["regex"]), weight=float(weight),
                   unless_prompt=_resolve(unless, defines), unless_parts=parts,
                   note=str(entry.get("note", "")), prefilter=str(entry.get("prefilter", "")))


def _resolve(value: object, defines: Mapping[str, str]) -> str:
    """`unless_prompt`: a regex, a name from the lexicon's `[define]` table, or a list of
    either (any of them suppresses the hit)."""
    if isinstance(value, list):
        return "|".join(f"(?:{_resolve(item, defines)})" for item in value)
    return str(defines.get(str(value), value))


def combined_regex(patterns: Iterable[Pattern]) -> str:
    """One alternation of the patterns' first-pass regexes (for the vectorised first pass)."""
    return "|".join(f"(?:{p.first_pass})" for p in patterns)


def match_mask(column: pa.ChunkedArray | pa.Array, regex: str) -> np.ndarray:
    """Boolean numpy mask: rows of a string column where `regex` matches (nulls: False)."""
    if len(column) == 0:
        return np.zeros(0, dtype=bool)
    matched = pc.fill_null(pc.match_substring_regex(column, regex, ignore_case=True), False)
    return np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)


def field_column(data: DatasetView, field: Field) -> pa.ChunkedArray | None:
    """The normalised column for `field`, or None when the dataset has no such values."""
    if field not in data.table.column_names:
        return None
    column = data.column(field)
    if column.null_count == len(column) and len(column):
        return None
    return column


def find_hits(data: DatasetView, patterns: Sequence[Pattern]) -> list[Hit]:
    """Every (record, pattern) match, earliest match per pattern, ordered by position.

    `unless_prompt` suppressions are applied here, so checks see only the hits that count.
    """
    hits: list[Hit] = []
    for field in FIELDS:
        field_patterns = [p for p in patterns if p.field == field]
        column = field_column(data, field) if field_patterns else None
        if column is None:
            continue
        positions = np.flatnonzero(match_mask(column, combined_regex(field_patterns)))
        if positions.size == 0:
            continue
        subset = column.take(pa.array(positions))
        texts = subset.to_pylist()
        # each pattern's first pass again, on the matched rows only: Python's re then runs
        # just where that pattern may match
        may_match = ([match_mask(subset, p.first_pass) for p in field_patterns]
                     if len(field_patterns) > 1 else [np.ones(positions.size, dtype=bool)])
        unless = (_Unless(_prompts_at(data, positions))
                  if any(p.unless_prompt for p in field_patterns) else None)
        for row, (position, text) in enumerate(zip(positions.tolist(), texts, strict=True)):
            for pattern, candidates in zip(field_patterns, may_match, strict=True):
                if not candidates[row]:
                    continue
                match = pattern.compiled.search(text or "")
                if match is None:
                    continue
                if unless is not None and pattern.unless_prompt and unless.applies(pattern, row):
                    continue
                hits.append(Hit(position=position, pattern=pattern, start=match.start(),
                                end=match.end(), length=len(text), snippet=snippet(text, match),
                                matched=match.group(0)[:MAX_MATCHED],
                                quoted=is_quoted(text, match.start())))
    hits.sort(key=lambda h: (h.position, h.start, h.pattern.name))
    return hits


class _Unless:
    """The `unless_prompt` regexes over the prompts of the matched rows: each regex runs once
    through RE2 over all of them (on first use), and Python's re confirms a row RE2 matched."""

    def __init__(self, prompts: list[str]) -> None:
        self.prompts = prompts
        self.column = pa.array(prompts, pa.string())
        self.may_match: dict[str, np.ndarray] = {}
        self.matched: dict[tuple[str, int], bool] = {}

    def applies(self, pattern: Pattern, row: int) -> bool:
        for regex in pattern.unless_parts or (pattern.unless_prompt,):
            if regex not in self.may_match:
                self.may_match[regex] = match_mask(self.column, regex)
            if not self.may_match[regex][row]:
                continue
            if (regex, row) not in self.matched:
                self.matched[(regex, row)] = _compile(regex).search(self.prompts[row]) is not None
            if self.matched[(regex, row)]:
                return True
        return False


_OPEN_SINGLE_QUOTE = re.compile(r"[=(\[,:]\s*'[^'\n]*$")
_QUOTE_PAIRS = (("`", "`"), ('"', '"'), ("“", "”"))


def _inside_pair(prefix: str, suffix: str, opening: str, closing: str) -> bool:
    """An opening mark in `prefix` is still open and `suffix` closes it."""
    if opening == closing:
        still_open = prefix.count(opening) % 2 == 1
    else:
        still_open = prefix.count(opening) > prefix.count(closing)
    return still_open and closing in suffix


def is_quoted(text: str, start: int) -> bool:
    """Whether offset `start` lies inside a fenced code block, inline code or a quoted string.

    A phrase inside code or quotation ("print('I am an AI')", 'He said "I cannot help"') is
    content, not the response speaking. Heuristic: odd counts of ``` before the offset, of `
    or double quotes earlier on the same line (with one later on it), or a single-quoted
    literal opened after = ( [ , or : on the same line.
    """
    before = text[:start]
    if before.count("```") % 2:
        return True
    line_start = before.rfind("\n") + 1
    line_end = text.find("\n", start)
    prefix = before[line_start:]
    suffix = text[start:] if line_end < 0 else text[start:line_end]
    if any(_inside_pair(prefix, suffix, opening, closing) for opening, closing in _QUOTE_PAIRS):
        return True
    return bool(_OPEN_SINGLE_QUOTE.search(prefix))


def _prompts_at(data: DatasetView, positions: np.ndarray) -> list[str]:
    if "prompt" not in data.table.column_names:
        return [""] * positions.size
    return [p or "" for p in data.column("prompt").take(pa.array(positions)).to_pylist()]


def snippet(text: str, match: re.Match[str]) -> str:
    """The matched text with a little context, one line, at most about SNIPPET_CHARS long."""
    pad = max(0, (SNIPPET_CHARS - (match.end() - match.start())) // 2)
    start, end = max(0, match.start() - pad), min(len(text), match.end() + pad)
    body = " ".join(text[start:end].split())
    if len(body) > SNIPPET_CHARS * 2:
        body = body[: SNIPPET_CHARS * 2] + "…"
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def hits_by_pattern(hits: Iterable[Hit]) -> dict[str, list[Hit]]:
    """Hits grouped by pattern name, in lexicon order of first appearance."""
    grouped: dict[str, list[Hit]] = {}
    for hit in hits:
        grouped.setdefault(hit.pattern.name, []).append(hit)
    return grouped


def hits_with_ids(hits: Sequence[Hit], ids: np.ndarray) -> list[Hit]:
    """The hits with `position` set to the record id (a batch's hits, to combine later)."""
    return [replace(h, position=int(ids[h.position])) for h in hits]


def merge_hits(parts: Iterable[Sequence[Hit]]) -> list[Hit]:
    """Hits of consecutive batches (`hits_with_ids`) in the order `find_hits` gives the whole
    data: by field, then by record, then by pattern."""
    merged = [hit for part in parts for hit in part]
    merged.sort(key=lambda h: FIELDS.index(h.pattern.field))  # stable: record order stays
    return merged


def pattern_findings(
    check: str,
    hits: Sequence[Hit],
    ids: np.ndarray | None,
    *,
    severity: Severity,
    metric: str | None,
    value: float | None,
    describe: str,
    code: str | None = None,
) -> list[Finding]:
    """One finding per matched pattern: its records, the regex, and a few matched snippets.

    `describe` is a short phrase such as "responses are placeholders"; the message reads
    "12 responses are placeholders (pattern 'not_applicable')". The finding code is `code`, or
    the pattern's kind. `ids` maps hit positions to record ids; None: positions are ids.
    """
    def record(hit: Hit) -> int:
        return hit.position if ids is None else int(ids[hit.position])

    findings = []
    for name, group in hits_by_pattern(hits).items():
        pattern = group[0].pattern
        record_ids = tuple(dict.fromkeys(record(h) for h in group))
        examples: list[JSON] = [{"record": record(h), "match": h.snippet}
                                for h in group[:MAX_EXAMPLES]]
        findings.append(Finding(
            check=check, code=code or pattern.kind, severity=severity,
            message=f"{len(record_ids)} {describe} (pattern {name!r})",
            metric=metric, value=value, records=record_ids, n_records=len(record_ids),
            details={"pattern": name, "kind": pattern.kind, "field": pattern.field,
                     "regex": pattern.regex,
                     "note": pattern.note, "examples": examples}))
    findings.sort(key=lambda f: (-f.n_records, f.details["pattern"]))
    return findings


def flagged_positions(hits: Iterable[Hit]) -> np.ndarray:
    """Sorted unique row positions that have at least one hit."""
    return np.unique(np.fromiter((h.position for h in hits), dtype=np.int64))


def pattern_counts(hits: Iterable[Hit]) -> dict[str, int]:
    """Records per pattern name (a record counts once per pattern), sorted by name."""
    seen = {(h.pattern.name, h.position) for h in hits}
    counts: dict[str, int] = {}
    for name, _ in seen:
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))
