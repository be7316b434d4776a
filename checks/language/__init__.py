"""Language: which languages the records are in, and how long they are in tokens.

`language` identifies each record's languages offline (the shared `record_languages`
artifact) and flags responses in another language than their prompt and unexpectedly mixed
scripts; `token_lengths` counts tokens with a local tokenizer.json (or estimates them) against
the model's context.
"""

from __future__ import annotations

from checks.language.languages import Language
from checks.language.tokens import TokenLengths

__all__ = ["Language", "TokenLengths"]
