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
from checks._json_shapes import (
    EMPTY_KIND,
    INVALID_KIND,
    JSON_KIND,
    PYTHON_KIND,
    SCALAR_KIND,
    KeyDeviation,
    compare_keys,
    parse_response,
    type_name,
    walk_fields,
)
from checks._text import normalize, words

ROOT = "$"  # the field name under which the root value's type is reported
_PHONE_CHARS = re.compile(r"[\d\s()+\-./x]+")
_NON_DIGIT = re.compile(r"\D+")
_MAX_TABLE_FIELDS = 60
_MAX_KEY_FINDINGS = 25
_EXCERPT = 80
#: a field whose grounded rate is under half of `extractive_min_grounded` after this many
#: checked values is generated text (a summary, a computed value): checking stops there
_GENERATED_AFTER = 200
_TYPE_NAMES = {str: "string", int: "number", float: "number", bool: "boolean", list: "list",
               dict: "object", type(None): "null"}


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
    """

    name = "structured_output"
    category = "structured_output"
    uses = frozenset({"normalized_prompts"})
    requires = frozenset({Need.RESPONSE})
    metrics = ("json_share", "parse_failure_rate", "python_literal_rate",
               "fence_inconsistency_rate", "wrapper_text_rate", "schema_deviation_rate",
               "max_field_empty_rate", "type_inconsistency_rate", "ungrounded_value_rate")
    default_thresholds = (
        Threshold(metric="parse_failure_rate", warn=0.0, fail=0.01),
        Threshold(metric="python_literal_rate", warn=0.0, fail=0.01),
        Threshold(metric="fence_inconsistency_rate", warn=0.0, fail=0.05),
        Threshold(metric="wrapper_text_rate", warn=0.0, fail=0.05),
        Threshold(metric="schema_deviation_rate", warn=0.0, fail=0.05),
        Threshold(metric="max_field_empty_rate", warn=0.25),
        Threshold(metric="type_inconsistency_rate", warn=0.0, fail=0.05),
        Threshold(metric="ungrounded_value_rate", warn=0.0, fail=0.02),
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

    __slots__ = ("checked", "empty", "examples", "first_type", "generated", "ground",
                 "n_first_type", "n_ungrounded", "other_types", "ungrounded")

    def __init__(self, *, ground: bool) -> None:
        self.ground = ground  # check string values of this field against the prompt
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
        details: dict[str, JSON] = {
            "structured": True,
            "n_structured": len(self.structured_positions),
            "majority_keys": sorted(majority)[:200],
            "n_key_sets": len(self.keysets),
            "fields": [dict(row) for row in field_table[:_MAX_TABLE_FIELDS]],
            "n_fields": len(field_table),
            "generated_fields": generated,
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
        fields = self.fields
        markers = self.markers
        longest_marker = self.longest_marker
        min_chars = self.p.min_grounding_chars
        grounder = self.grounder
        prompt = grounder.prompts[pos] if grounder is not None else ""
        for path, item in zip(paths, values):  # noqa: B905 (aligned by construction)
            stats = fields.get(path)
            if stats is None:
                stats = fields[path] = _FieldStats(
                    ground=grounder is not None and path not in self.skip and path != ROOT)
            kind = _TYPE_NAMES.get(type(item)) or type_name(item)
            if kind == stats.first_type:
                stats.n_first_type += 1
            elif kind != "null":
                stats.add_type(kind, pos)
            if kind == "string":
                text = item.strip()
                if not text or (len(text) <= longest_marker and text.casefold() in markers):
                    stats.add_empty(pos)
                elif stats.ground and len(text) >= min_chars:
                    stats.checked += 1
                    if text not in prompt and not grounder.contains(pos, text):  # type: ignore[union-attr]
                        self._ungrounded(stats, pos, text)
            elif kind == "list":
                if not item:
                    stats.add_empty(pos)
                elif stats.ground:
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
            elif kind == "null" or (kind == "object" and not item):
                stats.add_empty(pos)

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
            rows.append({
                "field": path,
                "present_rate": present[path] / n,
                "empty_rate": len(stats.empty) / present[path] if present[path] else 0.0,
                "dominant_type": dominant,
                "type_consistency": type_counts.get(dominant, 0) / typed if typed else 1.0,
                "types": type_counts,
                "n_checked": stats.checked,
                "grounded_rate": grounded,
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
        extractive = [r for r in table if r["grounded_rate"] is not None
                      and r["grounded_rate"] >= self.p.extractive_min_grounded]
        generated = [r["field"] for r in table if r["grounded_rate"] is not None
                     and r["grounded_rate"] < self.p.extractive_min_grounded]
        checked = sum(r["n_checked"] for r in extractive)
        ungrounded = sum(self.fields[r["field"]].n_ungrounded for r in extractive)
        rate = ungrounded / checked if checked else math.nan
        rows = sorted(extractive, key=lambda r: (r["grounded_rate"], r["field"]))
        for row in rows[:_MAX_KEY_FINDINGS]:
            stats = self.fields[row["field"]]
            if not stats.ungrounded:
                continue
            self._add("ungrounded_values", Severity.WARNING,
                      f"{stats.n_ungrounded} values of field {row['field']!r} do not occur in the "
                      f"prompt ({row['grounded_rate']:.1%} of its values do): hallucinated or "
                      "wrong extractions", "ungrounded_value_rate", rate, stats.ungrounded,
                      {"field": row["field"], "grounded_rate": row["grounded_rate"],
                       "examples": [list(e) for e in stats.examples]})
        return rate, generated

    # -- helpers --------------------------------------------------------------------------------
    def _add(self, code: str, severity: Severity, message: str, metric: str, value: float,
             positions: Sequence[int], details: Mapping[str, JSON]) -> None:
        self.findings.append(Finding(
            check=self.check.name, code=code, severity=severity, message=message, metric=metric,
            value=value, records=tuple(int(self.ids[p]) for p in positions[:1000]),
            n_records=len(positions), details=dict(details)))


def _top(groups: Mapping[Any, list[int]]) -> list[tuple[Any, list[int]]]:
    """The largest groups first (ties by key), capped at the number of findings per kind."""
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:_MAX_KEY_FINDINGS]


def _excerpt(text: str, limit: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
