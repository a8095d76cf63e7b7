"""The feature run index: paths, ``features/<name>/index.csv`` and the runs it records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import FeatureError
from mosaic.core.indexes import NAME_COLUMNS, IndexSchema, read_index
from mosaic.core.safe_names import to_safe_name

from ..base import Result

FEATURES_INDEX = IndexSchema(
    name="features",
    columns=(
        "feature",
        "version",
        "run_id",
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "abs_path",
        "n_rows",
        "params_json",
        "inputs_json",
        "filters_json",
        "created_iso",
    ),
    key=("run_id", "group", "sequence"),
    text_columns=NAME_COLUMNS
    + ("abs_path", "feature", "version", "run_id", "params_json", "inputs_json", "filters_json", "created_iso"),
)
RUN_INFO = "run.json"


def feature_root(ds: DatasetCore, name: str) -> Path:
    """``features/<name>`` (the name is encoded as a safe name)."""
    return ds.get_root("features") / to_safe_name(name)


def feature_index_path(ds: DatasetCore, name: str) -> Path:
    """``features/<name>/index.csv``."""
    return feature_root(ds, name) / "index.csv"


def read_feature_index(ds: DatasetCore, name: str, missing_ok: bool = True) -> pd.DataFrame:
    """The run index of feature ``name`` (empty table when it never ran and ``missing_ok``)."""
    return read_index(feature_index_path(ds, name), FEATURES_INDEX, missing_ok=missing_ok)


def latest_run_id(ds: DatasetCore, name: str) -> str | None:
    """The most recently created run of ``name`` (None when it never ran)."""
    idx = read_feature_index(ds, name)
    if idx.empty:
        return None
    order = idx.reset_index(drop=True).sort_values("created_iso", kind="stable")
    return str(order["run_id"].iloc[-1])


def list_feature_runs(ds: DatasetCore, name: str | None = None) -> pd.DataFrame:
    """One row per run: feature, run_id, version, n_sequences, n_rows, created_iso, params_json, inputs_json.

    All features when ``name`` is None (every folder of the ``features`` root with an index).
    """
    cols = ["feature", "run_id", "version", "n_sequences", "n_rows", "created_iso", "params_json", "inputs_json"]
    if name is None:
        root = ds.get_root("features")
        idx_paths = sorted(root.glob("*/index.csv")) if root.exists() else []
        frames = [read_index(p, FEATURES_INDEX) for p in idx_paths]
    else:
        frames = [read_feature_index(ds, name)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    idx = pd.concat(frames, ignore_index=True)
    g = idx.groupby(["feature", "run_id"], sort=False)
    out = g.agg(
        version=("version", "first"),
        n_sequences=("sequence", "size"),
        n_rows=("n_rows", "sum"),
        created_iso=("created_iso", "max"),
        params_json=("params_json", "first"),
        inputs_json=("inputs_json", "first"),
    ).reset_index()
    return out.sort_values(["feature", "created_iso"], kind="stable").reset_index(drop=True)[cols]


def _resolve_upstream(ds: DatasetCore, res: Result) -> tuple[str, pd.DataFrame]:
    idx = read_feature_index(ds, res.feature)
    run_id = res.run_id or latest_run_id(ds, res.feature)
    if run_id is None:
        raise FeatureError(
            f"upstream feature {res.feature!r} has no run",
            path=feature_index_path(ds, res.feature),
            hint=f"run_feature(ds, {res.feature!r}) first",
        )
    rows = idx[idx["run_id"] == run_id]
    if rows.empty:
        raise FeatureError(
            f"upstream run {res.feature}/{run_id} not found",
            path=feature_index_path(ds, res.feature),
            expected=sorted(set(idx["run_id"])) or "a recorded run",
            found=run_id,
        )
    return run_id, rows
