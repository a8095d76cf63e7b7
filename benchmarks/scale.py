"""Scale benchmarks: per-recording stages on the shared executor, and social features in large groups.

``pipeline`` — convert → features → frame sampling on a generated dataset (TRex ``.npz``
exports of the demo simulator, ``--groups × --sequences`` recordings of ``--animals`` animals
and ``--frames`` frames, each with a short rendered video). Every stage runs on the same
dataset three times, with ``overwrite``: ``serial``, ``process`` (2 loky workers) and ``dask``
(a ``LocalCluster`` of 2 single-threaded worker processes on 127.0.0.1 with
``memory_limit=--memory-limit`` each; Dask's spill/pause thresholds are off since tasks keep no
data in the worker, its terminate threshold — the nanny kills a worker above 95 % of the limit —
stays on). Printed: seconds and throughput (MB of track tables per second) per stage and mode,
whether the data files are byte-identical across modes, and memory per stage: the executor's
worker wrapper notes each task's resident memory before it starts (after freed memory went
back to the system) and resets the high-water mark (``VmHWM``), so each task's peak growth
above its worker's baseline is measured on its own; printed per stage (serial in this
process, dask on each worker) as the largest and the median growth, against one recording's
track table in memory. Also the sizes that matter: one recording's table and the whole
dataset's, against the cluster's total memory.

``groups`` — one recording of ``n`` animals (10, 100, 1000) × ``--group-frames`` frames (random
walks, in memory, no I/O): the time of :class:`NearestNeighbor` (k=1), of :class:`PairFeatures`
with ``neighbors=5`` and, on fewer frames where it would not fit, with all pairs; against a bare
floor (scipy ``cKDTree`` built and queried over the same points for k-NN; numpy ``hypot`` over
the ``(frames × n × n)`` block for all pairs). The exponent ``b`` of ``time ∝ n^b`` (least squares
on log-log over the group sizes) is printed for each.

Usage::

    python benchmarks/scale.py pipeline            # dataset >= 5x the cluster's memory
    python benchmarks/scale.py pipeline --quick    # a small smoke run
    python benchmarks/scale.py groups
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PLAN = {
    "steps": [
        {"key": "kinematics", "feature": "kinematics", "params": {"outputs": ["speed", "heading", "angular_velocity"]}},
        {"key": "nn", "feature": "nearest_neighbor", "params": {"k": 2}},
    ],
}
MODES = ("serial", "process", "dask")


def _status_mb(field: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _warm() -> float:
    """Import and exercise what the tasks use on a tiny table (run in each worker before measuring).

    Returns the RSS (MB) afterwards: the worker's baseline, before any recording.
    """
    import os

    import pandas as pd

    import mosaic.features.engine
    import mosaic.media.frames
    import mosaic.tracks.convert  # noqa: F401
    from mosaic.features.kinematics import Kinematics
    from mosaic.features.social import NearestNeighbor

    df, _, _ = walk(4, 100)
    df["ANGLE"] = 0.0
    out = Kinematics().apply(df).merge(NearestNeighbor().apply(df), on=["frame", "id"])
    path = Path(tempfile.gettempdir()) / f".mosaic-scale-warm-{os.getpid()}.parquet"
    out.to_parquet(path)
    out.to_parquet(path, compression="zstd")  # the codec feature outputs use
    pd.read_parquet(path)
    path.unlink()
    return _status_mb("VmRSS")


STAGES = {  # task function of each stage (as the executor records it)
    "convert": "mosaic.tracks.batch._convert_write",
    "features": "mosaic.features.engine.tasks.execute_task",
    "frames": "mosaic.media.frames._run_task",
}


def _task_memory() -> list[dict]:
    from mosaic.core.executor import task_memory

    return task_memory(clear=True)


def mark_first(records: list[dict]) -> list[dict]:
    """Flag each stage's first task in one process (it also pays for first imports and allocator set-up)."""
    seen = set()
    for r in records:
        r["first"] = r["task"] not in seen
        seen.add(r["task"])
    return records


