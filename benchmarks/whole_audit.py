"""The whole default audit on every data shape, side by side with cleanlab's Datalab.

    python -m benchmarks.whole_audit [--quick] [--large] [--shapes NAME,...] [--repeats N]
                                     [--baseline REV] [--no-datalab] [--no-accuracy]

Shapes (real ones built at run time from ../shared/datasets into a temporary folder outside
the repository, never copied into it; `SHAPES` below says exactly what each is): labelled and
unlabelled, short and long, generated (benchmarks.generate) and real. For each shape, in fresh
processes, one after another:

1. the whole default audit (`run_audit`, default config and engine): wall time, CPU time (the
   process and the workers it started) and peak RSS (the whole process tree, sampled every
   50 ms), and each check's `duration_s`;
2. the same audit with the serial engine and every check's `run` timed in-process: wall and
   CPU time per check (CPU counts the fold-fitting threads);
3. cleanlab's Datalab on the same records, as a user would run it on text: out-of-fold
   probabilities of `make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))`
   from `cross_val_predict(cv=5, method="predict_proba")` (the reference 5-fold TF-IDF +
   logistic regression fit, timed on its own too), features = `TruncatedSVD(100)` of a
   `TfidfVectorizer()` fitted on all texts, then `Datalab(...).find_issues(pred_probs=...,
   features=..., issue_types={"label", "outlier", "near_duplicate"})`; on unlabelled data
   features only, outlier and near_duplicate issues. Same wall / CPU / tree-RSS measurement.

`--repeats N` runs 1 and 3 N times, alternating, and reports the median wall and CPU time and
the largest peak. `--baseline REV` (a revision from before the change being measured) also
runs the audit of that git revision (exported read-only with `git archive` into a temporary
folder) on the shapes in BASELINE_SHAPES, and the accuracy measurements below, side by side
with the working tree's.

Accuracy (what the speed work must not lose): `label_issues` precision / recall / F1 on the
label-noise sets of benchmarks.label_noise (uniform 10% flips, and 20% of the largest class
relabelled), the overfitting-risk rankings on real data (full set vs a 500-record subsample;
a set vs the same set with half its records duplicated; SST-2 for the probe classifier, Dolly
for the bigram LM), and the probe features on long texts (char n-grams or not; see
CHAR_NGRAM_MAX_WORDS in checks/shared/features.py): F1 on SST-2 phrases concatenated into
documents of increasing length with 10% flips. Writes benchmarks/results/whole_audit.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO_ROOT, markdown_table, shared_datasets_dir, write_results

Records = list[dict[str, Any]]
#: the checks whose cost the issue targets (timed side by side with the reference fit)
MODEL_CHECKS = ("label_issues", "overfitting_risk")
#: shapes the `--baseline` revision's audit also runs on
BASELINE_SHAPES = ("generated_long", "reviews_long", "sources_short")
#: per-check targets (seconds) at 25k and 100k records
CHECK_TARGET_S = {25_000: 10.0, 100_000: 30.0}


# -- data shapes ----------------------------------------------------------------------------------
def _sst2(root: Path) -> tuple[list[str], list[str]]:
    lines = (root / "senteval_sst2" / "sst2_binary" / "sentiment-train").read_text(
        encoding="utf-8").splitlines()
    pairs = [line.rsplit("\t", 1) for line in lines if "\t" in line]
    return [p[0].strip() for p in pairs], [p[1].strip() for p in pairs]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + " ."


def concatenated(root: Path, n: int, words: int, *, seed: int = 0, other: float = 0.25,
                 min_words: int = 8) -> Records:
    """`n` review-like documents of about `words` words: SST-2 training phrases of at least
    `min_words` words, drawn (seeded, with replacement) from the document's label, each one
    instead from the other label with probability `other`, appended until the document
    reaches `words - 15` words (so the mean is about `words`)."""
    texts, labels = _sst2(root)
    pools = {label: [t for t, y in zip(texts, labels, strict=True)
                     if y == label and len(t.split()) >= min_words] for label in ("0", "1")}
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        label = "1" if rng.random() < 0.5 else "0"
        parts: list[str] = []
        count = 0
        while count < words - 15:
            source = pools[label if rng.random() >= other else ("0" if label == "1" else "1")]
            phrase = source[int(rng.integers(len(source)))]
            parts.append(_sentence(phrase))
            count += len(phrase.split())
        out.append({"text": " ".join(parts), "label": "positive" if label == "1" else "negative"})
    return out


def sources_short(root: Path, n: int, *, seed: int = 0) -> Records:
    """`n` records of about 40 words in 4 classes, one per source: SST-2 phrases ("movie"),
    Banking77 customer queries ("banking"), GSM8K math questions ("math") and TREC questions
    ("question"); each record joins items of its source (seeded draws) until it has 35 words
    (a GSM8K question is usually one item)."""
    import csv

    with open(root / "banking77" / "train.csv", encoding="utf-8", newline="") as handle:
        banking = [row["text"] for row in csv.DictReader(handle)]
    gsm = [r["instruction"] for r in json.loads(
        (root / "gsm8k_train_alpaca_format" / "gsm_8k_train.json").read_text(encoding="utf-8"))]
    trec = [line.split(" ", 1)[1] for line in (
        root / "trec_question_classification" / "train_5500.label").read_bytes().decode(
        "latin-1").splitlines() if " " in line]
    pools = {"movie": [t for t in _sst2(root)[0] if len(t.split()) >= 5], "banking": banking,
             "math": gsm, "question": trec}
    names = sorted(pools)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = names[i % len(names)]
        pool = pools[label]
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < 35:
            parts.append(pool[int(rng.integers(len(pool)))].strip())
        out.append({"text": " ".join(parts), "label": label})
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def sst2_records(root: Path, n: int | None) -> Records:
    texts, labels = _sst2(root)
    records = [{"text": t, "label": y} for t, y in zip(texts, labels, strict=True)]
    return records[:n] if n else records


def banking77_records(root: Path, n: int | None) -> Records:
    import csv

    with open(root / "banking77" / "train.csv", encoding="utf-8", newline="") as handle:
        rows = [{"text": row["text"], "label": row["category"]} for row in csv.DictReader(handle)]
    return rows[:n] if n else rows


def dolly_records(root: Path, n: int | None) -> Records:
    rows = json.loads((root / "dolly_alpagasus_filtered_3k" / "dolly_3k.json").read_text(
        encoding="utf-8"))
    records = [{"instruction": r["instruction"], "input": r.get("input", ""),
                "output": r["output"], "category": r["category"]} for r in rows]
    return records[:n] if n else records


def gsm8k_records(root: Path, n: int | None) -> Records:
    rows = json.loads((root / "gsm8k_train_alpaca_format" / "gsm_8k_train.json").read_text(
        encoding="utf-8"))
    records = [{"instruction": r["instruction"], "input": r.get("input", ""),
                "output": r["output"]} for r in rows]
    return records[:n] if n else records


def oasst_records(root: Path, n: int | None) -> Records:
    """Every (prompter message, assistant reply) pair of the English OASST sample trees."""
    out: Records = []

    def walk(message: dict[str, Any]) -> None:
        for reply in message.get("replies") or []:
            if message.get("role") == "prompter" and reply.get("role") == "assistant":
                out.append({"prompt": message["text"], "response": reply["text"]})
            walk(reply)

    for line in (root / "oasst_en100_sample" / "en_100_message.jsonl").read_text(
            encoding="utf-8").splitlines():
        if line.strip():
            walk(json.loads(line))
    return out[:n] if n else out


def generated(kind: str, n: int, words: int, *, drop: tuple[str, ...] = ()) -> Records:
    from benchmarks.generate import classification_records, instruction_records

    make = classification_records if kind == "classification" else instruction_records
    return [{k: v for k, v in record.items() if k not in drop}
            for record, _ in make(n, seed=0, words=words)]


@dataclass(frozen=True)
class Shape:
    name: str
    source: str  # generated or real
    labelled: bool
    size: int  # records in a full run (capped at QUICK_SIZE with --quick)
    description: str
    build: Callable[[Path | None, int], Records]
    datalab: bool = True  # run Datalab side by side (not on the 100k shape: per-check targets)


QUICK_SIZE = 2_000
SHAPES = {s.name: s for s in (
    Shape("generated_long", "generated", True, 25_000,
          "benchmarks.generate classification, 230 words, 2 classes (3 cue words per record, "
          "10% flipped labels)", lambda root, n: generated("classification", n, 230)),
    Shape("generated_instruction", "generated", False, 25_000,
          "benchmarks.generate instruction, 150 words, without its category label",
          lambda root, n: generated("instruction", n, 150, drop=("category",))),
    Shape("reviews_long", "real", True, 25_000,
          "SST-2 training phrases of 8+ words concatenated into documents of ~230 words, "
          "2 classes; each phrase from the document's label, or the other one with "
          "probability 0.25 (`concatenated`)",
          lambda root, n: concatenated(_need(root), n, 230)),
    Shape("sources_short", "real", True, 7_600,
          "~40 words, 4 classes by source: SST-2 phrases, Banking77 queries, GSM8K questions, "
          "TREC questions, joined per record up to 35+ words (`sources_short`)",
          lambda root, n: sources_short(_need(root), n)),
    Shape("sst2", "real", True, 67_349, "SST-2 training set, phrases of ~9 words, 2 classes",
          lambda root, n: sst2_records(_need(root), n)),
    Shape("banking77", "real", True, 10_003, "Banking77 training set, ~12 words, 77 classes",
          lambda root, n: banking77_records(_need(root), n)),
    Shape("dolly", "real", True, 2_996,
          "Dolly (AlpaGasus 3k): instruction + context / response, 8 task categories as label",
          lambda root, n: dolly_records(_need(root), n)),
    Shape("gsm8k", "real", False, 7_473, "GSM8K training set: question / worked answer",
          lambda root, n: gsm8k_records(_need(root), n)),
    Shape("oasst", "real", False, 10_000,
          "OASST English sample: every prompter message / assistant reply pair",
          lambda root, n: oasst_records(_need(root), n)),
)}
LARGE_SHAPES = {s.name: s for s in (
    Shape("generated_long_100k", "generated", True, 100_000,
          "benchmarks.generate classification, 230 words, 2 classes, 100k records",
          lambda root, n: generated("classification", n, 230), datalab=False),
)}


def _need(root: Path | None) -> Path:
    if root is None:
        raise SystemExit("shared datasets folder not found (set FT_AUDIT_SHARED_DATASETS)")
    return root


def write_jsonl(records: Records, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def read_texts_labels(path: Path) -> tuple[list[str], list[str] | None]:
    """The text an audit probes (text, prompt or instruction + input) and the label, if any."""
    texts: list[str] = []
    labels: list[str] = []
    with open(path, encoding="utf-8") as handle:  # lines end at \n only (not U+2028)
        records = [json.loads(line) for line in handle if line.strip()]
    for record in records:
        if "text" in record:
            texts.append(record["text"])
        elif "prompt" in record:
            texts.append(record["prompt"] + "\n\n" + record["response"])
        else:
            texts.append("\n\n".join(x for x in (record["instruction"], record.get("input", ""),
                                                 record["output"]) if x))
        label = record.get("label", record.get("category"))
        if label is not None:
            labels.append(str(label))
    return texts, (labels if len(labels) == len(texts) else None)


# -- measuring in fresh processes -----------------------------------------------------------------
def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (Linux /proc)."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...],
           path_first: str | None) -> None:
    import resource

    if path_first:
        sys.path.insert(0, path_first)
    started, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    conn.send((value, wall, time.process_time() - cpu + children.ru_utime + children.ru_stime))
    conn.close()


@dataclass(frozen=True)
class Run:
    value: Any
    wall_s: float
    cpu_s: float
    peak_mb: float


def measured(fn: Callable[..., Any], *args: Any, path_first: str | None = None) -> Run:
    """`fn(*args)` in a fresh (spawned) process: its wall and CPU time (with the processes it
    started) and the peak RSS of its whole process tree. `path_first`: a folder put first on
    the child's sys.path (the baseline revision)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child, args=(child, fn, args, path_first))
    process.start()
    child.close()
    peak = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_mb(process.pid or 0))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        value, wall, cpu = parent.recv()
    finally:
        stop.set()
        sampler.join()
        process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"benchmark child exited with {process.exitcode}")
    return Run(value=value, wall_s=wall, cpu_s=cpu, peak_mb=peak)


