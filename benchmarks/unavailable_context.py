"""unavailable_context: precision and recall on generated and real prompts, development vs held out.

    python -m benchmarks.unavailable_context [--quick] [--show dev|held_out|real] [--lexicon PATH]

The check `unavailable_context` (checks/instruction_patterns.py) flags prompts that depend on
something the model will not see. Only its prompt-side findings (kind `missing_context`) are
scored here. Three evaluation sets:

1. Generated (project-authored): templated prompts per KIND of missing material (a bare URL as
   the whole input, labelled links, Markdown/HTML media embeds, document share links,
   stand-ins for media never attached) and hard negatives (the URL is the data: extract,
   validate, rewrite, classify, list links; code tasks; records that carry the material; plain
   prompts that merely say "link" or "image"). Two template sets with their own wording and
   URL vocabularies: DEVELOPMENT (the lexicon was tuned on it) and HELD_OUT (written before
   the tuning started and only scored in aggregate while tuning; never read for misses).
2. Real instructions, material swapped for a link: Dolly records with a passage in `input`
   (closed_qa, information_extraction, summarization) whose passage is replaced by a link to
   it. Even record ids with DEVELOPMENT renderings, odd ids with HELD_OUT renderings. Every such
   record needs content the model will not see, so only recall is measured.
3. Real data (../shared/datasets, read at run time): every record whose prompt contains a URL,
   a domain, a media or link word, or that the check flags, was read by hand; verdicts with a
   reason are in REAL_VERDICTS / REAL_NEGATIVE_GROUPS below. A candidate without a verdict is
   reported as unreviewed (never counted as right). Development datasets were read while the
   lexicon was tuned; held-out datasets (gsm8k, oasst_lottery_prompts) were labelled only
   after it was final.

Speed: the check alone on N (100k, --quick 20k) generated Alpaca records
(`benchmarks.generate.instruction_records`, as in benchmarks/instruction_defects.py), and on
the same records with 5% of prompts replaced by generated URL/media prompts (so the Python
second pass has work), median of 5 runs.

`--lexicon PATH` scores another version of the lexicon file (e.g. an older one from git) the
same way, for before/after comparisons.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import markdown_table, shared_datasets_dir, write_results

SEED = 20261204
#: the lexicon before the issue-22 rework (for the before/after table; read with `git show`)
BASELINE_COMMIT = "0c2d9a8371b57d86b38a9bf42e22582e1f823985"
#: where the lexicon lived at BASELINE_COMMIT (it is in checks/integrity/lexicons/ now)
LEXICON_PATH = "checks/lexicons/instruction_unavailable_context.toml"
#: the held-out sets were first scored when the lexicon was thought final; three changes
#: prompted by new development cases (tests) followed: a list of two or more bare links counts
#: as a bare-URL input, 'the site www.x.com' needs a link with a path, and stand-in tags are
#: not counted in code tasks. The held-out misses were not read before those changes.
FIRST_HELD_OUT = ("First held-out scoring (before the last three development-driven changes, "
                  "see FIRST_HELD_OUT in the module): generated P 0.896 / R 0.938, swapped-link "
                  "R 0.995, real held-out 0 false flags of 86 candidates.")
#: what the held-out sets got wrong, read after the last change (not tuned on)
HELD_OUT_ERRORS = (
    "Held-out errors, read after the last lexicon change and left as they are: labelled links "
    "missed when the instruction says 'explain the method' (read as a code task) or the label "
    "is not a content noun ('Link to piece:') with a scheme-less URL; false flags for "
    "'Does <url> use a secure protocol?', 'Turn <url> into a Markdown hyperlink', 'What's the "
    "hostname in nytimes.com/...' (scheme-less URL), 'Write the markdown for an image pointing "
    "to <url>' and 'Describe the image of the city that Dickens paints' (an older rule); one "
    "swapped-link miss where the question names a programming language (code-task exemption).")
#: measured by hand before the rework, with the matching core (checks/_patterns.py) of that time
SPEED_NOTE = (
    "Before the rework (lexicon and matching core of 0c2d9a8, same machine, 100k records): "
    "0.078-0.080 s on the generated records, 0.206 s with 5% URL/media prompts. The matching "
    "core now runs each pattern's first pass and each `unless_prompt` regex through RE2 over "
    "the matched rows only, so Python's `re` works on (row, pattern) pairs that may match. "
    "The machine is shared (2 cores): repeated runs vary by up to about 40%; interleaved runs "
    "of both lexicons gave 0.080 vs 0.083 s (generated) and 0.108 vs 0.247 s (5% URL/media) "
    "at their fastest.")
FILLS_PER_TEMPLATE = 6
NEUTRAL_OUTPUT = "Here is my answer."

POSITIVE_KINDS = ("bare_url", "labelled_link", "media_embed", "share_link", "media_stand_in")
NEGATIVE_KINDS = ("url_is_data", "code_task", "has_material", "plain")


@dataclass(frozen=True)
class Case:
    """One generated or real prompt with its label."""

    instruction: str
    input: str
    positive: bool
    kind: str
    source: str  # template id or dataset:record

    @property
    def prompt(self) -> str:
        return self.instruction + ("\n\n" + self.input if self.input.strip() else "")


@dataclass(frozen=True)
class Vocabulary:
    """The fillers of one template set (development and held-out sets do not share them)."""

    topics: tuple[str, ...]
    urls: tuple[str, ...]
    images: tuple[str, ...]
    media: tuple[str, ...]  # audio and video files
    shares: tuple[str, ...]
    questions: tuple[str, ...]
    alts: tuple[str, ...]
    passages: tuple[str, ...]


# -- HELD-OUT templates (written first, before any tuning; do not tune on them) -------------------

HELD_OUT_VOCAB = Vocabulary(
    topics=("urban beekeeping", "the Apollo 13 mission", "inflation in Argentina",
            "minimum wage laws", "deep-sea mining", "the history of jazz"),
    urls=("https://www.bbc.co.uk/news/science-environment-{n}",
          "https://arxiv.org/abs/2301.{n}",
          "nytimes.com/2022/11/03/business/{slug}.html",
          "https://{word}.substack.com/p/{slug}",
          "http://www.example.net/index.php?page=article&id={n}",
          "https://www.reddit.com/r/science/comments/{id}/{slug}/"),
    images=("https://pbs.twimg.com/media/{ID}?format=jpg&name=large",
            "https://upload.wikimedia.org/wikipedia/commons/a/ab/{Title}.JPG",
            "https://images.example.net/{id}.webp"),
    media=("https://files.example.net/{id}.mov", "https://media.example.net/{slug}.wav",
           "https://example.net/v/{id}.webm"),
    shares=("https://contoso.sharepoint.com/:p:/g/personal/{id}",
            "https://1drv.ms/x/s!{ID}",
            "https://www.figma.com/file/{ID}/{Title}",
            "https://www.notion.so/{Title}-{hex}",
            "https://app.box.com/s/{id}",
            "https://docs.google.com/presentation/d/{ID}/present",
            "https://airtable.com/shr{ID}",
            "https://www.canva.com/design/{ID}/view",
            "https://onedrive.live.com/redir?resid={ID}&authkey=!{id}"),
    questions=("Does the writer support the policy?", "What numbers are reported?",
               "Which people are interviewed?", "Is the conclusion convincing?"),
    alts=("dog", "leaf photo", "sales chart", "whiteboard notes"),
    passages=(
        "Beekeepers in several European capitals now keep hives on office roofs. City bees "
        "forage on a wider mix of flowers than farm bees, and their honey often wins regional "
        "prizes, although critics warn that too many hives can crowd out wild pollinators that "
        "depend on the same limited patches of green space.",
        "The mission was launched in April 1970. Two days later an oxygen tank failed, and the "
        "crew used the lunar module as a lifeboat while engineers on the ground improvised a "
        "way to remove carbon dioxide from the cabin air, bringing all three astronauts safely "
        "home after a tense loop around the Moon."),
)

HELD_OUT_POSITIVES: dict[str, tuple[tuple[str, str], ...]] = {
    "bare_url": (
        ("Recap this for me", "{url}"),
        ("Give me the TL;DR.", "{url}"),
        ("What's the gist of this piece?", "{url}"),
        ("Break down the argument made here, point by point.", "{url}"),
        ("Critique the essay at {url}", ""),
        ("{url}\nWhat are the three main takeaways?", ""),
        ("Condense into two sentences: {url}", ""),
        ("Please go through {url} and tell me whether the author is biased.", ""),
        ("Is the reasoning in this op-ed sound?", "{url}"),
        ("Pull out every statistic that is cited.", "{url}"),
    ),
    "labelled_link": (
        ("Reference: {url}\nIn your own words, what does the author claim?", ""),
        ("Sources:\n- {url}\n- {url2}\nSynthesize these into a short literature review.", ""),
        ("Article URL - {url}\n\nList the key facts.", ""),
        ("Here is the webpage url: {url}. Extract the prices it lists.", ""),
        ("Paper: {url}\nExplain the method to a high-school student.", ""),
        ("Write a short report on {topic} drawing on:\n[1] {url}\n[2] {url2}", ""),
        ("Answer from the linked piece only.", "Link to piece: {url}\nQ: {question}"),
        ("Read it here: {url}\n\n{question}", ""),
    ),
    "media_embed": (
        ("![]({image})\nWhat breed is this?", ""),
        ('<img alt="chart" src="{image}" width="400"/>\nWhat trend does the chart show?', ""),
        ('Caption this: <video controls><source src="{media}" type="video/mp4"></video>', ""),
        ('<audio controls src="{media}"></audio> Who is speaking, and in what language?', ""),
        ('Identify the plant: ![{alt}]({image} "leaf")', ""),
        ("Rate my outfit from 1 to 10.", '<img src="{image}">'),
    ),
    "share_link": (
        ("Can you give feedback on my slides? {share}", ""),
        ("My budget is in {share} - where am I overspending?", ""),
        ("Look over the wireframes and list usability problems: {share}", ""),
        ("Here's the page with our roadmap {share}, prioritise it for Q3.", ""),
        ("The contract is at {share}. Any red flags?", ""),
        ("Grade this essay out of 20.", "{share}"),
        ("{share}\nIs the poster readable from a distance?", ""),
    ),
    "media_stand_in": (
        ("<photo of my rash> Is this eczema?", ""),
        ("Here is my receipt <attached image>. Can you total it?", ""),
        ("[Screenshot]\nWhy does my app crash on launch?", ""),
        ("<IMAGE_1>\nCount the people in the picture.", ""),
        ("Summarise this voice memo for me: <voice note>", ""),
        ("<insert chart here>\nWhat does the chart tell us about Q3 sales?", ""),
        ("What song is this? <audio clip attached>", ""),
        ("Translate the sign in this photo [photo]", ""),
        ("<Video>\nDescribe what happens after the goal.", ""),
    ),
}

HELD_OUT_NEGATIVES: dict[str, tuple[tuple[str, str], ...]] = {
    "url_is_data": (
        ("What's the hostname in {url}?", ""),
        ("Pull the UTM parameters out of this link.", "{url}?utm_source=news&utm_medium=email"),
        ("Decode this percent-encoded link: {url}%20%3Fref%3Dhome", ""),
        ("Is this link a phishing attempt? {url}", ""),
        ("Turn {url} into a Markdown hyperlink with the text 'docs'.", ""),
        ("Count how many URLs appear in the following paragraph.",
         "Our shop is at {url}, the blog lives at {url2} and support is reachable via email."),
        ("Sort these links alphabetically.", "{url}\n{url2}"),
        ("Does {url} use a secure protocol?", ""),
        ("Convert the share link {share} into a direct download link.", ""),
        ("Write a tweet announcing our new website {url}.", ""),
        ("Write a tweet announcing our new website.", "{url}"),
    ),
    "code_task": (
        ("Using requests, write a script that pings {url} every minute.", ""),
        ("In Node, scrape the headlines from {url}.", ""),
        ("Write the markdown for an image pointing to {image}.", ""),
        ('Explain what this HTML does: <video src="{media}" controls></video>', ""),
        ("Write a bash one-liner with curl that saves {share} to disk.", ""),
    ),
    "has_material": (
        ("{passage}\n\nRead more: {url}\n\nSummarise the passage above.", ""),
        ("Summarise the article below.", "Link: {url}\n\n{passage}"),
        ("What happened to the crew?", "{passage}\nSource: {url}"),
    ),
    "plain": (
        ("Why do broken links hurt SEO?", ""),
        ("Describe the image of the city that Dickens paints in Bleak House.", ""),
        ("Suggest five names for a photo-sharing app.", ""),
        ("How do I attach a file to an email in Outlook?", ""),
        ("What is a URL shortener and why are they used?", ""),
    ),
}


# -- DEVELOPMENT templates (the lexicon was tuned on these) -----------------------------------------

DEV_VOCAB = Vocabulary(
    topics=("the 2008 financial crisis", "remote work", "coral reef bleaching", "electric cars",
            "the Roman Empire", "sleep and memory"),
    urls=("https://www.example-news.com/2023/05/{slug}",
          "https://en.wikipedia.org/wiki/{Title}",
          "http://blog.example.org/posts/{slug}",
          "www.example.com/articles/{slug}",
          "https://medium.com/@writer/{slug}-3f2a9c",
          "https://www.theguardian.com/world/2021/mar/02/{slug}"),
    images=("https://i.imgur.com/{id}.jpg", "https://example.com/uploads/{slug}.png",
            "http://cdn.example.org/img/{id}.jpeg"),
    media=("https://example.com/media/{slug}.mp3", "https://cdn.example.org/{id}.mp4"),
    shares=("https://docs.google.com/document/d/{ID}/edit?usp=sharing",
            "https://docs.google.com/spreadsheets/d/{ID}/edit#gid=0",
            "https://drive.google.com/file/d/{ID}/view?usp=sharing",
            "https://www.dropbox.com/s/{id}/{slug}.pdf?dl=0",
            "https://drive.google.com/drive/folders/{ID}"),
    questions=("What is the author's main argument?", "Which year is mentioned most?",
               "Who is quoted in it?"),
    alts=("cat", "screenshot", "my kitchen", "diagram"),
    passages=(
        "Coral reefs cover less than one percent of the ocean floor but shelter about a quarter "
        "of all marine species. When water stays too warm for weeks, corals expel the algae that "
        "feed them and turn white; if temperatures fall quickly they can recover, otherwise large "
        "parts of the reef die within a season.",
        "Remote work spread quickly in 2020. Surveys since then suggest most employees want to "
        "keep at least two days at home, while managers worry about mentoring and team culture; "
        "several large firms now require three office days a week, and some tie promotions to "
        "attendance records kept by badge systems."),
)

DEV_POSITIVES: dict[str, tuple[tuple[str, str], ...]] = {
    "bare_url": (
        ("Summarize this article.", "{url}"),
        ("Summarise the following:", "{url}"),
        ("Describe the main points in three bullet points.", "{url}"),
        ("Explain what this page is about", "{url}"),
        ("Analyze the tone of the text.", "{url}"),
        ("{url}\n\n{question}", ""),
        ("Give me a summary of {url}", ""),
        ("Can you explain what this page says?\n{url}", ""),
        ("What is the author's opinion on {topic}?", "{url}"),
        ("Write a short review of the blog post.", "  {url}  "),
        ("Translate this into French.", "{url}"),
    ),
    "labelled_link": (
        ("Write a short summary of the article.\nLink: {url}", ""),
        ("Answer the question using the source below.\nSource: {url}\nQuestion: {question}", ""),
        ("URL: {url}\nSummarize the content in five bullet points.", ""),
        ("Article link: {url}\n\nWhat are the main arguments?", ""),
        ("Compare the two reports.\n1. {url}\n2. {url2}", ""),
        ("Write an essay on {topic} using these references:\n[1] {url}\n[2] {url2}\n[3] {url3}",
         ""),
        ("Give me the key facts.", "Source: {url}"),
    ),
    "media_embed": (
        ("What is shown here? ![{alt}]({image})", ""),
        ("Describe this picture:", '<img src="{image}">'),
        ("Write a caption for this photo.\n\n![{alt}]({image})", ""),
        ('Transcribe the audio: <audio src="{media}"></audio>', ""),
        ('What happens in this clip? <video src="{media}" controls></video>', ""),
    ),
    "share_link": (
        ("Please review my resume: {share}", ""),
        ("Summarize the data in this spreadsheet {share}", ""),
        ("Here is the deck: {share} - give me feedback.", ""),
        ("Check my drawing at {share} and tell me what to improve.", ""),
        ("Proofread the draft.", "{share}"),
    ),
    "media_stand_in": (
        ("<image>\nWhat is the person holding?", ""),
        ("What's wrong with my plant? <Picture Attached>", ""),
        ("Please transcribe this. <audio file>", ""),
        ("Write alt text for <insert image here>.", ""),
        ("Here's the error: <screenshot of the error message>. How do I fix it?", ""),
        ("[Image: {alt}]\nDescribe the mood of this image.", ""),
        ("What does this graph show? [chart]", ""),
    ),
}

DEV_NEGATIVES: dict[str, tuple[tuple[str, str], ...]] = {
    "url_is_data": (
        ("Extract the domain name from {url}.", ""),
        ("What are the query parameters in {url}?", ""),
        ("Is {url} a valid URL?", ""),
        ("Shorten this URL: {url}", ""),
        ("URL-encode the following:", "{url}"),
        ("List all the links in the text below.",
         "For details see {url} or {url2}. Our docs are at {url3}."),
        ("Classify these URLs as news, shopping or social.", "{url}\n{url2}"),
        ("Rewrite {url} to use https.", ""),
        ("Which top-level domain does {url} use?", ""),
        ("Find the URLs in this message: call me or visit {url} today", ""),
        ("Write an Instagram post inviting followers to check out {url}.", ""),
        ("Extract the file ID from this Google Drive link: {share}", ""),
    ),
    "code_task": (
        ("Write a Python function that downloads {url} and counts the words.", ""),
        ("Create a JavaScript fetch call to {url}.", ""),
        ("Convert this Markdown to HTML: ![{alt}]({image})", ""),
        ('Fix the alt text in this HTML: <img src="{image}">', ""),
        ("Write a shell script that downloads the file.", "{share}"),
    ),
    "has_material": (
        ("Summarize the article.\nSource: {url}", "{passage}"),
        ("{passage}\n\nSource: {url}", ""),
        ("Answer using the paragraph below. Link: {url}", "{passage}"),
    ),
    "plain": (
        ("Explain how a blockchain links blocks together.", ""),
        ("What makes a good profile picture?", ""),
        ("Write a poem about an old photograph.", ""),
        ("Describe a sunset over the sea.", ""),
    ),
}

TEMPLATE_SETS: dict[str, tuple[Vocabulary, dict[str, tuple[tuple[str, str], ...]],
                               dict[str, tuple[tuple[str, str], ...]]]] = {
    "development": (DEV_VOCAB, DEV_POSITIVES, DEV_NEGATIVES),
    "held_out": (HELD_OUT_VOCAB, HELD_OUT_POSITIVES, HELD_OUT_NEGATIVES),
}

_SLOT = re.compile(r"\{(\w+)\}")


def _slug(topic: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")


def _filler(vocab: Vocabulary, rng: np.random.Generator) -> Callable[[str], str]:
    """A slot filler: URL shapes get their own {slug}/{id}/... filled from `rng`."""
    topic = str(rng.choice(vocab.topics))

    def atom(name: str) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        if name == "n":
            return str(int(rng.integers(10_000, 99_999)))
        if name in ("id", "ID", "hex"):
            size = {"id": 12, "ID": 28, "hex": 32}[name]
            chars = "0123456789abcdef" if name == "hex" else alphabet + (
                alphabet.upper() if name == "ID" else "")
            return "".join(rng.choice(list(chars), size))
        if name == "slug":
            return _slug(str(rng.choice(vocab.topics)))
        if name == "Title":
            return str(rng.choice(vocab.topics)).title().replace(" ", "_")
        if name == "word":
            return _slug(str(rng.choice(vocab.topics))).split("-")[-1]
        raise KeyError(name)

    def shape(choices: tuple[str, ...]) -> str:
        return _SLOT.sub(lambda m: atom(m.group(1)), str(rng.choice(choices)))

    def fill(text: str) -> str:
        values: dict[str, Callable[[], str]] = {
            "url": lambda: shape(vocab.urls), "url2": lambda: shape(vocab.urls),
            "url3": lambda: shape(vocab.urls), "image": lambda: shape(vocab.images),
            "media": lambda: shape(vocab.media), "share": lambda: shape(vocab.shares),
            "topic": lambda: topic, "question": lambda: str(rng.choice(vocab.questions)),
            "alt": lambda: str(rng.choice(vocab.alts)),
            "passage": lambda: str(rng.choice(vocab.passages)),
        }
        return _SLOT.sub(lambda m: values[m.group(1)](), text)

    return fill


def generated_cases(split: str) -> list[Case]:
    """The templated cases of one split, FILLS_PER_TEMPLATE fillings each (deterministic)."""
    vocab, positives, negatives = TEMPLATE_SETS[split]
    rng = np.random.default_rng([SEED, len(split)])
    cases: list[Case] = []
    for positive, table in ((True, positives), (False, negatives)):
        for kind, templates in table.items():
            for t, (instruction, context) in enumerate(templates):
                seen: set[tuple[str, str]] = set()
                for _ in range(FILLS_PER_TEMPLATE):
                    fill = _filler(vocab, rng)
                    pair = (fill(instruction), fill(context))
                    if pair in seen:
                        continue
                    seen.add(pair)
                    cases.append(Case(pair[0], pair[1], positive, kind, f"{split}:{kind}:{t}"))
    return cases


# -- real instructions with the material swapped for a link ------------------------------------------

#: how the link replaces the passage: development renderings (even ids), held-out (odd ids)
SWAP_RENDERINGS: dict[str, tuple[str, ...]] = {
    "development": ("https://en.wikipedia.org/wiki/{Title}", "Source: https://en.wikipedia.org/wiki/{Title}",
                    "https://docs.google.com/document/d/{ID}/edit?usp=sharing",
                    "www.{slug}.com/about"),
    "held_out": ("https://en.m.wikipedia.org/wiki/{Title}", "Read here: https://www.britannica.com/topic/{slug}",
                 "https://1drv.ms/w/s!{ID}", "Link - https://web.archive.org/web/2019/https://{slug}.org/",
                 "<https://simple.wikipedia.org/wiki/{Title}>"),
}
SWAP_CATEGORIES = ("closed_qa", "information_extraction", "summarization")


def _subject(passage: str) -> str:
    """A Wikipedia-like title from the passage's leading capitalised words."""
    words = []
    for word in re.findall(r"[\w'’.-]+", passage)[:6]:
        if not word[:1].isupper():
            break
        words.append(word.strip(".,"))
    return "_".join(words) or "Article"


