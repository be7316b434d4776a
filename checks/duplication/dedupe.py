"""Which records a deduplicated copy keeps: one per exact / near duplicate cluster (the first
occurrence in input order, so the choice is deterministic), and optionally none that leak an
evaluation record. Pure: `ft-audit dedupe` writes the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.context import RunContext
from audit.dataset import DatasetView
from audit.errors import AuditError
from checks.duplication._neardup import first_occurrence_labels, merge_labels
from checks.duplication.duplicates import NearDuplicates, exact_codes, near_result
from checks.duplication.leakage import KINDS, EvalLeakage, find_leaks

#: why a record is removed
REASONS = ("exact_duplicate", "near_duplicate", "eval_leak")


@dataclass(frozen=True)
class DedupePlan:
    """Which positions to keep; for removed ones, why and which record replaces them."""

    keep: np.ndarray  # bool per position
    removed: tuple[dict[str, Any], ...]  # sidecar rows, in input order

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(REASONS, 0)
        for row in self.removed:
            counts[row["reason"]] += 1
        return counts


def plan_dedupe(data: DatasetView, ctx: RunContext, *, near: bool = True,
                near_params: dict[str, Any] | None = None, drop_eval_leaks: bool = False,
                leak_params: dict[str, Any] | None = None) -> DedupePlan:
    """Decide what `ft-audit dedupe` removes (pure: writes nothing)."""

    n = data.n
    positions = np.arange(n)
    exact = first_occurrence_labels(exact_codes(data, ctx, "pair"))
    labels = exact
    if near:
        check = NearDuplicates(**(near_params or {}))
        near_labels = near_result(data, ctx, check.params.field, check.config()).labels
        labels = merge_labels(exact, near_labels)
    ids, lines = data.ids, data.lines
    rows: dict[int, dict[str, Any]] = {}
    for p in np.flatnonzero(labels != positions):
        reason = "exact_duplicate" if exact[p] != p else "near_duplicate"
        kept = exact[p] if exact[p] != p else labels[p]
        rows[int(p)] = {"id": int(ids[p]), "line": lines[p], "reason": reason,
                        "kept": int(ids[kept])}
    if drop_eval_leaks:
        if ctx.eval_data is None:
            raise AuditError("--drop-eval-leaks needs an evaluation set: pass --eval FILE (or "
                             "use data with an eval/test split column)")
        train = ctx.train_data
        leaks = find_leaks(ctx.eval_data, train, ctx, EvalLeakage(**(leak_params or {}))
                           .options())
        train_positions = data.position_of(train.ids[leaks.pairs[:, 1]]) if len(
            leaks.pairs) else np.zeros(0, dtype=np.int64)
        for (other, _, kind, _), p in zip(leaks.pairs, train_positions, strict=True):
            rows.setdefault(int(p), {"id": int(ids[p]), "line": lines[p], "reason": "eval_leak",
                                     "kept": None, "eval": int(ctx.eval_data.ids[other]),
                                     "kind": KINDS[kind]})
    keep = np.ones(n, dtype=bool)
    keep[list(rows)] = False
    return DedupePlan(keep=keep, removed=tuple(rows[p] for p in sorted(rows)))
