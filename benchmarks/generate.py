"""Deterministic generator of benchmark datasets at any scale, with planted defects and truth.

    python -m benchmarks.generate instruction 100000 /tmp/train.jsonl [--words 150] [--seed 0]
    python -m benchmarks.generate classification 100000 /tmp/cls.jsonl

Text is drawn from a fixed pseudo-English vocabulary with a Zipf distribution (so n-gram,
duplicate and TF-IDF statistics behave like natural text) and streamed to disk in chunks, so
1M records need little memory. A `<file>.truth.json` next to the output lists every planted
defect with its record ids:

- instruction: exact_duplicates (pairs), near_duplicates (pairs + the edit), placeholder_responses,
  empty_responses, refusals.
- classification: label_issues (flipped labels), group:female / group:male (records mentioning
  each gender; positives differ by `skew` points between them).
- eval (`python -m benchmarks.generate eval N OUT --train TRAIN`): an evaluation set for TRAIN
  where 5% of records leak from it (half exact copies, half near copies): eval_leakage pairs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SYLLABLES = ("ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge go gu ha he hi "
             "ho ka ke ki ko la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re "
             "ri ro ru sa se si so su ta te ti to tu va ve vi vo wa we wi ya yo za ze zo").split()
FUNCTION_WORDS = ("the of and to a in is that for it as with was on be by this are or from at "
                  "which an not have has but can will their more one all its they these also "
                  "into when your you we our how what do does should").split()
PLACEHOLDERS = ("N/A", "<nooutput>", "TBD", "No output", "None", "...", "See above.")
REFUSALS = ("As an AI language model, I cannot help with that.",
            "I'm sorry, but I cannot assist with this request.",
            "I am unable to provide that information.")
GENDER_TERMS = {"female": ("she", "her", "woman", "mother", "sister"),
                "male": ("he", "him", "man", "father", "brother")}


def vocabulary(size: int = 20_000, seed: int = 7) -> list[str]:
    """A fixed pseudo-English vocabulary: function words first (most frequent), then words."""
    rng = np.random.default_rng(seed)
    words: list[str] = list(FUNCTION_WORDS)
    seen = set(words)
    while len(words) < size:
        n = int(rng.integers(2, 5))
        word = "".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), n))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass
class Truth:
    kind: str
    n_records: int
    seed: int
    planted: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, defect: str, item: Any) -> None:
        self.planted.setdefault(defect, []).append(item)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "n_records": self.n_records, "seed": self.seed,
                "planted": self.planted}


class TextSource:
    """Zipf-distributed sentences over the fixed vocabulary."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.words = np.array(vocabulary(), dtype=object)
        ranks = np.arange(1, len(self.words) + 1)
        p = 1.0 / ranks ** 1.05
        self.p = p / p.sum()
        self.rng = rng

    def texts(self, count: int, mean_words: int) -> list[str]:
        lengths = np.maximum(3, self.rng.poisson(mean_words, count))
        flat = self.rng.choice(len(self.words), size=int(lengths.sum()), p=self.p)
        tokens = self.words[flat]
        out = []
        start = 0
        for length in lengths:
            words = tokens[start:start + length]
            start += length
            out.append(_sentences(words))
        return out


def _sentences(words: np.ndarray) -> str:
    parts = []
    for i in range(0, len(words), 14):
        chunk = " ".join(words[i:i + 14])
        parts.append(chunk[:1].upper() + chunk[1:] + ".")
    return " ".join(parts)


def near_copy(text: str, rng: np.random.Generator) -> tuple[str, str]:
    """One documented edit: swap two adjacent words, insert or delete a word, or change case
    and punctuation."""
    words = text.split()
    op = ("swap", "insert", "delete", "case_punct")[int(rng.integers(0, 4))]
    if op == "swap" and len(words) > 3:
        j = int(rng.integers(0, len(words) - 1))
        words[j], words[j + 1] = words[j + 1], words[j]
    elif op == "insert":
        words.insert(int(rng.integers(0, len(words) + 1)), "really")
    elif op == "delete" and len(words) > 10:
        del words[int(rng.integers(0, len(words)))]
    else:
        return text.lower().replace(".", "!"), "case_punct"
    return " ".join(words), op


