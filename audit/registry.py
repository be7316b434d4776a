"""Check registry: the `ft_audit.checks` entry-point group and config plugins.

Built-in and third-party checks register the same way: the `@register` decorator, in a module
that an entry point of the `ft_audit.checks` group names (ft-audit's own `checks` package is
the entry point `builtin`) or that `plugins = [...]` in config lists. Those modules are
imported so that their decorators run (an entry point may also name a Check class directly).
The core never imports a check package by name. Two checks with one name raise.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import entry_points

from audit.check import Check
from audit.errors import DuplicateCheckError, PluginLoadError, UnknownCheckError, did_you_mean

ENTRY_POINT_GROUP = "ft_audit.checks"

_REGISTRY: dict[str, type[Check]] = {}
_loaded_entry_points = False
_loaded_plugins: set[str] = set()


def register(cls: type[Check]) -> type[Check]:
    """Class decorator: make `cls` available by `cls.name`."""
    if not (isinstance(cls, type) and issubclass(cls, Check)):
        raise TypeError(f"@register expects a Check subclass, got {cls!r}")
    for attr in ("name", "category"):
        if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
            raise TypeError(f"check class {cls.__qualname__} must set a non-empty `{attr}`")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and _identity(existing) != _identity(cls):
        raise DuplicateCheckError(
            f"two checks are named {cls.name!r}: {_identity(existing)} and {_identity(cls)}; "
            "rename one of them")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a check (for tests that register throwaway checks)."""
    _REGISTRY.pop(name, None)


def _identity(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def load_plugins(modules: Iterable[str]) -> None:
    """Import plugin modules named in config, so that their checks register."""
    for module in modules:
        if module in _loaded_plugins:
            continue
        try:
            importlib.import_module(module)
        except DuplicateCheckError:
            raise
        except Exception as exc:
            raise PluginLoadError(f"plugin {module!r} could not be imported: "
                                  f"{type(exc).__name__}: {exc}") from exc
        _loaded_plugins.add(module)


def load_entry_points() -> None:
    """Import every `ft_audit.checks` entry point once (their checks and artifacts register)."""
    _load_entry_points()


def _load_entry_points() -> None:
    global _loaded_entry_points
    if _loaded_entry_points:
        return
    _loaded_entry_points = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:
            raise PluginLoadError(f"entry point {ep.name!r} ({ep.value}) in group "
                                  f"{ENTRY_POINT_GROUP!r} failed to load: {exc}") from exc
        if isinstance(obj, type) and issubclass(obj, Check):
            register(obj)


def all_checks(plugins: Iterable[str] = ()) -> dict[str, type[Check]]:
    """Every registered check, by name (sorted by category, then name)."""
    _load_entry_points()
    load_plugins(plugins)
    return dict(sorted(_REGISTRY.items(), key=lambda kv: (kv[1].category, kv[0])))


def get_check(name: str, plugins: Iterable[str] = ()) -> type[Check]:
    checks = all_checks(plugins)
    if name not in checks:
        raise UnknownCheckError(
            f"no check named {name!r}.{did_you_mean(name, checks)} Run `ft-audit checks` for "
            "the list.")
    return checks[name]
