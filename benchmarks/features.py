"""Benchmark of the feature engine against bare numpy references (same parquet I/O).

Generates TRex-layout standardized tracks (``trex_v1``: frame, time, id, X, Y, ANGLE, SPEED,
group, sequence; ~2 % missing detections) for two layouts:

* ``big``:   8 individuals × 108,000 frames × 4 sequences
* ``many``:  4 individuals × 18,000 frames × 10 sequences

and times, for each case, ``run_feature`` (serial, fresh run) and a bare numpy reference that
reads the same columns, pivots to (frames × individuals), computes the same columns and writes
the same parquet output:

* ``kin``:   speed + heading (from ANGLE) + angular velocity
* ``nn``:    nearest neighbour (id and distance)
* ``pairs``: all-pairs distance (every ordered pair, long table keyed by frame, id, id2)

Every (case, implementation) runs in a fresh subprocess, so its peak RSS (``ru_maxrss``) is its
own (VmHWM). ``import MB`` is the RSS after imports, ``base MB`` after a warm-up run on a
10-frame copy (allocator arenas, thread pools, lazy imports: paid once per worker); the
per-recording memory is ``(peak - base) / one sequence's table``. For ``--process`` the peak is the
largest worker's (recorded by the engine in ``run.json``), compared with the driver's baseline. Sizes are compared to one sequence's track
table in memory. Usage::

    python benchmarks/features.py            # both layouts
    python benchmarks/features.py --layout big --cases kin nn
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LAYOUTS = {"big": (8, 108_000, 4), "many": (4, 18_000, 10)}
CASES = ("kin", "nn", "pairs")
FPS = 30.0


def _rss_mb() -> float:
    """Peak RSS of this process in MB: VmHWM (reset by exec, unlike ru_maxrss), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------------ data
def make_dataset(folder: Path, n_ids: int, n_frames: int, n_seq: int, seed: int = 0) -> None:
    """Write ``n_seq`` TRex-layout track files + tracks/index.csv under ``folder``."""
    import pandas as pd

    from mosaic.core.dataset import DatasetCore
    from mosaic.core.indexes import TRACKS_INDEX, upsert_index
    from mosaic.core.safe_names import sequence_key, to_safe_name
    from mosaic.tracks.io import write_tracks

    ds = DatasetCore.create(folder, name="bench", meta={"fps_default": FPS})
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_seq):
        g, s = "bench", f"seq{k:02d}"
        T, n = n_frames, n_ids
        X = np.cumsum(rng.normal(0, 1.0, (T, n)), axis=0) + 500.0
        Y = np.cumsum(rng.normal(0, 1.0, (T, n)), axis=0) + 500.0
        A = np.angle(np.exp(1j * np.cumsum(rng.normal(0, 0.05, (T, n)), axis=0)))
        miss = rng.random((T, n)) < 0.02
        X[miss] = Y[miss] = A[miss] = np.nan
        frames = np.repeat(np.arange(T, dtype=np.int64), n)
        df = pd.DataFrame(
            {
                "frame": frames,
                "time": frames / FPS,
                "id": np.tile(np.arange(n, dtype=np.int64), T),
                "X": X.ravel(),
                "Y": Y.ravel(),
                "ANGLE": A.ravel(),
                "SPEED": np.abs(rng.normal(5, 1, T * n)),
                "group": g,
                "sequence": s,
            }
        )
        path = ds.get_root("tracks") / f"{sequence_key(g, s)}.parquet"
        write_tracks(df, path, {"fps": FPS})
        rows.append(
            {
                "group": g,
                "sequence": s,
                "group_safe": to_safe_name(g),
                "sequence_safe": to_safe_name(s),
                "abs_path": ds.relative_path(path),
                "schema": "trex_v1",
                "src_format": "bench",
                "n_rows": len(df),
                "n_frames": T,
                "n_ids": n,
                "fps": FPS,
            }
        )
    upsert_index(ds.get_root("tracks") / "index.csv", rows, TRACKS_INDEX)
    if n_frames > 10:  # a tiny copy of the layout, run once before measuring (library warm-up)
        make_dataset(folder / "warmup", n_ids, 10, 1, seed)
    table_mb = df.memory_usage(deep=True).sum() / 2**20
    (folder / "bench.json").write_text(json.dumps({"table_mb": table_mb, "rows_per_seq": len(df)}))


