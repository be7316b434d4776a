"""A Hugging Face dataset card (README.md) from an audit result and, optionally, a fix log.

The YAML header holds only what the audit knows: the license when the caller gives it (the
result does not record one), the languages the `language` check found, task categories from
the record schema, the size category from the record count, and a pretty name (given, or the
file name). The sections (summary, structure, composition, known issues and biases, cleaning
applied, fine-tune or contextual input, how the audit was run) state the audit's figures; a
section the audit has no data for says so instead of guessing. Every text that can come from
the dataset (file names, field names, labels, finding messages, advice quoting records) is
escaped for Markdown and HTML, and the header is written as JSON-quoted YAML scalars, so a
dataset cannot break the card's markup or its YAML.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from audit.result import AuditResult, CheckResult, Status
from reports.markdown_report import escape_md

RAN = (Status.PASSED, Status.WARNED, Status.FAILED)
#: Hugging Face task category per record schema
TASKS = {"chat": "text-generation", "sharegpt": "text-generation", "alpaca": "text-generation",
         "prompt_completion": "text-generation", "prompt_response": "text-generation",
         "question_answer": "question-answering", "text_label": "text-classification",
         "text": "text-generation", "custom": "text-generation"}
#: task types of `task_coverage` that are Hugging Face task categories of their own
TASK_TYPE_CATEGORIES = {"summarization": "summarization", "translation": "translation"}
#: share of records from which a task type or a language is listed in the header
MIN_SHARE = 0.05
#: Hugging Face size categories: (upper bound, name)
SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"),
         (1_000_000_000, "100M<n<1B"), (10_000_000_000, "1B<n<10B"))
BIAS_CATEGORIES = ("bias",)
MAX_FINDINGS = 5
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NO_DATA = "_Not measured by this audit._"


def size_category(n: int) -> str:
    return next((name for bound, name in SIZES if n < bound), "n>10B")


def task_categories(result: AuditResult) -> list[str]:
    out = [TASKS[result.dataset.schema]] if result.dataset.schema in TASKS else []
    coverage = _ran(result, "task_coverage")
    if coverage is not None and coverage.details.get("source") != "labels":
        distribution = coverage.details.get("distribution") or {}
        for task, category in TASK_TYPE_CATEGORIES.items():
            share = (distribution.get(task) or {}).get("share")
            if isinstance(share, (int, float)) and share >= MIN_SHARE and category not in out:
                out.append(category)
    return out


def languages(result: AuditResult) -> list[str]:
    """Languages of at least `MIN_SHARE` of the records, per the `language` check."""
    check = _ran(result, "language")
    if check is None:
        return []
    counts = check.details.get("languages")
    if not isinstance(counts, Mapping) or not counts:
        main = check.details.get("main_language")
        return [main] if isinstance(main, str) and main not in ("und", "") else []
    total = sum(v for v in counts.values() if isinstance(v, (int, float)))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [code for code, count in ranked if isinstance(code, str) and code not in ("und", "")
            and total and count / total >= MIN_SHARE]


def pretty_name(result: AuditResult) -> str:
    name = Path(result.dataset.source).name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    return name or result.dataset.source


def render_card(result: AuditResult, *, changes: Sequence[Mapping[str, Any]] | None = None,
                license: str | None = None, name: str | None = None,
                languages_given: Sequence[str] = ()) -> str:
    """The dataset card as Markdown with a YAML header."""
    title = name or pretty_name(result)
    langs = list(languages_given) or languages(result)
    parts = [_header(result, title, license, langs), f"# Dataset card for {escape_md(title)}", ""]
    for section in (_summary(result, license, langs), _structure(result), _composition(result),
                    _issues(result), _cleaning(changes), _advice(result), _how(result)):
        parts += [*section, ""]
    return "\n".join(parts).rstrip() + "\n"


# -- header -------------------------------------------------------------------------------------
def _header(result: AuditResult, title: str, license: str | None,
            langs: Sequence[str]) -> str:
    lines = ["---"]
    if license:
        lines.append(f"license: {_yaml(license)}")
    if langs:
        lines += ["language:", *(f"- {_yaml(code)}" for code in langs)]
    tasks = task_categories(result)
    if tasks:
        lines += ["task_categories:", *(f"- {_yaml(t)}" for t in tasks)]
    lines += ["size_categories:", f"- {_yaml(size_category(result.dataset.n_records))}",
              f"pretty_name: {_yaml(title)}", "tags:", "- \"ft-audit\"", "---", ""]
    return "\n".join(lines)


def _yaml(value: str) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML (no tags, anchors or
    multi-line surprises, whatever the text)."""
    return json.dumps(str(value), ensure_ascii=True)