def audit_run(path: str, engine: str | None, per_check_cpu: bool) -> dict[str, Any]:
    """The whole default audit of `path` (in a benchmark child); with `per_check_cpu`, every
    check's `run` is wrapped to record its process CPU time."""
    import functools

    from audit.registry import all_checks
    from audit.runner import run_audit

    cpu: dict[str, float] = {}
    if per_check_cpu:
        for name, cls in all_checks().items():
            def timed(fn: Any, name: str = name) -> Any:
                @functools.wraps(fn)
                def run(self: Any, data: Any, ctx: Any) -> Any:
                    started = time.process_time()
                    try:
                        return fn(self, data, ctx)
                    finally:
                        cpu[name] = time.process_time() - started
                return run
            cls.run = timed(cls.run)  # type: ignore[method-assign]
    config = None if engine is None else {"engine": engine}
    result = run_audit(path, config, progress=False)
    wanted = ("estimated_noise_rate", "probe_accuracy", "overfitting_risk_score",
              "generalization_gap", "heldout_accuracy", "outlier_fraction", "flip_rate")
    return {"go": result.verdict.go,
            "checks": [(c.name, c.status.value, c.duration_s or 0.0, cpu.get(c.name))
                       for c in result.checks],
            "metrics": {c.name: {k: v for k, v in c.metrics.items() if k in wanted}
                        for c in result.checks if c.name in (*MODEL_CHECKS, "outliers")}}


