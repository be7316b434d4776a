"""Two-stage regex scanning over Arrow string columns, shared by text_hygiene and pii.

Stage 1 runs one RE2 pattern (often an alternation of several) over a whole column with
`pyarrow.compute.match_substring_regex`: vectorised, no Python per record. Stage 2 (in the
checks) looks closer, in Python, at the few records stage 1 kept. Patterns given to these
helpers must be valid RE2: no look-arounds, no back-references.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def regex_mask(column: pa.ChunkedArray | pa.Array, pattern: str, *,
               ignore_case: bool = False) -> np.ndarray:
    """Boolean mask over the rows of a string column where `pattern` matches (nulls: False)."""
    if len(column) == 0:
        return np.zeros(0, dtype=bool)
    hits = pc.fill_null(pc.match_substring_regex(column, pattern, ignore_case=ignore_case), False)
    return np.asarray(hits.to_numpy(zero_copy_only=False), dtype=bool)


def alternation(patterns: list[str] | tuple[str, ...]) -> str:
    """One RE2 pattern matching wherever any of `patterns` matches."""
    return "|".join(f"(?:{p})" for p in patterns)
