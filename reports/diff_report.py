"""`ft-audit diff` output: Markdown for a pull-request comment or `$GITHUB_STEP_SUMMARY`, and a
console table. Both read only the diff's result types (`audit.diff`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from audit.diff import AuditDiff, CheckDiff, FindingChange, worst_first
from reports.markdown_report import escape_md
from reports.summary import fmt_number

#: record ids quoted per finding code (the counts are complete)
IDS_SHOWN = 10


def headline(diff: AuditDiff) -> str:
    if diff.regressions:
        return f"REGRESSION: {len(diff.regressions)} check change(s) made the data worse"
    return "No regression"


def _verdict(go: bool) -> str:
    return "GO" if go else "NO-GO"


def _data_line(diff: AuditDiff) -> str:
    data = diff.data
    if not data.comparable:
        return "records not compared (a result has no content hashes)"
    return (f"{len(data.added):,} added, {len(data.removed):,} removed, {len(data.edited):,} "
            f"edited, {data.unchanged:,} unchanged")


def _metric_cell(check: CheckDiff) -> str:
    metric = check.deciding_metric
    change = next((m for m in check.metrics if m.metric == metric), None)
    if metric is None or change is None:
        return metric or "-"
    return f"{metric} {fmt_number(change.base)} → {fmt_number(change.head)}"


def _ids(ids: tuple[int, ...], total: int) -> str:
    shown = ", ".join(str(i) for i in ids[:IDS_SHOWN])
    more = total - min(total, IDS_SHOWN)
    return shown + (f" and {more:,} more" if more > 0 else "")


def render_diff_markdown(diff: AuditDiff) -> str:
    icon = "❌" if diff.regressions else "✅"
    lines = [f"## {icon} ft-audit diff: {headline(diff)}", "",
             f"Base `{escape_md(diff.base_source)}` ({_verdict(diff.base_go)}) → head "
             f"`{escape_md(diff.head_source)}` ({_verdict(diff.head_go)}). Records: "
             f"{_data_line(diff)}.", ""]
    lines += [f"> {escape_md(note)}" for note in diff.notes]
    changed = [c for c in worst_first(diff.checks) if c.changed]
    if changed:
        lines += ["| | check | status | deciding metric | new flags (on added or edited "
                  "records) | resolved |",
                  "|---|---|---|---|---:|---:|"]
        for check in changed:
            mark = "❌" if check.regressions else ("⚠️" if check.n_new else "")
            lines.append(f"| {mark} | `{check.name}` | {_status_cell(check)} | "
                         f"{escape_md(_metric_cell(check))} | {_new_cell(check)} | "
                         f"{check.n_resolved:,} |")
    unchanged = len(diff.checks) - len(changed)
    lines += ["", f"{unchanged} check(s) unchanged."]
    if diff.regressions:
        lines += ["", "### Regressions", ""]
        lines += [f"- {escape_md(r)}" for r in diff.regressions]
    new = [(c, f) for c in changed for f in c.findings if f.n_new]
    if new:
        lines += ["", "### Records newly flagged (ids in the head dataset)", ""]
        lines += [f"- `{c.name}` `{f.code}`: {_ids(f.new, f.n_new)}{_unchanged_note(f)}"
                  for c, f in new]
        if any(f.n_new > f.n_new_changed for _, f in new):
            lines += ["", "Records the change added or edited come first. An unchanged record "
                      "flagged anew was flagged by a check that weighs each record against "
                      "the whole dataset (a model, clusters, rates) that moved with the change, or "
                      "one that gained a copy."]
    notes = [(c, n) for c in changed for n in c.notes]
    if notes:
        lines += ["", "### Notes", ""]
        lines += [f"- `{c.name}`: {escape_md(n)}" for c, n in notes]
    return "\n".join(lines) + "\n"


def print_diff(diff: AuditDiff, console: Console | None = None) -> None:
    console = console or Console()
    console.print(Text(headline(diff), style="bold red" if diff.regressions else "bold green"))
    console.print(f"records: {_data_line(diff)}", highlight=False)
    for note in diff.notes:
        console.print(Text(f"note: {note}", style="dim"))
    changed = [c for c in worst_first(diff.checks) if c.changed]
    if not changed:
        console.print("no check changed")
        return
    whys = ["; ".join((*check.regressions, *check.notes)) for check in changed]
    if console.width < 110:  # one short block per check: no column folded to a few letters
        for check, why in zip(changed, whys, strict=True):
            console.print(Text.assemble(
                (check.name, "bold red" if check.regressions else "bold"),
                f"  {_status_cell(check)}  ", (f"{_new_cell(check)} new, "
                                               f"{check.n_resolved:,} resolved", "dim")))
            console.print(Text(f"  {_metric_cell(check)}"))
            if why:
                console.print(Text(f"  why: {why}", style="red" if check.regressions else ""))
        return
    table = Table(header_style="bold", pad_edge=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("deciding metric", overflow="fold", ratio=1)
    table.add_column("new (added/edited)", justify="right", no_wrap=True)
    table.add_column("resolved", justify="right", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    for check, why in zip(changed, whys, strict=True):
        table.add_row(Text(check.name, style="bold red" if check.regressions else ""),
                      _status_cell(check), _metric_cell(check), _new_cell(check),
                      f"{check.n_resolved:,}", why)
    console.print(table)


def _new_cell(check: CheckDiff) -> str:
    """'224 (2)': records newly flagged, and of them those the change added or edited."""
    return f"{check.n_new:,} ({check.n_new_changed:,})" if check.n_new else "0"


def _unchanged_note(change: FindingChange) -> str:
    unchanged = change.n_new - change.n_new_changed
    if not unchanged:
        return ""
    if unchanged < change.n_new:
        return f" ({unchanged:,} of them unchanged)"
    return " (unchanged records)" if unchanged > 1 else " (an unchanged record)"


def _status_cell(check: CheckDiff) -> str:
    return (f"{check.base_status or '-'} → {check.head_status or '-'}"
            if check.base_status != check.head_status else check.head_status or "-")
