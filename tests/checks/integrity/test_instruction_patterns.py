"""placeholder_responses, unavailable_context, merged_instructions, refusals and their core."""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from audit.context import RunContext
from audit.dataset import DatasetView
from audit.load import load_dataset
from audit.result import Measurement, Severity
from checks.integrity._patterns import find_hits, is_quoted, load_lexicon
from checks.integrity.instructions import (
    MERGED_LEXICON,
    PLACEHOLDER_LEXICON,
    REFUSAL_LEXICON,
    UNAVAILABLE_CONTEXT_LEXICON,
    MergedInstructions,
    PlaceholderResponses,
    Refusals,
    UnavailableContext,
    marker_variant,
)

LEXICONS = (PLACEHOLDER_LEXICON, UNAVAILABLE_CONTEXT_LEXICON, MERGED_LEXICON, REFUSAL_LEXICON)
NORMAL = ("Thanks for reaching out. Open Settings, choose Billing, and update the card on file. "
          "The change applies to your next invoice.")

#: one planted positive per lexicon pattern: (prompt, response) that must hit exactly it
POSITIVES: dict[str, tuple[str, str]] = {
    # placeholders
    "not_applicable": ("Summarise the ticket.", "N/A"),
    "no_input_output_marker": ("Rewrite the sentence.", "<nooutput>"),
    "to_be_done": ("Explain the refund policy.", "TBD."),
    "todo_prefix": ("Explain the refund policy.", "TODO: write the refund steps here later"),
    "lorem_ipsum": ("Write a product blurb.", "Lorem ipsum dolor sit amet, consectetur."),
    "as_above": ("And for the annual plan?", "Same as above."),
    "punctuation_only": ("What is the status?", "..."),
    "empty_label": ("Classify the ticket.", "Output:"),
    "template_slot": ("Answer the customer.", "[Insert answer here]"),
    "null_word": ("Which plan includes SSO?", "None"),
    "inline_template_slot": ("Write a welcome email.",
                             "Dear [Insert customer name], welcome aboard. We are glad you joined."),
    "no_input_value": ("", ""),  # context field: tested in test_no_input_markers_*
    "no_input_tag": ("Summarise the ticket.\n\n<noinput>", "The customer wants a refund."),
    "empty_input_section": ("### Instruction:\nGreet the user.\n### Input:\nN/A", "Hello there!"),
    # unavailable context
    "url_to_read": ("Summarize the article at https://news.example.com/story/42 for me.",
                    "The article says prices rose."),
    "bare_url_input": ("Give me the key points.\n\nhttps://blog.example.com/post/7",
                       "The post covers three points."),
    "video_or_audio_link": ("What happens at https://www.youtube.com/watch?v=abc123 ?",
                            "The host reviews a phone."),
    "attachment": ("Please see attached and confirm the new address.", "Confirmed."),
    "media_tag": ("What is wrong here? <Picture Attached>", "The cable is loose."),
    "visual_reference": ("Describe the image below in two sentences.", "A cat sits on a mat."),
    "link_reference": ("Can you summarise this link for my team?", "It is about pricing."),
    "sent_earlier": ("Review the document I sent yesterday and fix the formatting.",
                     "I fixed the headings."),
    "following_nothing": ("Summarize the following article in three sentences.",
                          "The article discusses climate policy."),
    "file_name": ("Analyze report.pdf and list the risks.", "The risks are cost and delay."),
    "describes_unseen_media": ("Is my setup right?",
                               "Yes. The image shows the router connected to the modem."),
    "in_the_media": ("What is the error?", "In the screenshot, the error code is 404."),
    "claims_visited": ("Is the site down?", "I visited the website and it loads fine now."),
    "admits_missing": ("What does it say?", "I cannot see the attached image, sorry."),
    # merged instructions
    "alpaca_header_in_response": ("Name a colour.", "Blue.\n\n### Instruction:\nName a fruit."),
    "repeated_instruction_header": ("### Instruction:\nName a colour.\n### Instruction:\nName a fruit.",
                                    "Blue."),
    "numbered_instruction": ("Give a synonym for happy.", "Joyful.\n\n18. Instruction: Give an "
                                                          "antonym for cold."),
    "numbered_instruction_in_prompt": ("17. Instruction: Give a synonym for happy.", "Joyful."),
    "instruction_label_in_response": ("Give a synonym for happy.", "Joyful.\nInstruction: Now "
                                                                   "give one for sad."),
    "chat_template_token": ("Say hi.", "Hi!<|im_end|>\n<|im_start|>user\nAnd bye?"),
    "chat_template_token_in_prompt": ("[INST] Say hi. [/INST]", "Hi!"),
    "sentence_boundary_token": ("Say hi.", "Hi there!</s>"),
    "role_label_in_response": ("How do I reset my password?",
                               "Click Forgot password.\nUser: thanks, and my email?\nAssistant: "
                               "Update it in Settings."),
    # refusals
    "as_an_ai": ("Who will win the election?", "As an AI language model, I cannot predict that."),
    "i_am_an_ai": ("Are you human?", "No, I am just an AI. How can I help?"),
    "cannot_help": ("Write a poem about rain.", "I cannot provide creative writing of that kind."),
    "sorry_but": ("Tell me a joke.", "I'm sorry, but I won't do that today."),
    "no_personal_opinions": ("Best pizza topping?", "I don't have personal opinions, but many "
                                                    "people like basil."),
    "knowledge_cutoff": ("Who won yesterday?", "My knowledge cutoff prevents me from knowing "
                                               "that."),
    "not_appropriate_for_me": ("Rate my boss.", "It is not appropriate for me to rate people."),
    "advice_disclaimer": ("Is this mole a concern?", "Moles that change shape matter. Please "
                                                     "consult a doctor."),
    # refusals in other languages
    "as_an_ai_es_pt": ("¿Quién ganará?", "Como modelo de lenguaje, no puedo saberlo."),
    "cannot_help_es": ("Escribe un poema.", "No puedo escribir ese tipo de texto."),
    "sorry_but_es_pt": ("Cuéntame un chiste.", "Lo siento, pero no hoy."),
    "no_opinions_es_pt": ("¿Mejor pizza?", "No tengo opiniones personales sobre comida."),
    "not_appropriate_es_pt": ("Valora a mi jefe.", "No sería apropiado que yo valore a personas."),
    "cannot_help_pt": ("Escreva um poema.", "Não posso escrever esse tipo de texto."),
    "as_an_ai_fr": ("Qui va gagner ?", "En tant qu'IA, je l'ignore."),
    "cannot_help_fr": ("Écris un poème.", "Je ne peux pas écrire ce genre de texte."),
    "sorry_but_fr": ("Une blague ?", "Désolé, mais je passe mon tour."),
    "no_opinions_fr": ("La meilleure pizza ?", "Je n'ai pas d'opinions sur la cuisine."),
    "not_appropriate_fr": ("Note mon chef.", "Il ne serait pas approprié que je note des gens."),
    "as_an_ai_de": ("Wer gewinnt?", "Als KI weiß ich das nicht."),
    "cannot_help_de": ("Schreib ein Gedicht.", "Ich kann dieses Gedicht leider nicht schreiben."),
    "sorry_but_de": ("Einen Witz?", "Es tut mir leid, aber heute nicht."),
    "no_opinions_de": ("Beste Pizza?", "Ich habe keine Meinungen zu Essen."),
    "not_appropriate_de": ("Bewerte meinen Chef.", "Es wäre nicht angemessen, Menschen zu bewerten."),
    "as_an_ai_ru": ("Кто победит?", "Как языковая модель, я этого не знаю."),
    "cannot_help_ru": ("Напиши стихи.", "Я не могу написать такие стихи."),
    "no_opinions_ru": ("Лучшая пицца?", "У меня нет личного мнения о еде."),
    "not_appropriate_ru": ("Оцени начальника.", "Было бы неуместно с моей стороны оценивать людей."),
    "as_an_ai_zh": ("谁会赢？", "作为AI，我对此一无所知。"),
    "cannot_help_zh": ("写一首诗。", "我无法完成这首诗。"),
    "sorry_but_zh": ("讲个笑话。", "对不起，我不会讲笑话。"),
    "no_opinions_zh": ("最好的披萨？", "我没有个人偏好。"),
    "not_appropriate_zh": ("评价我的老板。", "这违反了我的原则。"),
    "as_an_ai_ja": ("誰が勝ちますか？", "AIとして、お答えしかねる内容です。"),
    "cannot_help_ja": ("詩を書いて。", "その詩のお手伝いはできません。"),
    "no_opinions_ja": ("一番のピザは？", "私には好みはありません。"),
    "not_appropriate_ja": ("上司を評価して。", "ポリシーに反するため、評価は控えます。"),
    # placeholders in other languages
    "not_applicable_intl": ("Resume el ticket.", "No aplica."),
    "no_answer_intl": ("Résume le ticket.", "Pas de réponse"),
    "to_be_done_intl": ("Erkläre die Regeln.", "Wird noch ergänzt."),
    "as_above_intl": ("Und für den Jahresplan?", "Siehe oben."),
    "template_slot_intl": ("回答客户。", "（在此填写答案）"),
    "answer_here_intl": ("Responda ao cliente.", "Sua resposta aqui"),
    "null_word_intl": ("Какой тариф включает SSO?", "Нет"),
}

