"""Integrity, structured-output and privacy checks: speed and memory at 100k records, precision
of `pii` and `control_characters` on sample and real data.

    python -m benchmarks.integrity_family [--quick] [--show-flags]

1. Speed: N (default 100k, --quick 10k) generated Alpaca records of ~100 words
   (`benchmarks.generate.instruction_records`, deterministic) written once to Parquet; the same
   records as chat (system + user + assistant) for `chat_structure`. Every registered check of
   the categories integrity, structured_output and privacy is timed
   a) all together on one RunContext in one process, as in an audit (shared artifacts are
      computed once; lazy imports of GX/spaCy are paid once), and
   b) each alone in a fresh forked process: wall time of the check (imports included) and the
      peak RSS of that process (loading the data included; the RSS right after loading is shown
      so the check's own share is visible).
2. Sample data: precision/recall of pii, control_characters and chat_structure against
   sample_data/manifest.json.
3. Real data (../shared/datasets): every flag of pii and control_characters was read by hand;
   verdicts are recorded in REVIEW below with a reason; flags without one count as
   "unreviewed" (never as right). `--show-flags` prints the flags (unmasked, to the terminal
   only) for review.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO_ROOT,
    markdown_table,
    measure_isolated,
    shared_datasets_dir,
    write_results,
)

FAMILY = ("integrity", "structured_output", "privacy")
REVIEWED_CHECKS = ("pii", "control_characters")
SYSTEM_PROMPT = "You are a helpful assistant. Answer the instruction."
#: appended to every 10th response of the "planted" copy, in turn (i: record position)
PLANTED_SNIPPETS = (
    "Contact maria.k{i}@gmail.com or call (415) 867-{n:04d}.",
    "Ship it to {n} Baker Street, London.",
    "Use the key AKIAQYLPMN5HFIQ{n:05d} for the upload.",
    "The cafÃ© opens at {n}.",
    "zero\u200bwidth note {n}",
    "Server 8.8.{a}.{b} charged card 4539 1488 0343 6467.",
)

#: Hand review of real-data flags: check -> dataset -> (record id, finding code) -> (right?, why)
# Verdict rule: right when the value is of the flagged type and not a made-up placeholder
# (for `placeholder_pii`: right when it is indeed a placeholder/documentation value).
REVIEW: dict[str, dict[str, dict[tuple[int, str], tuple[bool, str]]]] = {
    "pii": {
        "dolly_3k": {
            (1203, "street_address"): (True, '92 Kampong Java Road: a birthplace address'),
            (1385, "street_address"): (True, "179 South Powell Avenue: a school's address"),
            (1868, "email"): (True, "host's personal e-mail in a rental welcome note"),
            (1868, "phone"): (True, "host's phone number"),
            (1868, "street_address"): (True, "8085 W Gulf Blvd: a rental's address"),
            (2064, "email"): (False, "'123@gmail.com': made up, should be a placeholder"),
            (2064, "placeholder_pii"): (True, '123-456-7890'),
            (2753, "street_address"): (True, "970 Park Ave(nue): a building's address"),
            (2851, "street_address"): (True, '367 Addison Avenue: the HP Garage address'),
        },
        "code_alpaca_2k": {
            (111, "placeholder_pii"): (True, '123 Main Street'),
            (122, "placeholder_pii"): (True, '123 Main Street'),
            (404, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (489, "phone"): (True, 'a realistic phone number in a parsing task'),
            (612, "placeholder_pii"): (True, '123 Main St.'),
            (783, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1510, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
        },
        "new_codealpaca": {
            (281, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (351, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (407, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (473, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (508, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (516, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (532, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (818, "email"): (False, 'bob@gmail.com, dan@gmail.com: made-up tutorial rows'),
            (818, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (937, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (976, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1100, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1118, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1266, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1404, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1652, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1690, "placeholder_pii"): (True, '1234 Elm Street'),
            (1716, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1733, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1735, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1824, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1882, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (1905, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (2244, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (2734, "placeholder_pii"): (True, 'recipient@example.com, you@gmail.com'),
            (2740, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (2818, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (2826, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (2847, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (2859, "placeholder_pii"): (True, '123.45.67.89'),
            (2922, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (2941, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (3329, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (3705, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (3748, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (3755, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
            (4197, "placeholder_pii"): (True, 'example.com/email.com-style tutorial address'),
        },
        "trec_questions": {
            (419, "street_address"): (True, "219 North Delaware Street: a residence's address"),
            (1092, "street_address"): (True, "24 Sussex Drive: a residence's address"),
            (1203, "street_address"): (True, "39 Stone Canyon Way: a residence's address"),
        },
        "self_instruct": {
            (74, "placeholder_pii"): (True, '(123) 456-7891, emoore@email.com'),
            (166, "email"): (True, "a bank's alert sender address"),
            (349, "street_address"): (True, '600 S Rowan Ave, 4201 Whittier Blvd'),
            (366, "placeholder_pii"): (True, '...@email.com speakers'),
            (386, "street_address"): (True, '412 Monterey Ave, a listed house'),
            (410, "phone"): (True, 'a business phone number in an ad'),
        },
    },
    "control_characters": {
        "dolly_3k": {
            (399, "zero_width"): (True, 'two U+200B after the question'),
            (540, "zero_width"): (True, 'U+200B before a quote'),
            (2748, "zero_width"): (True, 'U+2060 word joiner in a pronunciation'),
        },
        "new_codealpaca": {
            (317, "escape_sequence"): (True, 'literal \\n in prose where a line break was meant'),
            (532, "escape_sequence"): (True, 'literal \\n in prose where a line break was meant'),
            (724, "escape_sequence"): (True, 'literal \\n in prose where a line break was meant'),
            (1262, "escape_sequence"): (True, 'literal \\n in prose where a line break was meant'),
            (1602, "escape_sequence"): (True, 'literal \\n in prose where a line break was meant'),
            (2098, "mojibake"): (True, "'Ï€' for π"),
            (2742, "escape_sequence"): (True, 'literal \\n in prose where a line break was meant'),
            (3442, "mojibake"): (True, "'Â°C' for °C"),
        },
        "gsm8k": {
            (7388, "zero_width"): (True, 'U+200B inside a sentence'),
        },
    },
}


# -- 1. speed ------------------------------------------------------------------------------------

def write_parquet(n: int, folder: Path) -> tuple[Path, Path, Path]:
    """The generated records as Alpaca, as chat, and as Alpaca with PII and bad characters
    appended to every 10th response (Parquet files, deterministic)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks.generate import instruction_records

    records = [{k: v for k, v in record.items() if not k.startswith("_")}
               for record, _ in instruction_records(n, seed=0, words=100)]
    alpaca = folder / "alpaca.parquet"
    pq.write_table(pa.Table.from_pylist(records), alpaca)
    chat = folder / "chat.parquet"
    pq.write_table(pa.Table.from_pylist([{"messages": [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": r["instruction"]},
        {"role": "assistant", "content": r["output"]}]} for r in records]), chat)
    planted = folder / "planted.parquet"
    for i, record in enumerate(records[::10]):
        snippet = PLANTED_SNIPPETS[i % len(PLANTED_SNIPPETS)]
        record["output"] += " " + snippet.format(i=i, n=i % 10_000, a=i % 250, b=(i // 7) % 250)
    pq.write_table(pa.Table.from_pylist(records), planted)
    return alpaca, chat, planted


def family_names() -> list[str]:
    from audit.registry import all_checks

    return [name for name, cls in sorted(all_checks().items()) if cls.category in FAMILY]


def _run_checks(path: Path, names: list[str]) -> dict[str, Any]:
    """In the (forked) child: load `path`, run `names` on one RunContext, time each."""
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.registry import get_check
    from audit.runner import run_check

    started = time.perf_counter()
    data = load_dataset(path)
    load_s = time.perf_counter() - started
    rss_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ctx = RunContext(data, seed=0)
    timings = {}
    for name in names:
        started = time.perf_counter()
        result = run_check(get_check(name)(), ctx)
        timings[name] = {"wall_s": time.perf_counter() - started, "status": result.status.value,
                         "error": result.error}
    return {"load_s": load_s, "rss_after_load_mb": rss_load, "n": data.n, "timings": timings}


def _gx_breakdown(path: Path) -> dict[str, float]:
    """In the (forked) child: where gx_expectations spends its time."""
    from audit.load import load_dataset
    from checks.integrity.gx import GxExpectations, build_plan, frame_for, quiet_gx, validate

    data = load_dataset(path)
    out = {}
    started = time.perf_counter()
    import great_expectations  # noqa: F401

    out["import"] = time.perf_counter() - started
    with quiet_gx():
        started = time.perf_counter()
        plan = build_plan(GxExpectations().params, data)
        frame = frame_for(data, plan.columns)
        out["plan_and_frame"] = time.perf_counter() - started
        started = time.perf_counter()
        validate(plan, frame)
        out["validate"] = time.perf_counter() - started
    return out


def speed(n: int) -> tuple[str, float]:
    names = family_names()
    with tempfile.TemporaryDirectory() as tmp:
        alpaca, chat, planted = write_parquet(n, Path(tmp))
        together = measure_isolated(_run_checks, alpaca, names)
        chat_together = measure_isolated(_run_checks, chat, ["chat_structure"])
        alone = {name: measure_isolated(_run_checks, alpaca, [name]) for name in names}
        chat_alone = measure_isolated(_run_checks, chat, ["chat_structure"])
        gx_parts = measure_isolated(_gx_breakdown, alpaca).value if "gx_expectations" in names \
            else None
        stressed = {name: measure_isolated(_run_checks, planted, [name])
                    for name in ("pii", "control_characters") if name in names}
    value = together.value
    total = sum(t["wall_s"] for t in value["timings"].values())
    chat_s = chat_together.value["timings"]["chat_structure"]["wall_s"]
    rows = []
    for name in names:
        in_audit = value["timings"][name]
        single = alone[name]
        rows.append([name, in_audit["status"], in_audit["wall_s"],
                     single.value["timings"][name]["wall_s"], single.peak_rss_mb,
                     single.value["rss_after_load_mb"]])
    chat_single = chat_alone.value["timings"]["chat_structure"]
    rows.append(["chat_structure (chat copy)", chat_together.value["timings"]["chat_structure"]
                 ["status"], chat_s, chat_single["wall_s"], chat_alone.peak_rss_mb,
                 chat_alone.value["rss_after_load_mb"]])
    for name, measured in stressed.items():
        rows.append([f"{name} (10% records with PII/defects)",
                     measured.value["timings"][name]["status"], "",
                     measured.value["timings"][name]["wall_s"], measured.peak_rss_mb,
                     measured.value["rss_after_load_mb"]])
    text = (f"## Speed: {n:,} generated Alpaca records (~100 words each)\n\n"
            f"Loading the Parquet file: {value['load_s']:.1f} s. **Whole family in one audit "
            f"process: {total + chat_s:.1f} s** ({len(names)} checks on the Alpaca records "
            f"{total:.1f} s, plus chat_structure on the chat copy {chat_s:.1f} s; target < 30 s); "
            f"peak RSS of that process {together.peak_rss_mb:,.0f} MB.\n\n"
            "`in audit`: time inside one shared RunContext (lazy imports paid once, artifacts "
            "shared). `alone`: the check by itself in a fresh process, imports included; "
            "`peak RSS` is that process's (data loading included), next to its RSS right "
            "after loading. The last rows run pii and control_characters alone on a copy "
            "where every 10th response has an e-mail and phone, an address, an AWS-style key, "
            "mojibake, a zero-width space, or an IP and card number appended (the slow path: "
            "spaCy is imported and runs on the address candidates).\n\n"
            + markdown_table(["check", "status", "in audit (s)", "alone (s)", "peak RSS (MB)",
                              "RSS after load (MB)"], rows))
    if gx_parts is not None:
        text += (f"\n\ngx_expectations, where the time goes (fresh process): importing Great "
                 f"Expectations {gx_parts['import']:.1f} s, building the suite and the "
                 f"DataFrame of the needed columns (id, prompt, response) "
                 f"{gx_parts['plan_and_frame']:.2f} s, validating {gx_parts['validate']:.1f} s "
                 "(about two thirds of it is GX fingerprinting the DataFrame with pandas "
                 "hashing when it makes the batch, measured with cProfile; not avoidable "
                 "through GX's public API).")
    return text, total + chat_s


# -- 2. sample data ------------------------------------------------------------------------------

def sample_quality() -> str:
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.registry import get_check
    from audit.runner import run_check

    manifest = json.loads((REPO_ROOT / "sample_data" / "manifest.json").read_text())["files"]
    also = {"chat_structure": ("empty_responses",)}  # an empty turn is a chat-structure defect
    rows = []
    for filename, info in manifest.items():
        data = load_dataset(REPO_ROOT / "sample_data" / filename)
        for name in ("pii", "control_characters", "chat_structure"):
            truth: set[int] = set()
            for plant in info["planted"]:
                defect = plant["defect"].split(":")[0]
                if defect == name or defect in also.get(name, ()):
                    truth.update(plant["records"])
            result = run_check(get_check(name)(), RunContext(data))
            if result.status.value == "skipped":
                continue
            flagged = {r for f in result.findings for r in f.records}
            asserted = {r for f in result.findings if f.code != "placeholder_pii"
                        for r in f.records}
            rows.append([filename, name, len(truth), len(asserted),
                         _ratio(len(asserted & truth), len(asserted)),
                         len(flagged - asserted), _ratio(len(flagged & truth), len(truth))])
    return ("## Sample data (sample_data/manifest.json)\n\n"
            "Precision is over the records the check asserts (for `pii`, its PII findings); "
            "`placeholder_pii` records are counted apart, and recall counts a planted record "
            "found by any finding: the planted SSN 123-45-6789, AWS key AKIA...EXAMPLE, test "
            "card 4111... and example.com e-mails are documentation values and land in "
            "`placeholder_pii`. The one pii flag in support_eval.jsonl is a real-looking "
            "e-mail copied from a planted training record (the manifest does not list eval "
            "records for pii).\n\n"
            + markdown_table(["file", "check", "planted", "flagged", "precision",
                              "placeholder records", "recall"], rows))


def _ratio(a: int, b: int) -> str:
    return f"{a}/{b} = {a / b:.2f}" if b else "n/a"


# -- 3. real data --------------------------------------------------------------------------------

def real_flags(root: Path, show: bool) -> str:
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.registry import get_check
    from audit.runner import run_check
    from benchmarks.instruction_defects import real_datasets

    rows = []
    totals = {name: [0, 0, 0] for name in REVIEWED_CHECKS}  # flags, right, unreviewed
    for dataset, records in real_datasets(root).items():
        data = load_dataset(records, name=dataset)
        for name in REVIEWED_CHECKS:
            result = run_check(get_check(name)(), RunContext(data))
            flags = sorted({(r, f.code) for f in result.findings for r in f.records})
            review = REVIEW.get(name, {}).get(dataset, {})
            right = sum(1 for key in flags if key in review and review[key][0])
            unreviewed = sum(1 for key in flags if key not in review)
            for i, value in enumerate((len(flags), right, unreviewed)):
                totals[name][i] += value
            reviewed = len(flags) - unreviewed
            rows.append([dataset, f"{data.n:,}", name, len(flags), reviewed, right,
                         _ratio(right, reviewed), unreviewed])
            if show:
                _print_flags(name, dataset, data, flags, review)
    summary = [[name, t[0], t[0] - t[2], t[1], _ratio(t[1], t[0] - t[2]), t[2]]
               for name, t in totals.items()]
    notes = "\n".join(f"- {name} / {dataset} / record {rid} / {code}: "
                      f"{'right' if ok else 'WRONG'} — {why}"
                      for name, per_dataset in REVIEW.items()
                      for dataset, verdicts in per_dataset.items()
                      for (rid, code), (ok, why) in sorted(verdicts.items()))
    return ("## Real data: every flag reviewed by hand\n\n"
            "A flag is one (record, finding code). Verdict rule: right when the value is of the "
            "flagged type and not a made-up placeholder; `placeholder_pii` flags are right when "
            "the value is indeed a documentation/tutorial value. The first review (before the "
            "placeholder rules for sample.com/test.com domains, ascending house numbers and "
            "phone numbers starting 123456 were added) found pii 53/61 = 0.87 right; those "
            "rules were written after reading these flags, so the figures below are on the data "
            "they were tuned on. control_characters was 12/12 in both reviews.\n\n"
            + markdown_table(["check", "flags", "reviewed", "right", "precision", "unreviewed"],
                             summary)
            + "\n\n" + markdown_table(["dataset", "records", "check", "flags", "reviewed",
                                       "right", "precision", "unreviewed"], rows)
            + "\n\n### Verdicts\n\n" + (notes or "(none)"))


def _print_flags(name: str, dataset: str, data: Any, flags: list[tuple[int, str]],
                 review: dict[tuple[int, str], tuple[bool, str]]) -> None:
    texts = data.texts("text")
    position = {int(i): p for p, i in enumerate(data.ids)}
    for record_id, code in flags:
        text = texts[position[record_id]]
        mark = review.get((record_id, code))
        status = "new" if mark is None else ("right" if mark[0] else "WRONG")
        print(f"--- {name} / {dataset} / {record_id} / {code} [{status}]")
        print(repr(text[:700]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k records instead of 100k")
    parser.add_argument("--show-flags", action="store_true",
                        help="print every real-data flag (unmasked) for review")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    parts = []
    if not args.skip_speed:
        text, _ = speed(n)
        parts.append(text)
        print(text)
    parts.append(sample_quality())
    print(parts[-1])
    root = shared_datasets_dir()
    if root is not None:
        parts.append(real_flags(root, args.show_flags))
        print(parts[-1])
    if not args.skip_speed:
        path = write_results("integrity", "# Integrity, structured-output and privacy checks\n\n"
                             + "\n\n".join(parts))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
