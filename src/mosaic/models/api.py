"""Dataset-level model functions: :func:`train_model`, :func:`predict`, :func:`model_figures`.

``train_model`` trains a supervised behaviour classifier (``kind='classifier'``) or a
clustering model (``kind='kmeans'`` / ``'ward'``) from feature runs (and, for a classifier,
one label kind) and writes ``models/<model>/<run_id>/`` plus a row of ``models/index.csv``.
``run_id`` hashes the model name, the resolved config, the resolved input feature run ids,
the label index fingerprint and the scope, so the same call is a no-op unless ``overwrite``.

For clustering, ``train_model`` also writes the assignments of its scope as that feature.
``predict`` (home: :mod:`mosaic.models.prediction`) applies a trained run and writes its output
as a *feature* named ``<model>__pred`` (features root layout and index), so
``load_feature(ds, '<model>__pred')`` and downstream features read it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, InvalidNameError, ModelError
from mosaic.core.run_ids import canonical_json, make_run_id
from mosaic.core.safe_names import sequence_key, to_safe_name

from . import inputs as mi
from .align import numeric_feature_columns
from .config import config_json, resolve_model
from .evaluation import classification_metrics, sequence_keys
from .prediction import (  # noqa: F401  (predict, apply_bundle: public through this module too)
    MODEL_VERSION,
    PRED_SUFFIX,
    _smooth,
    _track_cols,
    apply_bundle,
    predict,
    prediction_feature_name,
)
from .store import load_run, run_is_complete, store_model_run

log = logging.getLogger(__name__)


def _check_model_name(model: Any) -> str:
    if not isinstance(model, str) or not model:
        raise ConfigError("model name must be a non-empty string", expected="e.g. 'behavior_clf'", found=repr(model))
    try:
        to_safe_name(model)
    except InvalidNameError as exc:  # pragma: no cover - non-empty str always encodes
        raise ConfigError("invalid model name", found=repr(model)) from exc
    return model


def _select_columns(df: pd.DataFrame, wanted: list[str] | None, label_col: str | None = "label") -> list[str]:
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


# ------------------------------------------------------------------------------------- train
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

    def __deepcopy__(self, memo: dict) -> FittedRun:
        return self  # handed once from the train node to the dataset that stores it


def train_model(
    ds: DatasetCore,
    model: Any,
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    overwrite: bool = False,
    name: str | None = None,
) -> str:
    """Train model ``model`` with ``config`` and write ``models/<model>/<run_id>/``; return ``run_id``.

    :func:`fit_model` then :func:`mosaic.models.store.store_model_run` (the Kedro ``train``
    pipeline calls the same two, the second through its ``model_run`` catalog dataset).

    Parameters
    ----------
    ds
        The dataset.
    model
        Model name (folder under the ``models`` root, and ``<model>__pred`` feature name), or a
        model instance: a scikit-learn classifier (trained by the grouped-CV trainer like the
        registered estimators) or a :class:`~mosaic.models.estimators.Trainer`; see
        :func:`~mosaic.models.config.resolve_model` for how an instance is named.
    config
        A mapping or a JSON/YAML file path; keys and defaults in
        :data:`mosaic.models.config.DEFAULTS` (unknown keys raise :class:`ConfigError`).
    overwrite
        Retrain even when a complete run with the same ``run_id`` exists.
    name
        Model name for a model instance (default: the trainer's ``name`` or the class name).

    Feature columns without information in the training rows (no finite value, e.g. pair
    features of single-animal recordings, or constant) are left out; ``metrics.json`` lists
    them under ``dropped_columns``.

    Returns
    -------
    str
        The run id.

    Raises
    ------
    ConfigError
        Unknown config key or invalid value.
    ModelError
        An input feature never ran, the label kind has no labels, features are missing for
        labelled recordings, fewer than two recordings for grouped CV, ...
    """
    fitted = fit_model(ds, model, config, overwrite=overwrite, name=name)
    store_model_run(ds, fitted)
    if fitted.kind not in ("classifier",):
        # cluster assignments of the scope are written as the feature <model>__pred right away
        # (and resumed when an interrupted run did not finish writing them)
        predict(ds, (fitted.model, fitted.run_id), overwrite=overwrite and not fitted.existing)
    return fitted.run_id


def fit_model(
    ds: DatasetCore,
    model: Any,
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    overwrite: bool = False,
    name: str | None = None,
) -> FittedRun:
    """Train model ``model`` with ``config`` and return the run in memory (nothing is written).

    Same parameters and errors as :func:`train_model`. When a complete run with the same
    ``run_id`` is stored and not ``overwrite``, nothing is trained: the result has ``existing=True``.
    """
    model, cfg = resolve_model(model, config, name)
    model = _check_model_name(model)
    runs = mi.resolve_feature_runs(ds, cfg["features"])
    inputs = [{"feature": r["feature"], "run_id": r["run_id"], "as": r["prefix"]} for r in runs]
    if cfg["kind"] == "classifier":
        lab_files = mi.label_files(ds, cfg["label_kind"])
        keys = mi.in_scope(lab_files, cfg["groups"], cfg["sequences"])
        if not keys:
            raise ModelError(
                f"no labelled recording of kind {cfg['label_kind']!r} in scope",
                expected="labelled recordings",
                found={"groups": cfg["groups"], "sequences": cfg["sequences"]},
            )
        mi.check_features_cover(runs, keys, "labelled")
        labels_id = {"kind": cfg["label_kind"], "index_fingerprint": mi.labels_fingerprint(ds, cfg["label_kind"])}
    else:
        common = set(runs[0]["files"])
        for r in runs[1:]:
            common &= set(r["files"])
        keys = mi.in_scope(common, cfg["groups"], cfg["sequences"])
        if not keys:
            raise ModelError(
                "no recording has every input feature in scope",
                expected="recordings covered by all features",
                found={
                    "features": [r["feature"] for r in runs],
                    "groups": cfg["groups"],
                    "sequences": cfg["sequences"],
                },
            )
        labels_id = None
    hashed = {k: v for k, v in config_json(cfg).items() if k not in ("n_threads",)}  # threads do not change the result
    run_id = make_run_id(
        {
            "model": model,
            "version": MODEL_VERSION,
            "config": {**hashed, "features": inputs},
            "inputs": inputs,
            "labels": labels_id,
            "scope": [list(k) for k in keys],
        }
    )
    if not overwrite and run_is_complete(ds, model, run_id):
        log.info("model %s run %s exists; nothing to do (overwrite=True retrains)", model, run_id)
        return FittedRun(model=model, run_id=run_id, kind=cfg["kind"], existing=True)
    created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    resolved = {
        "model": model,
        "run_id": run_id,
        "config": config_json(cfg),
        "inputs": inputs,
        "labels": labels_id,
        "scope": [list(k) for k in keys],
        "created_iso": created,
        "version": MODEL_VERSION,
    }
    fitted = FittedRun(model=model, run_id=run_id, kind=cfg["kind"], resolved=resolved)
    if cfg["kind"] == "classifier":
        _train_classifier(ds, model, run_id, cfg, runs, keys, fitted)
        macro = fitted.metrics["macro_f1"]
    else:
        _train_clusters(ds, model, run_id, cfg, runs, keys, fitted)
        macro = float("nan")
    fitted.index_row = {
        "model": model,
        "run_id": run_id,
        "kind": cfg["kind"],
        "label_kind": cfg["label_kind"] if cfg["kind"] == "classifier" else "",
        "inputs_json": canonical_json(inputs),
        "macro_f1": macro,
        "n_rows": int(fitted.metrics["n_rows"]),
        "n_sequences": len(keys),
        "created_iso": created,
    }
    if cfg["kind"] == "classifier":
        log.info(
            "model %s run %s: sequence-held-out macro F1 (%s) = %.3f",
            model,
            run_id,
            fitted.metrics["evaluation"],
            macro,
        )
    return fitted


def _train_classifier(ds, model, run_id, cfg, runs, keys, fitted: FittedRun) -> None:
    from .estimators import (
        cross_val_predict_grouped,
        drop_uninformative,
        fit_estimator,
        make_estimator,
        thread_limit,
    )

    table = mi.stack(list(mi.iter_training_tables(ds, runs, keys, cfg)))
    if table.empty:
        raise ModelError(
            "the labelled recordings have no feature rows",
            expected="feature rows",
            found=[f"{g}/{s}" for g, s in keys[:5]],
        )
    columns = _select_columns(table, cfg["feature_columns"])
    X = mi.design_matrix(table, columns)
    y = table["label"].astype(str).to_numpy(dtype=object)
    seq_key = sequence_keys(table["group"], table["sequence"])
    bg = cfg["background_label"]
    classes = mi.vocabulary_order(ds, cfg["label_kind"], bg, sorted(set(y)))
    hold, tr, te = _holdout_split(table, cfg["holdout_groups"])
    X, columns, dropped = drop_uninformative(X, columns, tr)

    pred = np.empty(len(y), dtype=object)
    split = np.where(hold, "holdout", "cv").astype(object)
    oof, folds = cross_val_predict_grouped(cfg, X[tr], y[tr], seq_key[tr])
    pred[tr] = oof
    est = make_estimator(cfg["estimator"], cfg["estimator_params"], cfg["seed"])
    est = fit_estimator(est, X[tr], y[tr], cfg["class_weight"], cfg["max_train_rows"], cfg["seed"], cfg["n_threads"])
    if len(te):
        with thread_limit(cfg["n_threads"]):
            pred[te] = est.predict(X[te])
    raw = pred.copy()
    pred = _smooth(table, pred, cfg["target"], cfg["min_bout"])

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

    keep = ["group", "sequence", "frame"] + _track_cols(cfg["target"])
    preds = table[keep].copy()
    preds["label"] = y
    preds["pred"] = pred
    preds["pred_unsmoothed"] = raw
    preds["split"] = split
    fitted.predictions = preds
    fitted.bundle = {
        "kind": "classifier",
        "estimator": est,
        "columns": columns,
        "classes": classes,
        "model": model,
        "run_id": run_id,
        "target": cfg["target"],
        "background_label": bg,
        "min_bout": cfg["min_bout"],
        "n_threads": cfg["n_threads"],
    }
    fitted.metrics = metrics
    if cfg["plots"]:
        fitted.figures = model_figures_from(metrics, preds, classes, cfg["target"], cfg["max_ethograms"])


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


def model_figures_from(
    metrics: Mapping[str, Any],
    preds: pd.DataFrame,
    classes: list[str],
    target: str = "individual",
    max_ethograms: int = 8,
) -> dict[str, Any]:
    """``{name: Figure}``: ``confusion_matrix`` and ``ethogram__<group_safe>__<sequence_safe>`` per sequence."""
    from mosaic.reporting.plots import plot_confusion_matrix

    from .plots import plot_prediction_ethogram

    ev = metrics[metrics["evaluation"]]
    figs = {
        "confusion_matrix": plot_confusion_matrix(
            ev["confusion_matrix"],
            ev["classes"],
            normalize=True,
            title=f"{metrics['model']} ({metrics['evaluation']}) macro F1 = {metrics['macro_f1']:.3f}",
        )
    }
    if len(preds):
        for k, ((g, s), part) in enumerate(preds.groupby(["group", "sequence"], sort=True)):
            if k >= max_ethograms:
                break
            figs[f"ethogram__{sequence_key(g, s)}"] = plot_prediction_ethogram(
                part,
                classes,
                title=f"{g} / {s}: true vs predicted ({part['split'].iloc[0]})",
                track_cols=_track_cols(target),
            )
    return figs


def model_figures(ds: DatasetCore, model_run: Any, max_ethograms: int | None = None) -> dict[str, Any]:
    """Figures of a trained classifier run (confusion matrix, ethograms), rebuilt from its files."""
    from .store import load_run_predictions

    run = load_run(ds, model_run)
    if run["bundle"]["kind"] != "classifier":
        return {}
    preds = load_run_predictions(ds, (run["model"], run["run_id"]))
    cfg = run["config"]["config"]
    return model_figures_from(
        run["metrics"],
        preds,
        run["bundle"]["classes"],
        cfg["target"],
        cfg["max_ethograms"] if max_ethograms is None else max_ethograms,
    )


def _train_clusters(ds, model, run_id, cfg, runs, keys, fitted: FittedRun) -> None:
    from .unsupervised import assign_clusters, cluster_summary, fit_clusters

    table = mi.stack([mi.load_model_input(runs, k, cfg) for k in keys])
    if table.empty:
        raise ModelError("the input features have no rows in scope", found=[f"{g}/{s}" for g, s in keys[:5]])
    columns = _select_columns(table, cfg["feature_columns"], label_col=None)
    X = mi.design_matrix(table, columns)
    from .estimators import thread_limit

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
    keep = ["group", "sequence", "frame"] + _track_cols(cfg["target"])
    preds = table[keep].copy()
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
