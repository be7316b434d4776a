"""Same answer everywhere: the JSON result does not depend on the engine, the number of
workers or the batch size; inputs in shards audit like one file; failures stay local."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit import Check, Measurement, Status, run_audit
from audit.cli.main import main
from audit.engines import make_engine
from audit.execution import Aux, MapJob, artifact_groups
from audit.registry import register, unregister
from audit.testing import comparable_result as comparable
from audit.testing import instruction_records

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "support_alpaca.jsonl"
EVAL = ROOT / "sample_data" / "support_eval.jsonl"


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def serial_sample() -> dict[str, Any]:
    return comparable(run_audit(SAMPLE, eval=EVAL, engine="serial"))


@pytest.mark.slow
@pytest.mark.parametrize("options", [
    {"engine": "pool", "workers": 2, "config": {"batch_records": 50}},
    {"engine": "serial", "config": {"batch_records": 7}},
])
def test_sample_result_is_the_same_on_every_engine(serial_sample: dict[str, Any],
                                                   options: dict[str, Any]) -> None:
    options = dict(options)
    config = options.pop("config")
    got = comparable(run_audit(SAMPLE, config, eval=EVAL, **options))
    assert got == serial_sample


@pytest.mark.slow
@pytest.mark.skipif(not ray_available(), reason="Ray is not installed (pip install '.[ray]')")
def test_sample_result_is_the_same_on_ray(serial_sample: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    stored: list[type] = []
    put = ray.put

    def counting_put(value: Any, **kwargs: Any) -> Any:
        stored.append(type(value))
        return put(value, **kwargs)

    monkeypatch.setattr(ray, "put", counting_put)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        got = comparable(run_audit(SAMPLE, {"batch_records": 100}, eval=EVAL, engine="ray"))
    finally:
        ray.shutdown()
    assert got == serial_sample
    # 6 batches, two passes: the auxiliary sets (with the eval set) are stored once, and each
    # pass's requests once, not with every batch
    assert stored.count(Aux) == 1 and len(stored) <= 3, stored


def test_a_detached_map_job_carries_no_shared_part_until_attached() -> None:
    from audit.batches import Batch

    aux = Aux(seed=3, contamination=())
    job = MapJob(Batch(index=0, first_id=0, n_records=5), None, (), aux, again={"x": [1, 2]})
    light, shared = job.detached()
    assert light.aux is not aux and light.aux.seed == 3 and light.again is None
    assert shared == (aux, {"x": [1, 2]})
    assert light.attached(shared) == job


def write_shards(folder: Path, records: list[dict[str, Any]], sizes: list[int]) -> None:
    folder.mkdir()
    start = 0
    for i, size in enumerate(sizes):
        part = records[start:start + size]
        start += size
        if i % 2:
            pq.write_table(pa.Table.from_pylist(part), folder / f"part-{i:03d}.parquet",
                           row_group_size=7)
        else:
            (folder / f"part-{i:03d}.jsonl").write_text(
                "".join(json.dumps(r) + "\n" for r in part))


def test_shards_audit_like_one_file(tmp_path: Path) -> None:
    records = instruction_records(96)
    for record in records:
        record.pop("split")
    one = tmp_path / "all.jsonl"
    one.write_text("".join(json.dumps(r) + "\n" for r in records))
    write_shards(tmp_path / "shards", records, [30, 41, 25])
    checks = ["empty_responses", "bad_records", "exact_duplicates", "class_balance"]
    whole = run_audit(one, checks=checks, engine="serial")
    uri = (tmp_path / "shards").as_uri()  # a URI goes through pyarrow's filesystems (s3://...)
    for source in (tmp_path / "shards", str(tmp_path / "shards" / "part-*"), uri,
                   uri + "/part-*"):
        sharded = run_audit(source, {"batch_records": 10}, checks=checks, engine="serial")
        assert sharded.dataset.n_records == 96
        assert sharded.record_index == whole.record_index
        assert sharded.dataset.fingerprint == whole.dataset.fingerprint
        for name in checks:
            assert sharded.check(name).metrics == whole.check(name).metrics, name
            assert [f.records for f in sharded.check(name).findings] == [
                f.records for f in whole.check(name).findings], name


def test_a_large_file_is_read_in_batches_with_a_driver_sample(tmp_path: Path) -> None:
    records = instruction_records(120)
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    small = {"driver_records": 40, "batch_records": 25}
    result = run_audit(path, small, checks=["empty_responses", "class_balance"],
                       engine="serial")
    assert result.dataset.n_records == 120
    empty = result.check("empty_responses")
    assert empty.findings[0].records == (5,)  # every record mapped, not only the sample
    balance = result.check("class_balance")
    assert balance.details["driver_sample"] == {"records": 40, "of": 120, "seed": 0}
    again = run_audit(path, small, checks=["empty_responses", "class_balance"], engine="pool",
                      workers=2)
    assert comparable(again) == comparable(result)


def test_free_memory_goes_back_to_the_system_between_steps() -> None:
    from audit import engines

    engines.return_free_memory()  # glibc's malloc_trim; a no-op elsewhere
    engines.return_free_memory()
    assert engines._TRIM is not None


def near_copies_file(tmp_path: Path) -> Path:
    """150 records in one JSONL file, a near copy (one word added) of every tenth one."""
    records = instruction_records(150)
    for i in range(0, 150, 10):
        records[i + 6] = {**records[i], "output": records[i]["output"].replace(
            "then", "and then")}
    path = tmp_path / "near.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


STREAMED = {"driver_records": 40, "batch_records": 25}
STREAMED_CHECKS = ["near_duplicates", "exact_duplicates", "length_outliers", "empty_responses",
                   "class_balance"]


def test_a_streamed_file_with_a_second_pass_audits_alike_on_every_engine(tmp_path: Path
                                                                          ) -> None:
    path = near_copies_file(tmp_path)
    serial = run_audit(path, STREAMED, checks=STREAMED_CHECKS, engine="serial")
    assert serial.check("near_duplicates").metrics["n_pairs"] >= 10
    assert serial.dataset.n_records == 150
    pool = run_audit(path, STREAMED, checks=STREAMED_CHECKS, engine="pool", workers=2)
    assert comparable(pool) == comparable(serial)
    loaded = run_audit(path, checks=STREAMED_CHECKS, engine="serial")  # in memory, unbatched
    for name in ("near_duplicates", "exact_duplicates", "length_outliers", "empty_responses"):
        assert loaded.check(name).findings == serial.check(name).findings
    assert loaded.dataset.fingerprint == serial.dataset.fingerprint


@pytest.mark.slow
@pytest.mark.skipif(not ray_available(), reason="Ray is not installed (pip install '.[ray]')")
def test_a_streamed_file_with_a_second_pass_audits_alike_on_ray(tmp_path: Path) -> None:
    path = near_copies_file(tmp_path)
    serial = run_audit(path, STREAMED, checks=STREAMED_CHECKS, engine="serial")
    on_ray = run_audit(path, STREAMED, checks=STREAMED_CHECKS, engine="ray", workers=2)
    assert comparable(on_ray) == comparable(serial)


def test_results_from_ray_are_copied_out_of_its_object_store() -> None:
    from audit.engines import _owned

    value = {"partial": (np.arange(5), pa.table({"a": [1, 2]}))}
    copied = _owned(value)
    assert copied["partial"][0].tolist() == [0, 1, 2, 3, 4]
    assert copied["partial"][1].equals(value["partial"][1])
    assert not np.shares_memory(copied["partial"][0], value["partial"][0])


class Explodes(Check):
    """Raises in its map step on one batch (test only)."""

    name = "explodes_test"
    category = "test"

    def map(self, batch: Any, ctx: Any) -> int:
        if 40 in set(batch.ids.tolist()):
            raise ValueError("boom")
        return batch.n

    def combine(self, partials: Any, n: int, ctx: Any) -> Measurement:
        return Measurement(metrics={"n": float(sum(partials))})


@pytest.fixture
def explodes() -> Any:
    register(Explodes)
    yield Explodes
    unregister("explodes_test")


def test_a_failing_batch_errors_that_check_only(explodes: Any) -> None:
    result = run_audit(instruction_records(96), {"batch_records": 30},
                       checks=["explodes_test", "empty_responses"], engine="serial")
    failed = result.check("explodes_test")
    assert failed.status is Status.ERRORED
    assert "batch 1 (records 30-59)" in (failed.error or "") and "boom" in (failed.error or "")
    assert result.check("empty_responses").status is not Status.ERRORED


COMBINED: list[str] = []


class Sized(Check):
    """A splittable check whose partials hold `width` float64 per record (test only); its
    combine notes its name in COMBINED."""

    category = "test"
    width = 1

    def map(self, batch: Any, ctx: Any) -> dict[str, Any]:
        return {"values": np.zeros((batch.n, self.width))}

    def combine(self, partials: Any, n: int, ctx: Any) -> Measurement:
        COMBINED.append(self.name)
        return Measurement(metrics={"n": float(sum(len(p["values"]) for p in partials))})


class SmallPartials(Sized):
    name = "small_partials_test"


class LargePartials(Sized):
    name = "large_partials_test"
    width = 50


def test_checks_with_the_largest_partials_are_combined_first_and_freed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from audit import execution
    from audit.execution import nbytes

    assert nbytes((np.zeros(3), {"a": [np.zeros(2, np.int32)], "b": pa.array([1, 2])}, 7)) \
        == 24 + 8 + 16
    seen: list[dict[str, int]] = []
    combine = execution.combine_check

    def spying(check: Any, outputs: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append({name: sum(name in o.partials for o in outputs)
                     for name in ("small_partials_test", "large_partials_test")})
        return combine(check, outputs, *args, **kwargs)

    monkeypatch.setattr("audit.runner.combine_check", spying)
    register(SmallPartials)
    register(LargePartials)
    try:
        result = run_audit(instruction_records(90), {"batch_records": 30},
                           checks=["small_partials_test", "large_partials_test"],
                           engine="serial")
    finally:
        unregister("small_partials_test")
        unregister("large_partials_test")
    assert [r.metrics["n"] for r in result.checks] == [90.0, 90.0]  # in the selected order
    assert COMBINED[-2:] == ["large_partials_test", "small_partials_test"]
    # the large partials were dropped once combined: the small check combined without them
    assert seen[-2:] == [{"small_partials_test": 3, "large_partials_test": 3},
                         {"small_partials_test": 3, "large_partials_test": 0}]


def test_checks_sharing_costly_artifacts_are_grouped() -> None:
    from audit.context import is_cheap
    from audit.registry import all_checks

    built = [cls() for cls in all_checks().values() if not cls.splittable()]
    groups = artifact_groups(built)
    assert len(groups) > 2  # the pool has something to run in parallel
    for group in groups:
        others = [c for c in built if c not in group]
        shared = set().union(*(c.uses for c in group)) & set().union(
            *(c.uses for c in others)) if others else set()
        assert all(is_cheap(name) for name in shared), shared


def test_engine_choice_is_validated() -> None:
    from audit.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown engine"):
        make_engine("spark")
    with pytest.raises(ConfigError, match="workers"):
        make_engine("pool", workers=0)


def test_cli_engine_and_workers_options(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out_serial, out_pool = tmp_path / "s.json", tmp_path / "p.json"
    for engine, out in (("serial", out_serial), ("pool", out_pool)):
        with pytest.raises(SystemExit):
            main(["run", str(SAMPLE), "--engine", engine, "--workers", "2", "--check",
                  "exact_duplicates", "--json", str(out), "--quiet"])
    one, two = (json.loads(p.read_text()) for p in (out_serial, out_pool))
    for doc in (one, two):
        doc.pop("duration_s")
        doc["checks"][0].pop("duration_s")
    assert one == two


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_leaves_no_worker_behind(tmp_path: Path) -> None:
    """SIGINT to a pool run: it exits, and none of its worker processes outlive it."""
    script = (
        "import time, audit.engines as e\n"
        "engine = e.PoolEngine(2)\n"
        "jobs = [time.sleep for _ in range(4)]\n"
        "import functools\n"
        "jobs = [functools.partial(time.sleep, 60) for _ in range(4)]\n"
        "print('started', flush=True)\n"
        "for _ in engine.run(jobs): pass\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    time.sleep(1.5)
    children = _children(proc.pid)
    assert len(children) >= 2
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    time.sleep(0.5)
    assert not [pid for pid in children if _alive(pid)]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and ") Z " in stat.read_text())
