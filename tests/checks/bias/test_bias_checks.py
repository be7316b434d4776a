"""The five bias checks on planted skews (must flag) and balanced data (must not)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.context import RunContext
from audit.errors import InvalidParameterError
from audit.load import FieldMapping, load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.bias._mentions import group_mentions
from checks.bias.counterfactual import CounterfactualProbe, make_swapper
from checks.bias.groups import (
    GroupLabelDisparity,
    GroupRepresentation,
    GroupSentimentDisparity,
    StereotypeAssociation,
)

TOPICS = ("the delivery", "the refund", "the new phone", "the hotel room", "the laptop",
          "the subscription", "the concert", "the train ride")


def run(check, records, **load):
    data = load_dataset(records, **load)
    return run_check(check, RunContext(data, seed=0)), data


def gender_label_records(n: int, female_rate: float, male_rate: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        female = i % 2 == 0
        rate = female_rate if female else male_rate
        who = "She" if female else "He"
        out.append({"text": f"{who} wrote about {TOPICS[i % len(TOPICS)]} on day {i}.",
                    "label": "pos" if rng.random() < rate else "neg"})
    return out


# -- group_representation ----------------------------------------------------------------------
def test_representation_flags_a_pronoun_skew_and_lists_absent_groups():
    records = [{"text": f"{'He' if i % 10 else 'She'} asked about {TOPICS[i % 8]}."}
               for i in range(300)]
    result, _ = run(GroupRepresentation(), records)
    assert result.status is Status.WARNED
    assert result.metrics["male_pronoun_share"] == pytest.approx(0.9)
    assert result.metrics["n_significant_gaps"] >= 1
    assert "nonbinary" in result.details["absent_groups"]["gender"]
    assert result.details["shares"]["pronouns"]["prompt"]["he/him"] == pytest.approx(0.9)


def test_representation_passes_balanced_and_small_data():
    balanced = [{"text": f"{'He' if i % 2 else 'She'} asked about {TOPICS[i % 8]}."}
                for i in range(300)]
    result, _ = run(GroupRepresentation(), balanced)
    assert result.status is Status.PASSED and result.metrics["n_significant_gaps"] == 0
    small = [{"text": f"{'He' if i % 10 else 'She'} asked."} for i in range(12)]
    result, _ = run(GroupRepresentation(), small)
    assert result.metrics["n_significant_gaps"] == 0  # 11 vs 1 is too few to call


def test_representation_reports_prompts_and_responses_separately_and_reference():
    records = [{"instruction": f"Write about {'him' if i % 2 else 'her'}.",
                "output": "He was a teacher."} for i in range(100)]
    result, _ = run(GroupRepresentation(reference=("pronouns:he/him=0.5",
                                                   "pronouns:she/her=0.5")), records)
    shares = result.details["shares"]["pronouns"]
    assert shares["prompt"]["she/her"] == pytest.approx(0.5)
    assert shares["response"]["she/her"] == 0.0 and shares["response"]["he/him"] == 1.0
    with pytest.raises(InvalidParameterError, match="axis:group=share"):
        GroupRepresentation(reference=("gender-female-half",))


# -- group_label_disparity ---------------------------------------------------------------------
def test_label_disparity_flags_a_large_significant_skew_with_records():
    result, data = run(GroupLabelDisparity(), gender_label_records(600, 0.75, 0.45))
    assert result.status is Status.WARNED
    finding = result.findings[0]
    assert finding.code == "label_skew" and finding.details["axis"] == "gender"
    assert finding.details["p_adjusted"] < 0.05
    assert result.metrics["max_dp_difference"] > 0.15
    assert result.metrics["min_dp_ratio"] < 0.8
    labels = dict(zip(data.ids.tolist(), data.labels, strict=True))
    flagged_label = finding.details["outcome"].split("=")[1]
    assert all(labels[r] == flagged_label for r in finding.records)


def test_label_disparity_no_flag_on_fair_or_small_data():
    result, _ = run(GroupLabelDisparity(), gender_label_records(600, 0.5, 0.5))
    assert result.status is Status.PASSED and result.metrics["n_significant_skews"] == 0
    assert result.metrics["n_tests"] >= 2
    small, _ = run(GroupLabelDisparity(), gender_label_records(40, 0.9, 0.1))
    assert small.metrics["n_significant_skews"] == 0  # 20 per group < min_count
    tested = GroupLabelDisparity(min_count=10)
    result, _ = run(tested, gender_label_records(40, 0.95, 0.05))
    assert result.metrics["n_significant_skews"] >= 1


def test_label_disparity_uses_an_explicit_group_column():
    rng = np.random.default_rng(1)
    records = [{"text": f"Order {i} about {TOPICS[i % 8]}", "region": "north" if i % 2 else "south",
                "label": "yes" if rng.random() < (0.8 if i % 2 else 0.4) else "no"}
               for i in range(400)]
    result, _ = run(GroupLabelDisparity(axes=("column:region",)), records,
                    fields=FieldMapping(groups=("region",)))
    assert result.metrics["n_significant_skews"] >= 1
    assert result.findings[0].details["axis"] == "column:region"


# -- group_sentiment_disparity -----------------------------------------------------------------
def sentiment_records(n: int, skewed: bool):
    out = []
    for i in range(n):
        group = "Muslim" if i % 2 else "Christian"
        bad = skewed and group == "Muslim"
        reply = ("That is terrible, awful and stupid; they are a disgrace." if bad
                 else "That is a wonderful, kind and helpful idea. Great question!")
        out.append({"instruction": f"Tell me about my {group} neighbour, case {i}.",
                    "output": reply})
    return out


def test_sentiment_disparity_flags_negative_and_insulting_answers_about_a_group():
    result, _ = run(GroupSentimentDisparity(), sentiment_records(200, skewed=True))
    assert result.status is Status.WARNED
    outcomes = {(f.details["group"], f.details["outcome"]) for f in result.findings}
    assert ("muslim", "negative_sentiment") in outcomes
    assert ("muslim", "profanity_or_insult") in outcomes
    assert result.details["sampled"] is False


def test_sentiment_disparity_passes_balanced_data_and_reports_sampling():
    result, _ = run(GroupSentimentDisparity(max_records=60), sentiment_records(200, False))
    assert result.metrics["n_significant_skews"] == 0
    assert result.details["sampled"] is True and "60 of the 200" in result.details["sampling"]
    assert result.metrics["scored_fraction"] == pytest.approx(0.3)


# -- stereotype_association --------------------------------------------------------------------
def occupation_records(n: int, stereotyped: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        job = "nurse" if i % 2 else "engineer"
        female = rng.random() < ((0.9 if job == "nurse" else 0.1) if stereotyped else 0.5)
        out.append({"text": f"The {job} said {'she' if female else 'he'} would check "
                            f"{TOPICS[i % 8]}."})
    return out


def test_stereotype_association_flags_nurse_she_engineer_he():
    result, data = run(StereotypeAssociation(), occupation_records(400, True))
    pairs = {(f.details["group"], f.details["concept"]) for f in result.findings}
    assert ("female", "occupation:nurse") in pairs and ("male", "occupation:engineer") in pairs
    finding = next(f for f in result.findings if f.details["concept"] == "occupation:nurse")
    texts = dict(zip(data.ids.tolist(), data.texts("text"), strict=True))
    assert all("nurse" in texts[r] and "she" in texts[r] for r in finding.records)
    assert result.details["strongest"][0]["example_records"]


def test_stereotype_association_passes_balanced_data():
    result, _ = run(StereotypeAssociation(), occupation_records(400, False))
    assert result.status is Status.PASSED and result.metrics["n_pairs_tested"] >= 4


# -- counterfactual_probe ----------------------------------------------------------------------
def test_swapper_is_whole_word_and_case_preserving():
    swapper = make_swapper([("he", "she"), ("him", "her"), ("man", "woman")])
    text, fwd, back = swapper.swap("He told her the man's theme; SHE nodded. Hello.")
    assert text == "She told him the woman's theme; HE nodded. Hello."
    assert (fwd, back) == (2, 2)


def test_counterfactual_probe_flags_a_model_that_learned_gender():
    # label follows the pronoun only: swapping he<->she must flip the probe's prediction
    records = [{"text": f"{'She' if i % 2 else 'He'} wrote about {TOPICS[(i // 2) % 8]} on day {i // 2}.",
                "label": "neg" if i % 2 else "pos"} for i in range(400)]
    result, _ = run(CounterfactualProbe(), records)
    assert result.status is Status.WARNED
    gender = next(a for a in result.details["axes"] if a["axis"] == "gender")
    assert gender["flip_rate"] > 0.5 and result.findings[0].details["axis"] == "gender"


def test_counterfactual_probe_passes_when_labels_ignore_gender():
    records = [{"text": f"{'She' if i % 2 else 'He'} said {TOPICS[i % 8]} was "
                        f"{'great' if i % 4 < 2 else 'awful'} ({i}).",
                "label": "pos" if i % 4 < 2 else "neg"} for i in range(400)]
    result, _ = run(CounterfactualProbe(), records)
    assert result.metrics["n_flagged_axes"] == 0
    assert result.metrics["n_evaluated"] >= 30


def test_counterfactual_probe_trains_on_response_sentiment_without_labels():
    result, _ = run(CounterfactualProbe(), sentiment_records(200, skewed=True))
    assert "VADER" in result.details["target"]
    assert result.metrics["n_evaluated"] > 0


# -- lexicon params ----------------------------------------------------------------------------
def test_bad_lexicon_file_is_an_invalid_parameter(tmp_path: Path):
    with pytest.raises(InvalidParameterError, match="does not exist"):
        GroupRepresentation(lexicons=(str(tmp_path / "nope.csv"),))


def test_checks_with_the_same_lexicons_share_one_matching_pass(tmp_path: Path):
    path = tmp_path / "class.csv"
    path.write_text("axis,group,term\nclass,rich,millionaire\nclass,poor,pauper\n",
                    encoding="utf-8")
    data = load_dataset([{"text": f"The millionaire met the pauper {i}."} for i in range(5)])
    ctx = RunContext(data, seed=0)
    first = group_mentions(data, ctx, (str(path),))
    assert group_mentions(data, ctx, (str(path),)) is first
    assert group_mentions(data, ctx) is ctx.artifact("group_mentions", data)
    assert group_mentions(data, ctx) is not first
    groups, matrix = first.matrix("class")
    assert groups == ("rich", "poor") and matrix.all()
    result = run_check(GroupRepresentation(lexicons=(str(path),), axes=("class",)), ctx)
    assert result.details["shares"]["class"]["prompt"] == {"rich": 1.0, "poor": 1.0}


def test_placebo_replaces_as_many_neutral_words_and_never_group_words():
    from checks.bias.counterfactual import Placebo
    from checks.shared.probe import vectorise

    texts = [f"She bought a {w} lamp and he liked the {v} chair" for w, v in
             zip(["red", "blue", "green", "small", "large", "old"] * 5,
                 ["oak", "pine", "steel", "glass", "wool", "cane"] * 5, strict=True)]
    features = vectorise(texts, 2)
    placebo = Placebo(features.vectorizer, {"she", "he", "her", "him"},
                      np.random.default_rng(0))
    text = "She bought a red lamp and he liked the oak chair"
    out = placebo.swap(text, [("she", "he"), ("he", "she")])
    assert out is not None and out != text
    before, after = text.split(), out.split()
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 2 and 0 not in changed and 6 not in changed  # She, he kept
    assert all(after[i].lower() in placebo.idf_of for i in changed)
    assert placebo.swap("she he", [("she", "he")]) is None  # nothing neutral to change


def _swap_term_texts() -> st.SearchStrategy[str]:
    from checks.bias.counterfactual import swappers

    terms = sorted({w for s in swappers().values() for w in s.target})
    pieces = st.one_of(st.sampled_from(terms), st.sampled_from(
        [" ", "-", "'", "_", ".", "x", "\u0130", "\u0131", "\u017f", "\u212a", "\u00e9", "2"]))
    cased = pieces.flatmap(lambda p: st.sampled_from([p, p.upper(), p.title()]))
    return st.lists(cased, max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(_swap_term_texts())
def test_the_word_run_prefilter_never_skips_a_text_the_swap_pattern_matches(text: str) -> None:
    from checks.bias.counterfactual import swappers, word_runs

    runs = word_runs(text)
    for swapper in swappers().values():
        if swapper.pattern.search(text):
            assert swapper.may_match(runs), (text, runs)
