"""Unsupervised models: k-means and Ward clustering of feature rows.

Rows with missing values are imputed with the training medians; features are standardised
(z-scores with training mean/std) when ``standardize``. Ward (``AgglomerativeClustering``)
is quadratic in memory, so it is fitted on a random subsample of at most ``max_samples`` rows;
every row (also the others, and new data at prediction time) is then assigned to the nearest
Ward cluster centroid. k-means is fitted on all rows and assigns with its own ``predict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ModelError


def _prepare(X: np.ndarray, medians: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    X = np.where(np.isnan(X), medians[None, :], X)
    return (X - mean[None, :]) / std[None, :]


def fit_clusters(
    X: np.ndarray,
    kind: str = "kmeans",
    n_clusters: int = 6,
    max_samples: int = 5000,
    standardize: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit a clustering model; return a bundle usable by :func:`assign_clusters`.

    Raises
    ------
    ModelError
        Fewer rows than clusters, or no usable column.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] == 0:
        raise ModelError("clustering needs at least one feature column", found=f"shape {X.shape}")
    if X.shape[0] < n_clusters:
        raise ModelError("fewer feature rows than clusters", expected=f">= {n_clusters} rows", found=X.shape[0])
    with np.errstate(all="ignore"):
        medians = np.nanmedian(X, axis=0)
    medians = np.where(np.isnan(medians), 0.0, medians)
    Xi = np.where(np.isnan(X), medians[None, :], X)
    if standardize:
        mean, std = Xi.mean(axis=0), Xi.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    else:
        mean, std = np.zeros(X.shape[1]), np.ones(X.shape[1])
    Z = (Xi - mean) / std
    rng = np.random.default_rng(seed)
    fit_idx = np.arange(len(Z))
    if kind == "ward" and len(Z) > max_samples:
        fit_idx = np.sort(rng.choice(len(Z), size=max_samples, replace=False))
    if kind == "kmeans":
        est = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(Z)
        centroids = est.cluster_centers_
    elif kind == "ward":
        est = AgglomerativeClustering(n_clusters=n_clusters, linkage="ward").fit(Z[fit_idx])
        lab = est.labels_
        centroids = np.stack([Z[fit_idx][lab == c].mean(axis=0) for c in range(n_clusters)])
    else:
        raise ModelError("unknown clustering kind", expected=["kmeans", "ward"], found=kind)
    return {
        "kind": kind,
        "estimator": est,
        "centroids": centroids,
        "medians": medians,
        "mean": mean,
        "std": std,
        "n_fit_rows": len(fit_idx),
    }


def assign_clusters(bundle: dict[str, Any], X: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """Cluster of every row: k-means ``predict``; Ward by nearest centroid (chunked, vectorized)."""
    Z = _prepare(np.asarray(X, dtype=np.float64), bundle["medians"], bundle["mean"], bundle["std"])
    if bundle["kind"] == "kmeans":
        return bundle["estimator"].predict(Z).astype(np.int64)
    C = bundle["centroids"]
    out = np.empty(len(Z), dtype=np.int64)
    for a in range(0, len(Z), chunk):
        z = Z[a : a + chunk]
        d = (z * z).sum(1)[:, None] - 2 * z @ C.T + (C * C).sum(1)[None, :]
        out[a : a + chunk] = d.argmin(axis=1)
    return out


def cluster_summary(
    df: pd.DataFrame, clusters: np.ndarray, columns: Sequence[str]
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Cluster sizes (JSON-friendly dict) and per-cluster mean of every feature column (table)."""
    clusters = np.asarray(clusters)
    sizes = pd.Series(clusters).value_counts().sort_index()
    means = df[list(columns)].astype(np.float64).groupby(clusters).mean()
    means.index.name = "cluster"
    means.insert(0, "n_rows", sizes.reindex(means.index).to_numpy())
    summary = {
        "n_rows": len(clusters),
        "n_clusters": len(sizes),
        "cluster_sizes": {str(int(k)): int(v) for k, v in sizes.items()},
        "cluster_fractions": {str(int(k)): float(v / max(len(clusters), 1)) for k, v in sizes.items()},
    }
    return summary, means.reset_index()