def datalab_run(path: str) -> dict[str, Any]:
    """cleanlab Datalab on the records of `path` (see the module docstring)."""
    import multiprocessing

    from cleanlab import Datalab
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    # as on Linux by default: cleanlab's label filter shares its data with forked workers
    # (this benchmark child was itself spawned, which would make them spawn)
    multiprocessing.set_start_method("fork", force=True)
    texts, labels = read_texts_labels(Path(path))
    out: dict[str, Any] = {}
    pred_probs = None
    if labels is not None:
        classes = sorted(set(labels))
        y = np.array([classes.index(label) for label in labels])
        started, cpu = time.perf_counter(), time.process_time()
        pred_probs = cross_val_predict(
            make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)), texts, y, cv=5,
            method="predict_proba")
        out["reference_wall_s"] = time.perf_counter() - started
        out["reference_cpu_s"] = time.process_time() - cpu
    tfidf = TfidfVectorizer().fit_transform(texts)
    features = TruncatedSVD(n_components=min(100, tfidf.shape[1] - 1),
                            random_state=0).fit_transform(tfidf)
    data: dict[str, Any] = {"text": texts}
    if labels is not None:
        data["label"] = labels
    lab = Datalab(data=data, label_name="label" if labels is not None else None, verbosity=0)
    issue_types: dict[str, dict[str, Any]] = {"outlier": {}, "near_duplicate": {}}
    if pred_probs is not None:
        issue_types["label"] = {}
    lab.find_issues(pred_probs=pred_probs, features=features, issue_types=issue_types)
    summary = lab.get_issue_summary()
    out["issues"] = {str(r["issue_type"]): int(r["num_issues"]) for _, r in summary.iterrows()}
    return out


