"""Text-hygiene repairs (`ft-audit fix`): each kind `control_characters` reports is undone, and
what the check would not flag is left as it is."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.integrity import (
    REPAIR_ORDER,
    fix_mojibake,
    is_no_input_marker,
    repair_text,
)
from checks.integrity.hygiene import KIND_NAMES, scan_column


def flagged(texts: list[str]) -> dict[str, list[int]]:
    found = scan_column(pa.chunked_array([pa.array(texts, pa.string())]))
    return {kind: positions.tolist() for kind, positions in found.items() if len(positions)}


@pytest.mark.parametrize(("text", "expected"), [
    ("Click â€œSaveâ€\x9d to finish.", "Click “Save” to finish."),  # mojibake with a C1 byte
    ("CafÃ© menu", "Café menu"),
    ("Itâ€™s done", "It’s done"),
    ("Open Billing\x00 > Invoices.", "Open Billing > Invoices."),
    ("Press \x1b[31mSave\x1b[0m now", "Press Save now"),
    ("title \x1b]0;hello\x07 after", "title  after"),
    ("Reset\u200b the\u2060 pass\u00adword", "Reset the password"),
    ("Your refund\ufeff is here", "Your refund is here"),
    ("broken \ufffd byte", "broken  byte"),
    ("Line one\\nSecond line", "Line one\nSecond line"),
    ("a\\r\\nb", "a\nb"),
    # once a stretch has a stray escape, all of its escapes go: no text mixes both forms
    ("file content: Name,Age\\nAlice,30\\nBob,25\\n)", "file content: Name,Age\nAlice,30\nBob,25\n)"),
    ("caf\\u00e9 and \\ud83d\\ude00", "café and 😀"),
    ("coloured \\x1b[31mred\\x1b[0m text", "coloured red text"),
])
def test_each_kind_is_repaired_and_no_longer_flagged(text: str, expected: str) -> None:
    assert flagged([text])  # the check sees the defect ...
    repaired = repair_text(text)
    assert repaired == expected
    assert flagged([repaired]) == {}  # ... and not after the repair


@pytest.mark.parametrize("text", [
    "Señor Ñandú, ção, Äß, naïve café",  # accented text is not mojibake
    "Use `a\\nb` in code and \"x\\ny\" in a string",  # escapes in code and quotes are content
    "tab\there and a line\nbreak and a CR\r\n",
    "split on \\n in lower case: a\\nb",  # no stray escape (the check agrees): left alone
    "emoji 👍🏽 and a family 👨‍👩‍👧 (zero-width joiner kept)",
    "Arabic مرحبا and Hebrew שלום",
])
def test_clean_text_is_left_exactly_as_it_is(text: str) -> None:
    assert repair_text(text) == text


def test_only_the_requested_kinds_are_repaired() -> None:
    text = "a\x00b\u200bc"
    assert repair_text(text, ["control"]) == "ab\u200bc"
    assert repair_text(text, ["zero_width"]) == "a\x00bc"
    with pytest.raises(ValueError, match="unknown control_characters kind"):
        repair_text(text, ["nope"])


def test_a_lone_escaped_surrogate_is_left_as_written() -> None:
    assert repair_text("x \\ud83d y") == "x \\ud83d y"


def test_mojibake_encoded_twice_is_decoded_twice() -> None:
    once = "café".encode().decode("cp1252")
    twice = once.encode("utf-8").decode("cp1252")
    assert fix_mojibake(twice) == "café"


def test_repair_order_covers_every_kind() -> None:
    assert sorted(REPAIR_ORDER) == sorted(KIND_NAMES)


_DEFECTS = st.sampled_from(["\x00", "\x07", "\x1b[1m", "\x1b[0;31m", "\u200b", "\ufeff", "\u00ad",
                            "\u202e", "\ufffd", "\x9f", "\x0c"])
_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn"),
                                       blacklist_characters="\\\ufffd\ufffe\uffff"),
                max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_TEXT, _DEFECTS), max_size=6), _TEXT)
def test_stripping_leaves_no_control_escape_invisible_or_replacement_character(
        parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(a + b for a, b in parts) + tail
    repaired = repair_text(text, ["ansi_escape", "control", "invalid_unicode", "zero_width"])
    left = flagged([repaired])
    for kind in ("control", "ansi_escape", "invalid_unicode", "zero_width"):
        assert kind not in left, (text, repaired)
    assert repaired == "".join(a for a, _ in parts) + tail  # nothing but the defects removed


@settings(max_examples=200, deadline=None)
@given(_TEXT)
def test_text_without_defects_is_unchanged(text: str) -> None:
    if flagged([text]):
        return
    assert repair_text(text) == text


@pytest.mark.parametrize(("text", "marker"), [
    ("<noinput>", True), ("No input", True), ("  N/A ", True), ("none", True),
    ("The order number is 42", False), ("", False), ("   ", False),
])
def test_no_input_markers(text: str, marker: bool) -> None:
    assert is_no_input_marker(text) is marker
