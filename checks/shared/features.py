"""Shared vector features and the small probe classifier, as memoised artifacts.

One way to compute each: TF-IDF vectors (`tfidf`), LSA vectors (`lsa`), the probe's TF-IDF
word 1-2-grams + char 2-4-grams (`TextTfidf`, fitted once per field by checks/shared/probe.py)
and the probe text classifier (`make_text_classifier`) used, out of fold, by the label checks
(checks/shared/probe.py).

The TF-IDF vectorisers here compute what scikit-learn's `TfidfVectorizer` computes (same
vocabulary, same column order, same values) through the distinct whitespace tokens of the
corpus: scikit-learn's word tokens never cross whitespace, and its `char_wb` n-grams are
n-grams of each whitespace token, so each distinct token is analysed once and a document's
counts are its token counts times each token's word and n-gram counts (sparse products); word
bigrams come from the documents' word-id sequences in numpy. A corpus of long documents repeats
a few tens of thousands of distinct tokens millions of times, so this analyses far fewer
strings than a per-document analyser. scikit-learn is imported inside the functions, so
importing this module stays cheap.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.context import artifact
from checks.shared.text import tokens_of

if TYPE_CHECKING:
    import pyarrow as pa
    from scipy import sparse

    from audit.context import RunContext
    from audit.dataset import DatasetView

#: LSA dimensions (fewer when the vocabulary is smaller)
LSA_COMPONENTS = 100
#: records the SVD is fitted on (a seeded sample when there are more)
LSA_FIT_SAMPLE = 20_000
#: most TF-IDF features per vectorizer (word, char)
MAX_FEATURES = 200_000
#: most features of the `tfidf` artifact
TFIDF_MAX_FEATURES = 262_144
#: labelled records the probe features and out-of-fold fits are computed on (a seeded sample
#: of larger data: checks/shared/probe.py `probe_view`)
PROBE_MAX_RECORDS = 200_000
#: scikit-learn's default word token pattern (two or more word characters)
WORD_PATTERN = re.compile(r"(?u)\b\w\w+\b")
#: character n-gram sizes of the probe features (`char_wb`: inside whitespace tokens)
CHAR_NGRAMS = (2, 4)
#: the probe features include char n-grams only for texts averaging at most this many words
#: (whitespace tokens): short texts give a word model little to go on, while on longer ones
#: char n-grams multiply the non-zeros (the cost of every fit) and add nothing measurable
#: (benchmarks.whole_audit, "probe features")
CHAR_NGRAM_MAX_WORDS = 20
#: documents tokenised per batch (bounds the Python strings alive at once)
TOKEN_BATCH = 4096


# -- TF-IDF through distinct whitespace tokens ----------------------------------------------------
def char_wb_ngrams(token: str, low: int = CHAR_NGRAMS[0], high: int = CHAR_NGRAMS[1]) -> list[str]:
    """scikit-learn's `char_wb` n-grams of one whitespace token: padded with a space on each
    side; a padded token no longer than n is one n-gram, and no longer n-grams follow."""
    padded = " " + token + " "
    size = len(padded)
    grams: list[str] = []
    for n in range(low, high + 1):
        grams.extend([padded[i:i + n] for i in range(max(1, size - n + 1))])
        if size <= n:
            break
    return grams


#: characters Python's `str.split()` splits on that pyarrow's ASCII whitespace split does not
_PYTHON_ONLY_SPACE = "[\x1c-\x1f]"


def split_lower(texts: list[str]) -> tuple[pa.Array, np.ndarray]:
    """The tokens of `[t.lower().split() for t in texts]`, flat (an Arrow string array), and
    the number of each text's tokens (pyarrow splits the ASCII texts: `tokens_of`)."""
    import pyarrow.compute as pc

    tokens, counts = tokens_of(texts, lambda text: text.lower().split(),
                               lambda array: pc.ascii_split_whitespace(pc.ascii_lower(array)),
                               _PYTHON_ONLY_SPACE)
    return tokens, counts


