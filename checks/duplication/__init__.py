"""Duplication and leakage: exact, near and semantic duplicates, conflicting answers, and
evaluation records (or benchmarks) that also appear in the training data.
"""

from __future__ import annotations

from checks.duplication.dedupe import REASONS, DedupePlan, plan_dedupe
from checks.duplication.duplicates import (
    ConflictingResponses,
    ExactDuplicates,
    NearDuplicates,
    SemanticDuplicates,
)
from checks.duplication.leakage import EvalLeakage

__all__ = [
    "REASONS",
    "ConflictingResponses",
    "DedupePlan",
    "EvalLeakage",
    "ExactDuplicates",
    "NearDuplicates",
    "SemanticDuplicates",
    "plan_dedupe",
]