def stage_memory(records: list[dict]) -> dict[str, dict[str, float]]:
    """Per stage: tasks, worker baseline (min/max RSS before a task) and peak growth above it.

    Growth: the largest, the largest apart from each process's first task of the stage, the median.
    """
    out = {}
    for stage, name in STAGES.items():
        mine = [r for r in records if r["task"] == name]
        if mine:
            growth = np.array([r["growth_mb"] for r in mine])
            later = [r["growth_mb"] for r in mine if not r.get("first")]
            out[stage] = {
                "tasks": len(mine),
                "base_min": min(r["base_mb"] for r in mine),
                "base_max": max(r["base_mb"] for r in mine),
                "peak_max": max(r["peak_mb"] for r in mine),
                "growth_max": float(growth.max()),
                "growth_max_later": max(later) if later else float("nan"),
                "growth_median": float(np.median(growth)),
            }
    return out


# ------------------------------------------------------------------------------ pipeline data
def build(folder: Path, n_groups: int, n_seq: int, n_animals: int, n_frames: int, video_frames: int) -> None:
    """Raw TRex exports and a short video per recording, indexed.

    One group of ``n_seq`` recordings is simulated and rendered; the other groups are copies
    of its files (the simulator's cost would otherwise dominate; throughput does not depend
    on the values).
    """
    from mosaic import Dataset
    from mosaic.core.safe_names import to_safe_name
    from mosaic.demo import simulate
    from mosaic.demo.trex import write_trex_npz
    from mosaic.demo.video import render_video

    ds = Dataset.create(folder, name="scale", meta={"fps_default": 30.0, "cm_per_pixel": 0.1})
    raw, media = ds.get_root("tracks_raw") / "trex", ds.get_root("media_raw")
    first = "group_0"
    for sim in simulate(1, n_seq, n_animals, n_frames, 30.0, seed=0, group_names=[first]):
        write_trex_npz(sim, raw / first, basename=to_safe_name(sim.sequence))
    for sim in simulate(1, n_seq, n_animals, video_frames, 30.0, seed=1, group_names=[first]):
        render_video(sim, media / first / f"{to_safe_name(sim.sequence)}.mp4", scale=0.25)
    for g in range(1, n_groups):
        name = f"group_{g}"
        for src in sorted((raw / first).iterdir()):
            dst = raw / name / src.name.replace(first, name)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        for src in sorted((media / first).iterdir()):
            dst = media / name / src.name.replace(first, name)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    ds.index_tracks_raw(["tracks_raw/trex"], patterns=["*.npz"], src_format="trex_npz", group_from="parent")
    ds.index_media(["media_raw"])


def table_sizes(folder: Path) -> tuple[float, float, int]:
    """(largest, total) in-memory size (MB) of the converted track tables, read one at a time; rows."""
    from mosaic.tracks import read_tracks

    sizes, rows = [], 0
    for p in sorted((folder / "tracks").glob("*.parquet")):
        df = read_tracks(p)
        sizes.append(df.memory_usage(deep=True).sum() / 2**20)
        rows += len(df)
        del df
    return max(sizes), sum(sizes), rows


