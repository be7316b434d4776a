"""The structured_output check: JSON responses that parse, keep one shape, and copy from the prompt."""

from __future__ import annotations

import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.errors import InvalidParameterError
from audit.registry import register
from audit.result import JSON, Finding, Measurement, Severity, Threshold
from checks.shared.text import normalize, words
from checks.structured._json_shapes import (
    EMPTY_KIND,
    INVALID_KIND,
    JSON_KIND,
    PYTHON_KIND,
    SCALAR_KIND,
    KeyDeviation,
    KeyMention,
    compare_keys,
    has_number,
    has_token,
    leaf_name,
    number_key,
    numeric_string_key,
    parse_response,
    said_once,
    span_numbers,
    text_numbers,
    type_name,
    value_numbers,
    walk_fields,
    walk_fields_with_parents,
)

ROOT = "$"  # the field name under which the root value's type is reported
_PHONE_CHARS = re.compile(r"[\d\s()+\-./x]+")
_NON_DIGIT = re.compile(r"\D+")
_SPACE = re.compile(r"\s")
_MAX_TABLE_FIELDS = 60
_MAX_KEY_FINDINGS = 25
_EXCERPT = 80
#: a field whose grounded rate is under half of `extractive_min_grounded` after this many
#: checked values is generated text (a summary, a computed value): checking stops there
_GENERATED_AFTER = 200
_TYPE_NAMES = {str: "string", int: "number", float: "number", bool: "boolean", list: "list",
               dict: "object", type(None): "null"}
#: a string without whitespace up to this long is a code ("USD", "P2", "en-GB"): matched as a
#: whole token, and a candidate default value
_CODE_CHARS = 24
#: characters around a number that settle that it is a whole number ("(2019–2024)", "$25)"),
#: so the full look-up (`has_number`: decimals, times, "2pm") can be skipped
_OPENS_NUMBER = frozenset(" \n\t(\"'$€£#[{–—-")
_CLOSES_NUMBER = frozenset(")\"']};!?%–—")
#: distinct unrequested values remembered per field (a default is one of the first seen)
_MAX_CONSTANTS = 256
#: field paths given the request test (keys made of ids or dates would otherwise each cost one)
_MAX_REQUEST_FIELDS = 2_000


@register
class StructuredOutput(Check):
    """JSON responses that do not parse, change shape, leave fields empty or invent values.

    A model fine-tuned to emit JSON (extracting resumes, invoices, tickets into fields) copies
    every habit of its training answers: a few Python-literal dicts (single quotes, True/None),
    code fences or chatter around the JSON, truncated objects, keys that are renamed or missing
    in some records, a field left empty in 30% of answers, a field that is a string here and a
    list there, or a value that is not in the source text at all. Each of these becomes a
    parsing failure or a hallucinated value in production.

    Responses are treated as structured output when `expect_json = true`, or when at least
    `min_parse_share` of the non-empty responses contain a JSON (or Python-literal) object or
    array. Otherwise the check still runs and reports `json_share`, with every other metric NaN
    and no findings: the data is not structured output, which is an answer, not a skip. For chat
    data the final assistant turn is the response; the source text for grounding is the user
    turns and system prompt (Alpaca: instruction and input).

    Measured: parse failures (with the reason: truncated, syntax error, no JSON), Python
    literals, the minority packaging (code-fenced when most are bare, or the reverse), text
    before or after the JSON; the majority key set (keys present in at least `key_majority` of
    records, nested keys as dotted paths, list items as `field[].key`) and the records with
    missing, extra or renamed keys, or, with `json_schema`, the validation errors grouped by
    path; per field, the empty rate ("", [], {}, null, "N/A"...) and the type consistency; and
    grounding: string values (and string list items) of at least `min_grounding_chars` that do
    not occur in the prompt after normalisation (NFKC, case, whitespace; tokens without
    punctuation; digits only for phone-like values). Fields whose values are mostly not in the
    prompt (summaries, computed values) are treated as generated, listed, and not flagged.
    Numbers and strings shorter than `min_grounding_chars` ("P2", "no") are grounded too, as
    whole tokens of the prompt: `1` is not found in "2019" nor `no` in "know"; numbers are
    compared by value (1 = 1.0 = "1", "1,200" = 1200, "five" = 5, "an hour" = 60 minutes; not
    inside times, dates or "2pm"), and in a list item a 1 is also found as "a"/"an"/"one" before
    a word of a sibling value ("a latte" for {"item": "oat latte", "quantity": 1}). An unfound
    one, in a field whose key the prompt mentions and whose values are mostly found, counts as
    `ungrounded_values` when the prompt holds a spare number (one no value of the response
    holds: the number it should have been); with none it is taken as derived ("high priority"
    -> 1).

    Requested fields (`check_unrequested`): a field is requested in a record when the prompt or
    system prompt mentions its key (the words of its name, split on `_`, `-` and camelCase,
    with small words such as "is", "num", "id" dropped, each found as a word or an inflection:
    `num_guests` <- "3 guests", `is_recurring` <- "recurs", `all_day` <- "all-day"; or the key
    written as in a schema), or when its value is found (numbers and codes as whole tokens,
    other strings as above; a boolean by a mention of its key, and a `true` also by
    implication, `implied_true`: "every Monday" -> is_recurring). A number, boolean or code (a
    string without spaces, up to 24 characters) in a field that is neither is an unrequested
    value: the model learns to invent the field. `unrequested_field` flags them in fields
    requested in at least `extractive_min_grounded` of their values (so derived and generated
    fields are left alone); `default_filled_field` flags a field whose unrequested values are
    one constant (`"priority": 1`, `"all_day": false`, `"currency": "USD"`) in at least
    `default_share` of its unrequested records (`default_share_never_requested` for a field
    that is mostly never requested: there constancy is the only evidence, and a label's majority
    class must not pass for a default) and at least `default_min_records` records: a default
    filled in where the request says nothing. `unrequested_field_rate` is the share of
    structured records flagged by either finding; `n_default_filled_fields` counts the
    default-filled fields.
    """

    name = "structured_output"
    category = "structured_output"
    uses = frozenset({"normalized_prompts"})
    requires = frozenset({Need.RESPONSE})
    metrics = ("json_share", "parse_failure_rate", "python_literal_rate",
               "fence_inconsistency_rate", "wrapper_text_rate", "schema_deviation_rate",
               "max_field_empty_rate", "type_inconsistency_rate", "ungrounded_value_rate",
               "unrequested_field_rate", "n_default_filled_fields")
    default_thresholds = (
        Threshold(metric="parse_failure_rate", warn=0.0, fail=0.01),
        Threshold(metric="python_literal_rate", warn=0.0, fail=0.01),
        Threshold(metric="fence_inconsistency_rate", warn=0.0, fail=0.05),
        Threshold(metric="wrapper_text_rate", warn=0.0, fail=0.05),
        Threshold(metric="schema_deviation_rate", warn=0.0, fail=0.05),
        Threshold(metric="max_field_empty_rate", warn=0.25),
        Threshold(metric="type_inconsistency_rate", warn=0.0, fail=0.05),
        Threshold(metric="ungrounded_value_rate", warn=0.0, fail=0.02),
        Threshold(metric="unrequested_field_rate", warn=0.0, fail=0.05),
        Threshold(metric="n_default_filled_fields", warn=0.0),
    )

    @dataclass(frozen=True)
    class Params:
        expect_json: bool = param(False, doc="responses must be JSON (no auto-detection)")
        min_parse_share: float = param(
            0.5, doc="auto-detect structured output when this share of non-empty responses holds "
                     "a JSON object or array", ge=0.0, le=1.0)
        json_schema: str | None = param(
            None, doc="JSON Schema file (path relative to the working directory) every response "
                      "must validate against; needs the jsonschema package")
        max_depth: int = param(3, doc="levels of nested objects walked into dotted field paths",
                               ge=1, le=10)
        key_majority: float = param(
            0.5, doc="a key belongs to the majority key set when present in this share of "
                     "records", gt=0.0, le=1.0)
        rename_similarity: float = param(
            0.8, doc="a missing and an extra key this similar (normalised names, edit "
                     "distance) are reported as a rename", gt=0.0, le=1.0)
        empty_markers: tuple[str, ...] = param(
            ("n/a", "na", "none", "null", "nil", "unknown", "not available", "not provided",
             "not specified", "not mentioned", "-", "--", "tbd"),
            doc="string values that count as empty (case-insensitive)")
        empty_field_share: float = param(
            0.25, doc="report a field empty in more than this share of the records that have it",
            ge=0.0, le=1.0)
        check_grounding: bool = param(True, doc="check that string values occur in the prompt")
        grounding_skip_fields: tuple[str, ...] = param(
            (), doc="field paths not checked for grounding (e.g. computed or free-text fields)")
        min_grounding_chars: int = param(3, doc="shortest string value checked for grounding",
                                         ge=1)
        extractive_min_grounded: float = param(
            0.5, doc="a field counts as extracted (and its ungrounded values are flagged) when at "
                     "least this share of its values occur in the prompt", ge=0.0, le=1.0)
        check_unrequested: bool = param(
            True, doc="flag numbers, booleans and codes in fields whose key the prompt never "
                      "mentions and whose value it does not hold (needs check_grounding)")
        implied_true: bool = param(
            True, doc="a boolean true counts as requested even when the prompt never mentions "
                      "its key: it usually states what the request implies (\"every Monday\" -> "
                      "is_recurring), while defaults are false, 0 or a code")
        default_share: float = param(
            0.6, doc="a field is default-filled when one constant is at least this share of its "
                     "unrequested values (records)", gt=0.0, le=1.0)
        default_share_never_requested: float = param(
            0.9, doc="the share one constant must reach in a field the prompts mostly never ask "
                     "for (requested in under extractive_min_grounded of its values): there "
                     "constancy is the only evidence, and a label with a majority class is no "
                     "default", gt=0.0, le=1.0)
        default_min_records: int = param(
            5, doc="fewest records holding the constant for a default-filled field", ge=1)
        max_examples: int = param(10, doc="example values shown per finding", ge=0, le=100)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._schema = load_json_schema(self.params.json_schema)

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        audit = _Audit(self, data, ctx)
        with ctx.progress("structured output", data.n) as advance:
            for pos, text in enumerate(final_responses(data)):
                audit.add(pos, text)  # one pass; parsed values are not kept
                if pos % 10_000 == 9_999:
                    advance(10_000)
            advance(data.n % 10_000)
        n_nonempty = data.n - audit.kinds[EMPTY_KIND]
        n_structured = audit.kinds[JSON_KIND] + audit.kinds[PYTHON_KIND]
        json_share = n_structured / n_nonempty if n_nonempty else math.nan
        if not n_nonempty or (not self.params.expect_json
                              and not json_share >= self.params.min_parse_share):
            return _not_structured(json_share, n_nonempty, self.params.min_parse_share)
        return audit.measure(json_share, n_nonempty)


