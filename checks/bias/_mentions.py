"""Which demographic groups each record mentions: lexicons, matching, and the shared artifact.

Group signals come from the text itself (fine-tuning data rarely has a demographic column):
project-authored English lexicons in `checks/lexicons/bias_*.json` (one file per axis: gender,
pronouns, race/ethnicity, religion, age, disability, sexual orientation, nationality; see
`checks/lexicons/README.md`), optionally extended or replaced by user files (CSV or JSON term
lists, HolisticBias-style descriptor files included). Terms are matched with spaCy's blank
English tokenizer and a `PhraseMatcher` on lower-cased whole tokens, so "he" never matches
"the" or "hello", and "women's" matches "women" ("'s" is its own token). Plural forms are
generated for noun terms; pronouns, titles and names are matched exactly.

The artifact `group_mentions` (built-in lexicons) holds, per record and separately for the
prompt and the response, which groups of each axis are mentioned, plus the concept lexicons
(occupations, attributes, profanity/insults) found in the same pass. Checks with the same
lexicon params share one computation (`group_mentions(data, ctx, lexicons, replace)`).
Explicit group columns (`--group-field`) become axes named `column:<name>`, used directly.

Limits: English only; a lexicon finds explicit mentions, not implied identity; ambiguous
words are restricted (colours like "black" count only before a person noun) but some false
matches remain (e.g. "Indian" for Native Americans, names shared by other people).
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.context import artifact
from audit.errors import ConfigError
from checks.shared.language import language_coverage

if TYPE_CHECKING:
    from audit.context import RunContext
    from audit.dataset import DatasetView

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
#: built-in group axes, one file each (bias_<axis>.json)
BUILTIN_AXES = ("gender", "pronouns", "race_ethnicity", "religion", "age", "disability",
                "sexual_orientation", "nationality")
#: concept axes matched in the same pass (stereotype and insult checks)
CONCEPT_AXES = ("occupation", "attribute", "profanity")
COLUMN_PREFIX = "column:"
#: alphanumeric pieces of a chunk (what candidate detection compares; ASCII, as in RE2)
_PIECE = r"[^a-z0-9]+"
_PIECE_RE = re.compile(_PIECE)
#: texts split and matched at a time (keeps the Arrow chunk arrays small)
TEXT_BLOCK = 20_000
#: joins candidate windows into one spaCy doc; the line break is its own token, in no pattern
_SEPARATOR = " \n "
_IRREGULAR = {"man": "men", "woman": "women", "child": "children", "person": "people",
              "wife": "wives", "knife": "knives", "life": "lives", "wolf": "wolves",
              "foot": "feet", "tooth": "teeth", "mouse": "mice", "goose": "geese",
              "fiancee": "fiancees", "housewife": "housewives", "midwife": "midwives"}
_MAN_EXCEPTIONS = {"human", "german", "roman", "shaman", "caiman", "talisman", "ottoman"}


# -- lexicon data ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Axis:
    """One axis (e.g. gender): its groups and the lower-cased phrases that mention each."""

    name: str
    terms: Mapping[str, tuple[str, ...]]  # group -> phrases (plurals included)
    representation_only: bool = False  # e.g. pronoun sets: only group_representation uses it
    yields_to: tuple[str, ...] = ()  # drop matches inside a longer match of these axes
    source: str = "builtin"  # "builtin", a file path, or "column"

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(self.terms)


@dataclass(frozen=True)
class LexiconSet:
    """The group axes and concept axes one matching pass looks for."""

    axes: tuple[Axis, ...]
    concepts: tuple[Axis, ...] = ()

    def axis(self, name: str) -> Axis:
        for axis in self.axes + self.concepts:
            if axis.name == name:
                return axis
        raise KeyError(name)


def pluralize(word: str) -> str:
    """English plural of a noun (last word of a phrase): woman->women, lady->ladies, boss->bosses."""
    head, _, last = word.rpartition(" ")
    prefix = head + " " if head else ""
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if last.endswith("-in-law"):  # mother-in-law -> mothers-in-law
        return prefix + pluralize(last[: -len("-in-law")]) + "-in-law"
    if last.endswith("man") and last not in _MAN_EXCEPTIONS:
        return prefix + last[:-3] + "men"
    if last.endswith(("s", "x", "z", "ch", "sh")):
        return prefix + last + "es"
    if len(last) > 1 and last.endswith("y") and last[-2] not in "aeiou":
        return prefix + last[:-1] + "ies"
    return prefix + last + "s"


def expand_group(spec: Mapping[str, Any] | Sequence[Any], person_nouns: Sequence[str],
                 where: str) -> tuple[str, ...]:
    """Phrases for one group spec: `terms` (+ plurals), `exact`, `modifiers` x person nouns.

    A bare list (or strings / {"descriptor": ...} / {"term": ...} items) counts as `terms`.
    """
    if not isinstance(spec, Mapping):
        spec = {"terms": spec}
    unknown = set(spec) - {"terms", "exact", "modifiers"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; a group has 'terms', "
                          "'exact' and 'modifiers' lists")
    out: list[str] = []
    for key in ("terms", "exact", "modifiers"):
        items = spec.get(key, [])
        if not isinstance(items, list):
            raise ConfigError(f"{where}.{key}: expected a list of strings, got {type(items).__name__}")
        for item in items:
            term = _term_text(item, f"{where}.{key}")
            if not term:
                continue
            if key == "terms":
                out += [term, pluralize(term)]
            elif key == "exact":
                out.append(term)
            else:
                out += [f"{term} {noun}" for noun in person_nouns]
    return tuple(dict.fromkeys(out))


def _term_text(item: Any, where: str) -> str:
    if isinstance(item, Mapping):
        item = item.get("descriptor", item.get("term"))
    if not isinstance(item, str):
        raise ConfigError(f"{where}: every term must be a string (or an object with a "
                          f"'descriptor' or 'term' string), got {item!r}")
    return " ".join(item.lower().split())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"lexicon file {str(path)!r} does not exist; check the path in the "
                          "'lexicons' parameter") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"lexicon file {str(path)!r} is not valid UTF-8 JSON: {exc}") from None


@functools.lru_cache(maxsize=1)
def person_nouns() -> tuple[str, ...]:
    data = _read_json(LEXICON_DIR / "bias_common.json")
    return tuple(dict.fromkeys(n.lower() for n in data["person_nouns"]))


def axis_from_mapping(data: Mapping[str, Any], source: str) -> Axis:
    """An axis from the native JSON form: {"axis": name, "groups": {group: spec}, ...}."""
    name = data.get("axis")
    groups = data.get("groups")
    if not isinstance(name, str) or not name or not isinstance(groups, Mapping) or not groups:
        raise ConfigError(f"lexicon {source!r}: expected an object with a non-empty 'axis' name "
                          "and a non-empty 'groups' object")
    nouns = person_nouns()
    terms = {str(g): expand_group(spec, nouns, f"{source}: groups.{g}")
             for g, spec in groups.items()}
    empty = [g for g, t in terms.items() if not t]
    if empty:
        raise ConfigError(f"lexicon {source!r}: group(s) {empty} of axis {name!r} have no terms")
    yields = data.get("yields_to", [])
    return Axis(name=name, terms=terms, representation_only=bool(data.get("representation_only")),
                yields_to=tuple(yields), source=source)


@functools.lru_cache(maxsize=1)
def builtin_lexicons() -> LexiconSet:
    """The project's lexicons: group axes and concept axes (cached; immutable)."""
    axes = tuple(axis_from_mapping(_read_json(LEXICON_DIR / f"bias_{name}.json"), "builtin")
                 for name in BUILTIN_AXES)
    return LexiconSet(axes=axes, concepts=_builtin_concepts())


