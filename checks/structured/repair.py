"""Repairs for structured (JSON) responses, for `ft-audit fix`: only what needs no guessing.

- A Python literal (single quotes, True/None) becomes JSON with the same keys in the same
  order, written in the dataset's own JSON style (`infer_json_style`). A literal holding
  something JSON has no form for (a set, bytes, a non-string key) is not repaired.
- A code fence or text around the JSON is stripped: the JSON text itself is kept exactly as
  written (not re-serialised).
- A response with no parseable JSON object or array (truncated, broken) cannot be repaired.
- A field that is default-filled (one constant where the request never asks for it) can be
  removed from one response (`remove_field`).

Pure functions over strings and parsed values; `ft-audit fix` decides which records they apply
to from the `structured_output` findings.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from checks.shared.text import normalize
from checks.structured._json_shapes import (
    _DECODER,
    _FENCE,
    _OPEN_FENCE,
    EMPTY_KIND,
    JSON_KIND,
    PYTHON_KIND,
    number_key,
    numeric_string_key,
    parse_response,
)

RepairStatus = Literal["unchanged", "repaired", "unparseable", "empty"]
#: what a repair did, in the order it may happen
FIXES = ("python_literal", "code_fence", "leading_text", "trailing_text")
#: bare JSON responses looked at to infer the dataset's JSON style
STYLE_SAMPLE = 200


@dataclass(frozen=True)
class JsonStyle:
    """How a dataset writes its JSON: `json.dumps` options."""

    indent: int | None = None
    separators: tuple[str, str] = (", ", ": ")
    ensure_ascii: bool = False

    def dumps(self, value: Any) -> str:
        return json.dumps(value, indent=self.indent, separators=self.separators,
                          ensure_ascii=self.ensure_ascii, allow_nan=False)


#: the styles `infer_json_style` recognises, the most common first
CANDIDATE_STYLES = tuple(
    JsonStyle(indent=indent, separators=separators, ensure_ascii=ascii_only)
    for ascii_only in (False, True)
    for indent, separators in ((None, (", ", ": ")), (None, (",", ":")), (2, (",", ": ")),
                               (4, (",", ": ")), (1, (",", ": ")), (3, (",", ": ")),
                               (2, (", ", ": ")), (4, (", ", ": "))))


def infer_json_style(texts: Iterable[str], *, sample: int = STYLE_SAMPLE) -> JsonStyle:
    """The JSON style most of the bare JSON responses in `texts` are written in exactly (the
    first `sample` that parse); `JsonStyle()` when none matches a known style."""
    votes: Counter[JsonStyle] = Counter()
    seen = 0
    for text in texts:
        stripped = text.strip()
        if not stripped or stripped[0] not in "{[":
            continue
        try:
            value = json.loads(stripped)
        except (ValueError, RecursionError):
            continue
        if not isinstance(value, (dict, list)):
            continue
        seen += 1
        for style in CANDIDATE_STYLES:
            try:
                if style.dumps(value) == stripped:
                    votes[style] += 1
                    break
            except ValueError:
                break
        if seen >= sample:
            break
    if not votes:
        return JsonStyle()
    return max(votes, key=lambda s: (votes[s], -CANDIDATE_STYLES.index(s)))


@dataclass(frozen=True)
class ResponseRepair:
    """The outcome of `repair_response`: the new text (the old one unless repaired), and
    what was fixed (`FIXES`); for an unparseable response, why."""

    status: RepairStatus
    text: str
    fixes: tuple[str, ...] = ()
    reason: str = ""


def repair_response(text: str, style: JsonStyle | None = None) -> ResponseRepair:
    """`text` as bare JSON when that needs no guessing (see the module docstring).

    Bare JSON is "unchanged"; a fenced or wrapped JSON value, or a Python literal, is
    "repaired"; a blank response is "empty"; anything else is "unparseable".
    """
    parsed = parse_response(text)
    if parsed.kind == EMPTY_KIND:
        return ResponseRepair("empty", text)
    if parsed.kind not in (JSON_KIND, PYTHON_KIND):
        why = "a JSON scalar, not an object or array" if parsed.kind == "scalar" else \
            (parsed.error or "no JSON object or array")
        return ResponseRepair("unparseable", text, reason=why)
    fixes = []
    if parsed.kind == PYTHON_KIND:
        fixes.append("python_literal")
    if parsed.fenced:
        fixes.append("code_fence")
    if parsed.leading:
        fixes.append("leading_text")
    if parsed.trailing:
        fixes.append("trailing_text")
    if not fixes:
        return ResponseRepair("unchanged", text)
    if parsed.kind == PYTHON_KIND:
        problem = json_problem(parsed.value)
        if problem:
            return ResponseRepair("unparseable", text,
                                  reason=f"a Python literal JSON cannot hold: {problem}")
        return ResponseRepair("repaired", (style or JsonStyle()).dumps(_as_json(parsed.value)),
                              tuple(fixes))
    exact = json_text(text)
    if exact is None:  # parse_response found it, so this does not happen; never guess
        return ResponseRepair("unparseable", text, reason="the JSON could not be located")
    return ResponseRepair("repaired", exact, tuple(fixes))


def json_text(text: str) -> str | None:
    """The exact text of the JSON object or array `parse_response` finds in `text` (inside a
    code fence, after or before other text), or None."""
    body = text.strip()
    if "```" in body:
        match = _FENCE.search(body)
        if match:
            body = match.group(1).strip()
        else:
            opening = _OPEN_FENCE.search(body)
            if opening is None:
                return None
            body = body[opening.end():].strip()
    starts = sorted(p for p in (body.find("{"), body.find("[")) if p >= 0)
    for start in starts:
        try:
            value, end = _DECODER.raw_decode(body, start)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, (dict, list)):
            return body[start:end]
    return None


def json_problem(value: Any, path: str = "$") -> str:
    """Why a parsed Python literal has no JSON form ('' when it has one)."""
    if value is None or isinstance(value, (str, bool, int)):
        return ""
    if isinstance(value, float):
        return "" if value == value and value not in (float("inf"), float("-inf")) else \
            f"{path} is {value!r}"
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problem = json_problem(item, f"{path}[{i}]")
            if problem:
                return problem
        return ""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has the non-string key {key!r}"
            problem = json_problem(item, f"{path}.{key}")
            if problem:
                return problem
        return ""
    return f"{path} is a {type(value).__name__}"


def _as_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_as_json(v) for v in value]
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    return value


def constant_key(value: Any) -> str | None:
    """The form in which `structured_output` compares unrequested values: numbers (and numeric
    strings) by value, booleans as true/false, other strings normalised; None otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_key(value)
    if isinstance(value, str):
        text = value.strip()
        number = numeric_string_key(text)
        return number if number is not None else normalize(text)
    return None


