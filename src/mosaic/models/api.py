"""Dataset-level model functions: :func:`train_model`, :func:`fit_model`, :func:`model_figures`.

``train_model`` trains a supervised behaviour classifier (``kind='classifier'``) or a
clustering model (``kind='kmeans'`` / ``'ward'``) from feature runs (and, for a classifier,
one label kind) and writes ``models/<model>/<run_id>/`` plus a row of ``models/index.csv``.
``run_id`` hashes the model name, the resolved config, the resolved input feature run ids,
the label index fingerprint and the scope, so the same call is a no-op unless ``overwrite``.

:func:`fit_model` reads its inputs through :class:`~mosaic.models.inputs.ModelInputs` (built
over a dataset by the facade, from the catalog views by the Kedro ``train`` node) and trains
in memory (:mod:`mosaic.models.training`); :func:`~mosaic.models.store.store_model_run` writes.

For clustering, ``train_model`` also writes the assignments of its scope as that feature.
``predict`` (home: :mod:`mosaic.models.prediction`) applies a trained run and writes its output
as a *feature* named ``<model>__pred`` (features root layout and index), so
``load_feature(ds, '<model>__pred')`` and downstream features read it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, InvalidNameError, ModelError
from mosaic.core.run_ids import canonical_json, make_run_id
from mosaic.core.safe_names import sequence_key, to_safe_name

from . import inputs as mi
from .config import config_json, resolve_model
from .inputs import ModelInputs, as_model_inputs
from .prediction import (  # noqa: F401  (predict, apply_bundle: public through this module too)
    MODEL_VERSION,
    PRED_SUFFIX,
    _track_cols,
    apply_bundle,
    plan_prediction,
    predict,
    prediction_feature_name,
)
from .store import store_model_run
from .training import FittedRun, train_classifier, train_clusters

log = logging.getLogger(__name__)


def _check_model_name(model: Any) -> str:
    if not isinstance(model, str) or not model:
        raise ConfigError("model name must be a non-empty string", expected="e.g. 'behavior_clf'", found=repr(model))
    try:
        to_safe_name(model)
    except InvalidNameError as exc:  # pragma: no cover - non-empty str always encodes
        raise ConfigError("invalid model name", found=repr(model)) from exc
    return model


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
    source: DatasetCore | ModelInputs,
    model: Any,
    config: str | os.PathLike | Mapping[str, Any] | None = None,
    overwrite: bool = False,
    name: str | None = None,
) -> FittedRun:
    """Train model ``model`` with ``config`` and return the run in memory (nothing is written).

    ``source`` is a dataset (the facade) or the :class:`~mosaic.models.inputs.ModelInputs` the
    Kedro ``train`` node builds from its catalog views; both read the same files and give the
    same run. Otherwise the parameters and errors of :func:`train_model`. When a complete run
    with the same ``run_id`` is stored and not ``overwrite``, nothing is trained: the result
    has ``existing=True``.
    """
    inputs = as_model_inputs(source)
    model, cfg = resolve_model(model, config, name)
    model = _check_model_name(model)
    runs = mi.resolve_feature_runs(inputs.features, cfg["features"])
    keys, labels_id = _scope(inputs, runs, cfg)
    feature_ids = [{"feature": r["feature"], "run_id": r["run_id"], "as": r["prefix"]} for r in runs]
    run_id = _run_id(model, cfg, feature_ids, labels_id, keys)
    if not overwrite and inputs.models is not None and inputs.models.is_complete(model, run_id):
        log.info("model %s run %s exists; nothing to do (overwrite=True retrains)", model, run_id)
        return FittedRun(model=model, run_id=run_id, kind=cfg["kind"], existing=True)
    created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    resolved = {
        "model": model,
        "run_id": run_id,
        "config": config_json(cfg),
        "inputs": feature_ids,
        "labels": labels_id,
        "scope": [list(k) for k in keys],
        "created_iso": created,
        "version": MODEL_VERSION,
    }
    fitted = FittedRun(model=model, run_id=run_id, kind=cfg["kind"], resolved=resolved)
    trainer = train_classifier if cfg["kind"] == "classifier" else train_clusters
    trainer(inputs.labels, model, run_id, cfg, runs, keys, fitted)
    fitted.index_row = _index_row(fitted, cfg, feature_ids, len(keys), created)
    if cfg["kind"] == "classifier":
        log.info(
            "model %s run %s: sequence-held-out macro F1 (%s) = %.3f",
            model,
            run_id,
            fitted.metrics["evaluation"],
            fitted.metrics["macro_f1"],
        )
    return fitted


def _scope(inputs: ModelInputs, runs: list[dict], cfg: Mapping[str, Any]) -> tuple[list[tuple[str, str]], Any]:
    """The recordings a model trains on, and the identity of its labels (None for clustering).

    A classifier trains on the labelled recordings in scope, which every feature run must cover;
    clustering on the recordings in scope that every feature run covers.
    """
    if cfg["kind"] != "classifier":
        keys = mi.in_scope(mi.covered(runs), cfg["groups"], cfg["sequences"])
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
        return keys, None
    if inputs.labels is None:
        raise ModelError("a classifier needs labels", expected="the labels view (labels_index@store)", found=None)
    kind = cfg["label_kind"]
    keys = mi.in_scope(mi.label_files(inputs.labels, kind), cfg["groups"], cfg["sequences"])
    if not keys:
        raise ModelError(
            f"no labelled recording of kind {kind!r} in scope",
            expected="labelled recordings",
            found={"groups": cfg["groups"], "sequences": cfg["sequences"]},
        )
    mi.check_features_cover(runs, keys, "labelled")
    return keys, {"kind": kind, "index_fingerprint": inputs.labels.fingerprint(kind)}


def _run_id(model: str, cfg: Mapping[str, Any], feature_ids: list[dict], labels_id: Any, keys: list) -> str:
    """The content hash of a training: model, config (threads aside), input runs, labels, scope."""
    hashed = {k: v for k, v in config_json(cfg).items() if k not in ("n_threads",)}  # threads do not change the result
    return make_run_id(
        {
            "model": model,
            "version": MODEL_VERSION,
            "config": {**hashed, "features": feature_ids},
            "inputs": feature_ids,
            "labels": labels_id,
            "scope": [list(k) for k in keys],
        }
    )


def _index_row(fitted: FittedRun, cfg: Mapping[str, Any], feature_ids: list[dict], n_keys: int, created: str) -> dict:
    """The run's row of ``models/index.csv``."""
    classifier = cfg["kind"] == "classifier"
    return {
        "model": fitted.model,
        "run_id": fitted.run_id,
        "kind": cfg["kind"],
        "label_kind": cfg["label_kind"] if classifier else "",
        "inputs_json": canonical_json(feature_ids),
        "macro_f1": fitted.metrics["macro_f1"] if classifier else float("nan"),
        "n_rows": int(fitted.metrics["n_rows"]),
        "n_sequences": n_keys,
        "created_iso": created,
    }


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


