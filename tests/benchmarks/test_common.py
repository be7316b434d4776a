"""The benchmark harness measures a spawned child's own wall time and peak RSS."""

from __future__ import annotations

import numpy as np

from benchmarks.common import measure_isolated


def allocate(megabytes: int) -> int:
    block = np.ones(megabytes * 2**20 // 8)
    return int(block.size)


def test_child_peak_is_its_own_not_the_parents() -> None:
    parent_block = np.ones(300 * 2**20 // 8)  # 300 MB alive in this process while spawning
    small = measure_isolated(allocate, 1)
    large = measure_isolated(allocate, 200)
    assert parent_block.size and small.value == 2**20 // 8
    assert small.peak_rss_mb < 250  # a peak carried over from the parent would exceed 300 MB
    assert large.peak_rss_mb > small.peak_rss_mb + 150
    assert small.wall_s >= 0