# -- accuracy: label noise and overfitting rankings ----------------------------------------------
def label_noise_rows(root: str, limit: int | None) -> list[list[Any]]:
    """`label_issues` defaults on the label-noise sets: precision / recall / F1 of uniform 10%
    flips (seed 1) and of 20% of the largest class relabelled (seed 2), as
    benchmarks.label_noise measures them."""
    from benchmarks.label_noise import DATASETS, flip_class, flip_uniform, run_label_issues, score

    rows = []
    for name, load in DATASETS.items():
        texts, labels = load(Path(root))
        if limit and len(texts) > limit:
            keep = np.random.default_rng(0).permutation(len(texts))[:limit]
            texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
        noisy, truth = flip_uniform(labels, 0.10, seed=1)
        res = run_label_issues(texts, noisy)
        rows.append([name, "uniform 10%", *score(res["flagged"], truth),
                     res["metrics"]["estimated_noise_rate"], res["check_s"]])
        noisy, truth, _pair = flip_class(labels, 0.20, seed=2)
        res = run_label_issues(texts, noisy)
        rows.append([name, "20% of largest class", *score(res["flagged"], truth),
                     res["metrics"]["estimated_noise_rate"], res["check_s"]])
    return rows


def overfitting_rows(root: str) -> list[list[Any]]:
    """Risk scores of the ranking pairs: a set vs its first 500 records; a set vs the same
    set with its first half duplicated (SST-2 sample: probe classifier; Dolly: bigram LM)."""
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.runner import run_check
    from checks.overfitting.risk import OverfittingRisk

    def score(records: Records, fields: Any = None) -> dict[str, float]:
        data = load_dataset(records, fields=fields, name="ranking")
        result = run_check(OverfittingRisk(), RunContext(data, seed=0))
        return {k: float(result.metrics[k]) for k in
                ("overfitting_risk_score", "generalization_gap", "memorization_fraction")}

    rng = np.random.default_rng(0)
    sst = sst2_records(Path(root), None)
    sst = [sst[i] for i in rng.permutation(len(sst))[:5000]]
    dolly = [{k: v for k, v in r.items() if k != "category"}
             for r in dolly_records(Path(root), None)]
    rows = []
    for name, records in (("sst2 5k (probe classifier)", sst), ("dolly (bigram LM)", dolly)):
        full, small = score(records), score(records[:500])
        rows.append([name, "full vs 500-record subsample", full["overfitting_risk_score"],
                     small["overfitting_risk_score"],
                     small["overfitting_risk_score"] > full["overfitting_risk_score"]])
        base = records[:2000]
        clean, doubled = score(base), score(base + base[:1000])
        rows.append([name, "2,000 clean vs + 1,000 duplicates", clean["overfitting_risk_score"],
                     doubled["overfitting_risk_score"],
                     doubled["overfitting_risk_score"] > clean["overfitting_risk_score"]])
    return rows


