"""unavailable_context: each kind of missing material, URL-is-data negatives, and the matching core."""

from __future__ import annotations

import re
from typing import Any

import pytest

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Measurement
from checks.integrity._patterns import FIELDS, Pattern, find_hits, load_lexicon
from checks.integrity.instructions import UNAVAILABLE_CONTEXT_LEXICON, UnavailableContext

ANSWER = "Here is my answer."
ARTICLE = "https://www.example-news.com/2024/03/city-budget-vote"
PASSAGE = ("The city council voted on Tuesday to raise the parking fee by one euro an hour. "
           "Shop owners in the old town protested, saying visitors would stay away, while the "
           "mayor argued that the money would pay for two new bus lines and safer crossings near "
           "the schools on the east side of the river.")


def _run(records: list[dict[str, Any]]) -> Measurement:
    data = load_dataset(records)
    return UnavailableContext().run(data, RunContext(data))


def _chat(*prompts: str) -> list[dict[str, Any]]:
    return [{"prompt": p, "response": ANSWER} for p in prompts]


def _missing(result: Measurement) -> dict[int, set[str]]:
    """record -> names of the missing_context patterns that flagged it"""
    out: dict[int, set[str]] = {}
    for finding in result.findings:
        if finding.code == "missing_context":
            for record in finding.records:
                out.setdefault(record, set()).add(str(finding.details["pattern"]))
    return out


# -- each kind is caught -------------------------------------------------------------------------

#: (kind, instruction, Alpaca input, a pattern that must be among those that flag it)
KINDS: list[tuple[str, str, str, str]] = [
    # a summarise/describe/explain-style instruction whose whole input is a bare URL
    ("bare_url", "Summarize this article.", ARTICLE, "bare_url_input"),
    ("bare_url", "Describe the main points in three bullets", "www.example.org/posts/budget",
     "bare_url_input"),
    ("bare_url", "Explain what this page is about.", "example.org/about", "bare_url_input"),
    ("bare_url", "Analyse the tone.", f"<{ARTICLE}>", "bare_url_input"),
    ("bare_url", "What do these pages say about fees?", "- example.org/about\n- www.example.org/fees",
     "bare_url_input"),
    ("bare_url", "Compare these two reports.", f"{ARTICLE}\nhttps://example.org/report-2",
     "bare_url_input"),
    ("bare_url", f"{ARTICLE}\n\nWho voted against the fee?", "", "bare_url_input"),
    ("bare_url", f"Condense into two sentences: {ARTICLE}", "", "link_reference"),
    ("bare_url", f"Critique the essay at {ARTICLE} for me", "", "link_reference"),
    # labelled links
    ("labelled_link", f"Write a short summary of the article.\nLink: {ARTICLE}", "",
     "bare_url_input"),
    ("labelled_link", f"Article link: {ARTICLE}\n\nWhat are the main arguments?", "",
     "bare_url_input"),
    ("labelled_link", "Give me the key facts.", f"Source: {ARTICLE}", "bare_url_input"),
    ("labelled_link", f"URL: {ARTICLE}\nSummarise it in five bullet points.", "",
     "bare_url_input"),
    ("labelled_link", "Write an essay on parking fees using these references:",
     f"[1] {ARTICLE}\n[2] https://example.org/report-2", "bare_url_input"),
    ("labelled_link", f"Sources:\n1. {ARTICLE}\n2. https://example.org/b\nSynthesise them.", "",
     "bare_url_input"),
    # Markdown and HTML media embeds
    ("embed", "What is shown here? ![my kitchen](https://example.com/uploads/kitchen.png)", "",
     "visual_reference"),
    ("embed", "Rate my outfit.", '<img src="https://example.com/u/outfit.jpg">',
     "visual_reference"),
    ("embed", 'What happens in this clip? <video src="https://cdn.example.org/a.mp4" controls>'
              "</video>", "", "visual_reference"),
    ("embed", 'Transcribe: <audio controls src="https://cdn.example.org/memo.m4a"></audio>', "",
     "visual_reference"),
    ("embed", '<video controls><source src="https://cdn.example.org/b.webm"></video> Caption it.',
     "", "visual_reference"),
    # document and spreadsheet share links
    ("share_link", "Please review my resume: https://docs.google.com/document/d/1AbC/edit", "",
     "video_or_audio_link"),
    ("share_link", "Where am I overspending?",
     "https://docs.google.com/spreadsheets/d/1AbC/edit#gid=0", "video_or_audio_link"),
    ("share_link", "Check my drawing https://drive.google.com/file/d/1AbC/view and advise.", "",
     "video_or_audio_link"),
    ("share_link", "Feedback on the deck? https://www.dropbox.com/s/x1y2/deck.pptx?dl=0", "",
     "video_or_audio_link"),
    ("share_link", "Any red flags? https://contoso.sharepoint.com/:w:/g/personal/abc", "",
     "video_or_audio_link"),
    ("share_link", "Budget: https://1drv.ms/x/s!AbCdEf - where can I save?", "",
     "video_or_audio_link"),
    ("share_link", "Grade the essay at https://app.box.com/s/abc123", "", "video_or_audio_link"),
    ("share_link", "Prioritise our roadmap https://www.notion.so/Roadmap-0123abcd", "",
     "video_or_audio_link"),
    ("share_link", "List usability problems: https://www.figma.com/file/AbC/Checkout", "",
     "video_or_audio_link"),
    ("share_link", "Summarise the notes at https://files.example.com/d/abc?usp=sharing", "",
     "video_or_audio_link"),
    ("share_link", "What do you think of https://cloud.example.com/share/9f8e7d?", "",
     "video_or_audio_link"),
    # stand-ins for media never attached
    ("stand_in", "<image>\nWhat is the person holding?", "", "media_tag"),
    ("stand_in", "What's wrong with my plant? <Picture Attached>", "", "media_tag"),
    ("stand_in", "Please transcribe this. <audio file>", "", "media_tag"),
    ("stand_in", "Write alt text for <insert image here>.", "", "media_tag"),
    ("stand_in", "Here's the error: <screenshot of the error message>. How do I fix it?", "",
     "media_tag"),
    ("stand_in", "[Image: a dog on a sofa]\nWhat breed is it?", "", "media_tag"),
    ("stand_in", "<IMAGE_2>\nCount the people.", "", "media_tag"),
    ("stand_in", "Is this mole normal? (photo attached)", "", "media_tag"),
]


