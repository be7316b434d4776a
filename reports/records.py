"""Write the per-record table (`audit.records.records_frame`) as Parquet, JSONL or CSV."""

from __future__ import annotations

import io
from pathlib import Path

from audit.io import OutputError, atomic_write_bytes
from audit.records import records_frame
from audit.result import AuditResult

#: file formats of `write_records`, by extension
RECORD_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".csv": "csv"}


def records_format(path: str | Path) -> str:
    """The format of a records file from its extension, or an error naming the choices."""
    suffix = Path(path).suffix.lower()
    if suffix not in RECORD_FORMATS:
        raise OutputError(f"cannot tell the format of --records {path}: use a file ending in "
                          f"{', '.join(RECORD_FORMATS)}")
    return RECORD_FORMATS[suffix]


def write_records(result: AuditResult, path: str | Path) -> Path:
    """Write `records_frame(result)` atomically as Parquet, JSONL or CSV (by extension)."""
    fmt = records_format(path)
    frame = records_frame(result)
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    elif fmt == "jsonl":
        frame.to_json(buffer, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_csv(buffer, index=False)
    return atomic_write_bytes(path, buffer.getvalue())
