"""Models: behaviour classifiers and clustering over features and labels.

Public API (scikit-learn is imported only when a model is trained or applied):

* :func:`train_model` ``(ds, model, config=None, overwrite=False, name=None) -> run_id`` (``model``: a
  name, a scikit-learn classifier or a :class:`~mosaic.models.estimators.Trainer`): :func:`fit_model`
  (trains, returns a :class:`FittedRun`, writes nothing) then :func:`store_model_run` (writes it)
* :func:`predict` ``(ds, model_run, sequences=None, groups=None, overwrite=False) -> Result``:
  :func:`plan_prediction` (a :class:`PredictionRun`, nothing written) then its ``run()``
* :class:`ModelInputs`: what :func:`fit_model` and :func:`plan_prediction` read (feature runs,
  labels, stored runs), over a dataset or from the Kedro catalog views; :class:`ModelStore`,
  :class:`StoredRun` (read-only views of stored runs)
* :func:`load_run`, :func:`load_run_predictions`, :func:`model_figures`, :func:`read_models_index`
* :func:`resolve_config` and :data:`DEFAULTS` (the allowed config keys)
* pure helpers: :mod:`mosaic.models.align` (labels ↔ features), :mod:`mosaic.models.evaluation`
  (grouped CV, metrics, bout smoothing), :mod:`mosaic.models.unsupervised`.
"""

from .api import (
    FittedRun,
    apply_bundle,
    fit_model,
    model_figures,
    plan_prediction,
    predict,
    prediction_feature_name,
    train_model,
)
from .config import ALLOWED_KEYS, DEFAULTS, resolve_config
from .inputs import ModelInputs
from .prediction import PredictionRun
from .store import (
    MODELS_INDEX,
    ModelStore,
    StoredRun,
    load_run,
    load_run_predictions,
    parse_model_run,
    read_models_index,
    store_model_run,
)

__all__ = [
    "ALLOWED_KEYS",
    "DEFAULTS",
    "MODELS_INDEX",
    "FittedRun",
    "ModelInputs",
    "ModelStore",
    "PredictionRun",
    "StoredRun",
    "apply_bundle",
    "fit_model",
    "load_run",
    "load_run_predictions",
    "model_figures",
    "parse_model_run",
    "plan_prediction",
    "predict",
    "prediction_feature_name",
    "read_models_index",
    "resolve_config",
    "store_model_run",
    "train_model",
]
