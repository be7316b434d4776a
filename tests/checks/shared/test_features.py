"""The shared probe text classifier and the TF-IDF vectorisers (against scikit-learn's)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.context import RunContext
from audit.load import load_dataset
from checks.shared.features import (
    TokenTable,
    char_wb_ngrams,
    fit_tfidf,
    make_text_classifier,
    split_lower,
    tokenize_texts,
)
from tests.checks.conftest import sentiment_rows

#: texts that exercise the tokeniser: punctuation, case rules, odd whitespace, non-Latin text
ODD_TEXTS = [
    "Hello, World! don't well-known ÉCOLE İstanbul Σίσυφος ΟΔΟΣ.ΑΒ",
    "tabs\tand\nnewlines  double  space",
    "", "a", "x_y __init__ 3.14 1,000 日本語のテキスト 中文 😀😀",
    "\x1c odd\x1fsep\u2028line \u00a0nbsp \u3000ideo \x85nel",
    "MiXeD CaSe ß straße STRASSE ǅ Kelvin",
    "a b c d e f g", "repeat repeat repeat repeat", "   leading and trailing   ",
]


def test_probe_model() -> None:
    texts = [r["text"] for r in sentiment_rows()]
    labels = [r["label"] for r in sentiment_rows()]
    model = make_text_classifier(0).fit(texts, labels)
    assert list(model.predict(["it was excellent", "it was awful"])) == ["pos", "neg"]


def sklearn_probe_features(texts: list[str], max_features: int | None = 200_000,
                           word_min_df: int = 1, chars: bool = True) -> tuple[object, object]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    word = TfidfVectorizer(ngram_range=(1, 2), min_df=word_min_df, max_features=max_features,
                           sublinear_tf=True, dtype=np.float32)
    if not chars:
        return word.fit_transform(texts).tocsr(), word
    union = FeatureUnion([("word", word), (
        "char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2,
                                max_features=max_features, sublinear_tf=True,
                                dtype=np.float32))])
    return union.fit_transform(texts).tocsr(), union


def assert_same_matrix(ours: object, theirs: object) -> None:
    assert ours.shape == theirs.shape  # type: ignore[attr-defined]
    difference = abs(ours - theirs)  # type: ignore[operator]
    assert difference.nnz == 0 or difference.max() < 1e-7
    assert ours.nnz == theirs.nnz  # type: ignore[attr-defined]


@pytest.mark.parametrize("max_features", [None, 25, 200_000])
@pytest.mark.parametrize("chars", [True, False])
def test_tfidf_equals_scikit_learns_union(max_features: int | None, chars: bool) -> None:
    texts = ODD_TEXTS * 3 + [r["text"] for r in sentiment_rows(60)]
    ours, fitted = fit_tfidf(tokenize_texts(texts), chars=chars, max_features=max_features)
    theirs, union = sklearn_probe_features(texts, max_features, chars=chars)
    assert_same_matrix(ours, theirs)
    words = union if not chars else union.transformer_list[0][1]  # type: ignore[attr-defined]
    assert fitted.word_vocabulary() == {k: v for k, v in words.vocabulary_.items() if " " not in k}
    new = ["it was excellent number 3", "totally unseen words here", "", ODD_TEXTS[0]]
    assert_same_matrix(fitted.transform(new), union.transform(new).tocsr())  # type: ignore[attr-defined]


def test_word_min_df_and_unigrams_only_match_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["text"] for r in sentiment_rows(80)] + ODD_TEXTS
    ours, _ = fit_tfidf(tokenize_texts(texts), chars=False, word_min_df=2)
    theirs, _ = sklearn_probe_features(texts, word_min_df=2, chars=False)
    assert_same_matrix(ours, theirs)
    ours, _ = fit_tfidf(tokenize_texts(texts), bigrams=False, chars=False, word_min_df=2,
                        max_features=10)
    theirs = TfidfVectorizer(min_df=2, max_features=10, sublinear_tf=True,
                             dtype=np.float32).fit_transform(texts)
    assert_same_matrix(ours, theirs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aAbBcC éÉİıßΣς-_'.,\t\n\u2028\u3000日1")),
                        max_size=40), min_size=2, max_size=12))
def test_tfidf_equals_scikit_learn_on_any_text(texts: list[str]) -> None:
    try:
        theirs, union = sklearn_probe_features(texts)
    except ValueError as exc:  # empty vocabulary, nothing left after pruning
        with pytest.raises(ValueError, match=str(exc).split(";")[0][:20]):
            fit_tfidf(tokenize_texts(texts))
        return
    ours, fitted = fit_tfidf(tokenize_texts(texts))
    assert_same_matrix(ours, theirs)
    assert_same_matrix(fitted.transform(texts[::-1]), union.transform(texts[::-1]).tocsr())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list(
    "aAbZ é İıßΣ\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000日1-.")), max_size=30),
    max_size=12))
def test_split_lower_gives_pythons_tokens(texts: list[str]) -> None:
    """The pyarrow path (ASCII texts) and the Python path, mixed in one batch, give exactly
    `str.lower().split()`, in text order."""
    tokens, counts = split_lower(texts)
    expected = [text.lower().split() for text in texts]
    assert tokens.to_pylist() == [t for split in expected for t in split]
    assert counts.tolist() == [len(split) for split in expected]


def test_token_ids_follow_first_appearance_across_batches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from checks.shared import features

    monkeypatch.setattr(features, "TOKEN_BATCH", 4)
    texts = ["B a", "Ünï a", "c  b\x1cd", "", "a E", "f Ü"] * 3
    table = TokenTable()
    ids, lengths = table.tokenize(iter(texts))
    reference: dict[str, int] = {}
    expected = [reference.setdefault(t, len(reference)) for text in texts
                for t in text.lower().split()]
    assert ids.tolist() == expected and list(table.index) == list(reference)
    assert lengths.tolist() == [len(text.split()) for text in texts]


def test_char_wb_ngrams_are_scikit_learns() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyse = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).build_analyzer()
    for token in ("a", "ab", "abc", "abcd", "abcdefgh"):
        assert char_wb_ngrams(token) == analyse(token)


def test_tfidf_artifact_shares_the_tokens_of_labelled_text_with_the_probe() -> None:
    data = load_dataset(sentiment_rows(60), name="t")
    ctx = RunContext(data, seed=0)
    matrix = ctx.artifact("tfidf")
    assert "field_tokens" in ctx.memoised()
    features = ctx.artifact("probe_features")
    assert features.matrix.shape[0] == data.n and matrix.shape[0] == data.n
    unlabelled = load_dataset([{"text": r["text"]} for r in sentiment_rows(60)], name="u")
    other = RunContext(unlabelled, seed=0)
    other.artifact("tfidf")
    assert "field_tokens" not in other.memoised()  # nothing to share it with