def load_json_schema(path: str | None) -> Mapping[str, Any] | None:
    """The JSON Schema in `path`, checked against its metaschema; None when no path is given."""
    if not path:
        return None
    where = f"check 'structured_output' parameter 'json_schema' ({path})"
    file = Path(path)
    if not file.is_file():
        raise InvalidParameterError(
            f"{where}: no such file (relative paths are resolved from {Path.cwd()}). Give the "
            "path of a JSON Schema file, or remove the parameter.")
    try:
        schema = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidParameterError(f"{where}: not a readable JSON file: {exc}") from None
    try:
        import jsonschema
    except ImportError:
        raise InvalidParameterError(
            f"{where}: validating against a JSON Schema needs the jsonschema package; "
            "`pip install jsonschema`") from None
    if not isinstance(schema, dict):
        raise InvalidParameterError(f"{where}: expected a JSON Schema object, got "
                                    f"{type(schema).__name__}")
    validator_cls = jsonschema.validators.validator_for(schema)
    try:
        validator_cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        raise InvalidParameterError(f"{where}: not a valid JSON Schema: {exc.message} "
                                    f"(at {'/'.join(map(str, exc.path)) or 'the root'})") from None
    return schema


def final_responses(data: DatasetView, *, chunk: int = 8192) -> Iterator[str]:
    """Each record's response in order; for chat data the last assistant turn (not all turns
    joined), read from Arrow a chunk at a time so that no second copy of every answer is held."""
    if not data.is_chat or data.n == 0:
        for batch in data.text_batches("response", chunk):
            yield from batch
        return
    messages = data.table.column("messages").combine_chunks()
    flat = pc.list_flatten(messages)
    parents = pc.list_parent_indices(messages).to_numpy()
    is_assistant = pc.fill_null(pc.equal(pc.struct_field(flat, "role"), "assistant"), False)
    turns = np.flatnonzero(is_assistant.to_numpy(zero_copy_only=False))
    last_turn = np.full(data.n, -1, dtype=np.int64)  # flat index of each record's answer
    if turns.size:
        owners = parents[turns]
        last = np.r_[owners[1:] != owners[:-1], True]  # last assistant turn of each record
        last_turn[owners[last]] = turns[last]
    contents = pc.struct_field(flat, "content")
    for start in range(0, data.n, chunk):
        wanted = last_turn[start:start + chunk]
        found = iter(contents.take(pa.array(wanted[wanted >= 0])).to_pylist())
        for index in wanted.tolist():
            yield (next(found) or "") if index >= 0 else ""


