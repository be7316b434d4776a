"""The `token_lengths` check: what a fine-tune will process, counted in tokens.

With a tokenizer (`tokenizer` = a local Hugging Face `tokenizer.json`, read by the `tokenizers`
library; nothing is downloaded) lengths are exact for that tokenizer. Without one they are an
estimate, labelled as such: ASCII characters / 4, one token per character of scripts written
without spaces or in syllable blocks (Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar),
and other characters / 2 (Cyrillic, Greek, Arabic, Hebrew, Devanagari... in BPE vocabularies
trained mostly on English); each field rounded up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.check import Check, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.errors import InvalidParameterError
from audit.registry import register
from audit.result import Finding, Measurement, Severity, Threshold
from checks.shared.text import UNSPACED_CLASS

#: characters counted as one token each by the estimate (unspaced scripts and Hangul)
DENSE_CLASS = f"[{UNSPACED_CLASS}\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]"
#: texts per tokenizer batch
BATCH = 8192
#: histogram bins of the sequence-length chart
BINS = 30
ESTIMATE_METHOD = ("estimate: ASCII characters / 4 + one token per Chinese, Japanese, Korean, "
                   "Thai (and other unspaced) character + other characters / 2, per field, "
                   "rounded up")


def _count(column: pa.ChunkedArray | pa.Array, regex: str) -> np.ndarray:
    counted = pc.count_substring_regex(pc.fill_null(column, ""), regex)
    return np.asarray(counted.to_numpy(zero_copy_only=False), dtype=np.int64)


def estimate_tokens(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Estimated tokens of each text of a string column (see the module docstring)."""
    filled = pc.fill_null(column, "")
    chars = np.asarray(pc.utf8_length(filled).to_numpy(zero_copy_only=False), dtype=np.int64)
    non_ascii = _count(filled, r"[^\x00-\x7f]")
    dense = _count(filled, DENSE_CLASS)
    return np.ceil((chars - non_ascii) / 4 + dense + (non_ascii - dense) / 2).astype(np.int64)


@cache
def load_tokenizer(path: str) -> Any:
    """A `tokenizers.Tokenizer` from a local tokenizer.json (cached per path)."""
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(path)
    except Exception as exc:  # the library raises a bare Exception for a bad file
        raise InvalidParameterError(f"check 'token_lengths' parameter 'tokenizer': {path} is "
                                    f"not a Hugging Face tokenizer.json ({exc})") from None


