"""The `ft-audit fix` policy file: defaults, switches, clear errors, a template that round-trips."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from audit.cli.fix_policy import (
    ACTION_NAMES,
    SPECS,
    default_policy,
    load_policy,
    only,
    policy_from_dict,
    policy_template,
)
from audit.errors import ConfigError
from audit.registry import all_checks


def test_default_policy_turns_on_all_but_the_opt_in_actions() -> None:
    policy = default_policy()
    assert set(policy.enabled()) == set(ACTION_NAMES) - {"default_fields", "relabel",
                                                          "conflicts"}
    assert policy.option("eval_leaks", "kinds") == ["exact", "near_duplicate"]
    assert policy.option("pii", "placeholders") is False


def test_every_action_reads_registered_checks_and_names_real_metrics() -> None:
    registered = all_checks()
    for spec in SPECS.values():
        assert spec.doc and all(c in registered for c in spec.checks), spec.name
        for check, metric in spec.acts_on:
            assert metric in registered[check].metrics, (spec.name, check, metric)


def test_switches_and_options(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[duplicates]\nnear = false\n[pii]\nenabled = false\n'
                    '[relabel]\nenabled = true\nmin_confidence = 0.95\n'
                    '[eval_leaks]\nkinds = ["exact", "ngram"]\n')
    policy = load_policy(path)
    assert not policy.on("pii") and policy.on("relabel")
    assert policy.option("relabel", "min_confidence") == 0.95
    assert "pii" not in policy.checks() and "label_issues" in policy.checks()
    acts = policy.acts_on()
    assert ("near_duplicates", "near_duplicate_fraction") not in acts
    assert ("eval_leakage", "n_exact") in acts and ("eval_leakage", "n_near_duplicate") not in acts


@pytest.mark.parametrize(("data", "message"), [
    ({"duplicate": {}}, "unknown action [duplicate]. Did you mean 'duplicates'?"),
    ({"pii": {"type": ["email"]}}, "unknown key 'type'. Did you mean 'types'?"),
    ({"pii": {"types": ["emial"]}}, "unknown value 'emial'. Did you mean 'email'?"),
    ({"pii": {"enabled": "yes"}}, "enabled must be true or false"),
    ({"conflicts": {"ties": "keep_last"}}, "'keep_last' is not allowed"),
    ({"relabel": {"enabled": True}}, "needs min_confidence"),
    ({"relabel": {"enabled": True, "min_confidence": 1.5}}, "between 0.0 and 1.0"),
    ({"truncation": {"codes": "dangling_ending"}}, "must be a list of strings"),
    ({"pii": 3}, "must be a table"),
])
def test_mistakes_are_clear_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        policy_from_dict(data, source="p.toml")


def test_a_missing_or_broken_policy_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such policy file"):
        load_policy(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[pii\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_policy(bad)


def test_the_template_is_the_default_policy_and_documents_every_action() -> None:
    text = policy_template()
    assert policy_from_dict(tomllib.loads(text)).to_dict() == default_policy().to_dict()
    for spec in SPECS.values():
        assert f"[{spec.name}]" in text
        for option in spec.options:
            assert option.name in text


def test_only_builds_a_narrow_policy() -> None:
    policy = only("duplicates", duplicates={"near": False})
    assert policy.enabled() == ("duplicates",)
    assert policy.checks() == ("exact_duplicates",)  # near = false: no near_duplicates run
    with pytest.raises(ConfigError, match="unknown fix action"):
        only("dedupe")
