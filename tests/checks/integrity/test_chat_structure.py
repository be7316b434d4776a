"""chat_structure: roles, alternation, final assistant turn, empty turns, system prompts."""

from __future__ import annotations

from typing import Any

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import CheckResult, Status
from audit.runner import run_check
from checks.integrity.chat import ChatStructure


def conv(*roles: str, system: str | None = "You are a helpful assistant.") -> dict[str, Any]:
    turns = [{"role": "system", "content": system}] if system else []
    return {"messages": turns + [{"role": r, "content": f"turn {i}"} for i, r in enumerate(roles)]}


def _run(records: list[dict[str, Any]], **params: Any) -> CheckResult:
    return run_check(ChatStructure(**params), RunContext(load_dataset(records)))


def _records_of(result: CheckResult) -> dict[str, tuple[int, ...]]:
    return {f.code: f.records for f in result.findings}


def test_well_formed_conversations_pass() -> None:
    records = [conv("user", "assistant"), conv("user", "assistant", "user", "assistant"),
               conv("user", "assistant", "tool", "assistant")]
    result = _run(records)
    assert result.status is Status.PASSED
    assert result.findings == ()
    assert result.metrics["n_system_prompts"] == 1
    assert result.metrics["system_prompt_top_share"] == 1.0


def test_planted_structure_defects() -> None:
    records = [
        conv("user", "assistant"),                 # 0 fine
        conv("user", "user", "assistant"),         # 1 repeated user
        conv("user", "assistant", "user"),         # 2 ends with user
        conv("assistant", "user", "assistant"),    # 3 starts with assistant
        conv("user", "bot"),                       # 4 invalid role (and does not end with assistant)
        {"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"},
                      {"role": "assistant", "content": "a"}]},   # 5 system not first
        {"messages": [{"role": "user", "content": "q"},
                      {"role": "assistant", "content": "  "}]},  # 6 empty turn
        conv("user", "tool", "assistant"),         # 7 tool without an assistant call
        conv("user", "assistant"),                 # 8 fine
    ]
    result = _run(records)
    found = _records_of(result)
    assert found["not_alternating"] == (1, 3, 7)
    assert found["not_ending_with_assistant"] == (2, 4)
    assert found["invalid_role"] == (4,)
    assert found["misplaced_system"] == (5,)
    assert found["empty_turn"] == (6,)
    assert result.metrics["malformed_fraction"] == 7 / 9
    assert result.status is Status.FAILED
    example = next(f for f in result.findings if f.code == "empty_turn").details["examples"][0]
    assert example == "record 6: user > assistant (empty)"


def test_valid_roles_are_a_parameter() -> None:
    result = _run([conv("user", "assistant", "tool", "assistant")],
                  roles=["system", "user", "assistant"])
    assert "invalid_role" in _records_of(result)


def test_varying_and_missing_system_prompts_are_flagged() -> None:
    records = [conv("user", "assistant") for _ in range(6)]
    records.append(conv("user", "assistant", system="You are a pirate."))
    records.append(conv("user", "assistant", system=None))
    result = _run(records)
    found = _records_of(result)
    assert found["varying_system_prompts"] == (6,)
    assert found["missing_system_prompt"] == (7,)
    assert result.metrics["n_system_prompts"] == 2
    assert result.metrics["system_prompt_top_share"] == 6 / 7
    assert result.metrics["malformed_fraction"] == 0.0
    assert result.status is Status.WARNED and result.deciding_metric == "system_prompt_top_share"


def test_sharegpt_roles_are_mapped() -> None:
    records = [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
               for _ in range(3)]
    result = _run(records)
    assert result.findings == () and result.status is Status.PASSED


def test_skipped_for_non_chat_data() -> None:
    result = _run([{"instruction": "q", "output": "a"}])
    assert result.status is Status.SKIPPED
