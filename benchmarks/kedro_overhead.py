"""Benchmark: the Kedro door's overhead over the facade, per stage (convert, featurize, sample_frames).

Builds one dataset (TRex per-individual ``.npz`` exports in the layout of ``benchmarks/convert.py``
plus one video per recording in the layout of ``benchmarks/frames.py``), then times each stage
through the facade and through a ``KedroSession`` run of the stage's nodes (``--tags``; the
reporting plots that ride along with a pipeline are left out, the facade does not draw them).
Both doors redo the work (``overwrite``). For the Kedro door the figure is split into start-up
(session creation, configuration and catalog) and the run; the target is
``run <= start-up + 1.2 x facade``.

Each measurement runs in a fresh Python process, so imports and caches count the same for both
doors (nothing is warmed up).

Usage::

    python benchmarks/kedro_overhead.py            # 6 recordings x 4 animals x 18000 frames
    python benchmarks/kedro_overhead.py --quick    # small smoke run
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))

STAGES = ("convert", "featurize", "sample_frames")
FEATURIZE = {
    "parallel_mode": "thread",
    "parallel_workers": 1,
    "overwrite": True,
    "steps": [
        {"key": "kinematics", "feature": "kinematics"},
        {"key": "nearest_neighbor", "feature": "nearest_neighbor"},
    ],
}
FRAMES = {"method": "uniform", "n_frames": 20, "overwrite": True, "parallel_workers": 1}
TAGS = {"convert": "tracks", "featurize": "featurize", "sample_frames": "media"}


def build(folder: Path, n_seq: int, n_ind: int, n_frames: int, video_frames: int) -> None:
    """Raw TRex files, the raw and media indexes, and one conversion (featurize and frames need tracks)."""
    from convert import _write_sequence
    from frames import make_video

    from mosaic import Dataset

    ds = Dataset.create(folder, name="kedro-overhead", meta={"fps_default": 30.0})
    for s in range(n_seq):
        _write_sequence(folder / "tracks_raw" / "trex" / "g0", f"s{s}", n_ind, n_frames, seed=s)
        (folder / "media_raw" / "g0").mkdir(parents=True, exist_ok=True)
        make_video(folder / "media_raw" / "g0" / f"s{s}.mp4", n_frames=video_frames, seed=s)
    ds.index_tracks_raw(
        search_dirs=["tracks_raw/trex"],
        src_format="trex_npz",
        patterns=["*.npz"],
        group_from="parent",
        individual_prefixes=["fish"],
    )
    ds.index_media(search_dirs=["media_raw"])
    ds.convert_all_tracks()


def _facade(folder: str, stage: str) -> None:
    from mosaic import Dataset
    from mosaic.features.plan import run_feature_plan

    ds = Dataset.open(folder)
    if stage == "convert":
        ds.convert_all_tracks(overwrite=True)
    elif stage == "featurize":
        run_feature_plan(ds, FEATURIZE)
    else:
        p = dict(FRAMES)
        ds.extract_frames(p.pop("n_frames"), p.pop("method"), **p)


def _kedro(folder: str, stage: str) -> float:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    t0 = time.perf_counter()
    bootstrap_project(PROJECT)
    params = {"dataset_dir": folder, "convert": {"overwrite": True}, "featurize": FEATURIZE, "sample_frames": FRAMES}
    session = KedroSession.create(project_path=PROJECT, runtime_params=params)
    session.load_context().catalog  # noqa: B018 - configuration and catalog are part of the start-up
    startup = time.perf_counter() - t0
    session.run(pipeline_names=[stage], tags=[TAGS[stage]])
    session.close()
    return startup


def measure(folder: str, stage: str, door: str) -> dict:
    """Time one stage through one door in this (fresh) process."""
    import logging

    logging.disable(logging.WARNING)
    t0 = time.perf_counter()
    startup = _kedro(folder, stage) if door == "kedro" else 0.0
    if door == "facade":
        _facade(folder, stage)
    total = time.perf_counter() - t0
    return {"stage": stage, "door": door, "total_s": total, "startup_s": startup, "work_s": total - startup}


def _in_fresh_process(folder: Path, stage: str, door: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", str(folder), stage, door],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{door} {stage} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 recordings x 2 animals x 2000 frames")
    ap.add_argument("--repeat", type=int, default=2, help="timed repetitions per door and stage (the best is shown)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        folder, stage, door = args.measure
        print(json.dumps(measure(folder, stage, door)))
        return
    n_seq, n_ind, n_frames, video = (2, 2, 2_000, 300) if args.quick else (6, 4, 18_000, 900)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mosaic-kedro-overhead-"))
    folder = work / "ds"
    if not (folder / "tracks" / "index.csv").exists():
        build(folder, n_seq, n_ind, n_frames, video)
    print(f"dataset: {n_seq} recordings x {n_ind} animals x {n_frames} frames, videos of {video} frames ({folder})")
    print(
        f"{'stage':<14}{'facade s':>10}{'kedro s':>10}{'start-up s':>12}{'run s':>9}{'run/facade':>12}  target run <= start-up + 1.2 x facade"
    )
    for stage in STAGES:
        fac = min((_in_fresh_process(folder, stage, "facade") for _ in range(args.repeat)), key=lambda r: r["total_s"])
        ked = min((_in_fresh_process(folder, stage, "kedro") for _ in range(args.repeat)), key=lambda r: r["total_s"])
        ok = ked["total_s"] <= ked["startup_s"] + 1.2 * fac["total_s"]
        print(
            f"{stage:<14}{fac['total_s']:>10.2f}{ked['total_s']:>10.2f}{ked['startup_s']:>12.2f}{ked['work_s']:>9.2f}"
            f"{ked['work_s'] / fac['total_s']:>12.2f}  {'met' if ok else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
