"""JUnit XML: one testcase per check, so CI systems show the audit in their test views.

FAILED -> <failure>, ERRORED -> <error>, SKIPPED -> <skipped>, WARNED -> passed with the
warning in <system-out>, PASSED -> passed. A last testcase, `verdict`, fails when the verdict
is no-go, so a policy that blocks on warnings or on a required-but-skipped check is visible
too. Built with ElementTree (attributes and text escaped); characters XML 1.0 forbids are
removed first, so any dataset text gives a well-formed file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from audit.result import AuditResult, CheckResult, Status
from reports import summary

FINDINGS_IN_BODY = 20
_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """`value` as text XML 1.0 can hold (control characters and lone surrogates removed)."""
    return _ILLEGAL_XML.sub("", str(value))


def _body(check: CheckResult) -> str:
    lines = [summary.decision_text(check)] if summary.decision_text(check) else []
    lines += [f"{name} = {summary.fmt_number(value)}" for name, value in check.metrics.items()]
    for finding in check.findings[:FINDINGS_IN_BODY]:
        ids = ", ".join(str(i) for i in finding.records[:10])
        lines.append(f"[{finding.severity.name.lower()}] {finding.code}: {finding.message} "
                     f"({finding.n_records} records{': ' + ids if ids else ''})")
    if len(check.findings) > FINDINGS_IN_BODY:
        lines.append(f"... {len(check.findings) - FINDINGS_IN_BODY} more findings in the JSON "
                     "result")
    return "\n".join(lines)


def _testcase(suite: ET.Element, check: CheckResult) -> None:
    case = ET.SubElement(suite, "testcase", name=xml_text(check.name),
                         classname=xml_text(f"ft_audit.{check.category}"),
                         time=f"{check.duration_s:.3f}")
    if check.status is Status.FAILED:
        node = ET.SubElement(case, "failure", message=xml_text(summary.decision_text(check)),
                             type="threshold")
        node.text = xml_text(_body(check))
    elif check.status is Status.ERRORED:
        node = ET.SubElement(case, "error", message=xml_text(summary.first_line(check.error)),
                             type="check_error")
        node.text = xml_text(check.error or "")
    elif check.status is Status.SKIPPED:
        ET.SubElement(case, "skipped", message=xml_text(check.skipped_reason or "skipped"))
    elif check.status is Status.WARNED:
        ET.SubElement(case, "system-out").text = xml_text("WARNED: " + _body(check))
    elif check.findings:
        ET.SubElement(case, "system-out").text = xml_text(_body(check))


def render_junit(result: AuditResult) -> str:
    counts = summary.status_counts(result)
    verdict_failed = 0 if result.verdict.go else 1
    attrs = {
        "name": xml_text(f"ft-audit: {result.dataset.source}"),
        "tests": str(len(result.checks) + 1),
        "failures": str(counts.get(Status.FAILED, 0) + verdict_failed),
        "errors": str(counts.get(Status.ERRORED, 0)),
        "skipped": str(counts.get(Status.SKIPPED, 0)),
        "time": f"{result.duration_s:.3f}",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    properties = ET.SubElement(suite, "properties")
    for name, value in (("dataset", result.dataset.source),
                        ("fingerprint", result.dataset.fingerprint),
                        ("schema", result.dataset.schema),
                        ("n_records", result.dataset.n_records),
                        ("seed", result.seed), ("tool_version", result.tool_version),
                        ("verdict", "go" if result.verdict.go else "no-go")):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))
    for check in result.checks:
        _testcase(suite, check)
    verdict = ET.SubElement(suite, "testcase", name="verdict", classname="ft_audit",
                            time=f"{result.duration_s:.3f}")
    if not result.verdict.go:
        node = ET.SubElement(verdict, "failure", message="no-go", type="verdict")
        node.text = xml_text("\n".join(result.verdict.reasons))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(result: AuditResult, path: str | Path) -> Path:
    from audit.io import atomic_write_text

    return atomic_write_text(path, render_junit(result))
