"""Harness stages for the ``train`` step, registered on import.

* ``train``: ``Dataset.train_model(MODEL, config, overwrite=True)`` over a finished run, then
  ``Dataset.predict(MODEL, overwrite=True)`` (the ``<model>__pred`` feature), as the ``train``
  pipeline's two nodes do;
* ``train_resume``: the same with ``overwrite=False`` from nothing (a rerun finishes a killed run);
* ``train_kmeans_resume``: a clustering run (``train_model`` writes ``<model>__pred`` itself, after
  its index row; a rerun resumes the predictions);
* ``train_kedro``: ``kedro run --pipelines train`` with ``train.overwrite=true`` (its catalog
  copies under ``models/_pipeline/`` included).

Preconditions (in-process, once per copy): convert, label (BORIS demo annotations) and the
featurize plan of :mod:`tests.reliability.stages_more`, plus ``features/featurize_results.json``
(the featurize pipeline's output the ``train`` pipeline reads).

The rerun comparison (:func:`tests.reliability.crash.snapshot`) covers metrics/config values
(``created_iso`` ignored), prediction tables, ``models/index.csv`` rows and the ``<model>__pred``
feature; ``model.joblib`` / ``model.pkl`` compare by bytes (a seeded fit dumps identical bytes).
:func:`train_check` adds: every model index row names a run folder with its model, config,
metrics (naming that run) and predictions, and loads (its files match the digests the index row
recorded when the run was published: no file of another run, no torn file).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.crash import Stage, register_stage
from tests.reliability.stages_more import (
    FEATURE_PLAN,
    KEDRO_MARK,
    _converted,
    _kedro,
    _label,
)

MODEL = "crash_clf"
#: small and quick (CI): 2 grouped folds, 3 small boosting iterations, 1 thread, 1 ethogram
TRAIN_CONFIG = {
    "kind": "classifier",
    "label_kind": "behavior",
    "target": "individual",
    "estimator": "hist_gradient_boosting",
    "estimator_params": {"max_iter": 3, "max_leaf_nodes": 8},
    "cv_folds": 2,
    "min_bout": 5,
    "max_ethograms": 1,
    "n_threads": 1,
    "seed": 0,
}
KEDRO_OVERRIDES = (
    "train.overwrite=true,train.model=" + MODEL + ",train.config.estimator_params.max_iter=3,"
    "train.config.estimator_params.max_leaf_nodes=8,train.config.cv_folds=2,train.config.max_ethograms=1"
)
TRAIN_GLOBS = (
    "models/index.csv",
    "models/*/*/model.joblib",
    "models/*/*/config.json",
    "models/*/*/metrics.json",
    "models/*/*/predictions/*.parquet",
    "models/*/*/plots/*.png",
    "models/_pipeline/*",
    "models/_pipeline/*/*.png",
    # <model>__pred is stored safe-named (crash_clf%5F%5Fpred)
    "features/*pred/index.csv",
    "features/*pred/*/*.parquet",
    "features/*pred/*/run.json",
)
# "stats" (timings, peak RSS) of the input features run.json: the resume stages featurize each copy anew;
# "files_sha256" (models index): digests of the run's files, config.json among them, which holds created_iso
VOL_TRAIN = frozenset({"created_iso", "stats", "files_sha256"})


def _train_prepare(ds) -> None:
    from mosaic.core.atomic import atomic_write_json
    from mosaic.features.plan import run_feature_plan

    _converted(ds)
    _label(ds)
    summary = run_feature_plan(ds, {**FEATURE_PLAN, "overwrite": True})
    atomic_write_json(ds.get_root("features") / "featurize_results.json", summary)


def _features(ds) -> list[dict]:
    summary = json.loads((ds.get_root("features") / "featurize_results.json").read_text(encoding="utf-8"))
    return [{"feature": r["feature"], "run_id": r["run_id"], "as": r["key"]} for r in summary["results"]]


def _preload() -> None:
    """Import what training needs (sklearn, joblib, matplotlib) before READY."""
    import joblib  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    import mosaic.models.api
    import mosaic.reporting.plots  # noqa: F401


def _train(ds) -> None:
    run_id = ds.train_model(MODEL, {**TRAIN_CONFIG, "features": _features(ds)}, overwrite=True)
    ds.predict((MODEL, run_id), overwrite=True)


def _train_resume(ds) -> None:
    run_id = ds.train_model(MODEL, {**TRAIN_CONFIG, "features": _features(ds)}, overwrite=False)
    ds.predict((MODEL, run_id), overwrite=False)


KMEANS_CONFIG = {"kind": "kmeans", "n_clusters": 3, "n_threads": 1, "seed": 0}


def _train_kmeans_resume(ds) -> None:
    ds.train_model(MODEL + "_km", {**KMEANS_CONFIG, "features": _features(ds)}, overwrite=False)


def train_check(folder: Path) -> list[str]:
    """Every model index row: its run folder has a loadable model, parseable config/metrics naming that run."""
    import pandas as pd

    problems = []
    idx_path = folder / "models" / "index.csv"
    if not idx_path.exists():
        return problems
    idx = pd.read_csv(idx_path, dtype=str, keep_default_na=False)
    for i, row in idx.iterrows():
        d = folder / row["abs_path"]
        for f in ("model.joblib", "config.json", "metrics.json"):
            if not (d / f).is_file():
                problems.append(f"models index row {i}: {row['abs_path']}/{f} missing")
        try:
            cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
            met = json.loads((d / "metrics.json").read_text(encoding="utf-8"))
            if cfg.get("run_id") != row["run_id"] or met.get("run_id") != row["run_id"]:
                problems.append(f"models index row {i}: config/metrics name another run than {row['run_id']}")
        except Exception as exc:
            problems.append(f"models index row {i}: config/metrics unreadable: {type(exc).__name__}")
        if not list((d / "predictions").glob("*.parquet")):
            problems.append(f"models index row {i}: no predictions under {row['abs_path']}")
        try:  # the files are the ones published with the row (digests recorded in the index)
            from mosaic.core.dataset import DatasetCore
            from mosaic.models import load_run

            load_run(DatasetCore.open(folder), (row["model"], row["run_id"]))
        except Exception as exc:
            problems.append(f"models index row {i}: run does not load: {type(exc).__name__}: {str(exc)[:200]}")
    return problems


for _st in (
    Stage(
        "train",
        _train,
        _train_prepare,
        ("models", "features"),
        TRAIN_GLOBS,
        VOL_TRAIN,
        warm_start=True,
        extra_check=train_check,
        preload=_preload,
    ),
    # overwrite=False from nothing: a rerun must finish a killed first run (soak only)
    Stage(
        "train_resume",
        _train_resume,
        _train_prepare,
        ("models", "features"),
        TRAIN_GLOBS,
        VOL_TRAIN,
        extra_check=train_check,
        preload=_preload,
    ),
    # clustering writes its <model>__pred feature inside train_model, after the index row
    # (soak.py --stages train_kmeans_resume; not in the default soak: its no-op reruns burn attempts)
    Stage(
        "train_kmeans_resume",
        _train_kmeans_resume,
        _train_prepare,
        ("models", "features"),
        TRAIN_GLOBS,
        VOL_TRAIN,
        preload=_preload,
    ),
    Stage(
        "train_kedro",
        _train,
        _train_prepare,
        ("models", "features"),
        TRAIN_GLOBS,
        VOL_TRAIN,
        warm_start=True,
        extra_check=train_check,
        cli=_kedro("train", KEDRO_OVERRIDES),
        ready_marker=KEDRO_MARK,
    ),
):
    register_stage(_st)