def _builtin_concepts() -> tuple[Axis, ...]:
    nouns = person_nouns()
    assoc = _read_json(LEXICON_DIR / "bias_associations.json")
    profanity = _read_json(LEXICON_DIR / "bias_profanity.json")
    out = []
    for name, groups in (("occupation", assoc["occupations"]), ("attribute", assoc["attributes"]),
                         ("profanity", {"profanity": profanity["profanity"],
                                        "insult": profanity["insults"]})):
        out.append(Axis(name=name, terms={g: expand_group(t, nouns, f"{name}.{g}")
                                          for g, t in groups.items()}))
    return tuple(out)


def load_lexicon_file(path: str | Path) -> tuple[Axis, ...]:
    """Axes from a user file: CSV (axis,group,term[,exact]) or JSON (native or nested form).

    JSON forms: {"axis": ..., "groups": {...}} (one axis), a list of those, or a nested mapping
    {axis: {group: [terms]}} such as HolisticBias' descriptors.json.
    """
    path = Path(path)
    source = str(path)
    if path.suffix.lower() == ".csv":
        return _load_csv(path)
    if path.suffix.lower() != ".json":
        raise ConfigError(f"lexicon file {source!r}: use a .csv (columns axis,group,term) or a "
                          ".json term list")
    data = _read_json(path)
    if isinstance(data, Mapping) and "axis" in data:
        return (axis_from_mapping(data, source),)
    if isinstance(data, list):
        return tuple(axis_from_mapping(d if isinstance(d, Mapping) else {}, source) for d in data)
    if isinstance(data, Mapping) and data and all(isinstance(v, Mapping) for v in data.values()):
        return tuple(axis_from_mapping({"axis": axis, "groups": groups}, source)
                     for axis, groups in data.items())
    raise ConfigError(f"lexicon file {source!r}: expected {{'axis': ..., 'groups': {{group: "
                      "[terms]}}}}, a list of those, or {axis: {group: [terms]}}")


