"""The `ft-audit fix` policy: which findings become which changes, each action switchable.

A policy file is TOML with one table per action; every action has `enabled`, and the opt-in
ones (`default_fields`, `relabel`, `conflicts`) are off unless a file turns them on. Unknown
tables, keys and values are errors with a "did you mean". `ft-audit fix --policy-template`
prints the default policy with every option documented:

    [duplicates]
    near = false            # exact duplicates only

    [pii]
    types = ["email", "phone", "secret"]

    [relabel]
    enabled = true
    min_confidence = 0.95
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.errors import ConfigError, did_you_mean
from checks.integrity import REPAIR_ORDER
from checks.privacy import MASKABLE_TYPES

#: PII types the `pii` check reports (masked with typed placeholders), and the trained-spaCy
#: entity types it adds when a pipeline is configured
PII_TYPES = MASKABLE_TYPES
HYGIENE_KINDS = REPAIR_ORDER
TRUNCATION_CODES = ("unclosed_code_fence", "dangling_ending", "unclosed_bracket",
                    "no_terminal_punctuation", "length_cap")
LEAK_KINDS = ("exact", "near_duplicate", "ngram")


@dataclass(frozen=True)
class Option:
    """One setting of an action: its default, what it means, and the values it accepts."""

    name: str
    default: Any
    doc: str
    choices: tuple[str, ...] = ()  # for a string or a list of strings: the allowed values
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ActionSpec:
    """One action of the policy: what it does, whether it is on by default, the checks whose
    findings it reads, and the metrics it brings to zero (or to one, for `n_no_input_variants`)
    on the data it writes."""

    name: str
    doc: str
    enabled: bool
    checks: tuple[str, ...]
    options: tuple[Option, ...] = ()
    acts_on: tuple[tuple[str, str], ...] = ()  # (check, metric)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "duplicates",
        "keep one record per exact / near-duplicate cluster: the first in input order (the "
        "smallest id), as `ft-audit dedupe` does; the rest are dropped",
        True, ("exact_duplicates", "near_duplicates"),
        (Option("near", True, "also near duplicates (the near_duplicates check); false: "
                              "exact duplicates only"),),
        (("exact_duplicates", "duplicate_fraction"),
         ("near_duplicates", "near_duplicate_fraction"))),
    ActionSpec(
        "eval_leaks",
        "drop the training records that leak into the evaluation set (--eval or an eval "
        "split) or a --contamination benchmark; each leaked evaluation record names the "
        "training copy found for it",
        True, ("eval_leakage",),
        (Option("kinds", ["exact", "near_duplicate"],
                "leak kinds to act on; \"ngram\" (a shared run of 13 words) is off by default: "
                "on templated data it names records that only share boilerplate",
                choices=LEAK_KINDS),
         Option("benchmarks", True, "also records found in a --contamination benchmark")),
        (("eval_leakage", "n_exact"), ("eval_leakage", "n_near_duplicate"))),
    ActionSpec(
        "empty_responses", "drop records whose response (or an assistant turn) is empty",
        True, ("empty_responses",), (),
        (("empty_responses", "empty_fraction"),)),
    ActionSpec(
        "placeholders",
        "drop records whose response is a placeholder (N/A, <nooutput>, TBD, Lorem ipsum...)",
        True, ("placeholder_responses",),
        (Option("possible", False, "also responses that may be placeholders (\"None\", "
                                   "\"null\", \"Same\"): sometimes a real answer"),),
        (("placeholder_responses", "placeholder_fraction"),)),
    ActionSpec(
        "no_input_markers",
        "blank an Alpaca input field that only says there is no input ('<noinput>', 'No "
        "input') when most records leave it blank",
        True, ("placeholder_responses",), (),
        (("placeholder_responses", "n_no_input_variants"),)),
    ActionSpec(
        "refusals", "drop records whose response is a refusal or an AI disclaimer",
        True, ("refusals",),
        (Option("boilerplate", False, "also responses that answer and then add disclaimer "
                                      "boilerplate"),),
        (("refusals", "refusal_fraction"),)),
    ActionSpec(
        "truncation", "drop records whose response is cut off",
        True, ("truncation",),
        (Option("codes", list(TRUNCATION_CODES), "truncation signals to act on",
                choices=TRUNCATION_CODES),),
        (("truncation", "truncated_fraction"),)),
    ActionSpec(
        "unavailable_context",
        "drop records whose prompt needs something the model will not see (a link, an "
        "attachment, an image) or whose response pretends to see it",
        True, ("unavailable_context",), (),
        (("unavailable_context", "unavailable_context_fraction"),)),
    ActionSpec(
        "structured_output",
        "repair JSON responses that need no guessing (a Python literal becomes JSON with the "
        "same key order, in the dataset's JSON style; a code fence or text around the JSON is "
        "stripped) and drop the ones with no parseable JSON",
        True, ("structured_output",),
        (Option("drop_unparseable", True, "drop responses with no parseable JSON object or "
                                          "array (truncated, broken)"),),
        (("structured_output", "parse_failure_rate"),
         ("structured_output", "python_literal_rate"),
         ("structured_output", "fence_inconsistency_rate"),
         ("structured_output", "wrapper_text_rate"))),
    ActionSpec(
        "control_characters",
        "strip control characters, terminal escape codes, invisible and replacement "
        "characters; decode mojibake; turn stray written-out escapes (\\n, \\u00e9) outside "
        "code into the characters they stand for",
        True, ("control_characters",),
        (Option("kinds", list(HYGIENE_KINDS), "kinds of defect to repair",
                choices=HYGIENE_KINDS),),
        (("control_characters", "flagged_fraction"),)),
    ActionSpec(
        "pii",
        "mask personal data and secrets with typed placeholders (<EMAIL>, <PHONE>, "
        "<CREDIT_CARD>, <NATIONAL_ID>, <BANK_ACCOUNT>, <IP_ADDRESS>, <SECRET>, "
        "<STREET_ADDRESS>, <PERSON>, <LOCATION>)",
        True, ("pii",),
        (Option("types", list(PII_TYPES), "PII types to mask", choices=PII_TYPES),
         Option("placeholders", False, "also mask documentation values of a PII shape "
                                       "(example.com, test card numbers) that the check "
                                       "reports apart as placeholder_pii")),
        (("pii", "pii_fraction"), ("pii", "secret_fraction"))),
    ActionSpec(
        "default_fields",
        "opt-in: remove a default-filled field (one constant, e.g. \"priority\": 1, where the "
        "request never asks for it) from the responses that hold it",
        False, ("structured_output",), (),
        (("structured_output", "n_default_filled_fields"),)),
    ActionSpec(
        "relabel",
        "opt-in: give likely mislabelled records the label the label_issues probe suggests, "
        "when its confidence that the given label is wrong (1 - label_quality) reaches "
        "min_confidence",
        False, ("label_issues",),
        (Option("min_confidence", None, "required when enabled: 0 to 1; 0.9 relabels only "
                                        "records whose given label has a quality under 0.1",
                minimum=0.0, maximum=1.0),),
        ()),
    ActionSpec(
        "conflicts",
        "opt-in: in each group of records with the same prompt and different responses (or "
        "labels), keep the majority variant and drop the others",
        False, ("conflicting_responses",),
        (Option("ties", "drop", "a group with no majority: \"drop\" every record of it, or "
                                "\"keep_first\" the variant of its first record",
                choices=("drop", "keep_first")),
         Option("labels", True, "also groups with different labels (labelled data)")),
        (("conflicting_responses", "conflicting_fraction"),)),
)
ACTION_NAMES = tuple(a.name for a in ACTIONS)
SPECS: Mapping[str, ActionSpec] = {a.name: a for a in ACTIONS}


@dataclass(frozen=True)
class ActionSettings:
    enabled: bool
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FixPolicy:
    """Settings per action (`ACTIONS`), validated."""

    actions: Mapping[str, ActionSettings]
    source: str | None = None

    def on(self, name: str) -> bool:
        return self.actions[name].enabled

    def option(self, name: str, option: str) -> Any:
        return self.actions[name].options[option]

    def enabled(self) -> tuple[str, ...]:
        return tuple(a for a in ACTION_NAMES if self.on(a))

    def checks(self) -> tuple[str, ...]:
        """The checks whose findings the enabled actions read, in action order."""
        return tuple(dict.fromkeys(
            c for a in self.enabled() for c in SPECS[a].checks
            if not (a == "duplicates" and c == "near_duplicates" and not self.option(a, "near"))))

    def acts_on(self) -> tuple[tuple[str, str], ...]:
        """(check, metric) pairs the enabled actions bring to zero on the written data."""
        pairs: list[tuple[str, str]] = []
        for name in self.enabled():
            for check, metric in SPECS[name].acts_on:
                if name == "duplicates" and check == "near_duplicates" and \
                        not self.option(name, "near"):
                    continue
                if name == "eval_leaks":
                    kind = metric.removeprefix("n_")
                    if kind not in self.option(name, "kinds"):
                        continue
                pairs.append((check, metric))
        return tuple(pairs)

    def to_dict(self) -> dict[str, Any]:
        return {name: {"enabled": s.enabled, **dict(s.options)} for name, s in self.actions.items()}


def default_policy() -> FixPolicy:
    return policy_from_dict({})


def only(*names: str, **options: Mapping[str, Any]) -> FixPolicy:
    """A policy with only the named actions on (e.g. `dedupe`: duplicates and eval_leaks),
    each with the given option overrides."""
    unknown = [n for n in (*names, *options) if n not in SPECS]
    if unknown:
        raise ConfigError(f"unknown fix action(s): {', '.join(unknown)}")
    data: dict[str, Any] = {a: {"enabled": a in names} for a in ACTION_NAMES}
    for name, values in options.items():
        data[name].update(values)
    return policy_from_dict(data, source="<built-in>")


def load_policy(path: str | Path | None) -> FixPolicy:
    """The policy in a TOML file; the default policy when `path` is None."""
    if path is None:
        return default_policy()
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: no such policy file (print a template with "
                          "`ft-audit fix --policy-template`)")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return policy_from_dict(data, source=str(file))


def policy_from_dict(data: Mapping[str, Any], *, source: str | None = None) -> FixPolicy:
    """Validate a parsed policy (the TOML document) into a `FixPolicy`."""
    where = source or "policy"
    for name in data:
        if name not in SPECS:
            raise ConfigError(f"{where}: unknown action [{name}].{did_you_mean(name, SPECS)} "
                              f"Actions: {', '.join(ACTION_NAMES)}.")
    actions = {}
    for spec in ACTIONS:
        table = data.get(spec.name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}: [{spec.name}] must be a table, got {table!r}")
        actions[spec.name] = _settings(spec, table, where)
    return FixPolicy(actions=actions, source=source)


def _settings(spec: ActionSpec, table: Mapping[str, Any], where: str) -> ActionSettings:
    here = f"{where} [{spec.name}]"
    allowed = ("enabled", *(o.name for o in spec.options))
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{here}: unknown key {key!r}.{did_you_mean(key, allowed)} "
                              f"Allowed: {', '.join(allowed)}.")
    enabled = table.get("enabled", spec.enabled)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{here}: enabled must be true or false, got {enabled!r}")
    options = {o.name: _option(o, table.get(o.name, o.default), here) for o in spec.options}
    if spec.name == "relabel" and enabled and options["min_confidence"] is None:
        raise ConfigError(f"{here}: relabelling needs min_confidence (0 to 1): the confidence "
                          "that a given label is wrong (1 - label_quality) from which a record "
                          "gets the suggested label, e.g. min_confidence = 0.9")
    return ActionSettings(enabled=enabled, options=options)


def _option(option: Option, value: Any, here: str) -> Any:
    name = f"{here} {option.name}"
    default = option.default
    if value is None:
        return None
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of strings, got {value!r}")
        for item in value:
            if option.choices and item not in option.choices:
                raise ConfigError(f"{name}: unknown value {item!r}."
                                  f"{did_you_mean(item, option.choices)} Allowed: "
                                  f"{', '.join(option.choices)}.")
        return list(dict.fromkeys(value))
    if isinstance(default, str):
        if not isinstance(value, str) or (option.choices and value not in option.choices):
            allowed = ", ".join(option.choices)
            hint = did_you_mean(value, option.choices) if isinstance(value, str) else ""
            raise ConfigError(f"{name}: {value!r} is not allowed.{hint} Allowed: {allowed}.")
        return value
    # a number (min_confidence)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if (option.minimum is not None and value < option.minimum) or (
            option.maximum is not None and value > option.maximum):
        raise ConfigError(f"{name} must be between {option.minimum} and {option.maximum}, "
                          f"got {value!r}")
    return float(value)


def policy_template() -> str:
    """The default policy as a commented TOML file (what `--policy-template` prints)."""
    lines = ["# ft-audit fix policy: one table per action. Every action can be switched off",
             "# with `enabled = false`; the opt-in ones are off until switched on. Actions act",
             "# only on the records the audit's findings list; everything else is copied as is.",
             ""]
    for spec in ACTIONS:
        lines += [f"[{spec.name}]", *_comment(spec.doc),
                  f"# reads: {', '.join(spec.checks)}",
                  f"enabled = {_toml(spec.enabled)}"]
        for option in spec.options:
            lines += _comment(option.doc)
            if option.default is None:
                lines.append(f"# {option.name} = 0.9")
            else:
                lines.append(f"{option.name} = {_toml(option.default)}")
        lines.append("")
    return "\n".join(lines)


def _comment(text: str, width: int = 92) -> list[str]:
    out, line = [], "#"
    for word in text.split():
        if len(line) + 1 + len(word) > width:
            out.append(line)
            line = "#"
        line += " " + word
    return [*out, line]


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
