"""The `token_lengths` check: a tokenizer.json built here, the estimate, truncation, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from audit.cli.main import main
from audit.context import RunContext
from audit.errors import InvalidParameterError
from audit.load import load_dataset
from audit.result import Status
from audit.runner import run_check
from checks.language import TokenLengths
from checks.language.tokens import estimate_tokens


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A word-level tokenizer.json: one token per whitespace-separated word or punctuation."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["[UNK]"])
    tokenizer.train_from_iterator(["the cat sat on the mat", "a dog ran"], trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(str(path))
    return str(path)


def _run(rows: list[dict[str, object]], **params: object):
    data = load_dataset(rows)
    return run_check(TokenLengths(**params), RunContext(data, seed=0))


def test_estimate_counts_ascii_by_four_and_dense_scripts_by_character() -> None:
    column = pa.array(["abcdefgh", "机器学习", "привет", "", None, "ab 猫"])
    assert estimate_tokens(column).tolist() == [2, 4, 3, 0, 0, 2]


def test_exact_counts_with_a_local_tokenizer(tokenizer_path: str) -> None:
    rows = [{"prompt": "the cat sat", "response": "on the mat ."},
            {"prompt": "a dog", "response": "ran"}]
    result = _run(rows, tokenizer=tokenizer_path)
    assert result.status is Status.PASSED
    assert result.details["estimated"] is False
    assert result.details["per_field"]["prompt"]["total"] == 5
    assert result.details["per_field"]["response"]["total"] == 5
    assert result.metrics["total_tokens"] == 10
    assert result.metrics["max_sequence_tokens"] == 7
    assert np.isnan(result.metrics["over_max_fraction"])  # no max_tokens


def test_without_a_tokenizer_the_counts_are_labelled_an_estimate() -> None:
    result = _run([{"prompt": "a" * 40, "response": "b" * 40}])
    assert result.details["estimated"] is True
    assert result.details["method"].startswith("estimate")
    assert result.metrics["total_tokens"] == 20


def test_records_over_the_context_and_the_share_truncation_cuts(tokenizer_path: str) -> None:
    rows = [{"prompt": "the cat sat", "response": "on the mat"},  # 6 tokens
            {"prompt": "the cat sat on the mat the cat", "response": "sat on"},  # 8 + 2
            {"prompt": "a", "response": "dog"}]  # 2
    result = _run(rows, tokenizer=tokenizer_path, max_tokens=6)
    assert result.metrics["n_over_max"] == 1
    assert result.metrics["over_max_fraction"] == pytest.approx(1 / 3)
    assert result.metrics["truncated_token_fraction"] == pytest.approx(4 / 18)
    assert result.metrics["response_lost_fraction"] == pytest.approx(1 / 3)
    assert result.status is Status.FAILED
    codes = {f.code: f for f in result.findings}
    assert codes["over_max_tokens"].records == (1,)
    assert codes["over_max_tokens"].record_values["tokens"] == (10,)
    assert codes["response_lost"].record_values["tokens_before_response"] == (8,)


def test_chat_turns_and_template_overhead(tokenizer_path: str) -> None:
    rows = [{"messages": [{"role": "system", "content": "the cat"},
                          {"role": "user", "content": "sat on the mat"},
                          {"role": "assistant", "content": "a dog ran"}]}]
    result = _run(rows, tokenizer=tokenizer_path, turn_overhead=2, max_tokens=12)
    assert result.details["per_turn"]["user"]["total"] == 4
    assert result.details["per_turn"]["assistant"]["total"] == 3
    assert result.details["per_turn"]["system"]["total"] == 2
    assert result.metrics["total_tokens"] == 9 + 3 * 2
    assert result.metrics["n_over_max"] == 1
    assert result.metrics["response_lost_fraction"] == 0.0  # 10 tokens before the answer


def test_cjk_text_is_not_counted_as_one_word() -> None:
    result = _run([{"prompt": "请用两句话概括下面这段文字。", "response": "好的。"}])
    assert result.details["per_field"]["prompt"]["total"] >= 13


def test_a_missing_tokenizer_file_is_an_invalid_parameter(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="not a file"):
        TokenLengths(tokenizer=str(tmp_path / "missing.json"))


def test_cli_tokenizer_and_max_tokens_become_the_check_params(
        tokenizer_path: str, tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps({"prompt": "the cat sat on the mat the cat sat",
                                          "response": "a dog ran"}) for _ in range(3)),
                    encoding="utf-8")
    out = tmp_path / "audit.json"
    with pytest.raises(SystemExit) as exited:
        main(["run", str(data), "--check", "token_lengths", "--tokenizer", tokenizer_path,
              "--max-tokens", "8", "--json", str(out), "--quiet"])
    assert exited.value.code == 1
    result = json.loads(out.read_text(encoding="utf-8"))
    check = next(c for c in result["checks"] if c["name"] == "token_lengths")
    assert check["metrics"]["n_over_max"] == 3
    assert check["details"]["estimated"] is False
    assert result["config"]["checks"]["token_lengths"]["params"] == {
        "tokenizer": tokenizer_path, "max_tokens": 8}


def test_cli_rejects_a_missing_tokenizer_with_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"prompt": "hi", "response": "hello"}), encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["run", str(data), "--tokenizer", str(tmp_path / "nope.json"), "--quiet"])
    assert exited.value.code == 2
