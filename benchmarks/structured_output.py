"""structured_output: speed on resume-extraction chat data, and detection quality per defect kind.

    python -m benchmarks.structured_output [--quick]

1. Speed: N (default 100k, --quick 20k) generated resume-extraction chat records (system + user
   resume + assistant JSON of ~1 KB with nested `experience[]`), defects planted at the rates of
   the quality set. Wall time and peak RSS of the check alone, in a forked child, after loading.
2. Quality: precision/recall per defect kind on a generated set (3,000 records, ~1% of records
   per kind, 30% with an empty `education`; kinds disjoint), plus a clean set as a false-positive
   control, and on sample_data/resumes_chat.jsonl against sample_data/manifest.json.
3. Real data: auto-detection on the real instruction datasets in ../shared/datasets (none is
   structured output, so none should be detected), and the flags on the code_alpaca records
   whose output is a JSON object or array (checked with expect_json; listed for hand review).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO_ROOT,
    markdown_table,
    measure_isolated,
    shared_datasets_dir,
    write_results,
)

SEED = 20240601
FIRST = ("Noah", "Zoe", "Omar", "Maria", "Raj", "Kofi", "Lena", "Ines", "Ana", "Yuki", "Tom",
         "Priya", "Lucas", "Amara", "Chen", "Sofia")
LAST = ("Okafor", "Dubois", "Silva", "Mensah", "Chen", "Tanaka", "Berg", "Costa", "Novak",
        "Smith", "Haddad", "Kowalski", "Ivanova", "Garcia", "Nair", "Johansson")
CITIES = ("Lyon, France", "Toronto, ON", "Seattle, WA", "Pune, India", "Austin, TX",
          "Lagos, Nigeria", "Denver, CO", "Osaka, Japan", "Leeds, UK", "Porto, Portugal")
OTHER_CITIES = ("Reykjavik, Iceland", "Perth, Australia", "Quito, Ecuador", "Tallinn, Estonia")
TITLES = ("Product Designer", "Accountant", "Teacher", "Data Analyst", "Backend Engineer",
          "Nurse", "Project Manager", "Marketing Lead")
COMPANIES = ("Initech", "Globex", "Umbrella Health", "Stark Logistics", "Hooli", "Acme Corp",
             "Wayne Foods", "Vandelay Imports")
SKILLS = ("Figma", "SQL", "Python", "tax filing", "curriculum design", "Excel", "Kubernetes",
          "stakeholder management", "Tableau", "patient care", "SEO", "Go", "budgeting",
          "user research", "AWS", "public speaking")
DEGREES = ("B.Sc. Economics", "M.Sc. Computer Science", "B.A. English", "B.Sc. Nursing",
           "MBA", "B.Eng. Civil Engineering")
SCHOOLS = ("McGill University", "TU Munich", "IIT Bombay", "University of Lagos",
           "University of Toronto", "Kyoto University")
SYSTEM = ("You extract structured data from resumes. Reply with JSON only, with the keys name, "
          "email, phone, location, title, years_experience, skills, education, experience, "
          "summary.")
KINDS = ("invalid_json", "python_literal", "code_fence", "leading_text", "trailing_text",
         "renamed_key", "missing_key", "extra_key", "mixed_types", "ungrounded", "empty_field")
#: finding codes that detect each planted kind
CODES = {"invalid_json": ("not_json",), "python_literal": ("python_literal",),
         "code_fence": ("code_fenced_json",), "leading_text": ("leading_text",),
         "trailing_text": ("trailing_text",), "renamed_key": ("renamed_key",),
         "missing_key": ("missing_key",), "extra_key": ("extra_key",),
         "mixed_types": ("mixed_types",), "ungrounded": ("ungrounded_values",),
         "empty_field": ("often_empty_field",)}
KIND_RATE = 0.01
EMPTY_RATE = 0.30


def _person(rng: random.Random, i: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    years = rng.randint(1, 25)
    jobs: list[dict[str, Any]] = []
    end = 2024
    for _ in range(3):
        start = end - rng.randint(1, 6)
        jobs.append({"company": rng.choice(COMPANIES), "title": rng.choice(TITLES),
                     "start": start, "end": end,
                     "highlights": f"Led {rng.randint(2, 40)} projects for {rng.choice(CITIES)}"})
        end = start - 1
    return {
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com",
        "phone": f"({rng.randint(200, 989)}) 555-{rng.randint(0, 9999):04d}",
        "location": rng.choice(CITIES),
        "title": jobs[0]["title"],
        "years_experience": years,
        "skills": rng.sample(SKILLS, 5),
        "education": f"{rng.choice(DEGREES)}, {rng.choice(SCHOOLS)}",
        "experience": jobs,
        "summary": f"A {jobs[0]['title'].lower()} with {years} years of experience in "
                   f"{rng.choice(SKILLS)} and {rng.choice(SKILLS)}.",
    }


def _resume(p: dict[str, Any]) -> str:
    jobs = "\n".join(f"- {j['title']}, {j['company']} ({j['start']}–{j['end']}): {j['highlights']}"
                     for j in p["experience"])
    return (f"Extract the fields from this resume:\n\n{p['name'].upper()}\n{p['location']}\n"
            f"{p['email']} | {p['phone']}\n\nEXPERIENCE\n{jobs}\n\nSKILLS\n"
            f"{', '.join(p['skills'])}\n\nEDUCATION\n{p['education']}\n\nREFERENCES\n"
            "Available on request. Happy to relocate; open to hybrid and remote roles.")


def _plant(kind: str, answer: dict[str, Any], rng: random.Random) -> str:
    """The assistant turn for an answer with one planted defect of `kind`."""
    a = dict(answer)
    if kind == "renamed_key":
        old, new = rng.choice((("email", "e-mail"), ("years_experience", "yearsExperience"),
                               ("education", "Education")))
        a = {(new if k == old else k): v for k, v in a.items()}
    elif kind == "missing_key":
        del a["phone"]
    elif kind == "extra_key":
        a["nationality"] = "unspecified"
    elif kind == "mixed_types":
        a["skills"] = ", ".join(a["skills"])
    elif kind == "ungrounded":
        a["location"] = rng.choice(OTHER_CITIES)
    elif kind == "empty_field":
        a["education"] = rng.choice(("", None, "N/A"))
    text = json.dumps(a, ensure_ascii=False)
    if kind == "invalid_json":
        return text[: int(len(text) * 0.7)]
    if kind == "python_literal":
        return repr(a)
    if kind == "code_fence":
        return "```json\n" + json.dumps(a, indent=2, ensure_ascii=False) + "\n```"
    if kind == "leading_text":
        return "Here is the extracted JSON:\n" + text
    if kind == "trailing_text":
        return text + "\n\nLet me know if you need anything else!"
    return text


def generate(n: int, seed: int = SEED, *, defects: bool = True
             ) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(chat record, planted kind or None) for n records, deterministic for `seed`."""
    rng = random.Random(seed)
    for i in range(n):
        person = _person(rng, i)
        kind = None
        if defects:
            u = rng.random()
            if u < EMPTY_RATE:
                kind = "empty_field"
            elif u < EMPTY_RATE + KIND_RATE * (len(KINDS) - 1):
                kind = KINDS[int((u - EMPTY_RATE) / KIND_RATE)]
        answer = _plant(kind, person, rng) if kind else json.dumps(person, ensure_ascii=False)
        yield ({"messages": [{"role": "system", "content": SYSTEM},
                             {"role": "user", "content": _resume(person)},
                             {"role": "assistant", "content": answer}]}, kind)