#: realistic text that no pattern of the named check may flag
NEGATIVES: dict[str, list[tuple[str, str]]] = {
    "placeholder_responses": [
        ("Fill the table.", "| plan | SSO |\n|---|---|\n| Free | N/A |\n| Pro | yes |"),
        ("Which plan fits a team of 3?", "None of the plans has a 3-seat tier, so pick Team."),
        ("What does TBD mean?", "TBD stands for 'to be determined' and marks open items."),
        ("Explain lorem ipsum.", "Designers use lorem ipsum as filler text in mock-ups."),
        ("Is the refund the same as above?", "Yes, the refund works as described above: within "
                                             "14 days."),
        ("Greet the user.", NORMAL),
    ],
    "unavailable_context": [
        ("Write a Python function that downloads https://example.com/data.csv with requests.",
         "```python\nimport requests\n```"),
        ("Who painted the Mona Lisa?", "Leonardo da Vinci."),
        ("Tom buys the video game for $30 and the video card for $200. How much?", "$230."),
        ("Summarize the following article.\n\nPrices rose 3% in May as fuel costs climbed.",
         "Prices rose on fuel."),
        ("Resize image.png to 200x200 pixels using Pillow in Python.", "Use Image.resize."),
        ("List the criticisms from this link https://en.wikipedia.org/wiki/Portfolio_theory\n\n"
         + " ".join(["Critics say the model's risk measures rely on expected values."] * 5),
         "- It relies on expected values."),
        ("Greet the user.", NORMAL),
    ],
    "merged_instructions": [
        ("Write a short dialogue between a user and an assistant about refunds.",
         "User: I want a refund.\nAssistant: Sure, it takes 5 days."),
        ("Print the sum.", "```python\nprint(2 + 3)\n## Output: 5\n```"),
        ("How does an LLM work?", "It predicts the next token. A chat is formatted like:\n"
                                  "Human: hello\nAI: Hello, how can I help?"),
        ("List the steps.", "1. Open settings\n2. Click Billing\n3. Save"),
        ("Greet the user.", NORMAL),
    ],
    "refusals": [
        ("How important is sleep?", "I cannot stress enough how much sleep matters for memory."),
        ("My order is late.", "I'm sorry to hear that. Your parcel ships tomorrow."),
        ("Any advice?", "I can't help but admire your plan; start with the budget."),
        ("Write code that prints a greeting.", 'print("I am an AI assistant, hello!")'),
        ("Summarise the story.", 'The robot said "I cannot help you" and walked away.'),
        ("Who should I call about a cough?", "You should consult a physician about a cough."),
        ("Greet the user.", NORMAL),
    ],
}

