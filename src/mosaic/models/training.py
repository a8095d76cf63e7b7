"""Trainers: a classifier (grouped cross-validation, holdout groups) and clustering, fitted in memory.

:func:`train_classifier` and :func:`train_clusters` fill a :class:`FittedRun` from the model's
inputs (:class:`~mosaic.models.inputs.ModelInputs`); nothing is written here —
:func:`mosaic.models.store.store_model_run` stores the run. :func:`mosaic.models.fit_model`
identifies the run and picks the trainer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, ModelError
from mosaic.labels.store import LabelStore

from . import inputs as mi
from .align import numeric_feature_columns
from .evaluation import classification_metrics, sequence_keys
from .prediction import _smooth, _track_cols

Key = tuple[str, str]


@dataclass
class FittedRun:
    """A trained run held in memory, before it is stored (see :func:`mosaic.models.store.store_model_run`).

    ``existing`` is True when a complete run with this ``run_id`` is already stored (nothing was
    trained and nothing is to be written). ``files`` holds extra files of the run folder (text, or
    a mapping written as JSON: ``cluster_means.csv``, ``summary.json``), ``figures`` the plots
    (``plots/<name>.png``).
    """

    model: str
    run_id: str
    kind: str
    existing: bool = False
    resolved: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    bundle: dict[str, Any] | None = None
    predictions: pd.DataFrame | None = None
    files: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    index_row: dict[str, Any] = field(default_factory=dict)


def select_columns(df: pd.DataFrame, wanted: list[str] | None, label_col: str | None = "label") -> list[str]:
    """The numeric feature columns to train on (``wanted`` when the config names them)."""
    cols = [c for c in numeric_feature_columns(df) if c != label_col]
    if wanted is not None:
        missing = [c for c in wanted if c not in df.columns]
        if missing:
            raise ConfigError(
                "config 'feature_columns' names columns the inputs do not have",
                expected=f"columns among {cols}",
                found=missing,
            )
        cols = list(wanted)
    if not cols:
        raise ModelError(
            "the input features have no numeric column",
            expected="at least one numeric feature column",
            found=list(df.columns),
        )
    return cols


# ---------------------------------------------------------------------------------- classifier
def train_classifier(
    labels: LabelStore, model: str, run_id: str, cfg: Mapping[str, Any], runs: list, keys: list[Key], fitted: FittedRun
) -> None:
    """Train a classifier on the labelled recordings ``keys``; fill ``fitted`` (bundle, metrics, predictions, plots)."""
    table = mi.stack(list(mi.iter_training_tables(labels, runs, keys, cfg)))
    if table.empty:
        raise ModelError(
            "the labelled recordings have no feature rows",
            expected="feature rows",
            found=[f"{g}/{s}" for g, s in keys[:5]],
        )
    y = table["label"].astype(str).to_numpy(dtype=object)
    bg = cfg["background_label"]
    classes = mi.vocabulary_order(labels, cfg["label_kind"], bg, sorted(set(y)))
    hold, tr, te = _holdout_split(table, cfg["holdout_groups"])
    est, columns, dropped, pred, raw, folds = _fit_and_predict(table, y, tr, te, cfg)
    metrics: dict[str, Any] = {
        "model": model,
        "run_id": run_id,
        "kind": "classifier",
        "n_rows": len(y),
        "n_sequences": len(keys),
        "n_features": len(columns),
        "dropped_columns": dropped,
        "folds": folds,
        "label_counts": {str(k): int(v) for k, v in pd.Series(y).value_counts().items()},
    }
    metrics.update(_split_metrics(y, pred, raw, tr, te, classes, bg, cfg["holdout_groups"]))
    # report only classes that occur (as truth or prediction), in vocabulary order
    occurring = set(y) | set(pred)
    classes = [c for c in dict.fromkeys(classes + metrics["classes"]) if c in occurring]
    preds = table[["group", "sequence", "frame"] + _track_cols(cfg["target"])].copy()
    preds["label"] = y
    preds["pred"] = pred
    preds["pred_unsmoothed"] = raw
    preds["split"] = np.where(hold, "holdout", "cv").astype(object)
    fitted.predictions = preds
    fitted.bundle = {
        "kind": "classifier",
        "estimator": est,
        "columns": columns,
        "classes": classes,
        "model": model,
        "run_id": run_id,
        **{k: cfg[k] for k in ("target", "background_label", "min_bout", "n_threads")},
    }
    fitted.metrics = metrics
    if cfg["plots"]:
        from .api import model_figures_from

        fitted.figures = model_figures_from(metrics, preds, classes, cfg["target"], cfg["max_ethograms"])


def _fit_and_predict(table: pd.DataFrame, y: np.ndarray, tr: np.ndarray, te: np.ndarray, cfg: Mapping[str, Any]):
    """Cross-validated predictions of the rows ``tr``, the final estimator's of the held-out rows ``te``.

    Returns ``(estimator, columns, dropped columns, smoothed predictions, raw predictions, folds)``.
    """
    from .estimators import make_estimator
    from .fitting import cross_val_predict_grouped, drop_uninformative, fit_estimator, thread_limit

    columns = select_columns(table, cfg["feature_columns"])
    X = mi.design_matrix(table, columns)
    seq_key = sequence_keys(table["group"], table["sequence"])
    X, columns, dropped = drop_uninformative(X, columns, tr)
    pred = np.empty(len(y), dtype=object)
    oof, folds = cross_val_predict_grouped(cfg, X[tr], y[tr], seq_key[tr])
    pred[tr] = oof
    est = make_estimator(cfg["estimator"], cfg["estimator_params"], cfg["seed"])
    est = fit_estimator(est, X[tr], y[tr], cfg["class_weight"], cfg["max_train_rows"], cfg["seed"], cfg["n_threads"])
    if len(te):
        with thread_limit(cfg["n_threads"]):
            pred[te] = est.predict(X[te])
    raw = pred.copy()
    pred = _smooth(table, pred, cfg["target"], cfg["min_bout"])
    return est, columns, dropped, pred, raw, folds


def _holdout_split(table: pd.DataFrame, holdout_groups: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``holdout_groups`` (mask), the rows to train on and the held-out rows (indices)."""
    unknown = sorted(set(holdout_groups) - set(table["group"]))
    if unknown:
        raise ConfigError(
            "holdout_groups names groups without labelled recordings",
            expected=sorted(set(table["group"])),
            found=unknown,
        )
    hold = table["group"].isin(holdout_groups).to_numpy()
    tr = np.flatnonzero(~hold)
    te = np.flatnonzero(hold)
    if len(tr) == 0:
        raise ConfigError("holdout_groups leaves no recording to train on", found=holdout_groups)
    return hold, tr, te


