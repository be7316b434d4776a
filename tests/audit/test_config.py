"""Config: parsing, validation with clear errors, discovery, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.config import config_from_dict, discover_config, load_config
from audit.errors import ConfigError, InvalidParameterError, UnknownCheckError
from audit.result import Severity


def test_full_config_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ft-audit.toml"
    path.write_text("""
seed = 7
on_bad_records = "skip"
[fields]
prompt = "q"
groups = ["gender"]
[policy]
fail_on = "warn"
required = ["empty_responses"]
[checks.exact_duplicates]
enabled = false
params = { max_clusters_listed = 5 }
thresholds = { duplicate_fraction = { warn = 0.1, fail = 0.2 } }
severity = { duplicate_cluster = "info" }
""")
    cfg = load_config(path)
    assert cfg.seed == 7 and cfg.on_bad_records == "skip"
    assert cfg.fields.prompt == "q" and cfg.fields.groups == ("gender",)
    assert cfg.policy.fail_on == "warn" and cfg.policy.required == ("empty_responses",)
    dup = cfg.check_config("exact_duplicates")
    assert dup.enabled is False and dup.params == {"max_clusters_listed": 5}
    assert dup.severity == {"duplicate_cluster": Severity.INFO}
    from audit.registry import get_check

    (threshold,) = cfg.thresholds_for("exact_duplicates", get_check("exact_duplicates").default_thresholds)
    assert (threshold.warn, threshold.fail, threshold.direction) == (0.1, 0.2, "max")
    assert cfg.to_dict()["checks"]["exact_duplicates"]["enabled"] is False


@pytest.mark.parametrize("doc, error, pattern", [
    ({"sed": 1}, ConfigError, "unknown key 'sed'.*Did you mean 'seed'"),
    ({"checks": {"exact_duplicate": {}}}, UnknownCheckError, "Did you mean 'exact_duplicates'"),
    ({"checks": {"exact_duplicates": {"params": {"max_clusters": 3}}}}, InvalidParameterError,
     "has no parameter 'max_clusters'.*Did you mean 'max_clusters_listed'"),
    ({"checks": {"exact_duplicates": {"params": {"max_clusters_listed": -1}}}}, InvalidParameterError,
     "parameter 'max_clusters_listed' must be >= 0, got -1"),
    ({"checks": {"exact_duplicates": {"params": {"max_clusters_listed": "many"}}}},
     InvalidParameterError, "must be an integer"),
    ({"checks": {"exact_duplicates": {"thresholds": {"dup_fraction": {"fail": 1}}}}}, ConfigError,
     "no metric 'dup_fraction'.*Did you mean 'duplicate_fraction'"),
    ({"checks": {"exact_duplicates": {"thresholds": {"duplicate_fraction": {"warn": 0.5,
                                                                            "fail": 0.1}}}}},
     ConfigError, "warn=0.5 is beyond fail=0.1"),
    ({"checks": {"exact_duplicates": {"severity": {"x": "loud"}}}}, ConfigError, "unknown severity"),
    ({"policy": {"fail_on": "maybe"}}, ConfigError, "fail_on must be 'fail' or 'warn'"),
    ({"policy": {"required": ["nope"]}}, UnknownCheckError, "no check named 'nope'"),
    ({"fields": {"schema": "yaml"}}, ConfigError, "unknown schema 'yaml'"),
])
def test_invalid_configs_have_clear_errors(doc: dict, error: type, pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        config_from_dict(doc)


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "ft-audit.toml"
    path.write_text("seed = = 1")
    with pytest.raises(ConfigError, match=r"ft-audit\.toml: not valid TOML"):
        load_config(path)


def test_discovery_prefers_ft_audit_toml_then_pyproject(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert discover_config(nested) is None or not str(discover_config(nested)).startswith(str(tmp_path))
    (tmp_path / "pyproject.toml").write_text('[tool.ft-audit]\nseed = 3\n')
    assert discover_config(nested) == tmp_path / "pyproject.toml"
    assert load_config(discover=True, start=nested).seed == 3
    (tmp_path / "a" / "ft-audit.toml").write_text("seed = 4\n")
    assert load_config(discover=True, start=nested).seed == 4


def test_cli_overrides_ignore_none() -> None:
    cfg = config_from_dict({"seed": 1, "policy": {"fail_on": "warn"}})
    same = cfg.with_overrides(seed=None, fail_on=None)
    assert same == cfg
    changed = cfg.with_overrides(seed=9, fail_on="fail")
    assert changed.seed == 9 and changed.policy.fail_on == "fail"
