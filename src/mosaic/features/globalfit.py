"""Global features, fitted over every sequence in scope: standard scaler, PCA, k-means.

``fit(scope)`` streams the input tables one sequence at a time (bounded memory): the scaler
and PCA accumulate sums / cross-products; k-means fits on a seeded random subsample.
``apply`` is plain numpy, so only k-means' ``fit`` imports scikit-learn. Rows with a NaN in any
used column get NaN outputs (null cluster) and are left out of the fit. The fitted state is
written to the run's ``run.json``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mosaic.core.errors import FeatureError

from .base import Feature
from .temporal import _check_columns_param, value_columns


class _Global(Feature):
    required_columns = ("frame", "id")

    def track_columns(self, available):
        cols = self.params["columns"] or [c for c in ("X", "Y") if c in available]
        return ["frame", "id"] + [c for c in cols if c not in ("frame", "id")]

    def validate_params(self) -> None:
        _check_columns_param(self)

    def _columns(self, data: pd.DataFrame) -> list[str]:
        cols = value_columns(data, self.params["columns"], self)
        if not cols:
            raise FeatureError(
                f"feature {self.name!r} found no numeric columns",
                group=data.attrs.get("group"),
                sequence=data.attrs.get("sequence"),
                expected="float columns",
                found=list(data.columns),
            )
        if getattr(self, "columns_", None) is not None and cols != self.columns_:
            raise FeatureError(
                f"feature {self.name!r}: columns differ from the fitted ones",
                group=data.attrs.get("group"),
                sequence=data.attrs.get("sequence"),
                expected=self.columns_,
                found=cols,
            )
        return cols

    def _matrix(self, data: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The checked input columns, their float matrix (NaN where missing) and its rows without NaN."""
        cols = self._columns(data)
        M = (
            np.column_stack([data[c].to_numpy(np.float64, na_value=np.nan) for c in cols])
            if len(data)
            else np.zeros((0, len(cols)))
        )
        return cols, M, ~np.isnan(M).any(axis=1)

    def _require_fit(self, data: pd.DataFrame) -> None:
        if getattr(self, "columns_", None) is None:
            raise FeatureError(
                f"feature {self.name!r} is not fitted",
                group=data.attrs.get("group"),
                sequence=data.attrs.get("sequence"),
                hint="run it with run_feature (which fits over the scope) or call fit()",
            )

    def _key(self, data: pd.DataFrame) -> dict[str, Any]:
        return {k: data[k].to_numpy() for k in ("frame", "id", "id2") if k in data.columns}