@pytest.mark.parametrize(("kind", "instruction", "context", "pattern"), KINDS,
                         ids=[f"{k[0]}-{i}" for i, k in enumerate(KINDS)])
def test_each_kind_is_caught(kind: str, instruction: str, context: str, pattern: str) -> None:
    records = [{"instruction": "Greet the user.", "input": "", "output": ANSWER},
               {"instruction": instruction, "input": context, "output": ANSWER}]
    flagged = _missing(_run(records))
    assert set(flagged) == {1}, kind
    assert pattern in flagged[1], (kind, flagged[1])


def test_instruction_words_that_are_also_code_words_no_longer_exempt() -> None:
    """'class', 'command', 'method', 'JSON' in an everyday instruction are not a code task."""
    prompts = ["When did the Artificer class first appear in D&D?",
               "Where is Stargate Command located?",
               "Give me a json array of the stadiums and the years they opened.",
               "What is the most popular method for training perceptrons today?"]
    records = [{"instruction": p, "input": "https://en.wikipedia.org/wiki/Topic", "output": ANSWER}
               for p in prompts]
    assert set(_missing(_run(records))) == set(range(len(prompts)))


def test_words_inside_a_url_do_not_make_a_code_task() -> None:
    result = _run(_chat("Summarise https://docs.python.org/3/library/functions.html for me",
                        "Write a Python function that summarises a web page."))
    assert set(_missing(result)) == {0}


# -- the URL is the data: not flagged ------------------------------------------------------------