CHECKS = {"placeholder_responses": PlaceholderResponses, "unavailable_context": UnavailableContext,
          "merged_instructions": MergedInstructions, "refusals": Refusals}


def _data(pairs: list[tuple[str, str]], **extra: Any) -> DatasetView:
    return load_dataset([{"prompt": p, "response": r, **extra} for p, r in pairs])


def _run(check: Any, data: DatasetView) -> Measurement:
    return check.run(data, RunContext(data))


def _flagged(measurement: Measurement, *codes: str) -> set[int]:
    return {r for f in measurement.findings if not codes or f.code in codes for r in f.records}


# -- lexicons ------------------------------------------------------------------------------------

@pytest.mark.parametrize("lexicon", LEXICONS)
def test_lexicon_regexes_compile_in_re2_and_python(lexicon: str) -> None:
    patterns = load_lexicon(lexicon)
    assert patterns and len({p.name for p in patterns}) == len(patterns)
    probe = pa.array(["probe text"])
    for pattern in patterns:
        re.compile(pattern.regex)
        pc.match_substring_regex(probe, pattern.regex, ignore_case=True)  # raises if not RE2
        for extra in (pattern.unless_prompt, pattern.prefilter):
            if extra:
                re.compile(extra)
                pc.match_substring_regex(probe, extra)
        assert pattern.note, f"{pattern.name} has no note"
        assert 0.0 < pattern.weight <= 1.0


