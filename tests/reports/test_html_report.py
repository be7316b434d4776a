"""The HTML report: content, self-containment, escaping, size caps."""

from __future__ import annotations

import re

import pytest

from audit.result import AuditResult, CheckResult, Finding, Severity, Status
from audit.runner import run_audit
from reports import html_report
from reports.html_report import render_fragment, render_html, write_html
from tests.reports.conftest import (
    FAST_CHECKS,
    XSS_PAYLOADS,
    collect_tags,
    every_status_result,
    xss_records,
)

EXTERNAL_ATTRS = ("src", "href", "xlink:href", "action", "formaction", "data", "poster",
                  "background", "srcset")


def assert_self_contained(html: str, *, allow_url_text: bool = False) -> None:
    """No external reference of any kind, and exactly our one script and one style sheet."""
    parsed = collect_tags(html)
    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("script") == 1 and tags.count("style") == 1
    for forbidden in ("iframe", "img", "object", "embed", "base", "form", "frame", "image",
                      "audio", "video", "source", "foreignobject"):
        assert forbidden not in tags, f"<{forbidden}> in the report"
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            if name in EXTERNAL_ATTRS:
                value = value or ""
                assert value.startswith("#") or value == "data:,", f"<{tag} {name}={value!r}>"
                assert "//" not in value
        if tag == "link":
            assert attrs.get("rel") == "icon" and attrs.get("href") == "data:,"
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            raise AssertionError("meta refresh")
    css = "\n".join(parsed.css)
    assert "@import" not in css
    assert not re.search(r"url\(\s*(?!#)", css), "url() that is not a local reference"
    if not allow_url_text:  # the dataset has no URLs, so the page has none at all
        assert "http://" not in html and "https://" not in html and "@import" not in html
        assert not re.search(r"url\(\s*(?!#)", html)


def test_real_audit_report_shows_verdict_checks_and_evidence(audit_result: AuditResult) -> None:
    html = render_html(audit_result)
    assert_self_contained(html)
    assert 'id="verdict"' in html and ">NO-GO<" in html
    assert "empty_responses failed" in html  # the reason, at the top
    for name in FAST_CHECKS:
        assert f'id="check-{name}"' in html
    # the duplicate pair (records 1 and 9) is shown with its text
    rows = re.findall(r'<tr>\s*<td class="num">(\d+)</td>', html)
    assert {"1", "9", "5"} <= set(rows)
    assert "A customer asks about password reset" in html
    assert audit_result.dataset.fingerprint in html
    assert "Records identical to another after normalisation" in html  # the docstring


def test_go_verdict_and_every_status_shown() -> None:
    go = render_html(every_status_result(go=True))
    assert ">GO<" in go and "verdict go" in go
    html = render_html(every_status_result())
    assert_self_contained(html)
    assert "verdict nogo" in html and ">NO-GO<" in html
    for status in ("PASSED", "WARNED", "FAILED", "SKIPPED", "ERRORED"):
        assert f">{status}</span>" in html
    assert "no evaluation set plain" in html  # skipped reason in the table and section
    assert "Skipped:</strong>" in html and "never counts as a pass" in html
    assert "ValueError: broke on plain\nTraceback line 2" in html  # error in full, in a <pre>
    assert "bad_fail failed: rate = 0.5 &gt; 0.2" in html
    # deciding metric, value and threshold in the summary table
    assert re.search(r"<td>rate</td>\s*<td class=\"num\">0.5</td>\s*<td>warn &gt; 0.1, "
                     r"fail &gt; 0.2</td>", html)
    # footer: source, fingerprint, schema, seed, version, per-check time
    for text in ("data/plain.jsonl", "sha256:abc123", "alpaca", "9.9.9", "2.000s", "1.250s",
                 "(2 skipped as unreadable)"):
        assert text in html


