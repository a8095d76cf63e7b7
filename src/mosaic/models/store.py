"""Model runs on disk: ``models/<model>/<run_id>/`` and ``models/index.csv``.

Layout of one run (every file written atomically; the index row is written last, so a run
listed in the index is complete)::

    models/<model_safe>/<run_id>/model.joblib        fitted estimator (+ columns, classes)
    models/<model_safe>/<run_id>/config.json         resolved config + resolved inputs
    models/<model_safe>/<run_id>/metrics.json        metrics (classifier) / summary (clustering)
    models/<model_safe>/<run_id>/predictions/<group_safe>__<sequence_safe>.parquet
    models/<model_safe>/<run_id>/plots/*.png
    models/<model_safe>/<run_id>/cluster_means.csv   (clustering)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.atomic import atomic_path, atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ModelError
from mosaic.core.indexes import IndexSchema, read_index, upsert_index
from mosaic.core.paths import check_regular_file
from mosaic.core.safe_names import path_in_root, to_safe_name

MODELS_INDEX = IndexSchema(
    name="models",
    columns=("model", "run_id", "kind", "abs_path", "label_kind", "inputs_json", "macro_f1", "n_rows",
             "n_sequences", "created_iso"),
    key=("model", "run_id"),
    text_columns=("model", "run_id", "kind", "abs_path", "label_kind", "inputs_json", "created_iso"),
)
MODEL_FILE = "model.joblib"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"


def models_index_path(ds: DatasetCore) -> Path:
    """``models/index.csv``."""
    return ds.get_root("models") / "index.csv"


def read_models_index(ds: DatasetCore) -> pd.DataFrame:
    """``models/index.csv`` (empty table with the declared columns when absent)."""
    return read_index(models_index_path(ds), MODELS_INDEX, missing_ok=True)


def run_dir(ds: DatasetCore, model: str, run_id: str) -> Path:
    """``models/<model_safe>/<run_id>`` (not created)."""
    return path_in_root(ds.get_root("models"), to_safe_name(model), to_safe_name(run_id))


def run_is_complete(ds: DatasetCore, model: str, run_id: str) -> bool:
    """True when the index lists the run and its model, config and metrics files exist."""
    idx = read_models_index(ds)
    if idx.empty or not ((idx["model"] == model) & (idx["run_id"] == run_id)).any():
        return False
    d = run_dir(ds, model, run_id)
    return all((d / f).exists() for f in (MODEL_FILE, CONFIG_FILE, METRICS_FILE))


def save_joblib(obj: Any, path: Path) -> Path:
    """``joblib.dump`` atomically."""
    import joblib

    with atomic_path(path) as tmp:
        joblib.dump(obj, tmp)
    return path


def save_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write a DataFrame to parquet atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return path


def record_run(ds: DatasetCore, row: dict[str, Any]) -> pd.DataFrame:
    """Upsert one run row into ``models/index.csv`` (locked, atomic)."""
    return upsert_index(models_index_path(ds), [row], MODELS_INDEX)


def parse_model_run(ds: DatasetCore, model_run: Any) -> tuple[str, str]:
    """Resolve ``model_run`` to ``(model, run_id)``.

    Accepts ``(model, run_id)``, ``"model/run_id"``, ``"model"`` (its latest run), a bare run id
    listed in the index, or a mapping with ``model`` and ``run_id``.

    Raises
    ------
    ModelError
        No such model or run in ``models/index.csv``.
    """
    idx = read_models_index(ds)
    path = models_index_path(ds)
    if isinstance(model_run, dict):
        model_run = (model_run.get("model"), model_run.get("run_id"))
    if isinstance(model_run, (tuple, list)) and len(model_run) == 2:
        model, rid = str(model_run[0]), (None if model_run[1] is None else str(model_run[1]))
    elif isinstance(model_run, str):
        model, sep, rid = model_run.partition("/")
        if not sep:
            if (idx["run_id"] == model_run).any() and not (idx["model"] == model_run).any():
                model = str(idx.loc[idx["run_id"] == model_run, "model"].iloc[0])
                rid = model_run
            else:
                rid = None
    else:
        raise ModelError("cannot identify a model run", expected="'model', 'model/run_id', (model, run_id) or run_id", found=repr(model_run))
    rows = idx[idx["model"] == model]
    if rows.empty:
        raise ModelError(f"model {model!r} has no trained run", path=path, expected=sorted(set(idx["model"])) or "a trained model",
                         found=model, hint="train_model(ds, model, config) first")
    if rid is None:
        rid = str(rows.sort_values("created_iso", kind="stable")["run_id"].iloc[-1])
    elif not (rows["run_id"] == rid).any():
        raise ModelError(f"model {model!r} has no run {rid!r}", path=path, expected=sorted(rows["run_id"]), found=rid)
    return model, rid


def load_run(ds: DatasetCore, model_run: Any) -> dict[str, Any]:
    """Load a trained run: ``{'model', 'run_id', 'dir', 'bundle', 'config', 'metrics'}``.

    ``bundle`` is what ``model.joblib`` holds (estimator, columns, classes, ...).
    """
    import joblib

    model, rid = parse_model_run(ds, model_run)
    d = run_dir(ds, model, rid)
    for f in (MODEL_FILE, CONFIG_FILE, METRICS_FILE):
        if not (d / f).exists():
            raise ModelError("model run is incomplete", path=d / f, expected=f"{f} in the run folder", hint="retrain with overwrite=True")
        check_regular_file(d / f, ModelError)
    return {
        "model": model,
        "run_id": rid,
        "dir": d,
        "bundle": joblib.load(d / MODEL_FILE),
        "config": json.loads((d / CONFIG_FILE).read_text(encoding="utf-8")),
        "metrics": json.loads((d / METRICS_FILE).read_text(encoding="utf-8")),
    }


def load_run_predictions(ds: DatasetCore, model_run: Any) -> pd.DataFrame:
    """Every per-sequence predictions file of a run as one table (``group``, ``sequence`` first)."""
    model, rid = parse_model_run(ds, model_run)
    d = run_dir(ds, model, rid) / "predictions"
    parts = [pd.read_parquet(p) for p in sorted(d.glob("*.parquet"))]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


__all__ = [
    "CONFIG_FILE", "METRICS_FILE", "MODELS_INDEX", "MODEL_FILE", "atomic_write_json", "load_run", "load_run_predictions",
    "models_index_path", "parse_model_run", "read_models_index", "record_run", "run_dir", "run_is_complete",
    "save_joblib", "save_parquet",
]
