"""The incremental cache (`audit.cache`): values, identity of cached audits, concurrency,
corrupt entries, compaction, eviction and the `ft-audit cache` commands."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audit.cache import (
    MARKER,
    MAX_SEGMENTS,
    CacheError,
    CacheUse,
    CacheWarning,
    RecordCache,
    cache_use,
    namespace,
    per_text,
)
from audit.cli.main import main
from audit.context import RunContext
from audit.load import load_dataset
from audit.runner import run_audit
from audit.testing import comparable_result as comparable
from audit.testing import instruction_records

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "support_alpaca.jsonl"
EVAL = ROOT / "sample_data" / "support_eval.jsonl"


def made(tmp_path: Path, name: str = "cache", max_mb: float = 2048) -> RecordCache:
    cache = RecordCache(tmp_path / name, max_mb)
    cache.create()
    return cache


class Counting:
    """A per-row function (length, upper-cased first letter, flags) that counts its rows."""

    def __init__(self, keys: np.ndarray) -> None:
        self.keys = keys
        self.rows: list[int] = []

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        self.rows.extend(rows.tolist())
        k = self.keys[rows]
        return (k * 3, np.asarray([f"v{x}" for x in k.tolist()]),
                np.stack([k % 2 == 0, k % 3 == 0], axis=1))


def test_only_unseen_keys_are_computed_and_values_read_back_equal(tmp_path: Path) -> None:
    cache = made(tmp_path)
    keys = np.asarray([5, 9, 5, 2, 7], dtype=np.uint64)
    first = Counting(keys)
    values = cache.rows("ns", keys, first)
    assert sorted(keys[first.rows].tolist()) == [2, 5, 7, 9]  # the repeated key once
    assert values[0].tolist() == [15, 27, 15, 6, 21]
    assert values[1].tolist() == ["v5", "v9", "v5", "v2", "v7"]
    assert values[2][:, 0].tolist() == [False, False, False, True, False]

    fresh = RecordCache(cache.root)  # another process: reads the segment from disk
    more = np.asarray([7, 11, 2], dtype=np.uint64)
    second = Counting(more)
    again = fresh.rows("ns", more, second)
    assert more[second.rows].tolist() == [11]
    assert again[0].tolist() == [21, 33, 6] and again[1].tolist() == ["v7", "v11", "v2"]
    assert again[2].dtype == bool and again[2][:, 1].tolist() == [False, False, False]
    assert fresh.hits == 2 and fresh.misses == 1


def test_values_this_run_stored_count_as_reused_not_read(tmp_path: Path) -> None:
    keys = np.asarray([1, 2, 3, 2], dtype=np.uint64)
    worker = made(tmp_path)
    worker.begin("run-a")
    worker.rows("ns", keys, Counting(keys))
    worker.rows("ns", keys, Counting(keys))  # another check of the same run
    assert cache_use(worker) == CacheUse(read=0, computed=3, reused=4)
    other = RecordCache(worker.root)  # another worker of the same run: reads its segment
    other.begin("run-a")
    more = np.asarray([1, 2, 9], dtype=np.uint64)
    other.rows("ns", more, Counting(more))
    assert cache_use(other) == CacheUse(read=0, computed=1, reused=2)
    later = RecordCache(worker.root)  # a later run reads what both stored
    later.begin("run-b")
    later.rows("ns", more, Counting(more))
    assert cache_use(later) == CacheUse(read=3, computed=0, reused=0)


def test_per_text_without_a_cache_computes_everything(tmp_path: Path) -> None:
    data = load_dataset([{"prompt": p, "response": "b"} for p in ("x", "", "x", "yy")])
    seen: list[int] = []

    def lengths(texts: Any) -> tuple[np.ndarray, ...]:
        seen.append(len(texts))
        return (np.asarray([len(t or "") for t in texts.to_pylist()]),)

    plain = per_text(RunContext(data), "len", data, "prompt", lengths)[0]
    cached_ctx = RunContext(data, cache=made(tmp_path))
    cold = per_text(cached_ctx, "len", data, "prompt", lengths)[0]
    warm = per_text(cached_ctx, "len", data, "prompt", lengths)[0]
    assert plain.tolist() == cold.tolist() == warm.tolist() == [1, 0, 1, 2]
    assert seen == [4, 3]  # uncached: all; cold: the distinct texts
    # a column the data lacks reads as empty strings: "" is cached already
    missing = per_text(cached_ctx, "len", data, "context", lengths)[0]
    assert missing.tolist() == [0, 0, 0, 0] and seen == [4, 3]


def test_texts_shorter_than_min_bytes_are_computed_not_stored(tmp_path: Path) -> None:
    texts = ["a" * 12, "b", "ç" * 5, "d" * 30, "b"]  # "ç" is 2 bytes: 10 in all
    data = load_dataset([{"prompt": t, "response": "r"} for t in texts])
    seen: list[list[str]] = []

    def tagged(column: Any) -> tuple[np.ndarray, ...]:
        values = [t or "" for t in column.to_pylist()]
        seen.append(values)
        return (np.asarray([f"<{v}>" for v in values]), np.asarray([len(v) for v in values]))

    plain = per_text(RunContext(data), "tag", data, "prompt", tagged)
    cache = made(tmp_path)
    runs = [per_text(RunContext(data, cache=cache), "tag", data, "prompt", tagged,
                     min_bytes=10) for _ in range(2)]
    for values in runs:  # same values, same order, with the wider string dtype of the parts
        assert [v.tolist() for v in values] == [v.tolist() for v in plain]
    assert sorted(seen[1]) == ["a" * 12, "d" * 30, "ç" * 5]  # cold: the long texts once
    assert seen[2] == ["b", "b"] and seen[3] == ["b", "b"]  # the short ones: every run
    assert cache.info().entries == 3  # only the long texts are kept
    assert cache_use(cache) == CacheUse(computed=3, reused=3)  # one process: its own values
    everything_short = per_text(RunContext(data, cache=cache), "tag", data, "prompt", tagged,
                                min_bytes=1000)
    assert [v.tolist() for v in everything_short] == [v.tolist() for v in plain]


def test_namespaces_differ_by_version_and_params() -> None:
    names = {namespace("f", 1), namespace("f", 2), namespace("f", 1, 0.5), namespace("f", 1, 0.6)}
    assert len(names) == 4 and all(n.startswith("f.v") for n in names)
    assert namespace("f", 1, 0.5) == namespace("f", 1, 0.5)


def test_a_corrupt_segment_is_ignored_with_a_warning_and_recomputed(tmp_path: Path) -> None:
    cache = made(tmp_path)
    keys = np.arange(10, dtype=np.uint64)
    cache.rows("ns", keys, Counting(keys))
    (segment,) = (cache.root / "ns").glob("*.npz")
    segment.write_bytes(segment.read_bytes()[:100])  # truncated
    again = Counting(keys)
    with pytest.warns(CacheWarning, match="unreadable cache entry"):
        values = RecordCache(cache.root).rows("ns", keys, again)
    assert sorted(again.rows) == list(range(10))
    assert values[0].tolist() == (keys * 3).tolist()
    assert not segment.exists()
    assert len(list((cache.root / "ns").glob("*.npz"))) == 1  # the recomputed values


def test_a_segment_with_misaligned_arrays_is_rejected(tmp_path: Path) -> None:
    cache = made(tmp_path)
    (cache.root / "ns").mkdir()
    with open(cache.root / "ns" / "bad.npz", "wb") as handle:
        np.savez(handle, keys=np.asarray([1, 2], np.uint64), v0=np.asarray([1, 2, 3]))
    keys = np.asarray([1, 2], dtype=np.uint64)
    with pytest.warns(CacheWarning):
        values = cache.rows("ns", keys, Counting(keys))
    assert values[0].tolist() == [3, 6]
    with open(cache.root / "ns" / "wide.npz", "wb") as handle:  # rows of another shape
        np.savez(handle, keys=np.asarray([3], np.uint64), v0=np.asarray([9]),
                 v1=np.asarray(["v3"]), v2=np.zeros((1, 5), dtype=np.int64))
    more = np.asarray([1, 3], dtype=np.uint64)
    with pytest.warns(CacheWarning, match="do not match"):
        values = RecordCache(cache.root).rows("ns", more, Counting(more))
    assert values[0].tolist() == [3, 9] and values[2].shape == (2, 2)


def test_compaction_merges_many_segments_without_losing_values(tmp_path: Path) -> None:
    cache = made(tmp_path)
    for start in range(0, (MAX_SEGMENTS + 3) * 5, 5):
        keys = np.arange(start, start + 5, dtype=np.uint64)
        RecordCache(cache.root).rows("ns", keys, Counting(keys))
    assert len(list((cache.root / "ns").glob("*.npz"))) == MAX_SEGMENTS + 3
    cache.maintain()
    assert len(list((cache.root / "ns").glob("*.npz"))) == 1
    keys = np.arange((MAX_SEGMENTS + 3) * 5, dtype=np.uint64)
    none = Counting(keys)
    values = RecordCache(cache.root).rows("ns", keys, none)
    assert none.rows == [] and values[0].tolist() == (keys * 3).tolist()


def test_eviction_deletes_least_recently_used_segments_down_to_the_limit(tmp_path: Path
                                                                         ) -> None:
    cache = made(tmp_path)
    big = np.arange(20_000, dtype=np.uint64)  # ~0.5 MB a segment
    for name in ("old", "middle", "new"):
        RecordCache(cache.root).rows(name, big, Counting(big))
    now = time.time()
    for age, name in ((300, "old"), (200, "middle"), (100, "new")):
        for path in (cache.root / name).glob("*.npz"):
            os.utime(path, (now - age, now - age))
    size = sum(p.stat().st_size for p in cache.root.glob("*/*.npz"))
    RecordCache(cache.root).rows("middle", big[:3], Counting(big))  # a read refreshes it
    limited = RecordCache(cache.root, max_mb=(size * 0.7) / 2**20)
    limited.maintain()
    assert not list((cache.root / "old").glob("*.npz"))
    assert list((cache.root / "middle").glob("*.npz")) and list((cache.root / "new").glob("*.npz"))
    assert limited.info().bytes <= size * 0.7


def test_create_refuses_a_folder_that_is_not_a_cache_and_clear_keeps_the_folder(
        tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(CacheError, match="not an ft-audit cache"):
        RecordCache(busy).create()
    with pytest.raises(CacheError, match="nothing deleted"):
        RecordCache(busy).clear()
    assert (busy / "notes.txt").read_text() == "mine"
    racing = tmp_path / "racing"  # another run is writing the marker of this new cache
    racing.mkdir()
    (racing / f".{MARKER}.999.tmp").write_text("{}")
    RecordCache(racing).create()
    assert RecordCache(racing).is_cache()
    cache = made(tmp_path)
    keys = np.arange(4, dtype=np.uint64)
    cache.rows("ns", keys, Counting(keys))
    assert cache.clear() > 0
    assert (cache.root / MARKER).is_file() and cache.info().entries == 0


def test_a_cached_audit_equals_an_uncached_one_after_edits_and_appends(tmp_path: Path) -> None:
    records = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    base = tmp_path / "base.jsonl"
    base.write_text("".join(json.dumps(r) + "\n" for r in records))
    edited = [dict(r) for r in records]
    for i in range(0, len(edited), 50):  # 2% edited, 2% appended, one record dropped
        edited[i]["output"] = edited[i]["output"] + " (edited)"
    edited = edited[1:] + [dict(r, instruction=r["instruction"] + " again") for r in records[:12]]
    head = tmp_path / "head.jsonl"
    head.write_text("".join(json.dumps(r) + "\n" for r in edited))
    cache = tmp_path / "cache"
    assert comparable(run_audit(base, eval=EVAL, engine="serial", cache=cache)) == \
        comparable(run_audit(base, eval=EVAL, engine="serial"))
    warm = run_audit(head, eval=EVAL, engine="serial", cache=cache)
    plain = run_audit(head, eval=EVAL, engine="serial")
    assert comparable(warm) == comparable(plain)
    assert RecordCache(cache).info().entries > len(records)
    # the edited and appended texts were computed, the rest read
    assert plain.cache_use is None and warm.cache_use is not None
    assert warm.cache_use["computed"] > 0 and warm.cache_use["read"] > 10 * \
        warm.cache_use["computed"]
    again = run_audit(head, eval=EVAL, engine="serial", cache=cache).cache_use
    assert again is not None and again["computed"] == 0
    assert again["read"] >= warm.cache_use["read"] + warm.cache_use["computed"]


@pytest.mark.slow
def test_a_streamed_pool_audit_with_the_cache_equals_the_uncached_one(tmp_path: Path) -> None:
    records = instruction_records(300)
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    config = {"batch_records": 60, "driver_records": 100}  # shards, a driver sample, 5 batches
    plain = comparable(run_audit(path, config, engine="pool", workers=2))
    uses = []
    for _ in range(2):  # cold, then warm
        cached = run_audit(path, config, engine="pool", workers=2, cache=tmp_path / "cache")
        assert comparable(cached) == plain
        uses.append(cached.cache_use)
    # the workers' use of the cache reaches the result: the cold run computed, the warm read
    assert uses[0] is not None and uses[0]["computed"] > 0 and uses[0]["read"] == 0
    assert uses[0]["reused"] > 0  # values one check computed, another found
    assert uses[1] is not None and uses[1]["computed"] == 0 and uses[1]["read"] > 0
    serial = run_audit(path, config, engine="serial", cache=tmp_path / "cache").cache_use
    assert serial == uses[1]  # the same lookups, wherever they ran


def _audit_into(args: tuple[str, str, str]) -> str:
    data, cache, out = args
    result = run_audit(data, eval=str(EVAL), engine="serial", cache=cache)
    Path(out).write_text(json.dumps(comparable(result), sort_keys=True))
    return out


@pytest.mark.slow
def test_two_concurrent_runs_share_one_cache_safely(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        outs = pool.map(_audit_into, [(str(SAMPLE), str(cache), str(tmp_path / f"{i}.json"))
                                      for i in range(2)])
    expected = json.dumps(comparable(run_audit(SAMPLE, eval=EVAL, engine="serial")),
                          sort_keys=True)
    assert [Path(o).read_text() for o in outs] == [expected, expected]
    assert not list(cache.glob("*/.*.tmp"))  # no half-written segment left
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # every segment the two wrote is whole
        warm = run_audit(SAMPLE, eval=EVAL, engine="serial", cache=cache)
    assert json.dumps(comparable(warm), sort_keys=True) == expected


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out + captured.err


def test_cli_run_with_cache_then_info_and_clear(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    code, out = cli(["run", str(SAMPLE), "--cache", str(cache), "-q", "--check",
                     "near_duplicates", "--check", "language"], capsys)
    assert code == 0, out
    code, out = cli(["run", str(SAMPLE), "--cache", str(cache), "--check", "near_duplicates",
                     "--check", "language"], capsys)
    assert code == 0 and "0 computed (100% read)" in " ".join(out.split()), out
    code, out = cli(["cache", "info", str(cache)], capsys)
    assert code == 0 and "lsh_keys.v1." in out and "language.v1." in out, out
    code, out = cli(["cache", "clear", str(cache)], capsys)
    assert code == 0 and "cleared" in out
    assert RecordCache(cache).info().entries == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    code, out = cli(["cache", "clear", str(other)], capsys)
    assert code == 2 and "not an ft-audit cache" in out and (other / "keep.txt").exists()
    code, out = cli(["run", str(SAMPLE), "--cache", str(other), "-q"], capsys)
    assert code == 2 and "not an ft-audit cache" in out


def test_the_config_cache_is_relative_to_the_config_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from audit.config import load_config

    (tmp_path / "ft-audit.toml").write_text('cache = ".ft-audit-cache"\ncache_max_mb = 64\n')
    cfg = load_config(tmp_path / "ft-audit.toml")
    assert cfg.cache == str(tmp_path / ".ft-audit-cache") and cfg.cache_max_mb == 64
    assert "cache" not in cfg.to_dict()  # where the work ran is not part of the result
    RecordCache(tmp_path / ".ft-audit-cache").create()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, out = cli(["cache", "info"], capsys)
    finally:
        os.chdir(cwd)
    assert code == 0 and ".ft-audit-cache" in out and "limit 64 MB" in out


@pytest.mark.slow
def test_ray_workers_use_the_cache_and_give_the_same_result(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
    expected = comparable(run_audit(SAMPLE, eval=EVAL, engine="serial"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for _ in range(2):  # cold, then warm
            got = run_audit(SAMPLE, {"batch_records": 100}, eval=EVAL, engine="ray",
                            cache=tmp_path / "cache")
            assert comparable(got) == expected
        assert got.cache_use is not None and got.cache_use["computed"] == 0  # the warm run
        assert got.cache_use["read"] > 0
    finally:
        ray.shutdown()
    # the map jobs ran in Ray workers: their band keys reached the cache from there
    assert any(name.startswith("lsh_keys.") for name in RecordCache(tmp_path / "cache").info()
               .namespaces)


def test_a_cache_that_cannot_be_written_is_still_read_and_the_run_completes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import audit.cache as cache_module

    cache = made(tmp_path)
    keys = np.arange(6, dtype=np.uint64)
    cache.rows("ns", keys, Counting(keys))

    def read_only(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache_module, "_write_segment", read_only)
    monkeypatch.setattr(RecordCache, "locked", read_only)
    more = np.arange(10, dtype=np.uint64)
    fresh = RecordCache(cache.root)
    with pytest.warns(CacheWarning, match="cannot write"):
        values = fresh.rows("ns", more, Counting(more))
    assert values[0].tolist() == (more * 3).tolist() and fresh.hits == 6
    with pytest.warns(CacheWarning, match="upkeep skipped"):
        fresh.maintain()


def test_text_keys_are_hashed_once_per_view_and_released_with_the_view() -> None:
    from audit.hashing import array_hashes

    data = load_dataset([{"prompt": p, "response": "b"} for p in ("x", "", "yy")])
    ctx = RunContext(data)
    keys = ctx.text_keys(data, "prompt")
    assert keys.tolist() == array_hashes(data.text_column("prompt")).tolist()
    assert ctx.text_keys(data, "prompt") is keys  # hashed once
    assert ctx.text_keys(data, "response") is not keys
    batch = data.take(np.array([0, 2]))
    batch_keys = ctx.text_keys(batch, "prompt")
    assert batch_keys.tolist() == keys[[0, 2]].tolist()
    ctx.release(keep=())
    assert ctx.text_keys(data, "prompt") is keys  # the run's own data: kept for the run
    assert ctx.text_keys(batch, "prompt") is not batch_keys  # a batch's: released
