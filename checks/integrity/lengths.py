"""Text lengths (a shared artifact) and the `length_outliers` check.

`prompt_lengths` / `response_lengths` count words (whitespace-separated), approximate tokens
(word runs plus punctuation marks, close to a BPE count for English) and characters for every
record, vectorised over the Arrow string buffers in bounded slices. `truncation` reuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import Check, Need, param
from audit.context import RunContext, artifact
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import JSON, Finding, Measurement, Severity, Threshold

#: rows per slice when counting, so that memory stays bounded on large datasets
SLICE_ROWS = 65_536
#: the constant that makes the MAD a consistent estimator of a normal standard deviation
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class TextLengths:
    """Per-record lengths of one text column (0 for null/empty); arrays are read-only."""

    words: np.ndarray
    tokens: np.ndarray
    chars: np.ndarray


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _count_slice(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Words and approximate tokens of one (non-chunked) string array slice."""
    n = len(array)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if pa.types.is_string(array.type):
        array = array.cast(pa.large_string())
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[array.offset: array.offset + n + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = (np.frombuffer(data_buf, dtype=np.uint8)[lo:hi] if data_buf is not None
            else np.zeros(0, np.uint8))
    local = offsets - lo
    # byte classes by comparison (uint8 arithmetic wraps, so `x - a <= b` tests a <= x <= a+b)
    space = (data == 32) | (data - 9 <= 4)
    word = (data >= 128) | ((data | 32) - 97 <= 25) | (data - 48 <= 9) | (data == 95)
    previous_space = np.empty(data.size, dtype=bool)
    previous_word = np.empty(data.size, dtype=bool)
    if data.size:
        previous_space[0], previous_word[0] = True, False
        previous_space[1:] = space[:-1]
        previous_word[1:] = word[:-1]
        starts = local[:-1][local[:-1] < data.size]
        previous_space[starts] = True  # each record starts fresh
        previous_word[starts] = False
    word_starts = ~space & previous_space
    token_starts = (word & ~previous_word) | ~(word | space)  # word runs and punctuation marks
    return _per_row(word_starts, local), _per_row(token_starts, local)


def _per_row(starts: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """How many True values of `starts` fall in each row [offsets[i], offsets[i+1])."""
    cumulative = np.searchsorted(np.flatnonzero(starts), offsets)
    return np.diff(cumulative).astype(np.int64)


def text_lengths(column: pa.ChunkedArray | pa.Array) -> TextLengths:
    """Words, approximate tokens and characters per row of a string column."""
    filled = pc.fill_null(column, "")
    chars = np.asarray(pc.utf8_length(filled).to_numpy(zero_copy_only=False), dtype=np.int64)
    arrays = filled.chunks if isinstance(filled, pa.ChunkedArray) else [filled]
    words: list[np.ndarray] = []
    tokens: list[np.ndarray] = []
    for chunk in arrays:
        for start in range(0, len(chunk), SLICE_ROWS):
            w, t = _count_slice(chunk.slice(start, SLICE_ROWS))
            words.append(w)
            tokens.append(t)
    empty = np.zeros(0, np.int64)
    return TextLengths(words=_readonly(np.concatenate(words) if words else empty),
                       tokens=_readonly(np.concatenate(tokens) if tokens else empty.copy()),
                       chars=_readonly(chars))


@artifact("prompt_lengths", cheap=True)
def _prompt_lengths(data: DatasetView, ctx: RunContext) -> TextLengths:
    return text_lengths(data.column("prompt"))


@artifact("response_lengths", cheap=True)
def _response_lengths(data: DatasetView, ctx: RunContext) -> TextLengths:
    return text_lengths(data.column("response"))


# -- robust statistics ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RobustScale:
    """Median and scale (MAD x 1.4826, floored) of log(1 + length)."""

    median: float
    scale: float

    def z(self, values: np.ndarray) -> np.ndarray:
        return (values - self.median) / self.scale


def robust_scale(log_values: np.ndarray, *, min_scale: float) -> RobustScale:
    median = float(np.median(log_values))
    mad = float(np.median(np.abs(log_values - median)))
    return RobustScale(median=median, scale=max(MAD_TO_SD * mad, min_scale))


def robust_z(values: np.ndarray, groups: np.ndarray | None, *, min_scale: float,
             min_group: int) -> np.ndarray:
    """Robust z-score of each value within its group (groups smaller than `min_group`, and
    records without a group, are scored against the whole column)."""
    overall = robust_scale(values, min_scale=min_scale)
    z = overall.z(values)
    if groups is None:
        return z
    for group in np.unique(groups[groups >= 0]):
        members = groups == group
        if members.sum() >= min_group:
            z[members] = robust_scale(values[members], min_scale=min_scale).z(values[members])
    return z


def distribution_summary(values: np.ndarray, z: np.ndarray, threshold: float, *,
                         unit: str = "words", bins: int = 30) -> dict[str, JSON]:
    """Quantiles, the range of non-outliers and a log-spaced histogram (small JSON).

    Word counts are binned on log(1 + words) with whole-word edges; ratios on log(ratio).
    """
    if values.size == 0:
        return {"n": 0}
    quantiles = np.quantile(values, [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0])
    if unit == "words":
        shifted = np.unique(np.round(np.geomspace(1, max(2.0, float(values.max()) + 1),
                                                  bins + 1)))
        edges = shifted - 1
    else:
        low, high = float(values.min()), float(values.max())
        edges = np.unique(np.geomspace(low, high if high > low else low * 2, bins + 1))
    counts, _ = np.histogram(values, bins=edges)
    inside = values[np.abs(z) <= threshold]
    return {
        "n": int(values.size),
        "mean": _round(values.mean()),
        "quantiles": {name: _round(q) for name, q in zip(
            ("min", "p1", "p5", "p25", "p50", "p75", "p95", "p99", "max"), quantiles,
            strict=True)},
        "typical_range": [_round(inside.min()), _round(inside.max())] if inside.size else None,
        "histogram": {"edges": [_round(e) for e in edges], "counts": counts.tolist(),
                      "scale": "log", "unit": unit},
    }


# -- the check -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Measure:
    name: str  # prompt, response, ratio
    values: np.ndarray  # log-scale values the z-score is computed on
    lengths: np.ndarray  # what the report shows (words, or response/prompt ratio)


@register
class LengthOutliers(Check):
    """Prompts and responses whose length, or response/prompt length ratio, is far from the rest.

    A 3,000-word answer among 50-word answers, a one-word response to a long question, or a
    prompt that is a whole pasted document: often a scraping or templating error, and a model
    learns its length habits from them. Lengths are word counts on a log scale; a record is an
    outlier when its robust z-score (median and MAD) exceeds `z_threshold`, computed per label
    when the data has labels. Blank texts are left to `empty_responses`. Details hold each
    distribution (quantiles, log-spaced histogram) for the report.
    """

    name = "length_outliers"
    category = "integrity"
    uses = frozenset({"prompt_lengths", "response_lengths"})
    requires = frozenset({Need.PROMPT})
    metrics = ("outlier_fraction", "n_prompt_outliers", "n_response_outliers",
               "n_ratio_outliers")
    default_thresholds = (Threshold(metric="outlier_fraction", warn=0.05, fail=0.15),)

    @dataclass(frozen=True)
    class Params:
        z_threshold: float = param(3.5, gt=0.0, le=100.0,
                                   doc="robust z-score beyond which a length is an outlier")
        min_scale: float = param(0.25, gt=0.0, le=10.0,
                                 doc="floor on the robust scale of log(1 + words), so that "
                                     "near-constant lengths do not make every change an outlier")
        per_label: bool = param(True, doc="compute the statistics within each label")
        min_group: int = param(30, ge=2, le=1_000_000,
                               doc="smallest label group with its own statistics")
        max_listed: int = param(200, ge=0, le=10_000,
                                doc="no longer used: every outlier is listed, most extreme "
                                    "first (kept so that configs setting it stay valid)")

    def map(self, batch: DatasetView, ctx: RunContext) -> tuple[Any, ...]:
        """(ids, prompt words, response words or None, labels or None) of the batch."""
        response = ctx.artifact("response_lengths").words if batch.has_response else None
        labels = batch.column("label").combine_chunks() if self.params.per_label and \
            "label" in batch.table.column_names else None
        return (np.asarray(batch.ids), ctx.artifact("prompt_lengths").words, response, labels)

    def combine(self, partials: Sequence[tuple[Any, ...]], n: int,
                ctx: RunContext) -> Measurement:
        p = self.params
        ids = np.concatenate([part[0] for part in partials]) if partials else \
            np.zeros(0, np.int64)
        prompt_words = np.concatenate([part[1] for part in partials]) if partials else \
            np.zeros(0, np.int64)
        has_response = any(part[2] is not None for part in partials)
        labels = [part[3] for part in partials]
        has_labels = bool(labels) and all(x is not None for x in labels) and any(
            x.null_count < len(x) for x in labels)
        groups = self._groups(pa.chunked_array([x.cast(pa.string()) for x in labels])) \
            if has_labels else None
        del labels
        response_words = np.concatenate([part[2] for part in partials]) if has_response \
            else None
        usable = prompt_words > 0 if response_words is None else \
            (prompt_words > 0) & (response_words > 0)
        usable_groups = None if groups is None else groups[usable]
        del groups

        def measure(name: str) -> _Measure:
            if name == "prompt":
                return _Measure("prompt", np.log1p(prompt_words), prompt_words)
            assert response_words is not None
            if name == "response":
                return _Measure("response", np.log1p(response_words), response_words)
            ratio = (response_words + 1) / (prompt_words + 1)
            return _Measure("ratio", np.log(ratio), ratio)

        metrics: dict[str, float] = {"n_response_outliers": float("nan"),
                                     "n_ratio_outliers": float("nan")}
        details: dict[str, JSON] = {"z_threshold": p.z_threshold,
                                    "per_label": usable_groups is not None}
        # one measure at a time (n-sized arrays of the others are not held meanwhile); of each,
        # only the flagged records' positions, z-scores and lengths are kept for the findings
        scored: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        outlier = np.zeros(len(ids), dtype=bool)
        for name in ("prompt", "response", "ratio") if has_response else ("prompt",):
            current = measure(name)
            z = np.zeros(len(ids))
            if usable.any():
                z[usable] = robust_z(current.values[usable], usable_groups,
                                     min_scale=p.min_scale, min_group=p.min_group)
            flagged = usable & (np.abs(z) > p.z_threshold)
            metrics[f"n_{name}_outliers"] = float(flagged.sum())
            details[name] = distribution_summary(
                current.lengths[usable], z[usable], p.z_threshold,
                unit="ratio" if name == "ratio" else "words")
            positions = np.flatnonzero(flagged)
            scored.append((name, positions, z[positions], current.lengths[positions]))
            outlier[positions] = True
            del current, z, flagged
        fraction = float(outlier.sum() / n) if n else 0.0
        metrics["outlier_fraction"] = fraction
        findings = [finding for name, positions, z, lengths in scored
                    for finding in self._findings(ids, name, positions, z, lengths, fraction)]
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)

    @staticmethod
    def _groups(labels: pa.ChunkedArray) -> np.ndarray:
        encoded = pc.dictionary_encode(pc.fill_null(labels, "\x00none")).combine_chunks()
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        missing = np.asarray(pc.is_null(labels).to_numpy(zero_copy_only=False), dtype=bool)
        codes[missing] = -1
        return codes

    def _findings(self, ids: np.ndarray, name: str, positions: np.ndarray, z: np.ndarray,
                  lengths: np.ndarray, fraction: float) -> list[Finding]:
        """The findings of one measure from its flagged records (`positions`, ascending) and
        their z-scores and lengths."""
        out = []
        unit = "response/prompt length ratio" if name == "ratio" else f"{name} length"
        for direction, side in (("long", z > 0), ("short", z < 0)):
            if not side.any():
                continue
            order = np.flatnonzero(side)
            order = order[np.argsort(-np.abs(z[order]), kind="stable")]
            examples: list[JSON] = [
                {"record": int(ids[positions[i]]), "value": _round(lengths[i]),
                 "z": round(float(z[i]), 2)} for i in order[:10]]
            word = "high" if name == "ratio" and direction == "long" else \
                "low" if name == "ratio" else direction
            out.append(Finding(
                check=self.name, code=f"{name}_{direction}", severity=Severity.WARNING,
                message=f"{order.size} records have an unusually {word} {unit} "
                        f"(|robust z| > {self.params.z_threshold:g})",
                metric="outlier_fraction", value=fraction,
                records=tuple(int(ids[positions[i]]) for i in order), n_records=int(order.size),
                details={"measure": name, "direction": direction,
                         "examples": examples},
                record_values={"value": [_round(lengths[i]) for i in order],
                               "z": np.round(z[order], 2).tolist()}))
        return out


def _round(value: float | np.floating | np.integer) -> float:
    return round(float(value), 3)
