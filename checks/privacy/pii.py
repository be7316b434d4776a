"""PII and secrets: what a fine-tune can memorise and later repeat to anyone.

Each detector has three parts: an RE2 prefilter run vectorised over the whole column (records
it does not match are never looked at again), a Python pattern that extracts candidate values
from the few records left, and a validator that keeps only real-looking values (Luhn for card
numbers, mod-97 for IBANs, SSA rules for SSNs, `ipaddress` for IPs, entropy for labelled
secrets). Street addresses use a spaCy token `Matcher` on a blank English pipeline; a trained
pipeline's person/location entities are added when the config names one. Values are masked
before they reach findings: a report never shows a full secret.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from audit.check import Check, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.errors import InvalidParameterError
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.shared.language import MIN_COVERAGE, LanguageCounts, coverage_report, language_counts
from checks.shared.scan import alternation, regex_mask

MAX_EXAMPLES = 5
#: entity types a trained spaCy pipeline contributes, and the PII type each becomes
ENTITY_TYPES = {"PERSON": "person", "GPE": "location", "LOC": "location"}
RESERVED_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "email.com",
                          "domain.com", "yourdomain.com", "company.com", "sample.com", "test.com",
                          "website.com")
RESERVED_TLDS = ("example", "test", "invalid", "localhost", "local")
KNOWN_FAKE_SSNS = frozenset({"123-45-6789", "078-05-1120", "219-09-9999"})
#: payment processors' published test card numbers
KNOWN_TEST_CARDS = frozenset({"4111111111111111", "4242424242424242", "4012888888881881",
                              "5555555555554444", "5105105105105100", "378282246310005",
                              "371449635398431", "6011111111111117", "3530111333300000"})
STREET_SUFFIXES = ("street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd", "lane",
                   "ln", "drive", "dr", "court", "ct", "way", "place", "pl", "terrace",
                   "parkway", "pkwy", "circle", "cir", "highway", "hwy", "square", "sq")
#: e-mail local parts that tutorials and synthetic data use for nobody in particular
PLACEHOLDER_EMAIL_USERS = frozenset({
    "you", "your", "yourname", "your.name", "user", "username", "name", "example", "test",
    "email", "someone", "somebody", "johndoe", "john.doe", "john_doe", "janedoe", "jane.doe",
    "jane_doe", "joe_doe", "foo", "bar", "foobar", "abc", "xyz", "me"})
_ASCENDING = "01234567890123456789"
_PLACEHOLDER = re.compile(r"(?i)your|example|xxxx|placeholder|dummy|sample|<|\.\.\.|\*\*\*")


# --------------------------------------------------------------------------------------------
# validators (pure functions, tested directly)
# --------------------------------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_card_number(value: str) -> bool:
    """13-19 digits, a known issuer prefix, not one repeated digit, and a valid Luhn sum."""
    digits = re.sub(r"[ -]", "", value)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    issuer = (digits[0] == "4" or 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720
              or digits[:2] in ("34", "37", "36", "38", "65") or digits[:4] == "6011"
              or 644 <= int(digits[:3]) <= 649 or 3528 <= int(digits[:4]) <= 3589
              or 300 <= int(digits[:3]) <= 305)
    return issuer and luhn_ok(digits)


def is_ssn(value: str) -> bool:
    """US SSN (dashed) with a valid area, group and serial."""
    area, group, serial = value.split("-")
    return (area not in ("000", "666") and not area.startswith("9") and group != "00"
            and serial != "0000")


def is_uk_nino(value: str) -> bool:
    """UK National Insurance number with an allowed prefix."""
    prefix = value[:2].upper()
    return (prefix[0] not in "DFIQUV" and prefix[1] not in "DFIOQUV"
            and prefix not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"))


def is_iban(value: str) -> bool:
    """IBAN of plausible length with a valid ISO 7064 mod-97 check."""
    compact = value.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def is_public_ip(value: str) -> bool:
    """A valid IPv4/IPv6 address that is globally routable (not private, loopback, docs...)."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.is_global and not address.is_multicast


