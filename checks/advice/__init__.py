"""Advice: fine-tune, give the model contextual input (retrieval), or both.
"""

from __future__ import annotations

from checks.advice.advisory import FitAdvisory

__all__ = ["FitAdvisory"]
