"""structured_output, grounding by key: token-bounded values, unrequested and default-filled fields."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Finding, Measurement, Status
from audit.runner import run_check
from checks.structured._json_shapes import (
    KeyMention,
    has_number,
    has_token,
    key_parts,
    key_terms,
    number_key,
    numeric_string_key,
    said_once,
    span_numbers,
    text_numbers,
    value_numbers,
    word_stem,
)
from checks.structured.output import StructuredOutput

SYSTEM = "Turn the scheduling request into a JSON event with title, day and attendees."
TITLES = ("design review", "budget sync", "team lunch", "interview", "piano lesson")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
PEOPLE = ("Maya", "Jonas", "Aisha", "Tom", "Lena", "Omar")


def chat(user: str, answer: dict[str, Any], system: str = SYSTEM) -> dict[str, Any]:
    return {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user},
                         {"role": "assistant", "content": json.dumps(answer)}]}


def event(i: int) -> tuple[str, dict[str, Any]]:
    title, day, who = TITLES[i % 5], DAYS[(i // 5) % 5], PEOPLE[i % 6]
    return (f"Set up a {title} with {who} on {day}.",
            {"title": title, "day": day, "attendees": [who]})


def with_priority(i: int) -> dict[str, Any]:
    """A record whose request asks for a priority (digits), and the answer that has it."""
    text, answer = event(i)
    priority = i % 3 + 1
    return chat(f"{text} Make it priority {priority}.", {**answer, "priority": priority})


def run(records: list[dict[str, Any]], **params: Any) -> Measurement:
    data = load_dataset(records)
    return StructuredOutput(**params).run(data, RunContext(data))


def by_code(m: Measurement, code: str) -> list[Finding]:
    return [f for f in m.findings if f.code == code]


def only(m: Measurement, code: str) -> Finding:
    found = by_code(m, code)
    assert len(found) == 1, [(f.code, f.details.get("field")) for f in m.findings]
    return found[0]


NEW_CODES = ("unrequested_field", "default_filled_field")


def new_flags(m: Measurement) -> list[tuple[str, Any]]:
    return [(f.code, f.details.get("field")) for f in m.findings
            if f.code in NEW_CODES or (f.code == "ungrounded_values"
                                       and f.details["value_kind"] != "string")]


# -- helpers: numbers and tokens -----------------------------------------------------------------

@pytest.mark.parametrize(("key", "text", "found"), [
    ("1", "founded in 2019", False),  # not inside a longer number
    ("1", "1 item please", True),
    ("1", "meet at 1:30", False),  # not part of a time
    ("1", "call me at 1pm", False),  # not a clock hour
    ("1", "it weighs 1.5 kg", False),  # not the whole part of a decimal
    ("1", "on 1/5/2024", False),  # not part of a date
    ("1200", "a budget of $1,200.00", True),  # thousands separators and trailing zeros
    ("200", "a budget of 1,200", False),
    ("5", "five guests", True),  # written out
    ("5", "guests: 05", True),
    ("5", "a 5kg bag", True),  # units may follow
    ("12.5", "costs 12.50", True),
    ("12", "costs 12.5", False),
    ("2", "order x2", False),  # glued to a word
])
def test_numbers_match_whole_numbers_only(key: str, text: str, found: bool) -> None:
    assert has_number(text, key) is found


def test_number_forms_are_canonical() -> None:
    assert number_key(1) == number_key(1.0) == numeric_string_key("1") == \
        numeric_string_key("1.0") == "1"
    assert numeric_string_key("1,200") == number_key(1200) == "1200"
    assert number_key(True) is None and number_key(float("nan")) is None
    assert numeric_string_key("P2") is None
    assert text_numbers("$1,200.50 at 2:30, 07 items, 2019-2024") == {"1200.5", "7", "2019",
                                                                        "2024"}
    assert value_numbers({"a": 3, "b": ["Room 12", {"c": 4.0}], "d": True}) == {"3", "12", "4"}


def test_short_values_are_whole_tokens() -> None:
    assert has_token("no, thanks", "no")
    assert not has_token("i know", "no") and not has_token("a no_show", "no")
    assert has_token("ticket p2 today", "p2") and not has_token("ticket p22", "p2")
    assert has_token("en-gb, please", "en-gb") and has_token("pay $", "$")


def test_spans_of_time_convert_between_units() -> None:
    assert {"60", "3600"} <= span_numbers("it takes an hour")
    assert "30" in span_numbers("half an hour") and "90" in span_numbers("an hour and a half")
    assert "48" in span_numbers("two days")
    assert "1" not in span_numbers("an hour")  # an article is not a 1


def test_article_counts_one_listed_thing() -> None:
    assert said_once("i'd like a large oat latte and 2 muffins", "oat")
    assert said_once("one bagel", "bagel")
    assert not said_once("2 oat lattes", "oat")


# -- helpers: key mentions -----------------------------------------------------------------------

def test_key_names_split_into_terms() -> None:
    assert key_parts("isRefundable") == ("is", "refundable")
    assert key_parts("years_experience") == ("years", "experience")
    assert key_terms("num_guests") == ("guests",)
    assert key_terms("e-mail") == ("mail",)
    assert word_stem("priority") == "prior" and word_stem("recurring") == "recur"


@pytest.mark.parametrize(("key", "text", "mentioned"), [
    ("priority", "this is high priority", True),
    ("priority", "the priorities are", True),
    ("num_guests", "a table for 3 guests", True),
    ("send_reminder", "remind me an hour before", True),
    ("is_recurring", "it recurs every week", True),
    ("all_day", "an all-day offsite", True),
    ("all_day", "all of monday", False),  # "day" is not a word of "monday"
    ("day", "every monday", False),
    ("years_experience", "10 years of experience", True),
    ("years_experience", "experience: initech", False),  # every term must be mentioned
    ("isRefundable", "is it refundable?", True),
    ("reminderMinutes", '{"reminderminutes": 10}', True),  # a key written as in a schema
    ("currency", "pay in euros", False),
])
def test_key_mentions(key: str, text: str, mentioned: bool) -> None:
    assert KeyMention(key)(text) is mentioned


# -- the check ------------------------------------------------------------------------------------

def test_clean_extraction_set_has_no_new_flags() -> None:
    """Every field requested, plus what normal extraction data has: derived numbers ("an hour"
    -> 60, a total), a word mapped to a number ("high priority" -> 1), a generated summary, an
    implied boolean, and counts said with an article."""
    records = []
    for i in range(60):
        text, answer = event(i)
        extra: list[str] = []
        fields: dict[str, Any] = {}
        minutes = (15, 30, 45, 60)[i % 4]
        if minutes == 60 and i % 8 == 3:
            extra.append("It takes an hour.")
        else:
            extra.append(f"It takes {minutes} minutes.")
        fields["duration_minutes"] = minutes
        if i % 3 == 0:
            extra.append(f"Priority {i % 3 + 2}.")
            fields["priority"] = i % 3 + 2
        elif i % 7 == 1:
            extra.append("This is high priority.")
            fields["priority"] = 1
        if i % 5 == 0:
            extra.append(f"Same time every {DAYS[i % 5]}.")
            fields["is_recurring"] = True
        if i % 4 == 1:
            markers = i % 5 + 2
            extra.append(f"Bring a whiteboard and {markers} markers.")
            fields["supplies"] = [{"item": "whiteboard", "count": 1},
                                  {"item": "marker", "count": markers}]
            fields["n_supplies"] = markers + 1  # derived total
        fields["summary"] = f"A {answer['title']} for the team, number {i}."
        records.append(chat(text + " " + " ".join(extra), {**answer, **fields}))
    m = run(records)
    assert new_flags(m) == []
    assert m.metrics["unrequested_field_rate"] == 0.0
    assert m.metrics["n_default_filled_fields"] == 0.0
    table = {row["field"]: row for row in m.details["fields"]}
    assert table["priority"]["requested_rate"] == 1.0
    assert table["duration_minutes"]["scalar_grounded_rate"] > 0.9


def test_unrequested_field_is_flagged_and_requested_ones_are_not() -> None:
    records = [with_priority(i) for i in range(30)]
    invented = [3, 11, 17, 25]
    for i in invented:  # the request never mentions a priority, and 2 is nowhere in it
        text, answer = event(i)
        records[i] = chat(text, {**answer, "priority": 2})
    m = run(records)
    finding = only(m, "unrequested_field")
    assert finding.details["field"] == "priority"
    assert finding.records == tuple(invented)
    assert finding.details["requested_rate"] == pytest.approx(26 / 30)
    assert finding.details["values"] == [[2, 4]]
    assert m.metrics["unrequested_field_rate"] == pytest.approx(4 / 30)
    assert not by_code(m, "default_filled_field")  # 4 records: under default_min_records
    assert only(run(records, default_min_records=4), "default_filled_field").records == \
        tuple(invented)
    assert not new_flags(run(records, check_unrequested=False))
    assert math.isnan(run(records, check_unrequested=False).metrics["unrequested_field_rate"])


def test_token_bounded_values_do_not_ground_by_accident() -> None:
    """A value inside a longer number or word is not found: `1` is not in "2019", "no" not in
    "know"."""
    records = [with_priority(i) for i in range(30)]
    for i in (4, 9):
        text, answer = event(i)
        records[i] = chat(f"{text} The team was founded in 2019.", {**answer, "priority": 1})
    for i in (14, 21):
        text, answer = event(i)
        records[i] = chat(f"{text} I know it's late.", {**answer, "priority": "no"})
    m = run(records)
    assert only(m, "unrequested_field").records == (4, 9, 14, 21)
    # the same values written as whole tokens are found, and so requested
    for i in (4, 9):
        text, answer = event(i)
        records[i] = chat(f"{text} It needs 1 room.", {**answer, "priority": 1})
    for i in (14, 21):
        text, answer = event(i)
        records[i] = chat(f"{text} No rush.", {**answer, "priority": "no"})
    assert not new_flags(run(records))


def test_numbers_are_grounded_by_value_and_booleans_by_their_key() -> None:
    records = []
    for i in range(20):
        text, answer = event(i)
        budget = 1000 + 250 * i
        records.append(chat(f"{text} Budget ${budget:,}.00, five chairs. Send a reminder, no "
                            "video.", {**answer, "budget": budget, "chairs": 5,
                                       "send_reminder": True, "video": False,
                                       "room": "B" if i % 2 else "C"}))
    m = run(records, implied_true=False)
    table = {row["field"]: row for row in m.details["fields"]}
    assert table["budget"]["scalar_grounded_rate"] == 1.0  # "1,250.00" is 1250
    assert table["chairs"]["scalar_grounded_rate"] == 1.0  # "five" is 5
    assert table["send_reminder"]["requested_rate"] == 1.0  # the key is mentioned
    assert table["video"]["requested_rate"] == 1.0
    assert table["room"]["requested_rate"] == 0.0  # a short code found nowhere, key unmentioned
    assert not by_code(m, "unrequested_field")  # "room" is never requested: not flagged alone


def test_default_filled_field_lists_its_records() -> None:
    records = [with_priority(i) for i in range(40)]
    defaults = [2, 5, 8, 13, 19, 23, 31, 36]
    for i in defaults:
        records[i]["messages"][2]["content"] = json.dumps(
            {**json.loads(records[i]["messages"][2]["content"]), "all_day": False})
    requested = [7, 29]  # the request mentions the key: not a default
    for i in requested:
        text, answer = event(i)
        records[i] = chat(f"{text} It's an all-day event.", {**answer, "all_day": True})
    m = run(records)
    finding = only(m, "default_filled_field")
    assert finding.details["field"] == "all_day" and finding.details["value"] is False
    assert finding.records == tuple(defaults)
    assert finding.details["share"] == 1.0
    assert m.metrics["n_default_filled_fields"] == 1.0
    assert m.metrics["unrequested_field_rate"] == pytest.approx(len(defaults) / 40)
    assert m.details["default_filled_fields"] == [
        {"field": "all_day", "value": False, "share": 1.0, "n_records": len(defaults)}]
    # mixed values are no default
    for k, i in enumerate(defaults):
        if k % 2:
            records[i]["messages"][2]["content"] = json.dumps(
                {**json.loads(records[i]["messages"][2]["content"]), "all_day": "maybe"})
    assert not by_code(run(records), "default_filled_field")
    halves = only(run(records, default_share=0.5, default_share_never_requested=0.5,
                      default_min_records=4), "default_filled_field")
    assert halves.n_records == 4 and halves.details["share"] == 0.5


def test_a_never_requested_label_with_a_majority_class_is_no_default() -> None:
    records = []
    for i in range(40):
        text, answer = event(i)
        mood = "calm" if i % 10 < 7 else ("tense", "happy", "tired")[i % 3]  # 70% "calm"
        records.append(chat(text, {**answer, "mood": mood}))
    m = run(records)
    assert not by_code(m, "default_filled_field")
    assert only(run(records, default_share_never_requested=0.6),
                "default_filled_field").details["value"] == "calm"
    for i in range(40):  # 95% one value: a default even though never requested
        text, answer = event(i)
        records[i] = chat(text, {**answer, "mood": "calm" if i % 20 else "tense"})
    assert only(run(records), "default_filled_field").details["share"] == pytest.approx(0.95)


def test_keys_in_the_system_prompt_are_requested() -> None:
    records = []
    for i in range(20):
        text, answer = event(i)
        records.append(chat(text, {**answer, "all_day": False},
                            system=SYSTEM.replace("attendees", "attendees, all_day")))
    assert not new_flags(run(records))
    records = [chat(r["messages"][1]["content"], json.loads(r["messages"][2]["content"]))
               for r in records]
    assert only(run(records), "default_filled_field").n_records == 20


def test_implied_true_is_a_parameter() -> None:
    records = []
    for i in range(20):
        text, answer = event(i)
        records.append(chat(f"{text} Same time every week.", {**answer, "is_recurring": True}))
    assert not new_flags(run(records))
    strict = run(records, implied_true=False)
    assert only(strict, "default_filled_field").details["value"] is True


def test_ungrounded_number_needs_a_spare_number_in_the_request() -> None:
    records = []
    for i in range(30):
        text, answer = event(i)
        minutes = (15, 30, 45)[i % 3]
        records.append(chat(f"{text} Duration: {minutes} minutes.",
                            {**answer, "duration_minutes": minutes}))
    text, answer = event(4)
    records[4] = chat(f"{text} Duration: 30 minutes.", {**answer, "duration_minutes": 50})
    text, answer = event(9)
    records[9] = chat(f"{text} Duration: half an hour.", {**answer, "duration_minutes": 30})
    m = run(records)
    finding = only(m, "ungrounded_values")
    assert finding.details["field"] == "duration_minutes"
    assert finding.details["value_kind"] == "number or short string"
    assert finding.records == (4,)  # record 9 has no other number: 30 is derived, not wrong
    assert finding.details["examples"] == [[4, 50]]
    assert m.metrics["ungrounded_value_rate"] > 0


def test_quantity_one_said_with_an_article_is_grounded() -> None:
    records = []
    for i in range(20):
        n = i % 3 + 2
        records.append({"instruction": "Extract the order as JSON.",
                        "input": f"I'd like a large oat latte and {n} muffins, thanks.",
                        "output": json.dumps({"items": [
                            {"product": "oat latte", "quantity": 1},
                            {"product": "muffin", "quantity": n}]})})
    assert not new_flags(run(records))
    for i in (3, 8, 12, 17, 19):  # no article before the latte: 1 is nowhere in the request
        records[i]["input"] = records[i]["input"].replace("a large oat latte", "oat latte")
    m = run(records)
    finding = only(m, "unrequested_field")
    assert finding.details["field"] == "items[].quantity"
    assert finding.records == (3, 8, 12, 17, 19)


def test_default_thresholds_warn_on_invented_fields() -> None:
    records = [with_priority(i) for i in range(40)]
    clean = run_check(StructuredOutput(), RunContext(load_dataset(records)))
    assert clean.status is Status.PASSED
    for i in (3, 11, 24):
        text, answer = event(i)
        records[i] = chat(text, {**answer, "priority": 2})
    result = run_check(StructuredOutput(), RunContext(load_dataset(records)))
    assert result.status is Status.FAILED  # 7.5% of records, over the 5% fail line
    assert result.deciding_metric == "unrequested_field_rate"
    records[11] = with_priority(11)
    result = run_check(StructuredOutput(), RunContext(load_dataset(records)))
    assert result.status is Status.WARNED and result.deciding_metric == "unrequested_field_rate"


def test_request_findings_stay_small_and_serialisable() -> None:
    records = [with_priority(i) for i in range(40)]
    for i in range(0, 40, 3):
        text, answer = event(i)
        records[i] = chat(text, {**answer, "priority": 2, "note": "x" * 20})
    m = run(records, max_examples=2)
    for finding in by_code(m, "unrequested_field"):
        assert len(finding.details["examples"]) <= 2
    json.dumps({"d": dict(m.details), "f": [f.to_dict() for f in m.findings]}, allow_nan=False)