def test_every_lexicon_pattern_has_a_planted_positive() -> None:
    names = {p.name for lexicon in LEXICONS for p in load_lexicon(lexicon)}
    assert names == set(POSITIVES)


@pytest.mark.parametrize("name", sorted(n for n in POSITIVES if n != "no_input_value"))
def test_each_pattern_matches_its_planted_positive(name: str) -> None:
    pattern = next(p for lexicon in LEXICONS for p in load_lexicon(lexicon) if p.name == name)
    data = _data([("Greet the user.", NORMAL), POSITIVES[name]])
    hits = find_hits(data, [pattern])  # the vectorised pass uses the prefilter, if any
    assert [h.position for h in hits] == [1], f"{name} did not match its positive"
    assert hits[0].snippet


@pytest.mark.parametrize("check_name", sorted(NEGATIVES))
def test_realistic_negatives_are_not_flagged(check_name: str) -> None:
    data = _data(NEGATIVES[check_name])
    result = _run(CHECKS[check_name](), data)
    assert not result.findings, [(f.code, f.details.get("pattern"), f.records)
                                 for f in result.findings]


# -- core ----------------------------------------------------------------------------------------

def test_findings_name_the_pattern_and_use_record_ids() -> None:
    data = _data([("Greet.", NORMAL), ("Greet.", NORMAL), ("Status?", "N/A"), ("Status?", "TBD")])
    view = data.take([3, 2, 0])  # record ids 3, 2, 0 at positions 0, 1, 2
    result = _run(PlaceholderResponses(), view)
    by_pattern = {f.details["pattern"]: f for f in result.findings}
    assert set(by_pattern) == {"not_applicable", "to_be_done"}
    assert by_pattern["not_applicable"].records == (2,)
    assert by_pattern["to_be_done"].records == (3,)
    example = by_pattern["to_be_done"].details["examples"][0]
    assert example == {"record": 3, "match": "TBD"}
    assert by_pattern["to_be_done"].details["regex"]


@pytest.mark.parametrize(("text", "needle", "quoted"), [
    ('x = "I am an AI assistant"', "I am", True),
    ("say('I cannot help you')", "I cannot", True),
    ("```\nI cannot help\n```", "I cannot", True),
    ("Use `I cannot` as the label", "I cannot", True),
    ("I cannot help with that.", "I cannot", False),
    ('He said it was fine. I cannot help with "that".', "I cannot", False),
])
def test_is_quoted(text: str, needle: str, quoted: bool) -> None:
    assert is_quoted(text, text.index(needle)) is quoted


# -- placeholder_responses -----------------------------------------------------------------------

def test_placeholders_metrics_and_possible_placeholders_are_apart() -> None:
    pairs = [("Greet.", NORMAL)] * 16 + [("Status?", "N/A"), ("Plan?", "<nooutput>"),
                                         ("Which plan includes SSO?", "None"),
                                         ("Table?", "| a | N/A |")]
    result = _run(PlaceholderResponses(), _data(pairs))
    assert result.metrics["n_placeholder"] == 2
    assert result.metrics["placeholder_fraction"] == pytest.approx(2 / 20)
    assert result.metrics["n_possible_placeholder"] == 1
    assert _flagged(result, "placeholder") == {16, 17}
    possible = [f for f in result.findings if f.code == "possible_placeholder"]
    assert possible[0].records == (18,) and possible[0].severity is Severity.INFO


def test_no_input_markers_inconsistent_in_alpaca_input_field() -> None:
    inputs = [""] * 10 + ["<noinput>"] * 3 + ["No input."] * 2 + ["Order #1234"] * 5
    records = [{"instruction": f"Help customer {i}.", "input": x, "output": NORMAL}
               for i, x in enumerate(inputs)]
    data = load_dataset(records)
    result = _run(PlaceholderResponses(), data)
    assert result.metrics["n_no_input_variants"] == 3
    finding = next(f for f in result.findings if f.code == "inconsistent_no_input_markers")
    assert set(finding.records) == set(range(10, 15))
    assert finding.details["majority"] == "(empty)"
    assert finding.details["variants"] == {"(empty)": 10, "<noinput>": 3, "no input.": 2}


