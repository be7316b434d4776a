"""Pure helpers for structured (JSON) responses: parse one response, walk its fields, compare keys.

Used by `checks/structured_output.py`; free of I/O and heavy imports, tested directly.
Untrusted text is only ever parsed (`json`, `ast.literal_eval`), never evaluated.
"""

from __future__ import annotations

import ast
import difflib
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: parse kinds of one response
JSON_KIND = "json"  # valid JSON object or array (possibly fenced or wrapped in text)
PYTHON_KIND = "python"  # a Python literal dict/list (single quotes, True/None), not JSON
SCALAR_KIND = "scalar"  # valid JSON, but a bare string/number/bool, not an object or array
INVALID_KIND = "invalid"  # no parseable object or array
EMPTY_KIND = "empty"  # blank response (reported by the empty_responses check)

_DECODER = json.JSONDecoder()
_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_+.-]*[ \t]*\r?\n?(.*?)```", re.S)
_OPEN_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_+.-]*[ \t]*\r?\n?")
_PY_MARKERS = re.compile(r"'|\bTrue\b|\bFalse\b|\bNone\b")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
#: longest text handed to ast.literal_eval (its parser is slow and deep-recursive on huge input)
MAX_LITERAL_CHARS = 200_000


@dataclass(frozen=True, slots=True)
class Parsed:
    """How one response parsed: the value, its kind, and the text around it."""

    kind: str
    value: Any = None
    fenced: bool = False
    leading: str = ""  # text before the JSON (outside any fence), stripped
    trailing: str = ""  # text after the JSON (outside any fence), stripped
    error: str = ""  # for invalid: "truncated", "syntax" or "no_json"

    @property
    def structured(self) -> bool:
        return self.kind in (JSON_KIND, PYTHON_KIND)


def parse_response(text: str) -> Parsed:
    """Find the JSON object/array in a response and classify how it is packaged.

    Bare JSON takes the fast path (one `json.loads`). Otherwise a ```code fence``` is unwrapped,
    the first `{` or `[` is decoded with `JSONDecoder.raw_decode` (so text after the value is
    found, not fatal), and, failing JSON, the bracketed span is tried as a Python literal.
    """
    s = text.strip()
    if not s:
        return Parsed(EMPTY_KIND)
    if s[0] in "{[":
        try:
            value = json.loads(s)
        except (ValueError, RecursionError):
            pass
        else:
            return Parsed(JSON_KIND, value)
    fenced = False
    lead = trail = ""
    body = s
    if "```" in s:
        fenced = True
        match = _FENCE.search(s)
        if match:
            lead, trail = s[:match.start()].strip(), s[match.end():].strip()
            body = match.group(1).strip()
        else:  # an opening fence that never closes (often a truncated answer)
            opening = _OPEN_FENCE.search(s)
            assert opening is not None
            lead, body = s[:opening.start()].strip(), s[opening.end():].strip()
    starts = sorted(p for p in (body.find("{"), body.find("[")) if p >= 0)
    if not starts:
        return _scalar_or_invalid(body, fenced, lead, trail)
    first_error: json.JSONDecodeError | None = None
    for k, start in enumerate(starts):
        if k and not _closed_before(body, starts[0], start):
            break  # the later bracket lies inside the failed value (e.g. a truncated object)
        try:
            value, end = _DECODER.raw_decode(body, start)
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
            continue
        except RecursionError:  # absurdly deep nesting: not usable structured output
            return Parsed(INVALID_KIND, None, fenced, lead, trail, "syntax")
        if isinstance(value, (dict, list)):
            return Parsed(JSON_KIND, value, fenced, _join(lead, body[:start]),
                          _join(body[end:], trail))
    literal = _python_literal(body, starts[0])
    if literal is not None:
        value, end = literal
        return Parsed(PYTHON_KIND, value, fenced, _join(lead, body[:starts[0]]),
                      _join(body[end:], trail))
    error = "syntax"
    if first_error is not None and (first_error.msg.startswith("Unterminated string")
                                    or first_error.pos >= len(body)):
        error = "truncated"
    return Parsed(INVALID_KIND, None, fenced, lead, trail, error)


def _closed_before(body: str, start: int, later: int) -> bool:
    """True when the bracket opened at `start` is closed again before position `later`."""
    opener = body[start]
    closer = "}" if opener == "{" else "]"
    return body.count(closer, start, later) >= body.count(opener, start, later)


def _scalar_or_invalid(body: str, fenced: bool, lead: str, trail: str) -> Parsed:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return Parsed(INVALID_KIND, None, fenced, lead, trail, "no_json")
    return Parsed(SCALAR_KIND, None, fenced, lead, trail)


def _python_literal(body: str, start: int) -> tuple[Any, int] | None:
    """(value, end) when body[start:] up to its last closing bracket is a Python dict/list."""
    closer = "}" if body[start] == "{" else "]"
    end = body.rfind(closer) + 1
    candidate = body[start:end]
    if end <= start or len(candidate) > MAX_LITERAL_CHARS or not _PY_MARKERS.search(candidate):
        return None
    try:
        value = ast.literal_eval(candidate)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return (value, end) if isinstance(value, (dict, list)) else None


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


# -- fields -----------------------------------------------------------------------------------

def type_name(value: Any) -> str:
    """JSON type of a value: string, number, boolean, null, list or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def walk_fields(value: Any, max_depth: int) -> tuple[list[str], list[Any]]:
    """Paths and values of every key of every object, nested up to `max_depth` levels.

    Paths are dotted ("contact.email"); objects inside lists use "[]" ("jobs[].company"), so a
    path can occur several times in one record (once per list item). A root list of objects
    gives paths like "[].name". Returned as two aligned lists (cheap to build and to set()).
    """
    paths: list[str] = []
    values: list[Any] = []
    _walk(value, "", 1, max_depth, paths, values)
    return paths, values


def _walk(value: Any, prefix: str, depth: int, max_depth: int, paths: list[str],
          values: list[Any]) -> None:
    if isinstance(value, dict):
        deeper = depth < max_depth
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.append(path)
            values.append(child)
            if deeper and isinstance(child, (dict, list)):
                _walk(child, path, depth + 1, max_depth, paths, values)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                _walk(item, prefix + "[]", depth, max_depth, paths, values)


def parent_path(path: str) -> str:
    """"a.b.c" -> "a.b"; "jobs[].company" -> "jobs"; "name" -> ""."""
    dot = path.rfind(".")
    if dot < 0:
        return path[:-2] if path.endswith("[]") else ""
    parent = path[:dot]
    return parent[:-2] if parent.endswith("[]") else parent


def leaf_name(path: str) -> str:
    return path[path.rfind(".") + 1:]


def is_empty(value: Any, markers: frozenset[str]) -> bool:
    """None, "", [], {} or a stand-in string such as "N/A" (case-insensitive, `markers`)."""
    if value is None:
        return True
    if isinstance(value, str):
        stripped = value.strip()
        return not stripped or stripped.casefold() in markers
    if isinstance(value, (list, dict, tuple)):
        return not value
    return False


# -- key sets ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KeyDeviation:
    """How one record's key set differs from the majority key set."""

    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()  # (expected path, path used instead)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.renamed)


def compare_keys(keys: frozenset[str], majority: frozenset[str], *,
                 rename_similarity: float) -> KeyDeviation:
    """Missing, extra and renamed keys of one record against the majority key set.

    Only the top-most difference is reported (a missing object does not also list its keys),
    and keys under an object or list that is present but empty/null are not "missing" (that is
    an empty value, measured separately). A missing key and an extra key with the same parent
    whose names match after normalisation ("e-mail"/"email", "yearsExperience"/
    "years_experience") or by edit-distance similarity are reported as one rename.
    """
    missing = majority - keys
    extra = keys - majority
    if not missing and not extra:
        return KeyDeviation()
    parents_with_children = {parent_path(k) for k in keys}
    missing_top = sorted(
        k for k in missing
        if parent_path(k) not in missing
        and (not parent_path(k) or parent_path(k) in parents_with_children))
    extra_top = sorted(k for k in extra if parent_path(k) not in extra)
    renamed: list[tuple[str, str]] = []
    unmatched_extra = list(extra_top)
    for expected in list(missing_top):
        match = _best_rename(expected, unmatched_extra, rename_similarity)
        if match is not None:
            renamed.append((expected, match))
            missing_top.remove(expected)
            unmatched_extra.remove(match)
    return KeyDeviation(tuple(missing_top), tuple(unmatched_extra), tuple(renamed))


def normalized_key(name: str) -> str:
    """Key name without case, separators or punctuation: "e-mail", "E_Mail" -> "email"."""
    return _NON_ALNUM.sub("", name.casefold())


@functools.lru_cache(maxsize=65_536)  # the same key pairs recur across many key sets
def key_similarity(a: str, b: str) -> float:
    """1.0 for names equal after normalisation, else difflib's ratio of the normalised names."""
    na, nb = normalized_key(a), normalized_key(b)
    if na == nb:
        return 1.0
    return difflib.SequenceMatcher(None, na, nb).ratio()


def _best_rename(expected: str, candidates: Iterable[str], cutoff: float) -> str | None:
    parent = parent_path(expected)
    best, best_score = None, cutoff
    for candidate in candidates:
        if parent_path(candidate) != parent:
            continue
        score = key_similarity(leaf_name(expected), leaf_name(candidate))
        if score >= best_score:
            best, best_score = candidate, score
    return best
