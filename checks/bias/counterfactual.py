"""`counterfactual_probe`: does a small model trained on this data change its output when only a
group term changes?

Swap pairs come from `checks/lexicons/bias_swaps.json` (he<->she, names, group descriptors).
Swapping is whole-word, case-preserving and done on a capped held-out sample only.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.check import Check, SkipCheck, param
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.bias._mentions import swap_pairs
from checks.bias.groups import NEGATIVE_COMPOUND, POSITIVE_COMPOUND, vader_compound
from checks.shared.features import TextTfidf, classifier_text, make_text_classifier
from checks.shared.language import COVERAGE_SAMPLE, language_coverage
from checks.shared.probe import ProbeFeatures, probe_view, vectorise

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

MAX_CLASSES_SHOWN = 10


@dataclass(frozen=True)
class Swapper:
    """Whole-word, case-preserving swap of one axis' pairs (both directions)."""

    pattern: re.Pattern[str]
    target: Mapping[str, str]
    forward: frozenset[str]  # words on the left of a pair ("he" in he<->she)
    #: one run of letters and digits of every term (its longest), lower-cased: a text whose
    #: `word_runs` hold none of them has no match; None where a term is not ASCII
    required: frozenset[str] | None = None

    def may_match(self, runs: frozenset[str]) -> bool:
        """False only when the pattern cannot match a text with these `word_runs`."""
        return self.required is None or not self.required.isdisjoint(runs)

    def swap(self, text: str) -> tuple[str, int, int]:
        """(swapped text, words swapped left->right, words swapped right->left)."""
        new, pairs = self.swap_words(text)
        forward = sum(old in self.forward for old, _ in pairs)
        return new, forward, len(pairs) - forward

    def swap_words(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """(swapped text, the (old, new) lower-case words in order)."""
        pairs: list[tuple[str, str]] = []

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            key = word.lower()
            pairs.append((key, self.target[key]))
            return _same_case(word, self.target[key])

        return self.pattern.sub(replace, text), pairs


def _same_case(original: str, new: str) -> str:
    if original.isupper() and len(original) > 1:
        return new.upper()
    if original[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


def make_swapper(pairs: Sequence[tuple[str, str]]) -> Swapper:
    target: dict[str, str] = {}
    forward: set[str] = set()
    for left, right in pairs:
        if left not in target:
            target[left] = right
            forward.add(left)
        target.setdefault(right, left)
    words = sorted(target, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w'-])(?:" + "|".join(map(re.escape, words)) + r")(?![\w-])",
                         re.IGNORECASE)
    runs = [max(_RUN.findall(w.lower()), key=len, default="") for w in words]
    required = frozenset(runs) if all(w.isascii() for w in words) and all(runs) else None
    return Swapper(pattern=pattern, target=target, forward=frozenset(forward),
                   required=required)


_RUN = re.compile(r"[^\W_]+")
#: the non-ASCII characters that case-insensitive matching takes for ASCII letters
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def word_runs(text: str) -> frozenset[str]:
    """The maximal runs of letters and digits of `text`, lower-cased the way the swap
    patterns' case-insensitive matching sees ASCII letters (a cheap test before a swap)."""
    return frozenset(_RUN.findall(text.translate(_ASCII_FOLD).lower()))


@functools.lru_cache(maxsize=1)
def swappers() -> dict[str, Swapper]:
    return {axis: make_swapper(pairs) for axis, pairs in swap_pairs().items()}


_WORD = re.compile(r"(?<![\w'-])[A-Za-z]{3,}(?![\w-])")


class Placebo:
    """The control for a group swap: the same number of neutral words in the same text,
    replaced by vocabulary words of matching document frequency (IDF from the probe's word
    features). A probe whose predictions wobble under any word change flips here too."""

    def __init__(self, vectorizer: TextTfidf, excluded: set[str],
                 rng: np.random.Generator) -> None:
        idf = vectorizer.word_idf
        self.idf_of = {w: float(idf[i]) for w, i in vectorizer.word_vocabulary().items()}
        pool = sorted((v, w) for w, v in self.idf_of.items()
                      if w.isalpha() and len(w) >= 3 and w not in excluded)
        self.pool_idf = np.array([v for v, _ in pool])
        self.pool_words = [w for _, w in pool]
        self.excluded = excluded
        self.max_idf = float(idf.max()) if len(idf) else 1.0
        self.rng = rng
        self._spots: dict[str, tuple[np.ndarray, list[str], np.ndarray]] = {}

    def spots(self, text: str) -> tuple[np.ndarray, list[str], np.ndarray]:
        """The words of `text` a placebo may replace (in the vocabulary, not group terms):
        their positions among all `_WORD` matches, the words and their IDF; remembered per text
        (a record swapped on several axes is read once)."""
        found = self._spots.get(text)
        if found is None:
            words = _WORD.findall(text)
            values = [self.idf_of.get(w.lower()) for w in words]
            keep = [i for i, (w, v) in enumerate(zip(words, values, strict=True))
                    if v is not None and w.lower() not in self.excluded]
            found = self._spots[text] = (np.array(keep, dtype=np.int64),
                                         [words[i] for i in keep],
                                         np.array([values[i] for i in keep]))
        return found

    def swap(self, text: str, swapped: Sequence[tuple[str, str]]) -> str | None:
        where, words, spot_idf = self.spots(text)
        if not len(where) or not self.pool_words:
            return None
        used = np.zeros(len(where), dtype=bool)
        chosen: list[tuple[int, str]] = []
        for old, new in swapped:
            if used.all():
                break
            # the unused spot whose IDF is nearest the swapped word's (the first on ties)
            distance = np.abs(spot_idf - self.idf_of.get(old, self.max_idf))
            distance[used] = np.inf
            k = int(distance.argmin())
            used[k] = True
            near = int(np.searchsorted(self.pool_idf, self.idf_of.get(new, self.max_idf)))
            lo, hi = max(0, near - 10), min(len(self.pool_words), near + 10)
            replacement = self.pool_words[int(self.rng.integers(lo, max(hi, lo + 1)))]
            chosen.append((int(where[k]), _same_case(words[k], replacement)))
        if not chosen:
            return text
        spans = [m.span() for m in itertools.islice(_WORD.finditer(text),
                                                    max(i for i, _ in chosen) + 1)]
        for index, word in sorted(chosen, reverse=True):
            start, end = spans[index]
            text = text[:start] + word + text[end:]
        return text


@register
class CounterfactualProbe(Check):
    """Does a model trained on this data change its answer when only a group term changes?

    It trains the project's small probe model (TF-IDF + logistic regression,
    `make_text_classifier`) on most of the data: on the labels when there are labels, else on
    the sign of each response's VADER sentiment (negative / neutral / positive), predicted from
    the prompt. On held-out records that contain a swappable term it swaps group terms (he<->she,
    him<->her, names, race/religion/age/disability/orientation/nationality descriptors; list in
    `bias_swaps.json`) and measures, per axis, the flip rate (the predicted class changes AND
    the original class' probability moves by at least `min_shift`) and the mean score shift
    (mean over records of the largest change in any class probability). A model that flips
    when only "he" becomes "she" learned that association from the data. The control is a
    placebo swap on the same records (as many neutral words replaced by words of matching
    document frequency): a probe trained on noise flips under any word change, so an axis is
    flagged only when at least `min_count` records were evaluated, its flip rate reaches
    `min_flip_rate`, and it flips significantly more often than under the placebo (exact
    McNemar test on the paired flips, Holm-corrected over axes). Limits: a proxy model, not
    your fine-tune; word swaps can produce odd sentences ("her" always becomes "him"); only
    held-out records with a swappable term count; training is capped at `max_train_records`;
    the swap pairs are English (SKIPPED on data mostly in other languages).
    """

    name = "counterfactual_probe"
    category = "bias"
    uses = frozenset({"probe_features", "probe_view", "field_tokens", "language_sample"})
    metrics = ("flip_rate", "placebo_flip_rate", "max_axis_flip_rate", "mean_score_shift",
               "n_flagged_axes", "n_evaluated")
    default_thresholds = (Threshold(metric="n_flagged_axes", warn=0.0),)

    @dataclass(frozen=True)
    class Params:
        axes: tuple[str, ...] = param((), doc="only these swap axes (empty: all in "
                                              "bias_swaps.json)")
        holdout_fraction: float = param(0.2, doc="share of records held out for the swap "
                                                 "test", gt=0, lt=1)
        max_train_records: int = param(5_000, doc="training records at most (sampled with "
                                                  "the run seed)", ge=10)
        max_eval_records: int = param(1_000, doc="held-out records evaluated per axis at most",
                                      ge=1)
        min_shift: float = param(0.1, doc="probability change a flip needs (small wobbles "
                                          "around 50% are not flips)", ge=0, le=1)
        min_flip_rate: float = param(0.05, doc="flip rate that flags an axis", ge=0, le=1)
        min_count: int = param(30, doc="evaluated records an axis needs to be flagged", ge=1)
        alpha: float = param(0.05, doc="significance level of the group-vs-placebo test "
                                       "(Holm over axes)", gt=0, lt=0.5)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        from threadpoolctl import threadpool_limits

        coverage = language_coverage(data, ctx, check=self.name,
                                     what="English swap lexicons (bias_swaps.json)",
                                     sample=COVERAGE_SAMPLE)
        if data.has_labels:  # the probe's records and features, shared with the label checks
            data = probe_view(data, ctx)
        texts = classifier_text(data) if data.n else ()
        rng = ctx.rng(self.name)
        order = rng.permutation(data.n)
        n_hold = round(data.n * self.params.holdout_fraction)
        held, train = order[:n_hold], order[n_hold:]
        target, source = self._targets(data, train)
        if target is None:
            raise SkipCheck(source)
        train_pos, y = target
        if len(set(y.tolist())) < 2 or len(train_pos) < 10 or n_hold == 0:
            raise SkipCheck(f"too little data to train and test the probe on {source} (needs "
                            "two classes, 10 training and 1 held-out record)")
        features = self._features(data, ctx, texts, train_pos, len(set(y.tolist())))
        model = make_text_classifier(ctx.seed).named_steps["model"]
        # one BLAS/OpenMP thread: lbfgs on sparse TF-IDF gains nothing from threads and slows
        # down several-fold when cores are shared
        with ctx.progress("Counterfactual probe: training", None), threadpool_limits(1):
            model.fit(features.matrix if features.matrix.shape[0] == len(train_pos) else
                      features.matrix[train_pos], y)
        axes = [a for a in swappers() if not self.params.axes or a in self.params.axes]
        excluded = {w for sw in swappers().values() for pair in sw.target.items()
                    for w in pair}
        placebo = Placebo(features.vectorizer, excluded, ctx.rng(self.name + ":placebo"))
        runs: dict[int, frozenset[str]] = {}
        cases = [c for c in (self._swaps(axis, texts, held, placebo, runs) for axis in axes)
                 if c.n]
        union = sorted({int(i) for c in cases for i in c.positions})
        slot = {p: k for k, p in enumerate(union)}
        with ctx.progress("Counterfactual probe: predicting", None), threadpool_limits(1):
            shared = features.matrix.shape[0] == data.n
            before_all = model.predict_proba(
                features.matrix[union] if shared else
                features.vectorizer.transform([texts[i] for i in union])) if union else \
                np.zeros((0, 0))
            after_all = model.predict_proba(features.vectorizer.transform(
                [t for c in cases for t in c.swapped + c.placebo])) if union else \
                np.zeros((0, 0))
        rows: list[dict[str, Any]] = []
        flipped_of: list[np.ndarray] = []
        shifts_all: list[np.ndarray] = []
        offset = 0
        for case in cases:
            before = before_all[[slot[int(p)] for p in case.positions]]
            after = after_all[offset: offset + case.n]
            control = after_all[offset + case.n: offset + 2 * case.n]
            offset += 2 * case.n
            row, flipped, shifts = self._axis_row(case, model, before, after, control)
            rows.append(row)
            flipped_of.append(case.positions[flipped])
            shifts_all.append(shifts)
        findings = self._findings(data, rows, flipped_of)
        n_eval = sum(r["n_evaluated"] for r in rows)
        testable = [r["flip_rate"] for r in rows if r["n_evaluated"] >= self.params.min_count]
        return Measurement(
            metrics={"flip_rate": sum(r["n_flipped"] for r in rows) / n_eval if n_eval
                     else math.nan,
                     "placebo_flip_rate": sum(r["n_placebo_flipped"] for r in rows) / n_eval
                     if n_eval else math.nan,
                     "max_axis_flip_rate": max(testable, default=math.nan),
                     "mean_score_shift": float(np.concatenate(shifts_all).mean()) if n_eval
                     else math.nan,
                     "n_flagged_axes": float(len(findings)), "n_evaluated": float(n_eval)},
            findings=findings,
            details={"axes": rows, "target": source, "n_train": len(train_pos),
                     "language_coverage": coverage,
                     "n_held_out": int(n_hold), "features": features.description,
                     "classes": [str(c) for c in model.classes_][:MAX_CLASSES_SHOWN],
                     "meaning": "flip = predicted class changes and its probability moves by "
                                "at least min_shift after swapping only group terms; placebo "
                                "= the same for neutral words of matching frequency; score "
                                "shift = largest change in any class probability; "
                                "signed_shift = mean change of each class probability, by swap "
                                "direction (left->right of the pairs in bias_swaps.json)"})

    def _findings(self, data: DatasetView, rows: list[dict[str, Any]],
                  flipped_of: list[np.ndarray]) -> tuple[Finding, ...]:
        from checks.bias._stats import adjust_pvalues

        adjusted = adjust_pvalues([r["p_value"] for r in rows], "holm")
        out = []
        for row, q, flipped in zip(rows, adjusted, flipped_of, strict=True):
            row["p_adjusted"] = round(float(q), 6)
            if row["n_evaluated"] < self.params.min_count or \
                    row["flip_rate"] < self.params.min_flip_rate or not q < self.params.alpha:
                continue
            out.append(Finding(
                check=self.name, code="counterfactual_flips", severity=Severity.WARNING,
                metric="n_flagged_axes", value=row["flip_rate"],
                message=(f"swapping {row['axis']} terms flips the probe model's prediction on "
                         f"{row['n_flipped']} of {row['n_evaluated']} held-out records "
                         f"({row['flip_rate']:.1%} vs {row['placebo_flip_rate']:.1%} for "
                         f"neutral word swaps; adjusted p={q:.2g}; mean score shift "
                         f"{row['mean_score_shift']:.3f})"),
                records=tuple(int(r) for r in data.ids[flipped]), n_records=len(flipped),
                details=row))
        return tuple(out)

    def _features(self, data: DatasetView, ctx: RunContext, texts: Sequence[str],
                  train_pos: np.ndarray, n_classes: int) -> ProbeFeatures:
        """The probe's features: with labels, the shared `probe_features` of every record
        (one row per record); else the same vectoriser fitted on the training texts alone
        (one row per training record)."""
        if data.has_labels:
            features: ProbeFeatures = ctx.artifact("probe_features", data)
            return features
        return vectorise([texts[i] for i in train_pos], n_classes)

    def _targets(self, data: DatasetView, train: np.ndarray,
                 ) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
        cap = self.params.max_train_records
        if data.has_labels:
            labels = data.labels
            pos = np.array([i for i in train if labels[i] is not None], dtype=np.int64)[:cap]
            return (pos, np.array([str(labels[i]) for i in pos], dtype=object)), "labels"
        if data.has_response:
            pos = np.sort(train[:cap])
            responses = data.responses
            compound = vader_compound([responses[i] for i in pos])
            y = np.where(compound <= NEGATIVE_COMPOUND, "negative",
                         np.where(compound >= POSITIVE_COMPOUND, "positive", "neutral"))
            return (pos, y.astype(object)), "response VADER sentiment sign, predicted from prompt"
        return None, "no labels and no responses to train the probe on"

    def _swaps(self, axis: str, texts: Sequence[str], held: np.ndarray,
               placebo: Placebo, runs: dict[int, frozenset[str]]) -> SwapCase:
        """Held-out records with a swappable term (capped): swapped and placebo texts.
        `runs` caches each record's `word_runs` across axes (records that cannot match skip
        the swap)."""
        swapper = swappers()[axis]
        chosen: list[int] = []
        swapped: list[str] = []
        control: list[str] = []
        direction: list[str] = []
        for i in held:
            if len(chosen) >= self.params.max_eval_records:
                break
            if swapper.required is not None:
                if int(i) not in runs:
                    runs[int(i)] = word_runs(texts[i])
                if not swapper.may_match(runs[int(i)]):
                    continue
            new, pairs = swapper.swap_words(texts[i])
            if not pairs:
                continue
            forward = sum(old in swapper.forward for old, _ in pairs)
            chosen.append(int(i))
            swapped.append(new)
            control.append(placebo.swap(texts[i], pairs) or texts[i])
            direction.append("left_to_right" if 2 * forward > len(pairs) else
                             "right_to_left" if 2 * forward < len(pairs) else "mixed")
        return SwapCase(axis=axis, positions=np.array(chosen, dtype=np.int64), swapped=swapped,
                        placebo=control, direction=np.array(direction))

    def _axis_row(self, case: SwapCase, model: Any, before: np.ndarray, after: np.ndarray,
                  control: np.ndarray) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        from scipy.stats import binomtest

        flipped = self._flips(before, after)
        placebo_flipped = self._flips(before, control)
        shifts = np.abs(after - before).max(axis=1)
        only_group = int((flipped & ~placebo_flipped).sum())
        only_placebo = int((placebo_flipped & ~flipped).sum())
        p = binomtest(only_group, only_group + only_placebo, 0.5,
                      alternative="greater").pvalue if only_group + only_placebo else 1.0
        classes = [str(c) for c in model.classes_][:MAX_CLASSES_SHOWN]
        signed = {d: {c: round(float((after - before)[case.direction == d, k].mean()), 4)
                      for k, c in enumerate(classes)}
                  for d in ("left_to_right", "right_to_left") if (case.direction == d).any()}
        row = {"axis": case.axis, "n_evaluated": case.n, "n_flipped": int(flipped.sum()),
               "flip_rate": round(float(flipped.mean()), 4),
               "n_placebo_flipped": int(placebo_flipped.sum()),
               "placebo_flip_rate": round(float(placebo_flipped.mean()), 4),
               "p_value": float(p), "mean_score_shift": round(float(shifts.mean()), 4),
               "placebo_score_shift": round(float(np.abs(control - before).max(axis=1).mean()),
                                            4),
               "signed_shift": signed, "capped": case.n >= self.params.max_eval_records}
        return row, flipped, shifts

    def _flips(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        cls = before.argmax(axis=1)
        rows = np.arange(len(cls))
        moved = np.abs(after[rows, cls] - before[rows, cls])
        return np.asarray((after.argmax(axis=1) != cls) & (moved >= self.params.min_shift))


@dataclass(frozen=True)
class SwapCase:
    """The held-out records one axis' swap list touches, with swapped and placebo texts."""

    axis: str
    positions: np.ndarray
    swapped: list[str]
    placebo: list[str]
    direction: np.ndarray

    @property
    def n(self) -> int:
        return len(self.positions)
