"""`fit_advisory`: fine-tune, contextual input (retrieval), or both, judged from the data alone.

Advice, not a gate: the check has no default thresholds, so it always passes unless a config
thresholds one of its metrics.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from audit.check import Check, Need, param
from audit.context import RunContext
from audit.dataset import DatasetView
from audit.registry import register
from audit.result import Finding, Measurement, Severity
from checks.shared.corpus import corpus_for, load_json_lexicon, sample_positions
from checks.shared.text import words

LEXICONS = Path(__file__).resolve().parent / "lexicons"

FINE_TUNE, CONTEXT, BOTH, NEUTRAL = "fine-tune", "context", "both", "neutral"
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)


def volatile_patterns() -> dict[str, str]:
    """One RE2-compatible pattern per volatile-knowledge kind, matching whole words (a cue must
    not start or end inside a word; symbols such as '$' may start one)."""
    raw = load_json_lexicon(LEXICONS / "volatile.json")["patterns"]
    return {kind: r"(?:^|\W)(?:" + "|".join(items) + r")(?:$|\W)" for kind, items in raw.items()}


def response_shape(text: str) -> str:
    """A coarse output shape: json, code, list, label (<= 3 words), short (<= 30 words), prose."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            json.loads(stripped)
            return "json"
        except ValueError:
            pass
    if "```" in stripped or stripped.startswith(("def ", "import ", "SELECT ", "<")):
        return "code"
    if len(_LIST_LINE.findall(stripped)) >= 2:
        return "list"
    n_words = len(words(stripped))
    return "label" if n_words <= 3 else "short" if n_words <= 30 else "prose"


@dataclass(frozen=True)
class Signal:
    name: str
    value: float
    direction: str  # fine-tune / context / both / neutral
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"signal": self.name, "value": round(self.value, 4), "direction": self.direction,
                "reason": self.reason}