def _load_csv(path: Path) -> tuple[Axis, ...]:
    source = str(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
            header = [] if not rows else list(rows[0])
    except FileNotFoundError:
        raise ConfigError(f"lexicon file {source!r} does not exist; check the path in the "
                          "'lexicons' parameter") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"lexicon file {source!r} could not be read as UTF-8 CSV: {exc}") from None
    if not rows or not {"axis", "group", "term"} <= set(header):
        raise ConfigError(f"lexicon file {source!r}: needs a header with columns axis,group,term "
                          "(optional: exact = true for terms not to pluralise) and at least one row")
    axes: dict[str, dict[str, dict[str, list[str]]]] = {}
    for line, row in enumerate(rows, start=2):
        axis, group, term = (str(row.get(k) or "").strip() for k in ("axis", "group", "term"))
        if not (axis and group and term):
            raise ConfigError(f"{source}:{line}: axis, group and term must all be non-empty")
        exact = str(row.get("exact") or "").strip().lower() in ("1", "true", "yes")
        spec = axes.setdefault(axis, {}).setdefault(group, {"terms": [], "exact": []})
        spec["exact" if exact else "terms"].append(term)
    return tuple(axis_from_mapping({"axis": a, "groups": g}, source) for a, g in axes.items())


@functools.lru_cache(maxsize=32)
def resolve_lexicons(paths: tuple[str, ...] = (), replace: bool = False) -> LexiconSet:
    """Built-in lexicons plus user files (same-named axes merge group by group), or the user
    files alone with `replace=True`."""
    if replace and not paths:
        raise ConfigError("replace_lexicons = true needs at least one file in 'lexicons'")
    base = builtin_lexicons()
    axes: dict[str, Axis] = {} if replace else {a.name: a for a in base.axes}
    for path in paths:
        for axis in load_lexicon_file(path):
            old = axes.get(axis.name)
            if old is None:
                axes[axis.name] = axis
                continue
            merged = dict(old.terms)
            for group, terms in axis.terms.items():
                merged[group] = tuple(dict.fromkeys(merged.get(group, ()) + terms))
            axes[axis.name] = Axis(name=old.name, terms=merged,
                                   representation_only=old.representation_only,
                                   yields_to=old.yields_to, source=f"{old.source}+{axis.source}")
    return LexiconSet(axes=tuple(axes.values()), concepts=base.concepts)


# -- matching ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Key:
    column: int  # column in the mentions matrix (group axes first, then concept axes)
    axis: int  # index into the combined axis list
    length: int  # tokens


