"""The JSON report is the result's own versioned JSON form, which lives in the core
(`audit.result_io`); these names stay importable from here."""

from __future__ import annotations

from audit.result_io import (
    SCHEMA_PATH,
    SCHEMA_VERSION,
    dumps,
    load_result,
    result_from_dict,
    result_to_dict,
    schema,
    write_json,
)

__all__ = ["SCHEMA_PATH", "SCHEMA_VERSION", "dumps", "load_result", "result_from_dict",
           "result_to_dict", "schema", "write_json"]