def model_figures(ds: DatasetCore | Any, model_run: Any = None, max_ethograms: int | None = None) -> dict[str, Any]:
    """Figures of a trained classifier run (confusion matrix, ethograms), rebuilt from its files.

    ``ds`` and ``model_run`` name the run; or ``ds`` is a stored run
    (:class:`~mosaic.models.store.StoredRun`, what the ``model_run`` catalog entry loads).
    """
    from .store import ModelStore, StoredRun

    stored = ds if isinstance(ds, StoredRun) else ModelStore(ds).run(model_run)
    return run_figures(stored.load(), stored.predictions, max_ethograms)


def run_figures(run: Mapping[str, Any], predictions: Any, max_ethograms: int | None = None) -> dict[str, Any]:
    """Figures of a loaded run (:func:`~mosaic.models.store.load_run`) and its training predictions.

    ``predictions`` is the table or a callable returning it (called only for a classifier);
    clustering runs have no figures (``{}``).
    """
    if run["bundle"]["kind"] != "classifier":
        return {}
    preds = predictions() if callable(predictions) else predictions
    cfg = run["config"]["config"]
    return model_figures_from(
        run["metrics"],
        preds,
        run["bundle"]["classes"],
        cfg["target"],
        cfg["max_ethograms"] if max_ethograms is None else max_ethograms,
    )