def is_sequential(digits: str, min_length: int = 6) -> bool:
    """'123456789'-style digit runs that tutorials use as placeholders."""
    return len(digits) >= min_length and digits in _ASCENDING


def is_phone(value: str) -> bool:
    return 10 <= len(re.sub(r"\D", "", value)) <= 15


def shannon_entropy(value: str) -> float:
    """Bits per character."""
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def is_secret_value(value: str) -> bool:
    """A token that looks generated: mixed letters and digits, high entropy."""
    return (len(value) >= 16 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
            and shannon_entropy(value) >= 3.5)


# placeholders: values of the right shape that tutorials, docs and synthetic data use for
# nobody in particular. They are reported apart (informational), not as PII.
def is_placeholder_email(value: str) -> bool:
    """A reserved/documentation domain (example.com, .test...) or a placeholder user."""
    user, _, domain = value.lower().rpartition("@")
    return (domain in RESERVED_EMAIL_DOMAINS or domain.startswith("example")
            or domain.rsplit(".", 1)[-1] in RESERVED_TLDS or user in PLACEHOLDER_EMAIL_USERS)


def is_placeholder_number(value: str) -> bool:
    """'123-456-7890', '(123) 456-7891', '555-555-5555': starts ascending or (almost) one digit."""
    digits = re.sub(r"\D", "", value)
    national = digits[-10:]
    return is_sequential(national[:6]) or is_sequential(digits[:6]) or len(set(national)) <= 2


def is_placeholder_ip(value: str) -> bool:
    """'123.45.67.89', '1.2.3.4': the digits ascend."""
    return is_sequential(re.sub(r"\D", "", value), min_length=4)


def is_placeholder_address(value: str) -> bool:
    """'123 Main Street', '1234 Elm St': an ascending house number."""
    number = re.match(r"\d+", value)
    return number is not None and is_sequential(number.group(), min_length=3)


def is_placeholder_card(value: str) -> bool:
    return re.sub(r"[ -]", "", value) in KNOWN_TEST_CARDS


def is_placeholder_ssn(value: str) -> bool:
    return value in KNOWN_FAKE_SSNS


def is_placeholder_token(value: str) -> bool:
    """Documentation keys (AKIA...EXAMPLE), 'YOUR_API_KEY', 'sk-xxxx...', low-entropy fillers."""
    return bool(_PLACEHOLDER.search(value)) or shannon_entropy(value) < 3.0


def mask(value: str, *, keep: int = 2) -> str:
    """`value` with all but `keep` characters at each end hidden; short values keep less."""
    if len(value) <= 2 * keep + 2:
        return value[:1] + "*" * (len(value) - 1)
    return f"{value[:keep]}{'*' * min(len(value) - 2 * keep, 8)}{value[-keep:]}"


def mask_secret(value: str) -> str:
    """Secrets keep only a recognisable prefix (e.g. 'AKIA', 'ghp_'), never their tail."""
    return value[:4] + "*" * 8


# --------------------------------------------------------------------------------------------
# detectors
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Detector:
    """One PII type found by regex: RE2 prefilter, Python extractor, validator, masker."""

    type: str
    kind: str
    prefilter: str  # RE2, over the whole column
    pattern: str  # Python re; group "v" (or the whole match) is the value
    validate: Callable[[str], bool] | None = None
    placeholder: Callable[[str], bool] | None = None
    masker: Callable[[str], str] = mask

    def values(self, text: str) -> list[tuple[str, bool]]:
        """(value, is a placeholder) for each valid value in `text`."""
        compiled = _compiled(self.pattern)
        out = []
        for match in compiled.finditer(text):
            value = match.group("v") if "v" in compiled.groupindex else match.group()
            if self.validate is None or self.validate(value):
                out.append((value, bool(self.placeholder and self.placeholder(value))))
        return out


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_KEY_LABEL = (r"api[_-]?key|apikey|secret[_-]?key|client[_-]?secret|secret|access[_-]?token|"
              r"auth[_-]?token|access[_-]?key|token|password|passwd|pwd")

