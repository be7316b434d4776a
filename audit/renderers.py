"""Renderers by name: how the core turns a result into HTML without importing `reports/`.

A renderer is `fn(result) -> str`. `reports` registers its formats ("html", "html_fragment",
"markdown", "junit") when imported, and ft-audit imports it through the `ft_audit.renderers`
entry point, as it would any third-party renderer package:

    from audit.renderers import register_renderer
    register_renderer("slack", render_slack)
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from audit.errors import PluginLoadError

if TYPE_CHECKING:
    from audit.result import AuditResult

ENTRY_POINT_GROUP = "ft_audit.renderers"
Renderer = Callable[["AuditResult"], str]

_RENDERERS: dict[str, Renderer] = {}
_loaded = False


def register_renderer(name: str, fn: Renderer) -> None:
    """Make `fn` the renderer called `name` (the last registration wins)."""
    _RENDERERS[name] = fn


def get_renderer(name: str) -> Renderer:
    """The renderer called `name`, importing the `ft_audit.renderers` entry points first."""
    _load_entry_points()
    try:
        return _RENDERERS[name]
    except KeyError:
        known = ", ".join(sorted(_RENDERERS)) or "none (is ft-audit installed?)"
        raise KeyError(f"no renderer named {name!r}; known: {known}") from None


def _load_entry_points() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:
            raise PluginLoadError(f"entry point {ep.name!r} ({ep.value}) in group "
                                  f"{ENTRY_POINT_GROUP!r} failed to load: {exc}") from exc
