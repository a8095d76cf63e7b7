"""The shared executor: validation, every mode returns every task's record, named errors come back as values."""

from __future__ import annotations

import os

import pytest

from mosaic.core.errors import ConfigError, FeatureError
from mosaic.core.executor import PARALLEL_MODES, ExecutorConfig, run_tasks


def _square(task):
    k, path = task
    if k == 3:
        raise FeatureError("bad recording", path=path, group="g", sequence=f"s{k}")
    return {"k": k, "sq": k * k, "pid": os.getpid()}


def _boom(task):
    raise ZeroDivisionError("not a named error")


TASKS = [(k, f"/data/s{k}.parquet") for k in range(6)]


@pytest.mark.parametrize("mode,workers", [("serial", None), ("thread", 1), ("thread", 3), ("process", 2)])
def test_every_mode_returns_every_record_and_named_errors(mode, workers):
    out = list(run_tasks(_square, TASKS, ExecutorConfig(mode, workers), desc="test"))
    assert len(out) == len(TASKS)
    errs = [r for r in out if isinstance(r, Exception)]
    assert len(errs) == 1 and isinstance(errs[0], FeatureError)
    assert errs[0].sequence == "s3" and "s3.parquet" in str(errs[0])
    recs = sorted((r for r in out if isinstance(r, dict)), key=lambda r: r["k"])
    assert [(r["k"], r["sq"]) for r in recs] == [(k, k * k) for k in range(6) if k != 3]
    if mode == "process":
        assert all(r["pid"] != os.getpid() for r in recs)  # ran in worker processes
    if mode == "serial":
        assert [r["k"] for r in out if isinstance(r, dict)] == [0, 1, 2, 4, 5]  # in order


@pytest.mark.parametrize("mode", ["serial", "thread", "process"])
def test_unnamed_errors_propagate(mode):
    with pytest.raises(ZeroDivisionError):
        list(run_tasks(_boom, TASKS[:3], ExecutorConfig(mode, 2)))


def test_no_tasks_yields_nothing():
    assert list(run_tasks(_square, [], ExecutorConfig("process", 2))) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mode": "cluster"},
        {"n_workers": 0},
        {"n_workers": 1.5},
        {"n_workers": True},
        {"dask_address": 8786},
        {"memory_limit": 1.5},
        {"memory_limit": True},
    ],
)
def test_bad_config_is_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        ExecutorConfig(**kwargs)


def test_modes():
    assert set(PARALLEL_MODES) == {"serial", "thread", "process", "dask"}
    assert ExecutorConfig() == ExecutorConfig("serial", None, None, None)


def test_unreachable_scheduler_is_a_config_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    cfg = ExecutorConfig("dask", 1, f"tcp://127.0.0.1:{port}")
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        list(run_tasks(_square, TASKS[:2], cfg))


def _process_run_in_a_child(queue):
    import psutil

    try:
        records = sorted((r["k"], r["sq"]) for r in run_tasks(_square, TASKS[:3], ExecutorConfig("process", 2)))
        left = [" ".join(c.cmdline()) for c in psutil.Process().children(recursive=True)]
        queue.put((records, [c for c in left if "resource_tracker" not in c]))
    except Exception as exc:  # reported to the test, not lost in the child
        queue.put((repr(exc), None))


def test_process_mode_inside_a_worker_process_leaves_no_idle_workers():
    # a worker of another pool (Kedro's ParallelRunner) must be able to exit as soon as its stage is done
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_process_run_in_a_child, args=(queue,))
    child.start()
    records, children_left = queue.get(timeout=120)
    child.join(timeout=120)
    assert records == [(0, 0), (1, 1), (2, 4)]
    assert children_left == []  # loky's reusable workers were stopped, not left to idle out
    assert child.exitcode == 0  # the child exited (with idle workers it would still be waiting for them)


def test_executor_from_pipeline_parameters():
    from mosaic.core.executor import executor_from_params

    assert executor_from_params(None) == ExecutorConfig()
    params = {"parallel_mode": "dask", "parallel_workers": 3, "dask_address": None, "memory_limit": "1GB", "other": 1}
    assert executor_from_params(params) == ExecutorConfig("dask", 3, None, "1GB")
    assert executor_from_params({"parallel_mode": None}) == ExecutorConfig()  # null keeps the default
    with pytest.raises(ConfigError, match="parallel_mode"):
        executor_from_params({"parallel_mode": "cluster"})
