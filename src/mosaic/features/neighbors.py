"""Neighbourhoods per frame: the ``k`` nearest partners of each individual and/or those within a radius.

Cost grows with ``n · k`` (or the pairs within the radius), not ``n²``:

* small groups (``n <= DENSE_MAX_N``): a vectorized sort of the dense ``(frames × n × n)``
  distance block of a frame chunk;
* larger groups: one ``scipy.spatial.cKDTree`` per frame chunk, built on ``(x, y, t·L)`` where
  ``L`` exceeds every distance within a frame, so a query never reaches another frame.

Both give the same partners (ties in distance go to the lower column), ranked by distance (1 = nearest);
distances are ``hypot(x_j - x_i, y_j - y_i)`` as in the dense pair features. Individuals with a
NaN position have no neighbours and are nobody's neighbour.
"""

from __future__ import annotations

import numpy as np

DENSE_MAX_N = 48
#: dense path: (frames × n × n) cells per chunk; tree path: points (frames × n) per chunk
DENSE_CELLS = 2_000_000
TREE_POINTS = 262_144


def chunk_frames(n: int, cap: int, dense: bool | None = None, cells: int | None = None) -> int:
    """Frames per chunk for a group of ``n`` so one chunk stays within the cell / point budget.

    ``dense``: the chunk holds ``(frames × n × n)`` blocks (all pairs); None: whichever path
    :func:`select_neighbors` takes for ``n``. ``cells``: a smaller dense budget than
    :data:`DENSE_CELLS` (a caller that keeps little per chunk and wants small temporaries).
    """
    n = max(int(n), 1)
    dense = n <= DENSE_MAX_N if dense is None else dense
    budget = min(DENSE_CELLS, cells or DENSE_CELLS) // (n * n) if dense else TREE_POINTS // n
    return max(1, min(int(cap), budget))


def select_neighbors(
    X: np.ndarray, Y: np.ndarray, k: int | None = None, radius: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Neighbours of every (frame, individual) of a ``(T, n)`` block.

    Parameters
    ----------
    X, Y
        Positions ``(T, n)``; NaN where unknown.
    k
        Keep the ``k`` nearest partners (all partners when None).
    radius
        Keep partners at distance ``<= radius`` (no limit when None).

    Returns
    -------
    t, i, j, rank
        Flat arrays: frame offset, focal column, partner column, rank by distance (1-based),
        ordered by ``(t, i, rank)``.
    """
    T, n = X.shape
    if n < 2 or T == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e
    if n <= DENSE_MAX_N:
        return _dense(X, Y, k, radius)
    return _tree(X, Y, k, radius)


def _dense(X, Y, k, radius):
    n = X.shape[1]
    d = np.hypot(X[:, None, :] - X[:, :, None], Y[:, None, :] - Y[:, :, None])  # [t, i, j]
    d[np.isnan(d) | np.eye(n, dtype=bool)[None]] = np.inf
    if radius is not None:
        d[d > radius] = np.inf
    kk = n - 1 if k is None else min(int(k), n - 1)
    order = np.argsort(d, axis=2, kind="stable")[:, :, :kk]
    ok = np.isfinite(np.take_along_axis(d, order, axis=2))
    t, i, r = np.nonzero(ok)
    return t, i, order[t, i, r], (r + 1).astype(np.int64)


def _tree(X, Y, k, radius):
    from scipy.spatial import cKDTree

    ok = np.isfinite(X) & np.isfinite(Y)
    tt, ii = np.nonzero(ok)  # sorted by (t, i)
    e = np.zeros(0, dtype=np.int64)
    if len(tt) < 2:
        return e, e, e, e
    x, y = X[tt, ii], Y[tt, ii]
    span = max(float(x.max() - x.min()), float(y.max() - y.min()))
    L = 4.0 * span + 1.0  # > the largest distance within a frame (sqrt(2) span)
    ub = L / 2.0 if radius is None else min(L / 2.0, float(radius) * (1 + 1e-9) + 1e-12)
    tree = cKDTree(np.column_stack([x, y, tt.astype(np.float64) * L]))
    m = len(tt)
    if k is None:
        pq = tree.query_pairs(ub, output_type="ndarray")
        a = np.concatenate([pq[:, 0], pq[:, 1]]).astype(np.int64)
        b = np.concatenate([pq[:, 1], pq[:, 0]]).astype(np.int64)
        dist = np.hypot(x[b] - x[a], y[b] - y[a])
        keep = dist <= radius if radius is not None else np.ones(len(a), dtype=bool)
        a, b, dist = a[keep], b[keep], dist[keep]
        order = np.lexsort((ii[b], dist, a))
        a, b = a[order], b[order]
        start = np.searchsorted(a, a, side="left")
        rank = np.arange(len(a), dtype=np.int64) - start + 1
        return tt[a], ii[a], ii[b], rank
    kq = min(int(k) + 1, m)
    _, nb = tree.query(np.column_stack([x, y, tt.astype(np.float64) * L]), k=kq, distance_upper_bound=ub)
    nb = nb.reshape(m, kq)
    found = nb < m
    nbc = np.where(found, nb, 0)
    # exact distances (as the dense path computes them), then rank by them
    dist = np.where(found, np.hypot(x[nbc] - x[:, None], y[nbc] - y[:, None]), np.inf)
    dist[nbc == np.arange(m)[:, None]] = np.inf  # self
    if radius is not None:
        dist[dist > radius] = np.inf
    order = np.lexsort((ii[nbc], dist), axis=1)[:, : min(int(k), kq)]  # ties: lower partner column first
    ok = np.isfinite(np.take_along_axis(dist, order, axis=1))
    p, r = np.nonzero(ok)
    q = nbc[p, order[p, r]]
    return tt[p], ii[p], ii[q], (r + 1).astype(np.int64)
