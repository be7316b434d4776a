"""ft-audit: audit a fine-tuning dataset before spending GPUs on it.

    from audit import run_audit, load_dataset
    result = run_audit("train.jsonl", eval="eval.jsonl")
    result.verdict.go, result.to_json("audit.json")

Names are imported lazily so that `ft-audit --help` stays instant.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "run_audit": "audit.runner",
    "run_check": "audit.runner",
    "load_dataset": "audit.load",
    "FieldMapping": "audit.load",
    "DatasetView": "audit.dataset",
    "RunContext": "audit.context",
    "artifact": "audit.context",
    "Check": "audit.check",
    "Need": "audit.check",
    "SkipCheck": "audit.check",
    "param": "audit.check",
    "register": "audit.registry",
    "all_checks": "audit.registry",
    "get_check": "audit.registry",
    "Config": "audit.config",
    "load_config": "audit.config",
    "rejudge": "audit.judge",
    "AuditResult": "audit.result",
    "CheckResult": "audit.result",
    "Finding": "audit.result",
    "Measurement": "audit.result",
    "Severity": "audit.result",
    "Status": "audit.result",
    "Threshold": "audit.result",
    "Verdict": "audit.result",
    "AuditError": "audit.errors",
    "DataLoadError": "audit.errors",
    "SchemaError": "audit.errors",
    "ConfigError": "audit.errors",
    "UnknownCheckError": "audit.errors",
    "InvalidParameterError": "audit.errors",
    "PluginLoadError": "audit.errors",
}

__all__ = [
    "AuditError",
    "AuditResult",
    "Check",
    "CheckResult",
    "Config",
    "ConfigError",
    "DataLoadError",
    "DatasetView",
    "FieldMapping",
    "Finding",
    "InvalidParameterError",
    "Measurement",
    "Need",
    "PluginLoadError",
    "RunContext",
    "SchemaError",
    "Severity",
    "SkipCheck",
    "Status",
    "Threshold",
    "UnknownCheckError",
    "Verdict",
    "__version__",
    "all_checks",
    "artifact",
    "get_check",
    "load_config",
    "load_dataset",
    "param",
    "register",
    "rejudge",
    "run_audit",
    "run_check",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'audit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from audit.check import Check, Need, SkipCheck, param
    from audit.config import Config, load_config
    from audit.context import RunContext, artifact
    from audit.dataset import DatasetView
    from audit.errors import (
        AuditError,
        ConfigError,
        DataLoadError,
        InvalidParameterError,
        PluginLoadError,
        SchemaError,
        UnknownCheckError,
    )
    from audit.judge import rejudge
    from audit.load import FieldMapping, load_dataset
    from audit.registry import all_checks, get_check, register
    from audit.result import (
        AuditResult,
        CheckResult,
        Finding,
        Measurement,
        Severity,
        Status,
        Threshold,
        Verdict,
    )
    from audit.runner import run_audit, run_check