URL_IS_DATA: list[tuple[str, str]] = [
    (f"Extract the domain name from {ARTICLE}.", ""),
    (f"What are the query parameters in {ARTICLE}?utm_source=mail&id=4?", ""),
    (f"Which top-level domain does {ARTICLE} use?", ""),
    (f"Is {ARTICLE} a valid URL?", ""),
    ("Is this link a phishing attempt?", "https://secure-login.example.net/verify/account"),
    (f"Shorten this URL: {ARTICLE}", ""),
    ("URL-encode the following:", f"{ARTICLE}?q=a b"),
    (f"Decode this percent-encoded link: {ARTICLE}%3Fref%3Dhome", ""),
    (f"Rewrite {ARTICLE} to use https.", ""),
    ("List all the links in the text below.",
     f"For details see {ARTICLE} or https://example.org/b. Our docs are at www.example.com/docs."),
    ("How many URLs are in this message?", f"call me or visit {ARTICLE} today"),
    ("Classify these URLs as news, shopping or social.", f"{ARTICLE}\nhttps://shop.example/cart"),
    ("Sort these links alphabetically.", f"{ARTICLE}\nhttps://example.org/a"),
    (f"Write a regular expression that matches URLs like {ARTICLE}.", ""),
    ("Percent-encode the spaces in https://example.org/files/annual report.pdf", ""),
    (f"Make a hyperlink to {ARTICLE} with the text 'click here'.", ""),
    (f"Generate a QR code for {ARTICLE}", ""),
    (f"Format this reference in APA: City News (2024). Budget vote. {ARTICLE}", ""),
    (f"Write a tweet announcing our new website {ARTICLE}.", ""),
    ("Extract the file ID from this Google Drive link: "
     "https://drive.google.com/file/d/1AbC/view?usp=sharing", ""),
    ("Convert the share link https://www.dropbox.com/s/x1y2/a.pdf?dl=0 into a direct download "
     "link.", ""),
]

CODE_TASKS: list[tuple[str, str]] = [
    (f"Write a Python function that downloads {ARTICLE} and counts the words.", ""),
    (f"Create a JavaScript fetch call to {ARTICLE}.", ""),
    ("Write a shell script that downloads the file.",
     "https://docs.google.com/spreadsheets/d/1AbC/export?format=csv"),
    ("Convert this Markdown to HTML: ![diagram](https://example.com/d.png)", ""),
    ('Fix the alt text in this HTML: <img src="https://example.com/logo.png">', ""),
    ("What does the <video> tag do?", ""),
    ("Write a code snippet that resizes <image> inputs to 224x224.", ""),
]

MATERIAL_PRESENT: list[tuple[str, str]] = [
    ("Summarize the article.", f"Source: {ARTICLE}\n\n{PASSAGE}"),
    (f"{PASSAGE} Source: {ARTICLE}\n\nWhat did the shop owners say?", ""),
    ("Classify the sentiment of the tweet.", f"Loving the new bus line, well done! {ARTICLE}"),
    (f'Rewrite this sentence: "Visit our store at {ARTICLE} for half-price shoes."', ""),
]

PLAIN: list[tuple[str, str]] = [
    ("What is a URL shortener and why are they used?", ""),
    ("How do I attach a file to an email in Outlook?", ""),
    ("Why do broken links hurt SEO?", ""),
    ("Suggest five names for a photo-sharing app.", ""),
    ("When is the site www.example.com going to open?", ""),
    ("What about self-hosted media servers like Jellyfin? https://jellyfin.org/", ""),
    ("Tom buys the video game for $30 and a picture frame for $12. How much?", ""),
]


@pytest.mark.parametrize(("group", "instruction", "context"),
                         [("url_is_data", *c) for c in URL_IS_DATA]
                         + [("code_task", *c) for c in CODE_TASKS]
                         + [("material", *c) for c in MATERIAL_PRESENT]
                         + [("plain", *c) for c in PLAIN])
def test_url_is_data_code_and_material_are_not_flagged(group: str, instruction: str,
                                                       context: str) -> None:
    records = [{"instruction": instruction, "input": context, "output": ANSWER}]
    assert not _missing(_run(records)), group