@register
class FitAdvisory(Check):
    """Advice: fine-tune, give the model contextual input (retrieval), or both — and why.

    Fine-tuning teaches behaviour that is stable: a consistent output format, a domain's
    vocabulary and style, from enough varied examples. It is the wrong tool for knowledge that
    changes (dates, prices, versions, "latest/current") or when there are few examples: that
    belongs in the prompt or a retrieval step. Each signal is reported with its value and the
    direction it points; the recommendation follows the balance. Advice only: no default
    thresholds, but every signal is a metric a config can threshold.
    """

    name = "fit_advisory"
    category = "advisory"
    uses = frozenset({"diversity_tokens", "normalized_prompts"})
    requires = frozenset({Need.RESPONSE})
    metrics = ("fine_tune_score", "distinct_prompts", "structured_output_fraction",
               "format_consistency", "vocabulary_coverage", "volatile_fraction",
               "grounded_fraction")
    default_thresholds = ()

    @dataclass(frozen=True)
    class Params:
        max_records: int = param(20_000, ge=100, doc="records sampled (seeded) for the "
                                 "per-record signals")
        many_examples: int = param(1000, ge=1, doc="distinct prompts that count as enough")
        few_examples: int = param(200, ge=1, doc="distinct prompts that count as too few")
        volatile_share: float = param(0.15, gt=0, le=1, doc="share of records with volatile "
                                      "facts that points to context")
        format_share: float = param(0.7, gt=0, le=1, doc="share of the main output shape "
                                    "that points to fine-tuning")
        grounded_overlap: float = param(0.7, gt=0, le=1, doc="a response is grounded when this "
                                        "share of its words occur in its prompt/input")

    def run(self, data: DatasetView, ctx: RunContext) -> Measurement:
        p = self.params
        metrics = {m: float("nan") for m in self.metrics}
        if data.n == 0:
            return Measurement(metrics=metrics, details={"recommendation": "unknown"})
        rows = sample_positions(data.n, p.max_records, ctx.rng(self.name))
        responses = data.responses
        prompts = data.prompts if data.has_prompt else ("",) * data.n
        sample_responses = [responses[int(i)] for i in rows]
        signals = [
            self._examples(len(set(ctx.artifact("normalized_prompts", data)))),
            *self._format(sample_responses),
            self._vocabulary(data, ctx),
            self._grounding([prompts[int(i)] for i in rows], sample_responses),
        ]
        volatile, by_kind, volatile_rows = self._volatile(data)
        signals.append(volatile)
        for s in signals:
            metrics[s.name] = s.value
        pull_ft = sum(s.direction in (FINE_TUNE, BOTH) for s in signals)
        pull_ctx = sum(s.direction in (CONTEXT, BOTH) for s in signals)
        score = pull_ft / (pull_ft + pull_ctx) if pull_ft + pull_ctx else 0.5
        metrics["fine_tune_score"] = score
        recommendation = FINE_TUNE if score >= 2 / 3 else CONTEXT if score <= 1 / 3 else BOTH
        reasons = [s.reason for s in signals if s.direction != NEUTRAL]
        findings = [Finding(
            check=self.name, code=f"recommend_{recommendation.replace('-', '_')}",
            severity=Severity.INFO,
            message=f"recommendation: {recommendation} — " + "; ".join(reasons[:4]),
            metric="fine_tune_score", value=score)]
        if volatile.direction == CONTEXT:
            ids = data.ids
            findings.append(Finding(
                check=self.name, code="volatile_knowledge", severity=Severity.INFO,
                message=f"{volatile.value:.0%} of records state facts that change (dates, "
                        "prices, versions, 'latest/current'): supply them as context at "
                        "inference time rather than training them in",
                metric="volatile_fraction", value=volatile.value,
                records=tuple(int(ids[i]) for i in volatile_rows), n_records=len(volatile_rows),
                details={"by_kind": by_kind}))
        return Measurement(metrics=metrics, findings=tuple(findings), details={
            "recommendation": recommendation, "reasons": reasons,
            "signals": [s.to_dict() for s in signals], "volatile_by_kind": by_kind,
            "records": data.n, "sampled_records": len(rows), "sampled": len(rows) < data.n})

    def _examples(self, distinct: int) -> Signal:
        p = self.params
        if distinct >= p.many_examples:
            return Signal("distinct_prompts", distinct, FINE_TUNE,
                          f"{distinct} distinct prompts: enough examples to fine-tune on")
        if distinct < p.few_examples:
            return Signal("distinct_prompts", distinct, CONTEXT,
                          f"only {distinct} distinct prompts: too few to fine-tune reliably; "
                          "use them as few-shot examples in context")
        return Signal("distinct_prompts", distinct, NEUTRAL, f"{distinct} distinct prompts")

    def _format(self, responses: Sequence[str]) -> list[Signal]:
        shapes = Counter(response_shape(r) for r in responses)
        total = max(1, sum(shapes.values()))
        structured = (shapes["json"] + shapes["code"]) / total
        main, main_n = max(shapes.items(), key=lambda kv: (kv[1], kv[0]), default=("prose", 0))
        consistency = main_n / total
        return [
            Signal("structured_output_fraction", structured,
                   FINE_TUNE if structured >= 0.5 else NEUTRAL,
                   f"{structured:.0%} of responses are JSON or code: a consistent structured "
                   "output that fine-tuning teaches well"),
            Signal("format_consistency", consistency,
                   FINE_TUNE if consistency >= self.params.format_share else NEUTRAL,
                   f"{consistency:.0%} of responses share one shape ({main}): a stable format "
                   "and style to learn"),
        ]

    def _vocabulary(self, data: DatasetView, ctx: RunContext) -> Signal:
        """Share of the words of one half of the responses already used in the other half."""
        corpus = corpus_for(data, ctx, "response", self.params.max_records)
        half = corpus.n_records // 2
        split = int(corpus.offsets[half])
        first, second = corpus.ids[:split], corpus.ids[split:]
        coverage = float(np.isin(second, first).mean()) if len(first) and len(second) else 0.0
        direction = FINE_TUNE if coverage >= 0.95 else CONTEXT if coverage < 0.9 else NEUTRAL
        return Signal("vocabulary_coverage", coverage, direction,
                      f"{coverage:.0%} of response words in one half of the data occur in the "
                      "other: " + ("a stable domain vocabulary" if direction == FINE_TUNE else
                                   "an open-ended vocabulary (broad knowledge)"
                                   if direction == CONTEXT else "a moderately stable vocabulary"))

    def _grounding(self, prompts: Sequence[str], responses: Sequence[str]) -> Signal:
        grounded = 0
        for prompt, response in zip(prompts, responses, strict=True):
            answer = words(response)
            if answer and prompt:
                source = set(words(prompt))
                grounded += sum(w in source for w in answer) / len(answer) >= \
                    self.params.grounded_overlap
        fraction = grounded / max(1, len(responses))
        return Signal("grounded_fraction", fraction, BOTH if fraction >= 0.3 else NEUTRAL,
                      f"{fraction:.0%} of responses are drawn from their prompt/input: the task "
                      "reads supplied context, so keep supplying it and fine-tune the behaviour")

    def _volatile(self, data: DatasetView) -> tuple[Signal, dict[str, float], list[int]]:
        """Records asking for or stating facts that change: 'latest/current' in the prompt or
        response, or dates, prices and versions that the response states without the prompt
        supplying them (a price given in a maths problem is not knowledge to memorise)."""
        response = pc.fill_null(data.column("response"), "")
        prompt = pc.fill_null(data.column("prompt"), "") if data.has_prompt else None
        hit = np.zeros(data.n, dtype=bool)
        by_kind = {}
        for kind, pattern in volatile_patterns().items():
            mask = _matches(response, pattern)
            if prompt is not None:
                in_prompt = _matches(prompt, pattern)
                mask = mask | in_prompt if kind == "temporal" else mask & ~in_prompt
            by_kind[kind] = round(float(mask.mean()), 4)
            hit |= mask
        fraction = float(hit.mean())
        direction = CONTEXT if fraction >= self.params.volatile_share else NEUTRAL
        return (Signal("volatile_fraction", fraction, direction,
                       f"{fraction:.0%} of records ask for 'latest/current' facts or state "
                       "dates, prices or versions the prompt does not give: facts that change "
                       "belong in context or retrieval"),
                by_kind, np.flatnonzero(hit).tolist())


def _matches(column: Any, pattern: str) -> np.ndarray:
    match = pc.match_substring_regex(column, pattern, ignore_case=True)
    return np.asarray(match.to_numpy(zero_copy_only=False), dtype=bool)