def test_no_input_marker_inside_an_alpaca_instruction_counts_as_that_marker() -> None:
    records = [{"instruction": f"Help customer {i}.", "input": "", "output": NORMAL}
               for i in range(8)]
    records[2]["instruction"] = "Help customer 2.\n<noinput>"
    records[5]["input"] = "<noinput>"  # in the prompt too, but counted once, from the input
    result = _run(PlaceholderResponses(), load_dataset(records))
    finding = next(f for f in result.findings if f.code == "inconsistent_no_input_markers")
    assert finding.details["variants"] == {"(empty)": 6, "<noinput>": 2}
    assert set(finding.records) == {2, 5}


def test_no_input_markers_consistent_when_one_spelling() -> None:
    records = [{"instruction": f"Help customer {i}.", "input": "" if i % 2 else f"Order #{i}",
                "output": NORMAL} for i in range(12)]
    result = _run(PlaceholderResponses(), load_dataset(records))
    assert result.metrics["n_no_input_variants"] == 1
    assert not result.findings


def test_no_input_markers_inside_prompts() -> None:
    pairs = [("Summarise.\n\n<noinput>", NORMAL)] * 4 + [("Summarise.\n\n<no input>", NORMAL)]
    result = _run(PlaceholderResponses(), _data(pairs))
    finding = next(f for f in result.findings if f.code == "inconsistent_no_input_markers")
    assert finding.records == (4,)
    assert finding.details["source"] == "prompt"


def test_marker_variant_normalises_spelling() -> None:
    assert marker_variant("  <NoInput>\n") == "<noinput>"
    assert marker_variant("No   Input") == "no input"
    assert marker_variant("   ") == "(empty)"


# -- unavailable_context -------------------------------------------------------------------------

def test_unavailable_context_counts_kinds() -> None:
    pairs = [("Greet.", NORMAL)] * 6 + [
        ("See attached and tell me the total.", "The attached file shows a total of $40."),
        ("What is in this picture?", "I cannot see the image you mention."),
    ]
    result = _run(UnavailableContext(), _data(pairs))
    assert result.metrics["unavailable_context_fraction"] == pytest.approx(2 / 8)
    assert result.metrics["n_missing_context"] == 2
    assert result.metrics["n_pretends_to_see"] == 1
    assert result.metrics["n_admits_missing"] == 1
    assert _flagged(result, "pretends_to_see") == {6}


def test_unless_prompt_suppresses_code_tasks_only() -> None:
    pairs = [("Analyze sales.csv and tell me the best month.", "March."),
             ("Write a pandas script to analyze sales.csv by month.", "df = pd.read_csv(...)")]
    result = _run(UnavailableContext(), _data(pairs))
    assert _flagged(result) == {0}


# -- merged_instructions -------------------------------------------------------------------------

def test_merged_instructions_role_labels_depend_on_the_prompt() -> None:
    reply = "Sure.\nUser: and the refund?\nAssistant: 5 days."
    pairs = [("How long does shipping take?", reply),
             ("Write a chat between a user and an assistant.", reply)]
    result = _run(MergedInstructions(), _data(pairs))
    assert _flagged(result, "leaked_role_label") == {0}
    assert result.metrics["n_leaked_role_label"] == 1


# -- refusals ------------------------------------------------------------------------------------

def test_refusal_position_weighting() -> None:
    answer = ("Reset it from Settings > Security. Choose a long passphrase and store it in a "
              "password manager so you never need to reuse it across sites. ")
    pairs = [("Reset my password?", "I'm sorry, but I cannot help with passwords."),
             ("Reset my password?", answer * 2 + "I'm sorry, but I cannot help further."),
             ("Any risk?", answer * 2 + "This is not medical advice."),
             ("Greet.", NORMAL)]
    result = _run(Refusals(), _data(pairs))
    assert _flagged(result, "refusal") == {0}
    assert _flagged(result, "boilerplate") == {1, 2}
    assert result.metrics["n_refusals"] == 1 and result.metrics["n_boilerplate"] == 2
    # a late refusal scores weight 1.0 x late_factor 0.5; a late advice caveat 0.5 x 0.5
    assert _run(Refusals(min_score=0.5), _data(pairs)).metrics["n_refusals"] == 2
    assert _run(Refusals(min_score=0.5, late_factor=1.0), _data(pairs)).metrics[
        "n_refusals"] == 3
    assert _run(Refusals(lead_chars=0), _data(pairs)).metrics["n_refusals"] == 0