def test_charts_are_inline_svg_from_detail_shapes() -> None:
    html = render_html(every_status_result())
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    # all_good: label_counts (bar); some_warn: rates (intervals) + curve (line);
    # bad_fail: cluster_sizes (bar)
    assert len(svgs) == 4
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate element ids across charts"
    for svg in svgs:
        assert "xmlns" not in svg and "<metadata" not in svg
    assert render_html(every_status_result(), charts=False).count("<svg") == 0


def test_findings_rows_are_capped_and_point_to_the_json() -> None:
    html = render_html(every_status_result())
    section = html[html.index('id="check-bad_fail"'):html.index('id="check-never_ran"')]
    rows = re.findall(r'<tr>\s*<td class="num">\d+</td>', section)
    # 10 rows for the big finding (ROWS_PER_FINDING) + 1 for the info finding
    assert len(rows) == html_report.ROWS_PER_FINDING + 1
    assert "and 4,980 more (all ids in the JSON result)" in section
    assert "4,990 more flagged records not shown here" in section
    # long excerpts are truncated with a way to expand
    assert '<details class="expand"><summary>response 1 plain xxx' in html


def test_docstring_backticks_become_code_after_escaping() -> None:
    html = render_html(every_status_result("<b>x</b>"))
    assert "Warns about <code>things</code> &lt;b&gt;x&lt;/b&gt;." in html


def test_dataset_text_is_escaped_everywhere() -> None:
    from markupsafe import escape

    for i, payload in enumerate(XSS_PAYLOADS):
        # charts once (their labels are escaped by matplotlib; see test_charts.py)
        html = render_html(every_status_result(payload), charts=i == 0)
        assert_self_contained(html, allow_url_text=True)
        assert "window.__xss" not in "".join(collect_tags(html).script_text)
        if any(ch in payload for ch in "<>\"'&"):
            assert payload not in html
        assert str(escape(payload)) in html


def test_xss_dataset_audit_renders_as_text() -> None:
    result = run_audit(xss_records(), checks=FAST_CHECKS)
    assert result.examples, "the audit should reference records with payload text"
    html = render_html(result)
    assert_self_contained(html, allow_url_text=True)
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "javascript:window.__xss=6" in html  # as text, never as a link
    assert not re.search(r"<(script|img|iframe|svg|details)[^>]*(__xss|onerror|onload|ontoggle)",
                         html)


def test_csp_allows_only_our_script() -> None:
    import base64
    import hashlib

    html = render_html(every_status_result())
    meta = [attrs for tag, attrs in collect_tags(html).tags
            if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(meta) == 1
    policy = meta[0]["content"] or ""
    assert html.index("Content-Security-Policy") < html.index("<style>")
    assert "default-src 'none'" in policy
    script = "".join(collect_tags(html).script_text)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy


def test_large_audit_stays_under_two_megabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of findings of 50,000 records each, 2000 long excerpts and chart-shaped details in
    every check: rows, findings and charts are capped.

    Drawing is the slow part, so every chart is the largest one the caps allow (25 bars with
    long labels and values), drawn once and reused.
    """
    from reports import charts

    widest = charts.find_charts({"counts": {f"label number {i:>16}": 10_000 + i
                                            for i in range(100)}})[0]
    worst_svg = charts.render_svg(widest, "worst")
    monkeypatch.setattr(charts, "render_svg", lambda spec, chart_id: worst_svg.replace(
        "worst", chart_id))
    base = every_status_result()
    long_text = "word " * 120  # the runner's excerpts are capped at 600 characters
    examples = {i: {"line": i, "prompt": long_text, "response": long_text, "label": "lab"}
                for i in range(2000)}
    checks = []
    for c in range(30):
        findings = tuple(Finding(check=f"check_{c}", code="code", severity=Severity.WARNING,
                                 message="m" * 200, records=tuple(range(f, f + 30)),
                                 n_records=50_000, details={"k": list(range(50))})
                         for f in range(200))
        checks.append(CheckResult(
            name=f"check_{c}", category="x", status=Status.FAILED, findings=findings,
            metrics={f"m{i}": float(i) for i in range(20)},
            details={"label_counts": {f"label {i}": i + 1 for i in range(500)},
                     "curve": [{"x": i, "y": i * 0.5} for i in range(1000)],
                     "big": list(range(5000))}))
    big = AuditResult(tool_version="1", dataset=base.dataset, checks=tuple(checks),
                      verdict=base.verdict, config={}, seed=0, examples=examples)
    html = render_html(big)
    assert len(html.encode()) < 2_000_000, len(html.encode())
    assert html.count('<tr>\n        <td class="num">') == html_report.ROWS_TOTAL
    assert len(re.findall(r'<li class="finding', html)) == html_report.FINDINGS_TOTAL
    svgs = re.findall(r"<svg .*?</svg>", html)
    assert 30 <= len(svgs) <= html_report.CHARTS_TOTAL
    assert sum(map(len, svgs)) <= html_report.CHART_BYTES_TOTAL + max(map(len, svgs))
    assert "more findings are in the JSON result" in html
    assert_self_contained(html)


def test_chart_bytes_are_budgeted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a chart weighs, charts together stay within CHART_BYTES_TOTAL (plus one)."""
    from reports import charts

    heavy = 150_000
    monkeypatch.setattr(charts, "render_svg", lambda spec, chart_id: (
        f'<svg id="{chart_id}">' + "<g></g>" * (heavy // 7) + "</svg>"))
    base = every_status_result()
    checks = [CheckResult(name=f"c{i}", category="x", status=Status.PASSED,
                          details={"counts": {"a": 1, "b": 2}}) for i in range(30)]
    html = render_html(base.with_checks(checks, base.verdict))
    svg_bytes = sum(len(s) for s in re.findall(r"<svg .*?</svg>|<svg id.*?</svg>", html))
    assert svg_bytes <= html_report.CHART_BYTES_TOTAL + heavy + 100
    assert "chart size budget is spent" in html


def test_write_html_and_result_methods(tmp_path, audit_result: AuditResult) -> None:
    path = write_html(audit_result, tmp_path / "r.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    html = audit_result.to_html(str(tmp_path / "m.html"))
    assert (tmp_path / "m.html").read_text(encoding="utf-8") == html
    fragment = audit_result._repr_html_()
    assert fragment.startswith('<div class="fta fta-fragment">')
    assert "<script" not in fragment and "<svg" not in fragment
    assert "NO-GO" in fragment and "empty_responses" in fragment


def test_fragment_escapes_too() -> None:
    fragment = render_fragment(every_status_result("<script>window.__xss=1</script>"))
    assert "<script" not in fragment
    assert "&lt;script&gt;" in fragment


@pytest.mark.parametrize("status", list(Status))
def test_single_check_of_each_status_renders(status: Status) -> None:
    base = every_status_result()
    check = next(c for c in base.checks if c.status is status)
    result = base.with_checks([check], base.verdict)
    html = render_html(result)
    assert f'id="check-{check.name}"' in html
    assert_self_contained(html)


def test_long_finding_lists_fold_after_the_first_ones() -> None:
    base = every_status_result()
    findings = tuple(Finding(check="many", code=f"c{i}", severity=Severity.WARNING,
                             message=f"finding number {i}", records=(i,)) for i in range(15))
    check = CheckResult(name="many", category="x", status=Status.WARNED, findings=findings)
    html = render_html(base.with_checks([check], base.verdict), charts=False)
    section = html[html.index('id="check-many"'):]
    open_part = section[:section.index("more findings</summary>")]
    assert len(re.findall(r'<li class="finding', open_part)) == html_report.FINDINGS_OPEN
    assert f"{15 - html_report.FINDINGS_OPEN} more findings</summary>" in section
    assert len(re.findall(r'<li class="finding', section)) == 15
    assert f'<ol class="findings" start="{html_report.FINDINGS_OPEN + 1}">' in section