def _not_structured(json_share: float, n_nonempty: int, min_share: float) -> Measurement:
    metrics = dict.fromkeys(StructuredOutput.metrics, math.nan)
    metrics["json_share"] = json_share
    share = "no" if math.isnan(json_share) else f"{json_share:.1%} of the"
    return Measurement(metrics=metrics, details={
        "structured": False,
        "reason": f"{share} non-empty responses hold a JSON object or array (auto-detection "
                  f"needs {min_share:.0%}); set expect_json = true if they should",
        "n_nonempty_responses": n_nonempty})


class _FieldStats:
    """What one field path looks like across records (positions, not ids)."""

    __slots__ = ("checked", "constants", "empty", "examples", "first_type", "generated", "ground",
                 "leaf", "mention", "n_first_type", "n_scalar", "n_scalar_found",
                 "n_scalar_ungrounded", "n_tested", "n_ungrounded", "n_unrequested", "other_types",
                 "request", "request_examples", "scalar_examples", "scalar_generated", "scalar_ungrounded",
                 "ungrounded", "unrequested")

    def __init__(self, *, ground: bool, mention: KeyMention | None = None, leaf: str = "") -> None:
        self.ground = ground  # check string values of this field against the prompt
        # the request test: numbers, booleans and codes, when the key is not mentioned
        self.request = mention is not None
        self.mention = mention  # does a (normalised) text mention this field's key?
        self.leaf = leaf
        self.n_tested = 0  # values tested: key mentioned or value found, or neither
        self.n_unrequested = 0  # of those, neither
        self.unrequested: list[int] = []  # positions (once per record)
        self.request_examples: list[tuple[int, JSON]] = []
        #: unrequested values by canonical form: [display value, positions (once per record)]
        self.constants: dict[str, tuple[JSON, array[int]]] = {}
        self.n_scalar = 0  # numbers and short strings checked against the prompt
        self.n_scalar_found = 0  # of those, found
        self.scalar_generated = False  # clearly not extracted: values of requested keys skipped
        self.n_scalar_ungrounded = 0  # of those, not found although the key is mentioned
        self.scalar_ungrounded: list[int] = []
        self.scalar_examples: list[tuple[int, JSON]] = []
        self.empty: list[int] = []  # positions with an empty value (once per record)
        # non-null types: the first type seen is only counted (it is almost always the
        # dominant one); occurrences of any other type keep their positions
        self.first_type = ""
        self.n_first_type = 0
        self.other_types: dict[str, array[int]] = {}
        self.checked = 0  # string values checked for grounding
        self.n_ungrounded = 0  # of those, values not found in the prompt
        self.ungrounded: list[int] = []  # positions with an ungrounded value (once per record)
        self.examples: list[tuple[int, str]] = []
        self.generated = False  # grounding stopped early: the values are clearly not extracted

    def add_type(self, kind: str, pos: int) -> None:
        if not self.first_type:
            self.first_type, self.n_first_type = kind, 1
            return
        positions = self.other_types.get(kind)
        if positions is None:
            positions = self.other_types[kind] = array("i")
        positions.append(pos)

    def add_empty(self, pos: int) -> None:
        if not self.empty or self.empty[-1] != pos:
            self.empty.append(pos)


class _Grounder:
    """Does a value occur in its record's prompt? One normalised prompt per record (the shared
    `normalized_prompts` artifact); token and digit forms only for the record being checked."""

    def __init__(self, prompts: Sequence[str], normalized: Sequence[str],
                 systems: Sequence[str] | None) -> None:
        self.prompts = prompts
        self.normalized = normalized
        self.systems = systems
        self._system_norm: dict[str, str] = {}  # system prompts repeat: normalise each once
        self._pos = -1
        self._tokens: str | None = None
        self._digits: str | None = None
        # the request test: per system prompt (they repeat) and per record, filled lazily
        self._system_mentions: dict[str, dict[str, bool]] = {}  # system -> key name -> hit
        self._system_numbers: dict[tuple[str, str], bool] = {}
        self.rpos = -1  # the record the fields below belong to (set by `start`)
        self.system = ""  # its normalised system prompt
        self.system_mentions: dict[str, bool] = {}  # key names its system prompt mentions
        self._mentions: dict[str, bool] = {}  # key names its prompt or system prompt mentions
        self._spans_pos, self._spans = -1, set[str]()  # `span_numbers` of one record's prompt

    def start(self, pos: int) -> None:
        """Point the per-record state of the request test at record `pos`."""
        self.rpos, self._mentions = pos, {}
        system = self.systems[pos] if self.systems is not None else ""
        if system:
            norm = self._system_norm.get(system)
            if norm is None:
                norm = self._system_norm[system] = normalize(system)
            system = norm
        self.system = system
        mentions = self._system_mentions.get(system)
        if mentions is None:
            mentions = self._system_mentions[system] = {}
        self.system_mentions = mentions

    def mentions(self, pos: int, stats: _FieldStats) -> bool:
        """Does record `pos`'s prompt or system prompt mention the key of `stats`'s field?"""
        if pos != self.rpos:
            self.start(pos)
        leaf = stats.leaf
        hit = self._mentions.get(leaf)
        if hit is None:
            mention = stats.mention
            assert mention is not None
            shared = self.system_mentions.get(leaf)
            if shared is None:
                shared = self.system_mentions[leaf] = bool(self.system) and mention(self.system)
            hit = self._mentions[leaf] = shared or mention(self.normalized[pos])
        return hit

    def has_number(self, pos: int, key: str, *, prompt: bool = True) -> bool:
        """Is the number `key` (`number_key` form) written in record `pos`'s prompt (unless
        `prompt` is false: already looked up there) or system prompt?"""
        if pos != self.rpos:
            self.start(pos)
        request = self.normalized[pos]
        if prompt and has_number(request, key):
            return True
        if self._spans_pos != pos:  # spans of time: "an hour" holds 60 (minutes)
            self._spans_pos, self._spans = pos, span_numbers(request)
        if key in self._spans:
            return True
        system = self.system
        if not system:
            return False
        hit = self._system_numbers.get((system, key))
        if hit is None:
            hit = self._system_numbers[(system, key)] = has_number(system, key)
        return hit

    def has_token(self, pos: int, norm: str) -> bool:
        """Is `norm` (normalised) a whole token, or a run of whole tokens, of the request?"""
        if pos != self.rpos:
            self.start(pos)
        return has_token(self.normalized[pos], norm) or has_token(self.system, norm)

    def counted_by_article(self, pos: int, parent: Mapping[Any, Any]) -> bool:
        """Is a 1 in `parent` (a list item) said as "a"/"an"/"one" before a word of a sibling
        string value ("a latte" for {"item": "oat latte", "quantity": 1})?"""
        text = self.normalized[pos]
        for value in parent.values():
            if isinstance(value, str):
                for word in words(normalize(value)):
                    if len(word) >= 3:
                        if word in text and said_once(text, word):
                            return True
                        break
        return False

    def contains(self, pos: int, value: str) -> bool:
        if value in self.prompts[pos]:
            return True
        norm = normalize(value)
        haystack = self.normalized[pos]
        system = self.systems[pos] if self.systems is not None else ""
        if system:
            system_norm = self._system_norm.get(system)
            if system_norm is None:
                system_norm = self._system_norm[system] = normalize(system)
            haystack = f"{haystack}\n{system_norm}"
        if norm in haystack:
            return True
        if pos != self._pos:
            self._pos, self._tokens, self._digits = pos, None, None
        if self._tokens is None:
            self._tokens = " " + " ".join(words(haystack)) + " "
        tokens = " ".join(words(norm))
        if tokens and f" {tokens} " in self._tokens:
            return True
        digits = _NON_DIGIT.sub("", value)
        if len(digits) >= 7 and _PHONE_CHARS.fullmatch(value):
            if self._digits is None:
                self._digits = _NON_DIGIT.sub("", f"{self.prompts[pos]} {system}")
            return digits in self._digits
        return False


