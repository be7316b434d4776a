"""The dataset card: a YAML header that parses, valid Markdown, the audit's figures, no invented
facts, and dataset text that cannot break out of either."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt

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
from reports.card import render_card, size_category

SECTIONS = ["Dataset summary", "Dataset structure", "Composition", "Known issues and biases",
            "Cleaning applied", "Fine-tune or contextual input", "How the audit was run"]
EVIL = '<script>alert(1)</script> | **x** `y` [l](javascript:x) ---\n# h\n- item "q": @you'


def result(checks: tuple[CheckResult, ...] = (), *, source: str = "data/train.jsonl",
           schema: str = "alpaca", n: int = 1500, go: bool = False,
           reasons: tuple[str, ...] = ("pii failed: pii_fraction = 0.2 > 0.05",)) -> AuditResult:
    return AuditResult(
        tool_version="9.9.9",
        dataset=DatasetInfo(source=source, schema=schema, fields={
            "instruction": "instruction", "output": "output", "label": "category"},
            n_records=n, fingerprint="sha256:" + "ab" * 32),
        checks=checks, verdict=Verdict(go=go, exit_code=0 if go else 1, reasons=reasons),
        config={"seed": 7, "checks": {"pii": {"params": {"types": ["email"]}}}}, seed=7,
        duration_s=1.5)


def full_checks(text: str = "billing") -> tuple[CheckResult, ...]:
    return (
        CheckResult(name="language", category="language", status=Status.PASSED,
                    metrics={"main_language_share": 0.9},
                    details={"main_language": "en", "languages": {"en": 1350, "fr": 120,
                                                                  "de": 30}}),
        CheckResult(name="class_balance", category="labels", status=Status.PASSED,
                    metrics={"imbalance_ratio": 2.0},
                    details={"counts": {text: 1000, "shipping": 500}}),
        CheckResult(name="task_coverage", category="diversity", status=Status.PASSED,
                    details={"source": "prompts", "distribution": {
                        "summarization": {"count": 300, "share": 0.2},
                        "open_qa": {"count": 1200, "share": 0.8}}}),
        CheckResult(name="pii", category="privacy", status=Status.FAILED, deciding_metric=
                    "pii_fraction", metrics={"pii_fraction": 0.2},
                    thresholds=(Threshold(metric="pii_fraction", warn=0.0, fail=0.05),),
                    findings=(Finding(check="pii", code="email", severity=Severity.WARNING,
                                      message=f"300 records contain email values {text}",
                                      records=tuple(range(300))),)),
        CheckResult(name="group_label_disparity", category="bias", status=Status.WARNED,
                    deciding_metric="n_significant_skews", metrics={"n_significant_skews": 1},
                    thresholds=(Threshold(metric="n_significant_skews", warn=0.0),),
                    findings=(Finding(check="group_label_disparity", code="label_skew",
                                      severity=Severity.WARNING, message="women 42% vs men 57%",
                                      records=(1, 2)),)),
        CheckResult(name="fit_advisory", category="advisory", status=Status.PASSED,
                    metrics={"fine_tune_score": 0.67},
                    details={"recommendation": "fine-tune", "reasons": [f"stable {text}"],
                             "signals": [{"signal": "format_consistency", "value": 0.95,
                                          "direction": "fine-tune"}]}),
        CheckResult(name="eval_leakage", category="duplication", status=Status.SKIPPED,
                    skipped_reason="no evaluation set"),
    )


def header(card: str) -> dict[str, Any]:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def tokens(card: str) -> list[Any]:
    body = card.split("---\n", 2)[2]
    return MarkdownIt("commonmark").enable("table").parse(body)


def assert_valid_markdown(card: str) -> None:
    toks = tokens(card)
    assert not [t for t in toks if t.type == "html_block"]
    for t in toks:
        for child in t.children or []:
            assert child.type != "html_inline", child.content
            assert child.type != "link_open", child.attrs
    headings = [toks[i + 1].content for i, t in enumerate(toks) if t.type == "heading_open"
                and t.tag == "h2"]
    assert headings == SECTIONS
    # every table row has as many cells as its header
    columns = None
    cells = 0
    for t in toks:
        if t.type == "tr_open":
            cells = 0
        elif t.type in ("th_open", "td_open"):
            cells += 1
        elif t.type == "tr_close":
            if columns is None:
                columns = cells
            assert cells == columns
        elif t.type == "table_close":
            columns = None


def test_header_holds_what_the_audit_knows() -> None:
    card = render_card(result(full_checks()), license="cc-by-4.0")
    meta = header(card)
    assert meta == {"license": "cc-by-4.0", "language": ["en", "fr"],
                    "task_categories": ["text-generation", "summarization"],
                    "size_categories": ["1K<n<10K"], "pretty_name": "train",
                    "tags": ["ft-audit"]}
    assert_valid_markdown(card)


def test_the_sections_state_the_audits_figures() -> None:
    card = render_card(result(full_checks()), changes=[
        {"id": 1, "action": "drop", "check": "exact_duplicates", "code": "duplicate_cluster"},
        {"id": 2, "action": "mask_pii", "check": "pii", "code": "email"},
        {"id": 3, "action": "mask_pii", "check": "pii", "code": "email"}])
    assert "1,500 records in the `alpaca` schema" in card
    assert "| billing | 1,000 | 66.7% |" in card
    assert "Imbalance ratio (largest / smallest class): 2.00." in card
    assert "| pii | failed | pii\\_fraction = 0.2 | ≤ warn 0, fail 0.05 | 300 |" in card
    assert "women 42% vs men 57%" in card  # biases, with their figures
    assert "eval\\_leakage: skipped (no evaluation set)" in card
    assert "1 records dropped, 2 edited" in card
    assert "| mask\\_pii | pii | email | 2 |" in card
    assert "Recommendation: **fine-tune** (fine-tune score 0.67)." in card
    assert "- Seed: 7" in card and "ft-audit 9\\.9.9" in card and '"types": [' in card
    assert_valid_markdown(card)


def test_nothing_is_invented_when_the_audit_has_no_data() -> None:
    card = render_card(result((), schema="text_label", n=12, go=True, reasons=()))
    meta = header(card)
    assert "license" not in meta and "language" not in meta
    assert meta["task_categories"] == ["text-classification"]
    assert meta["size_categories"] == ["n<1K"]
    assert "License: not stated" in card and "Languages: not measured" in card
    assert "_No labels, or class balance was not measured._" in card
    assert "_No changes log was given" in card
    assert card.count("_Not measured by this audit._") == 3  # tasks, biases, advice
    assert_valid_markdown(card)


def test_dataset_text_cannot_break_the_card() -> None:
    checks = full_checks(EVIL)
    card = render_card(result(checks, source=f"data/{EVIL}.jsonl",
                              reasons=(EVIL,)), name=EVIL + '\n"x": [1]', changes=[
        {"id": 1, "action": "drop", "check": EVIL, "code": EVIL}])
    meta = header(card)  # the header still parses, and holds the name as given
    assert meta["pretty_name"] == EVIL + '\n"x": [1]'
    assert set(meta) == {"language", "task_categories", "size_categories", "pretty_name", "tags"}
    body = card.split("---\n", 2)[2]
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert_valid_markdown(card)


@pytest.mark.parametrize(("n", "category"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                             (99_999, "10K<n<100K"), (2_000_000, "1M<n<10M")])
def test_size_categories(n: int, category: str) -> None:
    assert size_category(n) == category
