"""Bias checks on text: who the data talks about, and what it says about them.

Groups come from the text (lexicons, `checks/_groups.py`) or from explicit group columns
(`--group-field`, axes `column:<name>`). Every comparison is a group's rate against the rest of
its axis, with Wilson / Newcombe 95% intervals, chi-square or Fisher tests, a Holm (or
Benjamini-Hochberg) correction over all tests of one check run, and minimum counts; a skew is
flagged only when it is significant after correction AND large (see `checks/bias_stats.py`).
The counterfactual probe lives in `checks/bias_counterfactual.py`.

Limits that apply to every number here: English lexicons only; a lexicon sees explicit
mentions (words), not implied identity; a record can mention several groups; co-occurrence in
a record is not a statement about the group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.check import Check, Need, param
from audit.errors import ConfigError, InvalidParameterError
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.bias._mentions import (
    GroupMentions,
    group_mentions,
    lexicon_coverage,
    resolve_lexicons,
)
from checks.bias._stats import (
    CORRECTIONS,
    RateComparison,
    compare_rates,
    two_by_two_pvalues,
    wilson_interval,
    with_adjusted,
    z_for,
)

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

#: cap on rows listed in details tables (the JSON result stays small)
MAX_ROWS = 40
NEGATIVE_COMPOUND = -0.05
POSITIVE_COMPOUND = 0.05


@dataclass(frozen=True)
class LexiconParams:
    """Which lexicons to match and which axes to report (shared by every bias check)."""

    lexicons: tuple[str, ...] = param((), doc="extra lexicon files: CSV (axis,group,term"
                                              "[,exact]) or JSON ({axis, groups} or "
                                              "{axis: {group: [terms]}}, e.g. HolisticBias)")
    replace_lexicons: bool = param(False, doc="use only the files in 'lexicons', not the "
                                              "built-in ones")
    axes: tuple[str, ...] = param((), doc="only these axes (e.g. gender, religion, "
                                          "column:<field>); empty: all")

    def __post_init__(self) -> None:
        if self.lexicons or self.replace_lexicons:  # bad files fail when the config is read
            try:
                resolve_lexicons(tuple(self.lexicons), self.replace_lexicons)
            except ConfigError as exc:
                raise InvalidParameterError(f"parameter 'lexicons': {exc}") from None


@dataclass(frozen=True)
class TestParams(LexiconParams):
    """Significance settings shared by the checks that test group differences."""

    alpha: float = param(0.05, doc="significance level after the multiple-comparison "
                                   "correction", gt=0, lt=0.5)
    correction: str = param("holm", doc="multiple-comparison correction over all tests of one "
                                        "run: holm (family-wise) or bh (false discovery rate)",
                            choices=CORRECTIONS)
    min_count: int = param(30, doc="records a group (and the rest of its axis) needs before it "
                                   "is tested", ge=1)
    min_difference: float = param(0.10, doc="a skew is 'large' when its confidence interval "
                                            "reaches this rate difference (0.10 = 10 points)",
                                  ge=0, le=1)


def mentions_for(check: Check, data: DatasetView, ctx: RunContext) -> GroupMentions:
    p = check.params
    return group_mentions(data, ctx, p.lexicons, p.replace_lexicons)


def selected_axes(check: Check, mentions: GroupMentions, *,
                  representation_only: bool = False) -> tuple[str, ...]:
    names = mentions.axis_names(include_representation_only=representation_only)
    wanted = check.params.axes
    if not wanted:
        return names
    unknown = sorted(set(wanted) - set(mentions.axis_names(include_representation_only=True)))
    if unknown:
        raise InvalidParameterError(
            f"check {check.name!r} parameter 'axes': unknown axis {unknown}; this data has "
            f"{', '.join(mentions.axis_names(include_representation_only=True))}")
    return tuple(a for a in names if a in wanted)


def ids_where(data: DatasetView, mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in data.ids[np.flatnonzero(mask)])


def adjusted_rows(rows: list[RateComparison], params: Any) -> list[RateComparison]:
    return with_adjusted(rows, params.correction)


def rows_table(rows: Sequence[RateComparison]) -> list[dict[str, object]]:
    """The most extreme rows (by |gap|, testable first), as small dicts."""
    order = sorted(rows, key=lambda r: (not r.testable, -abs(r.gap) if r.n and r.n_rest else 0))
    return [r.to_dict() for r in order[:MAX_ROWS]]


def skew_findings(check: Check, data: DatasetView, flagged: Sequence[RateComparison],
                  masks: Sequence[np.ndarray], *, code: str, metric: str,
                  what: str) -> tuple[Finding, ...]:
    out = []
    for row, mask in zip(flagged, masks, strict=True):
        out.append(Finding(
            check=check.name, code=code, severity=Severity.WARNING, metric=metric,
            value=row.gap,
            message=(f"{what} for {row.axis}={row.group}: {row.rate:.1%} of {row.n} records vs "
                     f"{row.rest_rate:.1%} of {row.n_rest} in the rest of the axis (gap "
                     f"{row.gap:+.1%}, 95% CI {row.gap_low:+.1%} to {row.gap_high:+.1%}, "
                     f"adjusted p={row.p_adjusted:.2g})"),
            records=ids_where(data, mask), n_records=int(mask.sum()), details=row.to_dict()))
    return tuple(out)


def _nan_to_none(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


# -- group_representation ------------------------------------------------------------------------
@register
class GroupRepresentation(Check):
    """Share of records that mention each demographic group, in prompts and responses.

    A fine-tune learns who the world is about from its data: if 80% of the people in it are
    "he", the model writes "he" by default. Per axis (gender, pronouns, race/ethnicity,
    religion, age, disability, sexual orientation, nationality, and explicit group columns) it
    reports the share of records mentioning each group, separately for prompts and responses,
    the groups that never appear, the pronoun balance, and a comparison with a reference
    distribution (default: parity between female and male terms, and between he/him and
    she/her). A reference gap is flagged only when a chi-square goodness-of-fit test is
    significant after Holm correction and the observed share's Wilson interval reaches
    `min_difference` away from the reference. Limits: mentions are found by English word
    lists (lexicon coverage); a record can mention several groups; absence from the lexicon is
    not absence from the data.
    """

    name = "group_representation"
    category = "bias"
    uses = frozenset({"group_mentions", "record_languages"})
    metrics = ("max_reference_gap", "n_significant_gaps", "male_pronoun_share",
               "n_absent_groups", "group_mention_fraction")
    default_thresholds = (Threshold(metric="n_significant_gaps", warn=0.0),)

    @dataclass(frozen=True)
    class Params(TestParams):
        reference: tuple[str, ...] = param(
            ("gender:female=0.5", "gender:male=0.5", "pronouns:he/him=0.5",
             "pronouns:she/her=0.5"),
            doc="reference shares 'axis:group=share', compared among records that mention "
                "exactly one of the listed groups of that axis (shares are normalised)")

        def __post_init__(self) -> None:
            super().__post_init__()
            parse_reference(self.reference, "group_representation")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        coverage = lexicon_coverage(self, data, ctx)
        mentions = mentions_for(self, data, ctx)
        axes = selected_axes(self, mentions, representation_only=True)
        reference = parse_reference(self.params.reference, self.name)
        fields = ("prompt", "response") if mentions.has_response else ("prompt",)
        shares: dict[str, dict[str, dict[str, float]]] = {}
        absent: dict[str, list[str]] = {}
        any_mention = np.zeros(data.n, dtype=bool)
        for axis in axes:
            shares[axis] = {}
            seen = np.zeros(len(mentions.axis(axis).groups), dtype=bool)
            for where in fields:
                groups, matrix = mentions.matrix(axis, where)
                counts = matrix.sum(axis=0)
                seen |= counts > 0
                if not mentions.axis(axis).representation_only:
                    any_mention |= matrix.any(axis=1)
                shares[axis][where] = {g: round(int(c) / data.n, 5) if data.n else 0.0
                                       for g, c in zip(groups, counts, strict=True)}
            absent[axis] = [g for g, s in zip(mentions.axis(axis).groups, seen, strict=True)
                            if not s]
        tests = [t for axis in axes if axis in reference for where in fields
                 for t in [reference_test(mentions, axis, where, reference[axis],
                                          z_for(self.params.alpha))] if t is not None]
        flagged = flag_reference_tests(tests, self.params)
        findings = []
        for t in flagged:
            findings.append(Finding(
                check=self.name, code="representation_gap", severity=Severity.WARNING,
                metric="max_reference_gap", value=t["max_gap"],
                message=(f"{t['axis']} in {t['field']}s: shares {t['observed']} among "
                         f"{t['n']} records mentioning exactly one of them, reference "
                         f"{t['reference']} (adjusted p={t['p_adjusted']:.2g})"),
                records=(), n_records=int(t["n"]), details=t))
        gaps = [t["max_gap"] for t in tests]
        n_absent = sum(len(v) for a, v in absent.items() if not a.startswith("column:"))
        return Measurement(
            metrics={"max_reference_gap": max(gaps) if gaps else math.nan,
                     "n_significant_gaps": float(len(flagged)),
                     "male_pronoun_share": pronoun_share(mentions, axes),
                     "n_absent_groups": float(n_absent),
                     "group_mention_fraction": float(any_mention.mean()) if data.n else math.nan},
            findings=tuple(findings),
            details={"language_coverage": coverage,
                     "shares": shares, "absent_groups": {a: v[:MAX_ROWS] for a, v in absent.items()},
                     "reference_tests": tests[:MAX_ROWS],
                     "meaning": "share = fraction of all records whose prompt (or response) "
                                "mentions the group; reference tests use records mentioning "
                                "exactly one referenced group of the axis"})


def parse_reference(items: Sequence[str], check: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for item in items:
        try:
            key, value = item.rsplit("=", 1)
            axis, group = key.split(":", 1) if not key.startswith("column:") else \
                key.rsplit(":", 1)
            share = float(value)
        except ValueError:
            raise InvalidParameterError(
                f"check {check!r} parameter 'reference': {item!r} is not 'axis:group=share' "
                "(e.g. 'gender:female=0.5')") from None
        if not share > 0:
            raise InvalidParameterError(
                f"check {check!r} parameter 'reference': share in {item!r} must be > 0")
        out.setdefault(axis, {})[group] = share
    return out


def reference_test(mentions: GroupMentions, axis: str, where: str, ref: dict[str, float],
                   z: float) -> dict[str, Any] | None:
    """Chi-square goodness of fit of exclusive mentions against the reference shares."""
    from scipy.stats import chisquare

    groups, matrix = mentions.matrix(axis, where)
    cols = [groups.index(g) for g in ref if g in groups]
    if len(cols) < 2:
        return None
    sub = matrix[:, cols]
    exclusive = sub[sub.sum(axis=1) == 1]
    n = int(exclusive.shape[0])
    if n == 0:
        return None
    counts = exclusive.sum(axis=0).astype(float)
    names = [groups[c] for c in cols]
    expected_share = np.array([ref[g] for g in names])
    expected_share /= expected_share.sum()
    p = float(chisquare(counts, expected_share * n).pvalue) if n else 1.0
    observed = counts / n
    lo, hi = wilson_interval(counts, n, z)
    reach = np.maximum(np.abs(lo - expected_share), np.abs(hi - expected_share))
    reach = np.where((lo <= expected_share) & (expected_share <= hi), 0.0, reach)
    return {"axis": axis, "field": where, "n": n,
            "observed": {g: round(float(o), 4) for g, o in zip(names, observed, strict=True)},
            "reference": {g: round(float(e), 4) for g, e in zip(names, expected_share,
                                                                strict=True)},
            "max_gap": float(np.max(np.abs(observed - expected_share))),
            "max_gap_reach": float(np.max(reach)), "p_value": p}


def flag_reference_tests(tests: list[dict[str, Any]], params: Any) -> list[dict[str, Any]]:
    from checks.bias._stats import adjust_pvalues

    adjusted = adjust_pvalues([t["p_value"] for t in tests], params.correction)
    flagged = []
    for t, p in zip(tests, adjusted, strict=True):
        t["p_adjusted"] = float(p)
        if p < params.alpha and t["n"] >= params.min_count and \
                t["max_gap_reach"] >= params.min_difference:
            flagged.append(t)
    return flagged


def pronoun_share(mentions: GroupMentions, axes: Sequence[str]) -> float:
    """he/him share among records (prompt or response) using exactly one of he/him, she/her."""
    if "pronouns" not in axes:
        return math.nan
    groups, matrix = mentions.matrix("pronouns", "record")
    if "he/him" not in groups or "she/her" not in groups:
        return math.nan
    he, she = matrix[:, groups.index("he/him")], matrix[:, groups.index("she/her")]
    n_he, n_she = int((he & ~she).sum()), int((she & ~he).sum())
    return n_he / (n_he + n_she) if n_he + n_she else math.nan


# -- group_label_disparity -----------------------------------------------------------------------
@register
class GroupLabelDisparity(Check):
    """Label rates by demographic group, with intervals, tests and demographic parity.

    A classifier fine-tuned on data where reviews mentioning women are labelled negative more
    often learns to do the same. For each axis and each label (one-vs-rest; one label for
    binary data) it compares the rate among records mentioning a group with the rate among
    records mentioning another group of the axis: Wilson 95% intervals, Newcombe interval of
    the gap, chi-square (Fisher's exact test below 5 expected), Holm correction over all tests
    of the run, and groups need `min_count` records. It also reports fairlearn's demographic
    parity difference and ratio (records mentioning exactly one group of the axis). A skew is
    flagged only when it is significant after correction and its interval reaches
    `min_difference` (default 10 points). Limits: lexicon-based groups (English only), so
    records about a group without a listed word are missed; association is not causation.
    """

    name = "group_label_disparity"
    category = "bias"
    uses = frozenset({"group_mentions", "record_languages"})
    requires = frozenset({Need.LABELS})
    metrics = ("n_significant_skews", "max_abs_gap", "max_dp_difference", "min_dp_ratio",
               "n_tests")
    default_thresholds = (Threshold(metric="n_significant_skews", warn=0.0),)
    Params = TestParams

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        coverage = lexicon_coverage(self, data, ctx)
        mentions = mentions_for(self, data, ctx)
        labels = np.array(["" if v is None else str(v) for v in data.labels], dtype=object)
        has_label = labels != ""
        classes = sorted(set(labels[has_label].tolist()))
        counts = {c: int((labels == c).sum()) for c in classes}
        outcomes = [classes[-1]] if len(classes) == 2 else \
            [c for c in classes if counts[c] >= self.params.min_count] if len(classes) > 2 else []
        z = z_for(self.params.alpha)
        rows: list[RateComparison] = []
        dp: list[dict[str, Any]] = []
        for axis in selected_axes(self, mentions):
            groups, matrix = mentions.matrix(axis, "record")
            matrix = matrix & has_label[:, None]
            if (matrix.sum(axis=0) >= self.params.min_count).sum() < 2:
                continue
            for c in outcomes:
                rows += compare_rates(axis, groups, matrix, labels == c, f"label={c}",
                                      min_count=self.params.min_count, z=z)
            dp += parity_by_axis(axis, groups, matrix, labels, outcomes, self.params.min_count)
        rows = adjusted_rows(rows, self.params)
        flagged = [r for r in rows if r.is_flagged(self.params.alpha, self.params.min_difference)]
        masks = [mentions.matrix(r.axis, "record")[1][:, mentions.axis(r.axis).groups.index(
            r.group)] & (labels == r.outcome.split("=", 1)[1]) for r in flagged]
        findings = skew_findings(self, data, flagged, masks, code="label_skew",
                                 metric="n_significant_skews", what="Label rate skew")
        testable = [r for r in rows if r.testable]
        return Measurement(
            metrics={"n_significant_skews": float(len(flagged)),
                     "max_abs_gap": max((abs(r.gap) for r in testable), default=math.nan),
                     "max_dp_difference": max((d["difference"] for d in dp), default=math.nan),
                     "min_dp_ratio": min((d["ratio"] for d in dp), default=math.nan),
                     "n_tests": float(len(testable))},
            findings=findings,
            details={"language_coverage": coverage,
                     "rates": rows_table(rows), "demographic_parity": dp[:MAX_ROWS],
                     "labels_tested": outcomes[:MAX_ROWS],
                     "meaning": "rate = share of a group's records with the label; gap = rate "
                                "minus the rate among records mentioning other groups of the "
                                "axis; flagged when Holm-adjusted p < alpha and the gap's 95% "
                                "interval reaches min_difference"})


def parity_by_axis(axis: str, groups: Sequence[str], matrix: np.ndarray, labels: np.ndarray,
                   outcomes: Sequence[str], min_count: int) -> list[dict[str, Any]]:
    """fairlearn MetricFrame selection rates over records mentioning exactly one group."""
    from fairlearn.metrics import MetricFrame, selection_rate

    single = matrix.sum(axis=1) == 1
    group_of = np.argmax(matrix, axis=1)
    counts = np.bincount(group_of[single], minlength=len(groups))
    keep = single & (counts[group_of] >= min_count)
    if len(np.unique(group_of[keep])) < 2 or not outcomes:
        return []
    sensitive = np.array(groups, dtype=object)[group_of[keep]]
    y = labels[keep]
    frame = MetricFrame(
        metrics={c: _selection_rate_for(c, selection_rate) for c in outcomes},
        y_true=y, y_pred=y, sensitive_features=sensitive)
    difference, ratio = frame.difference(), frame.ratio()
    return [{"axis": axis, "label": c, "difference": round(float(difference[c]), 4),
             "ratio": round(float(ratio[c]), 4),
             "by_group": {str(g): round(float(v), 4) for g, v in frame.by_group[c].items()}}
            for c in outcomes]


def _selection_rate_for(label: str, selection_rate: Any) -> Any:
    def rate(y_true: Any, y_pred: Any) -> float:
        return float(selection_rate(y_true, np.asarray(y_pred) == label, pos_label=True))

    return rate


# -- group_sentiment_disparity -------------------------------------------------------------------
def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """VADER compound sentiment (-1..1) per text (the vaderSentiment package's lexicon)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(t)["compound"] if t else 0.0 for t in texts],
                    dtype=np.float64)


def sample_positions(pool: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of the True records of `pool`: all of them, or `cap` drawn without
    replacement when there are more."""
    candidates = np.flatnonzero(pool)
    if len(candidates) <= cap:
        return candidates
    return np.sort(rng.choice(candidates, cap, replace=False))


@register
class GroupSentimentDisparity(Check):
    """Sentiment and insult rate of responses about each demographic group.

    A model fine-tuned on answers that are colder or more insulting when a group is mentioned
    reproduces that tone. For records mentioning a group (in the prompt or the response) it
    scores the response with VADER (the `vaderSentiment` lexicon; no model download) and
    compares, per group against the rest of its axis, the negative-response rate (compound <=
    -0.05) and the profanity/insult rate (project lexicon `bias_profanity.json`), with the same
    statistics as group_label_disparity (Wilson and Newcombe intervals, chi-square/Fisher,
    Holm, minimum counts; flagged only when significant and large). Mean compound scores per
    group are reported with 95% intervals. VADER runs per text in Python, so only records
    that mention a group of a testable axis are scored, at most `max_records` of them (drawn
    with the run seed); details say when it sampled. Limits: VADER is a lexicon for short
    English social text; it misses sarcasm and domain tone; a negative answer about a group
    can be legitimate (e.g. history).
    """

    name = "group_sentiment_disparity"
    category = "bias"
    uses = frozenset({"group_mentions", "record_languages"})
    requires = frozenset({Need.RESPONSE})
    metrics = ("n_significant_skews", "max_negative_rate_gap", "max_insult_rate_gap",
               "scored_fraction")
    default_thresholds = (Threshold(metric="n_significant_skews", warn=0.0),)

    @dataclass(frozen=True)
    class Params(TestParams):
        max_records: int = param(5_000, doc="responses scored with VADER at most (sampled "
                                            "with the run seed beyond this)", ge=1)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        coverage = lexicon_coverage(self, data, ctx, sentiment=True)
        mentions = mentions_for(self, data, ctx)
        min_count = self.params.min_count
        axes = [a for a in selected_axes(self, mentions)
                if (mentions.matrix(a, "record")[1].sum(axis=0) >= min_count).sum() >= 2]
        about_group = np.zeros(data.n, dtype=bool)  # only these records enter a comparison
        for axis in axes:
            about_group |= mentions.matrix(axis, "record")[1].any(axis=1)
        positions = sample_positions(about_group, self.params.max_records, ctx.rng(self.name))
        responses = data.responses
        with ctx.progress("VADER sentiment of responses", None):
            compound = vader_compound([responses[i] for i in positions])
        negative = compound <= NEGATIVE_COMPOUND
        insult_matrix = mentions.matrix("profanity", "response")[1]
        insult = insult_matrix[positions].any(axis=1)
        z = z_for(self.params.alpha)
        rows: list[RateComparison] = []
        means: list[dict[str, Any]] = []
        for axis in axes:
            groups, matrix = mentions.matrix(axis, "record")
            sub = matrix[positions]
            if (sub.sum(axis=0) >= self.params.min_count).sum() < 2:
                continue
            rows += compare_rates(axis, groups, sub, negative, "negative_sentiment",
                                  min_count=self.params.min_count, z=z)
            rows += compare_rates(axis, groups, sub, insult, "profanity_or_insult",
                                  min_count=self.params.min_count, z=z)
            means += mean_by_group(axis, groups, sub, compound, self.params.min_count, z)
        rows = adjusted_rows(rows, self.params)
        flagged = [r for r in rows if r.is_flagged(self.params.alpha, self.params.min_difference)]
        outcome_of = {"negative_sentiment": negative, "profanity_or_insult": insult}
        masks = []
        for r in flagged:
            full = np.zeros(data.n, dtype=bool)
            column = mentions.matrix(r.axis, "record")[1][positions,
                                                          mentions.axis(r.axis).groups.index(r.group)]
            full[positions[column & outcome_of[r.outcome]]] = True
            masks.append(full)
        findings = skew_findings(self, data, flagged, masks, code="sentiment_skew",
                                 metric="n_significant_skews",
                                 what="Response sentiment/insult skew")
        testable = [r for r in rows if r.testable]
        n_pool = int(about_group.sum())
        sampled = len(positions) < n_pool
        return Measurement(
            metrics={"n_significant_skews": float(len(flagged)),
                     "max_negative_rate_gap": max((abs(r.gap) for r in testable
                                                   if r.outcome == "negative_sentiment"),
                                                  default=math.nan),
                     "max_insult_rate_gap": max((abs(r.gap) for r in testable
                                                 if r.outcome == "profanity_or_insult"),
                                                default=math.nan),
                     "scored_fraction": len(positions) / n_pool if n_pool else math.nan},
            findings=findings,
            details={"language_coverage": coverage,
                     "rates": rows_table(rows), "mean_compound": means[:MAX_ROWS],
                     "n_scored": len(positions), "sampled": sampled,
                     "sampling": (f"VADER scored {len(positions)} of the {n_pool} responses of "
                                  "records mentioning a group (drawn with the run seed)")
                     if sampled else f"all {n_pool} responses of records mentioning a group "
                                     "were scored",
                     "meaning": "negative = VADER compound <= -0.05; insult = a profanity or "
                                "insult word from bias_profanity.json in the response; gaps "
                                "are group minus the rest of the axis"})


def mean_by_group(axis: str, groups: Sequence[str], matrix: np.ndarray, values: np.ndarray,
                  min_count: int, z: float) -> list[dict[str, Any]]:
    out = []
    for j, g in enumerate(groups):
        v = values[matrix[:, j]]
        if len(v) < min_count:
            continue
        half = z * float(v.std(ddof=1)) / math.sqrt(len(v)) if len(v) > 1 else math.nan
        mean = float(v.mean())
        out.append({"axis": axis, "group": g, "n": len(v), "mean": round(mean, 4),
                    "ci": [_nan_to_none(mean - half), _nan_to_none(mean + half)]})
    return out


# -- stereotype_association ----------------------------------------------------------------------
@register
class StereotypeAssociation(Check):
    """Over-represented co-occurrences of groups with occupations and attributes (PMI).

    If "nurse" appears with "she" far more often than the data's overall she/he mix predicts,
    a fine-tune learns the stereotype. For every axis, group and concept (occupations one by
    one, and attribute families such as competence, warmth, aggression; lexicon
    `bias_associations.json`) it counts records (prompt or response) mentioning both, and
    computes PMI = log2(P(concept | group) / P(concept | axis)) over the records that mention
    the axis, with a chi-square/Fisher test of the group against the rest of its axis and a
    Holm correction over all pairs tested. An association is flagged when it is significant
    after correction, PMI >= `min_pmi` and the pair co-occurs in at least `min_cooccurrences`
    records; the strongest ones are listed with example record ids. Limits: co-occurrence in
    one record is not a statement (the text may counter the stereotype); English lexicons.
    """

    name = "stereotype_association"
    category = "bias"
    uses = frozenset({"group_mentions", "record_languages"})
    metrics = ("n_significant_associations", "max_pmi", "n_pairs_tested")
    default_thresholds = (Threshold(metric="n_significant_associations", warn=0.0),)

    @dataclass(frozen=True)
    class Params(LexiconParams):
        alpha: float = param(0.05, doc="significance level after correction", gt=0, lt=0.5)
        correction: str = param("holm", doc="holm or bh over all pairs tested",
                                choices=CORRECTIONS)
        min_cooccurrences: int = param(10, doc="records mentioning both the group and the "
                                               "concept before a pair is tested", ge=1)
        min_pmi: float = param(0.5, doc="PMI (bits) an association needs to be flagged "
                                        "(0.5 = 1.4x the axis rate)", ge=0)
        max_listed: int = param(20, doc="strongest associations listed in details", ge=1)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        from checks.bias._stats import adjust_pvalues

        coverage = lexicon_coverage(self, data, ctx)
        mentions = mentions_for(self, data, ctx)
        pairs: list[dict[str, Any]] = []
        where: list[np.ndarray] = []  # positions of the records mentioning both, per pair
        for axis in selected_axes(self, mentions):
            groups, matrix = mentions.matrix(axis, "record")
            in_axis = np.flatnonzero(matrix.any(axis=1))
            if len(in_axis) == 0 or (matrix.sum(axis=0) > 0).sum() < 2:
                continue
            sub = matrix[in_axis]
            for concept_axis in ("occupation", "attribute"):
                names, concepts = mentions.matrix(concept_axis, "record")
                csub = concepts[in_axis]
                co = sub.T.astype(np.int64) @ csub.astype(np.int64)  # groups x concepts
                for gi, ci in zip(*np.nonzero(co >= self.params.min_cooccurrences),
                                  strict=True):
                    pairs.append(association(axis, groups[gi], f"{concept_axis}:{names[ci]}",
                                             sub[:, gi], csub[:, ci]))
                    where.append(in_axis[sub[:, gi] & csub[:, ci]])
        adjusted = adjust_pvalues([p["p_value"] for p in pairs], self.params.correction)
        for p, q in zip(pairs, adjusted, strict=True):
            p["p_adjusted"] = round(float(q), 6)
        flagged = [i for i, p in enumerate(pairs)
                   if p["p_adjusted"] < self.params.alpha and p["pmi"] >= self.params.min_pmi]
        flagged.sort(key=lambda i: (-pairs[i]["pmi"], pairs[i]["axis"], pairs[i]["group"],
                                    pairs[i]["concept"]))
        findings = tuple(Finding(
            check=self.name, code="stereotype_association", severity=Severity.WARNING,
            metric="n_significant_associations", value=pairs[i]["pmi"],
            message=(f"{pairs[i]['concept']} co-occurs with {pairs[i]['axis']}="
                     f"{pairs[i]['group']} in {pairs[i]['count']} records: "
                     f"{pairs[i]['rate_in_group']:.1%} of the group's records vs "
                     f"{pairs[i]['rate_in_rest']:.1%} of the rest of the axis (PMI "
                     f"{pairs[i]['pmi']:.2f} bits, adjusted p={pairs[i]['p_adjusted']:.2g})"),
            records=tuple(int(r) for r in data.ids[where[i]]), n_records=len(where[i]),
            details=pairs[i]) for i in flagged)
        strongest = sorted(pairs, key=lambda p: (-p["pmi"], p["axis"], p["group"], p["concept"]))
        for p in strongest[: self.params.max_listed]:
            idx = pairs.index(p)
            p["example_records"] = [int(r) for r in data.ids[where[idx][:5]]]
        return Measurement(
            metrics={"n_significant_associations": float(len(flagged)),
                     "max_pmi": max((p["pmi"] for p in pairs), default=math.nan),
                     "n_pairs_tested": float(len(pairs))},
            findings=findings,
            details={"language_coverage": coverage,
                     "strongest": strongest[: self.params.max_listed],
                     "meaning": "PMI = log2(P(concept | group) / P(concept | any group of the "
                                "axis)) over records mentioning the axis; count = records "
                                "mentioning both; p from chi-square/Fisher of the group vs the "
                                "rest of the axis, Holm-adjusted over all pairs tested"})


def association(axis: str, group: str, concept: str, member: np.ndarray,
                has_concept: np.ndarray) -> dict[str, Any]:
    n = len(member)
    a = int((member & has_concept).sum())
    n_group = int(member.sum())
    n_concept = int(has_concept.sum())
    b = n_group - a
    c = n_concept - a
    d = n - n_group - c
    p, fisher = two_by_two_pvalues(np.array([a]), np.array([b]), np.array([c]), np.array([d]))
    pmi = math.log2(a * n / (n_group * n_concept)) if a else -math.inf
    return {"axis": axis, "group": group, "concept": concept, "count": a,
            "group_records": n_group, "concept_records": n_concept, "axis_records": n,
            "rate_in_group": round(a / n_group, 4) if n_group else None,
            "rate_in_rest": round(c / (n - n_group), 4) if n > n_group else None,
            "pmi": round(pmi, 4), "p_value": float(p[0]),
            "test": "fisher" if fisher[0] else "chi-square"}
