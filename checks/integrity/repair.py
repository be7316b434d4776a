"""Repairs for what `control_characters` and `placeholder_responses` find, for `ft-audit fix`.

Each repair undoes one kind of text-hygiene defect without guessing at content: characters
that carry no text are removed (control characters, terminal escape codes, invisible
characters, replacement characters), mojibake is decoded back by the same principled test the
check uses (a run of cp1252 characters whose bytes are valid UTF-8), and the stray escape
sequences the check confirms (outside code spans and quoted strings) become the characters
they stand for. A "no input" marker that fills a whole Alpaca input field can be blanked.
Pure functions over strings; the command decides which records they apply to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from checks.integrity._patterns import load_lexicon
from checks.integrity.hygiene import (
    _CODE_AND_QUOTES,
    _CP1252_RUN,
    _ESCAPE_PATTERN,
    _VALID_UTF8_MULTIBYTE,
    KIND_NAMES,
    _cp1252_byte,
)
from checks.integrity.instructions import PLACEHOLDER_LEXICON

#: the order repairs run in: mojibake first (its bytes include C1 control characters), escape
#: codes before lone ESC characters are stripped as control characters
REPAIR_ORDER = ("mojibake", "ansi_escape", "escape_sequence", "control", "invalid_unicode",
                "zero_width")
assert sorted(REPAIR_ORDER) == sorted(KIND_NAMES)

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
#: CSI sequences (colours, cursor moves), OSC sequences (titles, links), two-byte escapes,
#: then any ESC left over
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x1b")
_INVALID = re.compile("[\ufffd\ufffe\uffff]")
_ZERO_WIDTH = re.compile("[\u200b\u2060\ufeff\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: the stray escapes `control_characters` reports (its `_ESCAPE_PATTERN`)
_STRAY = re.compile(_ESCAPE_PATTERN)
#: every written-out escape this repair turns back into what it stands for
_ANY_ESCAPE = re.compile(r"(?P<crlf>\\r\\n)|(?P<one>\\[nrt])"
                         r"|(?P<ansi>\\x1b\[[0-?]*[ -/]*[@-~]?)|(?P<u>(?:\\u[0-9a-fA-F]{4})+)")
_ESCAPED = {"\\n": "\n", "\\r": "\n", "\\t": "\t"}
#: how many times mojibake is decoded (text encoded wrongly twice needs two passes)
MOJIBAKE_PASSES = 3


def fix_mojibake(text: str) -> str:
    """`text` with each run of UTF-8 bytes that was decoded as cp1252/latin-1 decoded again.

    The run test is the check's (`is_mojibake`): characters from cp1252's 0x80-0xFF range
    whose bytes hold a valid UTF-8 multi-byte sequence. Only those sequences are decoded;
    every other character is kept, so accented text that is not mojibake stays as it is.
    """
    for _ in range(MOJIBAKE_PASSES):
        fixed = _CP1252_RUN.sub(_decode_run, text)
        if fixed == text:
            break
        text = fixed
    return text


def _decode_run(match: re.Match[str]) -> str:
    run = match.group()
    encoded = bytes(_cp1252_byte(ch) for ch in run)  # one byte per character
    out: list[str] = []
    i = 0
    while i < len(run):
        sequence = _VALID_UTF8_MULTIBYTE.match(encoded, i)
        if sequence is None:
            out.append(run[i])
            i += 1
        else:
            out.append(sequence.group().decode("utf-8"))
            i = sequence.end()
    return "".join(out)


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences (ANSI colours, cursor codes, OSC titles)."""
    return _ANSI.sub("", text)


def strip_control(text: str) -> str:
    """`text` without control characters other than tab, line feed and carriage return."""
    return _CONTROL.sub("", text)


def strip_invalid(text: str) -> str:
    """`text` without U+FFFD replacement characters and the non-characters U+FFFE/U+FFFF."""
    return _INVALID.sub("", text)


def strip_zero_width(text: str) -> str:
    """`text` without zero-width spaces, word joiners, BOMs, soft hyphens and bidi controls."""
    return _ZERO_WIDTH.sub("", text)


def unescape_stray(text: str) -> str:
    """Written-out escape sequences turned into what they stand for, in each stretch of text
    outside code spans and quoted strings where `control_characters` reports a stray one: then
    every "\\n", "\\r\\n" and "\\t" of that stretch becomes a line break or tab (all of them,
    so that one text does not mix both forms), "\\u00e9" the character (surrogate pairs joined;
    a lone surrogate is left as written), and a written-out "\\x1b[31m" colour code goes.
    Escapes in code and quotes are content and stay, and so does a stretch with no stray one."""
    out: list[str] = []
    last = 0
    for span in _CODE_AND_QUOTES.finditer(text):
        out.append(_unescape_stretch(text[last:span.start()]))
        out.append(span.group())
        last = span.end()
    out.append(_unescape_stretch(text[last:]))
    return "".join(out)


def _unescape_stretch(text: str) -> str:
    return _ANY_ESCAPE.sub(_unescape, text) if _STRAY.search(text) else text


def _unescape(match: re.Match[str]) -> str:
    if match.group("crlf"):
        return "\n"
    if match.group("one"):
        return _ESCAPED[match.group("one")]
    if match.group("ansi") is not None:
        return ""
    escapes = match.group("u")
    units = [int(escapes[i + 2:i + 6], 16) for i in range(0, len(escapes), 6)]
    encoded = b"".join(u.to_bytes(2, "big") for u in units)
    try:
        return encoded.decode("utf-16-be")
    except UnicodeDecodeError:  # a lone surrogate: no character to put in its place
        return escapes


_REPAIRS = {
    "mojibake": fix_mojibake,
    "ansi_escape": strip_ansi,
    "escape_sequence": unescape_stray,
    "control": strip_control,
    "invalid_unicode": strip_invalid,
    "zero_width": strip_zero_width,
}


def repair_text(text: str, kinds: Iterable[str] = KIND_NAMES) -> str:
    """`text` with the given `control_characters` kinds repaired (in `REPAIR_ORDER`)."""
    wanted = set(kinds)
    unknown = wanted - set(KIND_NAMES)
    if unknown:
        raise ValueError(f"unknown control_characters kind(s): {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(KIND_NAMES)}")
    for kind in REPAIR_ORDER:
        if kind in wanted:
            text = _REPAIRS[kind](text)
    return text


_NO_INPUT = [p.compiled for p in load_lexicon(PLACEHOLDER_LEXICON)
             if p.kind == "no_input_marker" and p.field == "context"]


def is_no_input_marker(text: str) -> bool:
    """Does `text` (an Alpaca input field) only say that there is no input ('<noinput>',
    'No input', 'N/A')? The same patterns `placeholder_responses` reads the input field with."""
    stripped = text.strip()
    return bool(stripped) and any(p.search(stripped) for p in _NO_INPUT)
