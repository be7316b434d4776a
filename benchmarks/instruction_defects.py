"""Instruction-data defect checks: speed at 100k records, precision on sample and real data.

    python -m benchmarks.instruction_defects [--quick] [--show-flags]

1. Speed: N (default 100k, --quick 20k) generated Alpaca records of ~100 words
   (`benchmarks.generate.instruction_records`, deterministic, with planted placeholders and
   refusals), loaded once; then each check of the issue-3 family runs in order on one
   RunContext, as in an audit (shared artifacts are computed by the first check that needs
   them). Wall time per check and peak RSS of the forked child (generation included).
2. Sample data: precision and recall of each check against sample_data/manifest.json.
3. Real data (../shared/datasets): every flag of each pattern check and of `truncation`
   (up to 30 per check and dataset, a fixed random sample) was read by hand; the verdicts are
   recorded in REVIEW below with a reason, and the script reports the fraction judged right.
   Flags without a recorded verdict are counted as "unreviewed" (never as right), so a lexicon
   change that creates new flags shows up. `--show-flags` prints the flags for review.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    REPO_ROOT,
    markdown_table,
    measure_isolated,
    shared_datasets_dir,
    write_results,
)

MINE = ("placeholder_responses", "unavailable_context", "merged_instructions", "refusals",
        "truncation", "length_outliers")
#: the rest of the issue-3 family (other modules), timed when registered
FAMILY_OTHERS = ("gx_expectations", "control_characters", "chat_structure", "pii",
                 "structured_output")
REVIEWED_CHECKS = ("placeholder_responses", "unavailable_context", "merged_instructions",
                   "refusals", "truncation")
SAMPLE_PER_CHECK = 30
#: real datasets not read while the lexicons were written and adjusted (the rest were: their
#: precision is in-sample)
HELD_OUT = ("banking77_queries", "trec_questions", "oasst_lottery_prompts")
SEED = 20261129
#: planted defects of other checks that are also true positives for one of ours:
#: (check, planted defect, a word in the plant's detail)
ALSO_PLANTED = (("truncation", "structured_output:invalid_json", "cut"),)

#: Hand review of real-data flags: check -> dataset -> record id -> (right?, reason).
#: "Right" means the record has the defect the finding names (read in full, 2026-11-29).
REVIEW: dict[str, dict[str, dict[int, tuple[bool, str]]]] = {
    "placeholder_responses": {
        "dolly_3k": {
            513: (True, "letter signed 'Dear [insert name] ... [insert name]': unfilled slots "
                        "(INFO possible_placeholder; defensible here, no name was given)"),
            1449: (True, "'Hi <insert name here>': unfilled slot (INFO possible_placeholder)"),
        },
        "code_alpaca_2k": {
            494: (True, "input 'No input' where 1,011 other records use '' for no input"),
            697: (False, "'undefined' is the real answer (which value is not a JSON type); "
                         "INFO possible_placeholder"),
        },
    },
    "unavailable_context": {
        "dolly_3k": {
            86: (False, "'extract ... from this link https://...' but the passage is in the "
                        "input field: the content is in the record"),
            1427: (True, "the instruction is only a Wikipedia URL and the input asks for the "
                         "player's goals for Sevilla: the page is not in the record"),
        },
        "code_alpaca_2k": {
            215: (True, "'output of the following Ruby code snippet.' with an empty input: no "
                        "code, and the response invents one"),
            745: (False, "'the following code' is quoted inside the input of a classification "
                         "task"),
            1508: (False, "'Reserve the following table of 3x2 dimension in C.': nothing needs "
                          "to follow"),
            1973: (True, "'send an HTTP GET request to the following URL.' with no URL; the "
                         "response makes up 'example.com'"),
        },
        "trec_questions": {
            616: (False, "'When is the site www.questions.com going to open ?' asks about the "
                         "site, not for its content"),
        },
    },
    "merged_instructions": {
        "oasst_pairs": {
            458: (False, "'Human: hello / AI: ...' is an illustrative example inside an "
                         "explanation of how LLMs are trained"),
        },
    },
    "refusals": {
        "dolly_3k": {
            882: (True, "'As a Large Language Model (LLM), I don't have any favorite ...'"),
            2155: (True, "'... is not financial advice. Please consult a financial advisor.' "
                         "boilerplate caveat (INFO)"),
        },
        "self_instruct": {
            115: (True, "'... I cannot answer this.' refusal"),
        },
        "oasst_pairs": {
            8: (True, "closing hedge 'it is recommended that you consult with a doctor' (INFO)"),
            64: (True, "'I am an AI language model' self-disclaimer (the user asked about the "
                       "assistant, so acceptable in context)"),
            160: (True, "closing hedge 'important to consult a healthcare professional' (INFO)"),
            170: (True, "opens 'As a language model, I am unable to provide current ...'"),
            226: (True, "opens 'I don't have personal experience, but ...'"),
            291: (True, "'As an AI assistant I don't have any personal opinions ... I cannot "
                        "write a review'"),
            296: (True, "'As a language model i don't have any thoughts on time travel.'"),
            315: (True, "'As an AI language model, there are some things I cannot help you "
                        "with' (asked what it cannot do; boilerplate list)"),
            316: (True, "'As an open and free AI language model ... I don't have the ability "
                        "to ...' list of refusals"),
            359: (True, "'I'm sorry, but as an AI language model, it is not ethical ...' refusal"),
            360: (True, "'I'm sorry but I cannot do that.' refusal"),
            413: (True, "quotes ChatGPT's 'I am an AI language model developed by OpenAI' "
                        "self-description into the answer"),
            417: (True, "'... so I am unable to answer this question.' refusal"),
            544: (True, "'As an AI, I do not have consciousness ...' disclaimer"),
            548: (True, "'I don't know if I can't help you with your existential problems' "
                        "deflection to other people"),
            671: (True, "'Unfortunately I can't help with this.' refusal"),
            677: (True, "'sorry, I'm not connected to the Internet, so, I can't answer that.'"),
        },
    },
    "truncation": {
        "dolly_3k": {
            2075: (True, "answer stops at 'the Roman goddess of the dawn,' (the input goes on)"),
            2678: (True, "ends on a cut citation marker 'faster.['"),
        },
        "code_alpaca_2k": {
            238: (False, "a reversed sentence ending in 'The' is the requested output"),
            1402: (True, "explanation stops mid-expression: '... i.e. if a =='"),
            1480: (False, "bracket characters inside string literals ('(', '[', '{') unbalance "
                          "the count; the function is complete"),
        },
    },
}


FIRST_PASS = """\
The in-sample datasets were read while the lexicons were written: the figures above are after
adjusting the patterns to what those flags showed, so they overstate precision on new data. The
first pass over the same datasets (its flags read by hand, 2026-11-29) was much worse:
unavailable_context 37 flags, 2 of the 20 read right ('the video game', 'this picture' inside a
story, 'in the given table' in SQL tasks, a source URL after a Wikipedia passage);
merged_instructions 10 flags, 0 of the 6 read right (Python comments '## Output:' in code
answers, a role-labelled example in an explanation); refusals 21 of 28 right (phrases inside
code strings, 'consult a doctor' list steps); truncation about 1,090 flags, mostly code and
arithmetic answers without a final period (new_codealpaca 372, gsm8k 655). The adjustments
(verb-and-noun context for media references, 'nothing follows' for 'the following X',
code-task and carries-its-material suppressions, quoted/code spans ignored for refusals, a
hedge required for advice disclaimers, prose-only rules for ',' ':' and missing punctuation)
are general, not record-specific; the held-out rows measure them on unseen data. Planted-defect
figures on sample_data are also optimistic: the defects there are written in the same style as
the lexicon examples."""


# -- data ----------------------------------------------------------------------------------------

def real_datasets(root: Path) -> dict[str, list[dict[str, Any]]]:
    """The real instruction datasets, as Alpaca or prompt/response records."""
    def load_json(path: str) -> Any:
        return json.loads((root / path).read_text(encoding="utf-8"))

    out: dict[str, list[dict[str, Any]]] = {
        "dolly_3k": load_json("dolly_alpagasus_filtered_3k/dolly_3k.json"),
        "code_alpaca_2k": load_json("code_alpaca/code_alpaca_2k.json"),
        "new_codealpaca": [{"instruction": r["instruction"], "input": r["input"],
                            "output": r["response"]}
                           for r in load_json("code_alpaca/new_codealpaca.json")],
        "gsm8k": load_json("gsm8k_train_alpaca_format/gsm_8k_train.json"),
        "self_instruct": list(_self_instruct(root / "self_instruct_seed_and_user_oriented")),
        "oasst_pairs": list(_oasst_pairs(root / "oasst_en100_sample" / "en_100_tree.jsonl")),
        # held out: never looked at while writing the lexicons (prompt-only data)
        "banking77_queries": [{"text": row["text"]} for row in csv.DictReader(
            (root / "banking77" / "train.csv").open(encoding="utf-8"))],
        "trec_questions": [{"text": line.split(" ", 1)[1]} for line in (
            root / "trec_question_classification" / "train_5500.label").read_text(
            encoding="latin-1").splitlines()],
        "oasst_lottery_prompts": [{"text": json.loads(line)} for line in (
            root / "oasst_en100_sample" / "prompt_lottery_en_250_text.jsonl").read_text(
            encoding="utf-8").splitlines()],
    }
    return out


def _self_instruct(folder: Path) -> Iterator[dict[str, Any]]:
    for name in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            task = json.loads(line)
            for instance in task["instances"]:
                yield {"instruction": task["instruction"], "input": instance.get("input", ""),
                       "output": instance.get("output", "")}


def _oasst_pairs(path: Path) -> Iterator[dict[str, Any]]:
    """Every prompter message with each assistant reply to it, from the OASST trees."""
    def walk(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for reply in message.get("replies", []):
            if message["role"] == "prompter" and reply["role"] == "assistant":
                yield {"prompt": message["text"], "response": reply["text"]}
            yield from walk(reply)

    for line in path.read_text(encoding="utf-8").splitlines():
        yield from walk(json.loads(line)["prompt"])


# -- 1. speed ------------------------------------------------------------------------------------

def _speed(n: int) -> dict[str, Any]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.registry import all_checks
    from audit.runner import run_check
    from benchmarks.generate import instruction_records

    records = [record for record, _ in instruction_records(n, seed=0, words=100)]
    started = time.perf_counter()
    data = load_dataset(records)
    load_s = time.perf_counter() - started
    del records
    registry = all_checks()
    ctx = RunContext(data, seed=0)
    timings: dict[str, Any] = {}
    for name in (*MINE, *FAMILY_OTHERS):
        if name not in registry:
            continue
        started = time.perf_counter()
        result = run_check(registry[name](), ctx)
        timings[name] = {"seconds": time.perf_counter() - started, "status": str(result.status),
                         "metrics": {k: round(v, 5) for k, v in result.metrics.items()}}
    words = ctx.artifact("response_lengths").words
    return {"load_s": load_s, "timings": timings, "mean_response_words": float(words.mean())}


# -- 2. sample data ------------------------------------------------------------------------------

def _flagged(result: Any) -> set[int]:
    return {r for finding in result.findings for r in finding.records}


def _sample_quality() -> list[list[Any]]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.registry import get_check
    from audit.runner import run_check

    manifest_path = REPO_ROOT / "sample_data" / "manifest.json"
    files = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    rows = []
    for file, entry in files.items():
        planted: dict[str, set[int]] = {}
        for plant in entry["planted"]:
            planted.setdefault(plant["defect"].split(":")[0], set()).update(plant["records"])
            for check, defect, word in ALSO_PLANTED:
                if plant["defect"] == defect and word in plant.get("detail", ""):
                    planted.setdefault(check, set()).update(plant["records"])
        data = load_dataset(REPO_ROOT / "sample_data" / file)
        for name in MINE:
            result = run_check(get_check(name)(), RunContext(data, seed=0))
            if str(result.status) == "skipped":
                continue
            flagged, truth = _flagged(result), planted.get(name, set())
            if not flagged and not truth:
                continue
            hit = flagged & truth
            any_defect = flagged & set().union(*planted.values())
            others = sorted({d for d, ids in planted.items() for r in flagged - truth if r in ids})
            rows.append([file, name, len(truth), len(flagged), len(hit),
                         _ratio(len(hit), len(flagged)), _ratio(len(hit), len(truth)),
                         _ratio(len(any_defect), len(flagged)), ", ".join(others) or "-"])
    return rows


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "n/a"


# -- 3. real data --------------------------------------------------------------------------------

def _real_flags(root: Path, show: bool) -> tuple[list[list[Any]], list[list[Any]]]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.registry import get_check
    from audit.runner import run_check

    per_dataset: list[list[Any]] = []
    totals: dict[tuple[str, str], list[int]] = {
        (name, split): [0, 0, 0, 0] for name in REVIEWED_CHECKS for split in ("in", "out")}
    for dataset, records in real_datasets(root).items():
        data = load_dataset(records)
        split = "out" if dataset in HELD_OUT else "in"
        for name in REVIEWED_CHECKS:
            result = run_check(get_check(name)(), RunContext(data, seed=0))
            if str(result.status) == "skipped":
                continue
            reasons: dict[int, list[str]] = {}
            for finding in result.findings:
                label = finding.details.get("pattern") or finding.code
                for record in finding.records:
                    reasons.setdefault(record, []).append(str(label))
            flagged = sorted(reasons)
            rng = np.random.default_rng([SEED, len(dataset), len(name)])
            sample = sorted(rng.choice(flagged, size=min(SAMPLE_PER_CHECK, len(flagged)),
                                       replace=False).tolist()) if flagged else []
            verdicts = REVIEW.get(name, {}).get(dataset, {})
            right = sum(1 for r in sample if r in verdicts and verdicts[r][0])
            reviewed = sum(1 for r in sample if r in verdicts)
            total = totals[(name, split)]
            total[0] += data.n
            total[1] += reviewed
            total[2] += right
            total[3] += len(sample) - reviewed
            per_dataset.append([name, dataset + (" (held out)" if split == "out" else ""),
                                data.n, len(flagged), len(sample), reviewed, right,
                                len(sample) - reviewed])
            if show:
                _print_flags(name, dataset, records, sample, reasons, verdicts)
    summary = [[name, "held out" if split == "out" else "in-sample", n, reviewed, right,
                _ratio(right, reviewed), unreviewed]
               for (name, split), (n, reviewed, right, unreviewed) in totals.items() if n]
    return per_dataset, summary


def _print_flags(name: str, dataset: str, records: list[dict[str, Any]], sample: list[int],
                 reasons: dict[int, list[str]], verdicts: dict[int, tuple[bool, str]]) -> None:
    for record_id in sample:
        record = records[record_id]
        prompt = record.get("instruction", record.get("prompt", record.get("text", "")))
        context = record.get("input", "")
        response = record.get("output", record.get("response", ""))
        verdict = verdicts.get(record_id)
        print(f"== {name} | {dataset} #{record_id} | {sorted(set(reasons[record_id]))} | "
              f"{'unreviewed' if verdict is None else verdict}")
        print(f"   PROMPT: {prompt[:300]!r}")
        if context:
            print(f"   INPUT: {context[:200]!r}")
        print(f"   RESPONSE: {response[:300]!r}" + (f" ... {response[-150:]!r}"
                                                    if len(response) > 300 else ""))


# -- main ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k records for the speed run")
    parser.add_argument("--show-flags", action="store_true",
                        help="print the sampled real-data flags with their verdicts")
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else 100_000

    measured = measure_isolated(_speed, n)
    speed = measured.value
    timings = speed["timings"]
    mine_s = sum(t["seconds"] for name, t in timings.items() if name in MINE)
    family_s = sum(t["seconds"] for t in timings.values())
    speed_rows = [[name, "this module" if name in MINE else "issue-3 family (other helper)",
                   t["seconds"], t["status"]] for name, t in timings.items()]
    speed_rows.append(["**these 6 checks**", "", mine_s, ""])
    speed_rows.append(["**family present**", f"{len(timings)} checks", family_s, ""])
    missing = [name for name in FAMILY_OTHERS if name not in timings]

    parts = [
        "# Instruction-data defect checks",
        "",
        f"## Speed: {n:,} generated Alpaca records "
        f"(~{speed['mean_response_words']:.0f}-word responses)",
        "",
        f"Loading took {speed['load_s']:.1f} s. Checks ran in order on one RunContext (shared "
        f"artifacts such as `response_lengths` are paid by the first check that needs them). "
        f"Peak RSS of the child process, generation included: {measured.peak_rss_mb:,.0f} MB.",
        "",
        markdown_table(["check", "module", "seconds", "status"], speed_rows),
    ]
    if missing:
        parts += ["", f"Not registered when this ran (not timed): {', '.join(missing)}."]

    parts += ["", "## Detection on sample_data (planted defects, sample_data/manifest.json)", "",
              markdown_table(["file", "check", "planted", "flagged", "right", "precision",
                              "recall", "flags that are some planted defect",
                              "other planted defects among the extra flags"],
                             _sample_quality()),
              "", "Extra flags that are another planted defect are reported as such: e.g. a "
              "placeholder 'N/A' response is also a legitimate short-length outlier. JSON answers "
              "planted as `structured_output:invalid_json` ('answer cut at 70% of its length') "
              "count as truncation truth."]

    root = shared_datasets_dir()
    if root is None:
        parts += ["", "## Real data", "", "../shared/datasets is not available on this machine."]
    else:
        per_dataset, summary = _real_flags(root, args.show_flags)
        parts += ["", "## Precision on real instruction data (hand-reviewed)", "",
                  f"Up to {SAMPLE_PER_CHECK} flags per check and dataset (a fixed random sample)"
                  " were read by hand and judged right (the record has the defect the check "
                  "names) or wrong. Verdicts and reasons are in `REVIEW` in "
                  "benchmarks/instruction_defects.py.", "",
                  markdown_table(["check", "data", "records", "reviewed flags (n)", "right",
                                  "precision", "unreviewed"], summary),
                  "", markdown_table(["check", "dataset", "records", "flagged", "sampled",
                                      "reviewed", "right", "unreviewed"], per_dataset)]
        parts += ["", FIRST_PASS]
    path = write_results("instruction_defects", "\n".join(parts))
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
