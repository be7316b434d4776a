"""length_outliers and the shared text-length artifact."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Measurement
from checks.integrity.lengths import LengthOutliers, robust_z, text_lengths

ASCII_SPACE = " \t\n\r\x0b\x0c"


def _words(n: int, seed: int) -> str:
    vocab = ("refund", "invoice", "plan", "team", "card", "export", "billing", "account")
    return " ".join(vocab[(seed + k) % len(vocab)] for k in range(n))


def _run(records: list[dict[str, str]], **params: object) -> Measurement:
    data = load_dataset(records)
    return LengthOutliers(**params).run(data, RunContext(data))


def _flagged(result: Measurement, code: str) -> set[int]:
    return {r for f in result.findings if f.code == code for r in f.records}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(
    list("ab Z9_.,!?é€😀-") + list(ASCII_SPACE)), max_size=30)), max_size=40))
def test_text_lengths_match_python(texts: list[str | None]) -> None:
    lengths = text_lengths(pa.chunked_array([pa.array(texts, pa.string())]))
    plain = [t or "" for t in texts]
    assert lengths.words.tolist() == [len(_split(t)) for t in plain]
    assert lengths.chars.tolist() == [len(t) for t in plain]


def _split(text: str) -> list[str]:
    for space in ASCII_SPACE[1:]:
        text = text.replace(space, " ")
    return text.split()


def test_text_lengths_tokens_count_word_runs_and_punctuation() -> None:
    lengths = text_lengths(pa.array(["Hello, world!", "x=f(a_b)", "", None, "déjà vu"]))
    assert lengths.tokens.tolist() == [4, 6, 0, 0, 2]
    assert lengths.words.tolist() == [2, 1, 0, 0, 2]


def test_text_lengths_on_a_sliced_array() -> None:
    array = pa.array([_words(i % 7 + 1, i) for i in range(100)]).slice(10, 50)
    assert text_lengths(array).words.tolist() == [i % 7 + 1 for i in range(10, 60)]


def test_long_and_short_responses_are_outliers() -> None:
    rng = np.random.default_rng(1)
    records = [{"prompt": _words(12, i), "response": _words(int(n), i)}
               for i, n in enumerate(rng.integers(40, 60, size=120))]
    records[5]["response"] = _words(3000, 5)
    records[9]["response"] = "Yes."
    result = _run(records)
    assert _flagged(result, "response_long") == {5}
    assert _flagged(result, "response_short") == {9}
    assert _flagged(result, "ratio_long") == {5} and _flagged(result, "ratio_short") == {9}
    assert result.metrics["n_prompt_outliers"] == 0
    assert result.metrics["outlier_fraction"] == pytest.approx(2 / 120)
    summary = result.details["response"]
    assert sum(summary["histogram"]["counts"]) == summary["n"] == 120
    assert summary["quantiles"]["max"] == 3000


def test_statistics_are_per_label() -> None:
    records = [{"text": _words(8 + i % 3, i), "label": "short"} for i in range(60)]
    records += [{"text": _words(300 + i % 20, i), "label": "long"} for i in range(60)]
    records.append({"text": _words(300, 1), "label": "short"})
    per_label = _run(records)
    assert per_label.details["per_label"] is True
    assert _flagged(per_label, "prompt_long") == {120}
    pooled = _run(records, per_label=False)
    assert _flagged(pooled, "prompt_long") == set()  # 300 words is normal when pooled
    assert np.isnan(per_label.metrics["n_response_outliers"])


@pytest.mark.parametrize("batch", [1, 13, 1000])
def test_combined_from_batches_equals_one_run(batch: int) -> None:
    rng = np.random.default_rng(7)
    prompts = rng.lognormal(2.0, 1.0, 150).astype(int) + 1
    responses = rng.lognormal(3.0, 1.3, 150).astype(int)  # some 0: blank, not scored
    data = load_dataset([{"prompt": _words(int(p), i), "response": _words(int(r), i),
                          "label": "ab"[i % 2]}
                         for i, (p, r) in enumerate(zip(prompts, responses, strict=True))])
    check = LengthOutliers(z_threshold=1.5, min_group=20)
    whole = check.run(data, RunContext(data))
    assert all(whole.metrics[f"n_{m}_outliers"] > 0 for m in ("prompt", "response", "ratio"))
    assert {f.code for f in whole.findings} >= {"response_long", "response_short"}
    partials = [check.map(b, RunContext(b)) for b in
                (data.slice(s, min(s + batch, data.n)) for s in range(0, data.n, batch))]
    assert check.combine(partials, data.n, RunContext(data)) == whole


def test_constant_lengths_do_not_make_every_change_an_outlier() -> None:
    z = robust_z(np.log1p(np.array([5.0] * 50 + [6.0, 7.0, 60.0])), None, min_scale=0.25,
                 min_group=30)
    assert np.abs(z[:52]).max() < 3.5 < z[52]


def test_blank_texts_are_left_to_empty_responses() -> None:
    records = [{"prompt": _words(10, i), "response": _words(50, i)} for i in range(40)]
    records[3]["response"] = "   "
    result = _run(records)
    assert not result.findings


def test_distribution_summaries_are_histograms_for_the_report() -> None:
    from reports.charts import find_charts

    records = [{"prompt": _words(10 + i % 7, i), "response": _words(20 + (i * 7) % 90, i)}
               for i in range(200)]
    result = _run(records)
    for measure in ("prompt", "response", "ratio"):
        histogram = result.details[measure]["histogram"]
        assert sum(histogram["counts"]) == 200
        assert len(histogram["edges"]) == len(histogram["counts"]) + 1
        assert histogram["edges"] == sorted(histogram["edges"])
    ratio = result.details["ratio"]
    assert ratio["histogram"]["edges"][0] <= ratio["quantiles"]["min"]
    assert ratio["histogram"]["edges"][-1] >= ratio["quantiles"]["max"]
    kinds = {chart.title: chart.kind for chart in find_charts(result.details)}
    assert set(kinds.values()) == {"histogram"} and len(kinds) >= 3
