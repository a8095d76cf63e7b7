"""Nodes of the `train` pipeline: feature runs + labels → trained model, metrics, plots, predictions.

The nodes call the library functions the facade calls (:func:`mosaic.models.train_model`,
:func:`mosaic.models.predict`, :func:`mosaic.models.load_run`, :func:`mosaic.models.model_figures`);
``train_model`` writes ``models/<model>/<run_id>/`` and ``models/index.csv`` itself (a rerun
with the same inputs is a no-op), and the nodes return the artefacts for the catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError

log = logging.getLogger(__name__)
_KEYS = ("model", "overwrite", "features", "config", "predict")


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
    dataset: DatasetCore, train: Mapping[str, Any], feature_results: Mapping[str, Any] | None, labels_index: Any = None
) -> Any:
    """Train the configured model on the feature runs of ``feature_results`` and the labels of ``labels_index``.

    Returns the trained run in memory (:class:`mosaic.models.FittedRun`, from
    :func:`mosaic.models.fit_model`); the ``model_run`` catalog dataset stores it with the same
    writer as ``Dataset.train_model`` (nothing is written when the same run is already stored).
    """
    from mosaic.models import fit_model

    p = _check(train)
    config = dict(p.get("config") or {})
    config["features"] = feature_inputs(feature_results, p.get("features", "all"))
    return fit_model(dataset, str(p["model"]), config, overwrite=bool(p.get("overwrite", False)))


def report_model_run(
    model_run: Mapping[str, Any], dataset: DatasetCore
) -> tuple[Any, dict[str, Any], Any, dict[str, Any]]:
    """The stored run's artefacts for the catalog: model bundle, metrics, confusion matrix, ethograms.

    Returns
    -------
    tuple
        ``(model bundle, metrics, confusion-matrix figure, {'ethogram__<key>.png': figure})``.
    """
    from mosaic.models import load_run, model_figures

    model, run_id = model_run["model"], model_run["run_id"]
    run = load_run(dataset, (model, run_id))
    metrics = run["metrics"]
    if "macro_f1" in metrics:
        msg = f"model {model} run {run_id}: sequence-held-out macro F1 ({metrics['evaluation']}) = {metrics['macro_f1']:.3f}"
        log.info(msg)
        print(msg)
    figs = model_figures(dataset, (model, run_id))
    confusion = figs.pop("confusion_matrix", None)
    if confusion is None:  # clustering: no confusion matrix; an empty figure keeps the dataset valid
        from mosaic.models.plots import _figure

        confusion = _figure(2, 2)
    ethograms = {f"{k}.png": f for k, f in figs.items()}
    return run["bundle"], metrics, confusion, ethograms


def predict_behaviors(dataset: DatasetCore, train: Mapping[str, Any], model_run: Mapping[str, Any]) -> dict[str, Any]:
    """Write the trained run's predictions as the feature ``<model>__pred``; return its Result as a dict."""
    from mosaic.models import predict

    p = _check(train)
    if not p.get("predict", True):
        return {"feature": None, "run_id": None, "paths": []}
    ds = dataset
    res = predict(ds, (model_run["model"], model_run["run_id"]), overwrite=bool(p.get("overwrite", False)))
    out = res.to_dict()
    out["paths"] = [ds.relative_path(x) for x in out["paths"]]
    return out