class _Audit:
    """One run's state: accumulates per-record facts in a single pass, then builds findings."""

    def __init__(self, check: StructuredOutput, data: DatasetView, ctx: RunContext) -> None:
        self.check = check
        self.p = check.params
        self.data = data
        self.ctx = ctx
        self.n_nonempty = 0
        self.ids = data.ids
        self.fields: dict[str, _FieldStats] = {}
        self.keyset_of = array("i")  # per structured record: index into self.keysets
        self.keysets: dict[frozenset[str], int] = {}
        self.structured_positions = array("i")
        # packaging: counts per parse kind, and positions (+ a few excerpts) per defect
        self.kinds: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.packaging: dict[str, array[int]] = {
            k: array("i") for k in ("not_json", "python_literal", "fenced", "bare",
                                    "leading_text", "trailing_text")}
        self.excerpts: dict[str, list[list[JSON]]] = {k: [] for k in self.packaging}
        self.validator = self._validator()
        self.skip = frozenset(self.p.grounding_skip_fields)
        self.grounder: _Grounder | None = None
        self.grounding_ready = False
        #: (path, rule) -> (positions, first message)
        self.schema_errors: dict[tuple[str, str], tuple[list[int], str]] = {}
        self.findings: list[Finding] = []
        self.mentions: dict[str, KeyMention] = {}  # one matcher per key name
        self.root: Any = None  # the parsed value of the record being folded in
        self.markers = frozenset(m.casefold().strip() for m in self.p.empty_markers)
        self.longest_marker = max(map(len, self.markers), default=0)

    # -- the single pass ------------------------------------------------------------------------
    def add(self, pos: int, text: str) -> None:
        """Parse one response and fold what it shows into the running state."""
        parsed = parse_response(text)
        self.kinds[parsed.kind] += 1
        if parsed.kind in (INVALID_KIND, SCALAR_KIND):
            self.reasons["json scalar, not an object or array" if parsed.kind == SCALAR_KIND
                         else parsed.error] += 1
            self._note("not_json", pos, text)
            return
        if not parsed.structured:
            return
        if parsed.kind == PYTHON_KIND:
            self._note("python_literal", pos, text)
        self._note("fenced" if parsed.fenced else "bare", pos, "")
        if parsed.leading:
            self._note("leading_text", pos, parsed.leading)
        if parsed.trailing:
            self._note("trailing_text", pos, parsed.trailing)
        if not self.grounding_ready:
            self.grounder, self.grounding_ready = self._grounder(), True
        self.structured_positions.append(pos)
        self._record(pos, parsed.value)
        if self.validator is not None:
            self._validate(pos, parsed.value, self.validator)

    def _note(self, kind: str, pos: int, text: str) -> None:
        self.packaging[kind].append(pos)
        if text and len(self.excerpts[kind]) < self.p.max_examples:
            self.excerpts[kind].append([int(self.ids[pos]), _excerpt(text)])

    def measure(self, json_share: float, n_nonempty: int) -> Measurement:
        """Metrics and findings from the accumulated state."""
        self.n_nonempty = n_nonempty
        validator = self.validator
        grounder = self.grounder
        metrics = dict.fromkeys(StructuredOutput.metrics, math.nan)
        metrics["json_share"] = json_share
        metrics.update(self._packaging())
        if not self.structured_positions:  # declared JSON, but nothing parses
            return Measurement(metrics=metrics, findings=tuple(self.findings),
                               details={"structured": True, "n_structured": 0})
        majority = self._majority_keys()
        field_table = self._field_table(majority)
        if validator is None and majority:
            metrics["schema_deviation_rate"] = self._key_deviations(majority)
        elif validator is None:  # no key is common to most records: there is no schema to hold
            metrics["schema_deviation_rate"] = math.nan
        else:
            metrics["schema_deviation_rate"] = self._schema_violations()
        metrics["max_field_empty_rate"] = self._empty_fields(field_table)
        metrics["type_inconsistency_rate"] = self._mixed_types(field_table)
        metrics["ungrounded_value_rate"], generated = self._grounding(field_table, grounder)
        metrics["unrequested_field_rate"], metrics["n_default_filled_fields"], defaults = \
            self._unrequested_fields(field_table)
        details: dict[str, JSON] = {
            "structured": True,
            "n_structured": len(self.structured_positions),
            "majority_keys": sorted(majority)[:200],
            "n_key_sets": len(self.keysets),
            "fields": [dict(row) for row in field_table[:_MAX_TABLE_FIELDS]],
            "n_fields": len(field_table),
            "generated_fields": generated,
            "default_filled_fields": defaults,
            "schema_validated": validator is not None,
        }
        return Measurement(metrics=metrics, findings=tuple(self.findings), details=details)

    def _grounder(self) -> _Grounder | None:
        if not (self.p.check_grounding and self.data.has_prompt):
            return None
        systems = None
        if "system" in self.data.table.column_names and \
                self.data.table.column("system").null_count < self.data.n:
            systems = self.data.texts("system")
        return _Grounder(self.data.prompts, self.ctx.artifact("normalized_prompts", self.data),
                         systems)

    def _record(self, pos: int, value: Any) -> None:
        """Fold one parsed value into the per-field state (the hot loop: kept flat on purpose)."""
        paths, values = walk_fields(value, self.p.max_depth)
        self.keyset_of.append(self.keysets.setdefault(frozenset(paths), len(self.keysets)))
        paths.append(ROOT)
        values.append(value)
        self.root = value
        fields = self.fields
        markers = self.markers
        longest_marker = self.longest_marker
        min_chars = self.p.min_grounding_chars
        grounder = self.grounder
        code_chars = _CODE_CHARS
        prompt = request = ""
        system_mentions: dict[str, bool] = {}
        if grounder is not None:
            prompt, request = grounder.prompts[pos], grounder.normalized[pos]
            grounder.start(pos)
            system_mentions = grounder.system_mentions
        for path, item in zip(paths, values):  # noqa: B905 (aligned by construction)
            stats = fields.get(path)
            if stats is None:
                stats = fields[path] = self._new_field(path)
            kind = _TYPE_NAMES.get(type(item)) or type_name(item)
            if kind == stats.first_type:
                stats.n_first_type += 1
            elif kind != "null":
                stats.add_type(kind, pos)
            if kind == "string":
                text = item.strip()
                if not text or (len(text) <= longest_marker and text.casefold() in markers):
                    stats.add_empty(pos)
                    continue
                size = len(text)
                found = False
                if stats.ground and size >= min_chars:
                    stats.checked += 1
                    found = text in prompt or grounder.contains(pos, text)  # type: ignore[union-attr]
                    if not found:
                        self._ungrounded(stats, pos, text)
                if stats.request and (size < min_chars or (size <= code_chars and " " not in text)):
                    if size >= min_chars and (system_mentions.get(stats.leaf)
                                              or (found and size >= 5)):
                        # a code in a field the system prompt asks for, or a code of 5 or more
                        # characters found in the prompt (a longer word holding it is unlikely)
                        stats.n_tested += 1
                    else:
                        self._request_string(stats, pos, text, path)
            elif kind == "number":
                if stats.request:
                    if stats.scalar_generated and system_mentions.get(stats.leaf):
                        stats.n_tested += 1  # asked for by the system prompt, and not extracted
                        continue
                    key = str(item) if type(item) is int and item >= 0 else number_key(item)
                    if key is None:
                        continue
                    at = request.find(key)
                    end = at + len(key)
                    if at >= 0 and (  # the common case, kept inline: found as a whole number
                            (end < len(request) and request[end] in _CLOSES_NUMBER
                             and (at == 0 or request[at - 1] in _OPENS_NUMBER))
                            or has_number(request, key)):
                        stats.n_tested += 1
                        stats.n_scalar += 1
                        stats.n_scalar_found += 1
                    else:
                        self._request_number(stats, pos, key, item, path, True)
            elif kind == "boolean":
                if stats.request:
                    self._request_boolean(stats, pos, item)
            elif kind == "list":
                if not item:
                    stats.add_empty(pos)
                    continue
                if stats.ground:
                    for member in item:
                        if not isinstance(member, str):
                            continue
                        text = member.strip()
                        if len(text) < min_chars or (len(text) <= longest_marker
                                                     and text.casefold() in markers):
                            continue
                        stats.checked += 1
                        if text not in prompt and not grounder.contains(pos, text):  # type: ignore[union-attr]
                            self._ungrounded(stats, pos, text)
                if stats.request and not isinstance(item[0], (dict, list)):
                    self._request_list(stats, pos, item, path)
            elif kind == "null" or (kind == "object" and not item):
                stats.add_empty(pos)

    # -- the request test -----------------------------------------------------------------------
    def _new_field(self, path: str) -> _FieldStats:
        ground = self.grounder is not None and path not in self.skip and path != ROOT
        if not (ground and self.p.check_unrequested and len(self.fields) < _MAX_REQUEST_FIELDS):
            return _FieldStats(ground=ground)
        leaf = leaf_name(path)
        mention = self.mentions.get(leaf)
        if mention is None:
            mention = self.mentions[leaf] = KeyMention(leaf)
        return _FieldStats(ground=True, mention=mention, leaf=leaf)

    def _request_boolean(self, stats: _FieldStats, pos: int, value: bool) -> None:
        """A boolean is requested by a mention of its key; `true` also by implication (when
        `implied_true`: "every Monday" -> "is_recurring": true)."""
        stats.n_tested += 1
        if value and self.p.implied_true:
            return
        if not self.grounder.mentions(pos, stats):  # type: ignore[union-attr]
            self._unrequested(stats, pos, "true" if value else "false", value)

    def _request_list(self, stats: _FieldStats, pos: int, items: list[Any], path: str) -> None:
        min_chars = self.p.min_grounding_chars
        system_mentioned = self.grounder.system_mentions.get(stats.leaf)  # type: ignore[union-attr]
        if system_mentioned:
            # asked for by the system prompt: only numbers and short strings need a look
            items = [m for m in items if type(m) is not str or len(m) < min_chars]
            if not items:
                return
        for member in items:
            if isinstance(member, bool):
                self._request_boolean(stats, pos, member)
            elif isinstance(member, (int, float)):
                self._request_number(stats, pos, number_key(member), member, "", True)
            elif isinstance(member, str):
                text = member.strip()
                if not text or (len(text) <= self.longest_marker and text.casefold() in self.markers):
                    continue
                if system_mentioned and len(text) >= self.p.min_grounding_chars:
                    if len(text) <= _CODE_CHARS and " " not in text:
                        stats.n_tested += 1
                else:
                    self._request_string(stats, pos, text, "")

    def _request_number(self, stats: _FieldStats, pos: int, key: str | None, value: JSON,
                        path: str, scalar: bool) -> None:
        """A number: found in the request (as a whole number), else requested by a key mention
        (then, when `scalar`, an ungrounded value), else unrequested. `path`: the field's path
        when the value is the field's own (not a member of a list)."""
        if key is None:
            return
        grounder = self.grounder
        assert grounder is not None
        stats.n_tested += 1
        if scalar:
            stats.n_scalar += 1
        if grounder.has_number(pos, key) or (key == "1" and "[]" in path and any(
                grounder.counted_by_article(pos, parent) for parent in self._holding(path, key))):
            if scalar:
                stats.n_scalar_found += 1
            return
        if grounder.mentions(pos, stats):
            if scalar:
                self._scalar_ungrounded(stats, pos, value)
            return
        self._unrequested(stats, pos, key, value)

    def _spare_numbers(self, positions: Sequence[int]) -> set[int]:
        """The records among `positions` whose request holds a number that no value of their
        response holds. A requested number that is not in its request is a wrong one when the
        request has another number it could have been, and a derived one ("an hour" -> 60,
        "high priority" -> 1) when it has none. Their responses are parsed again (only those)."""
        grounder = self.grounder
        assert grounder is not None
        wanted = sorted(set(positions))
        spare = set()
        for pos, text in zip(wanted, final_responses(self.data.take(wanted))):  # noqa: B905
            numbers = text_numbers(grounder.normalized[pos])
            if numbers and numbers - value_numbers(parse_response(text).value):
                spare.add(pos)
        return spare

    def _holding(self, path: str, key: str) -> list[Mapping[Any, Any]]:
        """The objects of the current record that hold the number `key` at `path` (a rare
        look-up: the record is walked again)."""
        paths, values, parents = walk_fields_with_parents(self.root, self.p.max_depth)
        return [o for p, v, o in zip(paths, values, parents)  # noqa: B905 (aligned)
                if p == path and (numeric_string_key(v) if isinstance(v, str)
                                  else number_key(v)) == key]

    def _request_string(self, stats: _FieldStats, pos: int, text: str, path: str) -> None:
        """Numeric strings as numbers; short strings (under `min_grounding_chars`) and codes
        (no whitespace, up to `_CODE_CHARS`) as whole tokens; longer text is left to the string
        grounding."""
        grounder = self.grounder
        assert grounder is not None
        if len(text) < self.p.min_grounding_chars:
            number = numeric_string_key(text)
            if number is not None:
                self._request_number(stats, pos, number, text, path, True)
                return
            stats.n_tested += 1
            stats.n_scalar += 1
            norm = normalize(text)
            if grounder.has_token(pos, norm):
                stats.n_scalar_found += 1
            elif grounder.mentions(pos, stats):
                self._scalar_ungrounded(stats, pos, text)
            else:
                self._unrequested(stats, pos, norm, text)
            return
        if len(text) > _CODE_CHARS or _SPACE.search(text):
            return
        stats.n_tested += 1
        if grounder.mentions(pos, stats):
            return
        number = numeric_string_key(text)
        if number is not None:
            if not grounder.has_number(pos, number):
                self._unrequested(stats, pos, number, text)
            return
        norm = normalize(text)
        if not grounder.has_token(pos, norm):
            self._unrequested(stats, pos, norm, text)

    def _scalar_ungrounded(self, stats: _FieldStats, pos: int, value: JSON) -> None:
        stats.n_scalar_ungrounded += 1
        if not stats.scalar_ungrounded or stats.scalar_ungrounded[-1] != pos:
            stats.scalar_ungrounded.append(pos)
        if len(stats.scalar_examples) < self.p.max_examples:
            stats.scalar_examples.append((int(self.ids[pos]), _shown(value)))
        if stats.n_scalar >= _GENERATED_AFTER and \
                stats.n_scalar_found < stats.n_scalar * self.p.extractive_min_grounded / 2:
            stats.scalar_generated = True  # computed values: stop looking them up

    def _unrequested(self, stats: _FieldStats, pos: int, key: str, value: JSON) -> None:
        stats.n_unrequested += 1
        if not stats.unrequested or stats.unrequested[-1] != pos:
            stats.unrequested.append(pos)
        if len(stats.request_examples) < self.p.max_examples:
            stats.request_examples.append((int(self.ids[pos]), _shown(value)))
        entry = stats.constants.get(key)
        if entry is None:
            if len(stats.constants) >= _MAX_CONSTANTS:
                return
            entry = stats.constants[key] = (_shown(value), array("i"))
        positions = entry[1]
        if not positions or positions[-1] != pos:
            positions.append(pos)

    def _ungrounded(self, stats: _FieldStats, pos: int, text: str) -> None:
        stats.n_ungrounded += 1
        if not stats.ungrounded or stats.ungrounded[-1] != pos:
            stats.ungrounded.append(pos)
        if len(stats.examples) < self.p.max_examples:
            stats.examples.append((int(self.ids[pos]), _excerpt(text)))
        if stats.checked >= _GENERATED_AFTER and (stats.checked - stats.n_ungrounded) < \
                stats.checked * self.p.extractive_min_grounded / 2:
            stats.ground, stats.generated = False, True  # clearly not extracted: stop checking

    def _validator(self) -> Any:
        if self.check._schema is None:
            return None
        import jsonschema

        schema = self.check._schema
        return jsonschema.validators.validator_for(schema)(schema)

    def _validate(self, pos: int, value: Any, validator: Any) -> None:
        for error in validator.iter_errors(value):
            path = "$" + "".join("[]" if isinstance(p, int) else f".{p}"
                                 for p in error.absolute_path)
            what = error.message if error.validator in ("required", "additionalProperties") \
                else str(error.validator)
            positions, _ = self.schema_errors.setdefault((path, what), ([], error.message))
            if not positions or positions[-1] != pos:
                positions.append(pos)

    # -- packaging ------------------------------------------------------------------------------
    def _packaging(self) -> dict[str, float]:
        n = self.n_nonempty
        failed, literal = self.packaging["not_json"], self.packaging["python_literal"]
        fenced, bare = self.packaging["fenced"], self.packaging["bare"]
        leading, trailing = self.packaging["leading_text"], self.packaging["trailing_text"]
        wrapped = len(set(leading) | set(trailing)) / n
        if failed:
            self._add("not_json", Severity.ERROR,
                      f"{len(failed)} of {n} non-empty responses hold no parseable JSON object or "
                      "array", "parse_failure_rate", len(failed) / n, failed,
                      {"reasons": dict(sorted(self.reasons.items())),
                       "examples": self.excerpts["not_json"]})
        if literal:
            self._add("python_literal", Severity.ERROR,
                      f"{len(literal)} responses are Python literals (single quotes, True/None), "
                      "not JSON", "python_literal_rate", len(literal) / n, literal,
                      {"examples": self.excerpts["python_literal"]})
        minority, code = (fenced, "code_fenced_json") if len(fenced) <= len(bare) \
            else (bare, "bare_json")
        if minority:
            how = "inside a ``` code fence while most are bare" if code == "code_fenced_json" \
                else "bare while most are inside a ``` code fence"
            self._add(code, Severity.WARNING, f"{len(minority)} responses are JSON {how}",
                      "fence_inconsistency_rate", len(minority) / n, minority,
                      {"n_fenced": len(fenced), "n_bare": len(bare)})
        for code, positions, side in (("leading_text", leading, "before"),
                                      ("trailing_text", trailing, "after")):
            if positions:
                self._add(code, Severity.WARNING,
                          f"{len(positions)} responses have text {side} the JSON",
                          "wrapper_text_rate", wrapped, positions,
                          {"examples": self.excerpts[code]})
        return {"parse_failure_rate": len(failed) / n, "python_literal_rate": len(literal) / n,
                "fence_inconsistency_rate": len(minority) / n, "wrapper_text_rate": wrapped}

    # -- keys -----------------------------------------------------------------------------------
    def _keyset_counts(self) -> Counter[int]:
        return Counter(self.keyset_of)

    def _majority_keys(self) -> frozenset[str]:
        counts = self._keyset_counts()
        by_index = {index: keys for keys, index in self.keysets.items()}
        key_counts: Counter[str] = Counter()
        for index, count in counts.items():
            for key in by_index[index]:
                key_counts[key] += count
        needed = self.p.key_majority * len(self.structured_positions)
        return frozenset(k for k, c in key_counts.items() if c >= needed)

    def _key_deviations(self, majority: frozenset[str]) -> float:
        deviations: dict[int, KeyDeviation] = {
            index: compare_keys(keys, majority, rename_similarity=self.p.rename_similarity)
            for keys, index in self.keysets.items()}
        missing: dict[str, list[int]] = {}
        extra: dict[str, list[int]] = {}
        renamed: dict[tuple[str, str], list[int]] = {}
        deviating = 0
        for pos, index in zip(self.structured_positions, self.keyset_of, strict=True):
            deviation = deviations[index]
            if not deviation:
                continue
            deviating += 1
            for key in deviation.missing:
                missing.setdefault(key, []).append(pos)
            for key in deviation.extra:
                extra.setdefault(key, []).append(pos)
            for pair in deviation.renamed:
                renamed.setdefault(pair, []).append(pos)
        rate = deviating / len(self.structured_positions)
        for (expected, used), positions in _top(renamed):
            self._add("renamed_key", Severity.WARNING,
                      f"{len(positions)} records use key {used!r} where most use {expected!r}",
                      "schema_deviation_rate", rate, positions,
                      {"expected": expected, "used": used})
        for key, positions in _top(missing):
            self._add("missing_key", Severity.WARNING,
                      f"{len(positions)} records lack key {key!r} of the majority key set",
                      "schema_deviation_rate", rate, positions, {"key": key})
        for key, positions in _top(extra):
            self._add("extra_key", Severity.WARNING,
                      f"{len(positions)} records have key {key!r}, outside the majority key set",
                      "schema_deviation_rate", rate, positions, {"key": key})
        return rate

    def _schema_violations(self) -> float:
        violating = {pos for positions, _ in self.schema_errors.values() for pos in positions}
        rate = len(violating) / len(self.structured_positions)
        groups = sorted(self.schema_errors.items(), key=lambda kv: (-len(kv[1][0]), kv[0]))
        for (path, what), (positions, message) in groups[:_MAX_KEY_FINDINGS]:
            self._add("schema_violation", Severity.WARNING,
                      f"{len(positions)} records fail the JSON Schema at {path}: {_excerpt(message)}",
                      "schema_deviation_rate", rate, positions,
                      {"path": path, "rule": what, "example": _excerpt(message)})
        return rate

    # -- fields ---------------------------------------------------------------------------------
    def _field_table(self, majority: frozenset[str]) -> list[dict[str, Any]]:
        counts = self._keyset_counts()
        by_index = {index: keys for keys, index in self.keysets.items()}
        present: Counter[str] = Counter()
        for index, count in counts.items():
            for key in by_index[index]:
                present[key] += count
        n = len(self.structured_positions)
        present[ROOT] = n
        rows = []
        for path in sorted(self.fields):
            stats = self.fields[path]
            type_counts = {t: len(p) for t, p in stats.other_types.items()}
            if stats.first_type:
                type_counts[stats.first_type] = stats.n_first_type
            typed = sum(type_counts.values())
            dominant = max(sorted(type_counts), key=type_counts.__getitem__) if typed else "null"
            grounded = 1 - stats.n_ungrounded / stats.checked if stats.checked else None
            requested = 1 - stats.n_unrequested / stats.n_tested if stats.n_tested else None
            scalar = stats.n_scalar_found / stats.n_scalar if stats.n_scalar else None
            rows.append({
                "field": path,
                "present_rate": present[path] / n,
                "empty_rate": len(stats.empty) / present[path] if present[path] else 0.0,
                "dominant_type": dominant,
                "type_consistency": type_counts.get(dominant, 0) / typed if typed else 1.0,
                "types": type_counts,
                "n_checked": stats.checked,
                "grounded_rate": grounded,
                "n_scalar_checked": stats.n_scalar,
                "scalar_grounded_rate": scalar,
                "n_request_tested": stats.n_tested,
                "requested_rate": requested,
                "majority": path in majority or path == ROOT,
            })
        return rows

    def _empty_fields(self, table: list[dict[str, Any]]) -> float:
        rows = [r for r in table if r["majority"] and r["field"] != ROOT]
        worst = max((r["empty_rate"] for r in rows), default=0.0)
        for row in sorted(rows, key=lambda r: (-r["empty_rate"], r["field"])):
            if row["empty_rate"] <= self.p.empty_field_share:
                break
            positions = self.fields[row["field"]].empty
            self._add("often_empty_field", Severity.WARNING,
                      f"field {row['field']!r} is empty in {row['empty_rate']:.0%} of the records "
                      "that have it: the model learns to leave it empty",
                      "max_field_empty_rate", row["empty_rate"], positions,
                      {"field": row["field"], "empty_rate": row["empty_rate"]})
        return worst

    def _mixed_types(self, table: list[dict[str, Any]]) -> float:
        flagged: set[int] = set()
        groups = []
        for row in table:
            if not row["majority"] or row["type_consistency"] >= 1.0:
                continue
            minority = sorted(self._minority_positions(row["field"], row["dominant_type"]))
            flagged.update(minority)
            groups.append((row, minority))
        rate = len(flagged) / len(self.structured_positions)
        groups.sort(key=lambda g: (-len(g[1]), g[0]["field"]))
        for row, positions in groups[:_MAX_KEY_FINDINGS]:
            others = {t: c for t, c in row["types"].items() if t != row["dominant_type"]}
            self._add("mixed_types", Severity.WARNING,
                      f"field {row['field']!r} is a {row['dominant_type']} in most records but "
                      f"{', '.join(f'a {t} in {c}' for t, c in sorted(others.items()))}",
                      "type_inconsistency_rate", rate, positions,
                      {"field": row["field"], "types": row["types"]})
        return rate

    def _minority_positions(self, path: str, dominant: str) -> set[int]:
        """Positions of records where `path` has a type other than `dominant`."""
        stats = self.fields[path]
        minority = {int(p) for t, ps in stats.other_types.items() if t != dominant for p in ps}
        if stats.first_type and stats.first_type != dominant:
            # the first type seen is not the dominant one: its records are those that have the
            # path without any occurrence of another type (exact for paths outside lists)
            others = {int(p) for ps in stats.other_types.values() for p in ps}
            minority |= self._positions_with(path) - others
        return minority

    def _positions_with(self, path: str) -> set[int]:
        if path == ROOT:
            return set(self.structured_positions)
        having = {index for keys, index in self.keysets.items() if path in keys}
        return {pos for pos, index in zip(self.structured_positions, self.keyset_of, strict=True)
                if index in having}

    def _grounding(self, table: list[dict[str, Any]],
                   grounder: _Grounder | None) -> tuple[float, list[str]]:
        if grounder is None:
            return math.nan, []
        least = self.p.extractive_min_grounded
        extractive = [r for r in table if r["grounded_rate"] is not None
                      and r["grounded_rate"] >= least]
        generated = [r["field"] for r in table if r["grounded_rate"] is not None
                     and r["grounded_rate"] < least]
        # numbers and short strings, whole tokens: a second grounded rate per field
        scalar = [r for r in table if r["scalar_grounded_rate"] is not None
                  and r["scalar_grounded_rate"] >= least]
        # unfound numbers of extracted fields: wrong only where the request has a spare number
        candidates = [p for r in scalar for p in self.fields[r["field"]].scalar_ungrounded]
        spare = self._spare_numbers(candidates) if candidates else set()
        for row in scalar:
            stats = self.fields[row["field"]]
            if stats.scalar_ungrounded:
                kept = [p for p in stats.scalar_ungrounded if p in spare]
                ids = {int(self.ids[p]) for p in kept}
                stats.n_scalar_ungrounded = len(kept)
                stats.scalar_ungrounded = kept
                stats.scalar_examples = [e for e in stats.scalar_examples if e[0] in ids]
        checked = sum(r["n_checked"] for r in extractive) + \
            sum(r["n_scalar_checked"] for r in scalar)
        ungrounded = sum(self.fields[r["field"]].n_ungrounded for r in extractive) + \
            sum(self.fields[r["field"]].n_scalar_ungrounded for r in scalar)
        rate = ungrounded / checked if checked else math.nan
        groups = [(r["grounded_rate"], r["field"], "string", r) for r in extractive] + \
            [(r["scalar_grounded_rate"], r["field"], "number or short string", r) for r in scalar]
        groups.sort(key=lambda g: (g[0], g[1], g[2]))
        for grounded, field, kind, _ in groups[:_MAX_KEY_FINDINGS]:
            stats = self.fields[field]
            if kind == "string":
                n, positions, examples = stats.n_ungrounded, stats.ungrounded, stats.examples
            else:
                n, positions, examples = (stats.n_scalar_ungrounded, stats.scalar_ungrounded,
                                          stats.scalar_examples)
            if not positions:
                continue
            what = "values" if kind == "string" else "numbers or short values"
            self._add("ungrounded_values", Severity.WARNING,
                      f"{n} {what} of field {field!r} do not occur in the prompt ({grounded:.1%} "
                      "of its values do): hallucinated or wrong extractions",
                      "ungrounded_value_rate", rate, positions,
                      {"field": field, "grounded_rate": grounded, "value_kind": kind,
                       "examples": [list(e) for e in examples]})
        return rate, generated

    def _unrequested_fields(self, table: list[dict[str, Any]]) -> tuple[float, float, list[JSON]]:
        """`unrequested_field` for fields mostly requested elsewhere, `default_filled_field` for
        fields whose unrequested values are mostly one constant; the rate of records flagged."""
        if self.grounder is None or not self.p.check_unrequested:
            return math.nan, math.nan, []
        flagged: set[int] = set()
        unrequested: list[tuple[float, str, _FieldStats]] = []
        defaults: list[tuple[float, str, JSON, array[int], _FieldStats]] = []
        for row in table:
            stats = self.fields[row["field"]]
            if not stats.unrequested:
                continue
            requested_elsewhere = row["requested_rate"] >= self.p.extractive_min_grounded
            if requested_elsewhere:
                unrequested.append((row["requested_rate"], row["field"], stats))
                flagged.update(stats.unrequested)
            value, positions = max(stats.constants.values(), key=lambda e: (len(e[1]), str(e[0])))
            share = len(positions) / len(stats.unrequested)
            least = self.p.default_share if requested_elsewhere else \
                max(self.p.default_share, self.p.default_share_never_requested)
            if share >= least and len(positions) >= self.p.default_min_records:
                defaults.append((share, row["field"], value, positions, stats))
                flagged.update(positions)
        rate = len(flagged) / len(self.structured_positions)
        unrequested.sort(key=lambda u: (-len(u[2].unrequested), u[1]))
        for requested, field, stats in unrequested[:_MAX_KEY_FINDINGS]:
            n = len(stats.unrequested)
            self._add("unrequested_field", Severity.WARNING,
                      f"{n} records have field {field!r} although their prompt never mentions it "
                      f"and does not hold its value (it is requested or found in {requested:.1%} "
                      "of its values): the model learns to invent the field",
                      "unrequested_field_rate", rate, stats.unrequested,
                      {"field": field, "requested_rate": requested,
                       "n_unrequested_values": stats.n_unrequested,
                       "values": _top_values(stats.constants),
                       "examples": [list(e) for e in stats.request_examples]})
        defaults.sort(key=lambda d: (-len(d[3]), d[1]))
        listed: list[JSON] = []
        for share, field, value, positions, stats in defaults[:_MAX_KEY_FINDINGS]:
            n_field = len(stats.unrequested)
            self._add("default_filled_field", Severity.WARNING,
                      f"field {field!r} is {json.dumps(value)} in {len(positions)} of the "
                      f"{n_field} records whose prompt neither mentions it nor holds its value "
                      f"({share:.0%}): a default the model learns to fill in",
                      "n_default_filled_fields", len(defaults), positions,
                      {"field": field, "value": value, "share": share,
                       "n_unrequested_records": n_field, "values": _top_values(stats.constants)})
            listed.append({"field": field, "value": value, "share": share,
                           "n_records": len(positions)})
        return rate, float(len(defaults)), listed

    # -- helpers --------------------------------------------------------------------------------
    def _add(self, code: str, severity: Severity, message: str, metric: str, value: float,
             positions: Sequence[int], details: Mapping[str, JSON]) -> None:
        self.findings.append(Finding(
            check=self.check.name, code=code, severity=severity, message=message, metric=metric,
            value=value, records=tuple(int(self.ids[p]) for p in positions),
            n_records=len(positions), details=dict(details)))


def _top_values(constants: Mapping[str, tuple[JSON, array[int]]], k: int = 5) -> list[JSON]:
    """The most frequent unrequested values of a field: [[value, records], ...]."""
    ranked = sorted(constants.values(), key=lambda e: (-len(e[1]), str(e[0])))
    return [[value, len(positions)] for value, positions in ranked[:k]]


def _top(groups: Mapping[Any, list[int]]) -> list[tuple[Any, list[int]]]:
    """The largest groups first (ties by key), capped at the number of findings per kind."""
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:_MAX_KEY_FINDINGS]


def _shown(value: JSON) -> JSON:
    """A value as shown in a finding: strings cut to an excerpt, numbers and booleans as is."""
    return _excerpt(value) if isinstance(value, str) else value


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
