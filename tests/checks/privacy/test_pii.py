"""pii: validated PII and secrets, masked in findings; spaCy addresses and entities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.context import RunContext
from audit.errors import InvalidParameterError
from audit.load import load_dataset
from audit.result import CheckResult, Status
from audit.runner import run_check
from checks.privacy.pii import (
    Pii,
    find_addresses,
    is_card_number,
    is_iban,
    is_placeholder_email,
    is_placeholder_ip,
    is_placeholder_number,
    is_placeholder_token,
    is_public_ip,
    is_secret_value,
    is_ssn,
    is_uk_nino,
    luhn_ok,
    mask,
    mask_secret,
)

AWS_KEY = "AKIAQYLPMN5HFIQXR3ZQ"
GITHUB_TOKEN = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
LABELLED = "f3a9Zk2LqP8wX1vB7nM4"

PLANTED = {
    "email": "Write back to maria.kowalski82@gmail.com about the order.",
    "phone": "Call the office on (415) 867-2671 before noon.",
    "credit_card": "The card 4539 1488 0343 6467 was charged twice.",
    "national_id": "Her SSN is 536-22-1234 on the form.",
    "bank_account": "Pay to IBAN GB82 WEST 1234 5698 7654 32 this week.",
    "ip_address": "The server at 8.8.4.4 stopped answering.",
    "secret": f"Use {AWS_KEY} with token {GITHUB_TOKEN} and api_key = '{LABELLED}'.",
    "street_address": "Deliver it to 221B Baker Street tomorrow.",
}
NEGATIVES = [
    "Years 2010 2011 2012, a date 2021-03-04 and a range 10-20.",
    "A bad card 4539 1488 0343 6468 (Luhn fails) and 1111 1111 1111 1111.",
    "An invalid SSN 000-12-3456; version 1.2.3.4.5; short number 555-1234.",
    "Private hosts 192.168.1.1, 10.0.0.2 and 127.0.0.1; password: hunter2",
    "In 2019 the company sold 10 million phones on Main Street.",
]
#: values of a PII shape that docs and tutorials use: reported apart, not as PII
PLACEHOLDERS = {
    "email": "Write to john@example.com, you@gmail.com or billing@acme.example.",
    "phone": "Call 123-456-7890 or (555) 555-5555.",
    "credit_card": "Test with card 4111 1111 1111 1111.",
    "us_ssn": "The classic fake SSN 123-45-6789.",
    "aws_access_key": "The docs key AKIAIOSFODNN7EXAMPLE.",
    "labelled_secret": "api_key = 'YOUR_API_KEY_HERE_123456'",
    "street_address": "Ship it to 123 Main Street.",
}


def _run(texts: list[str], **params: Any) -> CheckResult:
    records = [{"prompt": f"Question {i}", "response": t} for i, t in enumerate(texts)]
    return run_check(Pii(**params), RunContext(load_dataset(records)))


def test_each_planted_type_is_found_with_its_record() -> None:
    texts = NEGATIVES + list(PLANTED.values())
    result = _run(texts)
    found = {f.code: f for f in result.findings}
    assert set(found) == set(PLANTED)
    for offset, pii_type in enumerate(PLANTED):
        assert found[pii_type].records == (len(NEGATIVES) + offset,), pii_type
    assert found["secret"].details["kinds"] == {"aws_access_key": 1, "github_token": 1,
                                               "labelled_secret": 1}
    assert result.metrics["secret_fraction"] == pytest.approx(1 / len(texts))
    assert result.metrics["pii_fraction"] == pytest.approx(len(PLANTED) / len(texts))
    assert result.status is Status.FAILED  # any secret fails


def test_negatives_alone_pass() -> None:
    result = _run(NEGATIVES)
    assert result.findings == ()
    assert result.status is Status.PASSED


def test_placeholders_are_reported_apart_and_do_not_count_as_pii() -> None:
    result = _run(NEGATIVES + list(PLACEHOLDERS.values()))
    assert [f.code for f in result.findings] == ["placeholder_pii"]
    finding = result.findings[0]
    assert finding.records == tuple(range(len(NEGATIVES), len(NEGATIVES) + len(PLACEHOLDERS)))
    assert set(finding.details["kinds"]) == set(PLACEHOLDERS)
    assert result.metrics["pii_fraction"] == 0.0 and result.metrics["secret_fraction"] == 0.0
    assert result.status is Status.PASSED


def test_full_values_never_reach_the_result() -> None:
    result = _run(list(PLANTED.values()))
    dumped = json.dumps(result.to_dict())
    for secret in (AWS_KEY, GITHUB_TOKEN, LABELLED, "4539 1488 0343 6467", "536-22-1234",
                   "maria.kowalski82@gmail.com", "(415) 867-2671"):
        assert secret not in dumped
    secret = next(f for f in result.findings if f.code == "secret")
    assert "AKIA********" in secret.details["examples_masked"]


def test_types_param_restricts_and_validates() -> None:
    result = _run(list(PLANTED.values()), types=["email"])
    assert [f.code for f in result.findings] == ["email"]
    assert result.metrics["secret_fraction"] == 0.0
    with pytest.raises(InvalidParameterError, match="unknown type"):
        Pii(types=["passport"])


def test_missing_spacy_model_is_a_config_error() -> None:
    with pytest.raises(InvalidParameterError, match="not installed"):
        Pii(spacy_model="en_core_web_nonexistent")


def test_trained_pipeline_entities(tmp_path: Path) -> None:
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Ada Lovelace"},  # type: ignore[attr-defined]
                        {"label": "GPE", "pattern": "London"}])
    nlp.to_disk(tmp_path / "pipeline")
    result = _run(["Ada Lovelace wrote the notes.", "She lived in London.", "Nothing here."],
                  spacy_model=str(tmp_path / "pipeline"), types=["email"])
    found = {f.code: f for f in result.findings}
    assert found["person"].records == (0,) and found["location"].records == (1,)
    assert found["person"].details["examples_masked"] == ["Ad********ce"]
    assert result.metrics["n_person"] == 1 and result.metrics["pii_fraction"] == 0.0


def test_addresses_with_the_blank_pipeline_matcher() -> None:
    found = find_addresses(["Ship to 1600 Pennsylvania Avenue and 5 N. Main St. today.",
                            "Street food at 5 pm on the avenue."])
    assert found == [["1600 Pennsylvania Avenue", "5 N. Main St."], []]


@pytest.mark.parametrize(("fn", "good", "bad"), [
    (luhn_ok, "79927398713", "79927398710"),
    (is_card_number, "4539148803436467", "4539148803436468"),
    (is_ssn, "536-22-1234", "666-22-1234"),
    (is_uk_nino, "AB123456C", "GB123456C"),
    (is_iban, "DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 01"),
    (is_public_ip, "8.8.8.8", "10.1.2.3"),
    (lambda v: not is_placeholder_email(v), "maria@gmail.com", "maria@example.org"),
    (lambda v: not is_placeholder_number(v), "415-867-2671", "123-456-7890"),
    (lambda v: not is_placeholder_ip(v), "8.8.4.4", "123.45.67.89"),
    (is_secret_value, "f3a9Zk2LqP8wX1vB7nM4", "aaaabbbb11112222"),
    (lambda v: not is_placeholder_token(v), "f3a9Zk2LqP8wX1vB7nM4", "your_secret_key_12345"),
])
def test_validators(fn: Any, good: str, bad: str) -> None:
    assert fn(good) and not fn(bad)


def test_masks_keep_only_a_few_characters() -> None:
    assert mask("maria.kowalski82@gmail.com") == "ma********om"
    assert mask("abc") == "a**"
    assert mask_secret(AWS_KEY) == "AKIA********"