def swapped_cases(root: Path) -> dict[str, list[Case]]:
    """Dolly records with an input passage, the passage replaced by a link (all positives)."""
    records = json.loads((root / "dolly_alpagasus_filtered_3k" / "dolly_3k.json").read_text(
        encoding="utf-8"))
    out: dict[str, list[Case]] = {"development": [], "held_out": []}
    for i, record in enumerate(records):
        if record.get("category") not in SWAP_CATEGORIES or not record["input"].strip():
            continue
        split = "development" if i % 2 == 0 else "held_out"
        renderings = SWAP_RENDERINGS[split]
        title = _subject(record["input"])
        ident = f"{i:06d}x{len(title):02d}"
        link = renderings[(i // 2) % len(renderings)].format(
            Title=title, slug=_slug(title.replace("_", " ")) or "article", ID="1Ab" + ident)
        out[split].append(Case(record["instruction"], link, True, "swapped_link",
                               f"dolly_3k:{i}"))
    return out


# -- real data: candidates and hand verdicts ---------------------------------------------------------

REAL_DEV = ("dolly_3k", "code_alpaca_2k", "new_codealpaca", "self_instruct", "oasst_pairs")
REAL_HELD_OUT = ("gsm8k", "oasst_lottery_prompts")

#: a prompt with any of these was read by hand (plus every record the check flags)
CANDIDATE = re.compile(
    r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io|edu|gov|co|ly|gl)\b|<\s*/?\s*(?:img|image|"
    r"picture|photo|video|audio|screenshot|attachment)|!\[|\[\s*(?:image|photo|picture|"
    r"screenshot|video)|\b(?:images?|pictures?|photos?|screenshots?|videos?|audio|attached|"
    r"attachments?|links?|urls?)\b", re.IGNORECASE)

#: dataset -> record id -> (needs content the model will not see?, reason), read in full
REAL_VERDICTS: dict[str, dict[int, tuple[bool, str]]] = {
    "dolly_3k": {
        1427: (True, "the prompt is a Wikipedia URL followed by a question about the player's "
                     "goals for Sevilla: the page is not in the record"),
    },
    "code_alpaca_2k": {
        215: (True, "'output of the following Ruby code snippet.' with an empty input: no code"),
        745: (False, "'the following code' is quoted inside the input of a classification task"),
        1508: (False, "'Reserve the following table of 3x2 dimension in C.': nothing needs to "
                      "follow"),
        1973: (True, "'send an HTTP GET request to the following URL.' and no URL follows"),
    },
}

_CODE_ALPACA_CODE = (162, 220, 226, 248, 277, 327, 331, 338, 400, 404, 494, 767, 772, 781, 898,
                     1167, 1179, 1229, 1496, 1503, 1510, 1525, 1607, 1936, 1980)
_NEW_CODEALPACA_CODE = (
    23, 53, 84, 94, 109, 132, 196, 270, 281, 283, 294, 325, 327, 338, 351, 373, 379, 407, 470,
    473, 487, 507, 508, 516, 517, 526, 532, 543, 602, 611, 656, 663, 694, 711, 748, 753, 818, 821,
    829, 837, 853, 856, 911, 918, 933, 935, 937, 976, 1020, 1038, 1040, 1066, 1068, 1071, 1100,
    1118, 1134, 1137, 1179, 1195, 1220, 1244, 1246, 1249, 1255, 1266, 1301, 1315, 1317, 1339, 1351,
    1362, 1381, 1389, 1404, 1407, 1486, 1504, 1516, 1524, 1526, 1542, 1652, 1688, 1691, 1700, 1710,
    1716, 1728, 1733, 1735, 1747, 1786, 1824, 1834, 1840, 1855, 1882, 1905, 1908, 1919, 1923, 1939,
    1951, 1971, 2033, 2082, 2090, 2198, 2214, 2218, 2220, 2244, 2312, 2343, 2388, 2424, 2519, 2552,
    2584, 2629, 2701, 2721, 2734, 2740, 2778, 2782, 2793, 2812, 2818, 2826, 2837, 2840, 2897, 2913,
    2932, 3019, 3050, 3108, 3136, 3163, 3213, 3276, 3302, 3315, 3329, 3349, 3394, 3438, 3479, 3554,
    3593, 3651, 3661, 3705, 3718, 3748, 3755, 3757, 3809, 3814, 3875, 3882, 3888, 3895, 3952, 3969,
    3973, 4028, 4059, 4080, 4134, 4149, 4152, 4172, 4180, 4259, 4272, 4390, 4484, 4518, 4533)

#: dataset -> [(reason, record ids)]: candidates read and judged not to need missing content
REAL_NEGATIVE_GROUPS: dict[str, list[tuple[str, tuple[int, ...]]]] = {
    "dolly_3k": [
        ("the passage is in the input; the URL, 'video', 'image' or 'link' is part of it or of "
         "the question about it",
         (86, 177, 178, 259, 343, 428, 432, 870, 917, 989, 1070, 1230, 1293, 1354, 1386, 1411,
          1476, 1506, 1610, 1667, 1881, 2055, 2150, 2311, 2460, 2483, 2543, 2549, 2591, 2594,
          2603, 2604, 2730, 2802, 2813, 2842, 2860, 2981)),
        ("a general question that only names media ('recording a podcast', 'youtube videos', "
         "the film 'Dirty Picture', the character Link)", (1562, 2491, 2978)),
    ],
    "code_alpaca_2k": [
        ("code task: the URL, link, photo or e-mail address is something the code handles",
         _CODE_ALPACA_CODE),
    ],
    "new_codealpaca": [
        ("code task: the URL, e-mail address or file name is input to the code (fetch, "
         "download, parse, validate)", _NEW_CODEALPACA_CODE),
    ],
    "self_instruct": [
        ("the material is in the input (a citation, an e-mail, facts, reviews, two questions, "
         "a described photo or video topic); 'link' as a verb in entity linking",
         (26, 74, 166, 178, 237, 240, 241, 242, 243, 255, 265, 266, 366)),
        ("asks the model to produce links (StackOverflow questions, LaTeX templates, "
         "playlists, docs), not to read any", (186, 189, 216, 218)),
        ("markup task: the HTML for adding an image", (417,)),
    ],
    "oasst_pairs": [
        ("'picture it in your head' is a figure of speech", (265, 266, 269)),
        ("symbolic links on the Linux command line", (319, 320, 321, 326, 327)),
        ("the abstract and introduction are pasted into the prompt", (350, 351, 352)),
        ("the link is the homepage of a product the question names (Jellyfin); the question "
         "is answerable without opening it", (375, 376, 377)),
        ("asks for a GitHub link", (411, 412)),
        ("writing tasks about YouTube (SEO text, a video script)", (422, 423, 655, 656, 657)),
        ("code in a fenced block (a URL in a comment)", (452, 455)),
        ("the list of meanings is in the prompt", (464, 465, 466)),
    ],
    # held out: labelled after the lexicon was final
    "gsm8k": [
        ("math word problem: the photos, pictures, videos, video games or (sausage, chain-) "
         "links are things counted in the problem, not material to see",
         (31, 112, 162, 253, 456, 504, 578, 1037, 1050, 1365, 1382, 1418, 1481, 1521, 1560,
          1644, 1821, 1869, 1903, 1924, 2124, 2237, 2362, 2366, 2453, 2510, 2643, 2667, 2846,
          2997, 3030, 3166, 3479, 3505, 3507, 3659, 3938, 4069, 4107, 4122, 4208, 4215, 4225,
          4247, 4267, 4380, 4383, 4412, 4432, 4508, 4531, 5231, 5240, 5260, 5266, 5328, 5332,
          5520, 5523, 5613, 5782, 5785, 5800, 6254, 6357, 6372, 6510, 6530, 6589, 6754, 6755,
          6798, 6861, 6914, 6932, 6943, 7271, 7441)),
    ],
    "oasst_lottery_prompts": [
        ("a general question or a writing/coding request that mentions images, video games, "
         "'attached' or 'attachment' (the feeling)", (52, 87, 111, 116, 151, 204, 238, 245)),
    ],
}


def real_verdict(dataset: str, record: int) -> tuple[bool, str] | None:
    verdict = REAL_VERDICTS.get(dataset, {}).get(record)
    if verdict is not None:
        return verdict
    for reason, ids in REAL_NEGATIVE_GROUPS.get(dataset, []):
        if record in ids:
            return False, reason
    return None


def real_records(root: Path) -> dict[str, list[dict[str, Any]]]:
    from benchmarks.instruction_defects import real_datasets

    every = real_datasets(root)
    return {name: every[name] for name in (*REAL_DEV, *REAL_HELD_OUT)}


def _record_prompt(record: dict[str, Any]) -> str:
    if "instruction" in record:
        context = record.get("input", "") or ""
        return record["instruction"] + ("\n\n" + context if context.strip() else "")
    return str(record.get("prompt", record.get("text", "")))


# -- scoring ----------------------------------------------------------------------------------------

def flagged_positions(records: Sequence[dict[str, Any]]) -> set[int]:
    """Positions of the records with a `missing_context` finding of unavailable_context."""
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.integrity.instructions import UnavailableContext

    data = load_dataset(list(records))
    result = UnavailableContext().run(data, RunContext(data, seed=0))
    ids = {int(v): k for k, v in enumerate(data.ids.tolist())}
    return {ids[r] for f in result.findings if f.code == "missing_context" for r in f.records}


def _alpaca(cases: Sequence[Case]) -> list[dict[str, Any]]:
    return [{"instruction": c.instruction, "input": c.input, "output": NEUTRAL_OUTPUT}
            for c in cases]


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, positive: bool, flagged: bool) -> None:
        if positive and flagged:
            self.tp += 1
        elif positive:
            self.fn += 1
        elif flagged:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> str:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> str:
        return _ratio(self.tp, self.tp + self.fn)


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def score_cases(cases: Sequence[Case]) -> tuple[Score, dict[str, Score], list[Case]]:
    """Overall score, per-kind score, and the wrongly judged cases."""
    flagged = flagged_positions(_alpaca(cases))
    total, wrong = Score(), []
    per_kind: dict[str, Score] = {}
    for position, case in enumerate(cases):
        hit = position in flagged
        total.add(case.positive, hit)
        per_kind.setdefault(case.kind, Score()).add(case.positive, hit)
        if hit != case.positive:
            wrong.append(case)
    return total, per_kind, wrong


