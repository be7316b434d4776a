"""Instruction-data defect checks driven by pattern lexicons.

Four checks share one matching core (`checks.integrity._patterns`): placeholder responses, prompts that
depend on context the model will not see, merged instructions / leaked templates, and refusal
boilerplate. Each lexicon is a documented TOML file in `checks/lexicons/instruction_*.toml`;
every finding names the pattern that matched, its regex and a few matched snippets.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow.compute as pc

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import JSON, Finding, Measurement, Severity, Threshold
from checks.integrity._patterns import (
    LEXICON_DIR,
    Hit,
    field_column,
    find_hits,
    flagged_positions,
    hits_with_ids,
    load_lexicon,
    merge_hits,
    pattern_counts,
    pattern_findings,
)
from checks.shared.language import LanguageCounts, coverage_report, language_counts

PLACEHOLDER_LEXICON = "instruction_placeholders.toml"
UNAVAILABLE_CONTEXT_LEXICON = "instruction_unavailable_context.toml"
MERGED_LEXICON = "instruction_merged.toml"
REFUSAL_LEXICON = "instruction_refusals.toml"

#: how an empty "no input" is shown among the marker variants
EMPTY_VARIANT = "(empty)"
_WS = re.compile(r"\s+")


@cache
def lexicon_languages(filename: str) -> tuple[str, ...]:
    """The languages a lexicon's patterns cover (its top-level `languages`; English if absent)."""
    with (LEXICON_DIR / filename).open("rb") as handle:
        return tuple(tomllib.load(handle).get("languages", ["en"]))


def _fraction(count: int, n: int) -> float:
    return count / n if n else 0.0


def _kinds(hits: list[Hit], *kinds: str) -> list[Hit]:
    return [h for h in hits if h.pattern.kind in kinds]


def _n_records(hits: list[Hit]) -> int:
    return int(flagged_positions(hits).size)


# -- placeholder_responses ---------------------------------------------------------------------

def marker_variant(text: str) -> str:
    """The normalised spelling of a "no input" marker ('<NoInput> ' -> '<noinput>')."""
    return _WS.sub(" ", text).strip().casefold() or EMPTY_VARIANT


def no_input_variants(data: DatasetView) -> tuple[dict[str, np.ndarray], str]:
    """Positions per "no input" spelling, and where they were read from.

    Alpaca data: the input (`context`) field, where a blank input is the '(empty)' spelling; a
    record with a blank input whose instruction carries a literal marker ('Summarise.
    <noinput>') counts as that marker. Other data: literal markers inside the prompts
    ('<noinput>', 'Input: N/A').
    """
    patterns = [p for p in load_lexicon(PLACEHOLDER_LEXICON) if p.kind == "no_input_marker"]
    context = field_column(data, "context")
    names: list[str] = [EMPTY_VARIANT]
    codes = np.full(data.n, -1, dtype=np.int64)  # index into names; -1: has a real input

    def assign(position: int, text: str) -> None:
        variant = marker_variant(text)
        if variant not in names:
            names.append(variant)
        codes[position] = names.index(variant)

    if context is not None:
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(context), ""), True)
        codes[np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)] = 0
        for hit in find_hits(data, [p for p in patterns if p.field == "context"]):
            assign(hit.position, hit.matched)
    for hit in find_hits(data, [p for p in patterns if p.field == "prompt"]):
        if context is None or codes[hit.position] == 0:
            assign(hit.position, hit.matched)
    variants = {name: np.flatnonzero(codes == k) for k, name in enumerate(names)}
    return ({name: positions for name, positions in variants.items() if positions.size},
            "prompt" if context is None else "context")


