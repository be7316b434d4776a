"""Docs that are generated must be current, and README must stay short."""

from __future__ import annotations

from pathlib import Path

from audit.registry import all_checks
from reports.check_docs import checks_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_check_reference_is_current() -> None:
    builtins = [c for c in all_checks().values() if c.__module__.startswith("checks.")]
    expected = checks_markdown(builtins)
    assert (ROOT / "docs" / "checks.md").read_text(encoding="utf-8") == expected, (
        "docs/checks.md is stale: run `ft-audit checks --markdown > docs/checks.md`")


def test_every_builtin_check_is_documented() -> None:
    text = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    for name, cls in all_checks().items():
        if cls.__module__.startswith("checks."):
            assert f"### `{name}`" in text


def test_readme_is_short_and_points_to_the_references() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 200
    assert "docs/checks.md" in text and "benchmarks/RESULTS.md" in text
