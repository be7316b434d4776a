"""Pure statistics shared by the bias checks: intervals, 2x2 tests, multiple-comparison
corrections and the group-vs-rest rate comparison. numpy only at import; scipy inside.

Conventions: a "rate comparison" compares the rate of a binary outcome among records that
mention a group with the rate among records that mention another group of the same axis but
not this one (records mentioning no group of the axis are left out). The gap is group minus
rest, with a Newcombe hybrid-score interval; the p-value comes from Pearson's chi-square test
on the 2x2 table, or Fisher's exact test when an expected count is below 5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: two-sided 95% normal quantile
Z95 = 1.959963984540054
CORRECTIONS = ("holm", "bh")


def z_for(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


def wilson_interval(k: np.ndarray | float, n: np.ndarray | float,
                    z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion k/n (NaN where n == 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


def newcombe_interval(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray,
                      z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for p1 - p2 (method 10), from Wilson intervals."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.asarray(k1, float) / np.asarray(n1, float)
        p2 = np.asarray(k2, float) / np.asarray(n2, float)
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return lower, upper


def two_by_two_pvalues(a: np.ndarray, b: np.ndarray, c: np.ndarray,
                       d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values for tables [[a, b], [c, d]] and whether Fisher's test was used.

    Pearson chi-square (1 df, no continuity correction) when every expected count is >= 5,
    else Fisher's exact test. Degenerate tables (an empty row or column) get p = 1.
    """
    from scipy.stats import chi2, fisher_exact

    a, b, c, d = (np.asarray(x, dtype=float) for x in (a, b, c, d))
    n = a + b + c + d
    rows1, rows2, cols1, cols2 = a + b, c + d, a + c, b + d
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = rows1 * rows2 * cols1 * cols2
        stat = n * (a * d - b * c) ** 2 / denom
        expected_min = np.minimum.reduce([rows1 * cols1, rows1 * cols2, rows2 * cols1,
                                          rows2 * cols2]) / n
    p = np.where(denom > 0, chi2.sf(np.nan_to_num(stat), 1), 1.0)
    fisher = (denom > 0) & (expected_min < 5)
    for i in np.flatnonzero(fisher):
        table = [[int(a.flat[i]), int(b.flat[i])], [int(c.flat[i]), int(d.flat[i])]]
        p.flat[i] = fisher_exact(table).pvalue
    return np.clip(p, 0.0, 1.0), fisher


def adjust_pvalues(p: Sequence[float] | np.ndarray, method: str = "holm") -> np.ndarray:
    """Holm (family-wise error) or Benjamini-Hochberg (false discovery rate) adjusted p-values."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method == "bh":
        adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    else:
        raise ValueError(f"unknown correction {method!r}; use one of {CORRECTIONS}")
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


@dataclass(frozen=True)
class RateComparison:
    """One group's outcome rate against the rest of its axis (see module docstring)."""

    axis: str
    group: str
    outcome: str
    n: int
    k: int
    n_rest: int
    k_rest: int
    ci_low: float
    ci_high: float
    gap_low: float
    gap_high: float
    p_value: float
    fisher: bool
    testable: bool  # both sides have at least min_count records
    p_adjusted: float = float("nan")

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else float("nan")

    @property
    def rest_rate(self) -> float:
        return self.k_rest / self.n_rest if self.n_rest else float("nan")

    @property
    def gap(self) -> float:
        return self.rate - self.rest_rate

    def is_flagged(self, alpha: float, min_difference: float) -> bool:
        """Significant after correction, and a gap of at least `min_difference` lies inside
        its confidence interval on the side of the observed gap."""
        if not self.testable or not self.p_adjusted < alpha:
            return False
        reach = self.gap_high if self.gap > 0 else -self.gap_low
        return bool(reach >= min_difference)

    def to_dict(self) -> dict[str, object]:
        return {"axis": self.axis, "group": self.group, "outcome": self.outcome, "n": self.n,
                "rate": _r(self.rate), "rate_ci": [_r(self.ci_low), _r(self.ci_high)],
                "n_rest": self.n_rest, "rest_rate": _r(self.rest_rate), "gap": _r(self.gap),
                "gap_ci": [_r(self.gap_low), _r(self.gap_high)], "p_value": _r(self.p_value, 6),
                "p_adjusted": _r(self.p_adjusted, 6),
                "test": "fisher" if self.fisher else "chi-square"}


def _r(x: float, digits: int = 4) -> float | None:
    return None if x != x else round(float(x), digits)


def compare_rates(axis: str, groups: Sequence[str], members: np.ndarray, outcome: np.ndarray,
                  outcome_name: str, *, min_count: int, z: float = Z95) -> list[RateComparison]:
    """Each group's rate of `outcome` vs the rest of the axis (records in no group excluded).

    members: (n, G) bool; outcome: (n,) bool. Vectorised over groups.
    """
    members = np.asarray(members, dtype=bool)
    outcome = np.asarray(outcome, dtype=bool)
    in_axis = np.asarray(members.any(axis=1), dtype=bool)
    n = members.sum(axis=0)
    k = (members & outcome[:, None]).sum(axis=0)
    rest = in_axis[:, None] & ~members
    n_rest = rest.sum(axis=0)
    k_rest = (rest & outcome[:, None]).sum(axis=0)
    lo, hi = wilson_interval(k, n, z)
    glo, ghi = newcombe_interval(k, n, k_rest, n_rest, z)
    p, fisher_used = two_by_two_pvalues(k, n - k, k_rest, n_rest - k_rest)
    fisher = np.asarray(fisher_used, dtype=bool)
    return [RateComparison(axis=axis, group=g, outcome=outcome_name, n=int(n[i]), k=int(k[i]),
                           n_rest=int(n_rest[i]), k_rest=int(k_rest[i]), ci_low=float(lo[i]),
                           ci_high=float(hi[i]), gap_low=float(glo[i]), gap_high=float(ghi[i]),
                           p_value=float(p[i]), fisher=bool(fisher[i]),
                           testable=bool(n[i] >= min_count and n_rest[i] >= min_count))
            for i, g in enumerate(groups)]


def with_adjusted(rows: list[RateComparison], method: str) -> list[RateComparison]:
    """Rows with `p_adjusted` filled in over the testable rows (one family per check run)."""
    from dataclasses import replace

    testable = [i for i, r in enumerate(rows) if r.testable]
    adjusted = adjust_pvalues([rows[i].p_value for i in testable], method)
    out = list(rows)
    for i, p in zip(testable, adjusted, strict=True):
        out[i] = replace(rows[i], p_adjusted=float(p))
    return out
