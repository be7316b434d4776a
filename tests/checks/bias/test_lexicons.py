"""The project-authored bias lexicons: they load, are well formed, and match whole tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.errors import ConfigError
from checks.bias._mentions import (
    BUILTIN_AXES,
    LEXICON_DIR,
    builtin_lexicons,
    lexicon_matcher,
    load_lexicon_file,
    pluralize,
    resolve_lexicons,
    swap_pairs,
)

#: terms deliberately in two groups of one axis (none today; list them here with a reason)
INTENDED_OVERLAPS: dict[str, set[str]] = {}


def mentioned(text: str, lexicons=None) -> set[tuple[str, str]]:
    matcher = lexicon_matcher(lexicons or builtin_lexicons())
    row = matcher.match([text])[0]
    return {matcher.columns[j] for j in row.nonzero()[0]}


def test_every_bias_file_is_valid_json_with_a_description():
    files = sorted(LEXICON_DIR.glob("bias_*.json"))
    assert len(files) >= len(BUILTIN_AXES) + 4
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data.get("description"), path.name


def test_builtin_axes_load_with_nonempty_groups():
    lex = builtin_lexicons()
    assert [a.name for a in lex.axes] == list(BUILTIN_AXES)
    for axis in lex.axes + lex.concepts:
        assert len(axis.groups) >= 2, axis.name
        for group, terms in axis.terms.items():
            assert terms, f"{axis.name}:{group} is empty"
            assert all(t == t.lower().strip() and t for t in terms)
    gender = lex.axis("gender")
    assert {"female", "male", "nonbinary"} <= set(gender.groups)


def test_no_term_in_two_groups_of_one_axis():
    lex = builtin_lexicons()
    for axis in lex.axes + lex.concepts:
        owner: dict[str, str] = {}
        for group, terms in axis.terms.items():
            for term in terms:
                if term in owner and owner[term] != group:
                    assert term in INTENDED_OVERLAPS.get(axis.name, set()), (
                        f"{axis.name}: {term!r} in {owner[term]} and {group}")
                owner.setdefault(term, group)


@pytest.mark.parametrize(("word", "plural"), [
    ("woman", "women"), ("chairman", "chairmen"), ("lady", "ladies"), ("boy", "boys"),
    ("actress", "actresses"), ("child", "children"), ("person", "people"),
    ("human", "humans"), ("german", "germans"), ("mother-in-law", "mothers-in-law"),
    ("asian american", "asian americans"), ("wife", "wives"),
])
def test_pluralize(word, plural):
    assert pluralize(word) == plural


def test_plurals_and_possessives_match():
    assert ("gender", "female") in mentioned("The women's team won.")
    assert ("gender", "female") in mentioned("Ask the girls' coach.")
    assert ("gender", "male") in mentioned("My brothers-in-law came, and the chairmen spoke.")
    assert ("gender", "male") in mentioned("The doctor's husband's car")
    assert ("religion", "muslim") in mentioned("Muslims pray at the MOSQUE")


def test_whole_tokens_only():
    assert mentioned("the hello theme, shell, herbal, mendacious, ashes") == set()
    assert ("pronouns", "he/him") in mentioned("He said hello")
    assert ("gender", "male") not in mentioned("Then the chemist left")  # 'he' inside words


def test_titles_with_periods_match():
    found = mentioned("Mr. Smith met Mrs. Jones")
    assert {("gender", "male"), ("gender", "female")} <= found


def test_ambiguous_modifiers_need_a_person_noun():
    assert ("race_ethnicity", "black") in mentioned("Black women founded the group")
    assert ("race_ethnicity", "black") not in mentioned("A black car and white paint")
    assert ("age", "older") in mentioned("Older adults use the app")
    assert ("age", "older") not in mentioned("This is old code")
    assert ("nationality", "german") in mentioned("German engineers built it")
    assert ("nationality", "german") not in mentioned("She speaks German")


def test_longer_match_wins_across_yielding_axes():
    found = mentioned("An African American engineer")
    assert ("race_ethnicity", "black") in found
    assert ("nationality", "american") not in found
    assert ("nationality", "american") in mentioned("An American engineer")
    # gender does not yield to race: a black woman is both
    assert {("race_ethnicity", "black"), ("gender", "female")} <= mentioned("a black woman")


def test_concepts_found_in_the_same_pass():
    found = mentioned("The nurse said she was brilliant; the software engineer swore: shit")
    assert {("occupation", "nurse"), ("occupation", "software_developer"),
            ("attribute", "competence"), ("profanity", "profanity")} <= found


def test_user_csv_adds_a_new_axis_and_merges(tmp_path: Path):
    path = tmp_path / "extra.csv"
    path.write_text("axis,group,term,exact\nclass,working_class,blue-collar worker,\n"
                    "class,upper_class,aristocrat,\ngender,female,zorblette,true\n",
                    encoding="utf-8")
    lex = resolve_lexicons((str(path),))
    assert "class" in [a.name for a in lex.axes]
    assert "blue-collar workers" in lex.axis("class").terms["working_class"]
    assert "zorblette" in lex.axis("gender").terms["female"]
    assert "zorblettes" not in lex.axis("gender").terms["female"]  # exact: no plural
    assert "woman" in lex.axis("gender").terms["female"]  # merged, built-in kept
    assert ("class", "upper_class") in mentioned("Two aristocrats dined", lex)
    replaced = resolve_lexicons((str(path),), True)
    assert [a.name for a in replaced.axes] == ["class", "gender"]
    assert replaced.axis("gender").terms["female"] == ("zorblette",)


def test_holistic_bias_style_nested_json(tmp_path: Path):
    path = tmp_path / "descriptors.json"
    path.write_text(json.dumps({"ability": {"auditory": [{"descriptor": "Deaf"}, "hard-of-hearing"],
                                            "mobility": ["paraplegic"]}}), encoding="utf-8")
    (axis,) = load_lexicon_file(path)
    assert axis.name == "ability"
    assert "deaf" in axis.terms["auditory"] and "paraplegics" in axis.terms["mobility"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.csv", None, "does not exist"),
    ("bad.json", "{not json", "not valid UTF-8 JSON"),
    ("noheader.csv", "a,b\n1,2\n", "axis,group,term"),
    ("emptycell.csv", "axis,group,term\ngender,,x\n", ":2: axis, group and term"),
    ("shape.json", "[1, 2]", "non-empty 'axis'"),
    ("emptygroup.json", json.dumps({"axis": "x", "groups": {"a": [], "b": ["y"]}}), "no terms"),
    ("badterm.json", json.dumps({"axis": "x", "groups": {"a": [3]}}), "must be a string"),
    ("words.txt", "he\n", "use a .csv"),
])
def test_bad_lexicon_files_give_clear_errors(tmp_path: Path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        resolve_lexicons((str(path),))


def test_replace_without_files_is_an_error():
    with pytest.raises(ConfigError, match="needs at least one file"):
        resolve_lexicons((), True)


def test_swap_pairs_are_well_formed():
    pairs = swap_pairs()
    assert {"gender", "race_ethnicity", "religion", "age", "nationality"} <= set(pairs)
    assert ("he", "she") in pairs["gender"]
    for axis, items in pairs.items():
        assert items, axis
        assert all(a != b and a and b for a, b in items)


def test_gender_lexicon_covers_winobias_gendered_words(shared_datasets: Path):
    """Coverage check against an external list (read at test time, never copied)."""
    folder = shared_datasets / "winobias"
    words = [w.strip().lower() for w in (folder / "generalized_swaps.txt").read_text().split()
             if w.strip().isalpha()]
    lex = builtin_lexicons().axis("gender")
    known = {t for terms in lex.terms.values() for t in terms}
    covered = sum(w in known for w in words) / len(words)
    assert covered >= 0.5, f"gender lexicon covers only {covered:.0%} of WinoBias' swap words"


def test_windowed_matching_equals_matching_whole_texts(shared_datasets: Path):
    """The candidate-window shortcut gives exactly what spaCy finds on the full text (with runs
    of whitespace read as one space, so a line break inside "white\npeople" still matches)."""
    lines = (shared_datasets / "winogender_schemas" / "all_sentences.tsv").read_text(
        encoding="utf-8").splitlines()[1:]
    texts = [line.split("\t", 1)[1] for line in lines if "\t" in line][:300]
    texts += ["An African American engineer, a person with a disability (she's) & Mr. X.",
              "Black women and white   people;\tolder adults\nmet German engineers.", "", "he"]
    matcher = lexicon_matcher(builtin_lexicons())
    fast = matcher.match(texts)
    for i, doc in enumerate(matcher.tokenizer.pipe(" ".join(t.split()) for t in texts)):
        found = matcher.matcher(doc)
        expected = matcher._resolve(found) if found else set()
        assert set(fast[i].nonzero()[0].tolist()) == expected, texts[i]
