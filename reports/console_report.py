"""Console output with rich: the summary table, the check list, a check's help."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from audit.result import AuditResult, CheckResult, Status
from reports import summary

STATUS_STYLE = {Status.PASSED: "green", Status.WARNED: "yellow", Status.FAILED: "bold red",
                Status.SKIPPED: "dim", Status.ERRORED: "bold magenta"}


def _fmt(value: float | None) -> str:
    return summary.fmt_number(value)


def deciding_cell(result: CheckResult) -> str:
    """The deciding metric, its value and thresholds, or the skip/error reason (one line)."""
    return summary.decision_text(result)[:120]


def verdict_line(result: AuditResult) -> Text:
    return Text(summary.verdict_headline(result),
                style="bold green" if result.verdict.go else "bold red")


def print_summary(result: AuditResult, *, quiet: bool = False,
                  console: Console | None = None) -> None:
    console = console or Console()
    if not quiet:
        info = result.dataset
        fields = ", ".join(f"{k}={v}" for k, v in info.fields.items())
        skipped = f", {info.n_skipped} skipped" if info.n_skipped else ""
        console.print(Text.assemble((info.source, "bold"), f": {info.n_records:,} records, schema ",
                                    (info.schema, "cyan"), f" ({fields}){skipped}"))
        wide = console.width >= 120  # the category column only where there is room
        table = Table(show_lines=False, header_style="bold", pad_edge=False)
        table.add_column("check", no_wrap=True)
        if wide:
            table.add_column("category", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("decided by", overflow="fold", ratio=1)
        table.add_column("found", justify="right", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        for check in summary.checks_worst_first(result):
            cells: list[str | Text] = [check.name, *([check.category] if wide else []),
                     Text(check.status.value.upper(), style=STATUS_STYLE[check.status]),
                     Text(deciding_cell(check)), str(len(check.findings)),
                     f"{check.duration_s:.2f}s"]
            table.add_row(*cells)
        console.print(table)
        accepted = summary.baseline_text(result)
        if accepted:
            console.print(Text(accepted), style="dim")
        if result.cache_use is not None:
            console.print(cache_line(result), style="dim")
    console.print(verdict_line(result))


def cache_line(result: AuditResult) -> str:
    """What the run did with its incremental cache (`run --cache`)."""
    use = result.cache_use or {}
    read, computed = int(use.get("read", 0)), int(use.get("computed", 0))
    reused = int(use.get("reused", 0))
    share = f" ({read / (read + computed):.0%} read)" if read + computed else ""
    again = f"; {reused:,} reused within the run" if reused else ""
    return (f"Incremental cache: {read:,} per-text values read from earlier runs, {computed:,} "
            f"computed{share}{again}")


def print_check_list(checks: Iterable[Any], console: Console | None = None) -> None:
    """A table on wide terminals; on narrow ones one short block per check (no folded words)."""
    console = console or Console()
    rows = []
    for cls in checks:
        thresholds = "; ".join(
            f"{t.metric} {'≤' if t.direction == 'max' else '≥'} "
            + "/".join(_fmt(v) for v in (t.warn, t.fail) if v is not None)
            for t in cls.default_thresholds)
        needs = ", ".join(sorted(n.value for n in cls.requires)) or "-"
        name = cls.name + ("" if cls.enabled_by_default else " (off by default)")
        rows.append((name, cls.category, needs, thresholds or "-", cls.summary()))
    if console.width < 120:
        for name, category, needs, thresholds, what in rows:
            console.print(Text.assemble((name, "bold"), f" ({category})"))
            console.print(Text(f"  {what}"))
            console.print(Text(f"  needs: {needs} · thresholds: {thresholds}", style="dim"))
        return
    table = Table(header_style="bold")
    for column in ("check", "category", "needs", "default thresholds", "what it finds"):
        table.add_column(column, overflow="fold", no_wrap=column == "check")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_check_help(cls: Any, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"[bold]{cls.name}[/] ({cls.category})", highlight=False)
    console.print(cls.describe(), highlight=False, markup=False)
    needs = ", ".join(sorted(n.value for n in cls.requires)) or "nothing beyond the records"
    console.print(f"\nNeeds: {needs}", highlight=False)
    if not cls.enabled_by_default:
        console.print("Off by default: enable it in the config ([checks.NAME] enabled = true).")
    specs = cls.param_specs()
    if specs:
        table = Table(title="Parameters", header_style="bold")
        for column in ("name", "type", "default", "bounds", "meaning"):
            table.add_column(column, overflow="fold")
        for s in specs:
            table.add_row(s.name, s.type, repr(s.default), s.bounds, s.doc)
        console.print(table)
    if cls.default_thresholds:
        table = Table(title="Default thresholds", header_style="bold")
        for column in ("metric", "direction", "warn", "fail"):
            table.add_column(column)
        for t in cls.default_thresholds:
            table.add_row(t.metric, "upper bound" if t.direction == "max" else "lower bound",
                          _fmt(t.warn), _fmt(t.fail))
        console.print(table)
    if cls.metrics:
        console.print("Metrics: " + ", ".join(cls.metrics), highlight=False)
