"""`counterfactual_probe`: does a small model trained on this data change its output when only a
group term changes?

Swap pairs come from `checks/lexicons/bias_swaps.json` (he<->she, names, group descriptors).
Swapping is whole-word, case-preserving and done on a capped held-out sample only.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.check import Check, param
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks._features import classifier_text, make_text_classifier
from checks._groups import swap_pairs
from checks.bias import NEGATIVE_COMPOUND, POSITIVE_COMPOUND, vader_compound

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

    def swap(self, text: str) -> tuple[str, int, int]:
        """(swapped text, words swapped left->right, words swapped right->left)."""
        counts = [0, 0]

        def replace(match: re.Match[str]) -> str:
            word = match.group(0)
            key = word.lower()
            counts[0 if key in self.forward else 1] += 1
            return _same_case(word, self.target[key])

        return self.pattern.sub(replace, text), counts[0], counts[1]


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
    return Swapper(pattern=pattern, target=target, forward=frozenset(forward))


@functools.lru_cache(maxsize=1)
def swappers() -> dict[str, Swapper]:
    return {axis: make_swapper(pairs) for axis, pairs in swap_pairs().items()}


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
    when only "he" becomes "she" learned that association from the data. An axis is flagged
    when at least `min_count` records were evaluated and its flip rate reaches
    `min_flip_rate`. Limits: a proxy model, not your fine-tune; word swaps can produce odd
    sentences ("her" always becomes "him"); only held-out records with a swappable term count;
    training is capped at `max_train_records`.
    """

    name = "counterfactual_probe"
    category = "bias"
    metrics = ("flip_rate", "max_axis_flip_rate", "mean_score_shift", "n_flagged_axes",
               "n_evaluated")
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

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        empty = {"flip_rate": math.nan, "max_axis_flip_rate": math.nan,
                 "mean_score_shift": math.nan, "n_flagged_axes": 0.0, "n_evaluated": 0.0}
        texts = classifier_text(data) if data.n else ()
        rng = ctx.rng(self.name)
        order = rng.permutation(data.n)
        n_hold = round(data.n * self.params.holdout_fraction)
        held, train = order[:n_hold], order[n_hold:]
        target, source = self._targets(data, train, rng)
        if target is None:
            return Measurement(metrics=empty, details={"reason": source})
        train_pos, y = target
        if len(set(y.tolist())) < 2 or len(train_pos) < 10 or n_hold == 0:
            return Measurement(metrics=empty, details={
                "reason": "too little data to train and test the probe (needs two classes, "
                          "10 training and 1 held-out record)", "target": source})
        from threadpoolctl import threadpool_limits

        model = make_text_classifier(ctx.seed)
        # one BLAS/OpenMP thread: lbfgs on sparse TF-IDF gains nothing from threads and slows
        # down several-fold when cores are shared
        with ctx.progress("Counterfactual probe: training", None), threadpool_limits(1):
            model.fit([texts[i] for i in train_pos], y)
        axes = [a for a in swappers() if not self.params.axes or a in self.params.axes]
        swaps = {axis: self._swaps(axis, texts, held) for axis in axes}
        swaps = {axis: sw for axis, sw in swaps.items() if len(sw[0])}
        union = sorted({int(i) for sw in swaps.values() for i in sw[0]})
        slot = {p: k for k, p in enumerate(union)}
        with ctx.progress("Counterfactual probe: predicting", None), threadpool_limits(1):
            before_all = model.predict_proba([texts[i] for i in union]) if union else \
                np.zeros((0, 0))
            after_all = model.predict_proba([t for sw in swaps.values() for t in sw[1]]) \
                if union else np.zeros((0, 0))
        per_axis, findings, flips_total, shifts_all = [], [], 0, []
        offset = 0
        for axis, (positions, _, direction) in swaps.items():
            before = before_all[[slot[int(p)] for p in positions]]
            after = after_all[offset: offset + len(positions)]
            offset += len(positions)
            row, flipped_pos, shifts = self._axis_row(axis, model, positions, direction,
                                                      before, after)
            per_axis.append(row)
            flips_total += len(flipped_pos)
            shifts_all.append(shifts)
            if row["n_evaluated"] >= self.params.min_count and \
                    row["flip_rate"] >= self.params.min_flip_rate:
                findings.append(Finding(
                    check=self.name, code="counterfactual_flips", severity=Severity.WARNING,
                    metric="n_flagged_axes", value=row["flip_rate"],
                    message=(f"swapping {axis} terms flips the probe model's prediction on "
                             f"{row['n_flipped']} of {row['n_evaluated']} held-out records "
                             f"({row['flip_rate']:.1%}; mean score shift "
                             f"{row['mean_score_shift']:.3f})"),
                    records=tuple(int(r) for r in data.ids[flipped_pos]),
                    n_records=len(flipped_pos), details=row))
        n_eval = sum(r["n_evaluated"] for r in per_axis)
        testable = [r["flip_rate"] for r in per_axis if r["n_evaluated"] >= self.params.min_count]
        return Measurement(
            metrics={"flip_rate": flips_total / n_eval if n_eval else math.nan,
                     "max_axis_flip_rate": max(testable, default=math.nan),
                     "mean_score_shift": float(np.concatenate(shifts_all).mean()) if n_eval
                     else math.nan,
                     "n_flagged_axes": float(len(findings)), "n_evaluated": float(n_eval)},
            findings=tuple(findings),
            details={"axes": per_axis, "target": source, "n_train": len(train_pos),
                     "n_held_out": int(n_hold), "classes": [str(c) for c in model.classes_][
                         :MAX_CLASSES_SHOWN],
                     "meaning": "flip = predicted class changes and its probability moves by "
                                "at least min_shift after swapping only group terms; score "
                                "shift = largest change in any class probability; "
                                "signed_shift = mean change of each class probability, by swap "
                                "direction (left->right of the pairs in bias_swaps.json)"})

    def _targets(self, data: DatasetView, train: np.ndarray, rng: np.random.Generator,
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
               ) -> tuple[np.ndarray, list[str], np.ndarray]:
        """Held-out positions with a swappable term (capped), their swapped texts, and the
        swap direction of each."""
        swapper = swappers()[axis]
        chosen: list[int] = []
        swapped: list[str] = []
        direction: list[str] = []
        for i in held:
            if len(chosen) >= self.params.max_eval_records:
                break
            new, fwd, back = swapper.swap(texts[i])
            if fwd or back:
                chosen.append(int(i))
                swapped.append(new)
                direction.append("left_to_right" if fwd > back else
                                 "right_to_left" if back > fwd else "mixed")
        return np.array(chosen, dtype=np.int64), swapped, np.array(direction)

    def _axis_row(self, axis: str, model: Any, positions: np.ndarray, direction: np.ndarray,
                  before: np.ndarray, after: np.ndarray,
                  ) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        cls = before.argmax(axis=1)
        rows = np.arange(len(positions))
        moved = np.abs(after[rows, cls] - before[rows, cls])
        flipped = (after.argmax(axis=1) != cls) & (moved >= self.params.min_shift)
        shifts = np.abs(after - before).max(axis=1)
        classes = [str(c) for c in model.classes_][:MAX_CLASSES_SHOWN]
        signed = {d: {c: round(float((after - before)[direction == d, k].mean()), 4)
                      for k, c in enumerate(classes)}
                  for d in ("left_to_right", "right_to_left") if (direction == d).any()}
        row = {"axis": axis, "n_evaluated": len(positions), "n_flipped": int(flipped.sum()),
               "flip_rate": round(float(flipped.mean()), 4),
               "mean_score_shift": round(float(shifts.mean()), 4), "signed_shift": signed,
               "capped": len(positions) >= self.params.max_eval_records}
        return row, positions[flipped], shifts
