"""Dense (frames × individuals) views of long track tables, and the array maths features share.

A long table with one row per (frame, id) is pivoted onto a full frame range
``[min(frame), max(frame)]`` × sorted unique ids. Absent rows and NaN values become NaN cells,
so derivatives see gaps as gaps. :meth:`Grid.take` maps dense arrays back to the input's rows
(same order), which keeps every output keyed exactly like its input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TWO_PI = 2.0 * np.pi


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Wrap angles (rad) into ``(-pi, pi]`` (NaN stays NaN)."""
    r = a - TWO_PI * np.floor((a + np.pi) / TWO_PI)  # [-pi, pi)
    r = np.asarray(r, dtype=np.float64)
    r[r == -np.pi] = np.pi
    return r


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and the inverse index; O(N) for small-range integers."""
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 4 * len(values) + 1024:
            seen = np.zeros(hi - lo + 1, dtype=bool)
            seen[values - lo] = True
            uniq = np.flatnonzero(seen) + lo
            lut = np.cumsum(seen) - 1
            return uniq.astype(values.dtype, copy=False), lut[values - lo]
    codes, uniq = pd.factorize(values, sort=True)
    return np.asarray(uniq), codes


@dataclass
class Grid:
    """Frame × entity grid of a long table.

    Attributes
    ----------
    frame0 : int
        First frame; row ``t`` of a dense array is frame ``frame0 + t``.
    T, n : int
        Number of frames in the full range and of entities.
    ids : np.ndarray
        Sorted unique entity ids (dense column ``i`` is ``ids[i]``).
    t, i : np.ndarray
        Grid coordinates of each input row.
    """

    frame0: int
    T: int
    n: int
    ids: np.ndarray
    t: np.ndarray
    i: np.ndarray

    @classmethod
    def from_long(cls, frame, ids) -> Grid:
        """Build the grid from the ``frame`` and ``id`` columns of a long table."""
        frame = np.asarray(frame, dtype=np.int64)
        ids_arr = np.asarray(ids)
        if len(frame) == 0:
            return cls(0, 0, 0, ids_arr[:0], frame, frame.copy())
        f0 = int(frame.min())
        T = int(frame.max()) - f0 + 1
        uniq, codes = _factorize_sorted(ids_arr)
        return cls(f0, T, len(uniq), uniq, frame - f0, np.asarray(codes, dtype=np.int64))

    @property
    def frames(self) -> np.ndarray:
        """Frame numbers of the dense rows."""
        return np.arange(self.frame0, self.frame0 + self.T, dtype=np.int64)

    def dense(self, values, fill: float = np.nan, dtype=np.float64) -> np.ndarray:
        """Scatter a long column into a ``(T, n)`` array (``fill`` where no row)."""
        out = np.full((self.T, self.n), fill, dtype=dtype)
        out[self.t, self.i] = np.asarray(values, dtype=dtype)
        return out

    def present(self) -> np.ndarray:
        """``(T, n)`` bool: a row exists for (frame, id)."""
        out = np.zeros((self.T, self.n), dtype=bool)
        out[self.t, self.i] = True
        return out

    def take(self, arr: np.ndarray) -> np.ndarray:
        """Gather a ``(T, n)`` array back into the input's row order."""
        return arr[self.t, self.i]


def derivative(x: np.ndarray, dt: float, method: str = "central", angular: bool = False) -> np.ndarray:
    """Time derivative of ``x`` (``(T, ...)``) along axis 0, NaN-aware.

    ``central``: ``(x[t+1] - x[t-1]) / (2 dt)`` where both neighbours are finite, else the
    one-sided difference with whichever neighbour is finite (backward first), else NaN.
    ``backward``: ``(x[t] - x[t-1]) / dt`` (NaN at the first frame and after a gap).
    Cells where ``x`` itself is NaN are NaN. With ``angular`` the differences are wrapped into
    ``(-pi, pi]`` before dividing (for headings in rad).
    """
    T = x.shape[0]
    if T < 2:
        return np.full(x.shape, np.nan, dtype=np.float64)
    w = wrap_angle if angular else (lambda a: a)
    if method == "backward":
        out = np.empty(x.shape, dtype=np.float64)
        out[0] = np.nan
        out[1:] = w(x[1:] - x[:-1]) / dt
        return out
    if method != "central":
        raise ValueError(f"unknown derivative method {method!r}")
    out = np.empty(x.shape, dtype=np.float64)
    out[0] = np.nan
    out[-1] = np.nan
    if T >= 3:
        out[1:-1] = w(x[2:] - x[:-2]) / (2.0 * dt)
    # where the central difference is undefined, fall back to one side (backward first)
    bad = np.isnan(out)
    bad &= ~np.isnan(x)
    idx = np.nonzero(bad)
    if len(idx[0]):
        t = idx[0]
        rest = idx[1:]
        xt = x[idx]
        has_prev = t > 0
        prev = np.full(len(t), np.nan)
        prev[has_prev] = x[(t[has_prev] - 1,) + tuple(r[has_prev] for r in rest)]
        has_next = t < T - 1
        nxt = np.full(len(t), np.nan)
        nxt[has_next] = x[(t[has_next] + 1,) + tuple(r[has_next] for r in rest)]
        back = w(xt - prev) / dt
        fwd = w(nxt - xt) / dt
        out[idx] = np.where(np.isnan(back), fwd, back)
    out[np.isnan(x)] = np.nan
    return out


def window_sum(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Sum of ``x[t+lo .. t+hi]`` (inclusive offsets) along axis 0; NaN if any term is NaN or out of range."""
    T = x.shape[0]
    out = np.full(x.shape, np.nan)
    if hi - lo + 1 > T:
        return out
    bad = np.isnan(x)
    c = np.zeros((T + 1,) + x.shape[1:])
    np.cumsum(np.where(bad, 0.0, x), axis=0, out=c[1:])
    cb = np.zeros((T + 1,) + x.shape[1:], dtype=np.int64)
    np.cumsum(bad, axis=0, out=cb[1:])
    t0 = max(0, -lo)
    t1 = T - max(0, hi)  # exclusive
    if t1 <= t0:
        return out
    s = c[t0 + hi + 1 : t1 + hi + 1] - c[t0 + lo : t1 + lo]
    nb = cb[t0 + hi + 1 : t1 + hi + 1] - cb[t0 + lo : t1 + lo]
    out[t0:t1] = np.where(nb > 0, np.nan, s)
    return out