# -- sections -----------------------------------------------------------------------------------
def _summary(result: AuditResult, license: str | None, langs: Sequence[str]) -> list[str]:
    info = result.dataset
    verdict = "GO" if result.verdict.go else "NO-GO"
    lines = ["## Dataset summary", "",
             f"{info.n_records:,} records in the {_code(info.schema)} schema, read from "
             f"{_code(Path(info.source).name)}"
             + (f" ({info.n_skipped:,} unreadable records left out)" if info.n_skipped else "")
             + f". Audited with ft-audit {escape_md(result.tool_version)}: verdict "
             f"**{verdict}**."]
    shown_license = escape_md(license) if license else "not stated (the audit does not record one)"
    shown_langs = ", ".join(escape_md(c) for c in langs) if langs else \
        "not measured (no language check in this audit)"
    lines += ["", f"- License: {shown_license}", f"- Languages: {shown_langs}"]
    if result.verdict.reasons:
        lines += ["", "Why the verdict:", "",
                  *(f"1. {escape_md(r)}" for r in result.verdict.reasons[:10])]
    return lines


def _structure(result: AuditResult) -> list[str]:
    info = result.dataset
    lines = ["## Dataset structure", "", "### Fields", ""]
    fields = {k: v for k, v in info.fields.items()}
    if fields:
        lines += ["| role | field in the data |", "|---|---|"]
        for role, column in fields.items():
            shown = ", ".join(map(str, column)) if isinstance(column, list) else str(column)
            lines.append(f"| {escape_md(role)} | {_code(shown, table=True)} |")
    else:
        lines.append("_The result records no field mapping._")
    lines += ["", "### Schema", "",
              f"Record schema: {_code(info.schema)} (as detected or set when the audit "
              "ran)."]
    structured = _ran(result, "structured_output")
    if structured is not None and structured.details.get("structured"):
        keys = structured.details.get("majority_keys") or []
        lines += ["", "Responses are structured output (JSON). Keys most responses have: "
                  + (", ".join(_code(k) for k in keys) if keys else "none") + "."]
        table = structured.details.get("fields") or []
        if table:
            lines += ["", "| field | type | present | empty |", "|---|---|---|---|"]
            for row in [r for r in table if r.get("field") != "$"][:30]:
                lines.append(f"| {_code(row.get('field'), table=True)} | "
                             f"{escape_md(row.get('dominant_type'))} | "
                             f"{_pct(row.get('present_rate'))} | {_pct(row.get('empty_rate'))} |")
    elif structured is not None:
        lines += ["", "Responses are not structured output (the structured_output check found "
                  "too few JSON responses)."]
    return lines


