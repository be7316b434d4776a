"""Chat structure: the shape of each conversation, and whether system prompts agree.

Vectorised over the flattened turns of the Arrow `messages` column: one role code and one
emptiness flag per turn, record index per turn, and numpy comparisons between neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold

SYSTEM, USER, ASSISTANT, TOOL, OTHER = 0, 1, 2, 3, -1
ROLE_CODES = {"system": SYSTEM, "user": USER, "assistant": ASSISTANT, "tool": TOOL}
#: role sequences shown per kind of defect, and system prompts listed, in details
MAX_EXAMPLES = 3
MAX_PROMPTS_LISTED = 5
PROMPT_EXCERPT = 120

KINDS = {
    "invalid_role": "a turn with a role other than {roles}",
    "misplaced_system": "a system turn that is not the first turn",
    "not_alternating": "roles that do not alternate user/assistant (starting with user; tool "
                       "turns only after an assistant turn)",
    "not_ending_with_assistant": "a conversation that does not end with an assistant turn",
    "empty_turn": "an empty or whitespace-only turn",
}


@dataclass(frozen=True)
class Turns:
    """The flattened turns: per turn its record position, role code, place and emptiness."""

    record: np.ndarray
    role: np.ndarray
    place: np.ndarray
    empty: np.ndarray
    lengths: np.ndarray
    role_names: pa.Array  # the role of each turn as written (lower-cased)


def flatten_turns(data: DatasetView, roles: tuple[str, ...]) -> Turns:
    column = data.table.column("messages")
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    offsets = np.asarray(array.offsets, dtype=np.int64)
    offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    lengths[np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)] = 0
    flat = array.flatten()
    role_array = pc.utf8_lower(flat.field("role"))
    known = [r for r in ROLE_CODES if r in roles]
    index = pc.fill_null(pc.index_in(role_array, value_set=pa.array(known)), -1)
    codes = np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.int64)
    role = np.where(codes >= 0, np.asarray([ROLE_CODES[r] for r in known] + [OTHER])[codes],
                    OTHER)
    content = pc.fill_null(flat.field("content"), "")
    empty = np.asarray(pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(content)), 0)
                       .to_numpy(zero_copy_only=False), dtype=bool)
    record = np.repeat(np.arange(len(lengths)), lengths)
    place = np.arange(len(record)) - offsets[:-1][record] if len(record) else record
    return Turns(record=record, role=role, place=place, empty=empty, lengths=lengths,
                 role_names=role_array)


def structure_defects(turns: Turns, n: int) -> dict[str, np.ndarray]:
    """Per kind of defect, a boolean mask over the n records."""
    rec, role = turns.record, turns.role
    out = {kind: np.zeros(n, dtype=bool) for kind in KINDS}
    out["invalid_role"][rec[role == OTHER]] = True
    out["misplaced_system"][rec[(role == SYSTEM) & (turns.place > 0)]] = True
    out["empty_turn"][rec[turns.empty]] = True
    # alternation, over the non-system turns of each record
    idx = np.flatnonzero(role != SYSTEM)
    r, c = rec[idx], role[idx]
    same_record = np.r_[False, r[1:] == r[:-1]]
    previous = np.r_[OTHER, c[:-1]]
    repeated = same_record & (c == previous) & ((c == USER) | (c == ASSISTANT))
    bad_tool = (c == TOOL) & ~(same_record & ((previous == ASSISTANT) | (previous == TOOL)))
    first_not_user = ~same_record & (c != USER) & (c != OTHER)
    out["not_alternating"][r[repeated | bad_tool | first_not_user]] = True
    # last turn of each record
    has_turns = turns.lengths > 0
    last = np.cumsum(turns.lengths) - 1
    ends_badly = np.ones(n, dtype=bool)
    ends_badly[has_turns] = role[last[has_turns]] != ASSISTANT
    out["not_ending_with_assistant"] = ends_badly
    return out


@dataclass(frozen=True)
class SystemPrompts:
    """How many distinct system prompts, the share of the most common, who lacks one."""

    n_distinct: int
    top_share: float
    missing: np.ndarray  # per record: no system prompt
    differs: np.ndarray  # per record: a system prompt other than the most common one
    top: list[dict[str, object]]


def system_prompt_stats(data: DatasetView) -> SystemPrompts:
    system = data.table.column("system")
    missing = np.asarray(system.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    present = pc.drop_null(system)
    if len(present) == 0:
        return SystemPrompts(0, np.nan, missing, np.zeros(data.n, dtype=bool), [])
    counts = sorted(pc.value_counts(present).to_pylist(), key=lambda v: (-v["counts"], v["values"]))
    most_common = counts[0]["values"]
    differs = np.asarray(pc.fill_null(pc.not_equal(system, most_common), False)
                         .to_numpy(zero_copy_only=False), dtype=bool)
    top: list[dict[str, object]] = [{"prompt": _excerpt(v["values"]), "records": int(v["counts"])}
                                    for v in counts[:MAX_PROMPTS_LISTED]]
    return SystemPrompts(len(counts), counts[0]["counts"] / len(present), missing, differs, top)


def _excerpt(text: str) -> str:
    return text if len(text) <= PROMPT_EXCERPT else text[:PROMPT_EXCERPT] + "…"


@register
class ChatStructure(Check):
    """Chat conversations whose structure is broken, and system prompts that vary.

    Each conversation should have valid roles, an optional system turn first and only first,
    user and assistant turns alternating from a user turn, no empty turns, and end with an
    assistant turn (the turn the model learns to produce). Chat templates silently mis-render or
    drop malformed conversations, and a model trained on repeated roles or trailing user turns
    learns to continue the wrong speaker. System prompts are compared across records: when they
    vary, the model learns a behaviour tied to each variant (often unintended); the number of
    distinct prompts and the share of the most common one are reported.
    """

    name = "chat_structure"
    category = "integrity"
    requires = frozenset({Need.CHAT})
    metrics = ("malformed_fraction", *(f"n_{k}" for k in KINDS), "n_system_prompts",
               "system_prompt_top_share", "missing_system_fraction")
    default_thresholds = (
        Threshold(metric="malformed_fraction", warn=0.0, fail=0.01),
        # any variation warns; raise/lower `warn` in the config when variants are intended
        Threshold(metric="system_prompt_top_share", warn=1.0, direction="min"),
    )

    @dataclass(frozen=True)
    class Params:
        roles: tuple[str, ...] = param(("system", "user", "assistant", "tool"),
                                       doc="valid roles (after ShareGPT names are mapped: "
                                           "human -> user, gpt -> assistant)")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        n = data.n
        if n == 0:
            return Measurement(metrics={m: (0.0 if m.startswith(("n_", "malformed")) else np.nan)
                                        for m in self.metrics})
        turns = flatten_turns(data, self.params.roles)
        defects = structure_defects(turns, n)
        findings = []
        allowed = ", ".join(self.params.roles)
        for kind, mask in defects.items():
            positions = np.flatnonzero(mask)
            if not len(positions):
                continue
            findings.append(Finding(
                check=self.name, code=kind, severity=Severity.ERROR,
                message=f"{len(positions)} conversations have {KINDS[kind].format(roles=allowed)}",
                metric="malformed_fraction", value=len(positions) / n,
                records=tuple(int(i) for i in data.ids[positions]), n_records=len(positions),
                details={"examples": [self._roles_of(turns, int(p), data)
                                      for p in positions[:MAX_EXAMPLES]]}))
        malformed = np.logical_or.reduce(list(defects.values()))
        stats = system_prompt_stats(data)
        findings.extend(self._system_findings(data, stats))
        metrics = {"malformed_fraction": float(malformed.mean())}
        metrics.update({f"n_{k}": float(v.sum()) for k, v in defects.items()})
        metrics.update({"n_system_prompts": float(stats.n_distinct),
                        "system_prompt_top_share": float(stats.top_share),
                        "missing_system_fraction": float(stats.missing.mean())})
        return Measurement(metrics=metrics, findings=tuple(findings),
                           details={"system_prompts": stats.top})

    def _system_findings(self, data: DatasetView, stats: SystemPrompts) -> list[Finding]:
        out = []
        if stats.n_distinct > 1:
            positions = np.flatnonzero(stats.differs)
            out.append(Finding(
                check=self.name, code="varying_system_prompts", severity=Severity.WARNING,
                message=f"{stats.n_distinct} distinct system prompts; the most common is in "
                        f"{stats.top_share:.0%} of the records that have one; "
                        f"{len(positions)} records use another",
                metric="system_prompt_top_share", value=stats.top_share,
                records=tuple(int(i) for i in data.ids[positions]), n_records=len(positions),
                details={"n_distinct": stats.n_distinct, "most_common": stats.top}))
        missing = stats.missing
        if 0 < missing.sum() < data.n:
            positions = np.flatnonzero(missing)
            out.append(Finding(
                check=self.name, code="missing_system_prompt", severity=Severity.WARNING,
                message=f"{len(positions)} conversations have no system prompt while the other "
                        f"{data.n - len(positions)} have one",
                metric="missing_system_fraction", value=len(positions) / data.n,
                records=tuple(int(i) for i in data.ids[positions]), n_records=len(positions)))
        return out

    @staticmethod
    def _roles_of(turns: Turns, position: int, data: DatasetView) -> str:
        members = np.flatnonzero(turns.record == position)
        names = [f"{turns.role_names[int(j)].as_py()}{' (empty)' if turns.empty[j] else ''}"
                 for j in members]
        return f"record {int(data.ids[position])}: " + (" > ".join(names) or "(no turns)")
