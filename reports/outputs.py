"""Write the requested report files for a result: JSON, HTML, Markdown, JUnit XML, records.

Used by `ft-audit run`, `ft-audit report` and `ft-audit rejudge`. Every path is checked
before anything is written (never over an input file, never two formats to one path), and each
file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from audit.io import OutputError, ensure_not_input
from audit.result import AuditResult

FORMATS = ("json", "html", "markdown", "junit", "records")


def check_outputs(outputs: Mapping[str, str | Path | None],
                  inputs: Iterable[str | Path | None]) -> dict[str, Path]:
    """The outputs to write (format -> path), after refusing inputs, duplicate paths and
    missing folders."""
    chosen = {fmt: Path(path) for fmt, path in outputs.items() if path is not None}
    unknown = set(chosen) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(sorted(unknown))}")
    inputs = list(inputs)
    if "records" in chosen:
        from reports.records import records_format

        records_format(chosen["records"])
    seen: dict[str, str] = {}
    for fmt, path in chosen.items():
        ensure_not_input(path, inputs)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():  # fail before a long audit, not after it
            raise OutputError(f"cannot write --{fmt} {path}: folder {folder} does not exist; "
                              "create it first")
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            raise OutputError(f"--{seen[key]} and --{fmt} both write {path}; give each its own "
                              "file")
        seen[key] = fmt
    return chosen


def write_reports(result: AuditResult, outputs: Mapping[str, str | Path | None],
                  inputs: Iterable[str | Path | None] = ()) -> dict[str, Path]:
    """Write each requested format; returns format -> path written.

    JSON first. A renderer that fails does not stop the others: every format that can be
    written is, then the first error is raised.
    """
    chosen = check_outputs(outputs, inputs)
    first_error: Exception | None = None
    written: dict[str, Path] = {}
    for fmt in sorted(chosen, key=FORMATS.index):
        try:
            _write(result, fmt, chosen[fmt])
        except Exception as exc:
            first_error = first_error or exc
            continue
        written[fmt] = chosen[fmt]
    if first_error is not None:
        raise first_error
    return written


def _write(result: AuditResult, fmt: str, path: Path) -> None:
    if fmt == "json":
        result.to_json(str(path))
    elif fmt == "html":
        from reports.html_report import write_html

        write_html(result, path)
    elif fmt == "records":
        from reports.records import write_records

        write_records(result, path)
    elif fmt == "markdown":
        from reports.markdown_report import write_markdown

        write_markdown(result, path)
    else:
        from reports.junit_report import write_junit

        write_junit(result, path)
