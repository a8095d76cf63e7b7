"""Benchmark: frame sampling on a 640×480, 30 fps, 9,000-frame mp4v video (5 minutes).

Generates the video (a static textured arena with a few moving animals, like a behaviour
recording; cached under ``--workdir``), indexes it, then times ``extract_frames`` with 50
frames for ``uniform`` and ``kmeans`` (each on a fresh run: ``overwrite=True``), and prints
seconds and peak RSS. Targets on 2 cores: uniform ≤ 0.3 s, kmeans ≤ 2.5 s.

Usage: ``python benchmarks/frames.py [--workdir /tmp/mosaic-bench-frames] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np

W, H, FPS, N_FRAMES, N_SAMPLE = 640, 480, 30.0, 9000, 50


def make_video(path: Path, n_frames: int = N_FRAMES, seed: int = 0) -> Path:
    """Write the benchmark video (mp4v): blurred-noise arena + 3 moving ellipses with a clock."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    bg = cv2.GaussianBlur(rng.integers(60, 200, (H, W, 3), dtype=np.uint8), (0, 0), 3)
    cv2.circle(bg, (W // 2, H // 2), 220, (40, 40, 40), 4)
    t = np.arange(n_frames) / FPS
    tmp = path.with_suffix(".tmp.mp4")
    wr = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for i in range(n_frames):
        f = bg.copy()
        for k, col in enumerate(((20, 20, 200), (200, 40, 20), (30, 160, 30))):
            a = t[i] * (0.3 + 0.17 * k) + k * 2.1
            r = 60 + 120 * (0.5 + 0.5 * np.sin(t[i] * 0.05 * (k + 1)))
            c = (int(W / 2 + r * np.cos(a)), int(H / 2 + r * np.sin(a)))
            cv2.ellipse(f, c, (28, 12), np.degrees(a) + 90, 0, 360, col, -1)
        cv2.putText(f, f"{i:05d}", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        wr.write(f)
    wr.release()
    tmp.rename(path)
    return path


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="/tmp/mosaic-bench-frames")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions per method (best is reported too)")
    args = ap.parse_args(argv)

    from mosaic.core.dataset import DatasetCore
    from mosaic.core.indexes import TRACKS_RAW_INDEX, upsert_index
    from mosaic.media import extract_frames, index_media

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    video = make_video(work / "bench_9000.mp4")
    print(f"video: {video} ({video.stat().st_size / 1e6:.1f} MB), ready in {time.perf_counter() - t0:.1f} s")

    ds_dir = work / "ds"
    shutil.rmtree(ds_dir, ignore_errors=True)
    ds = DatasetCore.create(ds_dir, name="bench-frames")
    (ds.get_root("media_raw") / "g").mkdir(parents=True, exist_ok=True)
    dst = ds.get_root("media_raw") / "g" / "bench.mp4"
    dst.symlink_to(video)
    upsert_index(
        ds.get_root("tracks_raw") / "index.csv",
        [
            {
                "group": "g",
                "sequence": "bench",
                "group_safe": "g",
                "sequence_safe": "bench",
                "abs_path": "x",
                "src_format": "none",
                "size_bytes": 0,
                "mtime_iso": "",
                "md5": "",
            }
        ],
        TRACKS_RAW_INDEX,
    )
    t0 = time.perf_counter()
    index_media(ds, [ds.get_root("media_raw")])
    print(f"index_media: {time.perf_counter() - t0:.3f} s")
    import sklearn.cluster  # noqa: F401  (import time is not sampling time)

    results = {}
    for method in ("uniform", "kmeans"):
        times, cpus = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            extract_frames(ds, N_SAMPLE, method, overwrite=True)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        results[method] = times
        print(
            f"{method:8s}: first {times[0]:.3f} s, best {min(times):.3f} s, median {np.median(times):.3f} s, "
            f"CPU (all threads) median {np.median(cpus):.3f} s ({N_SAMPLE} frames of {N_FRAMES}), "
            f"peak RSS so far {peak_rss_mb():.0f} MB"
        )
    targets = {"uniform": 0.3, "kmeans": 2.5}
    for m, t in results.items():
        print(f"target {m}: <= {targets[m]} s -> {'OK' if min(t) <= targets[m] else 'MISSED'} (best {min(t):.3f} s)")
    print(
        f"peak RSS: {peak_rss_mb():.0f} MB; load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    sys.exit(main())
