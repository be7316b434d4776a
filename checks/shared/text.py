"""Pure text helpers shared by checks: normalisation, tokenisation and script-aware segmentation.

Word tokens work for every script. Scripts written with spaces between words (Latin, Cyrillic,
Greek, Arabic, Hebrew, Devanagari and the other Indic scripts, Hangul...) give words: runs of
letters, digits, underscore and combining marks (so Devanagari vowel signs stay inside their
word). Scripts written without spaces (Chinese, Japanese kana, Thai, Lao, Khmer, Myanmar) have
no word boundaries to split on, so each run of them becomes its overlapping character bigrams
("机器学习" -> "机器", "器学", "学习"; a run of one character is itself), the segmentation of
Lucene's and Elasticsearch's CJK analyzers. Text in spaced scripts is tokenised exactly as by
`\\w+`. The same character classes are given to RE2 (`checks.shared.minhash`) so that the
vectorised shingles and these Python tokens agree.

Kept free of heavy imports and of I/O; tested directly (tests/checks/shared/test_text.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.context import artifact

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

#: letters and marks of the scripts written without spaces between words, as code point ranges:
#: Thai, Lao, Myanmar, Khmer, Japanese kana, CJK ideographs (with extension A, compatibility
#: ideographs and the astral extensions). Punctuation and digits of these blocks are left out.
UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E01, 0x0E3A), (0x0E40, 0x0E4E),  # Thai (not ฿, digits or ๏ ๚ ๛)
    (0x0E81, 0x0ECF), (0x0EDC, 0x0EDF),  # Lao (not digits)
    (0x1000, 0x103F), (0x1050, 0x108F), (0x109A, 0x109F),  # Myanmar (not digits, punctuation)
    (0x1780, 0x17D3), (0x17D7, 0x17D7), (0x17DC, 0x17DD),  # Khmer (not punctuation, digits)
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3041, 0x309F), (0x30A1, 0x30FA), (0x30FC, 0x30FF),  # Hiragana, Katakana (not ・)
    (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)


def _class(ranges: Iterable[tuple[int, int]]) -> str:
    """A regex character-class body of literal characters (valid in Python re and RE2)."""
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges)


def _mark_ranges() -> tuple[tuple[int, int], ...]:
    """Combining marks (Unicode category M*) of the Basic Multilingual Plane, as ranges."""
    out: list[tuple[int, int]] = []
    for code in range(0x0300, 0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if out and out[-1][1] == code - 1:
                out[-1] = (out[-1][0], code)
            else:
                out.append((code, code))
    return tuple(out)


UNSPACED_CLASS = _class(UNSPACED_RANGES)
MARK_RANGES = _mark_ranges()
MARK_CLASS = _class(MARK_RANGES)
#: combining marks outside the unspaced scripts (a Thai vowel sign always starts a Thai run)
_SPACED_MARK_CLASS = _class((a, b) for a, b in MARK_RANGES
                            if not any(lo <= a and b <= hi for lo, hi in UNSPACED_RANGES))
#: one unspaced run, or one word of a spaced script (letters, digits, _, combining marks)
_TOKEN = re.compile(f"[{UNSPACED_CLASS}]+|(?:[^\\W{UNSPACED_CLASS}]|[{_SPACED_MARK_CLASS}])+")
_WORD = re.compile(r"\w+", re.UNICODE)
_MARK = re.compile(f"[{MARK_CLASS}]")
_UNSPACED_CHAR = re.compile(f"[{UNSPACED_CLASS}]")
#: what `\\w+` would tokenise differently: unspaced letters and combining marks
_SPECIAL = re.compile(f"[{UNSPACED_CLASS}{MARK_CLASS}]")
_UNIT = re.compile(f"[^{MARK_CLASS}][{MARK_CLASS}]*|[{MARK_CLASS}]+")
_UNSPACED_FIRST = frozenset(chr(c) for a, b in UNSPACED_RANGES if b < 0x10000
                            for c in range(a, b + 1))


def is_unspaced(char: str) -> bool:
    """True for a letter or mark of a script written without spaces (CJK, kana, Thai...)."""
    return char in _UNSPACED_FIRST or (len(char) == 1 and 0x20000 <= ord(char) <= 0x3134F)


def bigrams(run: str) -> list[str]:
    """Overlapping bigrams of the characters of a run ('abc' -> ['ab', 'bc']); a run of one
    character is itself. A character keeps the combining marks that follow it (Thai vowel and
    tone marks: 'กิน' -> ['กิน'], units 'กิ' and 'น')."""
    units = _UNIT.findall(run) if _MARK.search(run) else run
    if len(units) < 3:
        return [run]
    return [units[i] + units[i + 1] for i in range(len(units) - 1)]


def segment(text: str) -> list[str]:
    """Tokens of `text` as found (case kept): words of spaced scripts, character bigrams of
    runs in unspaced scripts; punctuation, symbols and spaces dropped."""
    if not _SPECIAL.search(text):
        return _WORD.findall(text)
    if not _UNSPACED_CHAR.search(text):
        return _TOKEN.findall(text)
    out: list[str] = []
    for token in _TOKEN.findall(text):
        if is_unspaced(token[0]):
            out.extend(bigrams(token))
        else:
            out.append(token)
    return out


def join_words(tokens: Sequence[str]) -> str:
    """Tokens back into readable text: spaced-script words joined by spaces, overlapping
    bigrams of an unspaced run merged ("机器", "器学", "学习" -> "机器学习")."""
    out = ""
    previous = ""
    for token in tokens:
        if previous and is_unspaced(previous[0]) and is_unspaced(token[0]):
            last = _UNIT.findall(previous)[-1]
            out += token[len(last):] if token.startswith(last) else token
        else:
            out += (" " if out else "") + token
        previous = token
    return out


def normalize(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed and stripped: the key for exact matches."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalize_many(texts: Iterable[str]) -> list[str]:
    return [normalize(t) for t in texts]


def words(text: str) -> list[str]:
    """Lower-cased word tokens (see `segment`): words of spaced scripts (letters, digits,
    underscore, combining marks), character bigrams of Chinese, Japanese, Thai... runs."""
    return segment(text.lower())


def tokens_of(texts: Sequence[str], python_split: Callable[[str], list[str]],
              arrow_split: Callable[[Any], Any], arrow_safe: str | None = None
              ) -> tuple[Any, np.ndarray]:
    """`[python_split(t) for t in texts]` flattened into an Arrow large_string array, and each
    text's number of tokens, with the ASCII texts split by `arrow_split` (a pyarrow
    expression from a large_string array to a list array; empty tokens are dropped).

    `arrow_split` must give exactly `python_split`'s tokens on every ASCII text that does not
    match the regex `arrow_safe` breaks (e.g. separators Python splits on and pyarrow does
    not); the others go through Python. On long texts the Arrow path is several times faster.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(texts, pa.large_string())
    ok = pc.string_is_ascii(array)
    if arrow_safe is not None:
        ok = pc.and_(ok, pc.invert(pc.match_substring_regex(array, arrow_safe)))
    safe = np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)
    parts: list[Any] = []
    owners: list[np.ndarray] = []
    rows = np.flatnonzero(safe)
    if rows.size:
        lists = arrow_split(array if rows.size == len(texts) else array.take(pa.array(rows)))
        flat = pc.list_flatten(lists)
        keep = np.asarray(pc.binary_length(flat).to_numpy(zero_copy_only=False)) > 0
        parts.append(flat.filter(pa.array(keep)))
        owners.append(rows[np.asarray(pc.list_parent_indices(lists).to_numpy(
            zero_copy_only=False))[keep]])
    rows = np.flatnonzero(~safe)
    if rows.size:
        split = [python_split(texts[i]) for i in rows.tolist()]
        parts.append(pa.array([t for tokens in split for t in tokens], pa.large_string()))
        owners.append(np.repeat(rows, [len(tokens) for tokens in split]))
    if not parts:
        return pa.array([], pa.large_string()), np.zeros(0, dtype=np.int64)
    owner = np.concatenate(owners)
    counts = np.bincount(owner, minlength=len(texts)).astype(np.int64)
    if len(parts) == 1:
        return parts[0], counts
    order = np.argsort(owner, kind="stable")  # back in text order, tokens in their order
    return pa.concat_arrays(parts).take(pa.array(order)), counts


def arrow_words(array: Any) -> Any:
    """`words` of ASCII texts (a large_string array), by pyarrow: on ASCII, `\\w+` of the
    lower-cased text is a run of [a-z0-9_], so every other byte becomes a space (a byte table,
    in numpy) and the text is split on whitespace."""
    import pyarrow as pa
    import pyarrow.compute as pc

    _, offsets, data = array.buffers()
    spaced = _WORD_BYTES[np.frombuffer(data, dtype=np.uint8)] if data is not None else \
        np.zeros(0, dtype=np.uint8)
    mapped = pa.Array.from_buffers(pa.large_string(), len(array),
                                   [None, offsets, pa.py_buffer(spaced)], offset=array.offset)
    return pc.ascii_split_whitespace(mapped)


def _word_bytes() -> np.ndarray:
    table = np.full(256, ord(" "), dtype=np.uint8)
    for char in "abcdefghijklmnopqrstuvwxyz0123456789_":
        table[ord(char)] = ord(char)
        table[ord(char.upper())] = ord(char)
    return table


#: ASCII byte -> its lower case when a word character (`\\w`), else a space
_WORD_BYTES = _word_bytes()


def word_count(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


def unspaced_share(tokens: Sequence[str]) -> float:
    """Share of `tokens` (from `words`/`segment`) that come from unspaced scripts (0 if none)."""
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if is_unspaced(t[0])) / len(tokens)


@cache
def unspaced_regex() -> str:
    """A regex (RE2 and Python) matching one character of an unspaced script."""
    return f"[{UNSPACED_CLASS}]"


def is_blank(text: str | None) -> bool:
    """True for None, '' and whitespace-only text (including zero-width and NBSP)."""
    if text is None:
        return True
    return not text.replace("\u200b", "").replace("\ufeff", "").replace("\u2060", "").strip()


@artifact("normalized_prompts", cheap=True)
def _normalized_prompts(data: DatasetView, ctx: RunContext) -> Sequence[str]:
    return tuple(normalize(t) for batch in data.text_batches("prompt") for t in batch)
