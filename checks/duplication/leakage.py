"""Train/eval leakage and benchmark contamination.

Evaluation records that also appear in the training data (exactly, as near-duplicates, or
sharing a long word n-gram) make every reported score a measure of memorisation. Words are the
script-aware tokens of `checks.shared.minhash` (character bigrams in Chinese, Japanese, Thai).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.duplication._neardup import NearConfig, cross_near_pairs, isolate_empty, lsh_keys
from checks.duplication.duplicates import field_hashes, near_result
from checks.shared import minhash as mh
from checks.shared.text import unspaced_regex

#: leak kinds, strongest first (a record leaked several ways is reported under the first)
KINDS = ("exact", "near_duplicate", "ngram")
#: how each match was found, strongest first: (kind index, what matched)
MATCHES = ((0, "text"), (0, "prompt"), (0, "response"), (1, "text"), (2, "text"))
#: pairs listed in details per finding
MAX_PAIRS_LISTED = 200


@dataclass(frozen=True)
class LeakOptions:
    ngram_size: int = 13
    near_threshold: float = 0.8
    min_exact_words: int = 4


@dataclass(frozen=True)
class Leaks:
    """Leak pairs (position in the other set, position in training, kind index into KINDS,
    match index into MATCHES), one row per leaked record of the other set (its strongest
    match, then the first training record)."""

    pairs: np.ndarray  # (m, 4) int64
    n_other: int

    @property
    def fraction(self) -> float:
        return len(self.pairs) / self.n_other if self.n_other else float("nan")

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.pairs[:, 2], minlength=len(KINDS)) if len(self.pairs) else (
            np.zeros(len(KINDS), dtype=np.int64))
        return {kind: int(found[i]) for i, kind in enumerate(KINDS)}


def exact_matches(other: np.ndarray, train: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(other position, first training position) where the normalised-text hashes
    (`checks.shared.minhash.text_hashes`) are equal and non-empty; only `eligible` other positions."""
    valid_train = np.flatnonzero(train != 0)
    if not len(valid_train) or not len(other):
        return np.zeros((0, 2), dtype=np.int64)
    unique, first = np.unique(train[valid_train], return_index=True)
    where = np.minimum(np.searchsorted(unique, other), len(unique) - 1)
    hit = (other != 0) & (unique[where] == other) & eligible
    positions = np.flatnonzero(hit)
    return np.stack([positions, valid_train[first[where[positions]]]], axis=1)


def word_counts(column: pa.ChunkedArray) -> np.ndarray:
    """Whitespace-separated words per text; for a text with characters of a script written
    without spaces (Chinese, Japanese, Thai...), its word tokens (character bigrams there)."""
    normalized = mh.normalize_column(column)
    counts = np.asarray(pc.list_value_length(pc.utf8_split_whitespace(normalized))
                        .to_numpy(zero_copy_only=False), dtype=np.int64)
    unspaced = np.asarray(pc.match_substring_regex(normalized, unspaced_regex())
                          .to_numpy(zero_copy_only=False), dtype=bool)
    if unspaced.any():
        rows = np.flatnonzero(unspaced)
        _, offsets = mh.token_arrays(normalized.take(pa.array(rows)), "word")
        counts[rows] = np.diff(offsets)
    return counts


