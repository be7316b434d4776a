"""From an audit result and a fix policy to a plan: which records to drop, which to edit, why.

Pure: reads the result's findings (every flagged record, with per-record values), never the
data. Each planned change names the check and finding code behind it. Drops are decided in
action order, so a record dropped as a duplicate is not dropped again as a refusal (the later
reasons are listed with it); edits of a dropped record are not made.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.cli.fix_policy import FixPolicy
from audit.result import AuditResult, CheckResult, Finding, Status

RAN = (Status.PASSED, Status.WARNED, Status.FAILED)
#: the order edits are made in, per record
EDIT_ORDER = ("strip_control", "repair_json", "mask_pii", "drop_field", "blank_no_input",
              "relabel")


@dataclass(frozen=True)
class Change:
    """One planned change to one record."""

    action: str  # "drop", or an edit of EDIT_ORDER
    policy: str  # the policy action that decided it
    check: str
    code: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class FixPlan:
    drops: dict[int, Change] = field(default_factory=dict)  # record id -> why
    #: why a check an action reads has no findings to act on -> the actions concerned
    unrun: dict[str, list[str]] = field(default_factory=dict)
    also: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    edits: dict[int, list[Change]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)

    def drop(self, record: int, change: Change) -> None:
        if record in self.drops:
            reason = f"{change.check}:{change.code}"
            if self.drops[record].policy != change.policy and reason not in self.also[record]:
                self.also[record].append(reason)
            return
        self.drops[record] = change

    def edit(self, record: int, change: Change) -> None:
        self.edits[record].append(change)

    def all_notes(self) -> list[str]:
        """The notes, with one line per reason the actions' checks did not run."""
        return [*(f"nothing done by {', '.join(actions)}: {why}"
                  for why, actions in self.unrun.items()), *self.notes]

    def ordered_edits(self, record: int) -> list[Change]:
        return sorted(self.edits.get(record, ()), key=lambda c: EDIT_ORDER.index(c.action))

    def counts(self) -> Counter[tuple[str, str, str, str]]:
        """(action, policy, check, code) -> planned records (edits of dropped ones left out)."""
        counts: Counter[tuple[str, str, str, str]] = Counter()
        for change in self.drops.values():
            counts[("drop", change.policy, change.check, change.code)] += 1
        for record, changes in self.edits.items():
            if record in self.drops:
                continue
            for change in changes:
                counts[(change.action, change.policy, change.check, change.code)] += 1
        return counts


def plan_fix(result: AuditResult, policy: FixPolicy) -> FixPlan:
    """Every change `policy` makes for `result`'s findings."""
    plan = FixPlan()
    planners = {
        "duplicates": _duplicates, "eval_leaks": _eval_leaks,
        "empty_responses": _drop_codes("empty_responses", ("empty_response",
                                                           "empty_assistant_turn")),
        "placeholders": _placeholders, "no_input_markers": _no_input_markers,
        "refusals": _refusals,
        "truncation": lambda r, p, plan: _drop(r, p, plan, "truncation", "truncation",
                                               p.option("truncation", "codes")),
        "unavailable_context": _drop_codes("unavailable_context", None),
        "structured_output": _structured, "control_characters": _hygiene, "pii": _pii,
        "default_fields": _default_fields, "relabel": _relabel, "conflicts": _conflicts,
    }
    for name in policy.enabled():
        planners[name](result, policy, plan)
    return plan


# -- helpers ------------------------------------------------------------------------------------
def _check(result: AuditResult, plan: FixPlan, name: str, action: str) -> CheckResult | None:
    """The check's result when it ran; otherwise a note saying why the action did nothing."""
    try:
        check = result.check(name)
    except KeyError:
        why = "the audit did not run their checks"
    else:
        if check.status in RAN:
            return check
        why = (f"their checks {check.status.value} "
               f"({check.skipped_reason or check.error or 'no reason given'})")
    actions = plan.unrun.setdefault(why, [])
    entry = f"{action} ({name})" if action != name else action
    if entry not in actions:
        actions.append(entry)
    return None


def _findings(check: CheckResult, codes: Iterable[str] | None) -> list[Finding]:
    wanted = None if codes is None else set(codes)
    return [f for f in check.findings if wanted is None or f.code in wanted]


def _drop(result: AuditResult, policy: FixPolicy, plan: FixPlan, action: str, name: str,
          codes: Iterable[str] | None) -> None:
    check = _check(result, plan, name, action)
    if check is None:
        return
    for finding in _findings(check, codes):
        for record in finding.records:
            plan.drop(record, Change("drop", action, name, finding.code))