class TokenTable:
    """Distinct lower-cased whitespace tokens, and for each its word ids (`WORD_PATTERN`
    matches, in order) and its char_wb n-gram ids. Grows as documents are tokenised."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.words: dict[str, int] = {}
        self.grams: dict[str, int] = {}
        self._word_ids: list[int] = []
        self._word_lengths: list[int] = []
        self._gram_ids: list[int] = []
        self._gram_lengths: list[int] = []

    def __len__(self) -> int:
        return len(self.index)

    def _analyse(self, tokens: Iterable[str]) -> None:
        word_id = self.words.setdefault
        for token in tokens:
            found = WORD_PATTERN.findall(token)
            self._word_ids.extend([word_id(w, len(self.words)) for w in found])
            self._word_lengths.append(len(found))

    def _analyse_grams(self) -> None:
        """Char n-grams of the tokens not analysed yet (on first use: word features alone
        never need them)."""
        gram_id = self.grams.setdefault
        for token in itertools.islice(self.index, len(self._gram_lengths), None):
            grams = char_wb_ngrams(token)
            self._gram_ids.extend([gram_id(g, len(self.grams)) for g in grams])
            self._gram_lengths.append(len(grams))

    def tokenize(self, texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids (int32, flat) of `texts` lower-cased and split on whitespace (as
        scikit-learn's analysers split), and the number of tokens of each text; tokens not
        seen before are added, in order of first appearance, and analysed."""
        ids: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        texts = iter(texts)
        while batch := list(itertools.islice(texts, TOKEN_BATCH)):
            tokens, counts = split_lower(batch)
            lengths.append(counts)
            encoded = tokens.dictionary_encode()  # distinct tokens in first-appearance order
            distinct = encoded.dictionary.to_pylist()
            before = len(self.index)
            token_id = self.index.setdefault
            mapping = np.fromiter((token_id(t, len(self.index)) for t in distinct),
                                  dtype=np.int32, count=len(distinct))
            ids.append(mapping[encoded.indices.to_numpy(zero_copy_only=False)])
            added = len(self.index) - before
            if added:
                self._analyse(list(itertools.islice(reversed(self.index), added))[::-1])
        flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)
        return flat, (np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64))

    def word_sequences(self) -> tuple[np.ndarray, np.ndarray]:
        """Word ids of every token, flat (int32), and each token's number of words."""
        return (np.asarray(self._word_ids, dtype=np.int32),
                np.asarray(self._word_lengths, dtype=np.int64))

    def token_words(self) -> sparse.csr_matrix:
        """Tokens x words: how often each word occurs in each token."""
        ids, lengths = self.word_sequences()
        return _count_matrix(np.repeat(np.arange(len(lengths)), lengths), ids,
                             (len(lengths), len(self.words)))

    def token_grams(self) -> sparse.csr_matrix:
        """Tokens x char n-grams: how often each n-gram occurs in each token."""
        if len(self._gram_lengths) < len(self.index):
            self._analyse_grams()
        lengths = np.asarray(self._gram_lengths, dtype=np.int64)
        return _count_matrix(np.repeat(np.arange(len(lengths)), lengths),
                             np.asarray(self._gram_ids, dtype=np.int32),
                             (len(lengths), len(self.grams)))


def _count_matrix(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> Any:
    """CSR of how often each (row, col) pair occurs (float32 counts, exact below 2**24; sorted
    indices)."""
    from scipy import sparse

    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                               shape=shape)
    matrix.sum_duplicates()
    return matrix


@dataclass(frozen=True)
class TokenizedTexts:
    """A text column as token ids into `table` (flat, int32) with per-text offsets."""

    table: TokenTable
    ids: np.ndarray
    offsets: np.ndarray  # (n_texts + 1,)

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    def token_counts(self) -> sparse.csr_matrix:
        """Texts x tokens counts."""
        rows = np.repeat(np.arange(self.n), np.diff(self.offsets))
        return _count_matrix(rows, self.ids, (self.n, len(self.table)))

    def texts_of_tokens(self) -> sparse.csr_matrix:
        """Tokens x texts counts (built row by row in text order: no sort)."""
        texts = np.repeat(np.arange(self.n), np.diff(self.offsets))
        return _count_matrix(self.ids, texts, (len(self.table), self.n))

    def bigrams(self, n_words: int) -> tuple[np.ndarray, np.ndarray]:
        """(text index, w1 * n_words + w2) of every pair of consecutive words of a text."""
        word_ids, word_lengths = self.table.word_sequences()
        per_token = word_lengths[self.ids]
        before = np.concatenate([[0], np.cumsum(per_token)])  # words before each token
        total = int(before[-1])
        token_start = np.concatenate([[0], np.cumsum(word_lengths)[:-1]])
        # each word of the sequence: its token's first word in `word_ids`, plus its rank
        first = np.repeat(token_start[self.ids] - before[:-1], per_token)
        sequence = word_ids[first + np.arange(total)].astype(np.int64)
        words_per_text = before[self.offsets[1:]] - before[self.offsets[:-1]]
        text_of = np.repeat(np.arange(self.n), words_per_text)
        same = text_of[1:] == text_of[:-1]
        return text_of[1:][same], sequence[:-1][same] * n_words + sequence[1:][same]


