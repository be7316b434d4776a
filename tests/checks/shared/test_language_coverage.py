"""The honest-skip helper `language_coverage` (checks.shared.language)."""

from __future__ import annotations

import pytest

from audit.check import SkipCheck
from audit.context import RunContext
from audit.load import load_dataset
from checks.shared import language as shared_language
from checks.shared.language import MIN_IDENTIFIED, language_coverage
from tests.checks.language.multilingual_data import records


def _ctx(rows: list[dict[str, object]]) -> RunContext:
    return RunContext(load_dataset(rows), seed=0)


def test_reports_the_covered_share_and_other_languages() -> None:
    ctx = _ctx(records("en", 24) + records("fr", 6))
    report = language_coverage(ctx.data, ctx, check="demo", field="response")
    assert report["share"] == pytest.approx(0.8)
    assert report["identified"] == 30 and report["records"] == 30
    assert report["top_other_languages"] == {"fr": 6}


def test_skips_with_the_reason_on_data_mostly_outside_the_languages() -> None:
    ctx = _ctx(records("zh", 25) + records("en", 5))
    with pytest.raises(SkipCheck, match=r"demo relies on English lexicons .* only 17% .* zh 83%"):
        language_coverage(ctx.data, ctx, check="demo")
    report = language_coverage(ctx.data, ctx, check="demo", covered=("en", "zh"))
    assert report["share"] == 1.0
    assert language_coverage(ctx.data, ctx, check="demo", skip=False)["share"] < 0.5


def test_too_few_identified_records_never_skip() -> None:
    ctx = _ctx(records("zh", MIN_IDENTIFIED - 1))
    assert language_coverage(ctx.data, ctx, check="demo")["share"] == 0.0


def test_without_the_model_it_says_so_and_does_not_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise shared_language.LanguageIdUnavailable("no model")

    monkeypatch.setattr(shared_language, "_model", missing)
    ctx = _ctx(records("zh", 30))
    report = language_coverage(ctx.data, ctx, check="demo")
    assert report["share"] is None and report["unavailable"] == "no model"


def test_a_sample_estimates_the_share_without_identifying_every_record() -> None:
    ctx = _ctx(records("en", 60) + records("zh", 140))
    full = language_coverage(ctx.data, ctx, check="demo", skip=False)
    sampled = language_coverage(ctx.data, ctx, check="demo", skip=False, sample=80)
    assert sampled["sampled_records"] == 80 and sampled["identified"] <= 80
    assert full["share"] == pytest.approx(0.3) and abs(sampled["share"] - 0.3) < 0.15
    again = language_coverage(ctx.data, RunContext(ctx.data, seed=0), check="demo", skip=False,
                              sample=80)
    assert again == sampled  # seeded
    with pytest.raises(SkipCheck, match="demo relies on English"):
        language_coverage(ctx.data, ctx, check="demo", sample=80)
    small = language_coverage(ctx.data, ctx, check="demo", skip=False, sample=500)
    assert "sampled_records" not in small and small == full  # not more than the data
