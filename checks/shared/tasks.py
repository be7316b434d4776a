"""Task types of instructions ("summarise", "translate", a question word...), from the prompt's
first words and a project-authored lexicon (lexicons/task_types.json). Used by the diversity
family (task coverage) and the overfitting family (per-task held-out probes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from checks.shared.corpus import load_json_lexicon

LEXICONS = Path(__file__).resolve().parent / "lexicons"


def task_type(tokens: list[str], lexicon: dict[str, Any]) -> str:
    """The task type of a prompt from its first words (see lexicons/task_types.json)."""
    skip = lexicon["_skip"]
    start = 0
    while start < len(tokens) and tokens[start] in skip:
        start += 1
    head = tokens[start:start + lexicon["window"]]
    if not head:
        return "other"
    joined = " " + " ".join(head) + " "
    for entry in lexicon["types"]:
        if entry["match"] == "window" and any(f" {cue} " in joined for cue in entry["cues"]):
            return str(entry["name"])
    first = head[0]
    for entry in lexicon["types"]:
        if entry["match"] == "first" and first in entry["_cue_set"]:
            return str(entry["name"])
    return "other"


def task_lexicon() -> dict[str, Any]:
    """The task-type lexicon, ready for `task_type`."""
    raw = load_json_lexicon(LEXICONS / "task_types.json")
    types = [dict(t, _cue_set=frozenset(t["cues"])) for t in raw["types"]]
    return {"window": int(raw["window"]), "_skip": frozenset(raw["skip_words"]), "types": types}
