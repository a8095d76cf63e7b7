"""Benchmark: behaviour classifier training (sequence-grouped CV) on simulated recordings.

Simulates recordings with :func:`mosaic.demo.simulate`, writes them as standardized tracks
and ``individual_pair_v1`` labels, computes the demo feature set with the features engine
(:func:`mosaic.models.demo_chain.run_default_features`), then times
:func:`mosaic.models.train_model` (out-of-fold predictions of every fold + final fit + plots)
and :func:`mosaic.models.predict`. Prints seconds, training rows/s, peak RSS and the
sequence-held-out macro F1 over the simulated behaviours.

Usage::

    python benchmarks/train.py                 # 3 groups x 3 sequences x 3600 frames
    python benchmarks/train.py --quick         # small smoke run
    python benchmarks/train.py --groups 4 --sequences 5 --frames 9000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=3)
    ap.add_argument("--sequences", type=int, default=3)
    ap.add_argument("--frames", type=int, default=3600)
    ap.add_argument(
        "--estimator", default="hist_gradient_boosting", choices=["hist_gradient_boosting", "random_forest"]
    )
    ap.add_argument("--quick", action="store_true", help="2 groups x 2 sequences x 900 frames")
    ap.add_argument("--keep", action="store_true", help="keep the temporary dataset folder")
    a = ap.parse_args()
    if a.quick:
        a.groups, a.sequences, a.frames = 2, 2, 900

    from mosaic import Dataset
    from mosaic.demo import simulate
    from mosaic.models import load_run, predict, train_model
    from mosaic.models.demo_chain import (
        DEMO_CLASSIFIER_CONFIG,
        run_default_features,
        write_sim_tracks_and_labels,
    )

    base_rss = peak_rss_mb()
    tmp = Path(tempfile.mkdtemp(prefix="mosaic-bench-train-"))
    try:
        ds = Dataset.create(tmp / "ds", name="bench-train", meta={"fps_default": 30.0})
        t0 = time.perf_counter()
        sims = simulate(
            n_groups=a.groups, n_sequences=a.sequences, n_animals=(2, 5), n_frames=a.frames, fps=30.0, seed=0
        )
        write_sim_tracks_and_labels(ds, sims)
        t1 = time.perf_counter()
        results = run_default_features(ds)
        t2 = time.perf_counter()
        cfg = {
            **DEMO_CLASSIFIER_CONFIG,
            "features": results,
            "estimator": a.estimator,
            "estimator_params": DEMO_CLASSIFIER_CONFIG["estimator_params"]
            if a.estimator == "hist_gradient_boosting"
            else {"n_estimators": 100},
        }
        rid = train_model(ds, "bench_clf", cfg)
        t3 = time.perf_counter()
        train_model(ds, "bench_clf", cfg)  # rerun: no-op
        t4 = time.perf_counter()
        predict(ds, ("bench_clf", rid))
        t5 = time.perf_counter()
        m = load_run(ds, ("bench_clf", rid))["metrics"]
        n = m["n_rows"]
        n_fits = len(m["folds"]) + 1
        print(f"recordings: {len(sims)} ({a.groups} groups x {a.sequences} sequences x {a.frames} frames, 2-5 animals)")
        print(f"simulate + write tracks/labels: {t1 - t0:7.2f} s")
        print(f"features ({len(results)} runs):          {t2 - t1:7.2f} s")
        print(
            f"train ({a.estimator}, {len(m['folds'])}-fold grouped CV + final fit, {m['n_features']} features): "
            f"{t3 - t2:7.2f} s  ({n} rows, {n * n_fits / (t3 - t2):,.0f} row-fits/s)"
        )
        print(f"rerun (no-op):                  {t4 - t3:7.2f} s")
        print(f"predict -> feature:             {t5 - t4:7.2f} s  ({n / (t5 - t4):,.0f} rows/s)")
        print(f"peak RSS: {peak_rss_mb():.0f} MiB (interpreter + libraries before the run: {base_rss:.0f} MiB)")
        print(
            f"sequence-held-out macro F1 ({m['evaluation']}): {m['macro_f1']:.3f}  per class: "
            + ", ".join(f"{k} {v:.3f}" for k, v in m["per_class_f1"].items())
        )
        if a.keep:
            print(f"dataset kept at {tmp / 'ds'}")
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
