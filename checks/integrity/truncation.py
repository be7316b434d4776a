"""The `truncation` check: responses cut off mid-sentence, mid-code-block, or at a length cap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import JSON, Finding, Measurement, Severity, Threshold
from checks.integrity.lengths import SLICE_ROWS, TextLengths

#: characters that end a complete response (sentence ends, closing quotes and brackets, code)
TERMINAL_CHARS = ".!?…。！？\"'”’)]}>*`;|/~"
#: characters a complete response does not end on (a clause, call or expression was cut)
DANGLING_CHARS = "([{&–—=\\"
#: characters a complete sentence does not end on; judged only when the last line is prose
#: (code legitimately ends a line with "," or ":" - a Python 2 print, a signature)
PROSE_DANGLING_CHARS = ",:"
#: words a complete sentence does not end on: articles, conjunctions, some prepositions and
#: possessives ("in", "on", "that", "it", "her" are left out: "log in", "I like that")
DANGLING_WORDS = ("a", "an", "the", "and", "or", "but", "nor", "of", "to", "with", "from", "into",
                  "than", "because", "although", "whether", "whereas", "whose", "my", "your",
                  "their", "our", "its", "such", "including", "e.g", "i.e")
#: a last line that reads as a sentence: four or more words, no code or URL characters (lists,
#: code, commands and links legitimately end without a period)
_PROSE_LAST_LINE = (r"(?:^|\n)[ \t]*[A-Za-z\"'“(][^\n{}\[\]=<$%\\|_#*`]*"
                    r"(?:[A-Za-z,;'’\"]+[ \t]+){3}[^\n{}\[\]=<$%\\|_#*`/]*$")
#: a last line that starts like a statement of code or a shell command is not prose
_CODE_LAST_LINE = (r"(?:^|\n)[ \t]*(?:import|from [\w.]+ import|return|print|def|class|var|let|"
                   r"const|select|insert into|pip|npm|git|sudo|cd|echo|using|package|public|"
                   r"private|if|for|while|else)\b[^\n]*$")
_LAST_WORD = r"(?:^|[\s(\"'“])(?P<word>[A-Za-z][A-Za-z.]*)$"
#: a letter's sign-off line ("Best regards,") legitimately ends with a comma
_SIGN_OFF = r"(?:^|\n)[ \t]*[A-Z][A-Za-z’' ]{0,30},$"
#: characters at the end of a response the ending rules look at (a longer last line is
#: judged on its last TAIL_CHARS characters)
TAIL_CHARS = 240
#: endings quoted per signal
MAX_EXAMPLES = 5


def _np(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _matches(text: pa.ChunkedArray, regex: str) -> np.ndarray:
    return _np(pc.fill_null(pc.match_substring_regex(text, regex), False)).astype(bool)


def _in_set(values: pa.ChunkedArray, members: str | tuple[str, ...]) -> np.ndarray:
    value_set = pa.array(list(members))  # a string is a set of characters
    return _np(pc.fill_null(pc.is_in(values, value_set=value_set), False)).astype(bool)


@dataclass(frozen=True)
class Endings:
    """How each response ends (vectorised over the column)."""

    terminal: np.ndarray  # ends with a TERMINAL_CHARS character
    letter: np.ndarray  # ends with a letter (a word was cut, not a number or a symbol)
    dangling_char: np.ndarray  # ends with a DANGLING_CHARS (or, in prose, ",:") character
    dangling_word: np.ndarray  # ends with a DANGLING_WORDS word (no terminal character)
    prose_ending: np.ndarray  # the last line reads as a sentence (not a list, code or URL)
    unclosed_fence: np.ndarray  # odd number of ``` fences
    unclosed_bracket: np.ndarray  # two or more ( [ { left open, and no terminal character


def response_endings(column: pa.ChunkedArray) -> Endings:
    """How each response ends, computed in slices of SLICE_ROWS rows (bounded memory)."""
    if len(column) <= SLICE_ROWS:
        return _endings(column)
    parts = [_endings(column.slice(start, SLICE_ROWS))
             for start in range(0, len(column), SLICE_ROWS)]
    return Endings(**{f.name: np.concatenate([getattr(part, f.name) for part in parts])
                      for f in fields(Endings)})


def _endings(column: pa.ChunkedArray) -> Endings:
    text = pc.utf8_rtrim_whitespace(pc.fill_null(column, ""))
    tail = pc.utf8_slice_codeunits(text, -TAIL_CHARS)  # end-anchored regexes run on this only
    last = pc.utf8_slice_codeunits(text, -1)
    terminal = _in_set(last, TERMINAL_CHARS)
    last_word = pc.utf8_lower(pc.struct_field(pc.extract_regex(tail, _LAST_WORD), "word"))
    ends_letter = _np(pc.fill_null(pc.utf8_is_alpha(last), False)).astype(bool)
    prose = _matches(tail, _PROSE_LAST_LINE) & ~_matches(tail, _CODE_LAST_LINE)
    dangling_word = ends_letter & prose & _in_set(last_word, DANGLING_WORDS)
    dangling_char = _in_set(last, DANGLING_CHARS) | (
        _in_set(last, PROSE_DANGLING_CHARS) & prose & ~_matches(tail, _SIGN_OFF))
    fences = _np(pc.count_substring(text, "```")).astype(np.int64)
    opened = _np(pc.count_substring_regex(text, r"[(\[{]")).astype(np.int64)
    closed = _np(pc.count_substring_regex(text, r"[)\]}]")).astype(np.int64)
    return Endings(terminal=terminal, letter=ends_letter, dangling_char=dangling_char,
                   dangling_word=dangling_word, prose_ending=prose,
                   unclosed_fence=fences % 2 == 1,
                   unclosed_bracket=(opened - closed >= 2) & ~terminal)


@dataclass(frozen=True)
class LengthCap:
    measure: str  # chars, words or tokens
    cap: int
    positions: np.ndarray


def length_cap(lengths: np.ndarray, cut: np.ndarray, *, measure: str, tolerance: float,
               min_records: int, min_fraction: float, min_cut_share: float) -> LengthCap | None:
    """A pile-up of responses at the maximum length that end mid-sentence (cut by a cap).

    Records within `tolerance` (relative) of the longest one are "at the cap". A smooth length
    distribution has very few records that close to its maximum; a cap produces many, and
    most of them do not end like a finished response (`cut`).
    """
    nonzero = lengths[lengths > 0]
    if nonzero.size < min_records:
        return None
    top = int(nonzero.max())
    at_cap = lengths >= top * (1.0 - tolerance)
    n_at = int(at_cap.sum())
    if n_at < max(min_records, min_fraction * lengths.size):
        return None
    if cut[at_cap].mean() < min_cut_share:
        return None
    return LengthCap(measure=measure, cap=top, positions=np.flatnonzero(at_cap & cut))


@register
class Truncation(Check):
    """Responses cut off mid-sentence or mid-code-block, or piled up at a length cap.

    Signals: the response ends on an open bracket or operator, or its last sentence ends on a
    comma, a colon or a word no sentence ends on ("and", "the", "of"); a ``` code fence or two
    brackets are left open; it ends on a word without the terminal punctuation the dataset's
    responses otherwise have (97%+); and many responses stop unfinished at the same maximum
    length (a generation or export cap). Code, lists, links and sign-offs ("Best regards,")
    are not judged on punctuation. A model trained on cut-off answers learns to stop
    mid-thought.
    """

    name = "truncation"
    category = "integrity"
    uses = frozenset({"response_lengths"})
    requires = frozenset({Need.RESPONSE})
    metrics = ("truncated_fraction", "n_truncated", "terminal_punctuation_rate",
               "n_at_length_cap", "n_unclosed_code")
    default_thresholds = (Threshold(metric="truncated_fraction", warn=0.005, fail=0.05),)

    @dataclass(frozen=True)
    class Params:
        min_words: int = param(8, ge=1, le=10_000,
                               doc="responses shorter than this are not judged on punctuation "
                                   "(short answers like 'Paris' need none)")
        usual_terminal_rate: float = param(
            0.97, ge=0.0, le=1.0,
            doc="flag a missing final punctuation mark only when at least this share of the "
                "dataset's prose responses (of min_words or more) end with one")
        cap_tolerance: float = param(0.1, ge=0.0, le=0.5,
                                     doc="relative distance from the maximum length that "
                                         "counts as 'at the cap' in approximate tokens and "
                                         "words (a real tokenizer's cap spreads over ~10% of "
                                         "them); characters must match the maximum exactly")
        cap_min_records: int = param(5, ge=2, le=1_000_000,
                                     doc="fewest records at the cap to report a length cap")
        cap_min_fraction: float = param(0.002, ge=0.0, le=1.0,
                                        doc="smallest share of records at the cap to report it")
        cap_min_cut_share: float = param(0.5, ge=0.0, le=1.0,
                                         doc="share of at-cap records that must end unfinished")

    def map(self, batch: DatasetView, ctx: RunContext) -> dict[str, Any]:
        """Per record: ids, lengths, the signal masks (the punctuation rule's candidates too)
        and whether it is judged / ends with terminal punctuation; a few endings per signal
        (the batch's first) for the examples."""
        p = self.params
        ends = response_endings(batch.column("response"))
        lengths: TextLengths = ctx.artifact("response_lengths")
        long_enough = lengths.words >= p.min_words
        judged = long_enough & ends.prose_ending
        signals: dict[str, np.ndarray] = {
            "unclosed_code_fence": ends.unclosed_fence,
            "dangling_ending": (ends.dangling_char | ends.dangling_word) & (lengths.words >= 3),
            "unclosed_bracket": ends.unclosed_bracket & long_enough,
        }
        signals["no_terminal_punctuation"] = (judged & ends.letter
                                              & ~signals["dangling_ending"]
                                              & ~signals["unclosed_bracket"])
        column = batch.column("response")
        tails = {}
        for code, mask in signals.items():
            first = np.flatnonzero(mask)[:MAX_EXAMPLES]
            tails[code] = [{"record": int(batch.ids[i]), "ending": "…" + (r or "")[-60:]}
                           for i, r in zip(first.tolist(), column.take(pa.array(first))
                                           .to_pylist(), strict=True)]
        return {"ids": np.asarray(batch.ids), "words": lengths.words, "tokens": lengths.tokens,
                "chars": lengths.chars, "terminal": ends.terminal, "judged": judged,
                "signals": signals, "tails": tails}

    def combine(self, partials: Sequence[dict[str, Any]], n: int,
                ctx: RunContext) -> Measurement:
        p = self.params

        def stacked(key: str) -> np.ndarray:
            parts = [part[key] for part in partials]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

        ids = stacked("ids")
        words, terminal, judged = stacked("words"), stacked("terminal").astype(bool), \
            stacked("judged").astype(bool)
        rate = float(terminal[judged].mean()) if judged.any() else float("nan")
        unfinished = ~terminal & (words > 0)
        codes = ["unclosed_code_fence", "dangling_ending", "unclosed_bracket"]
        if rate >= p.usual_terminal_rate:
            codes.append("no_terminal_punctuation")
        signals = {code: np.concatenate([part["signals"][code] for part in partials])
                   if partials else np.zeros(0, dtype=bool) for code in codes}
        examples = {code: [e for part in partials for e in part["tails"][code]][:MAX_EXAMPLES]
                    for code in codes}
        lengths = TextLengths(words=words, tokens=stacked("tokens"), chars=stacked("chars"))
        caps = [cap for measure, values, tolerance in (
                    ("chars", lengths.chars, 0.0), ("tokens", lengths.tokens, p.cap_tolerance),
                    ("words", lengths.words, p.cap_tolerance))
                if (cap := length_cap(values, unfinished, measure=measure, tolerance=tolerance,
                                      min_records=p.cap_min_records,
                                      min_fraction=p.cap_min_fraction,
                                      min_cut_share=p.cap_min_cut_share)) is not None]
        at_cap = np.zeros(len(ids), dtype=bool)
        if caps:
            at_cap[caps[0].positions] = True
        truncated = np.logical_or.reduce([*signals.values(), at_cap]) if len(ids) else at_cap
        fraction = float(truncated.mean()) if len(ids) else 0.0
        findings = [self._finding(ids, code, mask, fraction, examples[code])
                    for code, mask in signals.items() if mask.any()]
        if caps:
            findings.append(self._cap_finding(ids, caps[0], fraction))
        details: dict[str, JSON] = {
            "terminal_punctuation_rate": None if np.isnan(rate) else round(rate, 4),
            "punctuation_rule_applied": "no_terminal_punctuation" in signals,
            "by_signal": {code: int(mask.sum()) for code, mask in signals.items()},
            "length_cap": ({"measure": caps[0].measure, "cap": caps[0].cap,
                            "n_records": int(caps[0].positions.size)} if caps else None),
        }
        return Measurement(
            metrics={"truncated_fraction": fraction, "n_truncated": float(truncated.sum()),
                     "terminal_punctuation_rate": rate, "n_at_length_cap": float(at_cap.sum()),
                     "n_unclosed_code": float(sum(int(part["signals"]["unclosed_code_fence"]
                                                      .sum()) for part in partials))},
            findings=tuple(findings), details=details)

    def _finding(self, ids: np.ndarray, code: str, mask: np.ndarray, fraction: float,
                 examples: list[JSON]) -> Finding:
        positions = np.flatnonzero(mask)
        what = {"unclosed_code_fence": "leave a ``` code block open",
                "dangling_ending": "end on a comma, colon, open bracket or a word like 'and'/'the'",
                "unclosed_bracket": "leave two or more brackets open and end unfinished",
                "no_terminal_punctuation": "end on a word without the final punctuation most "
                                           "responses have"}
        return Finding(
            check=self.name, code=code, severity=Severity.WARNING,
            message=f"{positions.size} responses {what[code]}",
            metric="truncated_fraction", value=fraction,
            records=tuple(int(ids[i]) for i in positions),
            n_records=int(positions.size), details={"examples": examples})

    def _cap_finding(self, ids: np.ndarray, cap: LengthCap, fraction: float) -> Finding:
        positions = cap.positions
        return Finding(
            check=self.name, code="length_cap", severity=Severity.WARNING,
            message=f"{positions.size} responses stop unfinished at the maximum length "
                    f"({cap.cap} {cap.measure}): a generation or export cap cut them",
            metric="truncated_fraction", value=fraction,
            records=tuple(int(ids[i]) for i in positions),
            n_records=int(positions.size),
            details={"measure": cap.measure, "cap": cap.cap})
