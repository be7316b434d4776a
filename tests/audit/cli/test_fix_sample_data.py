"""Re-audit proves it: `ft-audit fix` with the default policy on the sample data, audited again.

Every metric the policy acts on passes its thresholds on the cleaned data, no other check gets
worse, the planted defects the policy covers are gone (the manifest's records), and no record
the manifest leaves clean is changed (except near-duplicates the manifest does not list).

One trade-off is measured, not hidden: masking PII puts one placeholder per type where each
record had its own value, so on `resumes_chat` (a phone number in every record) the diversity
and memorisation checks see more repetition. The same fix without masking makes nothing worse.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from audit.cli.fix import FixOutcome, fix_dataset
from audit.cli.fix_policy import FixPolicy, default_policy, policy_from_dict
from audit.config import Config
from audit.result import AuditResult, Status
from audit.runner import run_audit
from benchmarks.fix import EVAL, score_sample

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data"
FILES = ("support_alpaca.jsonl", "resumes_chat.jsonl", "reviews_classification.jsonl")
RANK = {Status.PASSED: 0, Status.WARNED: 1, Status.FAILED: 2}
#: categories whose measures read repetition: masking with typed placeholders adds some
MASKING_SENSITIVE = ("diversity", "overfitting")
#: planted records the default policy leaves, and why (each is an opt-in or a documented limit)
EXPECTED_MISSES = {
    ("support_alpaca.jsonl", "pii"): [143, 413, 462],  # documentation values: placeholder_pii
    ("support_alpaca.jsonl", "placeholder_responses"): [270],  # "None": possible placeholder
    # 16-word spans shared with ~45 templated training records: n-gram leaks (opt-in kind),
    # and the check names another training copy first
    ("support_alpaca.jsonl", "eval_leakage"): [395, 159, 185, 314],
}

Run = tuple[AuditResult, FixOutcome, AuditResult]


def audit(path: Path, name: str) -> AuditResult:
    eval_name = EVAL.get(name)
    return run_audit(path, Config(), eval=SAMPLE / eval_name if eval_name else None)


def fix_and_reaudit(name: str, folder: Path, policy: FixPolicy,
                    before: AuditResult | None = None) -> Run:
    before = before or audit(SAMPLE / name, name)
    out = folder / name
    eval_name = EVAL.get(name)
    outcome = fix_dataset(SAMPLE / name, out, policy=policy, config=Config(), result=before,
                          eval=SAMPLE / eval_name if eval_name else None)
    return before, outcome, audit(out, name)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    folder = tmp_path_factory.mktemp("fixed")
    return {name: fix_and_reaudit(name, folder, default_policy()) for name in FILES}


def masked_share(outcome: FixOutcome) -> float:
    masked = {r["id"] for r in outcome.log if r["action"] == "mask_pii"}
    return len(masked) / outcome.n_records


@pytest.mark.parametrize("name", FILES)
def test_every_metric_the_policy_acts_on_passes(runs: dict[str, Run], name: str) -> None:
    before, _, after = runs[name]
    checked = 0
    for check_name, metric in default_policy().acts_on():
        old = next(c for c in before.checks if c.name == check_name)
        new = next(c for c in after.checks if c.name == check_name)
        if old.status not in RANK:
            continue  # the check does not apply to this data (e.g. no eval set, no response)
        assert new.status in RANK, (check_name, new.status, new.skipped_reason, new.error)
        value = new.metrics[metric]
        if math.isnan(value):  # not applicable (e.g. responses that are not JSON) ...
            assert math.isnan(old.metrics[metric]), (check_name, metric)  # ... before too
            continue
        target = 1.0 if metric == "n_no_input_variants" else 0.0
        assert value <= target, (name, check_name, metric, value)
        for threshold in new.thresholds:
            if threshold.metric == metric:
                assert threshold.outcome(value) == Status.PASSED, (check_name, metric, value)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("name", FILES)
def test_nothing_else_got_worse(runs: dict[str, Run], name: str) -> None:
    before, outcome, after = runs[name]
    exempt = MASKING_SENSITIVE if masked_share(outcome) > 0.5 else ()
    assert (name == "resumes_chat.jsonl") == bool(exempt)  # only there does masking dominate
    for old in before.checks:
        new = after.check(old.name)
        assert new.status != Status.ERRORED, (old.name, new.error)
        if old.status not in RANK:
            continue
        assert new.status in RANK, (old.name, new.status)
        if old.category in exempt:
            continue
        assert RANK[new.status] <= RANK[old.status], (name, old.name, old.status, new.status)
    assert after.verdict.exit_code in (0, 1)


def test_without_masking_the_diversity_checks_do_not_get_worse(
        runs: dict[str, Run], tmp_path: Path) -> None:
    name = "resumes_chat.jsonl"
    before = runs[name][0]
    _, outcome, after = fix_and_reaudit(name, tmp_path, policy_from_dict({"pii": {
        "enabled": False}}), before)
    assert masked_share(outcome) == 0
    for old in before.checks:
        new = after.check(old.name)
        if old.status in RANK and new.status in RANK:
            assert RANK[new.status] <= RANK[old.status], (old.name, old.status, new.status)
    masked_after = runs[name][2]
    worse = sorted(c.name for c in before.checks if c.status in RANK
                   and RANK[masked_after.check(c.name).status] > RANK[c.status])
    assert all(before.check(c).category in MASKING_SENSITIVE for c in worse)


@pytest.mark.parametrize("name", FILES)
def test_planted_defects_the_policy_covers_are_removed_or_repaired(
        runs: dict[str, Run], name: str) -> None:
    from benchmarks.fix import COVERED

    manifest = json.loads((SAMPLE / "manifest.json").read_text())["files"]
    entry: dict[str, Any] = manifest[name]
    if name in EVAL:
        entry = {**entry, "planted": [*entry["planted"], *manifest[EVAL[name]]["planted"]]}
    score = score_sample(entry, runs[name][1].log)
    for defect, row in score["defects"].items():
        if defect not in COVERED:
            continue
        expected = EXPECTED_MISSES.get((name, defect), [])
        assert sorted(row["missed"]) == sorted(expected), (name, defect, row)
        assert row["fixed"] == row["planted"] - len(expected)
    if name == "reviews_classification.jsonl":
        # templated reviews differing in one word (the family member) are near-duplicates by
        # the check's definition; the manifest plants only the exact copies
        reasons = {r["id"]: (r["check"], r["code"]) for r in runs[name][1].log}
        assert score["clean_changed"]
        assert {reasons[i] for i in score["clean_changed"]} == {
            ("near_duplicates", "near_duplicate_cluster")}
    else:
        assert score["clean_changed"] == []  # no clean record changed
        assert score["precision"] == 1.0


def test_the_changes_log_accounts_for_every_difference(runs: dict[str, Run]) -> None:
    from audit.cli.fix_io import content_hash

    name = "support_alpaca.jsonl"
    outcome = runs[name][1]
    source = [json.loads(line) for line in (SAMPLE / name).read_text().splitlines()]
    kept_ids = set(range(len(source))) - {r["id"] for r in outcome.log if r["action"] == "drop"}
    written = [json.loads(line) for line in outcome.written[0].read_text().splitlines()]
    assert len(written) == len(kept_ids)
    last_hash = {}
    for row in outcome.log:
        if row["action"] != "drop":
            last_hash[row["id"]] = row["after"]
    for record_id, record in zip(sorted(kept_ids), written, strict=True):
        expected = last_hash.get(record_id, content_hash(source[record_id]))
        assert content_hash(record) == expected, record_id