class StandardScaler(_Global):
    """Scale each column to zero mean and unit variance over the whole scope (same column names).

    Parameters
    ----------
    columns : list of str or None
        Columns to scale (None: every float column of the input).
    """

    name = "standard_scaler"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {"columns": None}

    def fit(self, scope: Iterable[pd.DataFrame]) -> StandardScaler:
        n = s = ss = None
        self.columns_ = None
        for data in scope:
            cols, M, _ = self._matrix(data)
            ok = ~np.isnan(M)
            if n is None:
                self.columns_, n, s, ss = cols, np.zeros(len(cols)), np.zeros(len(cols)), np.zeros(len(cols))
            n += ok.sum(axis=0)
            Z = np.where(ok, M, 0.0)
            s += Z.sum(axis=0)
            ss += (Z * Z).sum(axis=0)
        if n is None:
            raise FeatureError("standard_scaler: nothing to fit", expected="at least one sequence")
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean_ = s / n
            var = ss / n - self.mean_**2
        self.scale_ = np.sqrt(np.clip(var, 0, None))
        self.scale_[~(self.scale_ > 0)] = 1.0
        return self

    def fitted_state(self) -> dict[str, Any]:
        return {"columns": self.columns_, "mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self._require_fit(data)
        cols = self._columns(data)
        out = self._key(data)
        for k, c in enumerate(cols):
            out[c] = (data[c].to_numpy(np.float64, na_value=np.nan) - self.mean_[k]) / self.scale_[k]
        return pd.DataFrame(out, copy=False)


class PCA(_Global):
    """Principal components over the whole scope (exact, from streamed covariance).

    Parameters
    ----------
    n_components : int
        Number of components ``pc1..pc<n>``.
    columns : list of str or None
        Input columns (None: every float column). Scale them first if units differ.
    """

    name = "pca"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {"n_components": 2, "columns": None}

    def validate_params(self) -> None:
        super().validate_params()
        k = self.params["n_components"]
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise FeatureError("bad 'n_components'", expected="int >= 1", found=k)

    def fit(self, scope: Iterable[pd.DataFrame]) -> PCA:
        self.columns_ = None
        n, s, xtx = 0, None, None
        for data in scope:
            cols, M, ok = self._matrix(data)
            M = M[ok]
            if s is None:
                self.columns_, s, xtx = cols, np.zeros(len(cols)), np.zeros((len(cols), len(cols)))
            n += len(M)
            s += M.sum(axis=0)
            xtx += M.T @ M
        if not n or n < 2:
            raise FeatureError("pca: fewer than 2 complete rows in scope", expected=">= 2 rows without NaN", found=n)
        k = self.params["n_components"]
        if k > len(self.columns_):
            raise FeatureError(
                "pca: n_components exceeds the number of columns", expected=f"<= {len(self.columns_)}", found=k
            )
        self.mean_ = s / n
        cov = (xtx - n * np.outer(self.mean_, self.mean_)) / (n - 1)
        w, v = np.linalg.eigh(cov)
        order = np.argsort(w)[::-1][:k]
        comps = v[:, order].T
        signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
        self.components_ = comps * signs[:, None]
        self.explained_variance_ = w[order]
        return self

    def fitted_state(self) -> dict[str, Any]:
        return {
            "columns": self.columns_,
            "mean": self.mean_.tolist(),
            "components": self.components_.tolist(),
            "explained_variance": self.explained_variance_.tolist(),
        }

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self._require_fit(data)
        _, M, ok = self._matrix(data)
        P = (M - self.mean_) @ self.components_.T
        P[~ok] = np.nan
        out = self._key(data)
        for k in range(P.shape[1]):
            out[f"pc{k + 1}"] = P[:, k]
        return pd.DataFrame(out, copy=False)


class KMeans(_Global):
    """k-means cluster of each row, fitted over a seeded subsample of the scope.

    Parameters
    ----------
    n_clusters : int
    columns : list of str or None
    seed : int
    max_rows_per_sequence : int
        Rows (without NaN) sampled from each sequence for the fit.

    Outputs ``cluster`` (nullable int; null for rows with NaN) and ``cluster_dist`` (distance to
    the centre, in the units of the input columns).
    """

    name = "kmeans"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {"n_clusters": 8, "columns": None, "seed": 0, "max_rows_per_sequence": 20000}

    def validate_params(self) -> None:
        super().validate_params()
        for k in ("n_clusters", "max_rows_per_sequence"):
            v = self.params[k]
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise FeatureError(f"bad '{k}' for kmeans", expected="int >= 1", found=v)

    def fit(self, scope: Iterable[pd.DataFrame]) -> KMeans:
        from sklearn.cluster import KMeans as _SKKMeans

        rng = np.random.default_rng(self.params["seed"])
        self.columns_ = None
        sample = []
        for data in scope:
            cols, M, ok = self._matrix(data)
            if self.columns_ is None:
                self.columns_ = cols
            M = M[ok]
            cap = self.params["max_rows_per_sequence"]
            if len(M) > cap:
                M = M[np.sort(rng.choice(len(M), cap, replace=False))]
            sample.append(M)
        X = np.concatenate(sample) if sample else np.zeros((0, 0))
        k = self.params["n_clusters"]
        if len(X) < k:
            raise FeatureError(
                "kmeans: fewer complete rows than clusters", expected=f">= {k} rows without NaN", found=len(X)
            )
        km = _SKKMeans(n_clusters=k, n_init=4, random_state=self.params["seed"]).fit(X)
        # order clusters by their first coordinate so ids are stable across sklearn versions
        order = np.lexsort(km.cluster_centers_.T[::-1])
        self.centers_ = km.cluster_centers_[order]
        return self

    def fitted_state(self) -> dict[str, Any]:
        return {"columns": self.columns_, "centers": self.centers_.tolist()}

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self._require_fit(data)
        _, M, ok = self._matrix(data)
        Z = np.where(ok[:, None], M, 0.0)
        C = self.centers_
        d2 = (Z * Z).sum(axis=1)[:, None] - 2.0 * Z @ C.T + (C * C).sum(axis=1)[None]
        np.clip(d2, 0.0, None, out=d2)
        lab = np.argmin(d2, axis=1) if len(M) else np.zeros(0, dtype=np.int64)
        dist = np.sqrt(d2[np.arange(len(M)), lab]) if len(M) else np.zeros(0)
        dist[~ok] = np.nan
        out = self._key(data)
        out["cluster"] = pd.arrays.IntegerArray(lab.astype(np.int64), ~ok)
        out["cluster_dist"] = dist
        return pd.DataFrame(out, copy=False)
