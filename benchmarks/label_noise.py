"""Label-noise benchmark: synthetic label flips in real classification sets, speed at 100k,
and cleanlab's Datalab side by side.

    python -m benchmarks.label_noise [--quick | --embeddings | --finetuned | --neighbours |
                                      --finetune-pilot]

Detection: 10% of labels flipped uniformly at random (seeded) to another class, and
class-conditional noise (20% of the largest class relabelled as the second largest); precision /
recall of `label_issues` against the flips, estimated noise rate vs the true rate, and the
estimate on the unflipped labels (the probe model's own error floor). Speed: 100k labelled
records with 10% flips (SST-2 resampled, 2 classes; and every labelled set here mixed,
labels prefixed by source, 89 classes): wall time and peak RSS of
loading + the check, in a fresh process. Results: benchmarks/results/label_noise.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import markdown_table, measure_isolated, shared_datasets_dir, write_results

Rows = tuple[list[str], list[str]]


def _lines(path: Path, encoding: str = "utf-8") -> list[str]:
    return [line for line in path.read_bytes().decode(encoding).splitlines() if line.strip()]


def banking77(root: Path) -> Rows:
    import csv

    with open(root / "banking77" / "train.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def sst2(root: Path) -> Rows:
    pairs = [line.rsplit("\t", 1) for line in
             _lines(root / "senteval_sst2" / "sst2_binary" / "sentiment-train")]
    return [p[0].strip() for p in pairs], [p[1].strip() for p in pairs]


def trec(root: Path) -> Rows:
    pairs = [line.split(" ", 1) for line in
             _lines(root / "trec_question_classification" / "train_5500.label", "latin-1")]
    return [p[1] for p in pairs], [p[0].split(":")[0] for p in pairs]


def sms_spam(root: Path) -> Rows:
    pairs = [line.split("\t", 1) for line in
             _lines(root / "sms_spam_collection" / "SMSSpamCollection.tsv")[1:]]
    return [p[1] for p in pairs], [p[0] for p in pairs]


def pool_binary(root: Path, n: int) -> Rows:
    """SST-2 train (67k unique phrases) resampled with replacement to `n` records, 2 classes."""
    texts, labels = sst2(root)
    order = np.random.default_rng(0).choice(len(texts), n, replace=True)
    return [texts[i] for i in order], [labels[i] for i in order]


def pool_mixed(root: Path, n: int) -> Rows:
    """Every labelled set here, labels prefixed by source (89 classes), seeded sample of `n`."""
    texts: list[str] = []
    labels: list[str] = []
    for name, load in DATASETS.items():
        t, y = load(root)
        texts += t
        labels += [f"{name}:{label}" for label in y]
    for name, path, field in (("gsm8k", "gsm8k_train_alpaca_format", "instruction"),
                              ("code", "code_alpaca/new_codealpaca.json", "instruction")):
        folder = root / path
        files = [folder] if folder.is_file() else sorted(folder.glob("*.json*"))
        for file in files[:1]:
            raw = file.read_text(encoding="utf-8")
            items = json.loads(raw) if raw.lstrip().startswith("[") else \
                [json.loads(line) for line in raw.splitlines() if line.strip()]
            extra = [str(item.get(field, "")) for item in items if isinstance(item, dict)]
            texts += extra
            labels += [name] * len(extra)
    order = np.random.default_rng(0).permutation(len(texts))[:n]
    return [texts[i] for i in order], [labels[i] for i in order]


POOLS: dict[str, Callable[[Path, int], Rows]] = {"binary (SST-2 resampled)": pool_binary,
                                                 "mixed (all sets, by source)": pool_mixed}


DATASETS: dict[str, Callable[[Path], Rows]] = {
    "sms_spam": sms_spam, "sst2": sst2, "trec": trec, "banking77": banking77}


def flip_uniform(labels: list[str], rate: float, seed: int) -> tuple[list[str], np.ndarray]:
    """Each label flipped with probability `rate` to a different class chosen uniformly."""
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[label] for label in labels])
    rng = np.random.default_rng(seed)
    flip = rng.random(len(y)) < rate
    shift = rng.integers(1, len(classes), len(y))
    noisy = np.where(flip, (y + shift) % len(classes), y)
    return [classes[i] for i in noisy], flip


def flip_class(labels: list[str], rate: float, seed: int) -> tuple[list[str], np.ndarray, str]:
    """`rate` of the largest class relabelled as the second largest (class-conditional)."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    a, b = sorted(counts, key=lambda c: (-counts[c], c))[:2]
    rng = np.random.default_rng(seed)
    flip = np.array([label == a for label in labels]) & (rng.random(len(labels)) < rate)
    return [b if f else label for label, f in zip(labels, flip, strict=True)], flip, f"{a}->{b}"


