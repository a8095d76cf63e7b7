"""Supervised estimators: the registered classifiers, estimator instances and trainers, their JSON identity.

:func:`make_estimator` builds a new unfitted classifier from a registered name, a scikit-learn
classifier or a :class:`Trainer`; :func:`describe_estimator` is its identity in ``config.json``.
The classes that enter pickled models (``HGBClassifier``, :class:`ColumnSubsetClassifier`) live
here so that saved models keep finding them. Fitting and grouped cross-validation live in
:mod:`mosaic.models.fitting`; their names stay importable from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from mosaic.core.errors import ConfigError, ModelError

HGB_DEFAULTS = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "l2_regularization": 1e-3,
    "early_stopping": False,
}
RF_DEFAULTS = {"n_estimators": 200, "min_samples_leaf": 2, "n_jobs": 1}


def _fast_binning_hgb():
    """``HistGradientBoostingClassifier`` whose bin edges ignore sample weights.

    scikit-learn >= 1.7 computes weighted bin percentiles, one ``_weighted_percentile`` call per
    bin edge and column — seconds per fit with class-balancing weights. Bin edges are only the
    quantisation grid; the weights still drive the gradients, i.e. the class balancing. This
    restores the unweighted (pre-1.7) binning.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    if not hasattr(HistGradientBoostingClassifier, "_bin_data"):
        return HistGradientBoostingClassifier
    return globals().get("HGBClassifier") or __getattr__("HGBClassifier")


def _define_hgb():
    from sklearn.ensemble import HistGradientBoostingClassifier

    class HGBClassifier(HistGradientBoostingClassifier):
        """HistGradientBoostingClassifier with unweighted bin edges (see :func:`_fast_binning_hgb`)."""

        def _bin_data(self, X, sample_weight, is_training_data):
            return super()._bin_data(X, None, is_training_data)

    HGBClassifier.__module__ = __name__
    HGBClassifier.__qualname__ = "HGBClassifier"
    return HGBClassifier


#: names whose home is :mod:`mosaic.models.fitting`, still importable from here; resolved on first
#: use because that module imports this one
FITTING_NAMES = frozenset(
    {
        "thread_limit",
        "informative_columns",
        "drop_uninformative",
        "sample_weights",
        "fit_estimator",
        "cross_val_predict_grouped",
    }
)


def __getattr__(name: str):
    # the subclass is built lazily so that importing this module does not import scikit-learn;
    # it is cached in the module namespace so that pickles find it as mosaic.models.estimators.HGBClassifier
    if name == "HGBClassifier":
        cls = _define_hgb()
        globals()["HGBClassifier"] = cls
        return cls
    if name in FITTING_NAMES:
        from . import fitting

        return getattr(fitting, name)
    raise AttributeError(name)


def make_estimator(name: Any, params: Mapping[str, Any] | None = None, seed: int = 0):
    """A new unfitted classifier.

    ``name`` is a registered estimator name, a scikit-learn classifier instance (an unfitted
    clone of it is returned, ``params`` set on the clone) or a trainer (an object implementing
    :class:`Trainer`: its ``make_estimator(seed)`` is called).

    ``hist_gradient_boosting`` → :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
    (handles NaN natively); ``random_forest`` → :class:`~sklearn.ensemble.RandomForestClassifier`
    wrapped in a pipeline with a median imputer (random forests do not take NaN everywhere).

    Raises
    ------
    ConfigError
        Unknown estimator or a parameter the estimator does not accept.
    """
    params = dict(params or {})
    if not isinstance(name, str):
        return _estimator_from_instance(name, params, seed)
    from sklearn.ensemble import RandomForestClassifier

    try:
        if name == "hist_gradient_boosting":
            est = _fast_binning_hgb()(random_state=seed, **{**HGB_DEFAULTS, **params})
        elif name == "random_forest":
            from sklearn.impute import SimpleImputer
            from sklearn.pipeline import make_pipeline

            rf = RandomForestClassifier(random_state=seed, **{**RF_DEFAULTS, **params})
            est = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), rf)
        else:
            raise ConfigError("unknown estimator", expected=["hist_gradient_boosting", "random_forest"], found=name)
    except TypeError as exc:
        raise ConfigError("invalid estimator_params", expected=f"parameters of {name}", found=str(exc)) from exc
    return est


class Trainer(Protocol):
    """What ``train_model`` accepts besides a registered estimator name or a scikit-learn classifier.

    ``name``, ``version`` and ``params`` identify the trainer (they enter the run id and
    ``config.json``); ``make_estimator(seed)`` returns a new unfitted classifier with
    ``fit(X, y[, sample_weight])`` and ``predict(X)`` (``predict_proba`` and ``classes_``
    optional). mosaic's grouped cross-validation calls it once per fold and once for the final
    model, so each fit starts fresh.
    """

    name: str
    version: str
    params: Mapping[str, Any]

    def make_estimator(self, seed: int) -> Any: ...


