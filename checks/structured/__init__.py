"""Structured output: JSON responses that do not parse, change shape, leave fields empty or
invent values.
"""

from __future__ import annotations

from checks.structured.output import StructuredOutput, final_responses
from checks.structured.repair import (
    JsonStyle,
    ResponseRepair,
    infer_json_style,
    remove_field,
    remove_field_from_text,
    repair_response,
)

__all__ = [
    "JsonStyle",
    "ResponseRepair",
    "StructuredOutput",
    "final_responses",
    "infer_json_style",
    "remove_field",
    "remove_field_from_text",
    "repair_response",
]
