"""Fitting supervised classifiers: informative columns, class-balanced weights, grouped out-of-fold predictions.

:func:`fit_estimator` fits one classifier (built by :func:`mosaic.models.estimators.make_estimator`)
on the columns that carry information, with class-balancing sample weights and a thread limit;
:func:`cross_val_predict_grouped` fits one per sequence-grouped fold.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from mosaic.core.errors import ConfigError, ModelError

from .estimators import ColumnSubsetClassifier, make_estimator
from .evaluation import grouped_folds

log = logging.getLogger(__name__)


@contextlib.contextmanager
def thread_limit(n_threads: int | None) -> Iterator[None]:
    """Limit OpenMP/BLAS threads (``None``: no limit). Oversubscribed OpenMP on a busy machine is slow."""
    if n_threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_threads)):
        yield


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
