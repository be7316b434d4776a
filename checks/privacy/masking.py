"""Mask personal data and secrets with typed placeholders, for `ft-audit fix`.

The values masked are exactly the ones the `pii` check reports: the same detectors, the same
validators (Luhn, mod-97, SSA rules, public IPs, entropy), the same street-address matcher and,
when a trained spaCy pipeline is named, the same entity types. Each value becomes its type's
placeholder (`<EMAIL>`, `<PHONE>`, `<CREDIT_CARD>`...), so a model trained on the result
learns where such a value goes without learning any. Documentation values of a PII shape
(example.com addresses, test card numbers, 'YOUR_API_KEY'), which the check reports apart as
`placeholder_pii`, are left as they are unless asked for. For a labelled secret
("api_key = ...") only the value is masked; a private key is masked from its BEGIN line to
its END line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from checks.privacy.pii import (
    ADDRESS_PREFILTER,
    DETECTORS,
    ENTITY_PII,
    ENTITY_TYPES,
    TYPES,
    _compiled,
    address_matcher,
    is_placeholder_address,
)

#: the placeholder each PII type is replaced with
PLACEHOLDERS: Mapping[str, str] = {
    "email": "<EMAIL>",
    "phone": "<PHONE>",
    "credit_card": "<CREDIT_CARD>",
    "national_id": "<NATIONAL_ID>",
    "bank_account": "<BANK_ACCOUNT>",
    "ip_address": "<IP_ADDRESS>",
    "secret": "<SECRET>",
    "street_address": "<STREET_ADDRESS>",
    "person": "<PERSON>",
    "location": "<LOCATION>",
}
MASKABLE_TYPES = (*TYPES, *ENTITY_PII)
_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN (?P<kind>[A-Z ]*)PRIVATE KEY-----.*?(?:-----END (?P=kind)PRIVATE KEY-----|\Z)",
    re.DOTALL)


@dataclass(frozen=True)
class Span:
    """One value to mask: characters [start, end) of the text, and its PII type."""

    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Masked:
    """A masked text and how many values of each type were masked."""

    text: str
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.counts)


def pii_spans(text: str, types: Iterable[str] = TYPES, *, include_placeholders: bool = False,
              spacy_model: str = "") -> list[Span]:
    """The PII values in `text` that the `pii` check would report, as non-overlapping spans
    (the earliest first; of two overlapping values the longer wins)."""
    wanted = set(types)
    unknown = wanted - set(MASKABLE_TYPES)
    if unknown:
        raise ValueError(f"unknown PII type(s): {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(MASKABLE_TYPES)}")
    spans: list[Span] = []
    for detector in DETECTORS:
        if detector.type not in wanted or not _compiled(detector.prefilter).search(text):
            continue
        compiled = _compiled(detector.pattern)
        for match in compiled.finditer(text):
            group = "v" if "v" in compiled.groupindex else 0
            value = match.group(group)
            if detector.validate is not None and not detector.validate(value):
                continue
            if not include_placeholders and detector.placeholder and detector.placeholder(value):
                continue
            start, end = match.span(group)
            if detector.kind == "private_key":
                block = _PRIVATE_KEY_BLOCK.match(text, start)
                if block is not None:
                    end = block.end()
            spans.append(Span(start, end, detector.type))
    if "street_address" in wanted:
        spans += _address_spans(text, include_placeholders)
    if spacy_model and wanted & set(ENTITY_PII):
        spans += [s for s in _entity_spans(spacy_model, text) if s.type in wanted]
    return _without_overlaps(spans)


def mask_pii(text: str, types: Iterable[str] = TYPES, *, include_placeholders: bool = False,
             spacy_model: str = "") -> Masked:
    """`text` with each PII value replaced by its type's placeholder (`PLACEHOLDERS`)."""
    spans = pii_spans(text, types, include_placeholders=include_placeholders,
                      spacy_model=spacy_model)
    if not spans:
        return Masked(text)
    out: list[str] = []
    last = 0
    for span in spans:
        out.append(text[last:span.start])
        out.append(PLACEHOLDERS[span.type])
        last = span.end
    out.append(text[last:])
    return Masked("".join(out), dict(Counter(s.type for s in spans)))


def _address_spans(text: str, include_placeholders: bool) -> list[Span]:
    prefilter = _compiled(ADDRESS_PREFILTER)
    windows = [(m.start(), text[m.start():m.end() + 1]) for m in prefilter.finditer(text)]
    if not windows:
        return []
    nlp, matcher = address_matcher()
    spans = []
    for (offset, _), doc in zip(windows, nlp.pipe([w for _, w in windows]), strict=True):
        for _, start, end in sorted(matcher(doc), key=lambda m: m[1]):
            matched = doc[start:end]
            if not include_placeholders and is_placeholder_address(matched.text):
                continue
            spans.append(Span(offset + matched.start_char, offset + matched.end_char,
                              "street_address"))
    return spans


@cache
def _entity_pipeline(model: str) -> Any:
    import spacy

    return spacy.load(model, exclude=["parser", "lemmatizer", "textcat", "senter"])


def _entity_spans(model: str, text: str) -> list[Span]:
    doc = _entity_pipeline(model)(text)
    return [Span(e.start_char, e.end_char, ENTITY_TYPES[e.label_]) for e in doc.ents
            if e.label_ in ENTITY_TYPES]


def _without_overlaps(spans: list[Span]) -> list[Span]:
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start), s.type)):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept
