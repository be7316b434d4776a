"""Integrity: records that cannot be read or do not hold what a fine-tune needs.

Bad and skipped records, empty responses, placeholders, prompts that need unseen material,
merged instructions, refusals, truncation, control characters, length outliers, broken chat
structure, and a Great Expectations suite over the normalised table. Pattern lexicons live in
`lexicons/` (TOML), matched by `_patterns`.
"""

from __future__ import annotations

from checks.integrity.chat import ChatStructure
from checks.integrity.gx import GxExpectations, effective_suite_json
from checks.integrity.hygiene import ControlCharacters
from checks.integrity.instructions import (
    MergedInstructions,
    PlaceholderResponses,
    Refusals,
    UnavailableContext,
)
from checks.integrity.lengths import LengthOutliers
from checks.integrity.records import BadRecords, EmptyResponses
from checks.integrity.repair import REPAIR_ORDER, fix_mojibake, is_no_input_marker, repair_text
from checks.integrity.truncation import Truncation

__all__ = [
    "REPAIR_ORDER",
    "BadRecords",
    "ChatStructure",
    "ControlCharacters",
    "EmptyResponses",
    "GxExpectations",
    "LengthOutliers",
    "MergedInstructions",
    "PlaceholderResponses",
    "Refusals",
    "Truncation",
    "UnavailableContext",
    "effective_suite_json",
    "fix_mojibake",
    "is_no_input_marker",
    "repair_text",
]
