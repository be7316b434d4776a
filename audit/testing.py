"""The contract every check must pass, usable by third-party check authors.

    from audit.testing import assert_check_contract
    def test_my_check_contract():
        assert_check_contract(MyCheck)

It runs the check on small built-in datasets (instruction, chat, classification; empty and
one-record variants) and asserts: params round-trip and pickle; the input is not mutated;
results are deterministic for a seed; empty and one-record data do not error; the result is
JSON-serialisable; finding record ids exist in the data and a finding that lists records lists
all it counts; a SKIPPED result says why; an unmet need gives SKIPPED; the
artifacts it reads are declared in `uses`.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

from audit.check import Check, Need
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.load import FieldMapping, load_dataset
from audit.result import AuditResult, CheckResult, Status
from audit.runner import run_check

_TOPICS = ("refund", "password reset", "shipping delay", "invoice copy", "account deletion",
           "plan upgrade", "card declined", "address change")
_GROUP_WORDS = ("she", "he", "the nurse", "the engineer", "my grandmother", "a young man")


def instruction_records(n: int = 48) -> list[dict[str, Any]]:
    """Alpaca-style support records with a category label, a split, and a few defects."""
    records = []
    for i in range(n):
        topic = _TOPICS[i % len(_TOPICS)]
        who = _GROUP_WORDS[i % len(_GROUP_WORDS)]
        records.append({
            "instruction": f"A customer asks about {topic}. Case {i // 3}: {who} wrote in.",
            "input": "" if i % 4 else f"Order #{1000 + i}",
            "output": f"Thanks for reaching out about your {topic}. Here is what to do next: "
                      f"step {i % 5 + 1}, then confirm by email.",
            "category": "billing" if topic in ("refund", "invoice copy", "card declined",
                                               "plan upgrade") else "account",
            "split": "test" if i % 8 == 7 else "train",
        })
    if n > 9:
        records[5]["output"] = " "  # an empty response
        records[9] = dict(records[1])  # an exact duplicate
    return records


def chat_records(n: int = 24) -> list[dict[str, Any]]:
    records = []
    for i in range(n):
        topic = _TOPICS[i % len(_TOPICS)]
        records.append({"messages": [
            {"role": "system", "content": "Extract the fields as JSON."},
            {"role": "user", "content": f"Resume {i}: Jane Doe {i}, {topic} specialist, "
                                        f"{i % 9 + 1} years."},
            {"role": "assistant", "content": json.dumps({"name": f"Jane Doe {i}",
                                                         "title": f"{topic} specialist",
                                                         "years": i % 9 + 1})},
        ]})
    return records


def classification_records(n: int = 60) -> list[dict[str, Any]]:
    positive = ("great", "loved it", "excellent", "wonderful service", "works perfectly")
    negative = ("terrible", "hated it", "awful", "broken on arrival", "waste of money")
    records = []
    for i in range(n):
        good = i % 2 == 0
        words = positive if good else negative
        who = _GROUP_WORDS[i % len(_GROUP_WORDS)]
        records.append({"text": f"Review {i}: {who} said it was {words[i % 5]}.",
                        "label": "pos" if good else "neg"})
    return records


def contract_datasets() -> dict[str, DatasetView]:
    """Named datasets the contract runs every check on."""
    instr = instruction_records()
    return {
        "instruction": load_dataset(instr, name="instruction"),
        "chat": load_dataset(chat_records(), name="chat"),
        "classification": load_dataset(classification_records(), name="classification"),
        "instruction_one": load_dataset(instr[:1], name="instruction_one"),
        "classification_one": load_dataset(classification_records(1), name="classification_one"),
        "empty": load_dataset([], fields=FieldMapping(schema="alpaca"), name="empty"),
    }


def _context(data: DatasetView, seed: int = 0) -> RunContext:
    eval_view = load_dataset(instruction_records(8), name="eval")
    probe_view = load_dataset([{"prompt": f"How do I get a {t}?", "response": ""}
                               for t in _TOPICS], name="probe")
    return RunContext(data, seed=seed, eval_data=eval_view, probe_data=probe_view)


def _comparable(result: CheckResult) -> dict[str, Any]:
    out = result.to_dict()
    out.pop("duration_s")
    return out


def comparable_result(result: AuditResult) -> dict[str, Any]:
    """An audit result's JSON document without its timings and its use of the cache: what
    must be identical across engines, batch sizes and cached or uncached runs."""
    doc: dict[str, Any] = json.loads(result.to_json())
    doc.pop("duration_s")
    doc.pop("cache_use")
    for check in doc["checks"]:
        check.pop("duration_s")
    return doc


def run_contract_case(check_cls: type[Check], data: DatasetView) -> CheckResult:
    """Run one dataset through the contract; returns the result for further assertions."""
    check = check_cls()
    raw_before = data.raw
    fingerprint = data.fingerprint
    first = run_check(check, _context(data))
    assert first.status is not Status.ERRORED, (
        f"{check.name} errored on {data.source!r}: {first.error}")
    assert data.fingerprint == fingerprint and data.raw.equals(raw_before), (
        f"{check.name} mutated the input")
    second = run_check(check_cls(), _context(data))
    assert _comparable(first) == _comparable(second), f"{check.name} is not deterministic"
    json.dumps(first.to_dict(), allow_nan=False)
    known = set(data.ids.tolist()) | {s.id for s in data.skipped}
    assert first.status is not Status.SKIPPED or first.skipped_reason, (
        f"{check.name} was skipped without a reason")
    for finding in first.findings:
        unknown = set(finding.records) - known
        assert not unknown, f"{check.name} finding {finding.code} names unknown records {unknown}"
        assert finding.check == check.name
        assert not finding.records or len(finding.records) == finding.n_records, (
            f"{check.name} finding {finding.code} lists {len(finding.records)} of the "
            f"{finding.n_records} records it flags: a result holds every flagged record")
    return first


def assert_declares_artifacts(check_cls: type[Check], data: DatasetView) -> None:
    """The artifacts the check reads are in its `uses` (else the runner may free them early)."""
    ctx = _context(data)
    run_check(check_cls(), ctx)
    undeclared = ctx.requested - check_cls.uses
    assert not undeclared, (f"{check_cls.name} reads artifacts it does not declare in `uses`: "
                            f"{', '.join(sorted(undeclared))}")


def assert_params_round_trip(check_cls: type[Check]) -> None:
    check = check_cls()
    rebuilt = check_cls(**check.get_params())
    assert rebuilt == check, f"{check_cls.name}: params do not round-trip"
    assert pickle.loads(pickle.dumps(check)) == check, f"{check_cls.name}: not picklable"
    json.dumps(check.get_params())


def assert_skips_without_needs(check_cls: type[Check]) -> None:
    """A dataset lacking each need gives SKIPPED with a reason."""
    text_only = load_dataset([{"text": "just some text"} for _ in range(3)], name="text_only")
    for need in check_cls.requires:
        ctx = RunContext(text_only, seed=0)
        if need in (Need.PROMPT,):
            continue  # text-only data has a prompt
        result = run_check(check_cls(), ctx)
        assert result.status is Status.SKIPPED and result.skipped_reason, (
            f"{check_cls.name} did not skip without {need.value}")


def assert_check_contract(check_cls: type[Check]) -> None:
    """Everything above, on every contract dataset."""
    assert_params_round_trip(check_cls)
    assert_skips_without_needs(check_cls)
    for data in contract_datasets().values():
        run_contract_case(check_cls, data)
        assert_declares_artifacts(check_cls, data)