def data_digest(folder: Path) -> dict[str, str]:
    """sha256 of every data file (parquet, png) under tracks/, features/, frames/."""
    out = {}
    for root in ("tracks", "features", "frames"):
        for p in sorted((folder / root).rglob("*")):
            if p.is_file() and p.suffix in (".parquet", ".png") and not p.name.startswith("."):
                out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_stages(folder: Path, mode: str, address: str | None) -> dict[str, float]:
    from mosaic import Dataset
    from mosaic.features.plan import run_feature_plan

    ds = Dataset.open(folder)
    ex = {"parallel_mode": mode, "parallel_workers": 1 if mode == "serial" else 2, "dask_address": address}
    secs = {}
    t0 = time.perf_counter()
    ds.convert_all_tracks(overwrite=True, **ex)
    secs["convert"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_feature_plan(ds, {**PLAN, "overwrite": True, **ex})
    secs["features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds.extract_frames(8, "uniform", overwrite=True, **ex)
    secs["frames"] = time.perf_counter() - t0
    return secs


def pipeline(args: argparse.Namespace) -> int:
    import dask
    from distributed import Client, LocalCluster

    from mosaic.core.executor import WORKER_ENV
    from mosaic.core.progress import set_progress

    set_progress(False)
    if args.quick:
        args.groups, args.sequences, args.frames = 2, 4, 9000
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mosaic-scale-"))
    folder = work / "ds"
    try:
        t0 = time.perf_counter()
        build(folder, args.groups, args.sequences, args.animals, args.frames, args.video_frames)
        print(
            f"data: {args.groups * args.sequences} recordings x {args.frames} frames x {args.animals} animals "
            f"(+ {args.video_frames}-frame videos), generated in {time.perf_counter() - t0:.0f} s"
        )
        results, digests, workers, memory = {}, {}, {}, {}
        cfg = {
            "distributed.worker.memory.target": False,
            "distributed.worker.memory.spill": False,
            "distributed.worker.memory.pause": False,
        }
        modes = [m for m in MODES if m in {"serial", "dask", *args.modes}]  # serial: the reference; dask: the bar
        for mode in modes:
            if mode != "dask":
                _task_memory()
                results[mode] = run_stages(folder, mode, None)
                if mode == "serial":  # the tasks ran in this process
                    memory["serial"] = stage_memory(mark_first(_task_memory()))
            else:
                with (
                    dask.config.set(cfg),
                    LocalCluster(
                        n_workers=2,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                        memory_limit=args.memory_limit,
                        env=dict(WORKER_ENV),  # as the executor's own LocalCluster
                    ) as cluster,
                    Client(cluster) as client,
                ):
                    before = client.run(_warm)
                    client.run(_task_memory)
                    results[mode] = run_stages(folder, mode, cluster.scheduler_address)
                    per_worker = client.run(_task_memory)
                    limit = next(iter(cluster.workers.values())).memory_manager.memory_limit / 2**20
                    workers = {a: (before[a], stage_memory(per_worker[a])) for a in before}
                    memory["dask"] = stage_memory([r for recs in per_worker.values() for r in mark_first(recs)])
            digests[mode] = data_digest(folder)
        one_mb, all_mb, rows = table_sizes(folder)
        cluster_mb = 2 * limit
        print(
            f"track tables in memory: {all_mb:.0f} MB in all ({rows:,} rows), {one_mb:.1f} MB the largest recording; "
            f"cluster memory 2 x {limit:.0f} MB = {cluster_mb:.0f} MB -> "
            f"dataset = {all_mb / cluster_mb:.1f} x the cluster"
        )
        print(f"{'stage':<10}" + "".join(f"{m:>22}" for m in modes))
        for stage in ("convert", "features", "frames"):
            cells = [f"{results[m][stage]:8.1f} s {all_mb / results[m][stage]:6.1f} MB/s" for m in modes]
            print(f"{stage:<10}" + "".join(f"{c:>22}" for c in cells))
        total = {m: sum(results[m][s] for s in ("convert", "features", "frames")) for m in modes}
        print(f"{'total':<10}" + "".join(f"{total[m]:20.1f} s" for m in modes))
        same = all(digests[m] == digests["serial"] for m in modes)
        print(f"data files byte-identical across modes: {same} ({len(digests['serial'])} files)")
        report_memory(workers, memory, one_mb, limit)
        return 0 if same else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report_memory(workers: dict, memory: dict, one_mb: float, limit: float) -> None:
    """Per stage: each task's peak memory above its worker's baseline, against one recording's table."""
    for a, (b, stages) in sorted(workers.items()):
        base = ", ".join(f"{k} {v['base_min']:.0f}-{v['base_max']:.0f} MB" for k, v in stages.items())
        print(f"dask worker {a}: RSS after imports {b:.0f} MB; before each task: {base} (limit {limit:.0f} MB)")
    print(f"peak growth of a task above its worker's baseline (one recording's table: {one_mb:.1f} MB):")
    for mode, stages in memory.items():
        for stage, v in stages.items():
            print(
                f"  {mode:<7}{stage:<10}{v['tasks']:5d} tasks: median {v['growth_median']:5.1f} MB = "
                f"{v['growth_median'] / one_mb:4.2f} x the table, max {v['growth_max_later']:5.1f} MB = "
                f"{v['growth_max_later'] / one_mb:4.2f} x (a worker's first task of the stage: up to "
                f"{v['growth_max']:5.1f} MB = {v['growth_max'] / one_mb:4.2f} x); worker peak {v['peak_max']:.0f} MB"
            )


# ------------------------------------------------------------------------------ group sizes
def walk(n: int, T: int, seed: int = 0):
    """A long table of ``n`` random walkers over ``T`` frames (2 % missing), with attrs set."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    side = 40.0 * np.sqrt(n)  # constant density
    X = side * rng.random((1, n)) + np.cumsum(rng.normal(size=(T, n)), axis=0)
    Y = side * rng.random((1, n)) + np.cumsum(rng.normal(size=(T, n)), axis=0)
    X[rng.random((T, n)) < 0.02] = np.nan
    df = pd.DataFrame(
        {
            "frame": np.repeat(np.arange(T, dtype=np.int64), n),
            "id": np.tile(np.arange(n), T),
            "X": X.ravel(),
            "Y": Y.ravel(),
        }
    )
    df.attrs.update({"fps": 30.0, "group": "g", "sequence": "s"})
    return df, X, Y


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _drain(chunks) -> int:
    return sum(len(c) for c in chunks)


def knn_floor(X: np.ndarray, Y: np.ndarray, k: int) -> int:
    """The best bare implementation of "k nearest per frame" in the long layout (t, i, j, distance).

    Small groups: the dense distance block and ``argpartition``; large groups: one scipy
    ``cKDTree`` over ``(x, y, t·L)`` per frame block, queried for ``k + 1``. Same frame blocks
    as the feature.
    """
    from scipy.spatial import cKDTree

    from mosaic.features.neighbors import DENSE_MAX_N, chunk_frames

    T, n = X.shape
    step = chunk_frames(n, 4096)
    rows = 0
    for a in range(0, T, step):
        x, y = X[a : a + step], Y[a : a + step]
        if n <= DENSE_MAX_N:
            d = np.hypot(x[:, None, :] - x[:, :, None], y[:, None, :] - y[:, :, None])
            d[np.isnan(d) | np.eye(n, dtype=bool)[None]] = np.inf
            j = np.argpartition(d, min(k, n - 2), axis=2)[:, :, :k]
            dk = np.take_along_axis(d, j, axis=2)
            t, i, r = np.nonzero(np.isfinite(dk))
            out = (t, i, j[t, i, r], dk[t, i, r])
        else:
            t, i = np.nonzero(np.isfinite(x) & np.isfinite(y))
            L = 4.0 * max(np.nanmax(x) - np.nanmin(x), np.nanmax(y) - np.nanmin(y)) + 1.0
            pts = np.column_stack([x[t, i], y[t, i], t * L])
            d, q = cKDTree(pts).query(pts, k=k + 1, distance_upper_bound=L / 2)
            p, r = np.nonzero(np.isfinite(d[:, 1:]))
            out = (t[p], i[p], i[q[p, r + 1]], d[p, r + 1])
        rows += len(out[0])
    return rows


def all_pairs_floor(X: np.ndarray, Y: np.ndarray) -> int:
    """Bare numpy all pairs in the long layout: the (frames × n × n) block, its (t, i, j) and distances."""
    from mosaic.features.neighbors import DENSE_CELLS

    T, n = X.shape
    step = max(1, min(4096, DENSE_CELLS // (n * n)))
    rows = 0
    for a in range(0, T, step):
        x, y = X[a : a + step], Y[a : a + step]
        ok = np.isfinite(x)
        m = ok[:, :, None] & ok[:, None, :] & ~np.eye(n, dtype=bool)[None]
        t, i, j = np.nonzero(m)
        d = np.hypot(x[:, None, :] - x[:, :, None], y[:, None, :] - y[:, :, None])[m]
        rows += len(d)
        del t, i, j
    return rows


def one_size(n: int, T: int, all_pairs_rows: float) -> dict:
    from mosaic.features.pair import PairFeatures
    from mosaic.features.social import NearestNeighbor

    df, X, Y = walk(n, T)
    r = {"n": n, "T": T}
    r["nn"] = _time(lambda: NearestNeighbor(k=1).apply(df))
    r["nn_floor"] = _time(lambda: knn_floor(X, Y, 1))
    pk = PairFeatures(outputs=["distance"], neighbors=5)
    rows = []
    r["pair_k5"] = _time(lambda: rows.append(_drain(pk.apply_chunks(df))))
    r["pair_k5_rows"] = rows[0]
    r["pair_k5_floor"] = _time(lambda: knn_floor(X, Y, 5))
    # all pairs: n(n-1) rows per frame; on fewer frames when that would be too many, scaled per frame
    Ta = max(2, min(T, int(all_pairs_rows // (n * (n - 1)))))
    dfa, Xa, Ya = walk(n, Ta)
    pa = PairFeatures(outputs=["distance"], neighbors="all")
    r["all_frames"] = Ta
    r["pair_all"] = _time(lambda: _drain(pa.apply_chunks(dfa))) * T / Ta
    r["pair_all_floor"] = _time(lambda: all_pairs_floor(Xa, Ya)) * T / Ta
    return r


def groups(args: argparse.Namespace) -> int:
    import scipy.spatial  # noqa: F401 - imported before timing

    import mosaic.features.pair
    import mosaic.features.social  # noqa: F401

    one_size(5, 50, 1e3)  # warm-up: lazy imports, allocator
    rows = []
    for n in args.sizes:
        r = one_size(n, args.group_frames, args.all_pairs_rows)
        rows.append(r)
        print(
            f"n={n:5d} T={r['T']}: NN k=1 {r['nn']:7.2f} s (floor {r['nn_floor']:6.2f} s) | "
            f"pair k=5 {r['pair_k5']:7.2f} s "
            f"({r['pair_k5_rows']:,} rows; floor {r['pair_k5_floor']:6.2f} s) | all pairs {r['pair_all']:9.2f} s "
            f"(floor {r['pair_all_floor']:8.2f} s; measured on {r['all_frames']} frames, scaled)",
            flush=True,
        )
    logn = np.log([r["n"] for r in rows])
    for key in ("nn", "nn_floor", "pair_k5", "pair_k5_floor", "pair_all", "pair_all_floor"):
        b = np.polyfit(logn, np.log([r[key] for r in rows]), 1)[0]
        print(f"exponent b (time ~ n^b) of {key:<15}: {b:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("pipeline")
    p.add_argument("--groups", type=int, default=32)
    p.add_argument("--sequences", type=int, default=8)
    p.add_argument("--animals", type=int, default=8)
    p.add_argument("--frames", type=int, default=24_000)
    p.add_argument("--video-frames", type=int, default=300)
    p.add_argument("--memory-limit", default="300MiB", help="per Dask worker")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="serial is the reference")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    g = sub.add_parser("groups")
    g.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    g.add_argument("--group-frames", type=int, default=10_000)
    g.add_argument("--all-pairs-rows", type=float, default=5e6, help="cap of all-pairs rows measured per size")
    args = ap.parse_args(argv)
    return pipeline(args) if args.what == "pipeline" else groups(args)


if __name__ == "__main__":
    sys.exit(main())
