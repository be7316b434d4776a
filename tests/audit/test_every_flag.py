"""Every flagged record is in the result: the JSON, `result.records()` and `--records`.

Display caps (`max_clusters_listed`, the HTML's findings per check) limit what a person is
shown, never what a machine reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from audit import AuditResult, run_audit
from audit.cli.main import main
from audit.result_io import schema

N_CLUSTERS = 500
WORDS = np.array([f"w{i:04d}" for i in range(4000)])


def planted_near_duplicates(n_clusters: int = N_CLUSTERS, n_unique: int = 600,
                            seed: int = 3) -> tuple[list[dict[str, str]], set[frozenset[int]]]:
    """Unique 40-word records plus `n_clusters` pairs (an original and a copy with one word
    changed), shuffled; returns the records and the planted pairs of record ids."""
    rng = np.random.default_rng(seed)
    texts: list[tuple[str, int]] = []  # (text, pair id or -1)
    for pair in range(n_clusters):
        words = rng.choice(WORDS, 40, replace=False)
        copy = words.copy()
        copy[int(rng.integers(0, 40))] = "changed"
        texts += [(" ".join(words), pair), (" ".join(copy), pair)]
    texts += [(" ".join(rng.choice(WORDS, 40, replace=False)), -1) for _ in range(n_unique)]
    order = rng.permutation(len(texts))
    records = [{"text": texts[j][0]} for j in order]
    members: dict[int, set[int]] = {}
    for record_id, j in enumerate(order):
        if texts[j][1] >= 0:
            members.setdefault(texts[j][1], set()).add(record_id)
    return records, {frozenset(m) for m in members.values()}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[frozenset[int]]]:
    records, pairs = planted_near_duplicates()
    path = tmp_path_factory.mktemp("planted") / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path, pairs


@pytest.fixture(scope="module")
def result(planted: tuple[Path, set[frozenset[int]]]) -> AuditResult:
    path, _ = planted
    return run_audit(path, checks=["near_duplicates", "exact_duplicates", "length_outliers"])


def test_the_json_lists_every_planted_cluster(result: AuditResult,
                                              planted: tuple[Path, set[frozenset[int]]]) -> None:
    _, pairs = planted
    doc = json.loads(result.to_json())
    jsonschema.validate(doc, schema())
    near = next(c for c in doc["checks"] if c["name"] == "near_duplicates")
    assert near["params"]["max_clusters_listed"] == 50  # the display cap is unchanged
    found = {frozenset(f["records"]) for f in near["findings"]}
    assert len(found) == N_CLUSTERS and found == pairs
    for finding in near["findings"]:
        representative = finding["details"]["representative"]
        assert finding["record_values"]["cluster"] == [representative] * 2


def test_the_html_still_shows_only_the_display_cap(result: AuditResult) -> None:
    html = result.to_html()
    assert html.count("near-identical records (representative") <= 50


def test_records_frame_has_one_row_per_record(result: AuditResult,
                                              planted: tuple[Path, set[frozenset[int]]]) -> None:
    _, pairs = planted
    frame = result.records()
    assert len(frame) == result.dataset.n_records == 2 * N_CLUSTERS + 600
    assert frame["id"].tolist() == list(range(len(frame)))
    flagged = set(frame.loc[frame["near_duplicates"], "id"])
    assert flagged == set().union(*pairs)
    assert set(frame.loc[frame["near_duplicates"], "near_duplicates_codes"]) == {
        "near_duplicate_cluster"}
    clusters = frame.loc[frame["near_duplicates"]].groupby("near_duplicates_cluster")["id"]
    assert {frozenset(ids) for _, ids in clusters} == pairs
    assert not frame["exact_duplicates"].any()
    assert (frame["n_checks_flagged"] == frame["near_duplicates"].astype(int)).all()


def test_records_frame_from_saved_json_equals_the_live_one(result: AuditResult) -> None:
    loaded = AuditResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(loaded.records(), result.records())


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_cli_records_file_opens_in_pandas(planted: tuple[Path, set[frozenset[int]]],
                                          tmp_path: Path, suffix: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path, pairs = planted
    out = tmp_path / f"flags{suffix}"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(path), "--check", "near_duplicates", "--records", str(out), "--quiet"])
    assert exit_info.value.code in (0, 1)
    frame = {".parquet": pd.read_parquet, ".csv": pd.read_csv,
             ".jsonl": lambda p: pd.read_json(p, lines=True)}[suffix](out)
    assert len(frame) == 2 * N_CLUSTERS + 600
    assert set(frame.loc[frame["near_duplicates"].astype(bool), "id"]) == set().union(*pairs)


def test_cli_refuses_an_unknown_records_format_before_auditing(
        planted: tuple[Path, set[frozenset[int]]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = planted
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(path), "--records", str(tmp_path / "flags.xlsx"), "--quiet"])
    assert exit_info.value.code == 2
    assert ".parquet, .pq, .jsonl, .csv" in capsys.readouterr().err


def test_report_command_writes_records_from_a_saved_result(result: AuditResult,
                                                           tmp_path: Path) -> None:
    saved = tmp_path / "audit.json"
    result.to_json(str(saved))
    out = tmp_path / "flags.csv"
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(saved), "--records", str(out), "--quiet"])
    assert exit_info.value.code == 0
    assert pd.read_csv(out)["near_duplicates"].sum() == 2 * N_CLUSTERS


def test_record_lists_are_compact_in_the_json(result: AuditResult) -> None:
    text = result.to_json()
    near = json.loads(text)["checks"]
    assert near  # one line per id list: the file does not grow a line per record id
    assert text.count("\n") < 40 * N_CLUSTERS