def remove_field(value: Any, path: str, constant: Any) -> int:
    """Remove the field at `path` (a `structured_output` field path: "priority",
    "event.all_day", "items[].unit", "[].flag") from `value` wherever it holds `constant`
    (compared by `constant_key`). Edits `value` in place; returns how many were removed."""
    wanted = constant_key(constant)
    if wanted is None:
        return 0
    return _remove(value, path, wanted)


def _remove(value: Any, path: str, wanted: str) -> int:
    if isinstance(value, list):
        if not path.startswith("[]"):
            return 0
        rest = path[2:]
        rest = rest[1:] if rest.startswith(".") else rest
        return sum(_remove(item, rest, wanted) for item in value if isinstance(item, dict))
    if not isinstance(value, dict) or not path:
        return 0
    removed = 0
    for key in list(value):
        name = str(key)
        if path == name:
            if not isinstance(value[key], (dict, list)) and constant_key(value[key]) == wanted:
                del value[key]
                removed += 1
        elif path.startswith(name + "."):
            removed += _remove(value[key], path[len(name) + 1:], wanted)
        elif path.startswith(name + "[]"):
            removed += _remove(value[key], path[len(name):], wanted)
    return removed


def remove_field_from_text(text: str, path: str, constant: Any,
                           style: JsonStyle | None = None) -> tuple[str, int]:
    """`remove_field` on a JSON response held as text: the new text in `style` (unchanged
    when nothing was removed or the text is not bare JSON) and how many were removed."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):
        return text, 0
    removed = remove_field(value, path, constant)
    if not removed:
        return text, 0
    return (style or JsonStyle()).dumps(value), removed
