"""`ft-audit run --html/--markdown/--junit`, `ft-audit report` and `ft-audit rejudge`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from audit.cli.main import main
from audit.result import AuditResult, Status
from audit.testing import instruction_records
from tests.reports.conftest import FAST_CHECKS, every_status_result

CHECK_ARGS = [arg for name in FAST_CHECKS for arg in ("--check", name)]


def cli(*args: str | Path) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    return int(exit_info.value.code or 0)


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in instruction_records()),
                    encoding="utf-8")
    return path


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    """A saved result with every status (no-go: a failed and an errored check)."""
    path = tmp_path / "audit.json"
    every_status_result().to_json(str(path))
    return path


def test_run_writes_every_format(tmp_path: Path, dataset: Path) -> None:
    out = {ext: tmp_path / f"out.{ext}" for ext in ("json", "html", "md", "xml")}
    code = cli("run", dataset, *CHECK_ARGS, "--quiet", "--json", out["json"],
               "--html", out["html"], "--markdown", out["md"], "--junit", out["xml"])
    assert code == 1  # the empty response fails
    result = AuditResult.from_json(str(out["json"]))
    assert result.check("empty_responses").status is Status.FAILED
    assert ">NO-GO<" in out["html"].read_text(encoding="utf-8")
    assert out["md"].read_text(encoding="utf-8").startswith("## ❌ ft-audit: NO-GO")
    assert ET.parse(out["xml"]).getroot().tag == "testsuites"


def test_run_refuses_to_overwrite_its_input(tmp_path: Path, dataset: Path) -> None:
    before = dataset.read_bytes()
    assert cli("run", dataset, *CHECK_ARGS, "--quiet", "--html", dataset) == 2
    assert dataset.read_bytes() == before
    assert cli("run", dataset, *CHECK_ARGS, "--quiet", "--html", tmp_path / "same",
               "--junit", tmp_path / "same") == 2
    assert not (tmp_path / "same").exists()


def test_run_checks_output_folders_before_auditing(tmp_path: Path, dataset: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("run", dataset, *CHECK_ARGS, "--quiet", "--json", tmp_path / "ok.json",
               "--html", tmp_path / "missing" / "r.html") == 2
    err = capsys.readouterr().err
    assert "--html" in err and "does not exist" in err
    assert not (tmp_path / "ok.json").exists()  # refused before the audit: nothing written


def test_report_renders_a_saved_result(tmp_path: Path, saved: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    html, md, xml = tmp_path / "r.html", tmp_path / "r.md", tmp_path / "r.xml"
    assert cli("report", saved, "--html", html, "--markdown", md, "--junit", xml) == 0
    assert "bad_fail failed" in html.read_text(encoding="utf-8")
    assert "bad\\_fail" in md.read_text(encoding="utf-8")
    assert ET.parse(xml).getroot().find("testsuite") is not None
    captured = capsys.readouterr()
    assert "NO-GO" in captured.out and f"wrote {html}" in captured.err


def test_report_never_overwrites_the_result(saved: Path) -> None:
    before = saved.read_bytes()
    assert cli("report", saved, "--html", saved) == 2
    assert saved.read_bytes() == before


def test_report_on_a_missing_or_bad_file(tmp_path: Path) -> None:
    assert cli("report", tmp_path / "nope.json", "--html", tmp_path / "x.html") == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert cli("report", bad) == 2
    assert not (tmp_path / "x.html").exists()


def _config(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_rejudge_applies_new_thresholds_without_recomputing(tmp_path: Path, dataset: Path) -> None:
    saved = tmp_path / "audit.json"
    assert cli("run", dataset, *CHECK_ARGS, "--quiet", "--json", saved) == 1
    lenient = _config(tmp_path, "lenient.toml",
                      "[checks.empty_responses]\n"
                      "thresholds = { empty_fraction = { warn = 0.5, fail = 0.9 } }\n")
    out = tmp_path / "rejudged.json"
    assert cli("rejudge", saved, "--config", lenient, "--json", out, "--quiet") == 0
    rejudged = AuditResult.from_json(str(out))
    original = AuditResult.from_json(str(saved))
    assert rejudged.verdict.go and not original.verdict.go
    assert rejudged.check("empty_responses").status is Status.PASSED
    # the measurements are the saved ones, untouched
    for name in FAST_CHECKS:
        assert rejudged.check(name).metrics == original.check(name).metrics
        assert rejudged.check(name).duration_s == original.check(name).duration_s
    # exact_duplicates warned; under --fail-on warn that blocks
    assert rejudged.check("exact_duplicates").status is Status.WARNED
    assert cli("rejudge", saved, "--config", lenient, "--fail-on", "warn", "--quiet") == 1
    strict = _config(tmp_path, "strict.toml", "[policy]\nfail_on = \"warn\"\n")
    assert cli("rejudge", out, "--config", strict, "--quiet") == 1


def test_rejudge_keeps_skipped_and_errored(tmp_path: Path, saved: Path) -> None:
    config = _config(tmp_path, "c.toml", "[policy]\nerrors_block = false\n")
    out = tmp_path / "r.json"
    md = tmp_path / "r.md"
    # bad_fail is not a registered check: its own saved thresholds still judge it (fails)
    assert cli("rejudge", saved, "--config", config, "--json", out, "--markdown", md,
               "--quiet") == 1
    result = AuditResult.from_json(str(out))
    assert result.check("blew_up").status is Status.ERRORED
    assert result.check("never_ran").status is Status.SKIPPED
    assert result.verdict.reasons == ("bad_fail failed: rate = 0.5 > 0.2",)
    assert md.read_text(encoding="utf-8").startswith("## ❌")


def test_rejudge_rejects_bad_fail_on_and_input_as_output(tmp_path: Path, saved: Path) -> None:
    assert cli("rejudge", saved, "--fail-on", "sometimes") == 2
    before = saved.read_bytes()
    assert cli("rejudge", saved, "--json", saved) == 2
    assert saved.read_bytes() == before


def test_report_commands_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--help") == 0
    out = capsys.readouterr().out
    assert "report" in out and "rejudge" in out
    assert cli("run", "--help") == 0
    out = capsys.readouterr().out
    for option in ("--html", "--markdown", "--junit", "--json"):
        assert option in out
