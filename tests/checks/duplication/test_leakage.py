"""eval_leakage: exact, near-duplicate and long n-gram leaks; contamination; eval splits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from audit.context import RunContext
from audit.load import load_dataset
from audit.result import Status
from audit.runner import run_check
from benchmarks.duplication import edit_words, random_documents
from checks.duplication.leakage import EvalLeakage, ngram_matches


def records(texts: list[str]) -> list[dict[str, Any]]:
    """Prompt = the first third of the words, response = the rest."""
    out = []
    for text in texts:
        words = text.split(" ")
        cut = max(len(words) // 3, 1)
        out.append({"prompt": " ".join(words[:cut]), "response": " ".join(words[cut:])})
    return out


@pytest.fixture(scope="module")
def train_texts() -> list[str]:
    return random_documents(40, words=60, seed=21)


def leak_setup(train_texts: list[str]) -> list[str]:
    """Eval texts: 0 = exact copy of train 1 (upper case), 1 = near copy of train 2, 2 = fresh
    text holding a 15-word span of train 3, then fresh texts."""
    fresh = random_documents(6, words=60, seed=22)
    near, _ = edit_words(train_texts[2], np.random.default_rng(3))
    span = " ".join(train_texts[3].split(" ")[10:25])  # 15 words of record 3
    eval_texts = [train_texts[1].upper(), near, f"{fresh[0][:80]} {span} {fresh[1][:80]}",
                  *fresh[2:]]
    return eval_texts


def test_each_leak_kind_is_found_and_clean_records_are_not(train_texts: list[str]) -> None:
    eval_texts = leak_setup(train_texts)
    train = load_dataset(records(train_texts), name="train")
    ev = load_dataset(records(eval_texts), name="eval")
    result = EvalLeakage().run(train, RunContext(train, seed=0, eval_data=ev))
    pairs = {p["eval"]: (p["train"], p["kind"]) for p in result.details["pairs"]}
    assert pairs == {0: (1, "exact"), 1: (2, "near_duplicate"), 2: (3, "ngram")}
    assert result.metrics["leaked_fraction"] == pytest.approx(3 / len(eval_texts))
    assert result.metrics["n_exact"] == result.metrics["n_ngram"] == 1
    codes = {f.code: f.records for f in result.findings}
    assert codes == {"eval_leak_exact": (1,), "eval_leak_near_duplicate": (2,),
                     "eval_leak_ngram": (3,)}
    assert np.isnan(result.metrics["contaminated_fraction"])


def test_shorter_shared_spans_do_not_count(train_texts: list[str]) -> None:
    span = " ".join(train_texts[3].split(" ")[10:20])  # 10 words < 13
    fresh = random_documents(2, words=30, seed=23)
    train = load_dataset(records(train_texts), name="train")
    ev = load_dataset(records([f"{fresh[0]} {span} {fresh[1]}"]), name="eval")
    result = EvalLeakage().run(train, RunContext(train, seed=0, eval_data=ev))
    assert result.metrics["n_leaked"] == 0 and not result.findings
    shorter = EvalLeakage(ngram_size=8).run(train, RunContext(train, seed=0, eval_data=ev))
    assert shorter.metrics["n_ngram"] == 1


def test_short_exact_prompts_need_min_words() -> None:
    train = load_dataset([{"prompt": "Say yes", "response": "Yes, of course, here it is."}],
                         name="train")
    ev = load_dataset([{"prompt": "say yes", "response": "Completely different answer here."}],
                      name="eval")
    assert EvalLeakage().run(train, RunContext(train, eval_data=ev)).metrics["n_leaked"] == 0
    loose = EvalLeakage(min_exact_words=1).run(train, RunContext(train, eval_data=ev))
    assert loose.details["pairs"] == [{"eval": 0, "train": 0, "kind": "exact", "match": "prompt"}]


def test_contamination_files_are_reported_per_benchmark(train_texts: list[str]) -> None:
    train = load_dataset(records(train_texts), name="train")
    bench = load_dataset(records([train_texts[5], *random_documents(3, seed=30)]), name="bench")
    result = run_check(EvalLeakage(), RunContext(train, contamination=[bench]))
    assert result.status is Status.FAILED
    assert result.metrics["contaminated_fraction"] == pytest.approx(0.25)
    assert np.isnan(result.metrics["leaked_fraction"])
    finding = next(f for f in result.findings if f.code == "benchmark_contamination")
    assert finding.records == (5,) and finding.details["benchmark"] == "bench"


def test_eval_split_in_the_same_file(train_texts: list[str]) -> None:
    rows = [{**r, "split": "train"} for r in records(train_texts[:10])]
    rows.append({**records([train_texts[4]])[0], "split": "test"})
    rows.append({**records(random_documents(1, seed=40))[0], "split": "test"})
    data = load_dataset(rows, name="split")
    result = run_check(EvalLeakage(), RunContext(data))
    assert result.metrics["leaked_fraction"] == pytest.approx(0.5)
    assert result.details["pairs"][0]["eval"] == 10 and result.details["pairs"][0]["train"] == 4


def test_ngram_matches_maps_every_owner() -> None:
    shared = " ".join(f"s{i}" for i in range(15))
    other = load_dataset([{"text": f"a b {shared}"}, {"text": f"{shared} c"}, {"text": "x"}])
    train = load_dataset([{"text": "nothing here"}, {"text": f"z {shared} z"}])
    assert ngram_matches(other, train, RunContext(train), 13).tolist() == [[0, 1], [1, 1]]


def test_no_eval_data_skips() -> None:
    data = load_dataset([{"prompt": "a", "response": "b"}])
    result = run_check(EvalLeakage(), RunContext(data))
    assert result.status is Status.SKIPPED
