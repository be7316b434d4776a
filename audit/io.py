"""Safe output writing: atomic (temp file + rename) and never over a user's input file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from audit.errors import AuditError


class OutputError(AuditError):
    """An output path that cannot or must not be written."""


def ensure_not_input(output: str | Path, inputs: Iterable[str | Path | None]) -> None:
    """Refuse to write `output` when it is (or links to) one of the input files."""
    out = Path(output)
    for item in inputs:
        if item is None:
            continue
        source = Path(item)
        if not source.exists() or not out.exists():
            continue
        if os.path.samefile(out, source):
            raise OutputError(f"refusing to write {out}: it is an input file ({source}); "
                              "choose another output path")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` via a temp file in the same folder and an atomic rename."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
