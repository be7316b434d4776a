"""Configuration: which checks run, their params and thresholds, the verdict policy.

Read from `ft-audit.toml` or `[tool.ft-audit]` in pyproject.toml (auto-discovered from the
current folder upwards by the CLI, or `--config FILE`). Unknown keys are errors with a
"did you mean". Example:

    seed = 0
    on_bad_records = "fail"          # or "skip"
    plugins = ["my_team.checks"]     # modules whose @register checks join the audit
    engine = "pool"                  # "serial", "pool" (default) or "ray"
    workers = "auto"                 # pool processes: "auto" = one per core
    ray_address = ""                 # a Ray cluster ("" : a local instance for the run)
    batch_records = 20000            # records per map batch
    driver_records = 200000          # larger data: whole-dataset checks see a seeded sample
    cache = ".ft-audit-cache"        # incremental re-audits (relative to this file's folder)
    cache_max_mb = 2048              # the cache's size after each run (least recently used go)

    [fields]                         # override schema detection
    prompt = "question"
    response = "answer"
    label = "category"
    groups = ["gender"]
    split = "split"

    [policy]
    fail_on = "fail"                 # "warn": warnings block too
    required = ["empty_responses"]   # a SKIPPED required check blocks
    errors_block = true              # an ERRORED check blocks

    [checks.exact_duplicates]
    enabled = true
    params = { scope = "pair" }
    thresholds = { duplicate_fraction = { warn = 0.01, fail = 0.05 } }
    severity = { duplicate_cluster = "info" }
    tolerances = { duplicate_fraction = 0.002 }  # `ft-audit diff`: worse by more = regression
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from audit.errors import ConfigError, UnknownCheckError, did_you_mean
from audit.load import FieldMapping
from audit.result import JSON, Severity, Threshold

CONFIG_FILE = "ft-audit.toml"
FailOn = Literal["fail", "warn"]

_TOP_KEYS = ("seed", "on_bad_records", "plugins", "engine", "workers", "ray_address",
             "batch_records", "driver_records", "cache", "cache_max_mb", "fields", "policy",
             "checks")
_FIELD_KEYS = ("prompt", "response", "label", "groups", "split", "schema")
_POLICY_KEYS = ("fail_on", "required", "errors_block")
_CHECK_KEYS = ("enabled", "params", "thresholds", "severity", "tolerances")
_THRESHOLD_KEYS = ("warn", "fail", "direction")


@dataclass(frozen=True)
class Policy:
    """How check statuses become a go / no-go verdict."""

    fail_on: FailOn = "fail"
    required: tuple[str, ...] = ()
    errors_block: bool = True


@dataclass(frozen=True)
class CheckConfig:
    enabled: bool | None = None  # None: the check's own default
    params: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    severity: Mapping[str, Severity] = field(default_factory=dict)
    #: how much each metric may worsen between two results before `ft-audit diff` calls it a
    #: regression (metrics without one: only a worse status is a regression)
    tolerances: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    seed: int = 0
    on_bad_records: Literal["fail", "skip"] = "fail"
    plugins: tuple[str, ...] = ()
    fields: FieldMapping = field(default_factory=FieldMapping)
    policy: Policy = field(default_factory=Policy)
    checks: Mapping[str, CheckConfig] = field(default_factory=dict)
    source: str | None = None
    engine: Literal["serial", "pool", "ray"] = "pool"
    workers: int | Literal["auto"] = "auto"
    ray_address: str | None = None
    batch_records: int = 20_000
    driver_records: int = 200_000
    cache: str | None = None  # a folder of per-text values kept between runs (audit.cache)
    cache_max_mb: int = 2048

    # -- derived views --------------------------------------------------------------------
    def check_config(self, name: str) -> CheckConfig:
        return self.checks.get(name, CheckConfig())

    def thresholds_for(self, name: str, defaults: tuple[Threshold, ...]) -> tuple[Threshold, ...]:
        """Default thresholds of a check with this config's overrides applied."""
        overrides = self.check_config(name).thresholds
        out = []
        seen = set()
        for default in defaults:
            seen.add(default.metric)
            if default.metric in overrides:
                o = overrides[default.metric]
                out.append(Threshold(metric=default.metric, warn=o.get("warn", default.warn),
                                     fail=o.get("fail", default.fail),
                                     direction=o.get("direction", default.direction)))
            else:
                out.append(default)
        for metric, o in overrides.items():
            if metric not in seen:
                out.append(Threshold(metric=metric, warn=o.get("warn"), fail=o.get("fail"),
                                     direction=o.get("direction", "max")))
        return tuple(out)

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with CLI-level overrides (None values are ignored)."""
        clean = {k: v for k, v in changes.items() if v is not None}
        if clean.get("engine") not in (None, "serial", "pool", "ray"):
            raise ConfigError(f"engine must be 'serial', 'pool' or 'ray', got {clean['engine']!r}")
        if "workers" in clean and clean["workers"] != "auto":
            from audit.engines import resolve_workers

            clean["workers"] = resolve_workers(clean["workers"])
        policy_changes = {k: clean.pop(k) for k in ("fail_on",) if k in clean}
        config = replace(self, **clean)
        if policy_changes:
            config = replace(config, policy=replace(config.policy, **policy_changes))
        return config

    def to_dict(self) -> dict[str, JSON]:
        fields = {k: v for k, v in {
            "prompt": self.fields.prompt, "response": self.fields.response,
            "label": self.fields.label, "groups": list(self.fields.groups),
            "split": self.fields.split, "schema": self.fields.schema}.items() if v}
        return {
            "source": self.source,
            "seed": self.seed,
            "on_bad_records": self.on_bad_records,
            "plugins": list(self.plugins),
            # where and how the work ran (engine, workers, batches, cache) is not recorded:
            # the result does not depend on it
            "driver_records": self.driver_records,
            "fields": fields,
            "policy": {"fail_on": self.policy.fail_on, "required": list(self.policy.required),
                       "errors_block": self.policy.errors_block},
            "checks": {
                name: {k: v for k, v in {
                    "enabled": c.enabled,
                    "params": dict(c.params),
                    "thresholds": {m: dict(t) for m, t in c.thresholds.items()},
                    "severity": {code: s.name.lower() for code, s in c.severity.items()},
                    "tolerances": dict(c.tolerances),
                }.items() if v not in (None, {})}
                for name, c in sorted(self.checks.items())
            },
        }


def load_config(path: str | Path | None = None, *, discover: bool = False,
                start: Path | None = None) -> Config:
    """Config from `path`, or discovered from `start` (default cwd) upwards, or defaults."""
    if path is None:
        found = discover_config(start or Path.cwd()) if discover else None
        if found is None:
            return Config()
        path = found
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("ft-audit", {})
    return config_from_dict(data, source=str(path))


def discover_config(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            if "ft-audit" in tool:
                return pyproject
    return None


def _unknown(keys: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in allowed:
            raise ConfigError(f"unknown key {key!r} in {where}.{did_you_mean(key, allowed)} "
                              f"Allowed: {', '.join(allowed)}.")


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where} must be a {names}, got {value!r}")
    return value


def config_from_dict(data: Mapping[str, Any], *, source: str | None = None) -> Config:
    """Validate a parsed config mapping (the TOML document) into a `Config`."""
    where = source or "config"
    _unknown(data, _TOP_KEYS, where)
    seed = _expect(data.get("seed", 0), int, f"{where}: seed")
    on_bad = data.get("on_bad_records", "fail")
    if on_bad not in ("fail", "skip"):
        raise ConfigError(f"{where}: on_bad_records must be 'fail' or 'skip', got {on_bad!r}")
    plugins = tuple(_expect(p, str, f"{where}: plugins item")
                    for p in _expect(data.get("plugins", []), list, f"{where}: plugins"))

    fields_data = _expect(data.get("fields", {}), dict, f"{where}: [fields]")
    _unknown(fields_data, _FIELD_KEYS, f"{where} [fields]")
    groups = fields_data.get("groups", [])
    if isinstance(groups, str):
        groups = [groups]
    try:
        fields = FieldMapping(
            prompt=fields_data.get("prompt"), response=fields_data.get("response"),
            label=fields_data.get("label"), split=fields_data.get("split"),
            schema=fields_data.get("schema"),
            groups=tuple(_expect(g, str, f"{where}: fields.groups item")
                         for g in _expect(groups, list, f"{where}: fields.groups")))
    except Exception as exc:
        raise ConfigError(f"{where} [fields]: {exc}") from None

    policy_data = _expect(data.get("policy", {}), dict, f"{where}: [policy]")
    _unknown(policy_data, _POLICY_KEYS, f"{where} [policy]")
    fail_on = policy_data.get("fail_on", "fail")
    if fail_on not in ("fail", "warn"):
        raise ConfigError(f"{where}: policy.fail_on must be 'fail' or 'warn', got {fail_on!r}")
    policy = Policy(
        fail_on=fail_on,
        required=tuple(_expect(policy_data.get("required", []), list,
                               f"{where}: policy.required")),
        errors_block=_expect(policy_data.get("errors_block", True), bool,
                             f"{where}: policy.errors_block"))

    engine = data.get("engine", "pool")
    if engine not in ("serial", "pool", "ray"):
        raise ConfigError(f"{where}: engine must be 'serial', 'pool' or 'ray', got {engine!r}")
    workers = data.get("workers", "auto")
    if workers != "auto" and (isinstance(workers, bool) or not isinstance(workers, int)
                              or workers < 1):
        raise ConfigError(f"{where}: workers must be a positive integer or 'auto', got "
                          f"{workers!r}")
    ray_address = _expect(data.get("ray_address", ""), str, f"{where}: ray_address") or None
    cache = _expect(data.get("cache", ""), str, f"{where}: cache") or None
    if cache is not None and source is not None and not Path(cache).is_absolute():
        cache = str(Path(source).parent / cache)
    sizes = {key: _expect(data.get(key, default), int, f"{where}: {key}")
             for key, default in (("batch_records", 20_000), ("driver_records", 200_000),
                                  ("cache_max_mb", 2048))}
    for key, value in sizes.items():
        if value < 1:
            raise ConfigError(f"{where}: {key} must be at least 1, got {value}")
    checks_data = _expect(data.get("checks", {}), dict, f"{where}: [checks]")
    checks = {name: _check_config(name, _expect(c, dict, f"{where}: [checks.{name}]"), where)
              for name, c in checks_data.items()}
    config = Config(seed=seed, on_bad_records=on_bad, plugins=plugins, fields=fields,
                    policy=policy, checks=checks, source=source, engine=engine, workers=workers,
                    ray_address=ray_address, cache=cache, **sizes)
    validate_against_registry(config)
    return config


def _check_config(name: str, data: Mapping[str, Any], where: str) -> CheckConfig:
    here = f"{where} [checks.{name}]"
    _unknown(data, _CHECK_KEYS, here)
    thresholds = {}
    for metric, spec in _expect(data.get("thresholds", {}), dict, f"{here}.thresholds").items():
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = {"fail": spec}
        _expect(spec, dict, f"{here}.thresholds.{metric}")
        _unknown(spec, _THRESHOLD_KEYS, f"{here}.thresholds.{metric}")
        for key in ("warn", "fail"):
            if key in spec:
                _expect(spec[key], (int, float), f"{here}.thresholds.{metric}.{key}")
        if spec.get("direction", "max") not in ("max", "min"):
            raise ConfigError(f"{here}.thresholds.{metric}.direction must be 'max' or 'min'")
        thresholds[metric] = dict(spec)
    severity = {}
    for code, level in _expect(data.get("severity", {}), dict, f"{here}.severity").items():
        try:
            severity[code] = Severity.parse(level)
        except ValueError as exc:
            raise ConfigError(f"{here}.severity.{code}: {exc}") from None
    tolerances = {}
    for metric, tolerance in _expect(data.get("tolerances", {}), dict,
                                     f"{here}.tolerances").items():
        _expect(tolerance, (int, float), f"{here}.tolerances.{metric}")
        if tolerance < 0:
            raise ConfigError(f"{here}.tolerances.{metric} must be >= 0, got {tolerance}")
        tolerances[metric] = float(tolerance)
    enabled = data.get("enabled")
    if enabled is not None:
        _expect(enabled, bool, f"{here}.enabled")
    return CheckConfig(enabled=enabled,
                       params=dict(_expect(data.get("params", {}), dict, f"{here}.params")),
                       thresholds=thresholds, severity=severity, tolerances=tolerances)


def validate_against_registry(config: Config) -> None:
    """Check names, params and threshold metrics in `config` against the registered checks."""
    from audit.check import build_params
    from audit.registry import all_checks

    registered = all_checks(config.plugins)
    where = config.source or "config"
    for name in (*config.checks, *config.policy.required):
        if name not in registered:
            raise UnknownCheckError(f"{where}: no check named {name!r}."
                                    f"{did_you_mean(name, registered)} Run `ft-audit checks`.")
    for name, check_config in config.checks.items():
        cls = registered[name]
        build_params(name, cls.Params, check_config.params)
        known = {t.metric for t in cls.default_thresholds} | set(getattr(cls, "metrics", ()))
        for metric in (*check_config.thresholds, *check_config.tolerances):
            if known and metric not in known:
                raise ConfigError(
                    f"{where} [checks.{name}.thresholds]: check {name!r} has no metric "
                    f"{metric!r}.{did_you_mean(metric, known)} Its metrics: "
                    f"{', '.join(sorted(known))}.")
        try:
            config.thresholds_for(name, cls.default_thresholds)
        except ValueError as exc:
            raise ConfigError(f"{where} [checks.{name}.thresholds]: {exc}") from None
