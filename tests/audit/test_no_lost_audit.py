"""No audit is lost to one value or one bug: non-finite numbers become null where results are
made, a check that returns what JSON cannot hold is ERRORED alone, and an internal error still
writes what was computed before exiting 3."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit import Check, Measurement, Status, Threshold, run_audit
from audit.cli.main import main
from audit.registry import register, unregister
from audit.result import NON_FINITE_KEY, Finding
from audit.result_io import schema

TOPICS = {1: "stocks markets shares profit", 2: "league season coach match",
          3: "chip software phone launch", 4: "minister vote election parliament"}


def news_rows(n: int = 400) -> list[dict[str, Any]]:
    """Four numeric classes; only class 1 and 2 records mention gendered words, so every
    other label has a selection rate of 0 in every group (demographic parity ratio 0/0)."""
    rows = []
    for i in range(n):
        label = i % 4 + 1
        who = (" she said her team" if i % 8 == 0 else " he said his team") if label <= 2 else ""
        rows.append({"text": f"Story {i}: {TOPICS[label]} update number {i % 37}{who}.",
                     "label": label})
    return rows


def test_a_zero_over_zero_ratio_does_not_lose_the_audit(tmp_path: Path) -> None:
    rows = news_rows()
    csv_path = tmp_path / "news.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows(rows)
    parquet_path = tmp_path / "news.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet_path)
    for path in (csv_path, parquet_path):
        out = tmp_path / f"{path.suffix[1:]}.json"
        with pytest.raises(SystemExit) as exit_info:
            main(["run", str(path), "--check", "group_label_disparity", "--json", str(out),
                  "--quiet"])
        assert exit_info.value.code in (0, 1)
        doc = json.loads(out.read_text())  # strict JSON: json.loads rejects nothing, so check
        jsonschema.validate(doc, schema())
        check = doc["checks"][0]
        assert check["status"] in ("passed", "warned", "failed")
        ratios = [d["ratio"] for d in check["details"]["demographic_parity"]]
        assert None in ratios  # the 0/0 ratio became null ...
        replaced = check["details"][NON_FINITE_KEY]
        assert any(path.endswith(".ratio") for path in replaced)  # ... with the reason kept
        assert "NaN" not in out.read_text() and "Infinity" not in out.read_text()


@dataclass(frozen=True)
class OddParams:
    kind: str = "nan"


class OddValues(Check):
    """Returns odd numbers and types (test only)."""

    name = "odd_values"
    category = "test"
    Params = OddParams
    metrics = ("odd",)
    default_thresholds = (Threshold(metric="odd", warn=1.0),)

    def run(self, data: Any, ctx: Any) -> Measurement:
        if self.params.kind == "object":
            return Measurement(metrics={"odd": 0.0}, details={"what": {1, 2}})
        return Measurement(
            metrics={"odd": math.inf},
            findings=(Finding(check=self.name, code="odd", severity="warning", message="m",
                              value=math.nan, records=(0,),
                              details={"score": np.float32("nan"), "n": np.int64(3)},
                              record_values={"score": [math.inf]}),),
            details={"table": [{"ratio": math.nan}, {"ratio": np.float64(0.5)}],
                     "array": np.array([1.0, math.inf]), "flag": np.bool_(True)})


@pytest.fixture
def odd_check() -> Any:
    register(OddValues)
    yield OddValues
    unregister("odd_values")


def test_non_finite_numbers_become_null_with_their_paths(odd_check: Any) -> None:
    result = run_audit([{"text": "a"}, {"text": "b"}], checks=["odd_values"])
    check = result.check("odd_values")
    assert check.status is Status.PASSED  # an infinite metric is not a measure: NaN, recorded
    assert math.isnan(check.metrics["odd"])
    assert check.details[NON_FINITE_KEY] == {"metrics.odd": "inf", "table[0].ratio": "nan",
                                             "array[1]": "inf"}
    assert check.details["table"] == [{"ratio": None}, {"ratio": 0.5}]
    assert check.details["flag"] is True
    finding = check.findings[0]
    assert finding.details == {"score": None, "n": 3, NON_FINITE_KEY: {"score": "nan"}}
    assert finding.record_values == {"score": (None,)}
    doc = json.loads(result.to_json())
    jsonschema.validate(doc, schema())


def test_a_value_json_cannot_hold_errors_that_check_only(odd_check: Any, tmp_path: Path) -> None:
    result = run_audit([{"text": "a"}, {"text": "b"}], checks=["odd_values", "exact_duplicates"],
                       config={"checks": {"odd_values": {"params": {"kind": "object"}}}})
    assert result.check("odd_values").status is Status.ERRORED
    assert "set" in (result.check("odd_values").error or "")
    assert result.check("exact_duplicates").status is Status.PASSED
    jsonschema.validate(json.loads(result.to_json()), schema())


def test_an_internal_error_still_writes_what_was_computed(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    import audit.runner

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug after the checks")

    monkeypatch.setattr(audit.runner, "collect_examples", broken)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{i}", "response": "same answer"}) + "\n"
                            for i in range(6)))
    out, flags = tmp_path / "audit.json", tmp_path / "flags.csv"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(data), "--check", "exact_duplicates", "--check", "empty_responses",
              "--json", str(out), "--records", str(flags), "--quiet"])
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert "a bug after the checks" in err and "internal error" in err
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, schema())
    assert [c["name"] for c in doc["checks"]] == ["exact_duplicates", "empty_responses"]
    assert doc["verdict"]["go"] is False
    assert "internal error after 2 of 2 checks" in doc["verdict"]["reasons"][0]
    assert flags.is_file()


def test_a_failing_renderer_does_not_stop_the_others(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import reports.html_report

    def broken(*args: Any) -> Any:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(reports.html_report, "write_html", broken)
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"prompt": "q", "response": "a"}) + "\n")
    out, md = tmp_path / "audit.json", tmp_path / "audit.md"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(data), "--check", "empty_responses", "--json", str(out), "--html",
              str(tmp_path / "r.html"), "--markdown", str(md), "--quiet"])
    assert exit_info.value.code == 3
    assert "renderer bug" in capsys.readouterr().err
    assert json.loads(out.read_text())["checks"][0]["status"] == "passed"
    assert md.is_file() and not (tmp_path / "r.html").exists()
