"""Scale-out: the same featurize run on a Dask LocalCluster (2 workers, loopback) equals the serial run."""

from __future__ import annotations

import shutil

import distributed  # noqa: F401  (a declared dependency: fail, never skip, when it is missing)
import pytest

pytestmark = pytest.mark.slow  # end-to-end: the fast suite is `pytest -m "not slow"`


def _listening_addresses() -> set[str]:
    """IP addresses this process and its children (scheduler, nannies, workers) listen on."""
    import os

    import psutil

    me = psutil.Process(os.getpid())
    addrs = set()
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.Error, AttributeError):
            conns = proc.connections(kind="inet")
        addrs |= {c.laddr.ip for c in conns if c.status == psutil.CONN_LISTEN}
    return addrs


def test_dask_run_equals_serial_run(demo_template, tmp_path):
    from distributed import LocalCluster

    from mosaic import Dataset
    from mosaic.features.plan import run_feature_plan
    from tests.reliability.crash import snapshot
    from tests.reliability.stages_more import FEATURE_PLAN, VOL_FEATURES

    runs = {}
    # one cluster for every step: 2 worker processes, 1 thread each, loopback only, no dashboard
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        for mode in ("thread", "dask"):
            folder = tmp_path / mode
            shutil.copytree(demo_template, folder)
            ds = Dataset.open(folder)
            ds.convert_all_tracks()
            extra = {"parallel_workers": 1} if mode == "thread" else {"dask_address": cluster.scheduler_address}
            summary = run_feature_plan(ds, {**FEATURE_PLAN, "parallel_mode": mode, **extra})
            runs[mode] = (folder, summary)
        assert _listening_addresses() <= {"127.0.0.1"}, "the cluster listens beyond loopback"
    (f_serial, s_serial), (f_dask, s_dask) = runs["thread"], runs["dask"]
    assert [r["run_id"] for r in s_serial["results"]] == [r["run_id"] for r in s_dask["results"]]
    a, b = snapshot(f_serial, ["features"], VOL_FEATURES), snapshot(f_dask, ["features"], VOL_FEATURES)
    assert len(a) >= 3 * 6, sorted(a)  # 3 features x 6 recordings (+ indexes and run.json)
    assert a == b, sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    # the dask run recorded its workers' peak memory
    import json

    for r in s_dask["results"]:
        info = json.loads((f_dask / "features" / r["feature"] / r["run_id"] / "run.json").read_text())
        assert info["stats"]["parallel_mode"] == "dask"
        assert info["stats"]["max_worker_peak_rss_mb"] and info["stats"]["max_worker_peak_rss_mb"] > 0
