"""Script-aware word segmentation (checks.shared.text) and its vectorised twin in minhash."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

import pyarrow as pa
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from checks.shared import minhash as mh
from checks.shared.text import bigrams, join_words, normalize, segment, unspaced_share, words

_OLD_WORD = re.compile(r"\w+")


def test_spaced_scripts_give_words_and_unspaced_runs_give_bigrams() -> None:
    assert words("Hello, World! it's 42_x") == ["hello", "world", "it", "s", "42_x"]
    assert words("机器学习很有趣。Python编程") == ["机器", "器学", "学习", "习很", "很有",
                                                 "有趣", "python", "编程"]
    assert words("日本語のテキスト") == ["日本", "本語", "語の", "のテ", "テキ", "キス", "スト"]
    assert words("a 猫 b") == ["a", "猫", "b"]
    assert words("한국어 텍스트") == ["한국어", "텍스트"]  # Korean is written with spaces


def test_combining_marks_stay_in_their_word_or_character() -> None:
    assert words("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # \\w+ would split at the vowel signs
    assert bigrams("กินข้าว") == ["กิน", "นข้", "ข้า", "าว"]
    assert words("ฉันกิน") == ["ฉัน", "นกิ", "กิน"]  # units ฉั น กิ น


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF, exclude_categories=("Cs",))))
def test_latin_text_is_tokenised_exactly_as_before(text: str) -> None:
    # combining marks (which \\w+ used to drop, splitting the word) are the one change
    assume(not any(unicodedata.category(c).startswith("M") for c in text.lower()))
    assert words(text) == _OLD_WORD.findall(text.lower())


def test_join_words_merges_overlapping_bigrams() -> None:
    assert join_words(words("机器学习 and more")) == "机器学习 and more"
    assert join_words(["the", "cat"]) == "the cat"
    assert unspaced_share(words("机器学习 and")) == 0.75


_MIXED = st.text(alphabet=st.sampled_from(list("ab cé,.!") + list("机器学习很有趣。") +
                                          list("のテキ") + list("กินข้าว") + list("हिन्दी")),
                 max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(_MIXED, min_size=1, max_size=6))
def test_vectorised_word_tokens_agree_with_python_segmentation(texts: list[str]) -> None:
    tokens, offsets = mh.token_arrays(mh.normalize_column(pa.array(texts)), "word")
    per_token: dict[str, set[int]] = defaultdict(set)
    for i, text in enumerate(texts):
        expected = words(normalize(text))
        assert int(offsets[i + 1] - offsets[i]) == len(expected), (text, expected)
        for word, value in zip(expected, tokens[offsets[i]:offsets[i + 1]].tolist(), strict=True):
            per_token[word].add(value)
    assert all(len(values) == 1 for values in per_token.values())  # one hash per token
    assert len({next(iter(v)) for v in per_token.values()}) == len(per_token)  # and distinct


def test_segment_keeps_case() -> None:
    assert segment("Hello 世界") == ["Hello", "世界"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_MIXED, st.text(alphabet=st.sampled_from(
    list("aZ_09 .,-\t\n\x1c\x7fé")), max_size=30)), max_size=8))
def test_corpus_tokens_are_words_with_ids_by_first_appearance(texts: list[str]) -> None:
    """The corpus tokeniser (pyarrow on ASCII texts, Python on the others) gives `words`."""
    from checks.shared.corpus import tokenize

    corpus = tokenize(texts)
    vocab: dict[str, int] = {}
    expected = [vocab.setdefault(w, len(vocab)) for text in texts for w in words(text)]
    assert corpus.ids.tolist() == expected and corpus.vocab == tuple(vocab)
    assert corpus.lengths.tolist() == [len(words(text)) for text in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_MIXED, st.text(alphabet=st.sampled_from(
    list("aZ_09 .,-\t\n\x1c\x7fé")), max_size=200)), max_size=8),
    st.integers(1, 10), st.booleans())
def test_edge_keys_are_the_joined_first_or_last_words(texts: list[str], k: int,
                                                      from_start: bool) -> None:
    """Template openings and closings (pyarrow on ASCII texts, Python on the others) are the
    first or last k `words` of a 40k-character window, joined by `join_words`."""
    from checks.diversity.lexical import edge_keys

    window = 40 * k
    expected = [join_words(words(t[:window])[:k] if from_start else words(t[-window:])[-k:])
                for t in texts]
    assert edge_keys(texts, k, from_start=from_start) == expected
