"""A short Markdown summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`.

The verdict and why, a table of every check, and the top findings with one example record
each. Text that may come from the dataset (finding messages, record excerpts, labels, the
source name) is escaped for both Markdown and HTML, and `@` mentions are defused, so a dataset
cannot inject markup, links or notifications into a PR. Kept well under GitHub's 65,536
character limit for comments.
"""

from __future__ import annotations

import re
from pathlib import Path

from audit.result import AuditResult, Status
from reports import summary

TOP_FINDINGS = 10
EXCERPT_CHARS = 120
MAX_CHARS = 60_000
MAX_REASONS = 20

_STATUS_ICON = {Status.PASSED: "✅", Status.WARNED: "⚠️", Status.FAILED: "❌",
                Status.SKIPPED: "⏭️", Status.ERRORED: "💥"}
_MD_INLINE = re.compile(r"([\\`*_{}\[\]()!|~])")
_MD_BLOCK_START = re.compile(r"^(\d+)?([#+\-.=>)])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape_md(text: object) -> str:
    """Plain text safe inside Markdown (and a table cell): no markup, links, HTML or mentions."""
    value = _CONTROL.sub("", str(text))
    value = " ".join(value.split())  # newlines would end a table row or start a block
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _MD_INLINE.sub(r"\\\1", value)
    value = _MD_BLOCK_START.sub(lambda m: (m.group(1) or "") + "\\" + m.group(2), value)
    value = value.replace("://", ":\\/\\/").replace("www.", "www\\.")  # no autolinks
    return value.replace("@", "@\u200b")  # '@name' would notify a GitHub user


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _checks_table(result: AuditResult, *, passed: bool) -> list[str]:
    lines = ["| | check | status | deciding metric | value | threshold | findings |",
             "|---|---|---|---|---:|---|---:|"]
    checks = summary.checks_worst_first(result)
    hidden = 0
    if not passed:
        hidden = sum(1 for c in checks if c.status is Status.PASSED)
        checks = [c for c in checks if c.status is not Status.PASSED]
    for check in checks:
        d = summary.decision(check)
        if d.note:
            middle = f"{escape_md(_cut(d.note, 160))} | | "
        else:
            middle = f"{escape_md(d.metric)} | {escape_md(d.value)} | {escape_md(d.threshold)}"
        lines.append(f"| {_STATUS_ICON[check.status]} | {escape_md(check.name)} | "
                     f"{check.status.value.upper()} | {middle} | {len(check.findings)} |")
    if hidden:
        lines.append(f"| ✅ | {hidden:,} passed checks | PASSED | | | | |")
    return lines


def _findings(result: AuditResult, n: int) -> list[str]:
    top = summary.top_findings(result, n)
    if not top:
        return []
    lines = ["", f"### Top findings ({len(top)} of {sum(1 for _ in summary.iter_findings(result))})",
             ""]
    for check, finding in top:
        ids = ", ".join(str(i) for i in finding.records[:5])
        more = finding.n_records - min(5, len(finding.records))
        records = f" records {ids}" + (f" and {more:,} more" if more > 0 else "") if ids else ""
        lines.append(f"- **{finding.severity.name.lower()}** {escape_md(check.name)} / "
                     f"{escape_md(finding.code)}: {escape_md(_cut(finding.message, 300))}"
                     f" ({finding.n_records:,} record{'s' if finding.n_records != 1 else ''}"
                     f"{';' + records if records else ''})")
        example = result.examples.get(finding.records[0]) if finding.records else None
        excerpt = summary.example_text(example)
        if excerpt:
            lines.append(f"  - e.g. record {finding.records[0]}: "
                         f"{escape_md(_cut(excerpt, EXCERPT_CHARS))}")
    return lines


def render_markdown(result: AuditResult, *, top: int = TOP_FINDINGS, passed: bool = True) -> str:
    """The summary; when too long for a PR comment, fewer findings, then passed checks folded."""
    icon = "✅" if result.verdict.go else "❌"
    word = "GO" if result.verdict.go else "NO-GO"
    info = result.dataset
    lines = [f"## {icon} ft-audit: {word}", "",
             f"{escape_md(_cut(info.source, 200))}: {info.n_records:,} records, schema "
             f"{escape_md(info.schema)}, {summary.tally_text(result) or 'no checks'}.", ""]
    accepted = summary.baseline_text(result)
    if accepted:
        lines += [escape_md(_cut(accepted, 1500)), ""]
    if not result.verdict.go:
        lines.append("**Why no-go:**")
        reasons = result.verdict.reasons
        lines.extend(f"- {escape_md(_cut(reason, 400))}" for reason in reasons[:MAX_REASONS])
        if len(reasons) > MAX_REASONS:
            lines.append(f"- and {len(reasons) - MAX_REASONS} more")
        lines.append("")
    lines.extend(_checks_table(result, passed=passed))
    lines.extend(_findings(result, top))
    lines += ["", f"<sub>ft-audit {escape_md(result.tool_version)} · seed {result.seed} · "
                  f"fingerprint {escape_md(info.fingerprint)} · {result.duration_s:.1f}s. "
                  "Full evidence: the HTML report and JSON result.</sub>", ""]
    text = "\n".join(lines)
    if len(text) > MAX_CHARS and top > 0:
        return render_markdown(result, top=top // 2, passed=passed)
    if len(text) > MAX_CHARS and passed:
        return render_markdown(result, top=TOP_FINDINGS, passed=False)
    return text


def write_markdown(result: AuditResult, path: str | Path) -> Path:
    from audit.io import atomic_write_text

    return atomic_write_text(path, render_markdown(result))
