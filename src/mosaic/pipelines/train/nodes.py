"""Nodes of the `train` pipeline: feature runs + labels → trained model, metrics, plots, predictions.

The nodes take data and parameters and return data; they read feature runs, labels and stored
model runs through the catalog's read-only views (``features@store``, ``labels_index@store``,
``model_store``, the ``model_run`` stored run) and write nothing:

* ``train_behavior_model`` returns the trained run (:func:`mosaic.models.fit_model`, the
  function ``Dataset.train_model`` calls), which the ``model_run`` dataset stores;
* ``report_model_run`` returns the stored run's bundle, metrics and figures;
* ``predict_behaviors`` returns the planned prediction (:func:`mosaic.models.plan_prediction`,
  the plan ``Dataset.predict`` runs), which the ``behavior_predictions`` dataset runs and records.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mosaic.core.errors import ConfigError
from mosaic.core.executor import EXECUTOR_PARAMS, executor_from_params

log = logging.getLogger(__name__)
_KEYS = ("model", "overwrite", "features", "config", "predict", *EXECUTOR_PARAMS)


def _check(params: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(params or {})
    unknown = sorted(set(params) - set(_KEYS))
    if unknown:
        raise ConfigError("unknown keys in train parameters", expected=list(_KEYS), found=unknown)
    if not params.get("model"):
        raise ConfigError(
            "train parameters need a model name", expected="train.model: <name>", found=params.get("model")
        )
    return params


def feature_inputs(feature_results: Mapping[str, Any] | None, selection: Any = "all") -> list[dict[str, Any]]:
    """Model feature inputs from the featurize summary (``{'results': [{'key', 'feature', 'run_id'}]}``).

    ``selection``: ``'all'`` (every step), a list of step keys, or explicit ``{feature, run_id}``
    entries / ``'name'`` / ``'name@run_id'`` strings that are not step keys. Step keys become the
    column prefixes (``as``), so two runs of one feature (e.g. two ``rolling`` steps) stay apart.
    """
    steps = {r["key"]: r for r in (feature_results or {}).get("results", [])}
    if selection in (None, "all"):
        if not steps:
            raise ConfigError(
                "train.features is 'all' but the featurize summary lists no feature run",
                expected="feature_results with results",
                found=feature_results,
            )
        selection = list(steps)
    if isinstance(selection, str):
        selection = [selection]
    out = []
    for item in selection:
        if isinstance(item, str) and item in steps:
            r = steps[item]
            out.append({"feature": r["feature"], "run_id": r["run_id"], "as": item})
        else:
            out.append(item)
    return out


def train_behavior_model(
    train: Mapping[str, Any], feature_results: Mapping[str, Any] | None, features: Any, labels: Any, models: Any
) -> Any:
    """Train the configured model on the feature runs of ``feature_results`` and the labels.

    Parameters
    ----------
    train
        The ``train`` parameters (``model``, ``features``, ``config``, ``overwrite``).
    feature_results
        The featurize summary (``features@runs``): which feature runs are the model's inputs.
    features, labels, models
        The catalog views ``features@store``, ``labels_index@store`` and ``model_store``.

    Returns
    -------
    mosaic.models.FittedRun
        The trained run in memory; the ``model_run`` dataset stores it with the writer of
        ``Dataset.train_model`` (nothing is trained when the same run is already stored).
    """
    from mosaic.models import ModelInputs, fit_model

    p = _check(train)
    config = dict(p.get("config") or {})
    config["features"] = feature_inputs(feature_results, p.get("features", "all"))
    inputs = ModelInputs.from_catalog(features, labels, models)
    return fit_model(inputs, str(p["model"]), config, overwrite=bool(p.get("overwrite", False)))


def report_model_run(model_run: Any) -> tuple[Any, dict[str, Any], Any, dict[str, Any]]:
    """The stored run's artefacts for the catalog: model bundle, metrics, confusion matrix, ethograms.

    ``model_run`` is the stored run the ``model_run`` dataset loads (:class:`mosaic.models.StoredRun`).

    Returns
    -------
    tuple
        ``(model bundle, metrics, confusion-matrix figure, {'ethogram__<key>.png': figure})``.
    """
    from mosaic.models.api import run_figures

    run = model_run.load()
    metrics = run["metrics"]
    if "macro_f1" in metrics:
        msg = (
            f"model {run['model']} run {run['run_id']}: sequence-held-out macro F1 "
            f"({metrics['evaluation']}) = {metrics['macro_f1']:.3f}"
        )
        log.info(msg)
        print(msg)
    figs = run_figures(run, model_run.predictions)
    confusion = figs.pop("confusion_matrix", None)
    if confusion is None:  # clustering: no confusion matrix; an empty figure keeps the dataset valid
        from mosaic.models.plots import _figure

        confusion = _figure(2, 2)
    ethograms = {f"{k}.png": f for k, f in figs.items()}
    return run["bundle"], metrics, confusion, ethograms


def predict_behaviors(train: Mapping[str, Any], model_run: Any, features: Any) -> Any:
    """Plan the stored run's predictions of every recording (the feature ``<model>__pred``).

    Returns the :class:`mosaic.models.PredictionRun` (nothing is computed or written here), which
    the ``behavior_predictions`` dataset runs and records; with ``train.predict: false``, an empty
    summary.
    """
    from mosaic.models import ModelInputs, plan_prediction

    p = _check(train)
    if not p.get("predict", True):
        return {"feature": None, "run_id": None, "paths": []}
    inputs = ModelInputs.from_catalog(features, None, model_run.store)
    return plan_prediction(
        inputs, model_run, overwrite=bool(p.get("overwrite", False)), executor=executor_from_params(p)
    )