def test_the_same_urls_are_flagged_without_the_exemption() -> None:
    """The negatives above are exempt because of what the prompt asks, not because their URLs
    escape the patterns: the same links with a reading task are flagged."""
    records = [{"instruction": "Summarise what this says.", "input": url, "output": ANSWER}
               for url in (ARTICLE, "https://drive.google.com/file/d/1AbC/view?usp=sharing",
                           "https://secure-login.example.net/verify/account")]
    assert set(_missing(_run(records))) == {0, 1, 2}


# -- the core: vectorised prefilters keep the results of plain Python matching -------------------

def _reference_hits(prompts: list[str], patterns: tuple[Pattern, ...]) -> set[tuple[int, str]]:
    out = set()
    for position, prompt in enumerate(prompts):
        for pattern in patterns:
            if pattern.field != "prompt" or not pattern.compiled.search(prompt):
                continue
            if pattern.unless_prompt and re.search(pattern.unless_prompt, prompt, re.IGNORECASE):
                continue
            out.add((position, pattern.name))
    return out


def test_find_hits_equals_plain_python_matching() -> None:
    """Per-pattern RE2 passes and the RE2 pass over `unless_prompt` only skip work: the hits are
    those of searching every prompt with every pattern in Python."""
    prompts = ([i + ("\n\n" + c if c else "") for _, i, c, _ in KINDS]
               + [i + ("\n\n" + c if c else "")
                  for i, c in URL_IS_DATA + CODE_TASKS + MATERIAL_PRESENT + PLAIN]
               + ["Analyze sales.csv and tell me the best month.", "Describe the image below.",
                  "Summarize the following article.", "Greet the user."])
    patterns = load_lexicon(UNAVAILABLE_CONTEXT_LEXICON)
    data = load_dataset(_chat(*prompts))
    hits = {(h.position, h.pattern.name) for h in find_hits(data, patterns) if h.pattern.field
            == "prompt"}
    assert hits == _reference_hits(prompts, patterns)
    assert {p for p, _ in hits} >= set(range(len(KINDS)))  # every positive, by some pattern


def test_first_pass_alternation_stays_fast() -> None:
    """Counted repetitions ('{0,200}') in one pattern can blow up RE2's DFA for the joined
    alternation (100x slower); the joined first pass must stay close to one pattern's."""
    import time

    import pyarrow as pa

    from checks.integrity._patterns import combined_regex, match_mask

    patterns = [p for p in load_lexicon(UNAVAILABLE_CONTEXT_LEXICON) if p.field == "prompt"]
    words = "the council voted to raise the fee while shop owners protested in the old town"
    column = pa.chunked_array([pa.array([f"{words} {i}" * 8 for i in range(50_000)])])
    started = time.perf_counter()
    match_mask(column, combined_regex(patterns))
    assert time.perf_counter() - started < 1.0


def test_unless_list_is_kept_as_parts_and_as_one_regex() -> None:
    patterns = {p.name: p for p in load_lexicon(UNAVAILABLE_CONTEXT_LEXICON)}
    link = patterns["link_reference"]
    assert len(link.unless_parts) == 5
    assert link.unless_prompt == "|".join(f"(?:{part})" for part in link.unless_parts)
    assert patterns["file_name"].unless_parts == ()  # a single name stays a plain regex
    assert patterns["file_name"].unless_prompt


def test_a_pattern_built_in_code_with_a_plain_unless_still_works() -> None:
    pattern = Pattern(name="p", kind="k", field="prompt", regex=r"\bneedle\b",
                      unless_prompt=r"\bhaystack\b")
    other = Pattern(name="q", kind="k", field="prompt", regex=r"\bthread\b")
    data = load_dataset(_chat("a needle", "a needle in a haystack", "a thread", "nothing"))
    hits = find_hits(data, [pattern, other])
    assert [(h.position, h.pattern.name) for h in hits] == [(0, "p"), (2, "q")]
    assert FIELDS[0] == "prompt"