# ------------------------------------------------------------------------------------ numpy references
def _pivot(frame, ids, *cols):
    f0 = frame.min()
    T = int(frame.max() - f0 + 1)
    uniq = np.unique(ids)
    t, i = frame - f0, np.searchsorted(uniq, ids)
    out = []
    for c in cols:
        a = np.full((T, len(uniq)), np.nan)
        a[t, i] = c
        out.append(a)
    return t, i, uniq, f0, out


def _write(cols: dict, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path, compression="zstd")


def ref_kin(src: Path, dst: Path) -> None:
    import pyarrow.parquet as pq

    tb = pq.read_table(src, columns=["frame", "id", "X", "Y", "ANGLE"])
    fr, ids = tb["frame"].to_numpy(), tb["id"].to_numpy()
    t, i, _, _, (X, Y, A) = _pivot(fr, ids, *(tb[c].to_numpy() for c in ("X", "Y", "ANGLE")))
    dt = 1.0 / FPS
    sp = np.hypot(np.gradient(X, dt, axis=0), np.gradient(Y, dt, axis=0))
    dA = np.full_like(A, np.nan)
    dA[1:-1] = np.angle(np.exp(1j * (A[2:] - A[:-2]))) / (2 * dt)
    _write({"frame": fr, "id": ids, "speed_px_s": sp[t, i], "heading_rad": A[t, i], "angvel_rad_s": dA[t, i]}, dst)


def ref_nn(src: Path, dst: Path) -> None:
    import pyarrow.parquet as pq

    tb = pq.read_table(src, columns=["frame", "id", "X", "Y"])
    fr, ids = tb["frame"].to_numpy(), tb["id"].to_numpy()
    t, i, uniq, _, (X, Y) = _pivot(fr, ids, tb["X"].to_numpy(), tb["Y"].to_numpy())
    d = np.hypot(X[:, None, :] - X[:, :, None], Y[:, None, :] - Y[:, :, None])
    d[np.isnan(d) | np.eye(len(uniq), dtype=bool)[None]] = np.inf
    j = np.argmin(d, axis=2)
    dd = np.take_along_axis(d, j[:, :, None], axis=2)[:, :, 0]
    dd[np.isinf(dd)] = np.nan
    _write({"frame": fr, "id": ids, "nn1_id": uniq[j][t, i], "nn1_dist_px": dd[t, i]}, dst)


def ref_pairs(src: Path, dst: Path) -> None:
    import pyarrow.parquet as pq

    tb = pq.read_table(src, columns=["frame", "id", "X", "Y"])
    fr, ids = tb["frame"].to_numpy(), tb["id"].to_numpy()
    t, i, uniq, f0, (X, Y) = _pivot(fr, ids, tb["X"].to_numpy(), tb["Y"].to_numpy())
    pres = np.zeros(X.shape, bool)
    pres[t, i] = True
    d = np.hypot(X[:, None, :] - X[:, :, None], Y[:, None, :] - Y[:, :, None])
    m = pres[:, :, None] & pres[:, None, :] & ~np.eye(len(uniq), dtype=bool)[None]
    tt, ii, jj = np.nonzero(m)
    _write({"frame": tt + f0, "id": uniq[ii], "id2": uniq[jj], "distance_px": d[m]}, dst)


REFS = {"kin": ref_kin, "nn": ref_nn, "pairs": ref_pairs}


def engine_feature(case: str):
    from mosaic.features.kinematics import Kinematics
    from mosaic.features.pair import PairDistance
    from mosaic.features.social import NearestNeighbor

    return {
        "kin": lambda: Kinematics(outputs=["speed", "heading", "angular_velocity"]),
        "nn": lambda: NearestNeighbor(k=1),
        "pairs": lambda: PairDistance(),
    }[case]()