DETECTORS: tuple[Detector, ...] = (
    Detector("email", "email", r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.",
             r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
             None, is_placeholder_email),
    Detector("phone", "phone", r"\d{3}[\s.-]\d{4}|\+\d",
             r"(?<![\w+.-])(?:\+1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])"
             r"|(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}(?![\w-])", is_phone,
             is_placeholder_number),
    Detector("credit_card", "credit_card", r"\d{4}[ -]?\d{4}[ -]?\d{4}|\d{13}",
             r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])", is_card_number,
             is_placeholder_card),
    Detector("national_id", "us_ssn", r"\d{3}-\d{2}-\d{4}",
             r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])", is_ssn, is_placeholder_ssn),
    Detector("national_id", "uk_nino", r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]",
             r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b", is_uk_nino),
    Detector("bank_account", "iban", r"[A-Z]{2}\d{2} ?[A-Z0-9]{4}",
             r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", is_iban),
    Detector("ip_address", "ipv4", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}",
             r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\d)", is_public_ip,
             is_placeholder_ip),
    Detector("ip_address", "ipv6", r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{1,4}:",
             r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])", is_public_ip),
    Detector("secret", "aws_access_key", r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}",
             r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b", None, is_placeholder_token, mask_secret),
    Detector("secret", "github_token", r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_",
             r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b", None,
             is_placeholder_token, mask_secret),
    Detector("secret", "slack_token", r"xox[abposr]-\d", r"\bxox[abposr]-[0-9A-Za-z-]{10,}",
             None, is_placeholder_token, mask_secret),
    Detector("secret", "openai_style_key", r"sk-[A-Za-z0-9_-]{20}",
             r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,}", None, is_placeholder_token, mask_secret),
    Detector("secret", "google_api_key", r"AIza[0-9A-Za-z_-]{35}", r"\bAIza[0-9A-Za-z_-]{35}",
             None, is_placeholder_token, mask_secret),
    Detector("secret", "stripe_key", r"[sr]k_live_", r"\b[sr]k_live_[0-9A-Za-z]{20,}",
             None, is_placeholder_token, mask_secret),
    Detector("secret", "private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
             r"-----BEGIN [A-Z ]*PRIVATE KEY-----", None, None, lambda v: v),
    Detector("secret", "jwt", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ",
             r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", None,
             None, mask_secret),
    Detector("secret", "labelled_secret", rf"(?i)(?:{_KEY_LABEL})[\"']?\s*[:=]",
             rf"(?i)\b(?:{_KEY_LABEL})[\"']?\s*[:=]\s*[\"']?(?P<v>[A-Za-z0-9/+_.\-]{{16,}})",
             is_secret_value, is_placeholder_token, mask_secret),
)
#: the PII types, in report order ("street_address" comes from the spaCy matcher)
REGEX_TYPES = tuple(dict.fromkeys(d.type for d in DETECTORS))
TYPES = (*REGEX_TYPES, "street_address")
#: the finding for documentation/tutorial values of a PII shape (informational, not PII)
PLACEHOLDER = "placeholder_pii"
ENTITY_PII = ("person", "location")
SEVERITY = {"secret": Severity.ERROR, "credit_card": Severity.ERROR,
            "national_id": Severity.ERROR, "bank_account": Severity.ERROR}
ADDRESS_PREFILTER = (r"\b\d{1,6}[A-Za-z]?\s+(?:[NSEW]\.?\s+)?(?:[A-Z][A-Za-z]+\.?\s+){1,3}"
                     rf"(?i:{'|'.join(STREET_SUFFIXES)})\b")


