"""Writing scripts of text, counted per record with a code-point lookup table (numpy).

Only letters and combining marks are counted (digits, punctuation, symbols and emoji belong to
no script here). Pure functions; tested in tests/checks/language/test_scripts.py.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from checks.shared.minhash import code_points

#: script names; index 0 is "none" (not a letter, or a script not listed)
SCRIPTS = ("none", "latin", "cyrillic", "greek", "armenian", "hebrew", "arabic", "devanagari",
           "bengali", "indic", "thai", "lao", "tibetan", "myanmar", "georgian", "hangul",
           "ethiopic", "khmer", "han", "hiragana", "katakana", "other")
#: code point ranges of each script (blocks; only their letters and marks are counted)
_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "latin": ((0x0041, 0x024F), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF),
              (0xFF21, 0xFF5A), (0x0250, 0x02AF)),
    "cyrillic": ((0x0400, 0x052F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)),
    "greek": ((0x0370, 0x03FF), (0x1F00, 0x1FFF)),
    "armenian": ((0x0530, 0x058F),),
    "hebrew": ((0x0590, 0x05FF), (0xFB1D, 0xFB4F)),
    "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
               (0xFE70, 0xFEFF)),
    "devanagari": ((0x0900, 0x097F), (0xA8E0, 0xA8FF)),
    "bengali": ((0x0980, 0x09FF),),
    "indic": ((0x0A00, 0x0DFF),),
    "thai": ((0x0E00, 0x0E7F),),
    "lao": ((0x0E80, 0x0EFF),),
    "tibetan": ((0x0F00, 0x0FFF),),
    "myanmar": ((0x1000, 0x109F),),
    "georgian": ((0x10A0, 0x10FF), (0x2D00, 0x2D2F)),
    "hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF), (0xA960, 0xA97F),
               (0xD7B0, 0xD7FF)),
    "ethiopic": ((0x1200, 0x139F), (0x2D80, 0x2DDF)),
    "khmer": ((0x1780, 0x17FF), (0x19E0, 0x19FF)),
    "han": ((0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3400, 0x4DBF),
            (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF)),
    "hiragana": ((0x3040, 0x309F),),
    "katakana": ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
}
TABLE_SIZE = 0x30000
#: scripts whose characters are dense (about a word or a syllable each)
DENSE = frozenset({"han", "hiragana", "katakana", "hangul", "thai", "lao", "khmer", "myanmar",
                   "tibetan"})
#: scripts that mix as one writing system (Japanese, Korean with hanja)
COMPATIBLE: tuple[frozenset[str], ...] = (frozenset({"han", "hiragana", "katakana"}),
                                          frozenset({"hangul", "han"}))
#: scripts that appear in any text without being a second language: Latin (code, names,
#: units, URLs) and Greek (mathematics and science)
UBIQUITOUS = frozenset({"latin", "greek"})


@cache
def script_table() -> np.ndarray:
    """uint8 script index (into SCRIPTS) of every code point below TABLE_SIZE."""
    table = np.zeros(TABLE_SIZE, dtype=np.uint8)
    for name, ranges in _RANGES.items():
        for first, last in ranges:
            table[first:last + 1] = SCRIPTS.index(name)
    other = SCRIPTS.index("other")
    for code in range(TABLE_SIZE):
        category = unicodedata.category(chr(code))
        if category[0] not in "LM":
            table[code] = 0
        elif table[code] == 0:
            table[code] = other
    table.setflags(write=False)
    return table


def script_counts(column: pa.ChunkedArray | pa.Array, *, max_chars: int,
                  batch: int = 8192) -> np.ndarray:
    """Letters (and marks) of each script in the first `max_chars` characters of each text:
    an int32 array (n texts x len(SCRIPTS)); column 0 counts nothing useful."""
    table = script_table()
    n = len(column)
    out = np.zeros((n, len(SCRIPTS)), dtype=np.int32)
    for start in range(0, n, batch):
        part = pc.utf8_slice_codeunits(pc.fill_null(column.slice(start, batch), ""), 0, max_chars)
        if isinstance(part, pa.ChunkedArray):
            part = part.combine_chunks()
        points, lengths = code_points(part)
        if not len(points):
            continue
        scripts = np.where(points < TABLE_SIZE, table[np.minimum(points, TABLE_SIZE - 1)],
                           np.uint8(SCRIPTS.index("other")))
        rows = np.repeat(np.arange(len(lengths)), lengths)
        keep = scripts > 0
        counts = np.bincount(rows[keep] * len(SCRIPTS) + scripts[keep],
                             minlength=len(lengths) * len(SCRIPTS))
        out[start:start + len(lengths)] = counts.reshape(len(lengths), len(SCRIPTS))
    return out


def main_scripts(counts: np.ndarray) -> np.ndarray:
    """Index of the script with the most letters per row (0 when a row has none)."""
    main = counts[:, 1:].argmax(axis=1) + 1
    return np.where(counts[:, 1:].sum(axis=1) > 0, main, 0)


def compatible(main: str, other: str) -> bool:
    """True when letters of `other` are expected in text written mainly in `main`."""
    if other in UBIQUITOUS or other == main or main == "none":
        return True
    return any(main in group and other in group for group in COMPATIBLE)


def foreign_letters(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: letters of scripts not expected beside the main one, and the index of the
    largest such script (0 when none)."""
    main = main_scripts(counts)
    allowed = np.zeros((len(SCRIPTS), len(SCRIPTS)), dtype=bool)
    for i, a in enumerate(SCRIPTS):
        for j, b in enumerate(SCRIPTS):
            allowed[i, j] = j == 0 or compatible(a, b)
    foreign = np.where(allowed[main], 0, counts)
    top = foreign.argmax(axis=1)
    total = foreign.sum(axis=1)
    return total, np.where(total > 0, top, 0)


def weighted_letters(counts: np.ndarray) -> np.ndarray:
    """Letters, counting a character of a dense script (Chinese, Japanese, Korean, Thai...)
    as three: a measure of how much text there is to identify a language from."""
    dense = [SCRIPTS.index(s) for s in DENSE]
    return counts[:, 1:].sum(axis=1) + 2 * counts[:, dense].sum(axis=1)
