"""Crash soak: 50+ SIGKILLs across the stages, then the figures.

For every stage (convert, label, featurize, sample_frames, train, and their *resume* variants that
rerun without ``overwrite``) the harness of ``tests/reliability/crash.py``:

1. runs the stage uninterrupted on a copy of a tiny demo dataset (the reference);
2. on another copy, starts it in a subprocess again and again and SIGKILLs it at a seeded
   random moment of its work phase, checking the folder after every kill (every
   parquet/npz/png/json/csv/index reads fully, no temporary file is listed in an index or
   matched by an output glob, every index row points to an existing readable file);
3. reruns it to completion and compares every output with the reference (content digests:
   parquet table contents + mosaic metadata, npz arrays, parsed JSON/CSV without wall-clock
   fields, decoded PNG pixels).

Then two processes convert (and featurize) different recordings of one dataset at once,
``--concurrency`` rounds each, and the rows missing from the index are counted; a control
round with the index lock disabled shows that the check can see lost rows.

Prints kills, kills survived, bad files found, rows lost, reruns equal; exits 1 on any failure.

Usage::

    python benchmarks/soak.py                 # 62 kills, 3 concurrency rounds
    python benchmarks/soak.py --kills 100     # scale every stage's share
    python benchmarks/soak.py --quick         # ~12 kills
    python benchmarks/soak.py --kedro         # also kill `kedro run --pipelines convert|label|featurize|sample_frames|train`
    python benchmarks/soak.py --stages train_kmeans_resume --kills 20   # clustering run killed before its predictions (not in the default set)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# share of the kills per stage (sums to 62 at the default --kills 62)
SHARES = {
    "convert": 10,
    "convert_resume": 6,
    "label": 8,
    "label_resume": 4,
    "featurize": 8,
    "featurize_resume": 4,
    "sample_frames": 8,
    "sample_frames_resume": 4,
    "train": 6,
    "train_resume": 4,
}


# `kedro run --pipelines ...` stages (with --kedro): 4 kills each at the default total
KEDRO_STAGES = ("convert_kedro", "label_kedro", "featurize_kedro", "sample_frames_kedro", "train_kedro")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=62, help="total kills (shared over the stages)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--concurrency", type=int, default=3, help="concurrent rounds per kind")
    ap.add_argument("--quick", action="store_true", help="about 12 kills, 1 concurrency round")
    ap.add_argument("--kedro", action="store_true", help="also kill the `kedro run` pipelines (slower start)")
    ap.add_argument("--kedro-kills", type=int, default=4, help="kills per `kedro run` stage (with --kedro)")
    ap.add_argument("--stages", nargs="*", help="only these stages")
    args = ap.parse_args(argv)

    from tests.reliability.crash import (
        STAGES,
        _load_optional_stages,
        build_template,
        crash_stage,
    )

    _load_optional_stages()
    total = 12 if args.quick else args.kills
    stages = [s for s in (args.stages or SHARES) if s in STAGES]
    weights = {s: SHARES.get(s, 4) for s in stages}
    scale = total / sum(weights.values())
    plan = {s: max(1, round(w * scale)) for s, w in weights.items()}
    if args.kedro:  # on top of the facade kills
        plan.update({s: args.kedro_kills for s in KEDRO_STAGES if s in STAGES and s not in plan})
    stages = list(plan)
    skipped = [s for s in (args.stages or SHARES) if s not in STAGES]

    work = Path(tempfile.mkdtemp(prefix="mosaic-soak-"))
    t0 = time.perf_counter()
    try:
        templates = {}
        for videos in sorted({STAGES[s].videos for s in stages}):
            templates[videos] = build_template(work / f"template-{int(videos)}", videos=videos)
        print(f"soak: {sum(plan.values())} kills planned over {len(plan)} stages (seed {args.seed}); work dir {work}")
        if skipped:
            print(f"  not available (left out): {skipped}")
        reports = []
        hdr = f"{'stage':22s} {'kills':>5s} {'surv':>5s} {'early':>5s} {'bad':>4s} {'tmp':>4s} {'lost':>4s} {'rerun==ref':>10s} {'work s':>7s} {'wall s':>7s}"
        print(hdr)
        for s, n in plan.items():
            rep = crash_stage(s, templates[STAGES[s].videos], work, n_kills=n, seed=args.seed, max_attempts_factor=6)
            reports.append(rep)
            print(
                f"{s:22s} {rep.kills:5d} {rep.kills_survived:5d} {rep.finished_early:5d} {len(rep.problems):4d} "
                f"{rep.temp_files_seen:4d} {rep.rows_lost:4d} {rep.rerun_equal!s:>10s} {rep.work_seconds:7.2f} {rep.wall_seconds:7.1f}",
                flush=True,
            )
            for p in rep.problems[:10]:
                print(f"    problem: {p}")
            for d in rep.diff[:10]:
                print(f"    rerun diff: {d}")
        kills = sum(r.kills for r in reports)
        survived = sum(r.kills_survived for r in reports)
        bad = sum(len(r.problems) for r in reports)
        lost = sum(r.rows_lost for r in reports)
        equal = all(r.rerun_equal for r in reports)
        print(
            f"TOTAL kills {kills}, kills survived {survived}, bad files/rows found {bad}, index rows lost {lost}, "
            f"every rerun equal to an uninterrupted run: {equal}  ({time.perf_counter() - t0:.0f} s)"
        )
        print(
            "  (tmp = temporary files seen right after the kills: expected litter of interrupted atomic writes, never outputs)"
        )

        conc_lost, _control = _concurrency(work, 1 if args.quick else args.concurrency)
        ok = kills == survived and bad == 0 and lost == 0 and equal and conc_lost == 0
        print(f"RESULT: {'OK' if ok else 'FAILED'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _concurrency(work: Path, rounds: int) -> tuple[int, int]:
    """Concurrent convert/featurize rounds; returns (rows lost with the lock, rows lost in the no-lock control)."""
    from mosaic import Dataset
    from mosaic.core.indexes import TRACKS_INDEX, read_index
    from tests.reliability.concurrency import (
        interleave_split,
        make_many_recordings,
        run_concurrently,
    )

    lost_total = 0
    tried = 0
    for r in range(rounds):
        folder = work / f"conc-{r}"
        ds = Dataset.create(folder, name="conc")
        rows = make_many_recordings(ds, n_groups=2, n_per_group=20, seed=r)
        run_concurrently("convert", ds.folder, interleave_split(rows, 2), work)
        idx = read_index(ds.get_root("tracks") / "index.csv", TRACKS_INDEX)
        lost = len({(x["group"], x["sequence"]) for x in rows} - set(zip(idx["group"], idx["sequence"])))
        tried += len(rows)
        lost_total += lost
        try:
            from mosaic.features.engine import FEATURES_INDEX, feature_index_path

            run_concurrently("featurize", ds.folder, interleave_split(rows, 2), work)
            fidx = read_index(feature_index_path(ds, "kinematics"), FEATURES_INDEX)
            flost = len({(x["group"], x["sequence"]) for x in rows} - set(zip(fidx["group"], fidx["sequence"])))
            tried += len(rows)
            lost_total += flost
        except ImportError:
            pass
        shutil.rmtree(folder, ignore_errors=True)
    # control: the same with the lock disabled in the workers
    folder = work / "conc-control"
    ds = Dataset.create(folder, name="conc")
    rows = make_many_recordings(ds, n_groups=2, n_per_group=20, seed=99)
    run_concurrently("convert", ds.folder, interleave_split(rows, 2), work, no_lock=True)
    idx = read_index(ds.get_root("tracks") / "index.csv", TRACKS_INDEX)
    control = len({(x["group"], x["sequence"]) for x in rows} - set(zip(idx["group"], idx["sequence"])))
    print(
        f"CONCURRENCY: {rounds} round(s) x (convert + featurize), 2 processes, {tried} index rows written: rows lost {lost_total}; "
        f"control without the index lock: {control} of {len(rows)} rows lost (shows the check can see losses)"
    )
    return lost_total, control


if __name__ == "__main__":
    sys.exit(main())
