"""Bias family benchmark: false alarms on balanced data, power on injected skews, speed.

    /work/venv/bin/python -m benchmarks.bias [--quick]

1. False-positive rate over 20 seeds (a seed counts as a false positive when the check reports
   any flagged skew): WinoBias pro+anti pooled and Winogender (balanced by construction: every
   sentence exists with he and she), 80% subsamples per seed, with random labels for the label
   checks and the sentences as responses for the sentiment check; and random label shuffles of
   real datasets (SST-2, SMS spam, Banking77).
2. Power over 20 seeds: a 10-point label skew injected on 2,000 WinoBias records (every record
   mentions he or she), and a gender-occupation association injected into pooled WinoBias.
3. Speed: the five bias checks on 100k instruction records (Dolly 3k cycled, category as the
   label), one shared RunContext, wall time and peak RSS in a fresh process.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import markdown_table, measure_isolated, shared_datasets_dir, write_results

CHECK_NAMES = ("group_representation", "group_label_disparity", "group_sentiment_disparity",
               "stereotype_association", "counterfactual_probe")


# -- data ------------------------------------------------------------------------------------------
def winobias(root: Path, kind: str = "*") -> list[str]:
    out = []
    for path in sorted(glob.glob(str(root / "winobias" / f"{kind}_stereotyped_type*.txt.*"))):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            line = re.sub(r"^\d+\s+", "", line.strip()).replace("[", "").replace("]", "")
            if line:
                out.append(line)
    return out


def winogender(root: Path) -> list[str]:
    rows = (root / "winogender_schemas" / "all_sentences.tsv").read_text(encoding="utf-8")
    return [line.split("\t", 1)[1] for line in rows.splitlines()[1:] if "\t" in line]


def labelled_real(root: Path, name: str) -> tuple[list[str], list[str]]:
    if name == "sst2":
        lines = (root / "senteval_sst2" / "sst2_binary" / "sentiment-train").read_text(
            encoding="utf-8").splitlines()
        pairs = [line.rsplit("\t", 1) for line in lines if "\t" in line]
        return [p[0].strip() for p in pairs], [p[1].strip() for p in pairs]
    if name == "sms_spam":
        with (root / "sms_spam_collection" / "SMSSpamCollection.tsv").open(encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t"))[1:]
        return [r[1] for r in rows if len(r) > 1], [r[0] for r in rows if len(r) > 1]
    with (root / "banking77" / "train.csv").open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    return [r["text"] for r in records], [r["category"] for r in records]


def dolly(root: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(
        (root / "dolly_alpagasus_filtered_3k" / "dolly_3k.json").read_text(encoding="utf-8"))
    return records


# -- running ---------------------------------------------------------------------------------------
def run_one(name: str, records: list[dict[str, Any]], seed: int, **params: Any) -> Any:
    import checks  # noqa: F401
    from audit.context import RunContext
    from audit.load import FieldMapping, load_dataset
    from audit.registry import get_check
    from audit.runner import run_check

    fields = FieldMapping(label="category") if records and "category" in records[0] else None
    data = load_dataset(records, fields=fields)
    return run_check(get_check(name)(**params), RunContext(data, seed=seed))


def flagged(result: Any) -> bool:
    return result.status.value in ("warned", "failed")


def false_positive_rows(root: Path, seeds: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    balanced = {"WinoBias pro+anti": winobias(root), "Winogender": winogender(root)}
    for label, sentences in balanced.items():
        for check in ("group_representation", "stereotype_association",
                      "group_label_disparity", "group_sentiment_disparity"):
            fp, started, n = 0, time.perf_counter(), 0
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                keep = rng.choice(len(sentences), int(0.8 * len(sentences)), replace=False)
                texts = [sentences[i] for i in sorted(keep)]
                n = len(texts)
                if check == "group_sentiment_disparity":
                    records = [{"instruction": "Continue the story.", "output": t} for t in texts]
                elif check == "group_label_disparity":
                    records = [{"text": t, "label": str(rng.integers(2))} for t in texts]
                else:
                    records = [{"text": t} for t in texts]
                fp += flagged(run_one(check, records, seed))
            rows.append([label, check, n, seeds, fp / seeds, time.perf_counter() - started])
    for name in ("sst2", "sms_spam", "banking77"):
        texts, labels = labelled_real(root, name)
        for check in ("group_label_disparity", "counterfactual_probe"):
            fp, started = 0, time.perf_counter()
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                size = 10_000 if check == "group_label_disparity" else 5_000
                take = np.sort(rng.choice(len(texts), min(len(texts), size), replace=False))
                shuffled = rng.permutation([labels[i] for i in take])
                records = [{"text": texts[i], "label": str(y)}
                           for i, y in zip(take, shuffled, strict=True)]
                params = {"max_train_records": 2000} if check == "counterfactual_probe" else {}
                fp += flagged(run_one(check, records, seed, **params))
            rows.append([f"{name} (labels shuffled)", check, len(take), seeds, fp / seeds,
                         time.perf_counter() - started])
    return rows


def label_skew_power(root: Path, seeds: int, n: int = 2000, skew: float = 0.10,
                     check: str = "group_label_disparity") -> list[Any]:
    """Labels with P(pos) = 0.5 for records using he/him and 0.5 + skew for she/her."""
    sentences = winobias(root)
    female = re.compile(r"\b(she|her|hers|herself)\b", re.IGNORECASE)
    hits = 0
    values = []
    metric = "max_abs_gap" if check == "group_label_disparity" else "max_axis_flip_rate"
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        texts = [sentences[i] for i in rng.choice(len(sentences), n, replace=False)]
        is_female = np.array([bool(female.search(t)) for t in texts])
        positive = rng.random(n) < np.where(is_female, 0.5 + skew, 0.5)
        records = [{"text": t, "label": "pos" if p else "neg"}
                   for t, p in zip(texts, positive, strict=True)]
        result = run_one(check, records, seed)
        found = [f for f in result.findings if f.details.get("axis") == "gender"]
        hits += bool(found)
        values.append(result.metrics[metric])
    return [f"{check}: label skew +{skew * 100:.0f} points (female), WinoBias, {n:,} records",
            n, seeds,
            hits / seeds, float(np.nanmean(values))]


def association_power(root: Path, seeds: int, strength: float = 0.8) -> list[Any]:
    """Make `strength` of the nurse sentences use she/her and of the mechanic ones he/him."""
    from checks.bias.counterfactual import make_swapper

    sentences = winobias(root)
    to_female = make_swapper([("he", "she"), ("him", "her"), ("his", "her")])
    to_male = make_swapper([("she", "he"), ("her", "his"), ("hers", "his")])
    hits = 0
    pmis = []
    for seed in range(seeds):
        rng = np.random.default_rng(2000 + seed)
        keep = rng.choice(len(sentences), int(0.8 * len(sentences)), replace=False)
        texts = []
        for i in sorted(keep):
            text = sentences[i]
            if rng.random() < strength:
                if re.search(r"\bnurse\b", text) and not re.search(r"\bmechanic\b", text):
                    text = _only_forward(to_female, text)
                elif re.search(r"\bmechanic\b", text) and not re.search(r"\bnurse\b", text):
                    text = _only_forward(to_male, text)
            texts.append(text)
        result = run_one("stereotype_association", [{"text": t} for t in texts], seed)
        pairs = {(f.details["group"], f.details["concept"]) for f in result.findings}
        hits += ("female", "occupation:nurse") in pairs or ("male", "occupation:mechanic") in pairs
        pmis.append(result.metrics["max_pmi"])
    return [f"nurse->she / mechanic->he injected in {strength:.0%} of their WinoBias sentences",
            int(0.8 * len(sentences)), seeds, hits / seeds, float(np.mean(pmis))]


def _only_forward(swapper: Any, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        key = word.lower()
        return word if key not in swapper.forward else \
            (swapper.target[key].capitalize() if word[:1].isupper() else swapper.target[key])

    return str(swapper.pattern.sub(replace, text))


def winobias_pro_detection(root: Path) -> list[Any]:
    result = run_one("stereotype_association", [{"text": t} for t in winobias(root, "pro")], 0)
    return ["WinoBias pro-stereotyped only (real stereotypes, 2 occupations per sentence)",
            len(winobias(root, "pro")), 1, float(flagged(result)),
            result.metrics["max_pmi"]]


# -- speed -----------------------------------------------------------------------------------------
def speed_run(root_str: str, n: int) -> dict[str, Any]:
    import checks  # noqa: F401
    from audit.context import RunContext
    from audit.load import FieldMapping, load_dataset
    from audit.registry import get_check
    from audit.runner import run_check

    base = dolly(Path(root_str))
    records = [{"instruction": f"{r['instruction']} (#{i})", "input": r["input"],
                "output": r["output"], "category": r["category"]}
               for i, r in enumerate(base[j % len(base)] for j in range(n))]
    started, cpu_started = time.perf_counter(), time.process_time()
    data = load_dataset(records, fields=FieldMapping(label="category"))
    ctx = RunContext(data, seed=0)
    timings = {"load": (time.perf_counter() - started, time.process_time() - cpu_started)}
    statuses = {}
    for name in CHECK_NAMES:
        t, c = time.perf_counter(), time.process_time()
        result = run_check(get_check(name)(), ctx)
        timings[name] = (time.perf_counter() - t, time.process_time() - c)
        statuses[name] = result.status.value
    timings["total"] = (time.perf_counter() - started, time.process_time() - cpu_started)
    return {"timings": timings, "statuses": statuses,
            "load": " / ".join(f"{x:.1f}" for x in os.getloadavg())}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds and 20k records")
    args = parser.parse_args(argv)
    root = shared_datasets_dir()
    if root is None:
        raise SystemExit("shared datasets folder not found (set FT_AUDIT_SHARED_DATASETS)")
    seeds = 5 if args.quick else 20
    n_speed = 20_000 if args.quick else 100_000

    speed = measure_isolated(speed_run, str(root), n_speed)
    print("speed", speed.wall_s, speed.value)
    fp_rows = false_positive_rows(root, seeds)
    print("fp", fp_rows)
    power_rows = [label_skew_power(root, seeds), label_skew_power(root, seeds, skew=0.05),
                  association_power(root, seeds), winobias_pro_detection(root),
                  label_skew_power(root, seeds, skew=0.10, check="counterfactual_probe"),
                  label_skew_power(root, seeds, skew=0.30, check="counterfactual_probe")]
    print("power", power_rows)

    timings = speed.value["timings"]
    md = [
        "# Bias family",
        "",
        f"## Speed: the five bias checks on {n_speed:,} instruction records",
        "",
        "Dolly 3k (real instructions and responses, ~400-char responses) cycled to "
        f"{n_speed:,} records, `category` as the label; one RunContext so the `group_mentions` "
        "matching pass is shared. Wall time includes loading; peak RSS of the whole process.",
        "",
        markdown_table(["step", "wall seconds", "CPU seconds"],
                       [[k, wall, cpu] for k, (wall, cpu) in timings.items()]),
        "",
        "CPU seconds (this process, all threads) approximate the wall time on an idle machine; "
        "wall time here depends on how busy the shared cores were (load: "
        f"{speed.value['load']}).",
        "",
        f"Peak RSS: {speed.peak_rss_mb:,.0f} MB. Statuses: "
        + ", ".join(f"{k}={v}" for k, v in speed.value["statuses"].items()) + ".",
        "",
        f"## False-positive rate on balanced data ({seeds} seeds)",
        "",
        "A seed is a false positive when the check WARNs (any flagged skew). Balanced sets are "
        "80% subsamples per seed; label checks get random labels; the sentiment check gets the "
        "sentences as responses. Shuffled sets: up to 10,000 records (5,000 and 2,000 training "
        "records for the counterfactual probe), labels permuted per seed.",
        "",
        markdown_table(["data", "check", "records", "seeds", "false-positive rate", "seconds"],
                       fp_rows),
        "",
        f"## Power ({seeds} seeds)",
        "",
        markdown_table(["injected", "records", "seeds", "detection rate",
                        "mean max gap / PMI / flip rate"], power_rows),
        "",
        "Notes: WinoBias sentences each mention two occupations and one pronoun, so record-level "
        "co-occurrence sees every occupation with both genders even in the pro-stereotyped half "
        "(the pronoun's referent needs coreference, which a lexicon does not do); the injected "
        "rows change the pronoun of sentences that mention only the target occupation.",
    ]
    path = write_results("bias", "\n".join(md))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
