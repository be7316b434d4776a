"""`ft-audit diff` and `run --baseline`: changes matched by record content, regressions gated."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import Status, run_audit
from audit.cli.main import main
from audit.config import config_from_dict
from audit.diff import diff_results
from audit.errors import AuditError
from audit.result_io import schema
from reports.diff_report import render_diff_markdown

CHECKS = ["exact_duplicates", "empty_responses", "placeholder_responses"]


def records(n: int = 60) -> list[dict[str, Any]]:
    return [{"prompt": f"Question number {i} about topic {i % 7}?",
             "response": f"Answer {i}: the topic {i % 7} works like this, step {i % 5}."}
            for i in range(n)]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path]:
    base = records()
    base[5] = dict(base[4])  # a known duplicate
    head = [dict(r) for r in base]
    head.insert(0, {"prompt": "A brand new question?", "response": "A brand new answer."})
    head.reverse()  # reordering must not show as a change
    head.append(dict(head[10]))  # a new duplicate
    head.append({"prompt": "Empty one?", "response": "   "})  # a new empty response
    for row in head:
        if row["prompt"] == "Question number 20 about topic 6?":
            row["response"] = "An edited answer."
    return write(tmp_path / "base.jsonl", base), write(tmp_path / "head.jsonl", head)


def test_diff_matches_findings_and_records_by_content(versions: tuple[Path, Path]) -> None:
    base_path, head_path = versions
    base, head = run_audit(base_path, checks=CHECKS), run_audit(head_path, checks=CHECKS)
    diff = diff_results(base, head)
    # 59 untouched; the edit keeps its key; records match as multisets of contents, so the
    # appended copy of a record is added (the new one, the empty one and the copy)
    assert diff.data.unchanged == 59 and len(diff.data.edited) == 1
    assert len(diff.data.added) == 3 and diff.data.removed == ()
    assert diff.data.edited[0][0] == 20
    by_name = {c.name: c for c in diff.checks}
    empty = by_name["empty_responses"]
    assert empty.base_status == "passed" and empty.head_status == "failed"
    assert empty.regressions and empty.n_new == 1 and empty.n_resolved == 0
    dup = by_name["exact_duplicates"]
    # the newly duplicated record and its copy: two newly flagged records, the added copy
    # listed first, the unchanged original counted apart
    assert dup.n_new == 2 and dup.n_resolved == 0 and dup.n_new_changed == 1
    assert dup.findings[0].new[0] in diff.data.changed_records
    assert dup.findings[0].new[1] not in diff.data.changed_records
    assert empty.n_new_changed == 1
    assert diff.exit_code == 1
    doc = diff.to_dict()
    assert doc["regression"] is True and doc["data"]["n_edited"] == 1
    assert {c["name"]: c["n_new_changed"] for c in doc["checks"]}["exact_duplicates"] == 1
    markdown = render_diff_markdown(diff)
    assert "(an unchanged record)" not in markdown and "(1 of them unchanged)" in markdown
    assert "| 2 (1) |" in markdown


def test_tolerances_decide_metric_regressions(versions: tuple[Path, Path]) -> None:
    base_path, head_path = versions
    base = run_audit(base_path, checks=["exact_duplicates"])
    head = run_audit(head_path, checks=["exact_duplicates"])
    loose = config_from_dict({"checks": {"exact_duplicates": {
        "tolerances": {"duplicate_fraction": 0.5},
        "thresholds": {"duplicate_fraction": {"warn": 0.9, "fail": 0.95}}}}})
    assert diff_results(base, head, loose).exit_code == 0
    strict = config_from_dict({"checks": {"exact_duplicates": {
        "tolerances": {"duplicate_fraction": 0.0},
        "thresholds": {"duplicate_fraction": {"warn": 0.9, "fail": 0.95}}}}})
    regressions = diff_results(base, head, strict).regressions
    assert regressions and "duplicate_fraction" in regressions[0]


def test_a_result_without_hashes_is_compared_by_status_only(versions: tuple[Path, Path]
                                                            ) -> None:
    from dataclasses import replace

    base = replace(run_audit(versions[0], checks=CHECKS), record_index=None)
    diff = diff_results(base, run_audit(versions[1], checks=CHECKS))
    assert not diff.data.comparable and "no record content hashes" in diff.notes[0]
    assert all(c.n_new == 0 for c in diff.checks) and diff.exit_code == 1


def test_markdown_escapes_and_names_records(versions: tuple[Path, Path]) -> None:
    base = run_audit(versions[0], checks=CHECKS)
    head = run_audit(versions[1], checks=CHECKS)
    from dataclasses import replace

    head = replace(head, dataset=replace(head.dataset, source="<script>x</script>"))
    text = render_diff_markdown(diff_results(base, head))
    assert "REGRESSION" in text and "<script>" not in text
    assert "`empty_responses` `empty_response`" in text or "`empty_responses`" in text


def test_cli_diff_exit_codes_and_outputs(versions: tuple[Path, Path], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    base_json, head_json = tmp_path / "base.json", tmp_path / "head.json"
    for data, out in zip(versions, (base_json, head_json), strict=True):
        with pytest.raises(SystemExit):
            main(["run", str(data), *[arg for c in CHECKS for arg in ("--check", c)], "--json",
                  str(out), "--quiet"])
    md, js = tmp_path / "diff.md", tmp_path / "diff.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", str(base_json), str(head_json), "--markdown", str(md), "--json", str(js)])
    assert exit_info.value.code == 1
    assert "REGRESSION" in md.read_text() and json.loads(js.read_text())["regression"]
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", str(base_json), str(base_json), "--quiet"])
    assert exit_info.value.code == 0 and "No regression" in capsys.readouterr().out


def test_cli_diff_refuses_another_major_schema(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema_version": "0.9"}))
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", str(old), str(old)])
    assert exit_info.value.code == 2 and "schema_version" in capsys.readouterr().err


def test_baseline_accepts_known_findings_and_blocks_new_ones(versions: tuple[Path, Path],
                                                             tmp_path: Path) -> None:
    base_path, head_path = versions
    base = run_audit(base_path, checks=CHECKS)
    assert base.check("exact_duplicates").status in (Status.WARNED, Status.FAILED)
    again = run_audit(base_path, checks=CHECKS, baseline=base)
    dup = again.check("exact_duplicates")
    assert dup.status is Status.PASSED  # every flagged record is known
    assert dup.details["baseline"]["new_records"] == 0
    assert dup.metrics == base.check("exact_duplicates").metrics  # real values kept
    assert {v for f in dup.findings for v in f.record_values["baseline"]} == {"known"}
    head = run_audit(head_path, checks=CHECKS, baseline=base)
    assert head.check("empty_responses").status is Status.FAILED  # new defect still blocks
    dup = head.check("exact_duplicates")
    assert dup.details["baseline"]["new_records"] == 2
    assert dup.details["baseline"]["judged_metrics"]["duplicate_fraction"] == pytest.approx(
        dup.metrics["duplicate_fraction"] * 2 / 4)
    doc = json.loads(head.to_json())
    jsonschema.validate(doc, schema())
    assert doc["baseline"]["fingerprint"] == base.dataset.fingerprint


def test_baseline_without_hashes_is_refused(versions: tuple[Path, Path]) -> None:
    from dataclasses import replace

    base = replace(run_audit(versions[0], checks=CHECKS), record_index=None)
    with pytest.raises(AuditError, match="no record content hashes"):
        run_audit(versions[1], checks=CHECKS, baseline=base)


def test_cli_run_with_baseline(versions: tuple[Path, Path], tmp_path: Path) -> None:
    base_json = tmp_path / "base.json"
    checks = ["--check", "exact_duplicates"]
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(versions[0]), *checks, "--json", str(base_json), "--quiet",
              "--fail-on", "warn"])
    assert exit_info.value.code == 1  # the duplicate warns
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(versions[0]), *checks, "--baseline", str(base_json), "--quiet",
              "--fail-on", "warn"])
    assert exit_info.value.code == 0  # the same data against its own baseline: nothing new


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=20), st.lists(st.integers(0, 5), max_size=20))
def test_records_match_as_multisets_of_contents(base: list[int], head: list[int]) -> None:
    """Unchanged = the multiset intersection of the contents; every other head record is
    added or edited, every other base record removed or edited (here the key is the content,
    so nothing is edited)."""
    from collections import Counter

    import numpy as np

    from audit.diff import _data_changes
    from audit.result import RecordIndex

    def index(contents: list[int]) -> RecordIndex:
        values = np.asarray(contents, dtype=np.uint64) + np.uint64(7)
        return RecordIndex.from_arrays(np.arange(len(contents)), values, values)

    changes = _data_changes(index(base), index(head))
    common = sum((Counter(base) & Counter(head)).values())
    assert changes.unchanged == common and changes.edited == ()
    assert len(changes.added) == len(head) - common
    assert len(changes.removed) == len(base) - common
    assert Counter(head[i] for i in changes.added) == Counter(head) - Counter(base)
    assert Counter(base[i] for i in changes.removed) == Counter(base) - Counter(head)


def test_a_further_copy_of_a_known_duplicate_is_new(tmp_path: Path) -> None:
    rows = records()
    rows[5] = dict(rows[4])  # a known duplicate: two copies flagged in the baseline
    base = run_audit(write(tmp_path / "base.jsonl", rows), checks=["exact_duplicates"])
    head = run_audit(write(tmp_path / "head.jsonl", [*rows, dict(rows[4]), dict(rows[4])]),
                     checks=["exact_duplicates"], baseline=base)
    dup = head.check("exact_duplicates")
    assert dup.details["baseline"] == {
        "known_records": 2, "new_records": 2, "known_debt": {},
        "baseline_metrics": base.check("exact_duplicates").metrics,
        "judged_metrics": {"duplicate_fraction": pytest.approx(
            dup.metrics["duplicate_fraction"] * 2 / 4)}}
    marks = {(r, m) for f in dup.findings
             for r, m in zip(f.records, f.record_values["baseline"], strict=True)}
    assert marks == {(4, "known"), (5, "known"), (60, "new"), (61, "new")}
    plain = run_audit(tmp_path / "head.jsonl", checks=["exact_duplicates"])
    change = diff_results(base, plain).checks[0].findings[0]  # the diff counts copies too
    assert (change.new, change.n_resolved) == ((60, 61), 0)


def repetitive(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"prompt": f"Question {i} about item {i}?",
             "response": f"The answer is yes, as always, for item {i % 3}."}
            for i in range(start, start + n)]


def test_baseline_accepts_known_debt_of_dataset_level_metrics() -> None:
    base = run_audit(repetitive(80), checks=["lexical_diversity"])
    before = base.check("lexical_diversity")
    assert before.status is Status.FAILED and not any(f.records for f in before.findings)
    head_rows = repetitive(120)  # more of the same: every breach worse, none new
    head = run_audit(head_rows, checks=["lexical_diversity"], baseline=base)
    after = head.check("lexical_diversity")
    assert after.status is Status.PASSED
    debt = after.details["baseline"]["known_debt"]
    assert set(debt) == {"response_compression_ratio", "response_mattr"}  # max and min
    assert debt["response_compression_ratio"]["baseline"] == pytest.approx(
        before.metrics["response_compression_ratio"])
    plain = run_audit(head_rows, checks=["lexical_diversity"]).check("lexical_diversity")
    assert json.dumps(after.metrics) == json.dumps(plain.metrics)  # real values kept
    # a tolerance bounds how much worse known debt may get, as in `ft-audit diff`
    config = config_from_dict({"checks": {"lexical_diversity": {
        "tolerances": {"response_compression_ratio": 1.0}}}})
    strict = run_audit(head_rows, config, checks=["lexical_diversity"], baseline=base)
    assert strict.check("lexical_diversity").status is Status.FAILED
    assert set(strict.check("lexical_diversity").details["baseline"]["known_debt"]) == {
        "response_mattr"}


def test_baseline_debt_covers_only_breaches_the_baseline_had() -> None:
    rng = random.Random(3)
    words = ["".join(rng.choices(string.ascii_lowercase, k=6)) for _ in range(3000)]
    varied = [{"prompt": f"Question {i}?", "response": " ".join(rng.sample(words, 30))}
              for i in range(80)]
    base = run_audit(varied, checks=["lexical_diversity"])
    assert base.check("lexical_diversity").status is Status.PASSED
    head = run_audit(repetitive(80), checks=["lexical_diversity"], baseline=base)
    after = head.check("lexical_diversity")
    assert after.status is Status.FAILED  # a new breach blocks
    assert after.details["baseline"]["known_debt"] == {}
    # a breach that got worse in status (warn -> fail) is not known debt either
    config = config_from_dict({"checks": {"lexical_diversity": {"thresholds": {
        "response_compression_ratio": {"warn": 20, "fail": 45}}}}})
    base = run_audit(repetitive(80), config, checks=["lexical_diversity"])
    assert base.check("lexical_diversity").metrics["response_compression_ratio"] < 45
    head = run_audit(repetitive(120), config, checks=["lexical_diversity"], baseline=base)
    after = head.check("lexical_diversity")
    assert after.metrics["response_compression_ratio"] > 45
    assert after.status is Status.FAILED
    assert "response_compression_ratio" not in after.details["baseline"]["known_debt"]


def test_reports_say_what_the_baseline_accepted(versions: tuple[Path, Path]) -> None:
    from rich.console import Console

    from reports.console_report import print_summary
    from reports.html_report import render_html
    from reports.markdown_report import escape_md, render_markdown

    checks = ["lexical_diversity", "exact_duplicates"]
    base = run_audit(repetitive(80), checks=checks)
    head = run_audit(repetitive(120), checks=checks, baseline=base)
    dups = head.check("exact_duplicates").details["baseline"]
    known, new = dups["known_records"], dups["new_records"]
    assert known > 0 and new > 0
    debt = head.check("lexical_diversity").details["baseline"]["known_debt"]
    before, now = (debt["response_compression_ratio"][k] for k in ("baseline", "now"))
    line = (f"Judged against the baseline <builtins.list>: {known:,} flagged records known "
            f"(accepted), {new:,} new; known debt accepted: lexical_diversity "
            f"response_compression_ratio {before:.4g} -> {now:.4g}")
    console = Console(record=True, width=400)
    print_summary(head, console=console)
    assert line in console.export_text()
    assert "Judged against the baseline" not in render_markdown(run_audit(
        versions[0], checks=CHECKS))
    assert escape_md(line) in render_markdown(head)
    assert "&lt;builtins.list&gt;" in escape_md(line)
    assert line.replace("<", "&lt;").replace(">", "&gt;") in render_html(head, charts=False)


def test_rejudge_keeps_what_the_baseline_accepted(versions: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    from audit import rejudge
    from audit.result_io import load_result

    checks = ["lexical_diversity", *CHECKS]
    base = run_audit([*repetitive(80), repetitive(1)[0]], checks=checks)
    head = run_audit(repetitive(120) + [repetitive(1)[0]] * 3, checks=checks, baseline=base)
    saved = tmp_path / "head.json"
    head.to_json(str(saved))
    again = rejudge(load_result(saved), config_from_dict({}))
    assert [(c.name, c.status) for c in again.checks] == [(c.name, c.status)
                                                          for c in head.checks]
    assert again.verdict.go and head.verdict.go
    assert json.loads(again.to_json())["checks"] == json.loads(head.to_json())["checks"]
    # under a tolerance the known debt no longer covers how much worse it got
    strict = rejudge(load_result(saved), config_from_dict({"checks": {"lexical_diversity": {
        "tolerances": {"response_compression_ratio": 1.0}}}}))
    assert strict.check("lexical_diversity").status is Status.FAILED
    assert not strict.verdict.go


def test_diff_judges_a_result_run_with_a_baseline_without_it() -> None:
    checks = ["lexical_diversity", *CHECKS]
    base = run_audit(repetitive(80), checks=checks)
    head_rows = repetitive(120)
    with_baseline = run_audit(head_rows, checks=checks, baseline=base)
    assert with_baseline.check("lexical_diversity").status is Status.PASSED  # known debt
    diff = diff_results(base, with_baseline)
    plain = diff_results(base, run_audit(head_rows, checks=checks))
    assert [(c.name, c.head_status) for c in diff.checks] == [
        (c.name, c.head_status) for c in plain.checks]
    assert dict((c.name, c.head_status) for c in diff.checks)["lexical_diversity"] == "failed"
    assert any("run with the baseline" in note for note in diff.notes)
    assert not any("baseline" in note for note in plain.notes)


def test_cli_diff_prints_a_document_to_standard_output(
        versions: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = []
    for data in versions:
        out = tmp_path / f"{data.stem}.json"
        with pytest.raises(SystemExit):
            main(["run", str(data), *[arg for c in CHECKS for arg in ("--check", c)], "--json",
                  str(out), "--quiet"])
        results.append(str(out))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", *results, "--json", "-"])
    assert exit_info.value.code == 1  # the new empty response: still judged
    doc = json.loads(capsys.readouterr().out)  # the JSON alone, no table
    assert doc["regression"] and not (Path.cwd() / "-").exists()
    md = tmp_path / "diff.md"
    with pytest.raises(SystemExit):
        main(["diff", *results, "--markdown", "-", "--json", str(tmp_path / "d.json")])
    printed = capsys.readouterr().out
    assert printed.startswith("## ") and "REGRESSION" in printed
    assert json.loads((tmp_path / "d.json").read_text())["regression"] and not md.exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", *results, "--markdown", "-", "--json", "-"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("width", [80, 160])
def test_console_diff_keeps_check_names_and_reasons_whole(versions: tuple[Path, Path],
                                                         width: int) -> None:
    from rich.console import Console

    from reports.diff_report import print_diff

    diff = diff_results(*(run_audit(v, checks=CHECKS) for v in versions))
    console = Console(record=True, width=width)
    print_diff(diff, console=console)
    lines = console.export_text().splitlines()
    for check in (c for c in diff.checks if c.changed):
        assert any(check.name in line for line in lines), check.name
    assert any("empty_responses" in line and "passed → failed" in line for line in lines)
    assert any("status passed -> failed" in line for line in lines)
    assert all(len(line) <= width for line in lines)


def test_unreadable_records_are_matched_by_count(tmp_path: Path) -> None:
    good = [json.dumps(r) for r in records(40)]
    base = tmp_path / "base.jsonl"
    base.write_text("\n".join([*good, *(["{not json"] * 5)]) + "\n")
    head = tmp_path / "head.jsonl"
    head.write_text("\n".join(["{broken", *good, *(["{not json"] * 5)]) + "\n")
    config = {"on_bad_records": "skip"}
    before = run_audit(base, config, checks=["bad_records"])
    assert before.check("bad_records").status is Status.FAILED  # 5 of 45 skipped
    again = run_audit(base, config, checks=["bad_records"], baseline=before)
    assert again.check("bad_records").status is Status.PASSED  # the same 5: known
    assert again.check("bad_records").details["baseline"]["new_records"] == 0
    after = run_audit(head, config, checks=["bad_records"], baseline=before)
    bad = after.check("bad_records")
    assert bad.details["baseline"]["new_records"] == 1  # one more unreadable line
    assert bad.status is Status.WARNED  # 6/46 x 1/6 judged: above warn 0, below fail 0.05
    change = diff_results(before, run_audit(head, config, checks=["bad_records"])).checks[0]
    assert (change.n_new, change.n_new_changed, change.n_resolved) == (1, 1, 0)


def test_html_rows_say_known_or_new_new_first(versions: tuple[Path, Path]) -> None:
    from reports.html_report import render_html, report_context

    base = run_audit(versions[0], checks=CHECKS)
    head = run_audit(versions[1], checks=CHECKS, baseline=base)
    view = next(c for c in report_context(head, charts=False)["checks"]
                if c.name == "exact_duplicates")
    marks = [row.baseline for row in view.rows]
    assert view.baseline_column and sorted(marks) == ["known", "known", "new", "new"]
    assert marks == sorted(marks, key=lambda m: m != "new")  # new records first
    assert '<button type="button">baseline</button>' in render_html(head, charts=False)
    plain = report_context(run_audit(versions[1], checks=CHECKS), charts=False)["checks"]
    assert not any(c.baseline_column for c in plain)
    assert '<button type="button">baseline</button>' not in render_html(base, charts=False)