def tokenize_texts(texts: Iterable[str]) -> TokenizedTexts:
    """Tokenise a corpus once (see the module docstring)."""
    table = TokenTable()
    ids, lengths = table.tokenize(texts)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return TokenizedTexts(table=table, ids=ids, offsets=offsets)


def _keep_columns(df: np.ndarray, tf: np.ndarray, order: np.ndarray, min_df: int,
                  max_features: int | None, n_texts: int) -> np.ndarray:
    """The raw columns `TfidfVectorizer` keeps, in its (alphabetical) order, from each raw
    column's document frequency `df` and total count `tf`; `order` lists the raw columns
    alphabetically. Drop those in fewer than `min_df` texts, then keep the `max_features` most
    frequent (ties as scikit-learn's argsort over the float32 counts leaves them)."""
    if not len(df):
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    if n_texts < min_df:
        raise ValueError("max_df corresponds to < documents than min_df")
    mask = df[order] >= min_df
    if max_features is not None and mask.sum() > max_features:
        tfs = tf[order].astype(np.float32)
        keep = (-tfs[mask]).argsort()[:max_features]
        limited = np.zeros(len(mask), dtype=bool)
        limited[np.flatnonzero(mask)[keep]] = True
        mask = limited
    if not mask.any():
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return order[mask]


def _alphabetical(strings: Sequence[str]) -> np.ndarray:
    return np.asarray(sorted(range(len(strings)), key=strings.__getitem__), dtype=np.int64)


def _tfidf(counts: Any, idf: np.ndarray) -> Any:
    """Sublinear TF x IDF, rows L2-normalised, float32 (TfidfTransformer's arithmetic), in
    place when `counts` is already float32."""
    from sklearn.preprocessing import normalize

    matrix = counts if counts.dtype == np.float32 else counts.astype(np.float32)
    np.log(matrix.data, matrix.data)
    matrix.data += 1.0
    matrix.data *= idf[matrix.indices]
    return normalize(matrix, norm="l2", copy=False)