def _split_metrics(
    y: np.ndarray,
    pred: np.ndarray,
    raw: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    classes: list[str],
    bg: str,
    holdout_groups: list[str],
) -> dict[str, Any]:
    """Metrics of the cross-validated rows ``tr`` and the held-out rows ``te``, and the headline of the two."""
    metrics: dict[str, Any] = {}
    metrics["cv"] = classification_metrics(y[tr], pred[tr], classes, bg)
    metrics["cv"]["macro_f1_unsmoothed"] = classification_metrics(y[tr], raw[tr], classes, bg)["macro_f1"]
    if len(te):
        metrics["holdout"] = classification_metrics(y[te], pred[te], classes, bg)
        metrics["holdout"]["macro_f1_unsmoothed"] = classification_metrics(y[te], raw[te], classes, bg)["macro_f1"]
        metrics["holdout"]["groups"] = holdout_groups
    headline = "holdout" if len(te) else "cv"
    metrics["evaluation"] = headline
    metrics["macro_f1"] = metrics[headline]["macro_f1"]
    metrics["per_class_f1"] = {c: v["f1"] for c, v in metrics[headline]["per_class"].items()}
    metrics["classes"] = metrics[headline]["classes"]
    return metrics


# ---------------------------------------------------------------------------------- clustering
def train_clusters(
    labels: LabelStore | None,
    model: str,
    run_id: str,
    cfg: Mapping[str, Any],
    runs: list,
    keys: list[Key],
    fitted: FittedRun,
) -> None:
    """Fit a clustering model over the recordings ``keys``; fill ``fitted`` (bundle, summary, assignments).

    ``labels`` is not read (the signature is the classifier's).
    """
    from .fitting import thread_limit
    from .unsupervised import assign_clusters, cluster_summary, fit_clusters

    table = mi.stack([mi.load_model_input(runs, k, cfg) for k in keys])
    if table.empty:
        raise ModelError("the input features have no rows in scope", found=[f"{g}/{s}" for g, s in keys[:5]])
    columns = select_columns(table, cfg["feature_columns"], label_col=None)
    X = mi.design_matrix(table, columns)
    with thread_limit(cfg["n_threads"]):
        bundle = fit_clusters(X, cfg["kind"], cfg["n_clusters"], cfg["max_samples"], cfg["standardize"], cfg["seed"])
        clusters = assign_clusters(bundle, X)
    summary, means = cluster_summary(table, clusters, columns)
    bundle.update(
        {
            "columns": columns,
            "model": model,
            "run_id": run_id,
            "target": cfg["target"],
            "n_threads": cfg["n_threads"],
            "classes": [str(c) for c in range(cfg["n_clusters"])],
        }
    )
    preds = table[["group", "sequence", "frame"] + _track_cols(cfg["target"])].copy()
    preds["cluster"] = clusters
    summary.update(
        {
            "model": model,
            "run_id": run_id,
            "kind": cfg["kind"],
            "n_features": len(columns),
            "n_fit_rows": bundle["n_fit_rows"],
            "columns": columns,
        }
    )
    if cfg["kind"] == "kmeans":
        summary["inertia"] = float(bundle["estimator"].inertia_)
    fitted.bundle = bundle
    fitted.predictions = preds
    fitted.metrics = summary
    fitted.files = {"cluster_means.csv": means.to_csv(index=False), "summary.json": summary}
