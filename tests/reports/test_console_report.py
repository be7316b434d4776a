"""The console summary agrees with the other renderers (shared formatting in reports.summary)."""

from __future__ import annotations

import io

from rich.console import Console

from audit.result import Threshold
from reports.console_report import deciding_cell, print_check_list, print_summary, verdict_line
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


class _FakeCheck:
    name = "fake_check"
    category = "integrity"
    requires = frozenset()
    default_thresholds = (Threshold(metric="rate", warn=0.1, fail=0.2),)
    enabled_by_default = False

    @classmethod
    def summary(cls) -> str:
        return "Finds fake problems in records."


def test_check_list_is_a_table_when_wide_and_blocks_when_narrow() -> None:
    for width, table in ((200, True), (80, False)):
        buffer = io.StringIO()
        print_check_list([_FakeCheck], console=Console(file=buffer, width=width,
                                                       color_system=None))
        text = buffer.getvalue()
        assert "fake_check (off by default)" in text and "rate ≤ 0.1/0.2" in text
        assert ("┃" in text) is table
        if not table:
            assert "  Finds fake problems in records." in text.splitlines()
