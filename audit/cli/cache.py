"""`ft-audit cache info|clear [DIR]`: what the incremental cache holds, and emptying it.

    ft-audit cache info .ft-audit-cache
    ft-audit cache clear                # the folder named by `cache` in the config

DIR defaults to the config's `cache` (ft-audit.toml or [tool.ft-audit], searched from the
current folder up). `clear` deletes only a folder ft-audit made a cache (it holds
`ft-audit-cache.json`), never another folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from audit.cache import RecordCache

cache_app = typer.Typer(help="Inspect or empty the incremental cache (`run --cache DIR`).",
                        no_args_is_help=True, add_completion=False, rich_markup_mode=None)

DirArg = Annotated[Optional[Path], typer.Argument(
    metavar="DIR", help="The cache folder (default: `cache` in the config).",
    show_default=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="Config file whose `cache` names the folder.")]


def _cache(folder: Path | None, config: Path | None) -> RecordCache:
    from audit.cache import CacheError, RecordCache
    from audit.config import load_config

    if folder is None:
        cfg = load_config(config, discover=True)
        if cfg.cache is None:
            raise typer.BadParameter("give the cache folder, or set `cache` in the config",
                                     param_hint="DIR")
        folder = Path(cfg.cache)
        cache = RecordCache(folder, cfg.cache_max_mb)
    else:
        cache = RecordCache(folder)
    if not cache.is_cache():
        raise CacheError(f"{folder} is not an ft-audit cache (no ft-audit-cache.json)")
    return cache


@cache_app.command("info")
def info(folder: DirArg = None, config: ConfigOpt = None) -> None:
    """Size on disk, segments and entries of each namespace (function, version, params)."""
    cache = _cache(folder, config)
    found = cache.info()
    typer.echo(f"{found.path}: {found.bytes / 1e6:.1f} MB in {found.segments} segments, "
               f"{found.entries:,} entries (limit {cache.max_mb:,.0f} MB after each run)")
    for name, entries in sorted(found.namespaces.items()):
        typer.echo(f"  {name}: {entries:,}")


@cache_app.command("clear")
def clear(folder: DirArg = None, config: ConfigOpt = None) -> None:
    """Delete every cached value (the folder stays, empty)."""
    cache = _cache(folder, config)
    freed = cache.clear()
    typer.echo(f"{cache.root}: cleared {freed / 1e6:.1f} MB")


def add_commands(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
