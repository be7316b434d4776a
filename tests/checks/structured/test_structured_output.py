"""structured_output: planted positive and negative cases for every defect kind."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.context import RunContext
from audit.errors import InvalidParameterError
from audit.load import load_dataset
from audit.result import Finding, Measurement, Status
from audit.runner import run_check
from checks.structured._json_shapes import (
    EMPTY_KIND,
    INVALID_KIND,
    JSON_KIND,
    PYTHON_KIND,
    SCALAR_KIND,
    compare_keys,
    is_empty,
    key_similarity,
    parent_path,
    parse_response,
    walk_fields,
)
from checks.structured.output import StructuredOutput, final_responses

FIRST = ("Noah", "Zoe", "Omar", "Maria", "Raj", "Kofi", "Lena", "Ines")
LAST = ("Okafor", "Dubois", "Silva", "Mensah", "Chen", "Tanaka", "Berg", "Costa")
CITIES = ("Lyon, France", "Toronto, ON", "Seattle, WA", "Pune, India", "Austin, TX")
TITLES = ("Product Designer", "Accountant", "Teacher", "Data Analyst")
SKILLS = ("Figma", "SQL", "Python", "tax filing", "curriculum design", "Excel")
SYSTEM = "Extract the resume as JSON with keys name, email, phone, location, title, skills."


def person(i: int) -> dict[str, Any]:
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    return {
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com",
        "phone": f"(5{i % 10}4) 555-{1000 + i:04d}",
        "location": CITIES[i % len(CITIES)],
        "title": TITLES[i % len(TITLES)],
        "years_experience": i % 12 + 1,
        "skills": [SKILLS[i % len(SKILLS)], SKILLS[(i + 2) % len(SKILLS)]],
        "education": f"B.Sc. Economics, University {i % 7}",
    }


def resume_text(p: dict[str, Any]) -> str:
    return (f"{p['name'].upper()}\n{p['location']}\n{p['email']} | {p['phone']}\n\n"
            f"EXPERIENCE\n- {p['title']}, Initech ({2024 - p['years_experience']}-2024)\n\n"
            f"SKILLS\n{', '.join(p['skills'])}\n\nEDUCATION\n{p['education']}")


def chat(prompt: str, answer: str) -> dict[str, Any]:
    return {"messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": prompt},
                         {"role": "assistant", "content": answer}]}


def clean_chat(n: int = 40) -> list[dict[str, Any]]:
    return [chat(resume_text(person(i)), json.dumps(person(i))) for i in range(n)]


def run(records: list[dict[str, Any]], **params: Any) -> Measurement:
    data = load_dataset(records)
    return StructuredOutput(**params).run(data, RunContext(data))


def by_code(measurement: Measurement, code: str) -> list[Finding]:
    return [f for f in measurement.findings if f.code == code]


def only(measurement: Measurement, code: str) -> Finding:
    found = by_code(measurement, code)
    assert len(found) == 1, [f.code for f in measurement.findings]
    return found[0]


# -- parse_response ---------------------------------------------------------------------------

def test_bare_json_takes_the_fast_path() -> None:
    parsed = parse_response(' {"a": "it\'s ```fine```", "b": [1, null]}\n')
    assert parsed.kind == JSON_KIND and not parsed.fenced and not parsed.leading
    assert parsed.value == {"a": "it's ```fine```", "b": [1, None]}


@pytest.mark.parametrize("text", ['```json\n{"a": 1}\n```', '```\n{"a": 1}\n```',
                                  '``` JSON\n{"a": 1}```'])
def test_fenced_json_is_unwrapped(text: str) -> None:
    parsed = parse_response(text)
    assert (parsed.kind, parsed.fenced, parsed.value, parsed.leading, parsed.trailing) == (
        JSON_KIND, True, {"a": 1}, "", "")


def test_leading_and_trailing_text_are_captured() -> None:
    parsed = parse_response('Here is the JSON:\n{"a": [1, 2]}\nHope this helps!')
    assert parsed.kind == JSON_KIND and parsed.value == {"a": [1, 2]}
    assert parsed.leading == "Here is the JSON:" and parsed.trailing == "Hope this helps!"
    fenced = parse_response('Sure.\n```json\n{"a": 1}\n```\nAnything else?')
    assert fenced.fenced and fenced.leading == "Sure." and fenced.trailing == "Anything else?"


def test_bracketed_chatter_before_the_object_is_skipped() -> None:
    parsed = parse_response('Result [see below]: {"a": 1}')
    assert parsed.kind == JSON_KIND and parsed.value == {"a": 1}
    assert parsed.leading == "Result [see below]:"


def test_python_literal_is_recognised_not_evaluated() -> None:
    parsed = parse_response("{'name': 'Ann', 'remote': True, 'manager': None}")
    assert parsed.kind == PYTHON_KIND
    assert parsed.value == {"name": "Ann", "remote": True, "manager": None}
    # code is never run: a call is not a literal
    assert parse_response("{'a': __import__('os').getcwd()}").kind == INVALID_KIND


@pytest.mark.parametrize(("text", "error"), [
    ('{"name": "Ann", "email": "ann@exa', "truncated"),
    ('{"name": "Ann", "skills": ["a", "b"', "truncated"),
    ('```json\n{"name": "Ann",', "truncated"),
    ('{"name": "Ann",}', "syntax"),
    ("{name: 'Ann'", "syntax"),
    ("The candidate is Ann, an accountant.", "no_json"),
])
def test_invalid_json_has_a_reason(text: str, error: str) -> None:
    parsed = parse_response(text)
    assert parsed.kind == INVALID_KIND and parsed.error == error


def test_truncated_object_is_not_rescued_by_an_inner_list() -> None:
    text = json.dumps({"name": "Ann", "skills": ["SQL", "Go"], "jobs": [{"company": "X"}]})
    parsed = parse_response(text[:-12])
    assert parsed.kind == INVALID_KIND and parsed.error == "truncated"


def test_absurdly_deep_nesting_is_invalid_not_an_error() -> None:
    assert parse_response("[" * 100_000 + "]" * 100_000).kind == INVALID_KIND
    assert parse_response("{'a': " * 5_000 + "1" + "}" * 5_000).kind == INVALID_KIND


def test_scalars_and_blanks_are_not_structured() -> None:
    assert parse_response("42").kind == SCALAR_KIND
    assert parse_response('"just a string"').kind == SCALAR_KIND
    assert parse_response("  \n").kind == EMPTY_KIND
    assert not parse_response("42").structured


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=10)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=4), st.booleans())
def test_any_json_object_round_trips(value: dict[str, Any], indent: bool) -> None:
    parsed = parse_response(json.dumps(value, indent=2 if indent else None))
    assert parsed.kind == JSON_KIND and parsed.value == value and not parsed.trailing


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60, alphabet=st.sampled_from("{}[]\"':,`abc 0TrueNone\n")))
def test_parse_never_raises(text: str) -> None:
    assert parse_response(text).kind in (JSON_KIND, PYTHON_KIND, SCALAR_KIND, INVALID_KIND,
                                         EMPTY_KIND)


# -- fields and keys --------------------------------------------------------------------------

def test_walk_fields_uses_dotted_paths_and_list_items() -> None:
    value = {"name": "A", "contact": {"email": "a@x", "geo": {"city": "Lyon"}},
             "jobs": [{"company": "X"}, {"company": "Y", "years": 2}]}
    paths, values = walk_fields(value, max_depth=3)
    assert paths == ["name", "contact", "contact.email", "contact.geo", "contact.geo.city",
                     "jobs", "jobs[].company", "jobs[].company", "jobs[].years"]
    assert values[4] == "Lyon" and values[6:] == ["X", "Y", 2]
    assert set(walk_fields(value, max_depth=1)[0]) == {"name", "contact", "jobs"}
    assert walk_fields([{"a": 1}, {"b": 2}], max_depth=2)[0] == ["[].a", "[].b"]


def test_parent_path() -> None:
    assert parent_path("a.b.c") == "a.b"
    assert parent_path("jobs[].company") == "jobs"
    assert parent_path("[].name") == ""
    assert parent_path("name") == ""


@pytest.mark.parametrize(("a", "b"), [("email", "e-mail"), ("years_experience", "yearsExperience"),
                                      ("address", "adress"), ("Phone Number", "phone_number")])
def test_near_key_names_are_similar(a: str, b: str) -> None:
    assert key_similarity(a, b) >= 0.8


@pytest.mark.parametrize(("a", "b"), [("phone", "nationality"), ("name", "title"),
                                      ("skills", "education")])
def test_unrelated_key_names_are_not(a: str, b: str) -> None:
    assert key_similarity(a, b) < 0.8


def test_compare_keys_reports_missing_extra_and_renamed() -> None:
    majority = frozenset({"name", "email", "phone", "contact", "contact.city", "jobs",
                          "jobs[].company"})
    keys = frozenset({"name", "e-mail", "nationality", "jobs"})
    deviation = compare_keys(keys, majority, rename_similarity=0.8)
    assert deviation.renamed == (("email", "e-mail"),)
    assert deviation.missing == ("contact", "phone")  # contact.city implied; jobs[] is empty
    assert deviation.extra == ("nationality",)
    assert not compare_keys(majority, majority, rename_similarity=0.8)


def test_empty_values_and_markers() -> None:
    markers = frozenset({"n/a", "unknown"})
    empties: tuple[Any, ...] = (None, "", "  ", [], {}, "N/A", " Unknown ")
    values: tuple[Any, ...] = ("Ann", 0, False, [""], {"a": None}, "n/a/b")
    assert all(is_empty(v, markers) for v in empties)
    assert not any(is_empty(v, markers) for v in values)


# -- the check on chat data -------------------------------------------------------------------

def test_clean_chat_data_has_no_findings() -> None:
    m = run(clean_chat())
    assert m.findings == ()
    assert m.metrics["json_share"] == 1.0
    for name in ("parse_failure_rate", "python_literal_rate", "fence_inconsistency_rate",
                 "wrapper_text_rate", "schema_deviation_rate", "max_field_empty_rate",
                 "type_inconsistency_rate", "ungrounded_value_rate"):
        assert m.metrics[name] == 0.0, name
    assert m.details["majority_keys"] == sorted(person(0))
    table = {row["field"]: row for row in m.details["fields"]}
    assert table["skills"]["dominant_type"] == "list"
    assert table["years_experience"]["grounded_rate"] is None  # numbers are not checked
    assert table["name"]["grounded_rate"] == 1.0 and table["name"]["present_rate"] == 1.0


def test_packaging_defects_are_flagged_with_record_ids() -> None:
    records = clean_chat()
    answers = {i: person(i) for i in range(40)}
    records[3]["messages"][2]["content"] = json.dumps(answers[3])[:60]
    records[5]["messages"][2]["content"] = repr(answers[5])
    records[7]["messages"][2]["content"] = "```json\n" + json.dumps(answers[7], indent=2) + "\n```"
    records[9]["messages"][2]["content"] = json.dumps(answers[9]) + "\n\nLet me know if that helps."
    records[11]["messages"][2]["content"] = "Here is the extracted data:\n" + json.dumps(answers[11])
    m = run(records)
    assert only(m, "not_json").records == (3,)
    assert only(m, "not_json").details["reasons"] == {"truncated": 1}
    assert only(m, "python_literal").records == (5,)
    assert only(m, "code_fenced_json").records == (7,)
    assert only(m, "trailing_text").records == (9,)
    assert only(m, "leading_text").records == (11,)
    assert m.metrics["parse_failure_rate"] == pytest.approx(1 / 40)
    assert m.metrics["python_literal_rate"] == pytest.approx(1 / 40)
    assert m.metrics["wrapper_text_rate"] == pytest.approx(2 / 40)
    assert not by_code(m, "bare_json")
    # the Python literal is still analysed for keys, and values stay grounded
    assert m.metrics["schema_deviation_rate"] == 0.0 and not by_code(m, "ungrounded_values")


def test_bare_json_is_the_minority_when_most_are_fenced() -> None:
    records = [chat(resume_text(person(i)), "```json\n" + json.dumps(person(i)) + "\n```")
               for i in range(20)]
    records[4]["messages"][2]["content"] = json.dumps(person(4))
    m = run(records)
    assert only(m, "bare_json").records == (4,)
    assert not by_code(m, "code_fenced_json")
    assert m.metrics["fence_inconsistency_rate"] == pytest.approx(1 / 20)


def test_schema_deviations_missing_extra_and_renamed_keys() -> None:
    records = clean_chat()
    renamed = person(2)
    renamed["e-mail"] = renamed.pop("email")
    camel = person(4)
    camel["yearsExperience"] = camel.pop("years_experience")
    missing = person(6)
    del missing["phone"]
    extra = {**person(8), "nationality": "French"}
    for i, answer in ((2, renamed), (4, camel), (6, missing), (8, extra)):
        records[i] = chat(resume_text(person(i)), json.dumps(answer))
    m = run(records)
    renames = {(f.details["expected"], f.details["used"]): f.records for f in by_code(m, "renamed_key")}
    assert renames == {("email", "e-mail"): (2,), ("years_experience", "yearsExperience"): (4,)}
    assert only(m, "missing_key").records == (6,) and only(m, "missing_key").details["key"] == "phone"
    assert only(m, "extra_key").records == (8,)
    assert m.metrics["schema_deviation_rate"] == pytest.approx(4 / 40)


def test_nested_keys_are_compared_as_dotted_paths() -> None:
    def answer(i: int) -> dict[str, Any]:
        p = person(i)
        return {"name": p["name"], "contact": {"email": p["email"], "phone": p["phone"]},
                "jobs": [{"company": "Initech", "title": p["title"]}]}

    records = [chat(resume_text(person(i)), json.dumps(answer(i))) for i in range(20)]
    bad = answer(3)
    bad["contact"] = {"mail": bad["contact"]["email"], "phone": bad["contact"]["phone"]}
    no_jobs = {**answer(5), "jobs": []}  # an empty list is an empty value, not missing keys
    records[3] = chat(resume_text(person(3)), json.dumps(bad))
    records[5] = chat(resume_text(person(5)), json.dumps(no_jobs))
    m = run(records)
    assert "contact.email" in m.details["majority_keys"]
    assert "jobs[].company" in m.details["majority_keys"]
    rename = only(m, "renamed_key")
    assert (rename.details["expected"], rename.details["used"], rename.records) == (
        "contact.email", "contact.mail", (3,))
    assert not by_code(m, "missing_key")


def test_responses_without_a_common_key_set_have_no_key_findings() -> None:
    records = [chat(f"Item {i}: colour red, size {i}", json.dumps({f"key{i}": "red"}))
               for i in range(10)]
    m = run(records)
    assert m.details["majority_keys"] == [] and math.isnan(m.metrics["schema_deviation_rate"])
    assert not [f for f in m.findings if f.code.endswith("_key")]


def test_often_empty_field_and_markers() -> None:
    records = clean_chat()
    empty = [1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34]  # 30%
    for k, i in enumerate(empty):
        answer = person(i)
        answer["education"] = ("", None, "N/A")[k % 3]
        records[i] = chat(resume_text(person(i)), json.dumps(answer))
    m = run(records)
    finding = only(m, "often_empty_field")
    assert finding.details["field"] == "education" and finding.records == tuple(empty)
    assert m.metrics["max_field_empty_rate"] == pytest.approx(0.3)
    # a field empty in 1 of 20 records is measured but not reported
    few = run([records[1], *[records[i] for i in range(40) if i not in empty][:19]])
    assert few.metrics["max_field_empty_rate"] == pytest.approx(1 / 20)
    assert not by_code(few, "often_empty_field")


def test_mixed_types_are_flagged_per_field() -> None:
    records = clean_chat()
    for i in (3, 17):
        answer = person(i)
        answer["skills"] = ", ".join(answer["skills"])
        records[i] = chat(resume_text(person(i)), json.dumps(answer))
    m = run(records)
    finding = only(m, "mixed_types")
    assert finding.records == (3, 17) and finding.details["types"] == {"list": 38, "string": 2}
    assert m.metrics["type_inconsistency_rate"] == pytest.approx(2 / 40)
    # the odd type in the very first record is found too
    records = clean_chat()
    answer = person(0)
    answer["skills"] = "SQL"
    records[0] = chat(resume_text(person(0)), json.dumps(answer))
    assert only(run(records), "mixed_types").records == (0,)
    # null is an empty value, not a type
    records = clean_chat()
    records[5] = chat(resume_text(person(5)), json.dumps({**person(5), "title": None}))
    assert not by_code(run(records), "mixed_types")


def test_ungrounded_values_are_reported_per_field() -> None:
    records = clean_chat()
    records[6] = chat(resume_text(person(6)), json.dumps({**person(6), "location": "Reykjavik"}))
    records[9] = chat(resume_text(person(9)),
                      json.dumps({**person(9), "skills": ["Excel", "Kubernetes"]}))
    m = run(records)
    found = {f.details["field"]: f for f in by_code(m, "ungrounded_values")}
    assert set(found) == {"location", "skills"}
    assert found["location"].records == (6,)
    assert found["location"].details["examples"] == [[6, "Reykjavik"]]
    assert found["skills"].records == (9,)
    assert m.metrics["ungrounded_value_rate"] > 0


def test_default_thresholds_judge_clean_and_defective_data() -> None:
    clean = load_dataset(clean_chat())
    assert run_check(StructuredOutput(), RunContext(clean)).status is Status.PASSED
    records = clean_chat()
    records[6] = chat(resume_text(person(6)), json.dumps({**person(6), "location": "Reykjavik"}))
    one_ungrounded = load_dataset(records)
    result = run_check(StructuredOutput(), RunContext(one_ungrounded))
    assert result.status is Status.WARNED and result.deciding_metric == "ungrounded_value_rate"
    records[3]["messages"][2]["content"] = "{'name': 'x'}"
    assert run_check(StructuredOutput(), RunContext(load_dataset(records))).status is Status.FAILED


def test_grounding_normalises_case_spacing_unicode_and_phone_digits() -> None:
    records = []
    for i in range(10):
        p = person(i)
        prompt = resume_text(p).replace(p["name"].upper(), p["name"].upper().replace(" ", "   "))
        answer = {**p, "phone": "+1 " + p["phone"].replace("(", "").replace(") ", "-"),
                  "title": p["title"].lower(), "location": p["location"].replace(",", "")}
        records.append(chat(prompt.replace("Economics", "Ｅconomics"), json.dumps(answer)))
    m = run(records)
    assert not by_code(m, "ungrounded_values"), [f.details for f in m.findings]
    assert m.metrics["ungrounded_value_rate"] == 0.0


def test_generated_and_skipped_fields_are_not_flagged() -> None:
    records = [chat(resume_text(person(i)),
                    json.dumps({**person(i), "summary": f"Seasoned professional number {i}."}))
               for i in range(20)]
    m = run(records)
    assert m.details["generated_fields"] == ["summary"]
    assert not by_code(m, "ungrounded_values")
    records[2] = chat(resume_text(person(2)), json.dumps({**person(2), "location": "Oslo"}))
    assert only(run(records), "ungrounded_values").records == (2,)
    skipped = run(records, grounding_skip_fields=("location",))
    assert not by_code(skipped, "ungrounded_values")


def test_final_assistant_turn_is_the_response() -> None:
    records = []
    for i in range(10):
        first, second = person(i), person(i + 1)
        records.append({"messages": [
            {"role": "user", "content": resume_text(first)},
            {"role": "assistant", "content": json.dumps(first)},
            {"role": "user", "content": resume_text(second)},
            {"role": "assistant", "content": json.dumps(second)}]})
    m = run(records)
    assert m.findings == () and m.metrics["parse_failure_rate"] == 0.0


def test_final_responses_on_a_subset_view_and_without_an_answer() -> None:
    records = clean_chat(6)
    records[2]["messages"] = records[2]["messages"][:2]  # no assistant turn
    data = load_dataset(records)
    subset = list(final_responses(data.take([4, 1, 2]), chunk=2))
    assert [json.loads(t)["name"] for t in subset[:2]] == [person(4)["name"], person(1)["name"]]
    assert subset[2] == ""


# -- Alpaca data ------------------------------------------------------------------------------

def alpaca(n: int = 30) -> list[dict[str, Any]]:
    return [{"instruction": "Extract the resume fields as JSON.", "input": resume_text(person(i)),
             "output": json.dumps(person(i))} for i in range(n)]


def test_alpaca_json_outputs_are_grounded_in_the_input() -> None:
    records = alpaca()
    assert run(records).findings == ()
    records[4]["output"] = json.dumps({**person(4), "name": "Somebody Else"})
    records[8]["output"] = "{'name': 'x'}"
    m = run(records)
    assert only(m, "ungrounded_values").records == (4,)
    assert only(m, "python_literal").records == (8,)


# -- not structured output --------------------------------------------------------------------

def prose(n: int = 20) -> list[dict[str, Any]]:
    return [{"instruction": f"Describe candidate {i}.", "input": "",
             "output": f"Candidate {i} is an experienced {TITLES[i % 4].lower()}."}
            for i in range(n)]


def test_prose_responses_are_measured_as_not_structured() -> None:
    records = prose()
    records[0]["output"] = '{"name": "Ann"}'
    data = load_dataset(records)
    result = run_check(StructuredOutput(), RunContext(data))
    assert result.status is Status.PASSED and result.findings == ()
    assert result.metrics["json_share"] == pytest.approx(1 / 20)
    assert math.isnan(result.metrics["parse_failure_rate"])
    assert result.details["structured"] is False


def test_min_parse_share_and_expect_json_decide() -> None:
    records = prose(10) + alpaca(10)
    assert run(records).details["structured"] is True  # half parse: at the default share
    assert run(records, min_parse_share=0.6).details["structured"] is False
    declared = run(prose(10), expect_json=True)
    assert declared.metrics["parse_failure_rate"] == 1.0
    assert only(declared, "not_json").details["reasons"] == {"no_json": 10}


# -- JSON Schema ------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "required": ["name", "email", "skills"],
    "properties": {"name": {"type": "string"}, "email": {"type": "string"},
                   "skills": {"type": "array", "items": {"type": "string"}},
                   "years_experience": {"type": "integer", "minimum": 0}},
}


def test_json_schema_violations_are_grouped_by_path(tmp_path: Path) -> None:
    schema = tmp_path / "resume.schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    records = clean_chat(30)
    no_email = person(3)
    del no_email["email"]
    records[3] = chat(resume_text(person(3)), json.dumps(no_email))
    for i in (5, 12):
        records[i] = chat(resume_text(person(i)), json.dumps({**person(i), "skills": ["SQL", 7]}))
    records[20] = chat(resume_text(person(20)),
                       json.dumps({**person(20), "years_experience": "five"}))
    m = run(records, json_schema=str(schema))
    groups = {(f.details["path"], f.details["rule"]): f.records for f in by_code(m, "schema_violation")}
    assert groups == {("$", "'email' is a required property"): (3,), ("$.skills[]", "type"): (5, 12),
                      ("$.years_experience", "type"): (20,)}
    assert m.metrics["schema_deviation_rate"] == pytest.approx(4 / 30)
    assert not by_code(m, "missing_key")  # the schema replaces the majority-key comparison
    assert run(clean_chat(30), json_schema=str(schema)).metrics["schema_deviation_rate"] == 0.0


def test_missing_or_invalid_schema_file_is_a_parameter_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="no such file"):
        StructuredOutput(json_schema=str(tmp_path / "absent.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="not a readable JSON file"):
        StructuredOutput(json_schema=str(broken))
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"type": "no-such-type"}), encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="not a valid JSON Schema"):
        StructuredOutput(json_schema=str(invalid))


def test_config_with_a_missing_schema_file_fails_before_any_check_runs() -> None:
    from audit.config import config_from_dict
    from audit.runner import run_audit

    config = config_from_dict(
        {"checks": {"structured_output": {"params": {"json_schema": "no/such/schema.json"}}}})
    with pytest.raises(InvalidParameterError, match="json_schema"):
        run_audit(clean_chat(4), config, checks=["structured_output"])


def test_findings_and_details_stay_small_and_json_serialisable() -> None:
    records = clean_chat(40)
    for i in range(0, 40, 2):
        records[i] = chat(resume_text(person(i)), json.dumps({**person(i), "location": "x" * 500}))
    m = run(records, max_examples=3)
    finding = only(m, "ungrounded_values")
    assert len(finding.details["examples"]) == 3
    assert all(len(value) <= 80 for _, value in finding.details["examples"])
    json.dumps({"d": dict(m.details), "f": [f.to_dict() for f in m.findings]}, allow_nan=False)
