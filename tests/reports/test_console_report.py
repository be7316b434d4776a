"""The console summary agrees with the other renderers (shared formatting in reports.summary)."""

from __future__ import annotations

import io

from rich.console import Console

from reports.console_report import deciding_cell, print_summary, verdict_line
from tests.reports.conftest import every_status_result


def printed(quiet: bool) -> str:
    buffer = io.StringIO()
    print_summary(every_status_result(), quiet=quiet,
                  console=Console(file=buffer, width=220, color_system=None))
    return buffer.getvalue()


def test_summary_lists_checks_worst_first_with_their_decision() -> None:
    text = printed(quiet=False)
    order = [text.index(name) for name in ("bad_fail", "blew_up", "some_warn", "never_ran",
                                           "all_good")]
    assert order == sorted(order)
    assert "rate = 0.5 (warn > 0.1, fail > 0.2)" in text
    assert "no evaluation set plain" in text and "ValueError: broke on plain" in text
    assert text.rstrip().splitlines()[-1].startswith("NO-GO: bad_fail failed")


def test_quiet_prints_only_the_verdict() -> None:
    lines = printed(quiet=True).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("NO-GO:")


def test_helpers() -> None:
    result = every_status_result(go=True)
    assert verdict_line(result).plain == "GO: 5,000 records, 1 failed, 1 errored, 1 warned, " \
                                         "1 skipped, 1 passed"
    assert deciding_cell(result.check("never_ran")) == "no evaluation set plain"
    assert deciding_cell(result.check("blew_up")) == "ValueError: broke on plain"