# --------------------------------------------------------------------------------------------
# spaCy: street addresses (blank pipeline + Matcher) and trained-pipeline entities
# --------------------------------------------------------------------------------------------
@cache
def address_matcher() -> tuple[Any, Any]:
    """A blank English pipeline and a token Matcher for '221B Baker Street'-style addresses."""
    import spacy
    from spacy.matcher import Matcher

    nlp = spacy.blank("en")
    suffixes = [*STREET_SUFFIXES, *(s + "." for s in STREET_SUFFIXES)]
    matcher = Matcher(nlp.vocab)
    matcher.add("street_address", [[
        {"TEXT": {"REGEX": r"^\d{1,6}[A-Za-z]?$"}},
        {"LOWER": {"IN": ["n", "s", "e", "w", "n.", "s.", "e.", "w."]}, "OP": "?"},
        {"IS_TITLE": True, "OP": "{1,3}"},
        {"LOWER": {"IN": suffixes}},
    ]], greedy="LONGEST")
    return nlp, matcher


def find_addresses(texts: Sequence[str], batch_size: int = 256) -> list[list[str]]:
    nlp, matcher = address_matcher()
    return [[doc[start:end].text for _, start, end in sorted(matcher(doc), key=lambda m: m[1])]
            for doc in nlp.pipe(texts, batch_size=batch_size)]


def check_spacy_model(name: str) -> None:
    """Raise a config error unless `name` is an installed spaCy package or a pipeline folder."""
    if not name:
        return
    if Path(name).is_dir():
        return
    if importlib.util.find_spec(name.replace("-", "_")) is None:
        raise InvalidParameterError(
            f"check 'pii' parameter 'spacy_model': {name!r} is not installed. Install it with "
            f"`python -m spacy download {name}` (or pip), pass a pipeline folder, or remove the "
            "parameter to use the blank English pipeline's matchers only.")


def find_entities(model: str, texts: Sequence[str], batch_size: int = 64) -> list[list[tuple[str, str]]]:
    """(PII type, text) of PERSON / GPE / LOC entities a trained pipeline finds in each text."""
    import spacy

    nlp = spacy.load(model, exclude=["parser", "lemmatizer", "textcat", "senter"])
    if "ner" not in nlp.pipe_names and "entity_ruler" not in nlp.pipe_names:
        raise InvalidParameterError(f"check 'pii' parameter 'spacy_model': {model!r} has no "
                                    "entity recognizer (ner or entity_ruler)")
    return [[(ENTITY_TYPES[e.label_], e.text) for e in doc.ents if e.label_ in ENTITY_TYPES]
            for doc in nlp.pipe(texts, batch_size=batch_size)]


# --------------------------------------------------------------------------------------------
# the check
# --------------------------------------------------------------------------------------------
#: the passes over a column, in the order a whole-data run makes them
REGEX_STEP, ADDRESS_STEP, ENTITY_STEP = 0, 1, 2
#: a value found: (column index, pass, detector index, PII type, record id, kind, masked value)
Event = tuple[int, int, int, str, int, str, str]
Emit = Callable[[int, int, int, str, str, str], None]


@dataclass
class _Found:
    records: set[int]
    kinds: Counter[str]
    examples: list[str]
    n_values: int = 0

    def add(self, position: int, kind: str, masked: str) -> None:
        self.records.add(position)
        self.kinds[kind] += 1
        self.n_values += 1
        if len(self.examples) < MAX_EXAMPLES and masked not in self.examples:
            self.examples.append(masked)


