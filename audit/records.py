"""The per-record table: one row per record, each check's flag, finding codes and values.

Like cleanlab Datalab's `get_issues()`: built from the result alone (every finding holds every
record it flags, and per-record values such as scores or cluster ids), so a saved JSON result
gives the same table as the run that wrote it.

    result.records()                            # pandas DataFrame
    ft-audit run DATA --records flags.parquet   # or .jsonl / .csv (reports.records writes it)

Columns: `id` (0-based position in the input), `n_checks_flagged`, `content_hash` (the
record's content hash, 0 for a skipped record; see `audit.hashing`), then for each check that
ran: `<check>` (bool), `<check>_codes` (the codes of the findings listing the record, joined
by ","), and `<check>_<value>` for each per-record value its findings carry (the first finding
listing the record gives the value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from audit.result import AuditResult, Status

if TYPE_CHECKING:
    import pandas as pd

RAN = (Status.PASSED, Status.WARNED, Status.FAILED)


def records_frame(result: AuditResult) -> pd.DataFrame:
    """One row per input record (ids 0..n-1, skipped records included) and its flags."""
    import pandas as pd

    n = result.dataset.n_records + result.dataset.n_skipped
    for check in result.checks:  # ids beyond the count (a source with its own numbering)
        for finding in check.findings:
            if finding.records:
                n = max(n, max(finding.records) + 1)
    columns: dict[str, Any] = {"id": np.arange(n, dtype=np.int64)}
    flagged_by = np.zeros(n, dtype=np.int64)
    for check in result.checks:
        if check.status not in RAN:
            continue
        flags = np.zeros(n, dtype=bool)
        codes = np.full(n, "", dtype=object)
        values: dict[str, np.ndarray] = {}
        for finding in check.findings:
            ids = np.asarray(finding.records, dtype=np.int64)
            if not ids.size:
                continue
            flags[ids] = True
            codes[ids] = [c + "," + finding.code if c else finding.code for c in codes[ids]]
            for key, column in finding.record_values.items():
                target = values.setdefault(key, np.full(n, None, dtype=object))
                fresh = np.array([target[i] is None for i in ids], dtype=bool)
                target[ids[fresh]] = np.asarray(column, dtype=object)[fresh]
        flagged_by += flags
        columns[check.name] = flags
        columns[f"{check.name}_codes"] = pd.Categorical(codes)
        for key, target in values.items():
            columns[f"{check.name}_{key}"] = _typed(target)
    columns["n_checks_flagged"] = flagged_by
    first = ["id", "n_checks_flagged"]
    if result.record_index is not None:  # to join with another version of the dataset
        ids, content, _ = result.record_index.arrays()
        hashes = np.zeros(n, dtype=np.uint64)
        hashes[ids[ids < n]] = content[ids < n]
        columns["content_hash"] = hashes
        first.append("content_hash")
    order = [*first, *[c for c in columns if c not in first]]
    return pd.DataFrame({name: columns[name] for name in order})


def _typed(values: np.ndarray) -> Any:
    """Numbers as float (NaN where absent), anything else as text (None where absent)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return np.array([None if v is None else str(v) for v in values], dtype=object)