def _composition(result: AuditResult) -> list[str]:
    info = result.dataset
    lines = ["## Composition", "", f"- Records: {info.n_records:,}"]
    if info.n_skipped:
        lines.append(f"- Unreadable records left out: {info.n_skipped:,}")
    if info.splits:
        lines.append("- Splits: " + ", ".join(f"{escape_md(k or '(none)')} {v:,}"
                                               for k, v in info.splits.items()))
    if result.eval_dataset is not None:
        lines.append(f"- Evaluation set audited with it: {result.eval_dataset.n_records:,} "
                     f"records ({_code(Path(result.eval_dataset.source).name)})")
    tokens = _ran(result, "token_lengths")
    if tokens is not None and _finite(tokens.metrics.get("total_tokens")):
        estimated = " (estimated, no tokenizer given)" if tokens.details.get("estimated") else ""
        lines.append(f"- Tokens: {int(tokens.metrics['total_tokens']):,} in total, "
                     f"{tokens.metrics.get('mean_sequence_tokens', math.nan):.0f} per record on "
                     f"average{estimated}")
    balance = _ran(result, "class_balance")
    counts = balance.details.get("counts") if balance is not None else None
    lines += ["", "### Class balance", ""]
    if isinstance(counts, Mapping) and counts:
        total = sum(counts.values())
        lines += ["| label | records | share |", "|---|---|---|"]
        for label, count in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))):
            lines.append(f"| {escape_md(label)} | {count:,} | {_pct(count / total)} |")
        ratio = balance.metrics.get("imbalance_ratio") if balance is not None else None
        if _finite(ratio):
            lines += ["", f"Imbalance ratio (largest / smallest class): {ratio:.2f}."]
    else:
        lines.append("_No labels, or class balance was not measured._")
    coverage = _ran(result, "task_coverage")
    distribution = coverage.details.get("distribution") if coverage is not None else None
    lines += ["", "### Task types", ""]
    if isinstance(distribution, Mapping) and distribution:
        source = coverage.details.get("source") if coverage is not None else None
        if source == "labels":
            lines += ["The task types are the labels (see the class balance above)."]
            distribution = {}
        else:
            lines += [f"Read from: {escape_md(source or 'the prompts')}.", "",
                      "| task type | records | share |", "|---|---|---|"]
        for task, row in list(distribution.items())[:20]:
            if isinstance(row, Mapping):
                lines.append(f"| {escape_md(task)} | {row.get('count', 0):,} | "
                             f"{_pct(row.get('share'))} |")
    else:
        lines.append(NO_DATA)
    return lines


def _issues(result: AuditResult) -> list[str]:
    lines = ["## Known issues and biases", ""]
    flagged = [c for c in result.checks if c.status in (Status.WARNED, Status.FAILED)
               and c.category not in BIAS_CATEGORIES]
    if flagged:
        lines += ["| check | status | measure | threshold | records flagged |",
                  "|---|---|---|---|---|"]
        for check in sorted(flagged, key=lambda c: (c.status != Status.FAILED, c.name)):
            lines.append(_issue_row(check))
        lines += [""]
        for check in sorted(flagged, key=lambda c: (c.status != Status.FAILED, c.name)):
            messages = _messages(check)
            if messages:
                lines += [f"**{escape_md(check.name)}**", "", *messages, ""]
    else:
        lines += ["No check outside the bias checks warned or failed.", ""]
    lines += ["### Biases", ""]
    bias = [c for c in result.checks if c.category in BIAS_CATEGORIES]
    ran = [c for c in bias if c.status in RAN]
    if ran:
        lines += ["| check | status | measure | threshold | records flagged |",
                  "|---|---|---|---|---|"]
        lines += [_issue_row(c) for c in ran]
        lines.append("")
        for check in ran:
            messages = _messages(check) if check.status != Status.PASSED else []
            if messages:
                lines += [f"**{escape_md(check.name)}**", "", *messages, ""]
    else:
        lines += [NO_DATA, ""]
    not_run = [c for c in result.checks if c.status in (Status.SKIPPED, Status.ERRORED)]
    if not_run:
        lines += ["### Not measured", "",
                  *(f"- {escape_md(c.name)}: {escape_md(c.status.value)} "
                    f"({escape_md(c.skipped_reason or c.error or 'no reason given')})"
                    for c in not_run), ""]
    return lines[:-1] if lines[-1] == "" else lines


def _issue_row(check: CheckResult) -> str:
    metric = check.deciding_metric
    value = check.metrics.get(metric) if metric else None
    threshold = next((t for t in check.thresholds if t.metric == metric), None)
    bound = ""
    if threshold is not None:
        sign = "≤" if threshold.direction == "max" else "≥"
        limits = [f"warn {threshold.warn:g}" if threshold.warn is not None else "",
                  f"fail {threshold.fail:g}" if threshold.fail is not None else ""]
        bound = f"{sign} " + ", ".join(x for x in limits if x)
    records = len({r for f in check.findings for r in f.records})
    measure = f"{escape_md(metric)} = {_num(value)}" if metric else "-"
    return (f"| {escape_md(check.name)} | {check.status.value} | {measure} | "
            f"{escape_md(bound) or '-'} | {records:,} |")