def _kind_rows(split: str, per_kind: dict[str, Score]) -> list[list[Any]]:
    rows = []
    for kind, s in per_kind.items():
        if kind in POSITIVE_KINDS or kind == "swapped_link":
            rows.append([split, kind, "positive", s.tp + s.fn, s.tp, s.recall])
        else:
            rows.append([split, kind, "negative", s.fp + s.tn, s.fp,
                         _ratio(s.tn, s.fp + s.tn)])
    return rows


# -- real data scoring -------------------------------------------------------------------------------

def score_real(root: Path) -> tuple[list[list[Any]], list[list[Any]], list[str]]:
    """Per-dataset rows, per-split rows, and printable lines for every candidate."""
    per_dataset: list[list[Any]] = []
    totals = {"development": Score(), "held_out": Score()}
    unreviewed_total = {"development": 0, "held_out": 0}
    lines: list[str] = []
    for dataset, records in real_records(root).items():
        split = "held_out" if dataset in REAL_HELD_OUT else "development"
        flagged = flagged_positions(records)
        score, unreviewed, n_candidates = Score(), 0, 0
        for i, record in enumerate(records):
            prompt = _record_prompt(record)
            if i not in flagged and not CANDIDATE.search(prompt):
                continue
            n_candidates += 1
            verdict = real_verdict(dataset, i)
            lines.append(f"== {dataset} #{i} flagged={i in flagged} verdict={verdict}\n"
                         f"   {prompt[:500]!r}")
            if verdict is None:
                unreviewed += 1
                continue
            score.add(verdict[0], i in flagged)
        total = totals[split]
        total.tp += score.tp
        total.fp += score.fp
        total.fn += score.fn
        total.tn += score.tn
        unreviewed_total[split] += unreviewed
        per_dataset.append([split, dataset, len(records), n_candidates, len(flagged),
                            score.tp + score.fn, score.tp, score.fp, score.precision,
                            score.recall, unreviewed])
    summary = []
    for split, s in totals.items():
        summary.append([split, s.tp + s.fp + s.fn + s.tn, s.tp + s.fn, s.tp + s.fp, s.tp, s.fp,
                        s.precision, s.recall, unreviewed_total[split]])
    return per_dataset, summary, lines


