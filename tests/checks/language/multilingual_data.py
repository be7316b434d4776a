"""Multilingual test records built from the short texts written for ft-audit (data/)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


@cache
def short_texts() -> dict[str, tuple[str, ...]]:
    raw = json.loads((DATA / "short_texts.json").read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in raw.items() if not k.startswith("_")}


def sentences(language: str, start: int, count: int) -> str:
    """`count` of the language's sentences from `start` (wrapping), joined."""
    pool = short_texts()[language]
    sep = "" if language in ("zh", "ja", "th") else " "
    return sep.join(pool[(start + i) % len(pool)] for i in range(count))


def records(language: str, n: int, *, response_language: str | None = None
            ) -> list[dict[str, Any]]:
    """n prompt/response records: prompts in `language`, responses in `response_language`
    (default the same)."""
    answer = response_language or language
    return [{"prompt": sentences(language, i, 2), "response": sentences(answer, i + 5, 4)}
            for i in range(n)]