@register
class PlaceholderResponses(Check):
    """Responses that are stand-ins ("N/A", "<nooutput>", "TBD", "...", "See above") instead of answers.

    A fine-tune copies them: a model trained on "N/A" answers learns to say "N/A". Patterns are
    anchored to (nearly) the whole response, so "N/A" inside a table or a sentence does not
    count. Words that are sometimes a real answer ("None", "null", "Same") are reported apart as
    possible placeholders. The check also reports inconsistent "no input" markers: one dataset
    spelling "no input" as '', '<noinput>' and 'No input' teaches three conventions for one
    meaning (read from the Alpaca input field, or from markers inside prompts).
    """

    name = "placeholder_responses"
    category = "integrity"
    requires = frozenset({Need.RESPONSE})
    uses = frozenset({"record_languages"})
    metrics = ("placeholder_fraction", "n_placeholder", "possible_placeholder_fraction",
               "n_possible_placeholder", "n_no_input_variants")
    default_thresholds = (
        Threshold(metric="placeholder_fraction", warn=0.0, fail=0.01),
        Threshold(metric="possible_placeholder_fraction", warn=0.01, fail=0.05),
        Threshold(metric="n_no_input_variants", warn=1.0),
    )

    @dataclass(frozen=True)
    class Params:
        check_no_input_markers: bool = param(True, doc="report inconsistent 'no input' markers "
                                                       "(Alpaca input field or prompt markers)")

    def map(self, batch: DatasetView, ctx: RunContext) -> tuple[Any, ...]:
        """(language counts, hits by record id, "no input" spellings by id, their source)."""
        patterns = [p for p in load_lexicon(PLACEHOLDER_LEXICON) if p.field == "response"]
        variants: dict[str, list[int]] = {}
        source = "prompt"
        if self.params.check_no_input_markers:
            found, source = no_input_variants(batch)
            variants = {name: batch.ids[positions].tolist() for name, positions in found.items()}
        return (language_counts(batch, ctx, "response"),
                hits_with_ids(find_hits(batch, patterns), batch.ids), variants, source)

    def combine(self, partials: Sequence[tuple[Any, ...]], n: int,
                ctx: RunContext) -> Measurement:
        coverage = coverage_report(LanguageCounts.merge([p[0] for p in partials]),
                                   check=self.name, what="placeholder patterns",
                                   covered=lexicon_languages(PLACEHOLDER_LEXICON))
        hits = merge_hits(p[1] for p in partials)
        sure = _kinds(hits, "placeholder")
        sure_positions = set(flagged_positions(sure).tolist())
        possible = [h for h in _kinds(hits, "possible_placeholder")
                    if h.position not in sure_positions]
        n_sure, n_possible = _n_records(sure), _n_records(possible)
        sure_fraction = _fraction(n_sure, n)
        possible_fraction = _fraction(n_possible, n)
        findings = pattern_findings(
            self.name, sure, None, severity=Severity.ERROR, metric="placeholder_fraction",
            value=sure_fraction, describe="responses are placeholders")
        findings += pattern_findings(
            self.name, possible, None, severity=Severity.INFO,
            metric="possible_placeholder_fraction", value=possible_fraction,
            describe="responses may be placeholders (sometimes a real answer; review them)")
        n_variants = 0
        details: dict[str, JSON] = {"by_pattern": pattern_counts(hits),
                                    "language_coverage": coverage}
        if self.params.check_no_input_markers:
            merged: dict[str, list[int]] = {}
            for part in partials:
                for name, ids in part[2].items():
                    merged.setdefault(name, []).extend(ids)
            variants = {name: np.asarray(ids, dtype=np.int64) for name, ids in merged.items()}
            source = partials[0][3] if partials else "prompt"
            n_variants = len(variants)
            details["no_input_variants"] = {k: int(v.size) for k, v in sorted(variants.items())}
            details["no_input_source"] = source
            if n_variants > 1:
                findings.append(self._inconsistent_markers(variants, source))
        return Measurement(
            metrics={"placeholder_fraction": sure_fraction, "n_placeholder": n_sure,
                     "possible_placeholder_fraction": possible_fraction,
                     "n_possible_placeholder": n_possible, "n_no_input_variants": n_variants},
            findings=tuple(findings), details=details)

    def _inconsistent_markers(self, variants: dict[str, np.ndarray], source: str) -> Finding:
        """`variants`: record ids per "no input" spelling."""
        ranked = sorted(variants.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        majority = ranked[0][0]
        minority = np.sort(np.concatenate([positions for _, positions in ranked[1:]]))
        others = ", ".join(f"{v!r} ({len(p)})" for v, p in ranked[1:])
        where = "the input field" if source == "context" else "prompts"
        return Finding(
            check=self.name, code="inconsistent_no_input_markers", severity=Severity.WARNING,
            message=f"{len(variants)} spellings of 'no input' in {where}: {others} where "
                    f"{len(ranked[0][1])} records use {majority!r}; pick one",
            metric="n_no_input_variants", value=float(len(variants)),
            records=tuple(minority.tolist()), n_records=int(minority.size),
            details={"majority": majority, "variants": {v: int(p.size) for v, p in ranked},
                     "source": source})


# -- unavailable_context -------------------------------------------------------------------------

@register
class UnavailableContext(Check):
    """Prompts that depend on something the model will not see: a web page, an attachment, an image, a file.

    "Summarize this article: https://...", an instruction whose whole input is a link, labelled
    links ("Source: https://...", a numbered list of bare URLs), document and spreadsheet share
    links (Google Docs/Drive, Dropbox, OneDrive, Notion, '?usp=sharing'), media embeds
    ("![alt](url)", "<img src=...>"), stand-ins for media never attached ("<Picture Attached>",
    "<image>", "[Image: ...]"), "see attached", "describe the image below", "the following
    article" with nothing following, "analyse report.pdf". The record trains the model to answer
    without the material - that is, to make it up. Responses that pretend to have seen it ("The
    image shows ...", "I visited the link") are flagged too, and so are responses admitting the
    material is missing (the prompt was unanswerable). Not counted: code tasks that merely
    mention URLs, file names or images; prompts where the URL is the data (extract its domain,
    validate, encode or shorten it, list the links in a text, classify URLs); records that
    carry the material itself.
    """

    name = "unavailable_context"
    category = "integrity"
    requires = frozenset({Need.PROMPT})
    uses = frozenset({"record_languages"})
    metrics = ("unavailable_context_fraction", "n_missing_context", "n_pretends_to_see",
               "n_admits_missing")
    default_thresholds = (
        Threshold(metric="unavailable_context_fraction", warn=0.001, fail=0.02),)

    def map(self, batch: DatasetView, ctx: RunContext) -> tuple[LanguageCounts, list[Hit]]:
        hits = [h for h in find_hits(batch, load_lexicon(UNAVAILABLE_CONTEXT_LEXICON))
                if not (h.quoted and h.pattern.field == "response")]
        return language_counts(batch, ctx, "prompt"), hits_with_ids(hits, batch.ids)

    def combine(self, partials: Sequence[tuple[LanguageCounts, list[Hit]]], n: int,
                ctx: RunContext) -> Measurement:
        coverage = coverage_report(LanguageCounts.merge([p[0] for p in partials]),
                                   check=self.name, what="English phrase patterns",
                                   covered=lexicon_languages(UNAVAILABLE_CONTEXT_LEXICON))
        hits = merge_hits(p[1] for p in partials)
        fraction = _fraction(_n_records(hits), n)
        findings = []
        for kind, severity, describe in (
                ("missing_context", Severity.WARNING,
                 "prompts refer to content that is not in the record"),
                ("pretends_to_see", Severity.WARNING,
                 "responses describe content they could not have seen"),
                ("admits_missing", Severity.INFO,
                 "responses say the referenced content is missing")):
            findings += pattern_findings(self.name, _kinds(hits, kind), None,
                                         severity=severity, metric="unavailable_context_fraction",
                                         value=fraction, describe=describe)
        return Measurement(
            metrics={"unavailable_context_fraction": fraction,
                     "n_missing_context": _n_records(_kinds(hits, "missing_context")),
                     "n_pretends_to_see": _n_records(_kinds(hits, "pretends_to_see")),
                     "n_admits_missing": _n_records(_kinds(hits, "admits_missing"))},
            findings=tuple(findings), details={"by_pattern": pattern_counts(hits),
                                               "language_coverage": coverage})


# -- merged_instructions -------------------------------------------------------------------------

@register
class MergedInstructions(Check):
    """Several tasks merged into one record, or prompt-template text leaking into the data.

    "### Instruction:" / "### Response:" headers or a numbered "18. Instruction:" inside a
    response (the next generated task spilled over), chat-template tokens ("<|im_start|>",
    "[INST]", "</s>"), and "User:" / "Assistant:" labels at line starts inside a response. The
    model learns to continue with a new task or to emit template tokens. Role labels are not
    counted when the prompt asks for a dialogue.
    """

    name = "merged_instructions"
    category = "integrity"
    requires = frozenset({Need.RESPONSE})
    metrics = ("merged_fraction", "n_merged_task", "n_leaked_template", "n_leaked_role_label")
    default_thresholds = (Threshold(metric="merged_fraction", warn=0.0, fail=0.01),)

    def map(self, batch: DatasetView, ctx: RunContext) -> list[Hit]:
        return hits_with_ids(find_hits(batch, load_lexicon(MERGED_LEXICON)), batch.ids)

    def combine(self, partials: Sequence[list[Hit]], n: int, ctx: RunContext) -> Measurement:
        hits = merge_hits(partials)
        fraction = _fraction(_n_records(hits), n)
        findings = []
        for kind, describe in (("merged_task", "records contain a second instruction"),
                               ("leaked_template", "records contain prompt-template markers"),
                               ("leaked_role_label", "responses contain turn labels")):
            findings += pattern_findings(self.name, _kinds(hits, kind), None,
                                         severity=Severity.WARNING, metric="merged_fraction",
                                         value=fraction, describe=describe)
        return Measurement(
            metrics={"merged_fraction": fraction,
                     "n_merged_task": _n_records(_kinds(hits, "merged_task")),
                     "n_leaked_template": _n_records(_kinds(hits, "leaked_template")),
                     "n_leaked_role_label": _n_records(_kinds(hits, "leaked_role_label"))},
            findings=tuple(findings), details={"by_pattern": pattern_counts(hits)})


# -- refusals ------------------------------------------------------------------------------------

def refusal_scores(hits: list[Hit], n: int, *, lead_chars: int, late_factor: float) -> np.ndarray:
    """Per record, the strongest hit: pattern weight x position factor (0 when no hit).

    The position factor is 1 when the phrase starts within the first `lead_chars` characters
    (the refusal is the answer) and `late_factor` later on (a caveat after a real answer).
    """
    scores = np.zeros(n, dtype=np.float64)
    for hit in hits:
        factor = 1.0 if hit.start < lead_chars else late_factor
        scores[hit.position] = max(scores[hit.position], hit.pattern.weight * factor)
    return scores


@register
class Refusals(Check):
    """Refusal and disclaimer boilerplate in responses ("As an AI language model", "I'm sorry, but I can't").

    A fine-tune on such responses teaches the model to refuse or hedge on requests it should
    answer. Each match is weighted by the phrase's strength and by where it appears: a refusal
    that opens the response counts as a refusal; the same phrase as a caveat later on, and
    advice disclaimers ("consult a professional"), count as boilerplate only. Phrases are
    specific so that "I cannot stress enough" or "I'm sorry to hear that" do not match, and
    phrases inside code or quotation marks are content, not the response speaking.
    """

    name = "refusals"
    category = "integrity"
    requires = frozenset({Need.RESPONSE})
    uses = frozenset({"record_languages"})
    metrics = ("refusal_fraction", "n_refusals", "boilerplate_fraction", "n_boilerplate")
    default_thresholds = (
        Threshold(metric="refusal_fraction", warn=0.001, fail=0.02),
        Threshold(metric="boilerplate_fraction", warn=0.02),
    )

    @dataclass(frozen=True)
    class Params:
        lead_chars: int = param(150, ge=0, le=100_000,
                                doc="a phrase starting within this many characters opens the "
                                    "response (full weight)")
        late_factor: float = param(0.5, ge=0.0, le=1.0,
                                   doc="weight multiplier for a phrase later in the response")
        min_score: float = param(0.75, ge=0.0, le=1.0,
                                 doc="weight x position score from which a record is a refusal")

    def map(self, batch: DatasetView, ctx: RunContext
            ) -> tuple[LanguageCounts, list[Hit], list[int]]:
        """(language counts, hits by record id, ids of the records that are refusals)."""
        p = self.params
        hits = [h for h in find_hits(batch, load_lexicon(REFUSAL_LEXICON)) if not h.quoted]
        scores = refusal_scores(hits, batch.n, lead_chars=p.lead_chars,
                                late_factor=p.late_factor)
        refusing = batch.ids[np.flatnonzero(scores >= p.min_score)].tolist() if hits else []
        return language_counts(batch, ctx, "response"), hits_with_ids(hits, batch.ids), refusing

    def combine(self, partials: Sequence[tuple[LanguageCounts, list[Hit], list[int]]], n: int,
                ctx: RunContext) -> Measurement:
        coverage = coverage_report(LanguageCounts.merge([p[0] for p in partials]),
                                   check=self.name, what="refusal phrase patterns",
                                   covered=lexicon_languages(REFUSAL_LEXICON))
        hits = merge_hits(p[1] for p in partials)
        refusing = {i for p in partials for i in p[2]}
        n_refusals = len(refusing)
        n_boilerplate = _n_records(hits) - n_refusals
        refusal_fraction = _fraction(n_refusals, n)
        boilerplate_fraction = _fraction(n_boilerplate, n)
        strong = [h for h in hits if h.position in refusing]
        weak = [h for h in hits if h.position not in refusing]
        findings = pattern_findings(
            self.name, strong, None, severity=Severity.WARNING, metric="refusal_fraction",
            value=refusal_fraction, code="refusal",
            describe="responses are refusals or AI disclaimers")
        findings += pattern_findings(
            self.name, weak, None, severity=Severity.INFO, metric="boilerplate_fraction",
            value=boilerplate_fraction, code="boilerplate",
            describe="responses contain disclaimer boilerplate after an answer")
        return Measurement(
            metrics={"refusal_fraction": refusal_fraction, "n_refusals": n_refusals,
                     "boilerplate_fraction": boilerplate_fraction, "n_boilerplate": n_boilerplate},
            findings=tuple(findings), details={"by_pattern": pattern_counts(hits),
                                               "language_coverage": coverage})
