"""Progress reporting for long steps: a rich bar on stderr, or nothing (not a TTY, --quiet)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Advance = Callable[[int], None]


def _ignore(n: int = 1) -> None:
    """Advance nothing."""


class Progress:
    """No-op progress; the base class of the rich one. `task()` yields an `advance(n)` callable."""

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        yield _ignore

    def close(self) -> None:
        """Stop drawing."""


class RichProgress(Progress):
    """Progress bars on stderr, drawn by rich; transient so they leave the summary clean."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as _Progress

        self._progress: Any = _Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True)
        self._progress.start()

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Advance]:
        task_id = self._progress.add_task(description, total=total)
        def advance(n: int = 1) -> None:
            self._progress.advance(task_id, n)

        try:
            yield advance
        finally:
            self._progress.remove_task(task_id)

    def close(self) -> None:
        self._progress.stop()


def make_progress(enabled: bool | None = None) -> Progress:
    """A rich progress when `enabled` (default: stderr is a terminal), else a silent one."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return RichProgress() if enabled else Progress()
