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
import unicodedata
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


def walk_fields_with_parents(value: Any, max_depth: int
                             ) -> tuple[list[str], list[Any], list[dict[Any, Any]]]:
    """`walk_fields`, plus the object each value was found in (aligned with the paths)."""
    paths: list[str] = []
    values: list[Any] = []
    parents: list[dict[Any, Any]] = []
    _walk_with_parents(value, "", 1, max_depth, paths, values, parents)
    return paths, values, parents


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


def _walk_with_parents(value: Any, prefix: str, depth: int, max_depth: int, paths: list[str],
                       values: list[Any], parents: list[dict[Any, Any]]) -> None:
    if isinstance(value, dict):
        deeper = depth < max_depth
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            paths.append(path)
            values.append(child)
            parents.append(value)
            if deeper and isinstance(child, (dict, list)):
                _walk_with_parents(child, path, depth + 1, max_depth, paths, values, parents)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                _walk_with_parents(item, prefix + "[]", depth, max_depth, paths, values, parents)


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


# -- grounding by key, token-bounded values ---------------------------------------------------

#: parts of a key name that say nothing about what the field holds ("is_refundable",
#: "num_guests", "customer_id"): a request need not mention them for the key to be mentioned
KEY_STOPWORDS = frozenset({
    "is", "has", "have", "had", "do", "does", "did", "can", "should", "will", "was", "are",
    "num", "nr", "no", "number", "of", "the", "a", "an", "to", "for", "in", "on", "at", "by",
    "with", "and", "or", "per", "id", "ids", "flag", "value", "val", "count", "cnt",
    "send", "get", "set", "use", "make", "include", "allow", "enable", "want"})
_KEY_SPLIT = re.compile(r"[\W_]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])"
                        r"|(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
#: word endings removed from a key part before matching it against the request, longest first;
#: (ending, minimum length of what is left)
_ENDINGS = (("ations", 4), ("ation", 4), ("ities", 4), ("ments", 4), ("ings", 4), ("ment", 4),
            ("ness", 4), ("able", 4), ("ible", 4), ("ance", 4), ("ence", 4), ("ing", 4),
            ("ity", 4), ("ies", 3), ("ied", 3), ("ers", 4), ("ees", 4), ("ion", 4), ("ive", 4),
            ("ize", 4), ("ise", 4), ("er", 4), ("ed", 4), ("ee", 4), ("ly", 4), ("al", 4),
            ("es", 4), ("y", 4), ("e", 4), ("s", 3))
#: endings allowed after a key part's stem in the request ("guest" -> guests, "remind" ->
#: reminder, "recur" -> recurring, "priorit" -> priority, priorities)
_INFLECTION = (r"(?:s|es|e|ed|d|ing|ings|er|ers|or|ors|ion|ions|ation|ations|ment|ments|ly|y|"
               r"ies|ied|ity|ities|able|ible|al|ive|ness|ance|ence|ee|ees|ize|ise|ized|ised)?")
_VOWELS = frozenset("aeiou")
_RIGHT = r"(?![^\W_])"


def key_parts(name: str) -> tuple[str, ...]:
    """A key name split into lower-case words: "isRefundable" -> ("is", "refundable"),
    "years_experience" -> ("years", "experience"), "room2Type" -> ("room", "2", "type")."""
    return tuple(unicodedata.normalize("NFKC", p).casefold() for p in _KEY_SPLIT.split(name) if p)


def key_terms(name: str) -> tuple[str, ...]:
    """The parts of a key name a request has to mention: stopwords dropped (unless all are)."""
    parts = key_parts(name)
    terms = tuple(p for p in parts if p not in KEY_STOPWORDS and len(p) > 1)
    return terms or parts


def word_stem(word: str) -> str:
    """A crude stem (one ending removed, a doubled final consonant undone): "priority" ->
    "prior", "recurring" -> "recur", "guests" -> "guest", "reminder" -> "remind"."""
    for ending, keep in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= keep:
            word = word[:-len(ending)]
            break
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _VOWELS and word[-1].isalpha():
        word = word[:-1]
    return word


def _bounded(literal: str) -> str:
    """`literal` (escaped) as a whole word: the literal comes first so that the regex engine
    scans for it, and the word boundary on its left is a lookbehind over it."""
    escaped = re.escape(literal)
    left = f"(?<![^\\W_]{escaped})" if literal[:1].isalnum() else ""
    return escaped + left


class KeyMention:
    """Does a (normalised, case-folded) request mention a key? True when the key's words occur
    as one phrase ("all day", "all-day", "all_day", "allday"), or when every term of the key
    (stopwords dropped) occurs as a word or an inflection of it ("num_guests" <- "3 guests",
    "send_reminder" <- "remind me", "is_recurring" <- "recurs weekly"). Words are matched at
    word boundaries: "day" is not in "monday". A plain substring test rules most text out
    before any regular expression runs."""

    __slots__ = ("_phrase", "_phrase_probe", "_terms")

    def __init__(self, name: str) -> None:
        parts = key_parts(name)
        terms = key_terms(name)
        self._terms: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
            (stem, re.compile(_bounded(stem) + (f"{re.escape(stem[-1])}?" if
                              stem[-1].isalpha() and stem[-1] not in _VOWELS else "")
                              + _INFLECTION + _RIGHT))
            for stem in dict.fromkeys(word_stem(t) for t in terms))
        self._phrase: re.Pattern[str] | None = None
        self._phrase_probe = ""
        if len(parts) > 1:
            self._phrase = re.compile(_bounded(parts[0]) + "".join(
                r"[\s_\-]?" + re.escape(p) for p in parts[1:]) + _RIGHT)
            self._phrase_probe = parts[0]

    def __call__(self, text: str) -> bool:
        if all(stem in text and pattern.search(text) for stem, pattern in self._terms):
            return True
        phrase = self._phrase
        return phrase is not None and self._phrase_probe in text and \
            phrase.search(text) is not None