def instruction_records(n: int, *, seed: int = 0, words: int = 150,
                        chunk: int = 20_000) -> Iterator[tuple[dict[str, Any], Truth]]:
    """Alpaca records (~`words` words each across instruction and output) with planted defects.

    Yields (record, truth) with the same Truth object each time; it is complete at the end.
    """
    rng = np.random.default_rng(seed)
    source = TextSource(rng)
    truth = Truth(kind="instruction", n_records=n, seed=seed)
    kept: list[dict[str, Any]] = []  # a reservoir of earlier records to copy from
    produced = 0
    while produced < n:
        count = min(chunk, n - produced)
        prompts = source.texts(count, max(5, words // 5))
        outputs = source.texts(count, max(5, words - words // 5))
        for prompt, output in zip(prompts, outputs, strict=True):
            record_id = produced
            produced += 1
            record = {"instruction": prompt, "input": "", "output": output,
                      "category": f"task_{int(rng.integers(0, 12))}"}
            roll = rng.random()
            if kept and roll < 0.01:
                source_record = kept[int(rng.integers(0, len(kept)))]
                record = dict(source_record)
                truth.add("exact_duplicates", [source_record["_id"], record_id])
            elif kept and roll < 0.02:
                source_record = kept[int(rng.integers(0, len(kept)))]
                edited, op = near_copy(source_record["output"], rng)
                record = {**source_record, "output": edited}
                truth.add("near_duplicates", [source_record["_id"], record_id, op])
            elif roll < 0.022:
                record["output"] = PLACEHOLDERS[int(rng.integers(0, len(PLACEHOLDERS)))]
                truth.add("placeholder_responses", record_id)
            elif roll < 0.023:
                record["output"] = ""
                truth.add("empty_responses", record_id)
            elif roll < 0.025:
                record["output"] = REFUSALS[int(rng.integers(0, len(REFUSALS)))]
                truth.add("refusals", record_id)
            record = {k: v for k, v in record.items() if k != "_id"}
            if len(kept) < 5000 and rng.random() < 0.2:
                kept.append({**record, "_id": record_id})
            yield record, truth


def classification_records(n: int, *, seed: int = 0, words: int = 30, noise: float = 0.1,
                           skew: float = 0.1) -> Iterator[tuple[dict[str, Any], Truth]]:
    """Two-class records whose label is learnable from class-specific words, with `noise` of the
    labels flipped and a `skew`-point gap in the positive rate between gender groups."""
    rng = np.random.default_rng(seed)
    source = TextSource(rng)
    truth = Truth(kind="classification", n_records=n, seed=seed)
    vocab = source.words
    cue = {"pos": vocab[200:260], "neg": vocab[260:320]}
    texts = source.texts(n, words)
    for i, text in enumerate(texts):
        group = ("female", "male", None)[int(rng.integers(0, 3))]
        p_pos = 0.5 + (skew / 2 if group == "male" else -skew / 2 if group == "female" else 0)
        label = "pos" if rng.random() < p_pos else "neg"
        cues = " ".join(rng.choice(cue[label], 3))
        mention = ""
        if group is not None:
            terms = GENDER_TERMS[group]
            mention = f" {terms[int(rng.integers(0, len(terms)))].capitalize()} said so."
            truth.add(f"group:{group}", i)
        record = {"text": f"{text} {cues.capitalize()}.{mention}", "label": label}
        if rng.random() < noise:
            record["label"] = "neg" if label == "pos" else "pos"
            truth.add("label_issues", i)
        yield record, truth


def eval_records(n: int, *, train: Path, seed: int = 0, words: int = 150,
                 leak: float = 0.05) -> Iterator[tuple[dict[str, Any], Truth]]:
    """Fresh instruction records, with `leak` of them copied (exactly or nearly) from `train`."""
    rng = np.random.default_rng(seed + 1)
    truth = Truth(kind="eval", n_records=n, seed=seed)
    with open(train, encoding="utf-8") as fh:
        lines = fh.readlines()
    n_leak = int(n * leak)
    slots = set(rng.choice(n, size=n_leak, replace=False).tolist())
    fresh = instruction_records(n, seed=seed + 1000, words=words)
    for i in range(n):
        record, _ = next(fresh)
        if i in slots:
            source_id = int(rng.integers(0, len(lines)))
            record = json.loads(lines[source_id])
            kind = "exact"
            if rng.random() < 0.5:
                record["output"], op = near_copy(record["output"], rng)
                kind = f"near:{op}"
            truth.add("eval_leakage", [i, source_id, kind])
        yield record, truth


def write(kind: str, n: int, out: Path, *, seed: int = 0, words: int | None = None,
          train: Path | None = None) -> Truth:
    generator: Any = {"instruction": instruction_records, "classification": classification_records,
                      "eval": eval_records}[kind]
    kwargs: dict[str, Any] = {"seed": seed}
    if kind == "eval":
        if train is None:
            raise SystemExit("eval needs --train TRAIN_FILE")
        kwargs["train"] = train
    if words is not None:
        kwargs["words"] = words
    truth = Truth(kind=kind, n_records=n, seed=seed)
    with open(out, "w", encoding="utf-8") as fh:
        for record, produced_truth in generator(n, **kwargs):
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            truth = produced_truth
    Path(str(out) + ".truth.json").write_text(json.dumps(truth.to_dict()) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("instruction", "classification", "eval"))
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--words", type=int, default=None)
    parser.add_argument("--train", type=Path, default=None, help="training file (kind eval)")
    args = parser.parse_args(argv)
    truth = write(args.kind, args.n, args.out, seed=args.seed, words=args.words, train=args.train)
    counts = {k: len(v) for k, v in truth.planted.items()}
    print(f"wrote {args.n} {args.kind} records to {args.out}; planted: {counts}")


if __name__ == "__main__":
    main()
