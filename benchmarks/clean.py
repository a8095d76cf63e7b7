"""Benchmark of track cleaning: mosaic's filters vs bare numpy/scipy and vs movement's filters.

One recording of the ``big`` layout (8 individuals x 108,000 frames, body centre + 3 keypoints
with confidences, ~3 % missing in bursts, 0.4 % one-frame jumps) or the ``many`` layout
(4 individuals x 18,000 frames), as ``(frames, individuals, points, 2)`` arrays. For each
operation the time of

* ``mosaic``: :mod:`mosaic.quality.filters` (the functions the ``clean`` step runs);
* ``numpy``: a bare numpy/scipy version of the same operation (``np.where``; ``np.interp`` per
  series with the gap mask; ``scipy.ndimage.median_filter`` (edges mirrored) on gap-free data;
  ``scipy.signal.savgol_filter``);
* ``movement``: ``movement.filtering`` on the same data as an ``xarray.DataArray`` (when the
  optional ``bench`` extra is installed), with the largest absolute difference to mosaic's output;

then the whole default cleaning (confidence, jumps, swaps, interpolation, Savitzky–Golay) and a
dataset-level ``clean_tracks`` run (parquet in and out). Usage::

    python benchmarks/clean.py                 # big layout
    python benchmarks/clean.py --layout many --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LAYOUTS = {"big": (8, 108_000), "many": (4, 18_000)}


def make_arrays(n_ids: int, T: int, P: int = 4, seed: int = 0):
    """Random-walk positions with bursts of missing points, jumps and confidences."""
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.normal(0, 1.5, (T, n_ids, 1, 2)), axis=0) + rng.normal(0, 3, (1, n_ids, P, 2))
    pos[..., 0] += 400.0 * np.arange(n_ids)[None, :, None]  # individuals apart (random walks never cross)
    pos = pos + rng.normal(0, 0.5, (T, n_ids, P, 2))
    conf = rng.uniform(0.5, 1.0, (T, n_ids, P))
    starts = rng.integers(0, T, int(0.006 * T * n_ids * P))
    lens = rng.geometric(0.2, len(starts))
    cols = rng.integers(0, n_ids * P, len(starts))
    miss = np.zeros((T, n_ids * P), bool)
    for s, ln, c in zip(starts, lens, cols):  # benchmark data generation only
        miss[s : s + ln, c] = True
    miss = miss.reshape(T, n_ids, P)
    jumps = rng.random((T, n_ids, P)) < 0.004
    pos[jumps] += 40.0
    pos[miss] = np.nan
    return pos, conf


def bare_interp(pos: np.ndarray, max_gap: int) -> np.ndarray:
    out = pos.copy()
    T = pos.shape[0]
    flat = out.reshape(T, -1)
    t = np.arange(T)
    for c in range(flat.shape[1]):
        ok = ~np.isnan(flat[:, c])
        if ok.sum() < 2:
            continue
        filled = np.interp(t, t[ok], flat[ok, c])
        # gap length of every missing frame; fill only interior gaps <= max_gap
        miss = ~ok
        idx = np.flatnonzero(np.diff(np.concatenate([[0], miss.astype(np.int8), [0]])))
        for a, b in zip(idx[::2], idx[1::2]):
            if a > 0 and b < T and b - a <= max_gap:
                flat[a:b, c] = filled[a:b]
    return out


def timed(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", choices=sorted(LAYOUTS), default="big")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from scipy.ndimage import median_filter
    from scipy.signal import savgol_filter

    from mosaic.quality import filters
    from mosaic.quality.arrays import TrackArrays
    from mosaic.quality.clean import clean_arrays

    n_ids, T = LAYOUTS[args.layout]
    pos, conf = make_arrays(n_ids, T)
    gapfree, _ = filters.interpolate_gaps(pos, None)
    gapfree = np.nan_to_num(gapfree, nan=0.0)
    try:
        import xarray as xr
        from movement import filtering as mf
    except ImportError:
        mf = None
    print(f"layout {args.layout}: {n_ids} individuals x {T} frames x 4 points ({pos.size / 1e6:.1f} M values)")
    rows = []

    def da(a):
        return xr.DataArray(
            np.moveaxis(a, -1, 1),
            dims=("time", "space", "individuals", "keypoints"),
            coords={"time": np.arange(a.shape[0]), "space": ["x", "y"]},
        )

    back = lambda d: np.moveaxis(d.values, 1, -1)  # noqa: E731
    cases = [
        (
            "confidence",
            lambda: filters.filter_by_confidence(pos, conf, 0.6)[0],
            lambda: np.where((conf < 0.6)[..., None], np.nan, pos),
            (
                lambda: back(
                    mf.filter_by_confidence(
                        da(pos), xr.DataArray(conf, dims=("time", "individuals", "keypoints")), threshold=0.6
                    )
                )
            )
            if mf
            else None,
        ),
        (
            "interpolate (max_gap 10)",
            lambda: filters.interpolate_gaps(pos, 10)[0],
            lambda: bare_interp(pos, 10),
            (lambda: back(mf.interpolate_over_time(da(pos), max_gap=10))) if mf else None,
        ),
        (
            "rolling median (w 5)",
            lambda: filters.rolling_median(gapfree, 5),
            lambda: median_filter(gapfree, size=(5, 1, 1, 1), mode="mirror"),
            (lambda: back(mf.rolling_filter(da(gapfree), 5, statistic="median"))) if mf else None,
        ),
        (
            "savgol (w 7, order 2)",
            lambda: filters.savgol(gapfree, 7, 2),
            lambda: savgol_filter(gapfree, 7, 2, axis=0),
            (lambda: back(mf.savgol_filter(da(gapfree), 7, polyorder=2))) if mf else None,
        ),
    ]
    for name, ours, bare, mov in cases:
        t_ours, a = timed(ours, args.repeat)
        t_bare, b = timed(bare, args.repeat)
        diff_bare = float(np.nanmax(np.abs(a - b))) if np.isfinite(a).any() else 0.0
        t_mov, diff_mov = (np.nan, np.nan)
        if mov is not None:
            t_mov, c = timed(mov, args.repeat)
            diff_mov = float(np.nanmax(np.abs(a - c)))
        rows.append((name, t_ours, t_bare, t_mov, diff_bare, diff_mov))
    print(
        f"{'operation':26s} {'mosaic s':>9s} {'numpy s':>9s} {'ratio':>6s} {'movement s':>11s} "
        f"{'|d| numpy':>10s} {'|d| movement':>13s}"
    )
    for name, a, b, c, d1, d2 in rows:
        print(f"{name:26s} {a:9.3f} {b:9.3f} {a / b:6.2f} {c:11.3f} {d1:10.2e} {d2:13.2e}")
    arr = TrackArrays(np.arange(T), np.arange(n_ids), pos, conf, ["centre", "a", "b", "c"])
    t_all, (_, _, _, steps) = timed(lambda: clean_arrays(arr), 1)
    print(
        f"whole default cleaning (5 operations): {t_all:.2f} s "
        f"({T * n_ids / t_all / 1e6:.2f} M individual-frames/s); changed: "
        + ", ".join(f"{s['op']} {s['n_changed']}" for s in steps)
    )
    # dataset level: one recording through parquet in and out
    import pandas as pd

    from mosaic import Dataset
    from mosaic.core.indexes import TRACKS_INDEX, upsert_index
    from mosaic.tracks.io import write_tracks

    with tempfile.TemporaryDirectory() as d:
        ds = Dataset.create(Path(d) / "ds", name="bench")
        frames = np.repeat(np.arange(T, dtype=np.int64), n_ids)
        df = pd.DataFrame(
            {
                "frame": frames,
                "time": frames / 30.0,
                "id": np.tile(np.arange(n_ids), T),
                "X": pos[:, :, 0, 0].ravel(),
                "Y": pos[:, :, 0, 1].ravel(),
                "group": "g",
                "sequence": "s",
            }
        )
        for k in range(1, 4):
            df[f"poseX{k}"], df[f"poseY{k}"], df[f"poseP{k}"] = (
                pos[:, :, k, 0].ravel(),
                pos[:, :, k, 1].ravel(),
                conf[:, :, k].ravel(),
            )
        write_tracks(df, ds.get_root("tracks") / "g__s.parquet", {"fps": 30.0})
        upsert_index(
            ds.get_root("tracks") / "index.csv",
            [
                {
                    "group": "g",
                    "sequence": "s",
                    "group_safe": "g",
                    "sequence_safe": "s",
                    "abs_path": "tracks/g__s.parquet",
                    "schema": "trex_v1",
                    "src_format": "bench",
                    "n_rows": len(df),
                    "n_frames": T,
                    "n_ids": n_ids,
                    "fps": 30.0,
                }
            ],
            TRACKS_INDEX,
        )
        t_ds, _ = timed(lambda: ds.clean_tracks(overwrite=True, parallel_mode="serial"), 1)
        print(f"ds.clean_tracks (read + clean + validate + write, one recording): {t_ds:.2f} s")


if __name__ == "__main__":
    main()