#: a number in a request is not glued to a word ("A12", "v2"), not part of a longer number
#: ("2019", "0.5", "1,200") and not part of a time or date ("2:30", "1/5/2024") or a clock hour
#: ("2pm"); units and ordinals may follow ("5kg", "3rd")
_NUMBER_RIGHT = r"(?!\d|\.\d|,\d{3}|[:/]\d|\s?[ap]\.?m\b)"
_NUMBERS = re.compile(r"(?<![\w.:/])(?<!\d,)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?" + _NUMBER_RIGHT)
NUMBER_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update({w: 10 * n for n, w in enumerate(
    "thirty forty fifty sixty seventy eighty ninety".split(), start=3)})
NUMBER_WORDS.update({"hundred": 100, "dozen": 12})
_WORDS_OF = {str(n): tuple(w for w, m in NUMBER_WORDS.items() if m == n)
             for n in set(NUMBER_WORDS.values())}
_NUMERIC_STRING = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def number_key(value: Any) -> str | None:
    """A number in the canonical form `has_number` takes ("1", "1200", "12.5"; the sign
    dropped); None for booleans, NaN, infinities and numbers that print in exponent form."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(abs(int(value)))
        text = repr(abs(value))
        return None if "e" in text else text
    return str(abs(value))


def numeric_string_key(text: str) -> str | None:
    """"1", "1.0", "1,200", "-3.50" -> their `number_key`; None for anything else."""
    if not _NUMERIC_STRING.fullmatch(text):
        return None
    return number_key(float(text.replace(",", "")))


#: what may not follow a number: more digits, decimals, a thousands group, a time or date
#: ("2:30", "1/5"), a clock hour ("2pm", "2 p.m.")
_NOT_AFTER_NUMBER = re.compile(r"\d|\.\d|,\d{3}|[:/]\d|\s?[ap]\.?m\b")


@functools.lru_cache(maxsize=65_536)
def _number_literals(key: str) -> tuple[str, ...]:
    whole, dot, fraction = key.partition(".")
    forms = [whole]
    if len(whole) > 3:  # thousands separators: "1,200"
        head = len(whole) % 3 or 3
        forms.append(",".join([whole[:head]] + [whole[i:i + 3]
                                                for i in range(head, len(whole), 3)]))
    return tuple(f + dot + fraction for f in forms)


def has_number(text: str, key: str) -> bool:
    """Is the number `key` (`number_key` form) written in `text` as a whole number? 1200 as
    "1200", "1,200" or "1200.00"; 12.5 as "12.50"; 5 as "05" or "five" (small numbers written
    out); but 1 not in "2019", "1.5", "1:30", "1/5" or "1pm". No regex is built per value: the
    literal is found with str.find and its surroundings are looked at."""
    fraction = "." in key
    for literal in _number_literals(key):
        start = text.find(literal)
        while start >= 0:
            end = start + len(literal)
            left = start
            while left and text[left - 1] == "0":  # leading zeros: "05"
                left -= 1
            before = text[left - 1] if left else " "
            if not (before.isalnum() or before in "_.:/"
                    or (before == "," and left > 1 and text[left - 2].isdigit())):
                if fraction:
                    while end < len(text) and text[end] == "0":
                        end += 1
                elif text.startswith(".0", end):
                    end += 2
                    while end < len(text) and text[end] == "0":
                        end += 1
                if not _NOT_AFTER_NUMBER.match(text, end):
                    return True
            start = text.find(literal, start + 1)
    return any(has_token(text, word) for word in _WORDS_OF.get(key, ()))


def has_token(text: str, value: str) -> bool:
    """Is `value` a whole token (or run of tokens) of `text`: "no" is in "no, thanks" but not in
    "i know" or "no_show"; "p2" not in "p22". Found with str.find, no regex per value."""
    if not value:
        return False
    check_left, check_right = value[0].isalnum(), value[-1].isalnum()
    start = text.find(value)
    while start >= 0:
        end = start + len(value)
        if (not check_left or start == 0 or not (text[start - 1].isalnum()
                                                 or text[start - 1] == "_")) and \
                (not check_right or end == len(text) or not (text[end].isalnum()
                                                             or text[end] == "_")):
            return True
        start = text.find(value, start + 1)
    return False


def text_numbers(text: str) -> set[str]:
    """The numbers written in digits in a text, in `number_key` form ("1,200.50" -> "1200.5",
    "07" -> "7"), by the same rules as `has_number` (no times, dates or clock hours)."""
    found = set()
    for whole, fraction in _NUMBERS.findall(text):
        whole = whole.replace(",", "").lstrip("0") or "0"
        fraction = fraction.rstrip("0")
        found.add(f"{whole}.{fraction}" if fraction else whole)
    return found


#: a span of time in a request: "an hour", "half an hour", "1.5 hours", "two days", "90 min"
_SPAN_UNITS = {"sec": 1, "second": 1, "min": 60, "minute": 60, "hr": 3600, "hour": 3600,
               "day": 86_400, "week": 604_800}
_SPAN = re.compile(
    r"(?<![\w.])(half an?|an?|\d+(?:\.\d+)?|" + "|".join(NUMBER_WORDS) + r")"
    r"[\s-]+(sec|second|min|minute|hr|hour|day|week)s?\b((?: and a half)?)")


def span_numbers(text: str) -> set[str]:
    """Spans of time in a request converted to the other units (`number_key` form; whole
    numbers and halves only): "an hour" -> 60 (minutes), 3600 (seconds), so that
    "duration_minutes": 60 is found for "it takes an hour". The amount in its own unit is left
    out (digits and number words are found as they are; "an" is not a 1)."""
    found = set()
    for match in _SPAN.finditer(text):
        amount, unit = match.group(1), match.group(2)
        if amount.startswith("half"):
            count = 0.5
        elif amount in ("a", "an"):
            count = 1.0
        elif amount in NUMBER_WORDS:
            count = float(NUMBER_WORDS[amount])
        else:
            count = float(amount)
        if match.group(3):
            count += 0.5
        seconds = count * _SPAN_UNITS[unit]
        for size in set(_SPAN_UNITS.values()) - {_SPAN_UNITS[unit]}:
            value = seconds / size
            if value >= 0.5 and (value * 2).is_integer():
                key = number_key(value)
                if key is not None:
                    found.add(key)
    return found


def value_numbers(value: Any) -> set[str]:
    """Every number in a parsed JSON value, in `number_key` form: numbers, and the numbers
    written in its strings ("Room 4", "2025-06-04")."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(c.isdigit() for c in item):
                found |= text_numbers(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            key = number_key(item)
            if key is not None:
                found.add(key)
    return found


#: what an article or "one" before a word looks like: "a ", "an iced oat ", "one large "
_ARTICLE_BEFORE = re.compile(r"(?<![^\W_])(?:a|an|one|single)\s+(?:[^\W\d_]+\s+){0,3}$")


def said_once(text: str, word: str) -> bool:
    """Is `word` (a whole token of `text`) preceded by an article or "one" a few words before
    it: "a latte", "an iced oat latte"? (The count 1 of a listed thing.)"""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        if (start == 0 or not text[start - 1].isalnum()) and \
                (end == len(text) or not text[end].isalnum()) and \
                _ARTICLE_BEFORE.search(text, max(0, start - 48), start):
            return True
        start = text.find(word, end)
    return False