def tokenize_lengths(tokenizer: Any, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Tokens of each text of a string column (no special tokens added), in batches."""
    out = np.zeros(len(column), dtype=np.int64)
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    for start in range(0, len(column), BATCH):
        texts = pc.fill_null(column.slice(start, BATCH), "").to_pylist()
        encodings = encode(texts, add_special_tokens=False)
        out[start:start + len(texts)] = [len(e.ids) for e in encodings]
    return out


def summary(values: np.ndarray) -> dict[str, float | int]:
    """Count, total, mean and percentiles of token lengths."""
    if not len(values):
        return {"n": 0, "total": 0}
    p50, p90, p95, p99 = np.percentile(values, [50, 90, 95, 99])
    return {"n": len(values), "total": int(values.sum()),
            "mean": round(float(values.mean()), 2), "p50": round(float(p50), 2),
            "p90": round(float(p90), 2), "p95": round(float(p95), 2),
            "p99": round(float(p99), 2), "max": int(values.max())}


def histogram(values: np.ndarray, limit: int) -> dict[str, Any]:
    """Log-spaced histogram of positive lengths (with the context limit as an edge)."""
    positive = values[values > 0]
    if not len(positive):
        return {}
    top = max(float(positive.max()), float(limit or 0)) + 1
    edges = np.unique(np.round(np.geomspace(1, top, BINS + 1)))
    counts, _ = np.histogram(positive, bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "unit": "tokens",
            "scale": "log"}


@register
class TokenLengths(Check):
    """Token lengths per field and per chat turn, records longer than the model's context, and
    the dataset's total token count.

    A fine-tune is limited by tokens, not words: a record longer than the context is cut at
    `max_tokens` (the response, at the end, is what is lost; a record whose prompt alone fills
    the context trains nothing), and the total token count is what one epoch processes (time
    and cost). With `tokenizer` (the path of a local Hugging Face tokenizer.json, e.g. the
    fine-tune's base model's; `ft-audit run --tokenizer PATH --max-tokens N`) counts are exact
    for it, special tokens not included; without one they are an estimate, labelled as such
    in the details (ASCII characters / 4, one token per Chinese, Japanese, Korean or Thai
    character, other characters / 2). A record's sequence is its prompt and response (all the
    turns of a chat, the system prompt included; the text of text-only data) plus
    `turn_overhead` tokens per turn for the chat template. Without `max_tokens` only the
    distributions and the total are reported.
    """

    name = "token_lengths"
    category = "language"
    metrics = ("total_tokens", "mean_sequence_tokens", "p95_sequence_tokens",
               "max_sequence_tokens", "over_max_fraction", "n_over_max",
               "truncated_token_fraction", "response_lost_fraction")
    default_thresholds = (
        Threshold(metric="over_max_fraction", warn=0.0, fail=0.05),
        Threshold(metric="response_lost_fraction", warn=0.0, fail=0.01),
    )

    @dataclass(frozen=True)
    class Params:
        tokenizer: str = param("", doc="path of a local Hugging Face tokenizer.json (exact "
                                       "counts); empty: an estimate")
        max_tokens: int = param(0, ge=0, doc="the model's context (training sequence length) "
                                             "in tokens; 0: unknown, no truncation metrics")
        turn_overhead: int = param(0, ge=0, le=1000, doc="tokens the chat template adds per "
                                                          "turn (role markers, separators)")

        def __post_init__(self) -> None:
            if self.tokenizer and not Path(self.tokenizer).is_file():
                raise InvalidParameterError(
                    f"check 'token_lengths' parameter 'tokenizer': {self.tokenizer} is not a "
                    "file; pass the path of a local tokenizer.json (nothing is downloaded)")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        p = self.params
        tokenizer = load_tokenizer(str(Path(p.tokenizer).resolve())) if p.tokenizer else None

        def lengths(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
            if tokenizer is None:
                return estimate_tokens(column)
            return tokenize_lengths(tokenizer, column)

        fields = [f for f in ("system", "prompt", "response") if f in data.table.column_names
                  and (data.n == 0 or data.column(f).null_count < data.n)]
        if not any(f in fields for f in ("prompt", "response")):
            fields = ["text"]
        with ctx.progress("Token lengths", None):
            per_field = {f: lengths(data.column(f)) for f in fields}
            turns = self._turns(data, lengths) if data.is_chat else None
        response_start: np.ndarray | None
        if turns is not None:
            record_of_turn, roles, turn_tokens = turns
            sequence = np.bincount(record_of_turn, weights=turn_tokens + p.turn_overhead,
                                   minlength=data.n).astype(np.int64)
            response_start = self._first_response_start(record_of_turn, roles,
                                                        turn_tokens + p.turn_overhead, data.n)
        else:
            sequence = sum((per_field[f] for f in fields), np.zeros(data.n, dtype=np.int64))
            present = sum(((per_field[f] > 0).astype(np.int64) for f in fields),
                          np.zeros(data.n, dtype=np.int64))
            sequence = sequence + p.turn_overhead * present
            before = [f for f in ("system", "prompt") if f in per_field]
            response_start = (sum((per_field[f] for f in before), np.zeros(data.n, np.int64))
                              if "response" in per_field else None)
        metrics, findings = self._truncation(data, sequence, response_start)
        details: dict[str, Any] = {
            "tokenizer": p.tokenizer or None,
            "estimated": tokenizer is None,
            "method": ESTIMATE_METHOD if tokenizer is None else
            f"tokenizer {Path(p.tokenizer).name} (no special tokens)",
            "max_tokens": p.max_tokens or None,
            "per_field": {f: summary(v) for f, v in per_field.items()},
            "sequence": summary(sequence),
            "sequence_tokens": histogram(sequence, p.max_tokens),
        }
        if turns is not None:
            record_of_turn, roles, turn_tokens = turns
            details["per_turn"] = {role: summary(turn_tokens[roles == role])
                                   for role in sorted(set(roles.tolist()))}
        return Measurement(metrics=metrics, findings=tuple(findings), details=details)

    @staticmethod
    def _turns(data: DatasetView, lengths: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(record position, role, tokens) of every chat turn, in order."""
        messages = data.column("messages").combine_chunks()
        counts = np.asarray(pc.list_value_length(messages).fill_null(0)
                            .to_numpy(zero_copy_only=False), dtype=np.int64)
        flat = pc.list_flatten(messages)
        roles = np.asarray(pc.fill_null(flat.field("role"), "").to_numpy(zero_copy_only=False),
                           dtype=object)
        tokens = lengths(flat.field("content"))
        return np.repeat(np.arange(data.n), counts), roles, tokens

    @staticmethod
    def _first_response_start(record_of_turn: np.ndarray, roles: np.ndarray,
                              tokens: np.ndarray, n: int) -> np.ndarray:
        """Per record: tokens before its first assistant turn (all of them if it has none)."""
        starts = np.concatenate(([0], np.cumsum(np.bincount(record_of_turn, minlength=n))))
        cumulative = np.concatenate(([0], np.cumsum(tokens)))
        out = (cumulative[starts[1:]] - cumulative[starts[:-1]]).astype(np.int64)
        assistant = np.flatnonzero(roles == "assistant")
        if len(assistant):
            records, first = np.unique(record_of_turn[assistant], return_index=True)
            out[records] = cumulative[assistant[first]] - cumulative[starts[records]]
        return out

    def _truncation(self, data: DatasetView, sequence: np.ndarray,
                    response_start: np.ndarray | None) -> tuple[dict[str, float], list[Finding]]:
        limit = self.params.max_tokens
        total = int(sequence.sum())
        metrics = {
            "total_tokens": float(total),
            "mean_sequence_tokens": float(sequence.mean()) if data.n else float("nan"),
            "p95_sequence_tokens": float(np.percentile(sequence, 95)) if data.n else float("nan"),
            "max_sequence_tokens": float(sequence.max()) if data.n else float("nan"),
            "over_max_fraction": float("nan"), "n_over_max": float("nan"),
            "truncated_token_fraction": float("nan"), "response_lost_fraction": float("nan"),
        }
        findings: list[Finding] = []
        if not limit or not data.n:
            return metrics, findings
        over = np.flatnonzero(sequence > limit)
        cut = int(np.maximum(sequence - limit, 0).sum())
        metrics.update({"over_max_fraction": len(over) / data.n, "n_over_max": float(len(over)),
                        "truncated_token_fraction": cut / total if total else 0.0})
        lost = (np.flatnonzero(response_start >= limit) if response_start is not None
                else np.zeros(0, dtype=np.int64))
        metrics["response_lost_fraction"] = (len(lost) / data.n if response_start is not None
                                             else float("nan"))
        ids = data.ids
        if len(over):
            findings.append(Finding(
                check=self.name, code="over_max_tokens", severity=Severity.WARNING,
                message=f"{len(over)} records are longer than the {limit}-token context; "
                        f"truncation cuts {cut} of {total} tokens "
                        f"({cut / max(total, 1):.1%}), from the end",
                metric="over_max_fraction", value=metrics["over_max_fraction"],
                records=tuple(int(ids[i]) for i in over),
                record_values={"tokens": [int(sequence[i]) for i in over]}))
        if len(lost) and response_start is not None:
            findings.append(Finding(
                check=self.name, code="response_lost", severity=Severity.WARNING,
                message=f"{len(lost)} records fill the {limit}-token context before their "
                        "response starts: truncation leaves nothing to learn from",
                metric="response_lost_fraction", value=metrics["response_lost_fraction"],
                records=tuple(int(ids[i]) for i in lost),
                record_values={"tokens_before_response": [int(response_start[i])
                                                          for i in lost]}))
        return metrics, findings