class LexiconMatcher:
    """spaCy blank-English tokenizer + PhraseMatcher(attr="LOWER") over a LexiconSet."""

    def __init__(self, lexicons: LexiconSet) -> None:
        import spacy
        from spacy.matcher import PhraseMatcher

        self.lexicons = lexicons
        self.nlp = spacy.blank("en")
        self.tokenizer: Any = getattr(self.nlp, "tokenizer")  # noqa: B009  (typed as Any)
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        all_axes = lexicons.axes + lexicons.concepts
        self.columns: list[tuple[str, str]] = []
        self._keys: dict[int, _Key] = {}
        axis_index = {a.name: i for i, a in enumerate(all_axes)}
        self._yields = [frozenset(axis_index[y] for y in a.yields_to if y in axis_index)
                        for a in all_axes]
        reach: dict[str, int] = {}  # first piece of a pattern -> extra chunks it can span
        for ai, axis in enumerate(all_axes):
            for group, terms in axis.terms.items():
                for term in terms:
                    pieces = _PIECE_RE.split(term.lower())
                    first = next((p for p in pieces if p), None)
                    if first is not None:
                        reach[first] = max(reach.get(first, 0), len(term.split()) - 1)
                column = len(self.columns)
                self.columns.append((axis.name, group))
                by_length: dict[int, list[Any]] = {}
                seen: set[tuple[str, ...]] = set()
                # also the capitalised form: "Mr." is one token but "mr." is two
                variants = [v for t in terms for v in (t, t[:1].upper() + t[1:])]
                for doc in self.tokenizer.pipe(variants):
                    lowered = tuple(token.lower_ for token in doc)
                    if lowered not in seen:
                        seen.add(lowered)
                        by_length.setdefault(len(doc), []).append(doc)
                for length, docs in by_length.items():
                    name = f"{column}:{length}"
                    self.matcher.add(name, docs)
                    self._keys[self.nlp.vocab.strings[name]] = _Key(column, ai, length)
        import pyarrow as pa

        self._first_pieces = pa.array(sorted(reach), type=pa.large_string())
        self._piece_reach = [reach[p] for p in sorted(reach)]

    def match(self, texts: Sequence[str], *, batch_size: int = 2000,
              progress: Any = None) -> np.ndarray:
        """(len(texts), n_columns) bool matrix: which (axis, group) columns each text mentions.

        Only windows that can hold a match are tokenised: texts are split on whitespace into
        chunks (vectorised, pyarrow); a chunk is a candidate when one of its alphanumeric
        pieces is the first piece of a pattern, and its window runs to the last chunk the
        longest pattern starting there can reach; overlapping windows are merged. spaCy
        tokenises each whitespace chunk on its own, so a window's tokens are exactly the
        full text's tokens there, and every match (with the longer matches that could shadow
        it) lies inside one window: the result equals matching the whole text with each run
        of whitespace read as one space (so "white\npeople" matches like "white people").

        Windows are tokenised many at a time: joined with a line-break token that no pattern
        contains (so no match crosses two windows), matches mapped back to their window by
        character offset.
        """
        out = np.zeros((len(texts), len(self.columns)), dtype=bool)
        for start in range(0, len(texts), TEXT_BLOCK):  # bounded memory for 1M records
            block = texts[start: start + TEXT_BLOCK]
            self._match_block(block, out[start: start + len(block)], batch_size)
            if progress is not None:
                progress(len(block))
        return out

    def _match_block(self, texts: Sequence[str], out: np.ndarray, batch_size: int) -> None:
        windows, owners = self.candidate_windows(texts)
        rows: list[int] = []
        cols: list[int] = []
        for lo in range(0, len(windows), batch_size):
            part = windows[lo: lo + batch_size]
            lengths = np.fromiter((len(w) + len(_SEPARATOR) for w in part), dtype=np.int64,
                                  count=len(part))
            offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            doc = self.tokenizer(_SEPARATOR.join(part))
            found = self.matcher(doc)
            if not found:
                continue
            where = np.searchsorted(offsets, [doc[s].idx for _, s, _ in found], side="right") - 1
            by_window: dict[int, list[tuple[int, int, int]]] = {}
            for match, w in zip(found, where.tolist(), strict=True):
                by_window.setdefault(w, []).append(match)
            for w, matches in by_window.items():
                owner = int(owners[lo + w])
                for column in self._resolve(matches):
                    rows.append(owner)
                    cols.append(column)
        if rows:
            out[np.asarray(rows), np.asarray(cols)] = True

    def candidate_windows(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(window strings, index of the text each window comes from)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not texts:
            return [], np.zeros(0, dtype=np.int64)
        array = pa.array(texts, type=pa.large_string()).fill_null("")
        chunks = pc.split_pattern_regex(array, r"\s+")
        flat = pc.list_flatten(chunks)
        text_of = pc.list_parent_indices(chunks).to_numpy()
        pieces = pc.split_pattern_regex(pc.utf8_lower(flat), _PIECE)
        piece_chunk = pc.list_parent_indices(pieces).to_numpy()
        reach = pc.fill_null(pc.index_in(pc.list_flatten(pieces), value_set=self._first_pieces),
                             -1).to_numpy(zero_copy_only=False)
        hit = reach >= 0
        if not hit.any():
            return [], np.zeros(0, dtype=np.int64)
        hit_reach = np.asarray(self._piece_reach)[reach[hit].astype(np.int64)]
        starts = piece_chunk[hit]
        ends = starts + hit_reach
        # clip each window to its text's last chunk
        counts = np.bincount(text_of, minlength=len(texts))
        last_chunk = np.cumsum(counts) - 1
        ends = np.minimum(ends, last_chunk[text_of[starts]])
        order = np.lexsort((ends, starts))
        starts, ends = starts[order], ends[order]
        running = np.maximum.accumulate(ends)
        new = np.ones(len(starts), dtype=bool)
        new[1:] = starts[1:] > running[:-1]
        group = np.cumsum(new) - 1
        w_start = starts[new]
        w_end = np.zeros(int(group[-1]) + 1, dtype=np.int64)
        np.maximum.at(w_end, group, ends)
        sizes = w_end - w_start + 1
        first = np.repeat(w_start - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
        needed = first + np.arange(int(sizes.sum()))  # the chunks of every window, in order
        strings = flat.take(pa.array(needed)).to_pylist()
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        windows = [" ".join(strings[bounds[k]:bounds[k + 1]]) for k in range(len(sizes))]
        return windows, text_of[w_start]

    def _resolve(self, found: list[tuple[int, int, int]]) -> set[int]:
        """Columns of the matches kept: a match inside a longer match of the same axis (or of an
        axis it yields to) is dropped, so "african american" is not also "american"."""
        if len(found) == 1:
            return {self._keys[found[0][0]].column}
        spans = [(self._keys[m], s, e) for m, s, e in found]
        kept: set[int] = set()
        for key, start, end in spans:
            shadowed = any(
                (other.axis == key.axis or other.axis in self._yields[key.axis])
                and s <= start and e >= end and (e - s) > (end - start)
                for other, s, e in spans)
            if not shadowed:
                kept.add(key.column)
        return kept


_MATCHERS: dict[int, tuple[LexiconSet, LexiconMatcher]] = {}


def lexicon_matcher(lexicons: LexiconSet) -> LexiconMatcher:
    """One matcher per lexicon set per process (lexicon sets are cached, so ids are stable)."""
    cached = _MATCHERS.get(id(lexicons))
    if cached is None or cached[0] is not lexicons:
        cached = (lexicons, LexiconMatcher(lexicons))
        _MATCHERS[id(lexicons)] = cached
    return cached[1]


# -- the artifact ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupMentions:
    """Which groups (and concepts) each record mentions, in the prompt and in the response.

    `prompt` is the prompt (the text, for text+label data); `response` is all-False when the
    data has no response. Explicit group columns appear as axes `column:<name>`, identical in
    both fields. Matrices are read-only, rows aligned with the data.
    """

    axes: tuple[Axis, ...]
    concept_axes: tuple[Axis, ...]
    columns: tuple[tuple[str, str], ...]  # (axis, group) per matrix column
    prompt: np.ndarray
    response: np.ndarray
    has_response: bool
    _index: Mapping[tuple[str, str], int] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return int(self.prompt.shape[0])

    def axis_names(self, *, include_representation_only: bool = False) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes
                     if include_representation_only or not a.representation_only)

    def axis(self, name: str) -> Axis:
        for axis in self.axes + self.concept_axes:
            if axis.name == name:
                return axis
        raise KeyError(name)

    def matrix(self, axis: str, where: str = "record") -> tuple[tuple[str, ...], np.ndarray]:
        """(groups, bool matrix n x groups) of `axis` in "prompt", "response" or "record"
        (either field)."""
        groups = self.axis(axis).groups
        idx = [self._index[(axis, g)] for g in groups]
        if where == "prompt":
            return groups, self.prompt[:, idx]
        if where == "response":
            return groups, self.response[:, idx]
        return groups, self.prompt[:, idx] | self.response[:, idx]


def compute_group_mentions(data: DatasetView, ctx: RunContext,
                           lexicons: LexiconSet) -> GroupMentions:
    """Match every prompt and response once (spaCy tokenizer + PhraseMatcher)."""
    from audit.cache import namespace, per_text

    matcher = lexicon_matcher(lexicons)
    name = namespace("group_mentions", 1, lexicons)
    total = data.n * (2 if data.has_response else 1)
    with ctx.progress("Matching group lexicons", total) as advance:
        def match(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, ...]:
            return (matcher.match(pc.fill_null(texts, "").to_pylist()),)

        prompt = per_text(ctx, name, data, "prompt" if data.has_prompt else "text", match)[0]
        advance(data.n)  # matched, or read from the cache
        response = np.zeros_like(prompt)
        if data.has_response:
            response = per_text(ctx, name, data, "response", match)[0]
            advance(data.n)
    columns = list(matcher.columns)
    axes = list(lexicons.axes)
    extra_p, extra_r = [], []
    for name in data.group_names:
        values = data.groups(name)
        groups = sorted({str(v) for v in values if v not in (None, "")})
        if not groups:
            continue
        axes.append(Axis(name=COLUMN_PREFIX + name, terms={g: () for g in groups},
                         source="column"))
        arr = np.array(["" if v is None else str(v) for v in values], dtype=object)
        block = np.stack([arr == g for g in groups], axis=1) if data.n else \
            np.zeros((0, len(groups)), dtype=bool)
        columns += [(COLUMN_PREFIX + name, g) for g in groups]
        extra_p.append(block)
        extra_r.append(block)
    if extra_p:
        prompt = np.concatenate([prompt, *extra_p], axis=1)
        response = np.concatenate([response, *extra_r], axis=1)
    prompt.setflags(write=False)
    response.setflags(write=False)
    return GroupMentions(axes=tuple(axes), concept_axes=lexicons.concepts,
                         columns=tuple(columns), prompt=prompt, response=response,
                         has_response=data.has_response,
                         _index={c: i for i, c in enumerate(columns)})


@artifact("group_mentions")
def _builtin_group_mentions(data: DatasetView, ctx: RunContext) -> GroupMentions:
    return compute_group_mentions(data, ctx, builtin_lexicons())


def group_mentions(data: DatasetView, ctx: RunContext, lexicons: Iterable[str] = (),
                   replace: bool = False) -> GroupMentions:
    """The shared mentions for these lexicon params (built-in ones: the `group_mentions`
    artifact; others are memoised under a key made of the params)."""
    paths = tuple(str(p) for p in lexicons)
    if not paths and not replace:
        mentions: GroupMentions = ctx.artifact("group_mentions", data)
        return mentions
    lexset = resolve_lexicons(paths, replace)
    return ctx.memo(f"group_mentions:{json.dumps([paths, replace])}",
                    lambda: compute_group_mentions(data, ctx, lexset), data)


def lexicon_coverage(check: Any, data: DatasetView, ctx: RunContext, *,
                     sentiment: bool = False) -> dict[str, Any]:
    """Share of records in English (the built-in lexicons', and VADER's, language), for
    `details["language_coverage"]`; SkipCheck on data mostly in other languages, unless the
    data has explicit group columns or the user's lexicons replace the built-in ones (then the
    check still has groups to compare; VADER has no other language, so `sentiment` skips)."""
    keep = bool(data.group_names) or bool(check.params.replace_lexicons)
    return language_coverage(data, ctx, check=check.name, skip=sentiment or not keep,
                             what="VADER sentiment and English group lexicons" if sentiment
                             else "English group lexicons")


@functools.lru_cache(maxsize=1)
def swap_pairs() -> Mapping[str, tuple[tuple[str, str], ...]]:
    """Counterfactual swap pairs per axis (checks/lexicons/bias_swaps.json)."""
    data = _read_json(LEXICON_DIR / "bias_swaps.json")
    return {axis: tuple((a.lower(), b.lower()) for a, b in pairs)
            for axis, pairs in data.items() if axis != "description"}
