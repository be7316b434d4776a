"""The statistics behind the bias checks, against textbook values and scipy."""

from __future__ import annotations

import numpy as np
import pytest

from checks.bias._stats import (
    adjust_pvalues,
    compare_rates,
    newcombe_interval,
    two_by_two_pvalues,
    wilson_interval,
    with_adjusted,
)


def test_wilson_interval_matches_textbook_values():
    # Newcombe (1998) example: 81/263 -> 0.2553 to 0.3662
    lo, hi = wilson_interval(81, 263)
    assert float(lo) == pytest.approx(0.2553, abs=1e-4)
    assert float(hi) == pytest.approx(0.3662, abs=1e-4)
    lo, hi = wilson_interval(0, 10)
    assert float(lo) == pytest.approx(0.0, abs=1e-12) and float(hi) == pytest.approx(0.2775, abs=1e-4)


def test_newcombe_interval_matches_the_paper():
    # Newcombe (1998) method 10, example (a): 56/70 - 48/80 -> 0.0524 to 0.3339
    lo, hi = newcombe_interval(np.array([56]), np.array([70]), np.array([48]), np.array([80]))
    assert float(lo[0]) == pytest.approx(0.0524, abs=1e-4)
    assert float(hi[0]) == pytest.approx(0.3339, abs=1e-4)


def test_two_by_two_uses_chi_square_or_fisher_like_scipy():
    from scipy.stats import chi2_contingency, fisher_exact

    p, fisher = two_by_two_pvalues(np.array([60, 2]), np.array([40, 8]), np.array([45, 9]),
                                   np.array([55, 1]))
    expected_chi = chi2_contingency([[60, 40], [45, 55]], correction=False).pvalue
    assert p[0] == pytest.approx(expected_chi) and not fisher[0]
    assert p[1] == pytest.approx(fisher_exact([[2, 8], [9, 1]]).pvalue) and fisher[1]


def test_degenerate_table_is_not_significant():
    p, _ = two_by_two_pvalues(np.array([0]), np.array([10]), np.array([0]), np.array([12]))
    assert p[0] == 1.0


def test_holm_and_bh_adjustments():
    p = [0.01, 0.04, 0.03, 0.005]
    assert adjust_pvalues(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_pvalues(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    with pytest.raises(ValueError):
        adjust_pvalues(p, "bonferroni-ish")


def test_compare_rates_group_vs_rest_of_axis():
    members = np.zeros((8, 2), dtype=bool)
    members[:4, 0] = True  # group a: records 0-3
    members[4:7, 1] = True  # group b: records 4-6; record 7 mentions neither (excluded)
    outcome = np.array([1, 1, 1, 0, 0, 0, 1, 1], dtype=bool)
    a, b = compare_rates("x", ["a", "b"], members, outcome, "o", min_count=4)
    assert (a.n, a.k, a.n_rest, a.k_rest) == (4, 3, 3, 1)
    assert a.gap == pytest.approx(0.75 - 1 / 3)
    assert a.fisher and not a.testable  # b has only 3 records: the rest is too small
    assert (b.n, b.k, b.n_rest, b.k_rest) == (3, 1, 4, 3)


def test_flagging_needs_significance_and_a_large_interval():
    rng = np.random.default_rng(0)
    n = 2000
    female = rng.random(n) < 0.5
    members = np.stack([female, ~female], axis=1)
    skewed = rng.random(n) < np.where(female, 0.6, 0.5)
    rows = with_adjusted(compare_rates("gender", ["f", "m"], members, skewed, "y", min_count=30),
                         "holm")
    assert all(r.is_flagged(0.05, 0.10) for r in rows)
    fair = rng.random(n) < 0.5
    rows = with_adjusted(compare_rates("gender", ["f", "m"], members, fair, "y", min_count=30),
                         "holm")
    assert not any(r.is_flagged(0.05, 0.10) for r in rows)
    # a tiny but significant gap on huge data is not "large"
    big = 400_000
    female = np.arange(big) % 2 == 0
    members = np.stack([female, ~female], axis=1)
    tiny = rng.random(big) < np.where(female, 0.51, 0.50)
    rows = with_adjusted(compare_rates("gender", ["f", "m"], members, tiny, "y", min_count=30),
                         "holm")
    assert rows[0].p_adjusted < 0.05 and not rows[0].is_flagged(0.05, 0.10)
