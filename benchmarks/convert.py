"""Benchmark: TRex per-individual ``.npz`` → validated ``trex_v1`` parquet.

Generates TRex-layout exports (current TRex keys: ``X#wcentroid`` etc. in cm, ``inf`` +
``missing`` where undetected, ``cm_per_pixel``/``frame_rate`` keys), indexes them,
converts them with :func:`mosaic.tracks.convert_all_tracks` and prints seconds, rows/s
and peak RSS.

Memory: each scenario runs in its own fresh Python process (``ru_maxrss`` is a lifetime
maximum, so a second scenario in the same process would only see the first one's peak).
Data generation runs in a forked child. ``RSS before`` is the process's peak RSS after
imports and indexing, just before ``convert_all_tracks``; the figure is
``(peak RSS - RSS before) / one sequence's table``, where the table is the first
converted file read back with :func:`mosaic.tracks.read_tracks` and sized with
``DataFrame.memory_usage(deep=True)`` (read after the peak is taken). Nothing is warmed
up: one-time costs (first parquet write, lazily imported converter) count.

Usage::

    python benchmarks/convert.py            # both scenarios
    python benchmarks/convert.py --quick    # small smoke run
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FIELDS_PER_FILE = (
    "frame",
    "time",
    "timestamp",
    "missing",
    "X#wcentroid",
    "Y#wcentroid",
    "X",
    "Y",
    "ANGLE",
    "SPEED",
    "SPEED#wcentroid",
    "VX",
    "VY",
    "num_pixels",
    "midline_length",
)


def _write_sequence(folder: Path, video: str, n_ind: int, n_frames: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n_ind):
        start = int(rng.integers(0, 50))
        frames = np.arange(start, n_frames, dtype=np.float32)  # TRex writes float32 frames
        n = len(frames)
        steps = rng.normal(0, 0.05, size=(n, 2)).cumsum(axis=0).astype(np.float32) + 50
        missing = rng.random(n) < 0.02
        data = {
            "frame": frames,
            "time": (frames / 30.0).astype(np.float32),
            "timestamp": (frames * 33333.3).astype(np.float32),
            "missing": missing.astype(np.float32),
        }
        for name in FIELDS_PER_FILE[4:]:
            v = (
                steps[:, 0]
                if name.startswith("X")
                else steps[:, 1]
                if name.startswith("Y")
                else rng.random(n).astype(np.float32)
            )
            v = v.copy()
            v[missing] = np.inf
            data[name] = v
        data.update(
            cm_per_pixel=np.array([0.0123], np.float32),
            frame_rate=np.array([30.0], np.float32),
            id=np.array([k], np.int64),
        )
        np.savez(folder / f"{video}_fish{k}.npz", **data)


def _generate(root: str, scenarios: list[tuple[int, int, int]]) -> None:
    for si, (n_ind, n_frames, n_seq) in enumerate(scenarios):
        for s in range(n_seq):
            _write_sequence(
                Path(root) / "tracks_raw" / "trex" / f"scen{si}", f"video{s:02d}", n_ind, n_frames, seed=si * 100 + s
            )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(scenarios: list[tuple[int, int, int]], first: int = 0) -> None:
    from mosaic import Dataset
    from mosaic.tracks import read_tracks

    for si, scen in enumerate(scenarios, start=first):
        tmp = Path(tempfile.mkdtemp(prefix="mosaic-bench-"))
        try:
            ds = Dataset.create(tmp, name="bench")
            ctx = mp.get_context("fork")
            p = ctx.Process(target=_generate, args=(str(tmp), [scen]))
            p.start()
            p.join()
            n_ind, n_frames, n_seq = scen
            ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
            base = _rss_mb()
            t0, c0 = time.perf_counter(), time.process_time()
            report = ds.convert_all_tracks()
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            peak = _rss_mb()
            idx = ds.tracks_index()
            rows = int(idx["n_rows"].sum())
            one = read_tracks(ds.resolve_path(idx["abs_path"].iloc[0]))
            table_mb = one.memory_usage(deep=True).sum() / 2**20
            raw_mb = sum(f.stat().st_size for f in (tmp / "tracks_raw").rglob("*.npz")) / 2**20
            print(
                f"scenario {si}: {n_ind} individuals x {n_frames} frames x {n_seq} sequences "
                f"({len(report['converted'])} converted, {len(report['failed'])} failed)"
            )
            print(f"  rows            {rows:,}")
            print(f"  npz on disk     {raw_mb:,.1f} MB")
            print(f"  seconds         {dt:.3f} wall, {cpu:.3f} CPU (this process)")
            print(f"  rows/s          {rows / dt / 1e6:.2f} M (wall), {rows / cpu / 1e6:.2f} M (CPU)")
            print(f"  one sequence's table in memory {table_mb:,.1f} MB")
            print(
                f"  RSS before conversion {base:,.1f} MB; peak RSS {peak:,.1f} MB "
                f"(growth {peak - base:,.1f} MB = {(peak - base) / table_mb:.2f}x one table)"
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--scenario", type=int, help=argparse.SUPPRESS)  # internal: run one scenario in this process
    a = ap.parse_args(argv)
    scen = [(8, 2000, 2)] if a.quick else [(8, 108_000, 4), (4, 18_000, 10)]
    if a.scenario is not None:
        run([scen[a.scenario]], first=a.scenario)
        return 0
    for si in range(len(scen)):  # a fresh process per scenario: its own peak RSS
        cmd = [sys.executable, __file__, "--scenario", str(si)] + (["--quick"] if a.quick else [])
        subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
