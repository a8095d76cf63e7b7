"""The executor's worker wrapper measures each task's peak memory above the worker's baseline."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mosaic.core.executor import ExecutorConfig, release_unused_memory, run_tasks, task_memory

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self (Linux)")


def _touch(mb: int) -> int:
    """Allocate and write ``mb`` MB, then free it."""
    a = np.ones(mb * 2**20 // 8)
    return int(a.size)


@linux
def test_each_task_peak_is_measured_from_its_own_baseline():
    task_memory(clear=True)
    list(run_tasks(_touch, [64, 0, 32], ExecutorConfig("serial")))
    recs = task_memory(clear=True)
    assert [r["task"] for r in recs] == [f"{__name__}._touch"] * 3
    growth = [r["growth_mb"] for r in recs]
    # the 64 MB task's peak does not carry over into the next task's (the high-water mark is reset)
    assert 60 <= growth[0] < 80 and growth[1] < 8 and 28 <= growth[2] < 45
    for r in recs:
        assert r["peak_mb"] == pytest.approx(r["base_mb"] + r["growth_mb"])
    assert task_memory() == []


@linux
def test_threads_share_the_process_and_are_not_measured():
    task_memory(clear=True)
    list(run_tasks(_touch, [1, 1], ExecutorConfig("thread", 2)))
    assert task_memory(clear=True) == []


def test_release_unused_memory_frees_nothing_in_use():
    a = np.arange(1000.0)
    release_unused_memory()
    assert a.sum() == 499500.0
