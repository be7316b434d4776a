"""The Markdown summary: content, and dataset text that cannot inject markup."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from audit.result import AuditResult
from audit.runner import run_audit
from reports.markdown_report import MAX_CHARS, escape_md, render_markdown, write_markdown
from tests.reports.conftest import FAST_CHECKS, XSS_PAYLOADS, every_status_result, xss_records

# raw HTML on, as GitHub allows some: escaped text must not turn into tags
MD = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def rendered(text: str) -> str:
    return MD.render(text)


def test_summary_has_verdict_table_and_top_findings() -> None:
    text = render_markdown(every_status_result())
    assert text.startswith("## ❌ ft-audit: NO-GO")
    assert "**Why no-go:**" in text and "bad\\_fail failed" in text
    html = rendered(text)
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    assert len(rows) == 1 + 5  # header + one per check
    # worst first: failed, errored, warned, skipped, passed
    order = [re.findall(r"<td>(.*?)</td>", row)[1] for row in rows[1:]]
    assert order == ["bad_fail", "blew_up", "some_warn", "never_ran", "all_good"]
    assert re.search(r"<td[^>]*>0.5</td>", html) and "warn &gt; 0.1, fail &gt; 0.2" in html
    assert "no evaluation set plain" in html  # skipped reason
    assert "### Top findings (3 of 3)" in text
    # most severe first, with its record count, ids and an example excerpt
    first = text.index("**error** bad\\_fail / dup")
    assert first < text.index("**warning** some\\_warn") < text.index("**info** bad\\_fail")
    assert "5,000 records; records 0, 1, 2, 3, 4 and 4,995 more" in text
    assert "e.g. record 0: prompt 0 plain → response 0 plain xxxxx \\[label: lab\\]" in text


def test_go_summary() -> None:
    text = render_markdown(every_status_result(go=True))
    assert text.startswith("## ✅ ft-audit: GO") and "Why no-go" not in text


def test_real_audit(audit_result: AuditResult) -> None:
    text = render_markdown(audit_result)
    assert "empty\\_responses" in text and "exact\\_duplicates" in text
    assert audit_result.dataset.fingerprint in text


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_dataset_text_cannot_inject_markup(payload: str) -> None:
    html = rendered(render_markdown(every_status_result(payload)))
    assert not re.search(r"<(script|img|iframe|svg|details|style|a|textarea)\b", html)
    assert "__xss" not in "".join(re.findall(r"<[^>]*>", html))  # never inside a tag


def test_escape_md_neutralises_markdown_links_mentions_and_tables() -> None:
    cases = {
        "[x](javascript:alert(1))": "<a ",
        "![i](http://evil.example/i.png)": "<img",
        "http://evil.example and www.evil.example": "<a ",
        "<b>bold</b>": "<b>",
        "**strong** _em_ `code`": "<strong>",
        "# heading": "<h1>",
        "1. item": "<ol>",
        "- item": "<ul>",
        "> quote": "<blockquote>",
    }
    for text, forbidden in cases.items():
        html = MD.render(escape_md(text))
        assert forbidden not in html, (text, html)
    linkify = MarkdownIt("commonmark", {"linkify": True}) if _has_linkify() else None
    if linkify is not None:
        linkify.enable("linkify")
        assert "<a " not in linkify.render(escape_md("see http://evil.example now"))
    assert "@\u200beveryone" in escape_md("@everyone")
    cell = MD.render("| a |\n|---|\n| " + escape_md("x | y\nz") + " |\n")
    assert cell.count("<td>") == 1 and "x | y z" in cell


def _has_linkify() -> bool:
    try:
        import linkify_it  # noqa: F401
    except ImportError:
        return False
    return True


def test_xss_audit_markdown() -> None:
    result = run_audit(xss_records(), checks=FAST_CHECKS)
    html = rendered(render_markdown(result))
    assert "e.g. record" in html
    assert not re.search(r"<(script|img|iframe|svg|details|style|a|textarea)\b", html)


def test_size_stays_under_the_comment_limit() -> None:
    base = every_status_result("x" * 2000)
    text = render_markdown(base)
    assert len(text) < MAX_CHARS
    passed = next(c for c in base.checks if c.name == "all_good")
    many = base.with_checks([*base.checks, *([passed] * 3000)], base.verdict)
    text = render_markdown(many)
    assert len(text) < MAX_CHARS
    assert "3,001 passed checks" in text and "bad\\_fail" in text and "Top findings" in text


def test_write_markdown(tmp_path) -> None:
    path = write_markdown(every_status_result(), tmp_path / "s.md")
    assert path.read_text(encoding="utf-8").startswith("## ❌")
