"""Audit results for report tests: real small audits, hand-built ones with every status, and
one whose every dataset-derived string is an injection attempt."""

from __future__ import annotations

import math
from html.parser import HTMLParser
from typing import Any

import pytest

from audit.result import (
    AuditResult,
    CheckResult,
    DatasetInfo,
    Finding,
    Severity,
    Status,
    Threshold,
    Verdict,
)
from audit.runner import run_audit
from audit.testing import instruction_records

#: checks fast enough for unit tests (the default audit includes slow ones)
FAST_CHECKS = ("exact_duplicates", "empty_responses", "bad_records")

#: each payload sets window.__xss if it ever runs
XSS_PAYLOADS = (
    "<script>window.__xss=1</script>",
    "</textarea><script>window.__xss=2</script>",
    '<img src=x onerror="window.__xss=3">',
    '"><svg onload=window.__xss=4>',
    "' onmouseover='window.__xss=5' x='",
    "javascript:window.__xss=6",
    '<a href="javascript:window.__xss=7">click me</a>',
    "</script><script>window.__xss=8</script>",
    "<details open ontoggle=window.__xss=9>",
    '<iframe src="http://evil.example/frame"></iframe>',
    "<style>@import url(http://evil.example/x.css);</style>",
    "\u2028\u2029<!-- ]]> {{ 7*7 }} ${x} `x` $math$",
)


def xss_text(i: int) -> str:
    return XSS_PAYLOADS[i % len(XSS_PAYLOADS)]


def xss_records(n: int = 24) -> list[dict[str, Any]]:
    """Every record carries every payload (so whichever records get flagged show them all)."""
    everything = " ".join(XSS_PAYLOADS)
    records = [{"instruction": f"question {i} {everything}", "input": xss_text(i + 3),
                "output": f"answer {i} {xss_text(i + 1)} " + "long text " * 30,
                "category": xss_text(i % 4)} for i in range(n)]
    records[3]["output"] = " "  # an empty response: a finding that shows records
    records[7] = dict(records[2])  # a duplicate
    return records


@pytest.fixture(scope="session")
def audit_result() -> AuditResult:
    """A real audit of the built-in instruction records (a duplicate, an empty response)."""
    return run_audit(instruction_records(), checks=FAST_CHECKS)


def _finding(check: str, code: str, severity: Severity, message: str, records: tuple[int, ...],
             **kw: Any) -> Finding:
    return Finding(check=check, code=code, severity=severity, message=message, records=records,
                   **kw)


def every_status_result(text: str = "plain", *, go: bool = False) -> AuditResult:
    """A hand-built result with a PASSED, WARNED, FAILED, SKIPPED and ERRORED check."""
    t = Threshold(metric="rate", warn=0.1, fail=0.2)
    checks = (
        CheckResult(name="all_good", category="integrity", status=Status.PASSED,
                    metrics={"rate": 0.0}, thresholds=(t,), deciding_metric="rate",
                    description="All good.\n\nNothing to see.", duration_s=0.5,
                    details={"label_counts": {"alpha": 30, "beta": 20, text: 5}}),
        CheckResult(name="some_warn", category="bias", status=Status.WARNED,
                    metrics={"rate": 0.15, "n": 3.0}, thresholds=(t,), deciding_metric="rate",
                    description=f"Warns about `things` {text}.", duration_s=1.25,
                    findings=(_finding("some_warn", "warn_code", Severity.WARNING,
                                       f"group {text} is odd", (1, 2), metric="rate", value=0.15,
                                       threshold=0.1, details={"group": text}),),
                    details={"rates": [{"group": "g1", "rate": 0.2, "low": 0.1, "high": 0.3},
                                       {"group": text, "rate": 0.4, "low": 0.3, "high": 0.5}],
                             "curve": [{"x": n, "y": 1 - 1 / n} for n in (10, 20, 40, 80)]}),
        CheckResult(name="bad_fail", category="duplication", status=Status.FAILED,
                    metrics={"rate": 0.5, "unused": math.nan}, thresholds=(t,),
                    deciding_metric="rate", description="Fails.", duration_s=2.0,
                    findings=(_finding("bad_fail", "dup", Severity.ERROR, f"dups {text}",
                                       tuple(range(0, 60)), n_records=5000),
                              _finding("bad_fail", "info_code", Severity.INFO, "fyi", (3,))),
                    details={"cluster_sizes": {"2": 40, "3": 7, "10": 1}}),
        CheckResult(name="never_ran", category="leakage", status=Status.SKIPPED,
                    skipped_reason=f"no evaluation set {text}", description="Needs eval."),
        CheckResult(name="blew_up", category="diversity", status=Status.ERRORED,
                    error=f"ValueError: broke on {text}\nTraceback line 2",
                    description="Errors.", duration_s=0.01),
    )
    reasons = () if go else (f"bad_fail failed: rate = 0.5 > 0.2 ({text})",
                             f"blew_up errored: ValueError: broke on {text}")
    examples = {i: {"line": i + 1, "prompt": f"prompt {i} {text}",
                    "response": f"response {i} {text} " + "x" * (300 if i == 1 else 5),
                    "label": text if i % 2 else "lab"} for i in range(0, 60)}
    return AuditResult(
        tool_version="9.9.9",
        dataset=DatasetInfo(source=f"data/{text}.jsonl", schema="alpaca",
                            fields={"prompt": "instruction", "label": text}, n_records=5000,
                            fingerprint="sha256:abc123", n_skipped=2,
                            splits={"train": 4900, "test": 100}),
        checks=checks,
        verdict=Verdict(go=go, exit_code=0 if go else 1, reasons=reasons),
        config={"seed": 7, "note": text},
        seed=7,
        examples=examples,
        duration_s=3.76,
    )


class TagCollector(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self.css: list[str] = []  # <style> contents and style="" attributes
        self._raw: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_startendtag(tag, attrs)
        self._raw = tag if tag in ("script", "style") else None

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.css.extend(value or "" for name, value in attrs if name == "style")

    def handle_endtag(self, tag: str) -> None:
        self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw == "script":
            self.script_text.append(data)
        elif self._raw == "style":
            self.css.append(data)


def collect_tags(html: str) -> TagCollector:
    parser = TagCollector()
    parser.feed(html)
    parser.close()
    return parser
