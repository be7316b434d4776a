"""pii: English street-address rules are skipped on other languages; the rest still runs."""

from __future__ import annotations

import math

from audit.context import RunContext
from audit.load import load_dataset
from audit.runner import run_check
from checks.privacy import Pii
from tests.checks.language.multilingual_data import records


def test_chinese_data_still_gets_emails_but_no_english_address_rules() -> None:
    rows = records("zh", 30)
    rows[4] = {"prompt": rows[4]["prompt"], "response": "请联系 zhang.wei@qq-mail.cn 获取发票。"}
    data = load_dataset(rows)
    result = run_check(Pii(), RunContext(data))
    assert result.metrics["n_email"] == 1
    assert math.isnan(result.metrics["n_street_address"])
    coverage = result.details["language_coverage"]
    assert coverage["share"] == 0.0 and coverage["street_address"].startswith("skipped")


def test_english_data_keeps_the_address_rules() -> None:
    rows = records("en", 30)
    rows[2] = {"prompt": rows[2]["prompt"], "response": "Ship it to 221 Baker Street, please."}
    result = run_check(Pii(), RunContext(load_dataset(rows)))
    assert result.metrics["n_street_address"] == 1
    assert result.details["language_coverage"]["street_address"] == "checked"