#: probe feature variants compared on long texts: (name, char n-grams, word min_df)
FEATURE_VARIANTS = (("word 1-2 + char 2-4 (the short-text features)", True, 1),
                    ("word 1-2", False, 1),
                    ("word 1-2 in 2+ records (the long-text default)", False, 2))


def char_ngram_rows(root: str, n: int) -> list[list[Any]]:
    """`label_issues` (defaults) on SST-2 phrases concatenated into `n` documents of several
    lengths with 10% flips, the probe features forced to each of FEATURE_VARIANTS."""
    import checks.shared.probe as probe
    from benchmarks.label_noise import flip_uniform, run_label_issues, score

    fit = probe.fit_tfidf
    rows = []
    for words in (25, 50, 120, 230):
        records = concatenated(Path(root), n, words, seed=1)
        texts = [r["text"] for r in records]
        noisy, truth = flip_uniform([r["label"] for r in records], 0.10, seed=1)
        mean_words = float(np.mean([len(t.split()) for t in texts]))
        for name, chars, min_df in FEATURE_VARIANTS:
            def forced(tokens: Any, *, _chars: bool = chars, _min_df: int = min_df,
                       **kwargs: Any) -> Any:
                # the caller passes chars= and word_min_df= itself: override them
                kwargs.update(chars=_chars, word_min_df=_min_df)
                return fit(tokens, **kwargs)

            probe.fit_tfidf = forced  # type: ignore[assignment]
            cpu = time.process_time()
            res = run_label_issues(texts, noisy)
            p, r, f1 = score(res["flagged"], truth)
            rows.append([f"{mean_words:.0f}", name, p, r, f1, res["metrics"]["probe_accuracy"],
                         res["check_s"], time.process_time() - cpu])
    probe.fit_tfidf = fit
    return rows


