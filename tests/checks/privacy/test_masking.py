"""PII masking (`ft-audit fix`): the values the `pii` check reports become typed placeholders."""

from __future__ import annotations

import itertools

import pytest

from audit import load_dataset
from audit.context import RunContext
from audit.runner import run_check
from checks.privacy import PLACEHOLDERS, Pii, mask_pii, pii_spans

TEXTS = [
    "Mail dana.smith@gmail.com or call +1 415 555 0198 today.",
    "Card 4539 1488 0343 6467 expires soon.",
    "My SSN is 536-22-1234, keep it safe.",
    "Send it to GB82 WEST 1234 5698 7654 32 please.",
    "The server at 8.8.8.8 is down; 10.0.0.1 is internal.",
    "Use key AKIAQWERTYUIOPASDFGH for the bucket.",
    "api_key = 'Zx9fQ2LmN8pR4tV7wY1b3c' in the config",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter",
    "I live at 742 Evergreen Terrace in Springfield.",
    "Nothing personal here, just a recipe for bread.",
    "Docs use john.doe@example.com, 4111 1111 1111 1111 and 123-45-6789.",
]


@pytest.mark.parametrize(("text", "masked"), [
    (TEXTS[0], "Mail <EMAIL> or call <PHONE> today."),
    (TEXTS[1], "Card <CREDIT_CARD> expires soon."),
    (TEXTS[2], "My SSN is <NATIONAL_ID>, keep it safe."),
    (TEXTS[3], "Send it to <BANK_ACCOUNT> please."),
    (TEXTS[4], "The server at <IP_ADDRESS> is down; 10.0.0.1 is internal."),
    (TEXTS[5], "Use key <SECRET> for the bucket."),
    (TEXTS[6], "api_key = '<SECRET>' in the config"),  # the label stays, the value goes
    (TEXTS[7], "<SECRET>\nafter"),  # the whole key block, not only its BEGIN line
    (TEXTS[8], "I live at <STREET_ADDRESS> in Springfield."),
    (TEXTS[9], TEXTS[9]),
    (TEXTS[10], TEXTS[10]),  # documentation values are not PII
])
def test_each_type_is_masked_with_its_placeholder(text: str, masked: str) -> None:
    assert mask_pii(text).text == masked


def test_placeholders_are_masked_only_when_asked() -> None:
    result = mask_pii(TEXTS[10], include_placeholders=True)
    assert result.text == "Docs use <EMAIL>, <CREDIT_CARD> and <NATIONAL_ID>."
    assert result.counts == {"email": 1, "credit_card": 1, "national_id": 1}


def test_only_the_requested_types_are_masked() -> None:
    assert mask_pii(TEXTS[0], ["phone"]).text == "Mail dana.smith@gmail.com or call <PHONE> today."
    with pytest.raises(ValueError, match="unknown PII type"):
        mask_pii(TEXTS[0], ["postcode"])


def test_spans_do_not_overlap_and_counts_add_up() -> None:
    text = " ".join(TEXTS[:9])
    spans = pii_spans(text)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    result = mask_pii(text)
    assert sum(result.counts.values()) == len(spans)
    assert all(placeholder in PLACEHOLDERS.values() for placeholder in
               [p for p in PLACEHOLDERS.values() if p in result.text])


def test_masked_text_has_nothing_left_for_the_check() -> None:
    rows = [{"prompt": "Note", "response": t} for t in TEXTS]
    before = run_check(Pii(), RunContext(load_dataset(rows)))
    flagged = {r for f in before.findings if f.code != "placeholder_pii" for r in f.records}
    changed = {i for i, t in enumerate(TEXTS) if mask_pii(t).changed}
    assert flagged == changed  # masking finds exactly the records the check reports
    after = run_check(Pii(), RunContext(load_dataset(
        [{"prompt": "Note", "response": mask_pii(t).text} for t in TEXTS])))
    assert after.metrics["pii_fraction"] == 0.0 and after.metrics["secret_fraction"] == 0.0
