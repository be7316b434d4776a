"""Diversity checks on the surface of the text: lexical variety and templated boilerplate.

A fine-tune learns the distribution it is shown. Low lexical diversity and shared templates
teach one phrasing; the model then answers every prompt the same way. The semantic and task
diversity checks live in checks/diversity/semantic.py; the maths in checks/shared/corpus.py.
Words come from `checks.shared.text.words`: in Chinese, Japanese, Thai (scripts without spaces)
a word is a character bigram, so the statistics and templates work on every script.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audit.check import Check, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.shared.corpus import (
    TokenCorpus,
    compression_ratio,
    corpus_for,
    document_frequency,
    mattr,
    ngram_hashes,
)
from checks.shared.text import arrow_words, join_words, tokens_of, words

#: records sampled for token statistics (results say when sampling happened)
DEFAULT_SAMPLE = 20_000


def text_fields(data: DatasetView) -> tuple[str, ...]:
    """The text columns worth measuring: prompt and response, or the text of text+label data."""
    fields = tuple(f for f, has in (("prompt", data.has_prompt and data.has_response),
                                    ("response", data.has_response)) if has)
    return fields or ("text",)


def distinct_share(corpus: TokenCorpus, n: int) -> float:
    """`checks.shared.corpus.distinct_n`: distinct n-grams / all n-grams (NaN without n-grams), counting the
    distinct hashes in a hash table (linear time) instead of sorting them."""
    import pandas as pd

    hashes, _ = ngram_hashes(corpus, n)
    return float(len(pd.unique(hashes)) / len(hashes)) if len(hashes) else float("nan")


def sample_note(n: int, cap: int) -> dict[str, object]:
    return {"records": n, "sampled_records": min(n, cap), "sampled": n > cap}


@register
class LexicalDiversity(Check):
    """Lexical variety of prompts and responses: distinct-1/2/3, MATTR, compression ratio.

    A dataset whose responses reuse the same words and phrases teaches the model one way of
    speaking (mode collapse). distinct-n is the share of unique word n-grams (it falls with
    size, so compare datasets at the same sample size; in Chinese, Japanese and Thai, which
    have no spaces, character bigrams stand for words); MATTR is the moving-average type-token
    ratio over 100-word windows (length-robust); the compression ratio is raw / zlib-compressed
    bytes (higher = more repetition; natural prose is about 2.5-3.5). Computed on a seeded
    sample of at most `max_records` records, and per label when labels exist.
    """

    name = "lexical_diversity"
    category = "diversity"
    uses = frozenset({"diversity_tokens"})
    metrics = ("response_distinct_1", "response_distinct_2", "response_distinct_3",
               "prompt_distinct_1", "prompt_distinct_2", "prompt_distinct_3",
               "response_mattr", "prompt_mattr", "response_compression_ratio",
               "prompt_compression_ratio", "min_label_mattr")
    default_thresholds = (
        Threshold(metric="response_compression_ratio", warn=4.5, fail=7.0, direction="max"),
        Threshold(metric="response_mattr", warn=0.55, fail=0.4, direction="min"),
    )

    @dataclass(frozen=True)
    class Params:
        max_records: int = param(DEFAULT_SAMPLE, ge=100, doc="records sampled (seeded) for the "
                                 "token statistics")
        mattr_window: int = param(100, ge=10, le=1000, doc="MATTR window in words")
        min_label_records: int = param(20, ge=2, doc="labels with fewer records are not "
                                       "measured separately")
        low_label_ratio: float = param(0.85, gt=0, le=1, doc="flag labels whose MATTR is below "
                                       "this fraction of the overall MATTR")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        p = self.params
        metrics = {m: float("nan") for m in self.metrics}
        details: dict[str, object] = {"sample": sample_note(data.n, p.max_records)}
        per_field: dict[str, dict[str, float]] = {}
        for field in text_fields(data):
            corpus = corpus_for(data, ctx, field, p.max_records)
            stats = {f"distinct_{n}": distinct_share(corpus, n) for n in (1, 2, 3)}
            stats["mattr"] = mattr(corpus.ids, p.mattr_window)
            stats["compression_ratio"] = compression_ratio(
                data.texts(field, corpus.positions))
            prefix = "prompt" if field == "prompt" else "response"
            for key, value in stats.items():
                metrics[f"{prefix}_{key}"] = value
            per_field[field] = stats
        details["fields"] = {f: _rounded(s) for f, s in per_field.items()}
        findings: list[Finding] = []
        if data.has_labels and data.n:
            field = "response" if data.has_response else text_fields(data)[-1]
            labels = _label_mattr(data, ctx, field, p)
            details["per_label_mattr"] = {k: round(v, 4) for k, v in labels.items()}
            if labels:
                metrics["min_label_mattr"] = min(labels.values())
                overall = metrics["response_mattr"]
                low = sorted(k for k, v in labels.items()
                             if np.isfinite(overall) and v < p.low_label_ratio * overall)
                if low:
                    findings.append(Finding(
                        check=self.name, code="low_diversity_labels", severity=Severity.WARNING,
                        message=f"{len(low)} label(s) have much less varied text than the rest "
                                f"(MATTR < {p.low_label_ratio:.0%} of {overall:.3f}): "
                                + ", ".join(low[:10]),
                        metric="min_label_mattr", value=metrics["min_label_mattr"],
                        details={"labels": low[:50]}))
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)


def _label_mattr(data: DatasetView, ctx: RunContext, field: str,
                 p: LexicalDiversity.Params) -> dict[str, float]:
    corpus = corpus_for(data, ctx, field, p.max_records)
    labels = data.labels
    by_label: dict[str, list[int]] = {}
    for record, position in enumerate(corpus.positions):
        label = labels[int(position)]
        if label is not None:
            by_label.setdefault(label, []).append(record)
    out = {}
    for label, records in sorted(by_label.items()):
        if len(records) < p.min_label_records:
            continue
        ids = np.concatenate([corpus.ids[corpus.offsets[r]:corpus.offsets[r + 1]]
                              for r in records])
        value = mattr(ids, p.mattr_window)
        if np.isfinite(value):
            out[label] = value
    return out


def _rounded(stats: dict[str, float]) -> dict[str, float | None]:
    return {k: (round(v, 4) if np.isfinite(v) else None) for k, v in stats.items()}


@register
class TemplateConcentration(Check):
    """Shared openings, closings and boilerplate spans across records (templated data).

    When most prompts or responses start or end with the same words, or carry the same
    sentence, the model learns the template instead of the task and repeats it everywhere.
    Reports the share of records starting (ending) with the most common first (last) k words,
    the most repeated openings and closings, and word 8-grams that appear in more than
    `boilerplate_min_fraction` of records (boilerplate spans, counted on a seeded sample).
    """

    name = "template_concentration"
    category = "diversity"
    uses = frozenset({"diversity_tokens"})
    metrics = ("prompt_top_opening_share", "response_top_opening_share",
               "prompt_top_closing_share", "response_top_closing_share",
               "boilerplate_record_fraction", "n_boilerplate_spans")
    default_thresholds = (
        Threshold(metric="response_top_opening_share", warn=0.3, fail=0.6),
        Threshold(metric="prompt_top_opening_share", warn=0.4, fail=0.7),
        Threshold(metric="boilerplate_record_fraction", warn=0.3, fail=0.6),
    )

    @dataclass(frozen=True)
    class Params:
        k: int = param(3, ge=1, le=10, doc="words in an opening / closing")
        span_words: int = param(8, ge=3, le=12, doc="words in a boilerplate span")
        boilerplate_min_fraction: float = param(0.05, gt=0, le=1, doc="a span is boilerplate "
                                                "when this share of records contain it")
        boilerplate_min_records: int = param(3, ge=2, doc="... and at least this many records")
        max_records: int = param(DEFAULT_SAMPLE, ge=100, doc="records sampled (seeded) for "
                                 "boilerplate spans")
        top: int = param(10, ge=1, le=100, doc="openings, closings and spans listed")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        p = self.params
        metrics = {m: float("nan") for m in self.metrics}
        details: dict[str, object] = {"sample": sample_note(data.n, p.max_records)}
        findings: list[Finding] = []
        ids = data.ids
        for field in text_fields(data):
            prefix = "prompt" if field == "prompt" else "response"
            texts = data.texts(field)
            for end in ("opening", "closing"):
                keys = edge_keys(texts, p.k, from_start=end == "opening")
                share, top, members = concentration(keys, p.top)
                metrics[f"{prefix}_top_{end}_share"] = share
                details[f"{prefix}_{end}s"] = top
                if members is not None and share >= 0.1 and len(members) > 1:
                    findings.append(Finding(
                        check=self.name, code=f"repeated_{end}", severity=Severity.INFO,
                        message=f"{share:.0%} of {prefix}s {'start' if end == 'opening' else 'end'}"
                                f" with {top[0]['text']!r}",
                        metric=f"{prefix}_top_{end}_share", value=share,
                        records=tuple(int(ids[i]) for i in members), n_records=len(members)))
        field = "response" if data.has_response else text_fields(data)[0]
        corpus = corpus_for(data, ctx, field, p.max_records)
        spans = boilerplate_spans(corpus, p.span_words, p.boilerplate_min_fraction,
                                  p.boilerplate_min_records)
        metrics["n_boilerplate_spans"] = float(spans.n_spans)
        metrics["boilerplate_record_fraction"] = (spans.n_records_with / corpus.n_records
                                                  if corpus.n_records else float("nan"))
        details["boilerplate_spans"] = [
            {"text": join_words(corpus.tokens(int(r))[s:s + p.span_words]),
             "record_fraction": round(float(c) / corpus.n_records, 4)}
            for r, s, c in spans.top[: p.top]]
        if spans.n_spans:
            findings.append(Finding(
                check=self.name, code="boilerplate_spans", severity=Severity.WARNING,
                message=f"{spans.n_spans} span(s) of {p.span_words} words recur in at least "
                        f"{p.boilerplate_min_fraction:.0%} of {field}s; "
                        f"{metrics['boilerplate_record_fraction']:.0%} of sampled records carry one",
                metric="boilerplate_record_fraction",
                value=metrics["boilerplate_record_fraction"],
                records=tuple(int(ids[int(corpus.positions[r])]) for r in spans.records),
                n_records=len(spans.records)))
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)


def edge_keys(texts: Sequence[str], k: int, *, from_start: bool) -> list[str]:
    """The first (or last) k words of each text, lower-cased ('' when the text has no words);
    in Chinese, Japanese or Thai text a word is a character bigram (`checks.shared.text`).
    Split by `tokens_of` (pyarrow for ASCII texts); the words are chosen with numpy."""
    import pyarrow as pa
    import pyarrow.compute as pc

    window = 40 * k
    ends = [t[:window] for t in texts] if from_start else [t[-window:] for t in texts]
    if not ends:
        return []
    tokens, counts = tokens_of(ends, words, arrow_words)
    taken = np.minimum(counts, k)
    starts = np.cumsum(counts) - counts
    first = starts if from_start else starts + counts - taken
    offsets = np.zeros(len(ends) + 1, dtype=np.int64)
    np.cumsum(taken, out=offsets[1:])
    index = np.repeat(first - offsets[:-1], taken) + np.arange(offsets[-1])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), tokens.take(pa.array(index)))
    keys: list[str] = pc.binary_join(lists, pa.scalar(" ", pa.large_string())).to_pylist()
    for i, text in enumerate(ends):
        if not text.isascii():  # unspaced scripts: overlapping bigrams merge back
            keys[i] = join_words(lists[i].as_py())
    return keys


def concentration(keys: Sequence[str], top: int) -> tuple[float, list[dict[str, object]],
                                                           list[int] | None]:
    """Share of non-empty keys equal to the most common one, the top keys, and its members.
    A key held by one record is no concentration: when no key repeats the share is 0 (one
    record, or a few distinct ones, are not a template)."""
    counts = Counter(k for k in keys if k)
    total = sum(counts.values())
    if not total:
        return float("nan"), [], None
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    listed = [{"text": k, "count": c, "share": round(c / total, 4)} for k, c in ranked]
    best, count = ranked[0]
    if count < 2:
        return 0.0, listed, None
    members = [i for i, k in enumerate(keys) if k == best]
    return count / total, listed, members


@dataclass(frozen=True)
class Boilerplate:
    n_spans: int
    n_records_with: int
    records: tuple[int, ...]  # corpus record indexes carrying a span
    top: tuple[tuple[int, int, int], ...]  # (record, word offset, record count) per top span


def boilerplate_spans(corpus: TokenCorpus, n: int, min_fraction: float,
                      min_records: int) -> Boilerplate:
    """Word n-grams present in at least max(min_records, min_fraction * records) records."""
    hashes, record = ngram_hashes(corpus, n)
    unique, counts, holder = document_frequency(hashes, record)
    need = max(min_records, int(np.ceil(min_fraction * corpus.n_records)))
    common = counts >= need
    if not common.any():
        return Boilerplate(0, 0, (), ())
    is_common = np.isin(hashes, unique[common])
    with_span = np.unique(record[is_common])
    order = np.argsort(-counts[common], kind="stable")
    top_hashes = unique[common][order]
    top_holders = holder[common][order]
    top: list[tuple[int, int, int]] = []
    for h, r, c in zip(top_hashes, top_holders, counts[common][order], strict=True):
        if len(top) >= 100:
            break
        where = np.flatnonzero((record == r) & (hashes == h))
        start = int(where[0] - np.searchsorted(record, r))
        # overlapping windows of one long boilerplate passage are listed once
        if not any(r2 == r and abs(s2 - start) < n for r2, s2, _ in top):
            top.append((int(r), start, int(c)))
    return Boilerplate(int(common.sum()), len(with_span), tuple(int(r) for r in with_span),
                       tuple(top))
