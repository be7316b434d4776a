"""One error tree for everything ft-audit reports to a user.

Every message says what was wrong, where (file:line, field, parameter) and what to do.
The CLI maps these to exit code 2; anything else is an internal error (exit 3).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AuditError(Exception):
    """Base class: a problem with the user's input, config or environment."""


class DataLoadError(AuditError):
    """The dataset could not be read (missing, malformed, wrong encoding, empty)."""


class SchemaError(AuditError):
    """The records do not fit a supported schema, or the field mapping is wrong."""


class ConfigError(AuditError):
    """The configuration is invalid."""


class UnknownCheckError(ConfigError):
    """A check name that no registered check has."""


class InvalidParameterError(ConfigError):
    """A check parameter that is unknown, of the wrong type, or out of range."""


class PluginLoadError(AuditError):
    """A plugin module or entry point could not be imported or registered."""


class DuplicateCheckError(PluginLoadError):
    """Two checks were registered under the same name."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix for an unknown name, or '' when nothing is close."""
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