# -- the run ---------------------------------------------------------------------------------------
@contextmanager
def baseline_tree(revision: str | None) -> Iterator[str | None]:
    """The source of `revision` exported (git archive, read-only) into a temporary folder."""
    if revision is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="ft-audit-baseline-") as folder:
        archive = subprocess.run(["git", "archive", revision], cwd=REPO_ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield folder


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


@dataclass(frozen=True)
class Runs:
    """Repeated runs of one measurement: the least disturbed one (`best`, the shortest wall
    time: others' jobs share the cores) with its per-check values, and the medians."""

    best: Run
    median_wall_s: float
    median_cpu_s: float
    peak_mb: float  # the largest of the runs

    @classmethod
    def of(cls, runs: list[Run]) -> Runs:
        return cls(best=min(runs, key=lambda r: r.wall_s),
                   median_wall_s=statistics.median(r.wall_s for r in runs),
                   median_cpu_s=statistics.median(r.cpu_s for r in runs),
                   peak_mb=max(r.peak_mb for r in runs))

    @property
    def value(self) -> Any:
        return self.best.value


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None or seconds != seconds else f"{seconds:.1f}"


def run_shape(shape: Shape, path: Path, repeats: int, datalab: bool,
              base: str | None) -> dict[str, Any]:
    audits, labs = [], []
    load = load_average()
    for _ in range(repeats):
        audits.append(measured(audit_run, str(path), None, False))
        print(f"  audit {audits[-1].wall_s:.1f}s wall, {audits[-1].cpu_s:.1f}s CPU, "
              f"{audits[-1].peak_mb:.0f} MB", flush=True)
        if datalab:
            labs.append(measured(datalab_run, str(path)))
            print(f"  datalab {labs[-1].wall_s:.1f}s wall, {labs[-1].cpu_s:.1f}s CPU, "
                  f"{labs[-1].peak_mb:.0f} MB", flush=True)
    serial = measured(audit_run, str(path), "serial", True)
    print(f"  serial audit {serial.wall_s:.1f}s wall", flush=True)
    old = None
    if base is not None and shape.name in BASELINE_SHAPES:
        old = measured(audit_run, str(path), None, False, path_first=base)
        print(f"  baseline audit {old.wall_s:.1f}s wall, {old.peak_mb:.0f} MB", flush=True)
    return {"audit": Runs.of(audits), "datalab": Runs.of(labs) if labs else None,
            "serial": serial, "baseline": old, "load": f"{load} / {load_average()}"}


def report(shapes: dict[str, Shape], sizes: dict[str, int], stats: dict[str, dict[str, Any]],
           words: dict[str, float], repeats: int) -> list[str]:
    text = ["## Shapes", "", markdown_table(
        ["shape", "source", "labelled", "records", "mean words", "what it is"],
        [[s.name, s.source, "yes" if s.labelled else "no", f"{sizes[s.name]:,}",
          f"{words[s.name]:.0f}", s.description] for s in shapes.values() if s.name in stats])]
    rows = []
    for name, st in stats.items():
        audit, lab = st["audit"], st["datalab"]
        checks = {c[0]: c for c in audit.value["checks"]}
        model = sum(checks[c][2] for c in MODEL_CHECKS if c in checks)
        ref = lab.value.get("reference_wall_s") if lab else None
        rows.append([name, f"{sizes[name]:,}", fmt(audit.best.wall_s), fmt(audit.median_wall_s),
                     fmt(audit.median_cpu_s), f"{audit.peak_mb:,.0f}",
                     fmt(lab.best.wall_s) if lab else "-", fmt(lab.median_wall_s) if lab else "-",
                     fmt(lab.median_cpu_s) if lab else "-", f"{lab.peak_mb:,.0f}" if lab else "-",
                     f"{audit.best.wall_s / lab.best.wall_s:.2f}" if lab else "-",
                     f"{audit.median_wall_s / lab.median_wall_s:.2f}" if lab else "-",
                     f"{audit.peak_mb / lab.peak_mb:.2f}" if lab else "-",
                     fmt(ref), fmt(model), f"{model / ref:.2f}" if ref else "-", st["load"]])
    text += ["", f"## Whole default audit vs Datalab ({repeats} runs each, alternating)", "",
             markdown_table(
                 ["shape", "records", "audit wall s (best)", "audit wall s (median)",
                  "audit CPU s", "audit peak MB", "Datalab wall s (best)",
                  "Datalab wall s (median)", "Datalab CPU s", "Datalab peak MB",
                  "wall ratio (best)", "wall ratio (median)", "RSS ratio", "5-fold ref. s",
                  "label_issues + overfitting_risk s", "vs ref.", "load avg before / after"],
                 rows),
             "", "`audit`: `run_audit` with the default config (default engine); CPU (median) "
             "includes the worker processes, peak RSS (the largest of the runs) is the whole "
             "process tree. `best`: the run with the shortest wall time (the least disturbed by "
             "other jobs on the shared cores), whose per-check times are listed below. "
             "`5-fold ref.`: Datalab's `cross_val_predict` alone (5-fold TF-IDF + logistic "
             "regression) in its best run. `vs ref.`: `label_issues` + `overfitting_risk` "
             "(their `duration_s` in the audit's best run) over it."]
    base_rows = [[name, fmt(st["baseline"].wall_s), fmt(st["baseline"].cpu_s),
                  f"{st['baseline'].peak_mb:,.0f}", fmt(st["audit"].median_wall_s),
                  fmt(st["audit"].median_cpu_s), f"{st['audit'].peak_mb:,.0f}",
                  f"{st['baseline'].wall_s / st['audit'].median_wall_s:.1f}x"]
                 for name, st in stats.items() if st["baseline"] is not None]
    if base_rows:
        text += ["", "## Before / after (whole default audit)", "", markdown_table(
            ["shape", "before wall s", "before CPU s", "before peak MB", "after wall s (median)",
             "after CPU s", "after peak MB", "speed-up"], base_rows)]
    for name, st in stats.items():
        default = {c[0]: c for c in st["audit"].value["checks"]}
        serial = {c[0]: c for c in st["serial"].value["checks"]}
        before = st["baseline"]
        old_checks = before.value["checks"] if before is not None and before.value else []
        old = {c[0]: c for c in old_checks}
        ranked = sorted(serial.values(),
                        key=lambda c: -max(c[2], default[c[0]][2] if c[0] in default else 0.0))
        check_rows = [[c[0], c[1], fmt(default[c[0]][2]) if c[0] in default else "-",
                       fmt(c[2]), fmt(c[3]), fmt(old[c[0]][2]) if c[0] in old else "-"]
                      for c in ranked[:10]]
        text += ["", f"### Slowest checks: {name} ({sizes[name]:,} records)", "",
                 markdown_table(["check", "status", "wall s (default run)",
                                 "wall s (serial run)", "CPU s (serial run)",
                                 "before: wall s"], check_rows)]
    return text


def targets(stats: dict[str, dict[str, Any]], sizes: dict[str, int]) -> list[str]:
    rows = []
    for name in ("reviews_long", "generated_long"):
        st = stats.get(name)
        if st and st["datalab"]:
            audit, lab = st["audit"], st["datalab"]
            rows.append([f"whole audit <= 0.7 x Datalab wall ({name}, medians)",
                         f"{audit.median_wall_s / lab.median_wall_s:.2f}",
                         audit.median_wall_s <= 0.7 * lab.median_wall_s])
            rows.append([f"whole audit <= 0.7 x Datalab wall ({name}, best runs)",
                         f"{audit.best.wall_s / lab.best.wall_s:.2f}",
                         audit.best.wall_s <= 0.7 * lab.best.wall_s])
            rows.append([f"peak RSS below Datalab's ({name})",
                         f"{audit.peak_mb:,.0f} / {lab.peak_mb:,.0f} MB",
                         audit.peak_mb < lab.peak_mb])
            checks = {c[0]: c for c in audit.value["checks"]}
            model = sum(checks[c][2] for c in MODEL_CHECKS if c in checks)
            ref = lab.value["reference_wall_s"]
            rows.append([f"label_issues + overfitting_risk < 2 x 5-fold reference ({name})",
                         f"{model:.1f} / {ref:.1f} s", model < 2 * ref])
    for name, st in stats.items():
        limit = CHECK_TARGET_S.get(sizes[name])
        if limit is None:
            continue
        for label, run in (("default run", st["audit"].best), ("serial run", st["serial"])):
            worst = max(run.value["checks"], key=lambda c: c[2])
            rows.append([f"every check < {limit:.0f} s ({name}, {label})",
                         f"{worst[0]} {worst[2]:.1f} s", worst[2] < limit])
    st = stats.get("sources_short")
    if st:
        rows.append(["short texts (7.6k, 4 classes, ~40 words): whole audit < 15 s (median)",
                     f"{st['audit'].median_wall_s:.1f} s", st["audit"].median_wall_s < 15])
    return ["", "## Targets", "", markdown_table(["target", "measured", "met"], rows)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE:,} records per "
                        "shape, smaller accuracy runs (smoke run; prints, writes nothing)")
    parser.add_argument("--large", action="store_true", help="add the 100k-record shape")
    parser.add_argument("--shapes", default="", help="comma-separated shape names (default all)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also measure this git revision (e.g. HEAD) side by side")
    parser.add_argument("--no-datalab", action="store_true")
    parser.add_argument("--no-accuracy", action="store_true")
    args = parser.parse_args(argv)
    root = shared_datasets_dir()
    shapes = {**SHAPES, **(LARGE_SHAPES if args.large else {})}
    if args.shapes:
        wanted = args.shapes.split(",")
        unknown = [w for w in wanted if w not in {**SHAPES, **LARGE_SHAPES}]
        if unknown:
            parser.error(f"unknown shapes {unknown}; known: {', '.join([*SHAPES, *LARGE_SHAPES])}")
        shapes = {w: {**SHAPES, **LARGE_SHAPES}[w] for w in wanted}
    if root is None:
        print("shared datasets folder not found: generated shapes only", flush=True)
        shapes = {k: s for k, s in shapes.items() if s.source == "generated"}
    stats: dict[str, dict[str, Any]] = {}
    sizes: dict[str, int] = {}
    words: dict[str, float] = {}
    sections: list[str] = ["Command: `python -m benchmarks.whole_audit"
                           + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
                           + "`", ""]
    with tempfile.TemporaryDirectory(prefix="ft-audit-whole-") as folder, \
            baseline_tree(args.baseline) as base:
        for shape in shapes.values():
            records = shape.build(root, min(shape.size, QUICK_SIZE) if args.quick else shape.size)
            path = write_jsonl(records, Path(folder) / f"{shape.name}.jsonl")
            texts, _ = read_texts_labels(path)
            sizes[shape.name] = len(records)
            words[shape.name] = float(np.mean([len(t.split()) for t in texts]))
            del records, texts
            print(f"== {shape.name}: {sizes[shape.name]:,} records", flush=True)
            stats[shape.name] = run_shape(shape, path, args.repeats,
                                          shape.datalab and not args.no_datalab, base)
            path.unlink()
        sections += report(shapes, sizes, stats, words, args.repeats)
        sections += targets(stats, sizes)
        if not args.no_accuracy and root is not None:
            sections += accuracy(str(root), args.quick, base)
    sections += ["", f"Load average at the end: {load_average()} (the machine is shared; wall "
                 "times vary with it, CPU times much less)."]
    markdown = "\n".join(sections)
    if args.quick:
        print(markdown)
    else:
        print(f"wrote {write_results('whole_audit', markdown)}")


