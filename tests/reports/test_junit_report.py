"""JUnit XML: one testcase per check, statuses mapped, always well-formed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from audit.result import AuditResult
from reports.junit_report import render_junit, write_junit, xml_text
from tests.reports.conftest import XSS_PAYLOADS, every_status_result


def cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    return {case.get("name") or "": case for case in root.iter("testcase")}


def test_statuses_map_to_junit_elements() -> None:
    xml = render_junit(every_status_result())
    found = cases(xml)
    assert set(found) == {"all_good", "some_warn", "bad_fail", "never_ran", "blew_up", "verdict"}
    assert list(found["all_good"]) == []
    warn = found["some_warn"]
    assert warn.find("failure") is None and warn.find("error") is None
    assert (warn.findtext("system-out") or "").startswith("WARNED: rate = 0.15")
    failure = found["bad_fail"].find("failure")
    assert failure is not None and failure.get("message") == "rate = 0.5 (warn > 0.1, fail > 0.2)"
    assert "[error] dup: dups plain (5000 records: 0, 1, 2" in (failure.text or "")
    skipped = found["never_ran"].find("skipped")
    assert skipped is not None and skipped.get("message") == "no evaluation set plain"
    error = found["blew_up"].find("error")
    assert error is not None and error.get("message") == "ValueError: broke on plain"
    assert "Traceback line 2" in (error.text or "")
    verdict = found["verdict"].find("failure")
    assert verdict is not None and "bad_fail failed" in (verdict.text or "")
    assert found["bad_fail"].get("classname") == "ft_audit.duplication"
    assert found["some_warn"].get("time") == "1.250"


def test_suite_counts_and_properties() -> None:
    root = ET.fromstring(render_junit(every_status_result()))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("6", "2", "1", "1")  # bad_fail + verdict fail
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "no-go" and props["fingerprint"] == "sha256:abc123"
    go = ET.fromstring(render_junit(every_status_result(go=True))).find("testsuite")
    assert go is not None and go.get("failures") == "1"  # only bad_fail; verdict passes
    verdict_case = next(c for c in go.iter("testcase") if c.get("name") == "verdict")
    assert list(verdict_case) == []


def test_real_audit(audit_result: AuditResult) -> None:
    found = cases(render_junit(audit_result))
    assert found["empty_responses"].find("failure") is not None
    assert found["bad_records"].find("failure") is None


def test_illegal_xml_characters_and_markup_survive() -> None:
    nasty = "a\x00b\x1bc\x0bd\ud800e\ufffe ]]> <![CDATA[ x ]]> " + " ".join(XSS_PAYLOADS)
    xml = render_junit(every_status_result(nasty))
    found = cases(xml)  # parses
    error = found["blew_up"].find("error")
    assert error is not None
    assert "abcde ]]> <![CDATA[ x ]]> <script>window.__xss=1</script>" in (error.text or "")
    assert xml.encode("utf-8")  # no lone surrogates left
    assert xml_text("ok\x00\x01\x7f\ttab\nline") == "ok\x7f\ttab\nline"


def test_write_junit(tmp_path) -> None:
    path = write_junit(every_status_result(), tmp_path / "audit.xml")
    tree = ET.parse(path)
    assert tree.getroot().tag == "testsuites"
