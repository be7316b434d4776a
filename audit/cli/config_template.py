"""The commented config `ft-audit init` writes: every check with its defaults."""

from __future__ import annotations

import json
from typing import Any

from audit.registry import all_checks


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return '""  # none'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def render_config_template() -> str:
    lines = [
        "# ft-audit configuration. Every value below is the default; uncomment to change it.",
        "# Docs: README.md (Config file). Unknown keys are errors.",
        "",
        "# seed = 0",
        '# on_bad_records = "fail"   # or "skip": skip unreadable records and list them',
        "# plugins = []              # modules whose @register checks join the audit",
        '# cache = ".ft-audit-cache" # keep per-text work between runs (incremental re-audits)',
        "# cache_max_mb = 2048       # the cache's size after each run",
        "",
        "[fields]                    # override schema detection",
        '# prompt = "instruction"',
        '# response = "output"',
        '# label = "label"',
        "# groups = []               # explicit demographic group columns",
        '# split = "split"',
        '# schema = "alpaca"         # chat, sharegpt, alpaca, prompt_completion, '
        "prompt_response, question_answer, text_label, text",
        "",
        "[policy]",
        '# fail_on = "fail"          # "warn": warnings block too',
        "# required = []             # checks whose SKIPPED blocks the verdict",
        "# errors_block = true       # an ERRORED check blocks the verdict",
    ]
    for name, cls in all_checks().items():
        lines += ["", f"# {name} ({cls.category}): {cls.summary()}", f"[checks.{name}]",
                  f"# enabled = {_toml_value(cls.enabled_by_default)}"]
        specs = cls.param_specs()
        if specs:
            lines.append(f"[checks.{name}.params]")
            for spec in specs:
                note = "; ".join(x for x in (spec.doc, spec.bounds) if x)
                lines.append(f"# {spec.name} = {_toml_value(spec.default)}"
                             + (f"   # {note}" if note else ""))
        if cls.default_thresholds:
            lines.append(f"[checks.{name}.thresholds]")
            for t in cls.default_thresholds:
                parts = [f"{k} = {_toml_value(v)}" for k, v in (("warn", t.warn), ("fail", t.fail))
                         if v is not None]
                parts.append(f'direction = "{t.direction}"')
                lines.append(f"# {t.metric} = {{ {', '.join(parts)} }}")
    return "\n".join(lines) + "\n"
