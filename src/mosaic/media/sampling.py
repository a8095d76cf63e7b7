"""Which frames to keep: uniform spacing and k-means over thumbnails (pure numpy/sklearn)."""

from __future__ import annotations

import contextlib
import math
import threading
import warnings

import numpy as np


def uniform_indices(start: int, end: int, n: int) -> np.ndarray:
    """``n`` evenly spaced frame indices over ``[start, end)``: ``start + floor(i * (end - start) / n)``.

    Distinct whenever ``n <= end - start``; the first is ``start``.
    """
    span = end - start
    return start + (np.arange(n, dtype=np.int64) * span) // n


def candidate_indices(start: int, end: int, step: int, max_candidates: int | None) -> tuple[np.ndarray, int]:
    """Candidate frames every ``step`` frames over ``[start, end)``, at most ``max_candidates`` (None: no cap).

    When the range would give more candidates, the step is widened to
    ``ceil((end - start) / max_candidates)``. Returns ``(indices, step_used)``.
    """
    span = end - start
    step = max(int(step), 1)
    if max_candidates and math.ceil(span / step) > max_candidates:
        step = math.ceil(span / max_candidates)
    return np.arange(start, end, step, dtype=np.int64), step


def _sq_dists(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between rows of X (m, d) and Y (k, d) → (m, k)."""
    d = (X * X).sum(1)[:, None] - 2.0 * (X @ Y.T) + (Y * Y).sum(1)[None, :]
    return np.maximum(d, 0.0)


def farthest_point_fill(X: np.ndarray, chosen: list[int], n: int) -> list[int]:
    """Add rows of ``X`` to ``chosen`` until it has ``n``, each time the row farthest from the chosen set.

    Rows identical to a chosen one (distance 0) are never added; when fewer than ``n``
    distinct rows exist, ``chosen`` is returned shorter.
    """
    chosen = list(dict.fromkeys(int(c) for c in chosen))
    if not chosen:
        chosen = [0]
    mind = _sq_dists(X, X[chosen]).min(1)
    # the expanded form |x|^2 - 2 x.y + |y|^2 leaves rounding residue where x == y: a chosen row
    # (or a copy of one) must read as distance 0, or it would be picked a second time
    floor = _rounding_floor(X)
    mind[chosen] = 0.0
    mind[mind <= floor] = 0.0
    while len(chosen) < n:
        j = int(np.argmax(mind))
        if mind[j] <= 0:
            break
        chosen.append(j)
        mind = np.minimum(mind, _sq_dists(X, X[j : j + 1])[:, 0])
        mind[j] = 0.0
        mind[mind <= floor] = 0.0
    return chosen


def _rounding_floor(X: np.ndarray) -> float:
    """Squared distances at or below this are rounding residue of :func:`_sq_dists`, not separation."""
    scale = float((X * X).sum(1).max()) if len(X) else 0.0
    return 64.0 * np.finfo(X.dtype if X.dtype.kind == "f" else np.float64).eps * scale


#: Thumbnails with more values than this are reduced by randomized PCA before clustering.
KMEANS_PCA_DIM = 64


def reduce_dims(X: np.ndarray, k: int = KMEANS_PCA_DIM, random_state: int | None = 0) -> np.ndarray:
    """Project rows of ``X`` onto their top-``k`` principal components (randomized PCA).

    A randomized range finder with one power iteration (Halko et al. 2011), centring folded
    into the products so no centred copy of ``X`` is made. Returns ``X`` unchanged when it
    already has at most ``k`` columns or rows.
    """
    m, d = X.shape
    if d <= k or m <= k:
        return X
    rng = np.random.default_rng(random_state)
    mu = X.mean(axis=0, dtype=np.float64).astype(np.float32)
    p = min(k + 8, m, d)
    omega = rng.standard_normal((d, p)).astype(np.float32)
    q, _ = np.linalg.qr(X @ omega - mu @ omega)  # range of Xc
    wt = X.T @ q - np.outer(mu, q.sum(axis=0))  # Xc^T q
    q, _ = np.linalg.qr(X @ wt - mu @ wt)  # one power iteration
    b = q.T @ X - np.outer(q.sum(axis=0), mu)  # q^T Xc
    _, _, vt = np.linalg.svd(b, full_matrices=False)
    v = np.ascontiguousarray(vt[:k].T, dtype=np.float32)
    return X @ v - mu @ v


def kmeans_select(
    X: np.ndarray,
    n: int,
    *,
    batch_size: int = 1024,
    max_iter: int = 100,
    n_init: int | str = "auto",
    random_state: int | None = 42,
) -> np.ndarray:
    """Positions (rows of ``X``) of ``n`` distinct representative rows.

    ``MiniBatchKMeans`` with ``n`` clusters; for each centre the nearest row of its own cluster
    (the nearest row overall when a cluster is empty), taken once; when clusters collapse
    (duplicate or near-identical rows), the remaining picks are filled by farthest-point
    sampling. Rows longer than :data:`KMEANS_PCA_DIM` values are first reduced by
    :func:`reduce_dims` (clustering and distances then live in that PCA space). Returned sorted.
    """
    # one BLAS/OpenMP thread: these problems are small, and multi-threaded LAPACK/k-means
    # slow down by 10-50x when the cores are shared (recordings run in parallel threads)
    with _single_blas_thread():
        return _kmeans_select(X, n, batch_size, max_iter, n_init, random_state)


_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict = {"count": 0, "limiter": None}


@contextlib.contextmanager
def _single_blas_thread():
    """Limit BLAS/OpenMP pools to one thread while any caller is inside (process-wide, refcounted).

    ``threadpoolctl`` limits are process-wide; nesting them from parallel threads would
    restore them out of order, so the first caller sets the limit and the last restores it.
    """
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK:
        if _BLAS_STATE["count"] == 0:
            _BLAS_STATE["limiter"] = threadpool_limits(limits=1)
        _BLAS_STATE["count"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["count"] -= 1
            if _BLAS_STATE["count"] == 0:
                _BLAS_STATE["limiter"].restore_original_limits()
                _BLAS_STATE["limiter"] = None


def _kmeans_select(X, n, batch_size, max_iter, n_init, random_state) -> np.ndarray:
    from sklearn.cluster import MiniBatchKMeans

    X = reduce_dims(np.ascontiguousarray(X, dtype=np.float32), KMEANS_PCA_DIM, random_state)
    m = X.shape[0]
    if n >= m:
        return np.arange(m, dtype=np.int64)
    km = MiniBatchKMeans(
        n_clusters=n,
        batch_size=batch_size,
        max_iter=max_iter,
        n_init=n_init,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning when there are fewer distinct points than clusters
        labels = km.fit_predict(X)
    D = _sq_dists(X, km.cluster_centers_.astype(np.float32))  # (m, n)
    chosen: list[int] = []
    taken = np.zeros(m, dtype=bool)
    for c in range(n):
        d = D[:, c].copy()
        members = labels == c
        if members.any():
            d[~members] = np.inf
        d[taken] = np.inf
        j = int(np.argmin(d))
        if np.isfinite(d[j]):
            chosen.append(j)
            taken[j] = True
    # distinct *frames* but maybe identical *pixels*: keep only picks that differ
    uniq: list[int] = []
    for j in chosen:
        if not uniq or _sq_dists(X[j : j + 1], X[uniq]).min() > _rounding_floor(X):
            uniq.append(j)
    if len(uniq) < n:
        uniq = farthest_point_fill(X, uniq, n)
    if len(uniq) < n:  # fewer distinct thumbnails than n: add distinct frames anyway, evenly spread
        rest = np.setdiff1d(np.arange(m), uniq)
        uniq += rest[np.linspace(0, len(rest) - 1, n - len(uniq)).round().astype(int)].tolist()
    return np.sort(np.asarray(uniq[:n], dtype=np.int64))
