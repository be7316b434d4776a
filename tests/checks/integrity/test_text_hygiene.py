"""control_characters: control characters, stray escapes, mojibake, invalid and invisible text."""

from __future__ import annotations

import pyarrow as pa
import pytest

from audit.context import RunContext
from audit.errors import InvalidParameterError
from audit.load import load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.integrity.hygiene import (
    ControlCharacters,
    has_stray_escape,
    is_mojibake,
    scan_column,
    visible,
)

CLEAN = [
    "Plain English text with a line break\nand a tab\tinside.",
    "Accents are fine: café, señor, ação, Äßüö, naïve, Ångström, £5, 20°C.",
    "Code writes escapes legitimately: ```python\nprint('a\\nb')\n```",
    'A quoted literal "line1\\nline2" is fine, and so is `"\\u00e9"`.',
    "Emoji 😀 and CJK 中文 and Greek π are fine.",
]
PLANTED = {
    "control": "bell\x07 and NUL\x00 characters",
    "ansi_escape": "\x1b[31mred text\x1b[0m",
    "escape_sequence": "First paragraph.\\n\\nSecond paragraph.",
    "mojibake": "The cafÃ© doesnâ€™t open before 9.",
    "invalid_unicode": "bytes that failed to decode \ufffd here",
    "zero_width": "zero\u200bwidth and a BOM\ufeff inside",
}


@pytest.mark.parametrize("text", ["cafÃ©", "donâ€™t", "Â£5", "ðŸ˜€", "Ï€ r^2", "Â°C"])
def test_mojibake_positive(text: str) -> None:
    assert is_mojibake(text)


@pytest.mark.parametrize("text", ["café", "señor ñé", "Äß über", "ação", "£5 at 20°C", "Ångström",
                                  "ÀÉÎÕÜ", "plain"])
def test_mojibake_negative(text: str) -> None:
    assert not is_mojibake(text)


def test_stray_escapes_outside_code_and_quotes_only() -> None:
    assert has_stray_escape("Line one.\\nLine two.")
    assert has_stray_escape("caf\\u00e9")
    assert not has_stray_escape('print("Hello\\nWorld")')
    assert not has_stray_escape("```\nx = 'a\\nB'\n```")
    assert not has_stray_escape("a real\nline break")


def test_scan_column_finds_each_kind_and_nothing_in_clean_text() -> None:
    column = pa.chunked_array([pa.array(CLEAN + list(PLANTED.values()))])
    found = scan_column(column)
    for offset, kind in enumerate(PLANTED):
        assert found[kind].tolist() == [len(CLEAN) + offset], kind


def test_check_reports_counts_per_kind_with_record_ids() -> None:
    records = [{"prompt": f"Question {i}", "response": text}
               for i, text in enumerate(CLEAN + list(PLANTED.values()))]
    records.append({"prompt": "tab\x0bvertical", "response": "fine"})  # in the prompt
    result = run_check(ControlCharacters(), RunContext(load_dataset(records)))
    assert result.status is Status.FAILED  # 7 of 12 records
    by_code = {f.code: f for f in result.findings}
    assert set(by_code) == set(PLANTED)
    assert by_code["control"].records == (5, 11)
    assert by_code["mojibake"].records == (8,)
    assert result.metrics["n_control"] == 2 and result.metrics["n_zero_width"] == 1
    assert result.metrics["flagged_fraction"] == pytest.approx(7 / 12)
    assert "\\u200b" in by_code["zero_width"].details["examples"][0]
    assert result.details["per_column"]["prompt"] == {"control": 1}


def test_clean_data_passes() -> None:
    records = [{"prompt": f"Question {i}", "response": text} for i, text in enumerate(CLEAN)]
    result = run_check(ControlCharacters(), RunContext(load_dataset(records)))
    assert result.status is Status.PASSED and result.findings == ()


def test_kinds_param_restricts_and_validates() -> None:
    records = [{"prompt": "q", "response": text} for text in PLANTED.values()]
    result = run_check(ControlCharacters(kinds=["mojibake"]), RunContext(load_dataset(records)))
    assert [f.code for f in result.findings] == ["mojibake"]
    with pytest.raises(InvalidParameterError, match="unknown kind"):
        ControlCharacters(kinds=["emoji"])


def test_visible_escapes_invisible_characters() -> None:
    assert visible("a\u200bb\nc\x07") == "a\\u200bb⏎c\\x07"