def _drop_codes(name: str, codes: Sequence[str] | None) -> Any:
    def planner(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
        _drop(result, policy, plan, name, name, codes)
    return planner


def _values(finding: Finding, key: str) -> Sequence[Any]:
    values = finding.record_values.get(key)
    if values is None:
        raise KeyError(f"finding {finding.check}:{finding.code} has no per-record {key!r} values")
    return values


# -- drops --------------------------------------------------------------------------------------
def _duplicates(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    """Union of the exact (and near) duplicate clusters; each keeps its smallest id. A record
    in an exact cluster whose first record is not itself is an exact duplicate of that first
    record; any other dropped record is a near duplicate of its cluster's kept record (the
    rule of `checks.duplication.plan_dedupe`)."""
    exact = _check(result, plan, "exact_duplicates", "duplicates")
    near = _check(result, plan, "near_duplicates", "duplicates") \
        if policy.option("duplicates", "near") else None
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(members: Sequence[int]) -> None:
        first = root(members[0])
        for other in members[1:]:
            a, b = sorted((first, root(other)))
            parent[b] = a
            first = a

    first_exact: dict[int, int] = {}
    for check, code in ((exact, "duplicate_cluster"), (near, "near_duplicate_cluster")):
        if check is None:
            continue
        for finding in _findings(check, (code,)):
            members = sorted(finding.records)
            if len(members) < 2:
                continue
            union(members)
            if code == "duplicate_cluster":
                for record in members[1:]:
                    first_exact[record] = members[0]
    for record in sorted(parent):
        kept = root(record)
        if kept == record:
            continue
        if record in first_exact:
            plan.drop(record, Change("drop", "duplicates", "exact_duplicates", "duplicate_cluster",
                                     {"kept": first_exact[record]}))
        else:
            plan.drop(record, Change("drop", "duplicates", "near_duplicates",
                                     "near_duplicate_cluster", {"kept": kept}))


def _eval_leaks(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    check = _check(result, plan, "eval_leakage", "eval_leaks")
    if check is None:
        return
    kinds = set(policy.option("eval_leaks", "kinds"))
    for finding in check.findings:
        pairs = finding.details.get("pairs") or []
        if finding.code.startswith("eval_leak_"):
            if finding.code.removeprefix("eval_leak_") not in kinds:
                continue
            records: Iterable[int] = finding.records
        elif finding.code == "benchmark_contamination" and policy.option("eval_leaks",
                                                                          "benchmarks"):
            complete = len({p.get("train") for p in pairs}) >= finding.n_records
            records = sorted({int(p["train"]) for p in pairs if p.get("kind") in kinds}) \
                if complete else finding.records
            if not complete:
                plan.notes.append(f"eval_leaks: benchmark {finding.details.get('benchmark')}: "
                                  "the result lists only some leak pairs, so every "
                                  "contaminated record is dropped whatever its kind")
        else:
            continue
        first: dict[int, Mapping[str, Any]] = {}
        for pair in pairs:
            first.setdefault(int(pair["train"]), pair)
        for record in records:
            pair = first.get(record, {})
            details: dict[str, Any] = {"eval": pair.get("eval"), "kind": pair.get("kind")}
            if finding.code == "benchmark_contamination":
                details["benchmark"] = finding.details.get("benchmark")
            plan.drop(record, Change("drop", "eval_leaks", "eval_leakage", finding.code,
                                     details))


def _placeholders(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    codes = ["placeholder"] + (["possible_placeholder"]
                               if policy.option("placeholders", "possible") else [])
    _drop(result, policy, plan, "placeholders", "placeholder_responses", codes)


def _refusals(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    codes = ["refusal"] + (["boilerplate"] if policy.option("refusals", "boilerplate") else [])
    _drop(result, policy, plan, "refusals", "refusals", codes)


def _conflicts(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    """Per group, the variant with the most records stays; a tie drops the group or keeps the
    variant of its first record (`ties`)."""
    check = _check(result, plan, "conflicting_responses", "conflicts")
    if check is None:
        return
    codes = ["conflicting_responses"] + (["conflicting_labels"]
                                         if policy.option("conflicts", "labels") else [])
    for finding in _findings(check, codes):
        variants = [int(v) for v in _values(finding, "variant")]
        sizes = Counter(variants)
        ranked = sizes.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            if policy.option("conflicts", "ties") == "drop":
                keep = None
            else:
                keep = variants[finding.records.index(min(finding.records))]
        else:
            keep = ranked[0][0]
        for record, variant in zip(finding.records, variants, strict=True):
            if variant != keep:
                plan.drop(record, Change("drop", "conflicts", "conflicting_responses",
                                         finding.code, {"variant": variant, "kept_variant": keep,
                                                        "variants": dict(sorted(sizes.items()))}))


# -- edits --------------------------------------------------------------------------------------
def _structured(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    check = _check(result, plan, "structured_output", "structured_output")
    if check is None:
        return
    repairs: dict[int, list[str]] = defaultdict(list)
    for finding in check.findings:
        if finding.code == "not_json" and policy.option("structured_output", "drop_unparseable"):
            for record in finding.records:
                plan.drop(record, Change("drop", "structured_output", "structured_output",
                                         "not_json"))
        elif finding.code in ("python_literal", "code_fenced_json", "leading_text",
                              "trailing_text"):
            for record in finding.records:
                repairs[record].append(finding.code)
    for record, codes in sorted(repairs.items()):
        plan.edit(record, Change("repair_json", "structured_output", "structured_output",
                                 ",".join(codes)))


def _hygiene(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    check = _check(result, plan, "control_characters", "control_characters")
    if check is None:
        return
    kinds: dict[int, list[str]] = defaultdict(list)
    for finding in _findings(check, policy.option("control_characters", "kinds")):
        for record in finding.records:
            kinds[record].append(finding.code)
    for record, codes in sorted(kinds.items()):
        plan.edit(record, Change("strip_control", "control_characters", "control_characters",
                                 ",".join(codes), {"kinds": codes}))


def _pii(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    check = _check(result, plan, "pii", "pii")
    if check is None:
        return
    types = list(policy.option("pii", "types"))
    placeholders = policy.option("pii", "placeholders")
    found: dict[int, list[str]] = defaultdict(list)
    for finding in check.findings:
        if finding.code in types or (placeholders and finding.code == "placeholder_pii"):
            for record in finding.records:
                found[record].append(finding.code)
    spacy_model = str(check.params.get("spacy_model") or "")
    for record, codes in sorted(found.items()):
        wanted = types if "placeholder_pii" in codes else [c for c in codes if c in types]
        plan.edit(record, Change("mask_pii", "pii", "pii", ",".join(codes),
                                 {"types": wanted, "placeholders": placeholders,
                                  "spacy_model": spacy_model}))


def _no_input_markers(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    check = _check(result, plan, "placeholder_responses", "no_input_markers")
    if check is None:
        return
    for finding in _findings(check, ("inconsistent_no_input_markers",)):
        if finding.details.get("source") != "context":
            plan.notes.append("no_input_markers: the markers are inside prompts, not an input "
                              "field; left as they are")
            continue
        if finding.details.get("majority") != "(empty)":
            plan.notes.append(f"no_input_markers: most records write "
                              f"{finding.details.get('majority')!r}, not a blank input; left "
                              "as they are")
            continue
        for record in finding.records:
            plan.edit(record, Change("blank_no_input", "no_input_markers",
                                     "placeholder_responses", finding.code))


def _default_fields(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    check = _check(result, plan, "structured_output", "default_fields")
    if check is None:
        return
    for finding in _findings(check, ("default_filled_field",)):
        for record in finding.records:
            plan.edit(record, Change("drop_field", "default_fields", "structured_output",
                                     finding.code, {"field": finding.details.get("field"),
                                                    "value": finding.details.get("value")}))


def _relabel(result: AuditResult, policy: FixPolicy, plan: FixPlan) -> None:
    check = _check(result, plan, "label_issues", "relabel")
    if check is None:
        return
    least = float(policy.option("relabel", "min_confidence"))
    skipped = 0
    for finding in _findings(check, ("likely_label_errors",)):
        given, suggested = _values(finding, "given"), _values(finding, "suggested")
        quality = _values(finding, "label_quality")
        for record, old, new, q in zip(finding.records, given, suggested, quality, strict=True):
            confidence = 1.0 - float(q)
            if confidence + 1e-12 < least:
                skipped += 1
                continue
            plan.edit(record, Change("relabel", "relabel", "label_issues", finding.code,
                                     {"from": old, "to": new,
                                      "confidence": round(confidence, 4)}))
    if skipped:
        plan.notes.append(f"relabel: {skipped} likely label errors are under min_confidence "
                          f"{least:g}; left as they are")