def run_label_issues(texts: list[str], labels: list[str], seed: int = 0, features: str = "tfidf",
                     refit: bool = True) -> dict[str, Any]:
    """Run label_issues (probe on `features`); every flagged record id, metrics, timings."""
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.labels.label_issues import LabelIssuesCheck

    started = time.perf_counter()
    data = load_dataset([{"text": t, "label": y} for t, y in zip(texts, labels, strict=True)],
                        name="bench")
    loaded = time.perf_counter()
    ctx = RunContext(data, seed=seed)
    m = LabelIssuesCheck(features=features, refit=refit).run(data, ctx)
    done = time.perf_counter()
    flagged, oof = flagged_records(data, ctx, features, refit)
    return {"flagged": flagged, "metrics": dict(m.metrics), "load_s": loaded - started,
            "check_s": done - loaded, "oof": oof}


def flagged_records(data: Any, ctx: Any, features: str, refit: bool) -> tuple[np.ndarray, Any]:
    """Positions of every record the check flagged (its findings cap the ids listed) and the
    probe's predictions, from the check's memoised audit."""
    from checks.labels.label_issues import audit_labels

    audit = audit_labels(data, ctx, features=features, refit=refit)
    return audit.rows[audit.issues.flagged], audit.oof


def score(flagged: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    mask = np.zeros(len(truth), dtype=bool)
    mask[flagged] = True
    tp = float((mask & truth).sum())
    precision = tp / mask.sum() if mask.sum() else float("nan")
    recall = tp / truth.sum() if truth.sum() else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def datalab_side_by_side(labels: list[str], oof: Any, flagged: np.ndarray,
                         truth: np.ndarray) -> list[Any]:
    """cleanlab Datalab (label issues only) on the same out-of-fold probabilities."""
    from cleanlab import Datalab

    started = time.perf_counter()
    lab = Datalab(data={"label": labels}, label_name="label", verbosity=0)
    lab.find_issues(pred_probs=oof.probabilities, issue_types={"label": {}})
    took = time.perf_counter() - started
    theirs = np.flatnonzero(lab.get_issues("label")["is_label_issue"].to_numpy())
    ours = set(flagged.tolist())
    jaccard = len(ours & set(theirs.tolist())) / max(1, len(ours | set(theirs.tolist())))
    p, r, f1 = score(theirs, truth)
    return [len(theirs), round(took, 2), round(jaccard, 3), round(p, 3), round(r, 3),
            round(f1, 3)]


def detection(root: Path, name: str, limit: int | None) -> list[list[Any]]:
    texts, labels = DATASETS[name](root)
    if limit and len(texts) > limit:
        keep = np.random.default_rng(0).permutation(len(texts))[:limit]
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    rows = []
    clean = run_label_issues(texts, labels)
    rows.append([name, len(texts), len(set(labels)), "none (clean)", 0.0,
                 round(clean["metrics"]["estimated_noise_rate"], 3),
                 round(clean["metrics"]["flagged_fraction"], 3), "-", "-", "-",
                 round(clean["metrics"]["probe_accuracy"], 3),
                 round(clean["metrics"]["label_predictability"], 3), round(clean["check_s"], 1)])
    noisy, truth = flip_uniform(labels, 0.10, seed=1)
    for refit in (False, True):
        res = run_label_issues(texts, noisy, refit=refit)
        p, r, f1 = score(res["flagged"], truth)
        rows.append([name, len(texts), len(set(labels)),
                     "uniform 10%" + ("" if refit else ", refit=False"), round(truth.mean(), 3),
                     round(res["metrics"]["estimated_noise_rate"], 3),
                     round(res["metrics"]["flagged_fraction"], 3), round(p, 3), round(r, 3),
                     round(f1, 3), round(res["metrics"]["probe_accuracy"], 3),
                     round(res["metrics"]["label_predictability"], 3),
                     round(res["check_s"], 1)])
    DATALAB_ROWS.append([name, len(texts), int(res["metrics"]["n_flagged"]),
                         *datalab_side_by_side(noisy, res["oof"], res["flagged"], truth)])
    noisy, truth, pair = flip_class(labels, 0.20, seed=2)
    res = run_label_issues(texts, noisy)
    p, r, f1 = score(res["flagged"], truth)
    rows.append([name, len(texts), len(set(labels)), f"20% of {pair}"[:40],
                 round(truth.mean(), 3), round(res["metrics"]["estimated_noise_rate"], 3),
                 round(res["metrics"]["flagged_fraction"], 3), round(p, 3), round(r, 3),
                 round(f1, 3), round(res["metrics"]["probe_accuracy"], 3),
                 round(res["metrics"]["label_predictability"], 3),
                 round(res["check_s"], 1)])
    return rows


DATALAB_ROWS: list[list[Any]] = []


def feature_comparison(root: Path, name: str,
                       features_list: tuple[str, ...] = ("embeddings", "tfidf", "both"),
                       flip_seed: int = 1) -> list[list[Any]]:
    """Uniform 10% flips (drawn with `flip_seed`): the probe on each of `features_list` (one
    run context, so each probe is computed once and reused by the averages; the embeddings and
    fine-tuned probes need the `embeddings` extra)."""
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.labels.label_issues import LabelIssuesCheck

    texts, labels = DATASETS[name](root)
    noisy, truth = flip_uniform(labels, 0.10, seed=flip_seed)
    data = load_dataset([{"text": t, "label": y} for t, y in zip(texts, noisy, strict=True)],
                        name=name)
    ctx = RunContext(data, seed=0)
    rows = []
    for features in features_list:
        started = time.perf_counter()
        m = LabelIssuesCheck(features=features).run(data, ctx)
        took = time.perf_counter() - started
        p, r, f1 = score(flagged_records(data, ctx, features, True)[0], truth)
        rows.append([name, len(texts), flip_seed, features, round(truth.mean(), 3),
                     round(m.metrics["estimated_noise_rate"], 3),
                     round(m.metrics["flagged_fraction"], 3), round(p, 3), round(r, 3),
                     round(f1, 3), round(m.metrics["probe_accuracy"], 3), round(took, 1)])
        print(rows[-1], flush=True)
    return rows


def predictability_rows(root: Path) -> list[list[Any]]:
    """`label_predictability` and the `labels_unpredictable` warning where the labels are
    known to follow the text (dolly's task categories) and known not to (the same categories
    shuffled; generated instruction records with 12 random categories)."""
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.runner import run_check
    from benchmarks.bias import dolly
    from benchmarks.generate import instruction_records

    real = dolly(root)
    categories = [r["category"] for r in real]
    np.random.default_rng(0).shuffle(categories)
    cases = [("dolly_3k task categories", real, False),
             ("dolly_3k categories shuffled", [dict(r, category=c) for r, c in
                                               zip(real, categories, strict=True)], True),
             ("generated, 12 random categories", [r for r, _ in
                                                 instruction_records(10_000, seed=0)], True)]
    rows = []
    for name, records, random_labels in cases:
        view = load_dataset(records, name="predictability")
        started = time.perf_counter()
        result = run_check("label_issues", RunContext(view, seed=0))
        warned = any(f.code == "labels_unpredictable" for f in result.findings)
        rows.append([name, view.n, "yes" if random_labels else "no",
                     round(result.metrics["probe_accuracy"], 3),
                     round(result.metrics["label_predictability"], 3), "yes" if warned else "no",
                     result.status.value,
                     round(result.details.get("unreliable_noise_estimate",
                                              result.metrics["estimated_noise_rate"]), 3),
                     round(time.perf_counter() - started, 1)])
        print(rows[-1], flush=True)
    return rows


FEATURE_HEADERS = ["dataset", "records", "flip seed", "features", "true rate",
                   "estimated rate", "flagged", "precision", "recall", "F1", "probe acc.",
                   "check s"]


#: the probes `--finetuned` compares, and the (dataset, flip seed) runs it compares them on
FINETUNED_FEATURES = ("tfidf", "tfidf+neighbours", "finetuned+tfidf",
                      "finetuned+tfidf+neighbours")
FINETUNED_RUNS = (("sst2", 1), ("sst2", 2), ("sms_spam", 1))


def finetuned_comparison(root: Path) -> None:
    """The fine-tuned encoder probe (averaged with TF-IDF, and with the nearest-neighbour vote)
    against the TF-IDF probe, uniform 10% flips, the two-class sets; SST-2 with two draws of
    the flips."""
    rows = [row for name, seed in FINETUNED_RUNS for row in
            feature_comparison(root, name, FINETUNED_FEATURES, flip_seed=seed)]
    text = ["## Fine-tuned encoder probe (uniform 10% flips; `--finetuned`)", "",
            markdown_table(FEATURE_HEADERS, rows), "",
            "`finetuned+tfidf`: the bundled all-MiniLM-L6-v2 fine-tuned on each fold (1 "
            "epoch, CPU), its probabilities averaged with the TF-IDF probe's; one pass, as the "
            "check does not refit the fine-tuned probe. `+neighbours`: the nearest-neighbour "
            "label vote averaged in as one more probe. `check s`: the first row with the "
            "fine-tuned encoder includes the whole k-fold fine-tuning; later rows reuse the "
            "probes already computed in the same run context. `flip seed`: the draw of the "
            "flipped labels. "
            f"Load average at the end: {Path('/proc/loadavg').read_text().split()[0]}."]
    print(f"wrote {write_results('label_noise_finetuned', chr(10).join(text))}")


def neighbours_comparison(root: Path) -> None:
    """The TF-IDF probe alone and with the nearest-neighbour vote averaged in, uniform 10%
    flips (two draws), every set."""
    rows = [row for name in DATASETS for seed in (1, 2) for row in
            feature_comparison(root, name, ("tfidf", "tfidf+neighbours"), flip_seed=seed)]
    text = ["## Nearest-neighbour label vote (uniform 10% flips; `--neighbours`)", "",
            markdown_table(FEATURE_HEADERS, rows), "",
            "`tfidf+neighbours`: the TF-IDF probe's probabilities averaged with the "
            "similarity-weighted labels of each record's 5 nearest records (word TF-IDF "
            "cosine, leave one out); both refitted without the first pass's flagged records "
            "(the default `refit`). `check s` of a `+neighbours` row: the vote and the refit "
            "only (the TF-IDF probe's first pass is reused from the row above). "
            f"Load average at the end: {Path('/proc/loadavg').read_text().split()[0]}."]
    print(f"wrote {write_results('label_noise_neighbours', chr(10).join(text))}")


#: (learning rate, epochs) of the fine-tuned encoder compared by `finetune_pilot`
PILOT_SETTINGS = ((5e-5, 1), (1e-4, 1), (2e-4, 1), (5e-5, 2), (1e-4, 2))


def finetune_pilot(root: Path) -> None:
    """Fine-tuning settings on one SST-2 split with uniform 10% flips (20k records: 13,333
    to train, 6,667 held out): held-out accuracy against the original labels, ROC AUC of
    1 - p(given label) for finding the flips, and cleanlab's precision / recall / F1 on the
    held-out records; each setting alone and averaged with the TF-IDF probe."""
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    from checks.labels.label_issues import find_issues
    from checks.shared.features import make_text_classifier
    from checks.shared.finetune import FineTunedEncoder
    from checks.shared.probe import LBFGS_TOL

    texts, labels = DATASETS["sst2"](root)
    noisy, truth = flip_uniform(labels, 0.10, seed=1)
    classes = sorted(set(labels))
    original = np.array([classes.index(label) for label in labels])
    given = np.array([classes.index(label) for label in noisy])
    order = np.random.default_rng(0).permutation(len(texts))[:20_000]
    train, held = order[:13_333], order[13_333:]
    with threadpool_limits(1):
        tfidf = make_text_classifier(0, tol=LBFGS_TOL).fit(
            [texts[i] for i in train], given[train]).predict_proba([texts[i] for i in held])

    def row(setting: str, probabilities: np.ndarray, took: float | str) -> list[Any]:
        y = given[held]
        auc = roc_auc_score(truth[held], 1 - probabilities[np.arange(len(y)), y])
        p, r, f1 = score(find_issues(y, probabilities).flagged, truth[held])
        accuracy = (probabilities.argmax(axis=1) == original[held]).mean()
        return [setting, took, round(float(accuracy), 4), round(float(auc), 4), round(p, 3),
                round(r, 3), round(f1, 3)]

    rows = [row("TF-IDF probe", tfidf, "-")]
    for learning_rate, epochs in PILOT_SETTINGS:
        started = time.perf_counter()
        model = FineTunedEncoder(seed=0, epochs=epochs, learning_rate=learning_rate)
        probabilities = model.fit([texts[i] for i in train], given[train]).predict_proba(
            [texts[i] for i in held])
        took = round(time.perf_counter() - started)
        setting = f"lr {learning_rate:g}, {epochs} epoch{'s' if epochs > 1 else ''}"
        rows += [row(setting, probabilities, took),
                 row(setting + " + TF-IDF", (probabilities + tfidf) / 2, took)]
        print(rows[-2:], flush=True)
    text = ["## Fine-tuning settings pilot (SST-2, one 13,333 / 6,667 split, uniform 10% flips; "
            "`--finetune-pilot`)", "",
            markdown_table(["probe", "fit + predict s", "held-out acc. (original labels)",
                            "flip AUC", "precision", "recall", "F1"], rows), "",
            "`flip AUC`: ROC AUC of 1 - p(given label) for the flipped records among the held-out "
            "ones. `+ TF-IDF`: probabilities averaged with the TF-IDF probe's (the "
            "`finetuned+tfidf` probe). One held-out fold, single pass, less than a third of "
            "the training data the 3-fold check uses on SST-2, so F1 is lower than there; the "
            "comparison between settings is the point."]
    print(f"wrote {write_results('label_noise_finetune_pilot', chr(10).join(text))}")


def speed_run(root: str, pool: str, n: int) -> dict[str, Any]:
    texts, labels = POOLS[pool](Path(root), n)
    noisy, truth = flip_uniform(labels, 0.10, seed=1)
    cpu = time.process_time()
    res = run_label_issues(texts, noisy)
    p, r, f1 = score(res["flagged"], truth)
    return {"n": len(texts), "classes": len(set(labels)), "load_s": res["load_s"],
            "check_s": res["check_s"], "cpu_s": time.process_time() - cpu,
            "n_folds": res["oof"].n_folds, "model": res["oof"].model,
            "est": res["metrics"]["estimated_noise_rate"],
            "true": float(truth.mean()), "p": p, "r": r, "f1": f1}


def outliers_run(root: str, n: int) -> dict[str, Any]:
    """The outliers check (LSA + k-NN against a 20k reference sample) on the mixed pool."""
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.diversity.outliers import Outliers

    texts, _ = pool_mixed(Path(root), n)
    data = load_dataset([{"text": t} for t in texts], name="outliers")
    ctx = RunContext(data, seed=0)
    started = time.perf_counter()
    ctx.artifact("lsa")
    lsa = time.perf_counter() - started
    m = Outliers().run(data, ctx)
    return {"n": data.n, "lsa_s": lsa, "total_s": time.perf_counter() - started,
            "fraction": m.metrics["outlier_fraction"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="subsample SST-2, 20k speed run")
    parser.add_argument("--embeddings", action="store_true",
                        help="also compare probe features (needs the embeddings extra; slow: "
                             "encoding SST-2 takes minutes on CPU)")
    parser.add_argument("--finetuned", action="store_true",
                        help="only compare the fine-tuned encoder probe with TF-IDF on the "
                             "two-class sets (needs the embeddings extra; on 2 CPU cores "
                             "about 20 min for each SST-2 draw and 5 for SMS spam); "
                             "writes label_noise_finetuned.md")
    parser.add_argument("--neighbours", action="store_true",
                        help="only compare the TF-IDF probe with and without the "
                             "nearest-neighbour vote on every set (a few minutes); writes "
                             "label_noise_neighbours.md")
    parser.add_argument("--finetune-pilot", action="store_true",
                        help="only compare fine-tuning learning rates and epochs on one SST-2 "
                             "split (needs the embeddings extra; about 15 min on 2 CPU cores); "
                             "writes label_noise_finetune_pilot.md")
    args = parser.parse_args()
    root = shared_datasets_dir()
    if root is None:
        raise SystemExit("shared datasets folder not found (set FT_AUDIT_SHARED_DATASETS)")
    if args.finetuned:
        finetuned_comparison(root)
        return
    if args.neighbours:
        neighbours_comparison(root)
        return
    if args.finetune_pilot:
        finetune_pilot(root)
        return
    limit = 10_000 if args.quick else None
    rows: list[list[Any]] = []
    for name in DATASETS:
        rows += detection(root, name, limit)
        print(rows[-4:], flush=True)
    speed_rows = []
    for pool in POOLS:
        load = float(Path("/proc/loadavg").read_text().split()[0])
        speed = measure_isolated(speed_run, str(root), pool, 20_000 if args.quick else 100_000)
        s = speed.value
        print(s, speed.wall_s, speed.peak_rss_mb, flush=True)
        speed_rows.append([pool, s["n"], s["classes"], s["n_folds"], s["model"],
                           round(s["load_s"], 1),
                           round(s["check_s"], 1), round(speed.wall_s, 1), round(s["cpu_s"], 1),
                           round(speed.peak_rss_mb), load, round(s["est"], 3),
                           round(s["true"], 3), round(s["f1"], 3)])
    out = measure_isolated(outliers_run, str(root), 20_000 if args.quick else 100_000)
    o = out.value
    print(o, out.wall_s, out.peak_rss_mb, flush=True)
    headers = ["dataset", "records", "classes", "noise", "true rate", "estimated rate",
               "flagged", "precision", "recall", "F1", "probe acc.", "predictability", "check s"]
    text = [
        "## Detection: synthetic label flips in real data (label_issues defaults)",
        "", markdown_table(headers, rows), "",
        "`none (clean)`: the dataset's own labels; its estimated rate is the floor from the "
        "probe model's own errors and any real label noise. `probe acc.`: out-of-fold accuracy "
        "against the given (noisy) labels. `check s`: wall time of the check (loaded machine).",
        "", "## Speed: label_issues on 100k records with 10% flips (fresh process)", "",
        markdown_table(["pool", "records", "classes", "folds", "model", "load s", "check s",
                        "total wall s", "CPU s", "peak RSS MB", "load avg at start",
                        "est. rate", "true rate", "F1"], speed_rows), "",
        "The binary pool repeats SST-2 phrases (67k unique), so its F1 is inflated by "
        "duplicates across folds: it measures speed only.",
        "", "## Notes", "",
        "- Where the probe model is strong (SMS spam: 98.6% accuracy on clean labels) the "
        "estimate tracks the true rate and F1 is above 0.9. Where it is weaker (SST-2 phrases: "
        "92% on clean labels, less when trained on noisy ones; TREC), the probe's own errors "
        "are flagged as well and precision drops. The two-class goal (F1 >= 0.8, rate within "
        "2 points) is met on SMS spam; on SST-2 the rate is within 2 points, F1 only with the "
        "fine-tuned encoder and the neighbour vote averaged in (label_noise_finetuned.md).",
        "- `refit=False` rows: the single pass; the default refits the probe without the "
        "first pass's flagged records and flags again (not on the SGD probe of costly "
        "problems). The TF-IDF probe averages 3 k-fold runs on different splits where its "
        "work allows (REPEAT_MAX_WORK: SMS spam, SST-2, TREC here; not banking77).",
        "- Cost of the check is dominated by the per-fold linear models: about records x "
        "non-zeros per record x classes x iterations. Levers used: vectorise once for all "
        "folds, one BLAS thread (13x faster than 2 spinning threads on shared cores), each "
        "fold fitted to tol 1e-3 and refined to 1e-4 only where it predicts its held-out fold "
        "better than chance, 3 folds from 40k records, features capped so features x "
        "classes <= 2M "
        "(MAX_WEIGHTS), and SGD (3 passes) instead of L-BFGS when rows x non-zeros x classes "
        "exceeds LBFGS_MAX_WORK (checks/_probe.py): on the 89-class pool L-BFGS took 176 s "
        "(F1 0.780), 5 SGD passes 68 s (F1 0.785), 3 passes 51 s (F1 0.779), each with one "
        "core free; folds run in threads, one per core, so a quiet 2-core machine fits two "
        "folds at once.",
        "- Datalab's label issue manager prunes each cell of the confident joint on the same "
        "probabilities (cleanlab's per-cell rule); `label_issues` flags the estimated count "
        "of lowest-quality labels instead (`lowest_quality`), which matters most on many "
        "classes (banking77).",
        "", "## Labels the text does not determine (`label_predictability`)", "",
        markdown_table(["data", "records", "labels random", "probe acc.", "predictability",
                        "labels_unpredictable", "status", "cleanlab estimate", "check s"],
                       predictability_rows(root)), "",
        "`predictability`: the probe's accuracy above always guessing the most common class, "
        "as a share of the possible gain (Cohen's kappa against that guess); the check warns "
        "below 0.1, runs no refit and claims no label errors (the noise-rate metric is not "
        "applicable). `cleanlab estimate`: the noise rate confident learning would report; for "
        "random labels it is not a noise rate, as there is no true label to be wrong about.",
        "", "## Speed: outliers on the mixed pool (fresh process)", "",
        markdown_table(["records", "LSA s", "LSA + outliers s", "peak RSS MB", "flagged"],
                       [[o["n"], round(o["lsa_s"], 1), round(o["total_s"], 1),
                         round(out.peak_rss_mb), round(o["fraction"], 4)]]),
        "", "## Side by side: cleanlab Datalab (issue_types={'label': {}}) on the same "
        "out-of-fold probabilities (uniform 10% flips)", "",
        markdown_table(["dataset", "records", "label_issues flagged", "Datalab flagged",
                        "Datalab s", "Jaccard", "Datalab precision", "Datalab recall",
                        "Datalab F1"], DATALAB_ROWS),
    ]
    if args.embeddings:
        feature_rows = [row for name in ("sms_spam", "sst2") for row in
                        feature_comparison(root, name)]
        text += ["", "## Probe features (uniform 10% flips; `--embeddings`)", "",
                 markdown_table(FEATURE_HEADERS, feature_rows), "",
                 "`embeddings`: logistic regression on all-MiniLM-L6-v2 sentence embeddings "
                 "(the optional extra; `check s` includes encoding on CPU). `both`: the two "
                 "probes' probabilities averaged (`features = \"both\"`)."]
    path = write_results("label_noise", "\n".join(text))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
