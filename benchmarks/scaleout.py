"""Scale-out: featurize 40 recordings serially and on a Dask LocalCluster (2 workers, loopback); peak RSS per worker.

Data: the demo simulator (``mosaic.demo.simulate``) writes 40 recordings (4 groups × 10
sequences, 2–6 animals, ``--frames`` frames each) as TRex ``.npz`` exports; they are
indexed and converted to ``trex_v1`` once. Then the same feature plan (kinematics, pair,
rolling window over kinematics — as in ``conf/base/parameters_featurize.yml``, trimmed) runs

* serially (``parallel_mode='thread'``, 1 worker) in a fresh process, and
* on a ``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
  host='127.0.0.1', dashboard_address=None)`` through ``dask_address``,

on two copies of the converted dataset. Printed: seconds of each run, whether every
feature output is equal (content digests as in ``tests/reliability/crash.py``), each
worker's RSS after start-up and its peak RSS (``VmHWM`` from ``/proc``, read in the worker
with ``client.run``), the size of the largest recording (tracks table in memory, and the
largest feature output of one recording) and of the whole dataset — memory per worker is
bounded by one recording when the peak growth stays near the former and far below the latter.

Usage::

    python benchmarks/scaleout.py               # 40 recordings x 9000 frames
    python benchmarks/scaleout.py --quick       # 40 recordings x 1800 frames
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PLAN = {
    "steps": [
        {
            "key": "kinematics",
            "feature": "kinematics",
            "params": {"outputs": ["velocity", "speed", "acceleration", "heading", "angular_velocity"]},
        },
        {"key": "pair", "feature": "pair", "params": {"outputs": ["distance", "facing", "relative_speed"]}},
        {
            "key": "kinematics_rolling",
            "feature": "rolling",
            "inputs": ["kinematics"],
            "params": {"windows": [15], "stats": ["mean", "std"], "columns": ["speed_px_s"]},
        },
    ],
}


def _vmhwm_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _vmrss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _warm() -> float:
    """Import what a task imports (runs in each worker before the measurement) and return RSS."""
    import mosaic.features.engine
    import mosaic.features.kinematics
    import mosaic.features.pair
    import mosaic.tracks  # noqa: F401

    return _vmrss_mb()


def build(folder: Path, n_frames: int, seed: int = 0) -> None:
    from mosaic import Dataset
    from mosaic.core.safe_names import to_safe_name
    from mosaic.demo import simulate
    from mosaic.demo.trex import write_trex_npz

    ds = Dataset.create(folder, name="scaleout", meta={"fps_default": 30.0, "cm_per_pixel": 0.1})
    for sim in simulate(n_groups=4, n_sequences=10, n_animals=(2, 6), n_frames=n_frames, fps=30.0, seed=seed):
        write_trex_npz(
            sim, ds.get_root("tracks_raw") / "trex" / to_safe_name(sim.group), basename=to_safe_name(sim.sequence)
        )
    ds.index_tracks_raw(["tracks_raw/trex"], patterns=["*.npz"], src_format="trex_npz", group_from="parent")
    ds.convert_all_tracks()


def run_serial(folder: str, only: str | None = None) -> None:
    """In a fresh process: the serial run (of one recording ``group/sequence`` when ``only``);
    prints JSON {seconds, peak_rss_mb, rss_before_mb}."""
    from mosaic import Dataset
    from mosaic.features.plan import run_feature_plan

    ds = Dataset.open(folder)
    scope = {}
    if only:
        g, s = only.split("/", 1)
        scope = {"groups": [g], "sequences": [s]}
    before = _warm()
    t0 = time.perf_counter()
    run_feature_plan(ds, {**PLAN, **scope, "parallel_mode": "thread", "parallel_workers": 1})
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mb": _vmhwm_mb(), "rss_before_mb": before}))


def run_dask(folder: Path) -> dict:
    from distributed import Client, LocalCluster

    from mosaic import Dataset
    from mosaic.features.plan import run_feature_plan

    ds = Dataset.open(folder)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        before = client.run(_warm)
        t0 = time.perf_counter()
        run_feature_plan(ds, {**PLAN, "parallel_mode": "dask", "dask_address": cluster.scheduler_address})
        seconds = time.perf_counter() - t0
        peaks = client.run(_vmhwm_mb)
    return {"seconds": seconds, "rss_before_mb": before, "peak_rss_mb": peaks}


def sizes(folder: Path) -> dict:
    import pandas as pd

    from mosaic.tracks import read_tracks

    tracks = sorted((folder / "tracks").glob("*.parquet"))
    mem = [read_tracks(p).memory_usage(deep=True).sum() / 2**20 for p in tracks]
    feats = sorted((folder / "features").glob("*/*/*.parquet"))
    fmems = [pd.read_parquet(p).memory_usage(deep=True).sum() / 2**20 for p in feats]
    return {
        "n_recordings": len(tracks),
        "largest_tracks_mb": max(mem),
        "all_tracks_mb": sum(mem),
        "largest_feature_output_mb": max(fmems) if fmems else float("nan"),
        "all_feature_outputs_mb": sum(fmems),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=9000, help="frames per recording")
    ap.add_argument("--quick", action="store_true", help="1800 frames per recording")
    ap.add_argument("--_serial", help=argparse.SUPPRESS)
    ap.add_argument("--_only", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._serial:
        run_serial(args._serial, args._only)
        return 0
    from tests.reliability.crash import snapshot
    from tests.reliability.stages_more import VOL_FEATURES

    n_frames = 1800 if args.quick else args.frames
    work = Path(tempfile.mkdtemp(prefix="mosaic-scaleout-"))
    try:
        t0 = time.perf_counter()
        base = work / "base"
        build(base, n_frames)
        print(
            f"data: 40 recordings x {n_frames} frames (2-6 animals), built and converted in {time.perf_counter() - t0:.1f} s"
        )
        serial_dir, dask_dir = work / "serial", work / "dask"
        shutil.copytree(base, serial_dir)
        shutil.copytree(base, dask_dir)
        env = dict(os.environ, KEDRO_DISABLE_TELEMETRY="1")
        out = subprocess.run(
            [sys.executable, __file__, "--_serial", str(serial_dir)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        serial = json.loads(out.stdout.strip().splitlines()[-1])
        # the largest recording alone, serially, in a fresh process: the one-recording yardstick
        import pandas as pd

        tidx = pd.read_csv(base / "tracks" / "index.csv", dtype={"group": str, "sequence": str})
        big = tidx.sort_values("n_rows").iloc[-1]
        one_dir = work / "one"
        shutil.copytree(base, one_dir)
        out = subprocess.run(
            [sys.executable, __file__, "--_serial", str(one_dir), "--_only", f"{big['group']}/{big['sequence']}"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        one = json.loads(out.stdout.strip().splitlines()[-1])
        dask = run_dask(dask_dir)
        equal = snapshot(serial_dir, ["features"], VOL_FEATURES) == snapshot(dask_dir, ["features"], VOL_FEATURES)
        sz = sizes(serial_dir)
        print(
            f"serial, all 40 recordings (1 thread, fresh process): {serial['seconds']:.2f} s; RSS after imports "
            f"{serial['rss_before_mb']:.0f} MB, peak {serial['peak_rss_mb']:.0f} MB (growth {serial['peak_rss_mb'] - serial['rss_before_mb']:.0f} MB)"
        )
        print(
            f"serial, largest recording only ({big['group']}/{big['sequence']}, {int(big['n_rows'])} rows): "
            f"peak {one['peak_rss_mb']:.0f} MB (growth {one['peak_rss_mb'] - one['rss_before_mb']:.0f} MB)"
        )
        print(f"dask LocalCluster 2 workers (127.0.0.1): {dask['seconds']:.2f} s; outputs equal to serial: {equal}")
        for addr in sorted(dask["peak_rss_mb"]):
            b, p = dask["rss_before_mb"][addr], dask["peak_rss_mb"][addr]
            print(f"  worker {addr}: RSS after imports {b:.0f} MB, peak {p:.0f} MB (growth {p - b:.0f} MB)")
        growth = max(dask["peak_rss_mb"][a] - dask["rss_before_mb"][a] for a in dask["peak_rss_mb"])
        print(
            f"one recording: largest tracks table {sz['largest_tracks_mb']:.1f} MB in memory, largest feature output "
            f"{sz['largest_feature_output_mb']:.1f} MB; all {sz['n_recordings']} recordings: tracks {sz['all_tracks_mb']:.1f} MB, "
            f"feature outputs {sz['all_feature_outputs_mb']:.0f} MB"
        )
        one_growth = one["peak_rss_mb"] - one["rss_before_mb"]
        print(
            f"max dask worker peak growth {growth:.0f} MB vs {one_growth:.0f} MB for the largest recording alone "
            f"({growth / max(one_growth, 1e-9):.2f} x): memory per worker is bounded by one recording, not by the "
            f"{sz['n_recordings']} recordings ({sz['all_tracks_mb']:.0f} MB of tracks, {sz['all_feature_outputs_mb']:.0f} MB of outputs)"
        )
        return 0 if equal else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