def _idf(df: np.ndarray, n_texts: int) -> np.ndarray:
    """TfidfTransformer's smoothed IDF, float32."""
    df = df.astype(np.float32)
    df += 1.0
    idf = np.full_like(df, fill_value=n_texts + 1, dtype=np.float32)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def positions_in(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Position of each of `keys` in `table` (distinct values), -1 where absent (a hash
    lookup)."""
    import pandas as pd

    if not len(table):
        return np.full(len(keys), -1, dtype=np.int64)
    return np.asarray(pd.Index(table).get_indexer(keys), dtype=np.int64)


@dataclass(frozen=True)
class TextTfidf:
    """A fitted TF-IDF of word 1-2-grams (optionally only unigrams) and, optionally, char_wb
    2-4-grams: `transform` maps new texts into the same columns (word block, then char
    block, each L2-normalised, as scikit-learn's FeatureUnion of two TfidfVectorizers)."""

    words: dict[str, int]  # the fitted corpus' words -> word id
    word_columns: np.ndarray  # word id -> unigram column, -1 when not kept
    bigram_keys: np.ndarray  # w1 * n_words + w2 of the kept bigrams (sorted)
    bigram_columns: np.ndarray  # their columns, aligned with bigram_keys
    word_idf: np.ndarray  # (n_word_columns,)
    grams: dict[str, int] | None  # kept char n-gram -> column within the char block
    char_idf: np.ndarray | None

    @property
    def n_word_columns(self) -> int:
        return len(self.word_idf)

    @property
    def n_features(self) -> int:
        return self.n_word_columns + (0 if self.char_idf is None else len(self.char_idf))

    def word_vocabulary(self) -> dict[str, int]:
        """Kept single words -> their column (a TfidfVectorizer's `vocabulary_`, unigrams)."""
        return {w: int(self.word_columns[i]) for w, i in self.words.items()
                if self.word_columns[i] >= 0}

    def transform(self, texts: Sequence[str]) -> Any:
        """TF-IDF of `texts` in the fitted columns (unseen words and n-grams ignored)."""
        from scipy import sparse

        tokens = tokenize_texts(texts)
        table = tokens.table
        n_words = len(self.words)
        # the new texts' word ids -> the fitted word ids (-1 for a word not seen in fitting)
        remap = np.fromiter((self.words.get(w, -1) for w in table.words), dtype=np.int64,
                            count=len(table.words))
        per_token = tokens.token_counts()
        unigrams = (per_token @ table.token_words()).tocoo()
        fitted = remap[unigrams.col]
        rows = [unigrams.row]
        cols = [np.where(fitted >= 0, self.word_columns[fitted], -1)]
        values = [unigrams.data]
        if len(self.bigram_keys) and len(remap):
            text_of, keys = tokens.bigrams(len(remap))
            first, second = remap[keys // len(remap)], remap[keys % len(remap)]
            where = positions_in(np.where((first >= 0) & (second >= 0), first * n_words + second,
                                     -1), self.bigram_keys)
            found = where >= 0
            rows.append(text_of[found])
            cols.append(self.bigram_columns[where[found]])
            values.append(np.ones(int(found.sum()), dtype=np.int32))
        blocks = [_tfidf(_kept_counts(np.concatenate(rows), np.concatenate(cols),
                                      np.concatenate(values),
                                      (tokens.n, self.n_word_columns)), self.word_idf)]
        if self.grams is not None and self.char_idf is not None:
            token_grams = table.token_grams()
            gram_columns = np.fromiter((self.grams.get(g, -1) for g in table.grams),
                                       dtype=np.int64, count=len(table.grams))
            char = (per_token @ token_grams).tocoo()
            blocks.append(_tfidf(_kept_counts(char.row, gram_columns[char.col], char.data,
                                              (tokens.n, len(self.char_idf))), self.char_idf))
        return blocks[0] if len(blocks) == 1 else sparse.hstack(blocks, format="csr")


def _kept_counts(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                 shape: tuple[int, int]) -> Any:
    """CSR of `values` summed per (row, col), entries with col -1 left out."""
    from scipy import sparse

    kept = cols >= 0
    matrix = sparse.csr_matrix((values[kept], (rows[kept], cols[kept])), shape=shape)
    matrix.sum_duplicates()
    return matrix


def _columns_csc(matrix_t: Any) -> Any:
    """A CSR matrix of the transpose (features x texts), as the CSC matrix (texts x features)
    it is."""
    from scipy import sparse

    return sparse.csc_matrix((matrix_t.data, matrix_t.indices, matrix_t.indptr),
                             shape=matrix_t.shape[::-1])


def _tfidf_block(columns: Any, idf: np.ndarray) -> Any:
    """`_tfidf` of a CSC count block, as a CSR with sorted indices (the conversion from CSC
    sorts every row: no sort needed)."""
    rows = columns.tocsr()
    rows.has_sorted_indices = True
    return _tfidf(rows, idf)


def fit_tfidf(tokens: TokenizedTexts, *, bigrams: bool = True, chars: bool = True,
              max_features: int | None = MAX_FEATURES, word_min_df: int = 1,
              char_min_df: int = 2) -> tuple[Any, TextTfidf]:
    """Fit the TF-IDF on `tokens` (every text): the matrix (texts x features, float32 CSR
    with sorted indices) and the fitted `TextTfidf`. The same as scikit-learn's
    `TfidfVectorizer(ngram_range=(1, 2) or (1, 1), min_df=word_min_df,
    max_features=max_features, sublinear_tf=True, dtype=float32)`, next to
    `TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=char_min_df, ...)` when
    `chars`. Raises ValueError where scikit-learn would (no word at all, fewer texts than
    min_df, nothing left after pruning).

    Counts are built per column (CSC, from products of the transposes): keeping the selected
    columns in alphabetical order and converting to CSR then leaves every row sorted, with no
    sort.
    """
    import pandas as pd
    from scipy import sparse

    table = tokens.table
    n = tokens.n
    words = list(table.words)
    n_words = len(words)
    texts_of_token = tokens.texts_of_tokens()
    frequency = np.bincount(tokens.ids, minlength=len(table)).astype(np.int64)
    token_words = table.token_words()
    word_columns_csc = _columns_csc(token_words.T.tocsr() @ texts_of_token)
    df = np.diff(word_columns_csc.indptr)
    tf = token_words.T @ frequency
    word_rank = np.empty(n_words, dtype=np.int64)
    word_rank[_alphabetical(words)] = np.arange(n_words)
    if bigrams and n_words:
        text_of, keys = tokens.bigrams(n_words)
        # hash-based ids (first-seen order), then counts per (text, bigram) by scipy's
        # conversion, which sums repeats in linear time (texts come in order in each column)
        codes, bigram_keys = pd.factorize(keys)
        pair_columns = sparse.csc_matrix(
            (np.ones(len(codes), dtype=np.float32), (text_of, codes)),
            shape=(n, len(bigram_keys)))
        pair_columns.sum_duplicates()
        counts = sparse.hstack([word_columns_csc, pair_columns], format="csc")
        df = np.concatenate([df, np.diff(pair_columns.indptr)])
        tf = np.concatenate([tf, np.bincount(codes, minlength=len(bigram_keys))])
        # "w1 w2" sorts as the pair (w1, w2) and after "w1": a space sorts before any word
        # character, and words hold no spaces. Only the columns min_df keeps need an order
        # (dropping the others leaves theirs as it was)
        candidates = np.flatnonzero(df >= word_min_df)
        singles = candidates[candidates < n_words]
        pairs = bigram_keys[candidates[candidates >= n_words] - n_words]
        first = np.concatenate([word_rank[singles], word_rank[pairs // n_words]])
        second = np.concatenate([np.full(len(singles), -1, dtype=np.int64),
                                 word_rank[pairs % n_words]])
        order = candidates[np.lexsort((second, first))]
    else:
        bigram_keys = np.zeros(0, dtype=np.int64)
        counts = word_columns_csc
        order = np.argsort(word_rank)
    kept = _keep_columns(df, tf, order, word_min_df, max_features, n)
    word_idf = _idf(df[kept], n)
    blocks = [_tfidf_block(counts[:, kept], word_idf)]
    del counts
    word_columns = np.full(n_words, -1, dtype=np.int64)
    is_word = kept < n_words
    word_columns[kept[is_word]] = np.flatnonzero(is_word)
    kept_keys = bigram_keys[kept[~is_word] - n_words]
    sort = np.argsort(kept_keys)
    grams: dict[str, int] | None = None
    char_idf = None
    if chars:
        token_grams = table.token_grams()
        gram_strings = list(table.grams)
        char_counts = _columns_csc(token_grams.T.tocsr() @ texts_of_token)
        df = np.diff(char_counts.indptr)
        kept_grams = _keep_columns(df, token_grams.T @ frequency, _alphabetical(gram_strings),
                                   char_min_df, max_features, n)
        char_idf = _idf(df[kept_grams], n)
        blocks.append(_tfidf_block(char_counts[:, kept_grams], char_idf))
        del char_counts
        grams = {gram_strings[g]: i for i, g in enumerate(kept_grams)}
    matrix = blocks[0] if len(blocks) == 1 else sparse.hstack(blocks, format="csr")
    fitted = TextTfidf(words=table.words, word_columns=word_columns,
                       bigram_keys=kept_keys[sort],
                       bigram_columns=np.flatnonzero(~is_word)[sort], word_idf=word_idf,
                       grams=grams, char_idf=char_idf)
    return matrix, fitted


def classifier_field(data: DatasetView) -> str:
    """The column a label is predicted from: the prompt (the text of text+label data)."""
    return "prompt" if data.has_prompt else "text"


def classifier_text(data: DatasetView) -> tuple[str, ...]:
    """The text a label is predicted from: the prompt (the text of text+label data)."""
    return data.texts(classifier_field(data))


def same_column(data: DatasetView, field: str) -> str:
    """The name under which `field`'s texts are shared: `text` is the prompt itself when
    there are no responses."""
    return "prompt" if field == "text" and data.has_prompt and not data.has_response else field


def text_tokens(data: DatasetView, ctx: RunContext, field: str) -> TokenizedTexts:
    """The tokens of a text column, read once (one batch of Python strings at a time).

    Memoised as `field_tokens` where the probe features read the same column of the same
    records (labelled data of at most PROBE_MAX_RECORDS records: text+label data shares one
    tokenisation between `tfidf` and the probe), else computed for the caller alone, so large
    unlabelled data holds no token ids after the step that needed them.
    """
    def build() -> TokenizedTexts:
        return tokenize_texts(itertools.chain.from_iterable(data.text_batches(field)))

    column = same_column(data, field)
    if data.has_labels and data.n <= PROBE_MAX_RECORDS and column == classifier_field(data):
        return ctx.memo(f"field_tokens:{column}", build, data)
    return build()


def make_text_classifier(seed: int, **overrides: Any) -> Any:
    """The probe model: TF-IDF word 1-2-grams + char 2-4-grams, multinomial logistic regression.

    Small, fast, well calibrated enough for cleanlab, and deterministic for `seed`. `overrides`
    go to `LogisticRegression`. Fit it under `threadpoolctl.threadpool_limits(1)`: L-BFGS on
    sparse TF-IDF gains nothing from BLAS threads and slows down many-fold on shared cores.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=1, max_features=MAX_FEATURES,
                                 sublinear_tf=True, dtype=np.float32)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2,
                                 max_features=MAX_FEATURES, sublinear_tf=True,
                                 dtype=np.float32)),
    ])
    params = {"C": 4.0, "max_iter": 300, "tol": 1e-3, "random_state": seed}
    params.update(overrides)
    return Pipeline([("features", features), ("model", LogisticRegression(**params))])


def encode_labels(labels: tuple[str | None, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    classes = tuple(sorted({label for label in labels if label is not None}))
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index.get(label, -1) if label is not None else -1
                              for label in labels], dtype=np.int64)


@artifact("tfidf")
def tfidf_vectors(data: DatasetView, ctx: RunContext) -> Any:
    """L2-normalised TF-IDF (words) of each record's full text, as a sparse matrix (the
    values of scikit-learn's `TfidfVectorizer(min_df=2, max_features=TFIDF_MAX_FEATURES,
    sublinear_tf=True)`; min_df 1 for 50 records or fewer).

    Single words, not bigrams: counting bigrams costs several times as much, for vectors used
    to compare topics (LSA, neighbours, clusters), where word order adds little.
    """
    from scipy import sparse

    tokens = text_tokens(data, ctx, "text")
    try:
        matrix, _ = fit_tfidf(tokens, bigrams=False, chars=False,
                              max_features=TFIDF_MAX_FEATURES,
                              word_min_df=2 if tokens.n > 50 else 1)
        return matrix
    except ValueError:  # empty vocabulary (no words at all)
        return sparse.csr_matrix((tokens.n, 1), dtype=np.float32)


@artifact("lsa")
def lsa_vectors(data: DatasetView, ctx: RunContext) -> np.ndarray:
    """Dense, L2-normalised LSA vectors (truncated SVD of `tfidf`), float32, seeded.

    The SVD is fitted on a seeded sample of at most LSA_FIT_SAMPLE records and applied to all
    (the topic axes of such a sample are stable, and the fit costs a fraction).
    """
    from sklearn.decomposition import TruncatedSVD
    from threadpoolctl import threadpool_limits

    matrix = ctx.artifact("tfidf", data, store=False)  # kept only if a check asked for it
    n_components = min(LSA_COMPONENTS, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if n_components < 1:
        dense = np.asarray(matrix.todense(), dtype=np.float32)
    else:
        svd = TruncatedSVD(n_components=n_components, random_state=ctx.seed,
                           algorithm="randomized")
        # one BLAS thread: on shared cores more threads spin against each other
        with threadpool_limits(1):
            if matrix.shape[0] > LSA_FIT_SAMPLE:
                rows = np.sort(ctx.rng("lsa").choice(matrix.shape[0], LSA_FIT_SAMPLE,
                                                     replace=False))
                svd.fit(matrix[rows])
            else:
                svd.fit(matrix)
            dense = svd.transform(matrix).astype(np.float32, copy=False)
    del matrix
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    dense /= norms
    return dense
