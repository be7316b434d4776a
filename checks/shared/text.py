"""Pure text helpers shared by checks: normalisation and tokenisation.

Kept free of heavy imports and of I/O; tested directly (tests/checks/test_text.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from audit.context import artifact

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

_WORD = re.compile(r"\w+", re.UNICODE)


def normalize(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed and stripped: the key for exact matches."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalize_many(texts: Iterable[str]) -> list[str]:
    return [normalize(t) for t in texts]


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, underscore); punctuation dropped."""
    return _WORD.findall(text.lower())


def word_count(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


def is_blank(text: str | None) -> bool:
    """True for None, '' and whitespace-only text (including zero-width and NBSP)."""
    if text is None:
        return True
    return not text.replace("\u200b", "").replace("\ufeff", "").replace("\u2060", "").strip()


@artifact("normalized_prompts")
def _normalized_prompts(data: DatasetView, ctx: RunContext) -> Sequence[str]:
    return tuple(normalize(t) for batch in data.text_batches("prompt") for t in batch)