def write_jsonl(path: Path, n: int, seed: int = SEED, *, defects: bool = True) -> dict[str, list[int]]:
    truth: dict[str, list[int]] = {k: [] for k in KINDS}
    with path.open("w", encoding="utf-8") as out:
        for i, (record, kind) in enumerate(generate(n, seed, defects=defects)):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            if kind:
                truth[kind].append(i)
    return truth


def _load_only(path: str) -> int:
    from audit.load import load_dataset

    data = load_dataset(path)
    return len(data.prompts) + len(data.responses)  # the text columns the check reads


def _run(path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from audit.context import RunContext
    from audit.load import load_dataset
    from checks.structured.output import StructuredOutput

    started = time.perf_counter()
    data = load_dataset(path)
    ctx = RunContext(data)
    loaded = time.perf_counter()
    artifact_cpu = time.process_time()
    ctx.artifact("normalized_prompts")  # shared with other checks in a full audit
    artifact = time.perf_counter()
    cpu = time.process_time()
    measurement = StructuredOutput(**(params or {})).run(data, ctx)
    done = time.perf_counter()
    return {"load_s": loaded - started, "artifact_s": artifact - loaded,
            "artifact_cpu_s": cpu - artifact_cpu,
            "check_s": done - artifact, "check_cpu_s": time.process_time() - cpu,
            "metrics": dict(measurement.metrics), "details": dict(measurement.details),
            "findings": [(f.code, f.records, f.n_records, dict(f.details))
                         for f in measurement.findings]}


def _flagged(result: dict[str, Any], codes: tuple[str, ...]) -> set[int]:
    return {r for code, records, _, _ in result["findings"] if code in codes for r in records}


def _precision_recall(flagged: set[int], planted: set[int]) -> tuple[float, float]:
    hit = len(flagged & planted)
    precision = hit / len(flagged) if flagged else (1.0 if not planted else 0.0)
    recall = hit / len(planted) if planted else float("nan")
    return precision, recall


def speed(n: int, workdir: Path) -> str:
    path = workdir / f"resumes_{n}.jsonl"
    write_jsonl(path, n)
    size_mb = path.stat().st_size / 2**20
    baseline = measure_isolated(_load_only, str(path))
    measured = measure_isolated(_run, str(path))
    r = measured.value
    total = r["artifact_s"] + r["check_s"]
    rows = [[f"{n:,}", f"{size_mb:.0f}", f"{r['load_s']:.1f}",
             f"{r['artifact_s']:.2f} ({r['artifact_cpu_s']:.2f})",
             f"{r['check_s']:.2f} ({r['check_cpu_s']:.2f})", f"{total:.2f}",
             f"{baseline.peak_rss_mb:,.0f}", f"{measured.peak_rss_mb:,.0f}"]]
    return ("## Speed\n\nGenerated resume-extraction chat records (answers ~1 KB of JSON with "
            "nested `experience[]`; defects planted as in the quality set), each measured in a "
            "forked child. `normalized_prompts` is the shared artifact the grounding reads (a "
            "full audit computes it once for several checks); `check` is the check itself after "
            "it (wall and CPU seconds; wall is inflated when other processes share the cores). "
            "Peak RSS: loading alone (reading prompts and responses) vs loading + artifact + "
            "check.\n\n"
            + markdown_table(["records", "file MB", "load s", "normalized_prompts s (CPU s)",
                              "check s (CPU s)", "artifact + check s", "peak RSS MB, load",
                              "peak RSS MB, load + check"], rows))


def quality(n: int, workdir: Path) -> str:
    path = workdir / "quality.jsonl"
    truth = write_jsonl(path, n, seed=SEED + 1)
    result = _run(str(path))
    rows = []
    for kind in KINDS:
        planted = set(truth[kind])
        flagged = _flagged(result, CODES[kind])
        p, r = _precision_recall(flagged, planted)
        rows.append([kind, len(planted), len(flagged), f"{p:.3f}", f"{r:.3f}"])
    clean_path = workdir / "clean.jsonl"
    write_jsonl(clean_path, n, seed=SEED + 2, defects=False)
    clean = _run(str(clean_path))
    clean_codes = sorted({code for code, *_ in clean["findings"]})
    metrics = result["metrics"]
    planted_extra = set(truth["extra_key"])
    request = [f"`{code}` `{details['field']}` ({count} records, "
               f"{len(set(records) & planted_extra)} of them planted extra_key)"
               for code, records, count, details in result["findings"]
               if code in ("unrequested_field", "default_filled_field")]
    out = [f"## Detection on generated data ({n:,} records)\n",
           f"About {KIND_RATE:.0%} of records per kind, {EMPTY_RATE:.0%} with an empty `education`"
           " (\"\", null or \"N/A\"); kinds are disjoint. Precision/recall at record level "
           "(finding record ids vs planted ids).\n",
           markdown_table(["planted kind", "planted", "flagged", "precision", "recall"], rows),
           "\nMetrics on this set: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()),
           "\nRequest test (unrequested and default-filled fields; benchmarks/grounding.py "
           "measures it): " + ("; ".join(request) or "no findings") + ". The planted extra key "
           "`nationality` is never asked for and always `\"unspecified\"`: a default.",
           f"\nFalse-positive control: the same generator without defects ({n:,} records) gives "
           f"{len(clean['findings'])} findings ({', '.join(clean_codes) or 'none'}); "
           f"generated fields (not flagged): {clean['details'].get('generated_fields')}."]
    return "\n".join(out)


def sample_data() -> str:
    manifest_path = REPO_ROOT / "sample_data" / "manifest.json"
    path = REPO_ROOT / "sample_data" / "resumes_chat.jsonl"
    if not manifest_path.exists() or not path.exists():
        return "## sample_data\n\nsample_data/manifest.json not found; skipped."
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = manifest.get("files", manifest)["resumes_chat.jsonl"]
    result = _run(str(path))
    codes = {"structured_output:empty_field": ("often_empty_field",),
             "structured_output:ungrounded": ("ungrounded_values",),
             "structured_output:schema_deviation": ("renamed_key", "missing_key", "extra_key"),
             "structured_output:invalid_json": ("not_json",),
             "structured_output:python_literal": ("python_literal",),
             "structured_output:code_fence": ("code_fenced_json", "bare_json")}
    copies = {}  # exact-duplicate targets: record -> the record it is a copy of
    for item in entry["planted"]:
        if item["defect"] == "exact_duplicates" and len(item["records"]) == 2:
            source, target = item["records"]
            if "is a copy of record" in item.get("detail", ""):
                target, source = (int(x) for x in item["detail"].replace("record ", "")
                                  .split(" is a copy of "))
            copies[target] = source
    rows = []
    for item in entry["planted"]:
        if item["defect"] not in codes:
            continue
        planted = set(item["records"])
        flagged = _flagged(result, codes[item["defect"]])
        p, r = _precision_recall(flagged, planted)
        extra = [f"{i} (copy of {copies[i]})" if copies.get(i) in planted else str(i)
                 for i in sorted(flagged - planted)[:8]]
        rows.append([item["defect"], len(planted), len(flagged), f"{p:.3f}", f"{r:.3f}",
                     ", ".join(extra) or "-"])
    return ("## sample_data/resumes_chat.jsonl (manifest)\n\n"
            + markdown_table(["planted defect", "planted", "flagged", "precision", "recall",
                              "flagged, not in manifest"], rows)
            + "\n\nA record flagged but not in the manifest that is an exact-duplicate copy of a "
            "planted record carries the same defect (the generator copies records after planting)."
            + "\n\nFindings: " + "; ".join(f"{code} ({n})" for code, _, n, _ in result["findings"]))


def real_data() -> str:
    root = shared_datasets_dir()
    if root is None:
        return "## Real data\n\n../shared/datasets not available; skipped."
    files = ("code_alpaca/code_alpaca_2k.json", "code_alpaca/new_codealpaca.json",
             "dolly_alpagasus_filtered_3k/dolly_3k.json",
             "gsm8k_train_alpaca_format/gsm_8k_train.json")
    rows: list[list[Any]] = []
    for name in files:
        path = root / name
        if not path.exists():
            continue
        try:
            r = _run(str(path))
        except Exception as exc:  # a dataset the loader cannot read is reported, not fatal
            rows.append([name, "-", "-", f"not loaded: {type(exc).__name__}"])
            continue
        rows.append([name, f"{r['metrics']['json_share']:.3f}", r["details"].get("structured"),
                     len(r["findings"])])
    out = ["## Real data (../shared/datasets)\n",
           "Auto-detection: none of these is structured output, so none should be detected.\n",
           markdown_table(["dataset", "json_share", "detected as structured", "findings"], rows)]
    source = root / "code_alpaca" / "code_alpaca_2k.json"
    if source.exists():
        records = json.loads(source.read_text(encoding="utf-8"))
        subset = [r for r in records if r["output"].strip()[:1] in ("{", "[")]
        with tempfile.TemporaryDirectory() as tmp:
            sub = Path(tmp) / "json_outputs.jsonl"
            sub.write_text("".join(json.dumps(r) + "\n" for r in subset), encoding="utf-8")
            r = _run(str(sub), {"expect_json": True})
        lines = []
        for code, records_, n, details in r["findings"]:
            examples = details.get("examples") or details.get("key") or details.get("field") or ""
            lines.append(f"- `{code}` ({n}): records {list(records_)[:10]} {str(examples)[:300]}")
        out += [f"\ncode_alpaca_2k records whose output starts with `{{` or `[` ({len(subset)}), "
                "checked with expect_json = true (record ids are positions in that subset):\n",
                "\n".join(lines) or "no findings",
                "\nHand review of these flags (2026-11-29, all 12 flagged records read): every "
                "flag is factually right: record 18 is a regex, not JSON; 17, 22 and 24 are Python "
                "literals (24 was asked for a Python dict); 7 and 13 put prose after a JSON list; "
                "5 root objects among 23 root lists; record 10 invents the name 'John' that is not "
                "in its prompt (the task asks for a new object), and, since numbers are grounded "
                "too (2026-11-30), its age 25 while the prompt's example has 22. This set is not an "
                "extraction dataset, so these are facts about the text rather than training "
                "defects; the auto-detection above correctly leaves such datasets alone."]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k records for the speed run")
    parser.add_argument("--n", type=int, default=None, help="records for the speed run")
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sections = [speed(n, workdir), quality(3_000, workdir), sample_data(), real_data()]
    text = "# structured_output\n\n" + "\n\n".join(sections)
    path = write_results("structured_output", text)
    print(text)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