def ngram_matches(other: DatasetView, train: DatasetView, ctx: RunContext,
                  size: int) -> np.ndarray:
    """(other position, training position) pairs sharing a `size`-word n-gram.

    The other set's n-grams are hashed into a sorted uint64 array; training texts are streamed
    in batches and looked up with np.isin, so training n-grams are never all in memory.
    """
    norm_other = mh.normalize_column(other.text_column("text"))
    values, offsets = mh.shingles(norm_other, "word", size, partial=False)
    if not len(values):
        return np.zeros((0, 2), dtype=np.int64)
    owner = np.repeat(np.arange(other.n), np.diff(offsets))
    order = np.argsort(values, kind="stable")
    sorted_values, sorted_owner = values[order], owner[order]
    found = []
    for start, batch, batch_offsets in mh.shingle_batches(train.text_column("text"), "word", size,
                                                          partial=False):
        hit = np.flatnonzero(np.isin(batch, sorted_values))
        if not len(hit):
            continue
        train_pos = start + np.searchsorted(batch_offsets, hit, side="right") - 1
        lo = np.searchsorted(sorted_values, batch[hit], side="left")
        hi = np.searchsorted(sorted_values, batch[hit], side="right")
        counts = hi - lo
        expanded = np.repeat(lo, counts) + mh._segment_positions(np.zeros(len(lo), np.int64),
                                                                 counts)
        found.append(np.stack([sorted_owner[expanded], np.repeat(train_pos, counts)], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(found), axis=0)


def find_leaks(other: DatasetView, train: DatasetView, ctx: RunContext,
               options: LeakOptions) -> Leaks:
    """Records of `other` found in `train`: exact (full text, or prompt or response of at least
    `min_exact_words` words), near-duplicate full text, or a shared long n-gram."""
    config = NearConfig(threshold=options.near_threshold)
    keys = near_result(train, ctx, "text", config).keys if train.n else None  # shared with
    pairs, match = leak_matches(other, train, ctx, options, train_keys=keys)  # near_duplicates
    return strongest_leaks(pairs, match, other.n)


def leak_matches(other: DatasetView, train: DatasetView, ctx: RunContext, options: LeakOptions,
                 *, train_keys: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every match of a record of `other` in `train`: (other position, training position)
    pairs and the index into MATCHES of each. Training records can come in batches: the
    matches of the batches together are those of the whole."""
    if not other.n or not train.n:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.int64)
    found = []
    for field in ("text", "prompt", "response"):
        eligible = (np.ones(other.n, dtype=bool) if field == "text"
                    else word_counts(other.text_column(field)) >= options.min_exact_words)
        found.append(exact_matches(field_hashes(other, ctx, field),
                                   field_hashes(train, ctx, field), eligible))
    config = NearConfig(threshold=options.near_threshold)
    if train_keys is None:
        train_keys = lsh_keys(train.text_column("text"), config, ctx.seed)
        isolate_empty(train_keys, field_hashes(train, ctx, "text") == 0, config)
    near, _ = cross_near_pairs(other.text_column("text"), train.text_column("text"), config,
                               ctx.seed, keys_b=train_keys)
    found.append(near)
    found.append(ngram_matches(other, train, ctx, options.ngram_size))
    match = np.concatenate([np.full(len(f), i, dtype=np.int64) for i, f in enumerate(found)])
    return np.concatenate(found).astype(np.int64), match


def strongest_leaks(pairs: np.ndarray, match: np.ndarray, n_other: int) -> Leaks:
    """One row per leaked record of the other set: its strongest match, then the first
    training record (positions or ids: they sort alike)."""
    if not len(pairs):
        return Leaks(pairs=np.zeros((0, 4), dtype=np.int64), n_other=n_other)
    order = np.lexsort((pairs[:, 1], match, pairs[:, 0]))  # per record: strongest, first
    pairs, match = pairs[order], match[order]
    first = np.concatenate(([True], pairs[1:, 0] != pairs[:-1, 0]))
    kind = np.asarray([k for k, _ in MATCHES], dtype=np.int64)[match]
    return Leaks(pairs=np.column_stack([pairs, kind, match])[first], n_other=n_other)


def pair_rows(leaks: Leaks, other: DatasetView, train_ids: np.ndarray | None
              ) -> list[dict[str, Any]]:
    """The first pairs as ids (`train_ids` maps training positions; None: they are ids)."""
    return [{"eval": int(other.ids[o]), "train": int(t if train_ids is None else train_ids[t]),
             "kind": KINDS[k], "match": MATCHES[m][1]}
            for o, t, k, m in leaks.pairs[:MAX_PAIRS_LISTED]]


@register
class EvalLeakage(Check):
    """Evaluation records that also appear in the training data, and benchmark contamination.

    With `--eval FILE` (or an eval/test split column), each evaluation record is looked up in
    the training records: the same normalised text (or prompt, or response), a near-duplicate
    (MinHash, Jaccard >= `near_threshold`), or a shared run of `ngram_size` words (13, as in
    published decontamination work; in Chinese, Japanese and Thai, written without spaces,
    character bigrams count as words). With `--contamination FILE`, benchmark files are checked
    the same way. A leaked evaluation item measures memorisation, not skill: every score
    reported on that set is inflated.
    """

    name = "eval_leakage"
    category = "duplication"
    uses = frozenset({"near", "text_hashes"})
    requires = frozenset({Need.EVAL})
    metrics = ("leaked_fraction", "n_leaked", "n_exact", "n_near_duplicate", "n_ngram",
               "contaminated_fraction")
    default_thresholds = (Threshold(metric="leaked_fraction", warn=0.0, fail=0.01),
                          Threshold(metric="contaminated_fraction", warn=0.0, fail=0.01))

    @dataclass(frozen=True)
    class Params:
        ngram_size: int = param(13, ge=5, le=100, doc="words in a shared n-gram that counts "
                                                      "as a leak")
        near_threshold: float = param(0.8, gt=0.0, le=1.0, doc="Jaccard (word 3-shingles) at "
                                                               "which texts are near duplicates")
        min_exact_words: int = param(4, ge=1, le=100, doc="a prompt or response alone must "
                                                          "have this many words to count as "
                                                          "an exact leak")

    def options(self) -> LeakOptions:
        p = self.params
        return LeakOptions(ngram_size=p.ngram_size, near_threshold=p.near_threshold,
                           min_exact_words=p.min_exact_words)

    def can_split(self, ctx: RunContext) -> bool:
        """Batches of training records can each be looked up in an evaluation set given on its
        own (--eval); one taken from the data's split column needs the whole data."""
        return not ctx.eval_from_split

    def map(self, batch: DatasetView, ctx: RunContext) -> dict[str, Any]:
        """The batch's matches with the evaluation set and each benchmark, training records
        as ids."""
        ids = batch.ids
        sets = [ctx.eval_data, *ctx.contamination]
        out: dict[str, Any] = {"train": batch.n, "sets": []}
        for other in sets:
            if other is None:
                out["sets"].append(None)
                continue
            pairs, match = leak_matches(other, batch, ctx, self.options())
            if len(pairs):
                pairs = np.column_stack([pairs[:, 0], ids[pairs[:, 1]]])
            out["sets"].append((pairs, match))
        return out

    def combine(self, partials: Sequence[dict[str, Any]], n: int,
                ctx: RunContext) -> Measurement:
        def leaks_of(index: int, other: DatasetView) -> Leaks:
            parts = [p["sets"][index] for p in partials]
            pairs = np.concatenate([x[0] for x in parts]) if parts else np.zeros((0, 2))
            match = np.concatenate([x[1] for x in parts]) if parts else np.zeros(0)
            return strongest_leaks(pairs.astype(np.int64), match.astype(np.int64), other.n)

        return self._measure(sum(p["train"] for p in partials), ctx, leaks_of, None)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        if not ctx.eval_from_split:
            return super().run(data, ctx)
        train = ctx.train_data
        return self._measure(train.n, ctx, lambda index, other: find_leaks(
            other, train, ctx, self.options()), train.ids)

    def _measure(self, n_train: int, ctx: RunContext, leaks_of: Any,
                 train_ids: np.ndarray | None) -> Measurement:
        """Findings and metrics from `leaks_of(index, other)` for the eval set (index 0) and
        each benchmark; `train_ids` maps training positions to ids (None: they are ids)."""
        def ids_of(rows: np.ndarray) -> tuple[int, ...]:
            unique = np.unique(rows[:, 1])
            return tuple(int(t if train_ids is None else train_ids[t]) for t in unique)

        metrics: dict[str, float] = {"leaked_fraction": float("nan"), "n_leaked": 0.0,
                                     "n_exact": 0.0, "n_near_duplicate": 0.0, "n_ngram": 0.0,
                                     "contaminated_fraction": float("nan")}
        findings: list[Finding] = []
        details: dict[str, Any] = {"training_records": n_train}
        if ctx.eval_data is not None:
            eval_data = ctx.eval_data
            with ctx.progress("Eval leakage", None):
                leaks = leaks_of(0, eval_data)
            counts = leaks.counts()
            metrics.update({"leaked_fraction": leaks.fraction if eval_data.n else 0.0,
                            "n_leaked": float(len(leaks.pairs)),
                            **{f"n_{kind}": float(c) for kind, c in counts.items()}})
            details.update({"eval_records": eval_data.n, "by_kind": counts,
                            "pairs": pair_rows(leaks, eval_data, train_ids)})
            for index, kind in enumerate(KINDS):
                rows = leaks.pairs[leaks.pairs[:, 2] == index]
                if not len(rows):
                    continue
                findings.append(Finding(
                    check=self.name, code=f"eval_leak_{kind}", severity=Severity.ERROR,
                    message=f"{len(rows)} of {eval_data.n} evaluation records found in the "
                            f"training data ({kind.replace('_', ' ')}); records listed are the "
                            "training copies",
                    metric="leaked_fraction", value=leaks.fraction, records=ids_of(rows),
                    details={"pairs": pair_rows(Leaks(rows, eval_data.n), eval_data,
                                                train_ids)}))
        fractions = []
        for number, bench in enumerate(ctx.contamination, start=1):
            leaks = leaks_of(number, bench)
            fractions.append(leaks.fraction if bench.n else 0.0)
            if len(leaks.pairs):
                findings.append(Finding(
                    check=self.name, code="benchmark_contamination", severity=Severity.ERROR,
                    message=f"{len(leaks.pairs)} of {bench.n} records of benchmark "
                            f"{bench.source} appear in the training data",
                    metric="contaminated_fraction", value=leaks.fraction,
                    records=ids_of(leaks.pairs),
                    details={"benchmark": bench.source, "by_kind": leaks.counts(),
                             "pairs": pair_rows(leaks, bench, train_ids)}))
        if fractions:
            metrics["contaminated_fraction"] = max(fractions)
            details["contamination"] = [{"benchmark": b.source, "records": b.n,
                                         "fraction": round(f, 6)}
                                        for b, f in zip(ctx.contamination, fractions,
                                                        strict=True)]
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)
