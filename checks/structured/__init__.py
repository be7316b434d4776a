"""Structured output: JSON responses that do not parse, change shape, leave fields empty or
invent values.
"""

from __future__ import annotations

from checks.structured.output import StructuredOutput

__all__ = ["StructuredOutput"]
