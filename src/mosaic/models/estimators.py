"""Supervised estimators: construction from the config, class-balanced fitting, grouped CV predictions."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from mosaic.core.errors import ConfigError, ModelError

from .evaluation import grouped_folds

HGB_DEFAULTS = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31, "l2_regularization": 1e-3, "early_stopping": False}
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


def make_estimator(name: str, params: Mapping[str, Any] | None = None, seed: int = 0):
    """A new unfitted scikit-learn classifier.

    ``hist_gradient_boosting`` → :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
    (handles NaN natively); ``random_forest`` → :class:`~sklearn.ensemble.RandomForestClassifier`
    wrapped in a pipeline with a median imputer (random forests do not take NaN everywhere).

    Raises
    ------
    ConfigError
        Unknown estimator or a parameter the estimator does not accept.
    """
    from sklearn.ensemble import RandomForestClassifier

    params = dict(params or {})
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


def sample_weights(y: np.ndarray, class_weight: str = "balanced") -> np.ndarray | None:
    """Per-row weights that balance the classes (``'balanced'``), or None (``'none'``)."""
    if class_weight != "balanced":
        return None
    from sklearn.utils.class_weight import compute_sample_weight

    return compute_sample_weight("balanced", np.asarray(y).astype(str))


def _fit_kwargs(est, weights: np.ndarray | None) -> dict[str, Any]:
    if weights is None:
        return {}
    if hasattr(est, "steps"):  # pipeline: route to the final step
        return {f"{est.steps[-1][0]}__sample_weight": weights}
    return {"sample_weight": weights}


def fit_estimator(est, X: np.ndarray, y: np.ndarray, class_weight: str = "balanced",
                  max_rows: int | None = None, seed: int = 0, n_threads: int | None = 1):
    """Fit ``est`` on ``(X, y)`` with class-balanced sample weights; subsample to ``max_rows`` rows.

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
    try:
        with thread_limit(n_threads):
            est.fit(X, y, **_fit_kwargs(est, w))
    except (ValueError, TypeError) as exc:
        if type(exc).__name__ == "InvalidParameterError":  # scikit-learn validates params at fit time
            raise ConfigError("invalid estimator_params", expected="valid parameters of the estimator",
                              found=str(exc).splitlines()[0]) from exc
        raise ModelError("the estimator could not be fitted", found=str(exc).splitlines()[0]) from exc
    return est


def cross_val_predict_grouped(
    cfg: Mapping[str, Any], X: np.ndarray, y: np.ndarray, seq_key: np.ndarray,
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
        fit_estimator(est, X[tr], y[tr], cfg["class_weight"], cfg["max_train_rows"], cfg["seed"] + k, cfg["n_threads"])
        with thread_limit(cfg["n_threads"]):
            y_oof[te] = est.predict(X[te])
        folds.append({
            "fold": k,
            "n_train": len(tr),
            "n_test": len(te),
            "test_sequences": sorted(str(s).replace("\x1f", "/") for s in np.unique(seq_key[te].astype(str))),
        })
    return y_oof, folds
