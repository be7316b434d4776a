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


class ReportsMemo(Check):
    """Reports what is memoised while it runs."""

    name = "reports_memo_test"
    category = "test"

    def run(self, data, ctx):  # type: ignore[no-untyped-def]
        return Measurement(metrics={}, details={"memoised": list(ctx.memoised())})


def memoised_during(checks: list[Check]) -> list[str]:
    CALLS.clear()
    result = run_audit(instruction_records(), checks=checks)
    details = result.check("reports_memo_test").details
    return list(details["memoised"])  # type: ignore[arg-type]


def test_an_artifact_lives_until_the_last_check_that_uses_it() -> None:
    assert "test_squares" in memoised_during([UsesSquares(), ReportsMemo(), AlsoUsesSquares()])
    assert CALLS == ["test_squares"]  # computed once for both checks
    assert "test_squares" not in memoised_during([UsesSquares(), AlsoUsesSquares(),
                                                  ReportsMemo()])


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