def is_trainer(obj: Any) -> bool:
    """True when ``obj`` implements :class:`Trainer` (name, version, params, make_estimator)."""
    return (
        not isinstance(obj, (str, type))
        and callable(getattr(obj, "make_estimator", None))
        and all(hasattr(obj, a) for a in ("name", "version", "params"))
    )


def is_sklearn_classifier(obj: Any) -> bool:
    """True when ``obj`` is an (unfitted or fitted) scikit-learn-style classifier instance."""
    return (
        not isinstance(obj, (str, type))
        and callable(getattr(obj, "fit", None))
        and callable(getattr(obj, "predict", None))
        and callable(getattr(obj, "get_params", None))
    )


def describe_estimator(est: Any) -> Any:
    """JSON-able identity of an estimator config value (a name stays a name).

    A scikit-learn classifier becomes ``{'class': 'module.Class', 'params': {...}}`` (its
    ``get_params(deep=False)``, non-JSON values by ``repr``); a trainer becomes
    ``{'class', 'name', 'version', 'params'}``.

    Raises
    ------
    ConfigError
        ``est`` is neither a name, a scikit-learn classifier nor a trainer.
    """
    if isinstance(est, str):
        return est
    cls = f"{type(est).__module__}.{type(est).__qualname__}"
    if is_trainer(est):
        return {"class": cls, "name": str(est.name), "version": str(est.version), "params": _jsonable(dict(est.params))}
    if is_sklearn_classifier(est):
        return {"class": cls, "params": _jsonable(est.get_params(deep=False))}
    raise ConfigError(
        "estimator must be a registered name, a scikit-learn classifier or a trainer",
        expected=[
            "hist_gradient_boosting",
            "random_forest",
            "an object with fit/predict/get_params",
            "an object with name/version/params/make_estimator",
        ],
        found=repr(est),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if callable(getattr(value, "get_params", None)) and not isinstance(
        value, type
    ):  # nested estimator (pipeline step, ...)
        return {
            "class": f"{type(value).__module__}.{type(value).__qualname__}",
            "params": _jsonable(value.get_params(deep=False)),
        }
    return repr(value)


def _estimator_from_instance(obj: Any, params: dict[str, Any], seed: int):
    if is_trainer(obj):
        if params:
            raise ConfigError(
                "estimator_params cannot be combined with a trainer",
                expected="params set on the trainer itself",
                found=sorted(params),
            )
        est = obj.make_estimator(seed)
        if not (callable(getattr(est, "fit", None)) and callable(getattr(est, "predict", None))):
            raise ConfigError(
                "the trainer's make_estimator() did not return a classifier",
                expected="an object with fit and predict",
                found=repr(est),
            )
        return est
    if is_sklearn_classifier(obj):
        from sklearn.base import clone

        try:
            est = clone(obj)
            if params:
                est.set_params(**params)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ConfigError(
                "invalid estimator or estimator_params",
                expected=f"parameters of {type(obj).__name__}",
                found=str(exc).splitlines()[0],
            ) from exc
        return est
    describe_estimator(obj)  # raises the ConfigError naming what is accepted
    raise AssertionError("unreachable")  # pragma: no cover


class ColumnSubsetClassifier:
    """A fitted classifier that sees only some columns of the design matrix.

    :func:`~mosaic.models.fitting.fit_estimator` returns one when columns carried no information
    in the rows it was fitted on, or when the classifier has no ``predict_proba`` (then
    probabilities are the one-hot of ``predict``). Picklable; ``predict``/``predict_proba``/
    ``classes_`` take the full design matrix.
    """

    def __init__(self, estimator: Any, keep: np.ndarray, n_features_in: int):
        self.estimator = estimator
        self.keep = np.asarray(keep, dtype=np.int64)
        self.n_features_in_ = int(n_features_in)

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.estimator.classes_)

    def _x(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ModelError(
                "design matrix has the wrong number of columns",
                expected=self.n_features_in_,
                found=X.shape[1] if X.ndim == 2 else X.shape,
            )
        return X[:, self.keep]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.estimator.predict(self._x(X))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        Xs = self._x(X)
        if callable(getattr(self.estimator, "predict_proba", None)):
            return self.estimator.predict_proba(Xs)
        pred = np.asarray(self.estimator.predict(Xs)).astype(str)
        classes = self.classes_.astype(str)
        return (pred[:, None] == classes[None, :]).astype(np.float64)
