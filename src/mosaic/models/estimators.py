"""Supervised estimators: construction from the config, class-balanced fitting, grouped CV predictions."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import numpy as np

from mosaic.core.errors import ConfigError, ModelError

from .evaluation import grouped_folds

log = logging.getLogger(__name__)

HGB_DEFAULTS = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "l2_regularization": 1e-3,
    "early_stopping": False,
}
RF_DEFAULTS = {"n_estimators": 200, "min_samples_leaf": 2, "n_jobs": 1}


@contextlib.contextmanager
def thread_limit(n_threads: int | None) -> Iterator[None]:
    """Limit OpenMP/BLAS threads (``None``: no limit). Oversubscribed OpenMP on a busy machine is slow."""
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_threads)):
        yield


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


def __getattr__(name: str):
    # the subclass is built lazily so that importing this module does not import scikit-learn;
    # it is cached in the module namespace so that pickles find it as mosaic.models.estimators.HGBClassifier
    if name == "HGBClassifier":
        cls = _define_hgb()
        globals()["HGBClassifier"] = cls
        return cls
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


def informative_columns(X: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Which columns of ``X`` carry information: ``(keep_mask, {column index: reason})``.

    A column without any finite value (``'no finite value'``, e.g. pair features of a
    single-animal recording) or holding one value in every row (``'constant'``) cannot inform
    a split. A column with one finite value and some missing rows is kept (missingness is
    information).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError("X must be 2-D")
    finite = np.isfinite(X)
    has_finite = finite.any(axis=0) if len(X) else np.zeros(X.shape[1], bool)
    filled = np.where(finite, X, np.nan) if np.isinf(X).any() else X  # no copy unless there are infinities
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(filled, axis=0) if len(X) else np.full(X.shape[1], np.nan)
        hi = np.nanmax(filled, axis=0) if len(X) else np.full(X.shape[1], np.nan)
    constant = has_finite & finite.all(axis=0) & (lo == hi)
    reasons = {int(j): "no finite value" for j in np.flatnonzero(~has_finite)}
    reasons.update({int(j): "constant" for j in np.flatnonzero(constant)})
    return has_finite & ~constant, reasons


class ColumnSubsetClassifier:
    """A fitted classifier that sees only some columns of the design matrix.

    :func:`fit_estimator` returns one when columns carried no information in the rows it was
    fitted on, or when the classifier has no ``predict_proba`` (then probabilities are the
    one-hot of ``predict``). Picklable; ``predict``/``predict_proba``/``classes_`` take the
    full design matrix.
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


def drop_uninformative(
    X: np.ndarray, columns: list[str], rows: np.ndarray | None = None
) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """``X`` and ``columns`` without the columns that carry no information in ``rows`` (default all).

    Returns
    -------
    X, columns, dropped
        The kept columns and ``{column: reason}`` of the dropped ones (see :func:`informative_columns`).

    Raises
    ------
    ModelError
        No column carries information.
    """
    keep, reasons = informative_columns(X if rows is None else X[rows])
    dropped = {columns[j]: r for j, r in sorted(reasons.items())}
    if not keep.any():
        raise ModelError(
            "no input feature column carries information in the training rows",
            expected="at least one column with differing finite values",
            found=dropped,
            hint="pair features need recordings with two or more animals; check the feature inputs",
        )
    if not dropped:
        return X, list(columns), {}
    return X[:, keep], [c for c, k in zip(columns, keep, strict=True) if k], dropped


def sample_weights(y: np.ndarray, class_weight: str = "balanced") -> np.ndarray | None:
    """Per-row weights that balance the classes (``'balanced'``), or None (``'none'``)."""
    if class_weight != "balanced":
        return None
    from sklearn.utils.class_weight import compute_sample_weight

    return compute_sample_weight("balanced", np.asarray(y).astype(str))