def _messages(check: CheckResult) -> list[str]:
    ranked = sorted(check.findings, key=lambda f: (-int(f.severity), -f.n_records, f.code))
    out = [f"- {escape_md(f.message)}" for f in ranked[:MAX_FINDINGS]]
    if len(ranked) > MAX_FINDINGS:
        out.append(f"- … and {len(ranked) - MAX_FINDINGS} more findings (see the audit result)")
    return out


def _cleaning(changes: Sequence[Mapping[str, Any]] | None) -> list[str]:
    lines = ["## Cleaning applied", ""]
    if changes is None:
        return [*lines, "_No changes log was given, so this card does not say whether or how "
                        "the data was cleaned._"]
    if not changes:
        return [*lines, "`ft-audit fix` ran and changed nothing."]
    counts: Counter[tuple[str, str, str]] = Counter()
    records: dict[str, set[int]] = {"drop": set(), "edit": set()}
    for row in changes:
        action = str(row.get("action"))
        counts[(action, str(row.get("check")), str(row.get("code")))] += 1
        records["drop" if action == "drop" else "edit"].add(int(row.get("id", -1)))
    edited = records["edit"] - records["drop"]
    lines += [f"Cleaned with `ft-audit fix`: {len(records['drop']):,} records dropped, "
              f"{len(edited):,} edited (every change is listed in the changes log, with the "
              "content hash of each record before and after).", "",
              "| action | check | finding | records |", "|---|---|---|---|"]
    for (action, check, code), count in sorted(counts.items(),
                                               key=lambda kv: (kv[0][0] != "drop", kv[0])):
        lines.append(f"| {escape_md(action)} | {escape_md(check)} | {escape_md(code)} | "
                     f"{count:,} |")
    return lines


def _advice(result: AuditResult) -> list[str]:
    lines = ["## Fine-tune or contextual input", ""]
    check = _ran(result, "fit_advisory")
    if check is None:
        return [*lines, NO_DATA]
    recommendation = check.details.get("recommendation")
    score = check.metrics.get("fine_tune_score")
    lines.append(f"Recommendation: **{escape_md(recommendation or 'none')}**"
                 + (f" (fine-tune score {score:.2f})" if _finite(score) else "") + ".")
    reasons = check.details.get("reasons") or []
    if reasons:
        lines += ["", *(f"- {escape_md(r)}" for r in reasons[:10])]
    signals = check.details.get("signals") or []
    if signals:
        lines += ["", "| signal | value | points to |", "|---|---|---|"]
        for signal in signals:
            if isinstance(signal, Mapping):
                lines.append(f"| {escape_md(signal.get('signal'))} | {_num(signal.get('value'))} "
                             f"| {escape_md(signal.get('direction'))} |")
    return lines


def _how(result: AuditResult) -> list[str]:
    ran = [c for c in result.checks if c.status in RAN]
    config = json.dumps(result.config, indent=2, ensure_ascii=False, sort_keys=True)
    fence = "```"
    while fence in config:
        fence += "`"
    lines = ["## How the audit was run", "",
             f"- Tool: ft-audit {escape_md(result.tool_version)}",
             f"- Seed: {result.seed}",
             f"- Checks: {len(result.checks)} ({len(ran)} ran, "
             f"{len(result.checks) - len(ran)} skipped or errored)",
             f"- Dataset fingerprint: {_code(result.dataset.fingerprint)}",
             f"- Duration: {result.duration_s:.1f} s",
             "", "Config:", "", f"{fence}json", config, fence]
    return lines


# -- helpers ------------------------------------------------------------------------------------
def _code(text: Any, *, table: bool = False) -> str:
    """`text` as a Markdown code span: nothing inside is markup or HTML; a table cell's pipes
    are escaped (GitHub tables split cells on them even inside code)."""
    value = " ".join(_CONTROL.sub(" ", str(text)).split()) or " "
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    if table:
        value = value.replace("|", "\\|")
    return f"{fence}{pad}{value}{pad}{fence}"


def _ran(result: AuditResult, name: str) -> CheckResult | None:
    for check in result.checks:
        if check.name == name:
            return check if check.status in RAN else None
    return None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any) -> str:
    if not _finite(value):
        return "n/a"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if _finite(value) else "n/a"