def accuracy(root: str, quick: bool, base: str | None) -> list[str]:
    limit = 10_000 if quick else None
    print("== accuracy: label noise", flush=True)
    now = measured(label_noise_rows, root, limit).value
    before = measured(label_noise_rows, root, limit, path_first=base).value if base else None
    rows = []
    for i, row in enumerate(now):
        old = before[i] if before else None
        rows.append([row[0], row[1], *(round(v, 3) for v in row[2:6]),
                     *((round(old[4], 3), round(row[4] - old[4], 3)) if old else ("-", "-")),
                     fmt(row[6]), fmt(old[6]) if old else "-"])
    text = ["", "## Accuracy: label noise (label_issues defaults)", "", markdown_table(
        ["dataset", "noise", "precision", "recall", "F1", "estimated rate", "F1 before",
         "F1 change", "check s", "check s before"], rows),
        "", "The protocol of benchmarks.label_noise (same flips, same seeds). `before`: the "
        "revision given with --baseline, measured in the same run."
        + (" Quick run: sets capped at 10,000 records." if quick else "")]
    print("== accuracy: overfitting rankings", flush=True)
    now = measured(overfitting_rows, root).value
    before = measured(overfitting_rows, root, path_first=base).value if base else None
    rank_rows = []
    for i, row in enumerate(now):
        old = before[i] if before else None
        rank_rows.append([row[0], row[1], round(row[2], 4), round(row[3], 4),
                          "yes" if row[4] else "NO",
                          *((round(old[2], 4), round(old[3], 4), "yes" if old[4] else "NO")
                            if old else ("-", "-", "-"))])
    text += ["", "## Accuracy: overfitting-risk rankings", "", markdown_table(
        ["data", "pair", "score (first)", "score (second)", "second riskier",
         "before: first", "before: second", "before: second riskier"], rank_rows)]
    print("== accuracy: probe features on long texts", flush=True)
    char_rows = measured(char_ngram_rows, root, 2_000 if quick else 10_000).value
    text += ["", "## Probe features by text length", "", markdown_table(
        ["mean words", "probe features", "precision", "recall", "F1", "probe acc.",
         "check wall s", "check CPU s"],
        [[r[0], r[1], *(round(v, 3) for v in r[2:6]), fmt(r[6]), fmt(r[7])]
         for r in char_rows]),
        "", "`label_issues` with its defaults on SST-2 phrases concatenated into documents "
        f"(`concatenated`, seed 1, {2_000 if quick else 10_000:,} documents), 10% of labels "
        "flipped, the probe's features forced to each variant. The default uses the first for "
        "texts averaging at most CHAR_NGRAM_MAX_WORDS words, the last above. `check CPU s` "
        "counts the fold-fitting threads."]
    return text


if __name__ == "__main__":
    main()