def _accepts_sample_weight(fit: Any) -> bool:
    import inspect

    try:
        sig = inspect.signature(fit)
    except (TypeError, ValueError):
        return True
    return "sample_weight" in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _fit_kwargs(est, weights: np.ndarray | None) -> dict[str, Any]:
    if weights is None:
        return {}
    if hasattr(est, "steps"):  # pipeline: route to the final step
        last = est.steps[-1]
        if not _accepts_sample_weight(getattr(last[1], "fit", None)):
            log.warning("%s.fit takes no sample_weight: fitted without class balancing", type(last[1]).__name__)
            return {}
        return {f"{last[0]}__sample_weight": weights}
    if not _accepts_sample_weight(est.fit):
        log.warning("%s.fit takes no sample_weight: fitted without class balancing", type(est).__name__)
        return {}
    return {"sample_weight": weights}


def fit_estimator(
    est,
    X: np.ndarray,
    y: np.ndarray,
    class_weight: str = "balanced",
    max_rows: int | None = None,
    seed: int = 0,
    n_threads: int | None = 1,
):
    """Fit ``est`` on ``(X, y)`` with class-balanced sample weights; subsample to ``max_rows`` rows.

    Columns without information in these rows (see :func:`informative_columns`) are left out
    of the fit; the returned classifier is then a :class:`ColumnSubsetClassifier` that still
    takes the full design matrix. Use the returned object, not ``est``.

    Raises
    ------
    ModelError
        Fewer than two classes in ``y``, or the estimator rejects the data.
    """
    y = np.asarray(y).astype(str)
    if max_rows is not None and len(y) > max_rows:
        idx = np.sort(np.random.default_rng(seed).choice(len(y), size=max_rows, replace=False))
        X, y = X[idx], y[idx]
    if len(np.unique(y)) < 2:
        raise ModelError("training data holds fewer than two classes", expected=">= 2 labels", found=sorted(set(y)))
    w = sample_weights(y, class_weight)
    keep, _ = informative_columns(X)
    if not keep.any():
        raise ModelError(
            "no feature column carries information in the training rows",
            expected="a column with differing finite values",
            found=f"{X.shape[1]} columns without finite values or constant",
        )
    n_features = X.shape[1]
    if not keep.all():
        X = X[:, keep]
    try:
        with thread_limit(n_threads):
            est.fit(X, y, **_fit_kwargs(est, w))
    except (ValueError, TypeError) as exc:
        if type(exc).__name__ == "InvalidParameterError":  # scikit-learn validates params at fit time
            raise ConfigError(
                "invalid estimator_params", expected="valid parameters of the estimator", found=str(exc).splitlines()[0]
            ) from exc
        raise ModelError("the estimator could not be fitted", found=str(exc).splitlines()[0]) from exc
    if not keep.all() or not callable(getattr(est, "predict_proba", None)):
        return ColumnSubsetClassifier(est, np.flatnonzero(keep), n_features)
    return est


def cross_val_predict_grouped(
    cfg: Mapping[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    seq_key: np.ndarray,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Out-of-fold predictions with sequence-grouped folds (each row predicted by a model that never saw its recording).

    Returns
    -------
    y_oof, folds
        Predicted labels (object array aligned with ``y``) and one record per fold
        (``test_sequences``, ``n_train``, ``n_test``).
    """
    y = np.asarray(y).astype(str)
    y_oof = np.empty(len(y), dtype=object)
    folds = []
    for k, (tr, te) in enumerate(grouped_folds(y, seq_key, cfg["cv_folds"], cfg["stratified"], cfg["seed"])):
        est = make_estimator(cfg["estimator"], cfg["estimator_params"], cfg["seed"])
        est = fit_estimator(
            est, X[tr], y[tr], cfg["class_weight"], cfg["max_train_rows"], cfg["seed"] + k, cfg["n_threads"]
        )
        with thread_limit(cfg["n_threads"]):
            y_oof[te] = est.predict(X[te])
        folds.append(
            {
                "fold": k,
                "n_train": len(tr),
                "n_test": len(te),
                "test_sequences": sorted(str(s).replace("\x1f", "/") for s in np.unique(seq_key[te].astype(str))),
            }
        )
    return y_oof, folds