# -- speed ------------------------------------------------------------------------------------------

def _time_check(records: list[dict[str, Any]], repeats: int = 5) -> tuple[float, int]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.integrity.instructions import UnavailableContext

    data = load_dataset(records)
    times, flagged = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        result = UnavailableContext().run(data, RunContext(data, seed=0))
        times.append(time.perf_counter() - started)
        flagged = int(sum(f.n_records for f in result.findings))
    return statistics.median(times), flagged


def speed(n: int) -> list[list[Any]]:
    from benchmarks.generate import instruction_records

    records = [record for record, _ in instruction_records(n, seed=0, words=100)]
    plain_s, plain_flags = _time_check(records)
    mixed = list(records)
    pool = _alpaca(generated_cases("development") + generated_cases("held_out"))
    rng = np.random.default_rng(SEED)
    for position in rng.choice(n, size=n // 20, replace=False).tolist():
        mixed[position] = {**pool[int(rng.integers(0, len(pool)))],
                           "category": records[position]["category"]}
    mixed_s, mixed_flags = _time_check(mixed)
    return [[f"{n:,} generated Alpaca records (~100 words)", plain_s, plain_flags],
            ["same, 5% of prompts replaced by generated URL/media cases", mixed_s, mixed_flags]]


# -- main -------------------------------------------------------------------------------------------

def _use_lexicon(path: str) -> None:
    """Score another version of the lexicon file (load_lexicon joins an absolute path as is)."""
    import checks.integrity.instructions as module

    module.UNAVAILABLE_CONTEXT_LEXICON = str(Path(path).resolve())


def _current_lexicon() -> str:
    import checks.integrity.instructions as module

    return module.UNAVAILABLE_CONTEXT_LEXICON


def baseline_lexicon(folder: Path) -> Path | None:
    """The lexicon as of BASELINE_COMMIT (from git, read only), or None without git history."""
    from benchmarks.common import REPO_ROOT

    try:
        text = subprocess.run(["git", "show", f"{BASELINE_COMMIT}:{LEXICON_PATH}"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = folder / "baseline_unavailable_context.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _show(cases: Iterator[Case] | Sequence[Case]) -> None:
    for case in cases:
        print(f"-- {'MISSED' if case.positive else 'FALSE FLAG'} [{case.source}] "
              f"{case.prompt[:300]!r}")


@dataclass
class Quality:
    generated: list[list[Any]]
    kinds: list[list[Any]]
    swapped: list[list[Any]]
    real_summary: list[list[Any]]
    real_datasets: list[list[Any]]


def quality(root: Path | None, show: str | None = None) -> Quality:
    """Every precision/recall table for the lexicon in use."""
    out = Quality([], [], [], [], [])
    for split in ("development", "held_out"):
        cases = generated_cases(split)
        total, per_kind, wrong = score_cases(cases)
        out.generated.append([split, len(cases), total.tp + total.fn, total.tp, total.fp,
                              total.precision, total.recall])
        out.kinds += _kind_rows(split, per_kind)
        if show == {"development": "dev", "held_out": "held_out"}[split]:
            _show(wrong)
    if root is None:
        return out
    for split, cases in swapped_cases(root).items():
        total, _, wrong = score_cases(cases)
        out.swapped.append([split, len(cases), total.tp, total.recall])
        if show == {"development": "dev", "held_out": "held_out"}[split]:
            _show(wrong)
    out.real_datasets, out.real_summary, lines = score_real(root)
    if show == "real":
        print("\n".join(lines))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k records for the speed run")
    parser.add_argument("--show", choices=("dev", "held_out", "real"),
                        help="print the wrongly judged cases of one set (dev: tuning only)")
    parser.add_argument("--lexicon", help="score this lexicon file instead of the current one")
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    args = parser.parse_args(argv)
    if args.lexicon:
        _use_lexicon(args.lexicon)
    n = 20_000 if args.quick else 100_000
    root = shared_datasets_dir()
    now = quality(root, args.show)
    speed_rows = speed(n)

    before: Quality | None = None
    before_speed: list[list[Any]] = []
    if not args.lexicon:
        with tempfile.TemporaryDirectory() as folder:
            old = baseline_lexicon(Path(folder))
            if old is not None:
                current = _current_lexicon()
                _use_lexicon(str(old))
                before, before_speed = quality(root), speed(n)
                _use_lexicon(current)

    parts = ["# unavailable_context: precision and recall, development vs held out", "",
             "Scored: records with a `missing_context` finding (prompt side) of the check "
             "`unavailable_context`. Positives need content the model will not see. Details: "
             "the module docstring of benchmarks/unavailable_context.py.", ""]
    if args.lexicon:
        parts += [f"Lexicon scored: {args.lexicon} (not the current file).", ""]
    if before is not None:
        parts += [f"## Before / after (lexicon at {BASELINE_COMMIT[:7]} vs now, same matching "
                  "core)", "", markdown_table(
                      ["set", "split", "before P", "before R", "after P", "after R"],
                      _before_after(before, now)), ""]
    parts += ["## 1. Generated prompts (project-authored templates)", "",
              f"{FILLS_PER_TEMPLATE} fillings per template. The development set was tuned on; "
              "the held-out set (other wording, other URL hosts and shapes, other labels and "
              "tags) was written before tuning and not read for misses while tuning.", "",
              markdown_table(["split", "cases", "positives", "caught", "false flags",
                              "precision", "recall"], now.generated), "",
              markdown_table(["split", "kind", "label", "cases", "flagged",
                              "recall (positives) / specificity (negatives)"], now.kinds)]
    if root is None:
        parts += ["", "../shared/datasets is not available on this machine: sections 2 and 3 "
                  "were not run."]
    else:
        parts += ["", "## 2. Real instructions, passage swapped for a link", "",
                  "Dolly (alpagasus 3k) records of categories "
                  f"{', '.join(SWAP_CATEGORIES)}: the input passage is replaced by a link to it. "
                  "Even ids use development renderings (a Wikipedia URL, 'Source: <url>', a "
                  "Google Docs share link, a bare domain path), odd ids held-out renderings "
                  "(mobile Wikipedia, 'Read here: <url>', a OneDrive share link, "
                  "'Link - <archive url>', '<url>' in angle brackets). All are positives.", "",
                  markdown_table(["split", "records", "caught", "recall"], now.swapped)]
        parts += ["", "## 3. Real data, hand-labelled", "",
                  f"Development datasets (read while tuning): {', '.join(REAL_DEV)}. Held out "
                  f"(labelled after the lexicon was final): {', '.join(REAL_HELD_OUT)}. "
                  "Candidates: every record the check flags plus every prompt with a URL, a "
                  "domain, or a media or link word; each was read and judged (verdicts and "
                  "reasons in REAL_VERDICTS / REAL_NEGATIVE_GROUPS in "
                  "benchmarks/unavailable_context.py). The real data hold few prompts that "
                  "need missing content (3, all in development sets), so these rows mostly "
                  "measure false flags; sections 1 and 2 measure recall.", "",
                  markdown_table(["split", "labelled candidates", "positives", "flagged", "right",
                                  "false flags", "precision", "recall", "unreviewed"],
                                 now.real_summary),
                  "", markdown_table(["split", "dataset", "records", "candidates", "flagged",
                                      "positives", "caught", "false flags", "precision",
                                      "recall", "unreviewed"], now.real_datasets)]

    speed_table = [[*row, before_speed[i][1] if before_speed else "n/a"]
                   for i, row in enumerate(speed_rows)]
    parts += ["", "## Speed (the check alone, median of 5 runs)", "",
              markdown_table(["data", "seconds (now)", "records in findings (now, with repeats)",
                              f"seconds (lexicon at {BASELINE_COMMIT[:7]})"], speed_table),
              "", SPEED_NOTE]
    text = "\n".join(parts)
    if args.no_write or args.lexicon:
        print(text)
        return
    path = write_results("unavailable_context", text)
    print(path.read_text(encoding="utf-8"))


def _before_after(before: Quality, now: Quality) -> list[list[Any]]:
    rows = []
    for name, column_p, column_r, old_rows, new_rows in (
            ("generated", 5, 6, before.generated, now.generated),
            ("swapped link", None, 3, before.swapped, now.swapped),
            ("real, hand-labelled", 6, 7, before.real_summary, now.real_summary)):
        for old, new in zip(old_rows, new_rows, strict=True):
            rows.append([name, new[0],
                         old[column_p] if column_p is not None else "-", old[column_r],
                         new[column_p] if column_p is not None else "-", new[column_r]])
    return rows


if __name__ == "__main__":
    main()