@register
class Pii(Check):
    """Personal data and secrets in the records: emails, phones, card numbers, national ids,
    IBANs, IP addresses, API keys and private keys, street addresses (and names/places with a
    trained spaCy pipeline).

    A fine-tuned model memorises rare strings and repeats them to other users; secrets in the
    training data leak credentials, and personal data can make the dataset unlawful to train on
    (GDPR, CCPA). Matches are validated (Luhn, mod-97, SSA rules, public IPs only, entropy for
    labelled secrets); values of a PII shape that documentation and tutorials use (example.com
    addresses, 123-45-6789, test card 4111..., AKIA...EXAMPLE, 'YOUR_API_KEY') are reported
    apart as `placeholder_pii` and not counted as PII. Values are masked in reports.
    """

    name = "pii"
    category = "privacy"
    uses = frozenset({"record_languages"})
    metrics = ("pii_fraction", "secret_fraction", *(f"n_{t}" for t in TYPES),
               *(f"n_{t}" for t in ENTITY_PII), f"n_{PLACEHOLDER}")
    default_thresholds = (
        Threshold(metric="secret_fraction", warn=None, fail=0.0),
        Threshold(metric="pii_fraction", warn=0.0, fail=0.05),
    )

    @dataclass(frozen=True)
    class Params:
        types: tuple[str, ...] = param(TYPES, doc="PII types to look for: " + ", ".join(TYPES))
        columns: tuple[str, ...] = param(("text", "system"),
                                         doc="normalised text columns to scan (those present); "
                                             "`text` is prompt and response together")
        spacy_model: str = param("", doc="an installed trained spaCy pipeline (e.g. "
                                         "'en_core_web_sm') or pipeline folder: adds PERSON and "
                                         "GPE/LOC entities as person/location (slow)")
        batch_size: int = param(256, doc="spaCy nlp.pipe batch size", ge=1)

        def __post_init__(self) -> None:
            unknown = sorted(set(self.types) - set(TYPES))
            if unknown:
                raise InvalidParameterError(
                    f"check 'pii' parameter 'types': unknown type(s) {', '.join(map(repr, unknown))}"
                    f"; known: {', '.join(TYPES)}")
            check_spacy_model(self.spacy_model)

    def map(self, batch: DatasetView, ctx: RunContext) -> tuple[LanguageCounts, list[Event]]:
        """(language counts, every value found as an `Event`, positions as record ids)."""
        events: list[Event] = []
        columns = [c for c in self.params.columns if c in batch.table.column_names]
        detectors = [d for d in DETECTORS if d.type in self.params.types]
        ids = batch.ids
        for index, name in enumerate(columns):
            column = batch.table.column(name)

            def emit(step: int, order: int, position: int, pii_type: str, kind: str,
                     masked: str, index: int = index) -> None:
                events.append((index, step, order, pii_type, int(ids[position]), kind, masked))

            self._regex_pass(column, detectors, emit)
            if "street_address" in self.params.types:
                self._address_pass(column, emit)
            if self.params.spacy_model:
                self._entity_pass(column, emit)
        return language_counts(batch, ctx, "text"), events

    def combine(self, partials: Sequence[tuple[LanguageCounts, list[Event]]], n: int,
                ctx: RunContext) -> Measurement:
        # street addresses are English rules: on data mostly in other languages they are
        # left out (n_street_address is then null), the language-independent detectors count
        coverage = coverage_report(LanguageCounts.merge([p[0] for p in partials]),
                                   check="pii street-address rules",
                                   what="English street-address rules", skip=False)
        english = coverage["share"] is None or coverage["share"] >= MIN_COVERAGE
        coverage["street_address"] = "checked" if english else "skipped: mostly not English"
        # the order a whole-data pass finds them in: column, pass, detector, then record
        events = sorted((e for part in partials for e in part[1]), key=lambda e: e[:3])
        found: dict[str, _Found] = {}
        for _, step, _, pii_type, record, kind, masked in events:
            if step == ADDRESS_STEP and not english:
                continue
            found.setdefault(pii_type, _Found(set(), Counter(), [])).add(record, kind, masked)
        measurement = self._measurement(n, found)
        metrics = dict(measurement.metrics)
        if not english:
            metrics["n_street_address"] = np.nan
        return replace(measurement, metrics=metrics, details={"language_coverage": coverage})

    def _regex_pass(self, column: pa.ChunkedArray, detectors: Sequence[Detector],
                    emit: Emit) -> None:
        if not detectors:
            return
        candidates = np.flatnonzero(regex_mask(column, alternation([d.prefilter for d in detectors])))
        if not len(candidates):
            return
        subset = column.take(pa.array(candidates))
        for order, detector in enumerate(detectors):
            hits = candidates[regex_mask(subset, detector.prefilter)]
            if not len(hits):
                continue
            texts = column.take(pa.array(hits)).to_pylist()
            for position, text in zip(hits.tolist(), texts, strict=True):
                for value, placeholder in detector.values(text or ""):
                    emit(REGEX_STEP, order, position,
                         PLACEHOLDER if placeholder else detector.type, detector.kind,
                         detector.masker(value))

    def _address_pass(self, column: pa.ChunkedArray, emit: Emit) -> None:
        candidates = np.flatnonzero(regex_mask(column, ADDRESS_PREFILTER))
        if not len(candidates):
            return
        texts = [t or "" for t in column.take(pa.array(candidates)).to_pylist()]
        # the matcher only reads the spans the prefilter matched (plus a trailing "."), not
        # whole records: tokenising a few words instead of hundreds keeps spaCy cheap
        owners, windows = [], []
        for position, text in zip(candidates.tolist(), texts, strict=True):
            for match in _compiled(ADDRESS_PREFILTER).finditer(text):
                owners.append(position)
                windows.append(text[match.start():match.end() + 1])
        for position, values in zip(owners, find_addresses(windows, self.params.batch_size),
                                    strict=True):
            for value in values:
                pii_type = PLACEHOLDER if is_placeholder_address(value) else "street_address"
                emit(ADDRESS_STEP, 0, position, pii_type, "street_address", mask(value))

    def _entity_pass(self, column: pa.ChunkedArray, emit: Emit) -> None:
        texts = [t or "" for t in column.to_pylist()]
        results = find_entities(self.params.spacy_model, texts, self.params.batch_size)
        for position, entities in enumerate(results):
            for pii_type, value in entities:
                emit(ENTITY_STEP, 0, position, pii_type, pii_type, mask(value))

    def _measurement(self, n: int, found: dict[str, _Found]) -> Measurement:
        """`found` holds record ids."""
        findings = []
        order = [*TYPES, *ENTITY_PII, PLACEHOLDER]
        for pii_type in sorted(found, key=order.index):
            entry = found[pii_type]
            positions = sorted(entry.records)
            findings.append(Finding(
                check=self.name, code=pii_type,
                severity=SEVERITY.get(pii_type, Severity.WARNING
                                      if pii_type in TYPES else Severity.INFO),
                message=(f"{len(positions)} records contain {pii_type.replace('_', ' ')} values "
                         f"({entry.n_values} found)" if pii_type != PLACEHOLDER else
                         f"{len(positions)} records contain documentation or placeholder values "
                         f"of a PII shape ({entry.n_values} found; not counted as PII)"),
                metric="secret_fraction" if pii_type == "secret" else f"n_{pii_type}",
                value=len(positions) / n if pii_type == "secret" else float(len(positions)),
                records=tuple(positions), n_records=len(positions),
                details={"n_values": entry.n_values, "kinds": dict(sorted(entry.kinds.items())),
                         "examples_masked": entry.examples}))
        any_pii = set().union(*(f.records for t, f in found.items() if t in TYPES))
        secret = found.get("secret")
        metrics = {
            "pii_fraction": len(any_pii) / n if n else 0.0,
            "secret_fraction": len(secret.records) / n if (secret and n) else 0.0,
        }
        for pii_type in order:
            enabled = pii_type in self.params.types or pii_type == PLACEHOLDER or (
                pii_type in ENTITY_PII and bool(self.params.spacy_model))
            metrics[f"n_{pii_type}"] = (float(len(found[pii_type].records)) if pii_type in found
                                        else 0.0) if enabled else np.nan
        return Measurement(metrics=metrics, findings=tuple(findings))
