"""The self-contained HTML report: one file that opens offline and shows why the verdict is what it is.

Layout: the verdict and its reasons; a table of every check (status, deciding metric, value,
threshold; skipped and errored checks shown as such); one section per check (its docstring,
metrics, charts found in its details, findings, and a sortable, filterable table of flagged
records with their text); a footer with the dataset, config, seed, tool version and timings.

Safety: the template is rendered by jinja2 with autoescape on, so every string from the
dataset or a result is escaped; charts are inline SVG checked to reference nothing outside
themselves (`reports.charts`); the only script is inline and allowed by hash in a
Content-Security-Policy that forbids every network request and any other script.

Size: example rows, findings and raw details are capped (constants below); the counts of what
was left out point to the JSON result, which keeps every record id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.result import AuditResult, CheckResult, Finding
from reports import summary

TEMPLATES = Path(__file__).parent / "templates"

#: rows of flagged records shown per finding, per check, and in the whole report
ROWS_PER_FINDING = 10
ROWS_PER_CHECK = 40
ROWS_TOTAL = 300
#: findings listed per check and in the whole report
FINDINGS_PER_CHECK = 50
FINDINGS_TOTAL = 400
#: findings listed open per check (the rest of the shown ones behind "N more findings")
FINDINGS_OPEN = 10
#: record ids written out per finding
IDS_PER_FINDING = 20
#: characters of a finding's message shown
MESSAGE_CHARS = 400
#: characters of record text shown before "expand"
PREVIEW_CHARS = 140
#: characters of a check's raw details JSON shown
DETAILS_CHARS = 3000
#: characters of a finding's details JSON shown
FINDING_DETAILS_CHARS = 300
#: charts in the whole report, and the bytes of SVG they may take together
CHARTS_TOTAL = 40
CHART_BYTES_TOTAL = 600_000


@dataclass(frozen=True)
class TextCell:
    """Record text: a preview, and the whole excerpt when the preview cut it."""

    preview: str
    full: str | None


@dataclass(frozen=True)
class RecordRow:
    record: int
    finding: str
    severity: str
    severity_rank: int
    line: str
    cells: tuple[TextCell, ...]
    baseline: str = ""  # "known" or "new" under `run --baseline`; "" without one


@dataclass(frozen=True)
class FindingView:
    code: str
    severity: str
    message: str
    value: str
    threshold: str
    metric: str
    n_records: int
    record_ids: tuple[int, ...]
    more_ids: int
    details: str


@dataclass(frozen=True)
class MetricRow:
    name: str
    value: str
    threshold: str
    outcome: str


@dataclass(frozen=True)
class ChartView:
    title: str
    svg: str
    note: str


@dataclass
class CheckView:
    name: str
    anchor: str
    category: str
    status: str
    status_rank: int
    decision: summary.Decision
    n_findings: int
    duration: str
    duration_s: float
    paragraphs: list[str]
    params: list[tuple[str, str]]
    metrics: list[MetricRow]
    charts: list[ChartView] = field(default_factory=list)
    findings: list[FindingView] = field(default_factory=list)
    findings_left_out: int = 0
    rows: list[RecordRow] = field(default_factory=list)
    rows_left_out: int = 0
    text_columns: tuple[str, ...] = ()
    baseline_column: bool = False  # whether the rows say known or new (`run --baseline`)
    details: str = ""
    details_cut: bool = False
    error: str | None = None
    skipped_reason: str | None = None


def _anchor(name: str, used: set[str]) -> str:
    base = "check-" + (re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "x")
    anchor, n = base, 1
    while anchor in used:
        n += 1
        anchor = f"{base}-{n}"
    used.add(anchor)
    return anchor


def _json_text(value: Any, limit: int) -> tuple[str, bool]:
    text = json.dumps(value, indent=1, ensure_ascii=False, sort_keys=False, default=str)
    if len(text) <= limit:
        return text, False
    return text[:limit] + "\n…", True


def _text_cell(value: Any) -> TextCell:
    if value is None:
        return TextCell("", None)
    text = str(value)
    if len(text) <= PREVIEW_CHARS:
        return TextCell(text, None)
    return TextCell(text[:PREVIEW_CHARS].rstrip() + "…", text)


def _text_columns(result: AuditResult) -> tuple[str, ...]:
    """The excerpt fields to show: the usual ones first, then any other a runner added."""
    seen: list[str] = []
    for example in result.examples.values():
        for key in example:
            if key not in seen and key not in ("line", "id"):
                seen.append(key)
    ordered = [k for k in ("label", "prompt", "response") if k in seen]
    return tuple(ordered + [k for k in seen if k not in ordered])


class _Budget:
    """What is left to show in the whole report."""

    def __init__(self, rows: int, findings: int, charts: int, chart_bytes: int) -> None:
        self.rows = rows
        self.findings = findings
        self.charts = charts
        self.chart_bytes = chart_bytes


def _metric_rows(check: CheckResult) -> list[MetricRow]:
    rows = []
    for name, value in check.metrics.items():
        threshold = summary.threshold_for(check, name)
        outcome = threshold.outcome(value).value if threshold is not None and not math.isnan(value) \
            else ""
        rows.append(MetricRow(name, summary.fmt_number(value), summary.threshold_text(threshold),
                              outcome))
    return rows


def _finding_view(finding: Finding) -> FindingView:
    details, _ = _json_text(dict(finding.details), FINDING_DETAILS_CHARS) if finding.details \
        else ("", False)
    return FindingView(
        code=finding.code, severity=finding.severity.name.lower(),
        message=finding.message if len(finding.message) <= MESSAGE_CHARS
        else finding.message[:MESSAGE_CHARS] + "…",
        metric=finding.metric or "", value=summary.fmt_number(finding.value),
        threshold=summary.fmt_number(finding.threshold) if finding.threshold is not None else "",
        n_records=finding.n_records, record_ids=finding.records[:IDS_PER_FINDING],
        more_ids=max(0, finding.n_records - min(len(finding.records), IDS_PER_FINDING)),
        details=details)


def _record_rows(result: AuditResult, findings: list[Finding], columns: tuple[str, ...],
                 budget: _Budget) -> tuple[list[RecordRow], int]:
    rows: list[RecordRow] = []
    total = 0
    for finding in findings:
        total += finding.n_records
        marks = finding.record_values.get("baseline")
        marks = marks if isinstance(marks, (list, tuple)) and len(marks) == len(finding.records) \
            else None
        order = range(len(finding.records)) if marks is None else \
            sorted(range(len(finding.records)), key=lambda i: marks[i] != "new")  # new first
        for i in list(order)[:ROWS_PER_FINDING]:
            if len(rows) >= ROWS_PER_CHECK or budget.rows <= 0:
                break
            record_id = finding.records[i]
            example = result.examples.get(record_id, {})
            line = example.get("line")
            rows.append(RecordRow(
                record=record_id, finding=finding.code, severity=finding.severity.name.lower(),
                severity_rank=int(finding.severity), line="" if line is None else str(line),
                cells=tuple(_text_cell(example.get(c)) for c in columns),
                baseline="" if marks is None else str(marks[i])))
            budget.rows -= 1
    return rows, total - len(rows)


def _check_view(result: AuditResult, check: CheckResult, anchor: str, columns: tuple[str, ...],
                budget: _Budget) -> CheckView:
    ordered = sorted(check.findings, key=lambda f: -int(f.severity))
    shown = ordered[: max(0, min(summary.findings_shown(check, FINDINGS_PER_CHECK),
                                 budget.findings))]
    budget.findings -= len(shown)
    rows, left_out = _record_rows(result, shown, columns, budget)
    left_out += sum(f.n_records for f in ordered[len(shown):])
    details, cut = _json_text(dict(check.details), DETAILS_CHARS) if check.details else ("", False)
    view = CheckView(
        name=check.name, anchor=anchor, category=check.category, status=check.status.value,
        status_rank=summary.STATUS_ORDER.index(check.status), decision=summary.decision(check),
        n_findings=len(check.findings), duration=f"{check.duration_s:.2f}s",
        duration_s=check.duration_s, paragraphs=summary.paragraphs(check.description),
        params=[(k, json.dumps(v, ensure_ascii=False, default=str)) for k, v in check.params.items()],
        metrics=_metric_rows(check), findings=[_finding_view(f) for f in shown],
        findings_left_out=len(ordered) - len(shown), rows=rows, rows_left_out=left_out,
        text_columns=columns, baseline_column=any(r.baseline for r in rows), details=details,
        details_cut=cut, error=check.error, skipped_reason=check.skipped_reason)
    if budget.charts > 0 and check.details:
        view.charts = _charts(check.details, anchor, budget)
    return view


def _charts(details: Mapping[str, Any], anchor: str, budget: _Budget) -> list[ChartView]:
    from reports.charts import MAX_CHARTS_PER_CHECK, UnsafeSvgError, find_charts, render_svg

    views = []
    specs = find_charts(details, limit=min(MAX_CHARTS_PER_CHECK, budget.charts))
    budget.charts -= len(specs)
    for i, spec in enumerate(specs):
        if budget.chart_bytes <= 0:
            views.append(ChartView(spec.title, "", "not drawn: the report's chart size budget "
                                                   "is spent (the data is in the raw details)"))
            continue
        try:
            svg = render_svg(spec, f"{anchor}-c{i}")
        except (UnsafeSvgError, ValueError, TypeError, OverflowError) as exc:
            views.append(ChartView(spec.title, "", f"chart not drawn: {exc}"))
            continue
        budget.chart_bytes -= len(svg)
        views.append(ChartView(spec.title, svg, spec.note))
    return views


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["num"] = summary.fmt_number
    env.filters["codespans"] = _codespans
    return env


def _codespans(text: str) -> Any:
    """Escape a docstring paragraph, then turn `backticks` into <code> (markup built after escaping)."""
    from markupsafe import Markup, escape

    escaped = str(escape(text))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def _footer(result: AuditResult) -> dict[str, Any]:
    config_text, _ = _json_text(dict(result.config), 20_000)
    return {
        "dataset": result.dataset, "eval_dataset": result.eval_dataset,
        "config": config_text, "seed": result.seed, "tool_version": result.tool_version,
        "duration": f"{result.duration_s:.2f}s",
        "timings": sorted(((c.name, c.duration_s) for c in result.checks), key=lambda t: -t[1]),
    }


def report_context(result: AuditResult, *, charts: bool = True) -> dict[str, Any]:
    """Everything the template shows, as plain view objects (no markup)."""
    used: set[str] = set()
    columns = _text_columns(result)
    budget = _Budget(ROWS_TOTAL, FINDINGS_TOTAL, CHARTS_TOTAL if charts else 0, CHART_BYTES_TOTAL)
    anchors = [_anchor(c.name, used) for c in result.checks]
    views = [_check_view(result, c, a, columns, budget)
             for c, a in zip(result.checks, anchors, strict=True)]
    return {
        "title": f"ft-audit: {result.dataset.source}",
        "go": result.verdict.go,
        "headline": "GO" if result.verdict.go else "NO-GO",
        "reasons": list(result.verdict.reasons),
        "summary_line": summary.verdict_headline(result),
        "tally": [(s.value, n) for s, n in summary.status_counts(result).items()],
        "n_records": result.dataset.n_records,
        "baseline_line": summary.baseline_text(result),
        "checks": views,
        "footer": _footer(result),
    }


def render_html(result: AuditResult, *, charts: bool = True) -> str:
    """The whole report as one HTML document (a str)."""
    script = _asset("report.js")
    context = report_context(result, charts=charts)
    template = _environment().get_template("report.html.j2")
    return template.render(**context, css=_asset("report.css"), script=script, csp=_csp(script),
                           findings_open=FINDINGS_OPEN)


def render_fragment(result: AuditResult) -> str:
    """The verdict and the table of checks, for notebooks (`AuditResult._repr_html_`); no charts."""
    context = report_context(result, charts=False)
    template = _environment().get_template("fragment.html.j2")
    return template.render(**context, css=_asset("report.css"))


def write_html(result: AuditResult, path: str | Path, *, charts: bool = True) -> Path:
    """Render and write the report atomically to `path`."""
    from audit.io import atomic_write_text

    return atomic_write_text(path, render_html(result, charts=charts))


