"""Benchmark the demo simulator and dataset builder.

Usage::

    python benchmarks/simulate.py [--sizes tiny small medium] [--videos] [--seed 0]

For each size: seconds to simulate, animal-frames per second, seconds to build the whole
dataset (videos optional, they dominate), and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from mosaic.demo import SIZES, make_demo_dataset, simulate


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["tiny", "small", "medium"], choices=sorted(SIZES))
    ap.add_argument("--videos", action="store_true", help="also render videos in the dataset build")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(
        f"{'size':8s} {'seqs':>5s} {'frames':>7s} {'sim s':>7s} {'animal-frames/s':>16s} {'build s':>8s} {'peak RSS MB':>12s}"
    )
    for size in args.sizes:
        p = SIZES[size]
        t0 = time.perf_counter()
        sims = simulate(p["n_groups"], p["n_sequences"], p["n_animals"], p["n_frames"], 30.0, args.seed)
        t_sim = time.perf_counter() - t0
        animal_frames = sum(s.n_frames * s.n_animals for s in sims)
        n_seqs = len(sims)
        del sims
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            make_demo_dataset(Path(tmp) / "demo", size=size, seed=args.seed, videos=args.videos)
            t_build = time.perf_counter() - t0
        print(
            f"{size:8s} {n_seqs:5d} {p['n_frames']:7d} {t_sim:7.2f} {animal_frames / t_sim:16,.0f} "
            f"{t_build:8.2f} {_peak_rss_mb():12.1f}"
        )


if __name__ == "__main__":
    main()
