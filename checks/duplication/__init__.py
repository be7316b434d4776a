"""Duplication and leakage: exact, near and semantic duplicates, conflicting answers, and
evaluation records (or benchmarks) that also appear in the training data.
"""

from __future__ import annotations

from checks.duplication.duplicates import (
    ConflictingResponses,
    ExactDuplicates,
    NearDuplicates,
    SemanticDuplicates,
)
from checks.duplication.leakage import EvalLeakage

__all__ = ["ConflictingResponses", "EvalLeakage", "ExactDuplicates", "NearDuplicates", "SemanticDuplicates"]