# ------------------------------------------------------------------------------------ one measurement
def measure(folder: Path, case: str, impl: str, mode: str, workers: int) -> dict:
    import pandas  # noqa: F401  - imports are part of the baseline, not of the measurement
    import pyarrow.parquet  # noqa: F401

    from mosaic.core.dataset import DatasetCore
    from mosaic.features.engine import run_feature

    ds = DatasetCore.open(folder)
    idx = ds.tracks_index()
    base_imports = _rss_mb()
    # warm-up on a 10-frame copy: allocator arenas, thread pools and lazy imports are paid once per
    # worker, not per recording, so the per-recording memory is measured above this baseline
    warm = DatasetCore.open(folder / "warmup")
    if impl == "engine":
        run_feature(warm, engine_feature(case), overwrite=True)
    else:
        for p in warm.tracks_index()["abs_path"]:
            REFS[case](warm.resolve_path(p), folder / "warmup" / "ref" / case / Path(p).name)
    base = _rss_mb()
    t0 = time.perf_counter()
    worker_peak = None
    if impl == "engine":
        res = run_feature(
            ds,
            engine_feature(case),
            overwrite=True,
            parallel_mode=mode,
            parallel_workers=workers if mode != "thread" or workers > 1 else None,
        )
        if mode != "thread":  # peaks of the worker processes, recorded by the engine in run.json
            info = json.loads((res.paths[0].parent / "run.json").read_text())
            worker_peak = info["stats"]["max_worker_peak_rss_mb"]
    else:
        out = folder / "ref" / case
        for p in idx["abs_path"]:
            REFS[case](ds.resolve_path(p), out / Path(p).name)
    secs = time.perf_counter() - t0
    peak = _rss_mb() if worker_peak is None else worker_peak
    return {"seconds": secs, "peak_rss_mb": peak, "base_rss_mb": base, "import_rss_mb": base_imports, "n_seq": len(idx)}


def run_one(folder: Path, case: str, impl: str, mode: str = "thread", workers: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--measure", str(folder), case, impl, mode, str(workers)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layout", choices=list(LAYOUTS) + ["all"], default="all")
    ap.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    ap.add_argument("--process", action="store_true", help="also time parallel_mode='process' with 2 workers")
    ap.add_argument("--measure", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.measure:
        folder, case, impl, mode, workers = a.measure
        print(json.dumps(measure(Path(folder), case, impl, mode, int(workers))))
        return
    layouts = list(LAYOUTS) if a.layout == "all" else [a.layout]
    with tempfile.TemporaryDirectory(prefix="mosaic-bench-features-") as tmp:
        for name in layouts:
            n, T, S = LAYOUTS[name]
            folder = Path(tmp) / name
            t0 = time.perf_counter()
            make_dataset(folder, n, T, S)
            info = json.loads((folder / "bench.json").read_text())
            print(
                f"\n== {name}: {n} individuals x {T:,} frames x {S} sequences "
                f"({info['rows_per_seq'] * S:,} rows; one sequence's table = {info['table_mb']:.1f} MB; "
                f"generated in {time.perf_counter() - t0:.1f} s)"
            )
            print(
                f"{'case':<8}{'impl':<16}{'total s':>9}{'s/seq':>8}{'Mrows/s':>9}{'peak MB':>9}{'import MB':>10}{'base MB':>9}"
                f"{'(peak-base)/table':>19}{'ratio':>7}"
            )
            for case in a.cases:
                res = {}
                impls = [("numpy-ref", "thread", 1), ("engine", "thread", 1)]
                if a.process:
                    impls.append(("engine", "process", 2))
                for impl, mode, w in impls:
                    label = impl if mode == "thread" else f"{impl}/{mode}{w}"
                    r = run_one(folder, case, impl, mode, w)
                    res[label] = r
                    ratio = r["seconds"] / res["numpy-ref"]["seconds"]
                    rows = info["rows_per_seq"] * S
                    print(
                        f"{case:<8}{label:<16}{r['seconds']:>9.3f}{r['seconds'] / S:>8.3f}{rows / r['seconds'] / 1e6:>9.2f}"
                        f"{r['peak_rss_mb']:>9.0f}{r['import_rss_mb']:>10.0f}{r['base_rss_mb']:>9.0f}"
                        f"{(r['peak_rss_mb'] - r['base_rss_mb']) / info['table_mb']:>19.2f}{ratio:>7.2f}"
                    )


if __name__ == "__main__":
    main()
