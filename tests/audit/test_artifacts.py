"""The artifact memo: computed once, released once no check left to run uses it."""

from __future__ import annotations

from typing import Any

import numpy as np

from audit import Check, Measurement, RunContext, load_dataset, run_audit
from audit.context import artifact, artifact_name
from audit.testing import instruction_records

CALLS: list[str] = []


@artifact("test_squares")
def _squares(data: Any, ctx: RunContext) -> np.ndarray:
    CALLS.append("test_squares")
    return np.arange(data.n) ** 2


@artifact("test_total")
def _total(data: Any, ctx: RunContext) -> int:
    return int(ctx.artifact("test_squares", data, store=False).sum())


class UsesSquares(Check):
    """Reads the test_squares artifact."""

    name = "uses_squares_test"
    category = "test"
    uses = frozenset({"test_squares"})

    def run(self, data, ctx):  # type: ignore[no-untyped-def]
        return Measurement(metrics={"last": float(ctx.artifact("test_squares")[-1])})


class AlsoUsesSquares(UsesSquares):
    """Reads it too."""

    name = "also_uses_squares_test"


@artifact("test_other")
def _other(data: Any, ctx: RunContext) -> int:
    return 1


class ReportsMemo(Check):
    """Reports what is memoised while it runs (it shares test_other with UsesBoth)."""

    name = "reports_memo_test"
    category = "test"
    uses = frozenset({"test_other"})

    def run(self, data, ctx):  # type: ignore[no-untyped-def]
        return Measurement(metrics={}, details={"memoised": list(ctx.memoised())})


class UsesBoth(Check):
    """Reads test_squares and test_other: the checks sharing either run together."""

    name = "uses_both_test"
    category = "test"
    uses = frozenset({"test_squares", "test_other"})

    def run(self, data, ctx):  # type: ignore[no-untyped-def]
        return Measurement(metrics={"sum": float(ctx.artifact("test_squares").sum()
                                                 + ctx.artifact("test_other"))})


def memoised_during(checks: list[Check]) -> list[str]:
    CALLS.clear()
    result = run_audit(instruction_records(), checks=checks, engine="serial")
    details = result.check("reports_memo_test").details
    return list(details["memoised"])  # type: ignore[arg-type]


def test_an_artifact_lives_until_the_last_check_that_uses_it() -> None:
    kept = memoised_during([UsesSquares(), UsesBoth(), ReportsMemo(), AlsoUsesSquares()])
    assert "test_squares" in kept and "test_other" in kept
    assert CALLS == ["test_squares"]  # computed once for the three checks that read it
    released = memoised_during([UsesSquares(), UsesBoth(), AlsoUsesSquares(), ReportsMemo()])
    assert "test_squares" not in released and "test_other" in released


def test_checks_that_share_an_artifact_run_in_one_group() -> None:
    from audit.execution import artifact_groups

    checks = [UsesSquares(), ReportsMemo(), UsesBoth(), AlsoUsesSquares(),
              Check.__new__(ReportsMemo)]
    groups = artifact_groups(checks[:4])
    assert [[c.name for c in g] for g in groups] == [
        ["uses_squares_test", "reports_memo_test", "uses_both_test", "also_uses_squares_test"]]
    alone = artifact_groups([UsesSquares(), ReportsMemo()])
    assert len(alone) == 2


def test_release_forgets_other_names_for_every_view() -> None:
    data = load_dataset(instruction_records(12))
    ctx = RunContext(data)
    sample = data.take([0, 1, 2])
    first = ctx.artifact("test_squares")
    ctx.artifact("test_squares", sample)
    ctx.memo("test_memo:a", lambda: 1)
    assert ctx.memoised() == ("test_memo", "test_squares")
    assert ctx.artifact("test_squares") is first
    ctx.release({"test_memo"})
    assert ctx.memoised() == ("test_memo",)
    assert ctx.artifact("test_squares") is not first  # computed again after release
    assert ctx.requested == {"test_squares", "test_memo"}


def test_store_false_reuses_but_does_not_keep_an_input() -> None:
    data = load_dataset(instruction_records(12))
    ctx = RunContext(data)
    CALLS.clear()
    assert ctx.artifact("test_total") == sum(i * i for i in range(12))
    assert ctx.memoised() == ("test_total",) and CALLS == ["test_squares"]
    ctx.artifact("test_squares")
    ctx.release({"test_squares"})
    ctx.artifact("test_total")
    assert CALLS == ["test_squares", "test_squares"]  # reused the stored one for test_total
    assert ctx.requested == {"test_total", "test_squares"}  # not the nested request


def test_artifact_name_of_memo_keys() -> None:
    assert artifact_name("near:text:NearConfig(size=3)") == "near"
    assert artifact_name("memo:near:text") == "near"
    assert artifact_name("tfidf") == "tfidf"
