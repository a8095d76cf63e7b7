"""Dense (frames × individuals) views of long track tables, and the array maths features share.

A long table with one row per (frame, id) is pivoted onto a full frame range
``[min(frame), max(frame)]`` × sorted unique ids. Absent rows and NaN values become NaN cells,
so derivatives see gaps as gaps. :meth:`Grid.take` maps dense arrays back to the input's rows
(same order), which keeps every output keyed exactly like its input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mosaic.core.errors import ResourceLimitError
from mosaic.core.limits import check_alloc

TWO_PI = 2.0 * np.pi


#: elements per block of the in-place angle wrapping (bounded temporaries, cache-sized)
_BLOCK = 1 << 16


def _wrap_into(src: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[...] = wrap(src)`` for contiguous float64 arrays (``out`` may be ``src``).

    Same arithmetic as :func:`wrap_angle` (bit-identical results), done in blocks so the
    temporaries are one block, not one array, large.
    """
    s, o = src.reshape(-1), out.reshape(-1)
    for a in range(0, s.size, _BLOCK):
        x = s[a : a + _BLOCK]
        k = x + np.pi
        k /= TWO_PI
        np.floor(k, out=k)
        k *= TWO_PI
        ob = o[a : a + _BLOCK]
        np.subtract(x, k, out=ob)
        ob[ob == -np.pi] = np.pi
    return out


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Wrap angles (rad) into ``(-pi, pi]`` (NaN stays NaN)."""
    arr = np.asarray(a)
    if arr.dtype == np.float64 and arr.ndim and arr.flags.c_contiguous:
        return _wrap_into(arr, np.empty_like(arr))  # one output array, block-sized temporaries
    r = a - TWO_PI * np.floor((a + np.pi) / TWO_PI)  # [-pi, pi)
    r = np.asarray(r, dtype=np.float64)
    r[r == -np.pi] = np.pi
    return r


def _factorize_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and the inverse index; O(N) for small-range integers."""
    if values.dtype.kind in "iu" and len(values):
        lo, hi = int(values.min()), int(values.max())
        if 0 <= lo and hi < 4 * len(values) + 1024:  # non-negative ids: no shifted copy of the column
            seen = np.zeros(hi + 1, dtype=bool)
            seen[values] = True
            uniq = np.flatnonzero(seen)
            lut = np.cumsum(seen, dtype=np.int64) - 1
            return uniq.astype(values.dtype, copy=False), lut[values]
        if hi - lo < 4 * len(values) + 1024:
            seen = np.zeros(hi - lo + 1, dtype=bool)
            seen[values - lo] = True
            uniq = np.flatnonzero(seen) + lo
            lut = np.cumsum(seen) - 1
            return uniq.astype(values.dtype, copy=False), lut[values - lo]
    codes, uniq = pd.factorize(values, sort=True)
    return np.asarray(uniq), codes


#: a grid may have at most this many cells per input row (beyond SPARSE_MIN_CELLS cells)
SPARSE_RATIO = 1000
SPARSE_MIN_CELLS = 1 << 24


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
        Grid coordinates of each input row (computed on access from :attr:`flat`).
    flat : np.ndarray
        ``t * n + i``: each input row's cell in a C-ordered ``(T, n)`` array. One int64 per
        row is all the grid keeps (not two), and scatter/gather through it are single
        ``put``/``take`` calls.
    """

    __slots__ = ("T", "flat", "frame0", "ids", "n")

    def __init__(
        self,
        frame0: int,
        T: int,
        n: int,
        ids: np.ndarray,
        t: np.ndarray | None = None,
        i: np.ndarray | None = None,
        *,
        flat: np.ndarray | None = None,
    ) -> None:
        self.frame0, self.T, self.n, self.ids = int(frame0), int(T), int(n), ids
        if flat is None:
            if t is None or i is None:
                raise ValueError("Grid needs (t, i) or flat")
            flat = np.asarray(t, dtype=np.int64) * self.n + np.asarray(i, dtype=np.int64)
        self.flat = np.asarray(flat, dtype=np.int64)

    def __repr__(self) -> str:
        return f"Grid(frame0={self.frame0}, T={self.T}, n={self.n}, ids={self.ids!r}, rows={len(self.flat)})"

    @classmethod
    def from_long(cls, frame, ids) -> Grid:
        """Build the grid from the ``frame`` and ``id`` columns of a long table."""
        frame = np.asarray(frame, dtype=np.int64)
        ids_arr = np.asarray(ids)
        if len(frame) == 0:
            return cls(0, 0, 0, ids_arr[:0], flat=frame.copy())
        f0 = int(frame.min())
        T = int(frame.max()) - f0 + 1
        uniq, codes = _factorize_sorted(ids_arr)
        n = len(uniq)
        cells = float(T) * n
        if cells > SPARSE_RATIO * len(frame) and cells > SPARSE_MIN_CELLS:
            raise ResourceLimitError(
                "frame numbers are too sparse for a frame × individual grid",
                expected=f"at most {SPARSE_RATIO} grid cells per row",
                found=f"frames {f0}..{f0 + T - 1} ({T} frames) × {n} individuals for {len(frame)} rows",
                hint="renumber the frames or split the recording where it has long gaps",
            )
        check_alloc(cells, 8, f"a {T} × {n} frame grid")
        flat = frame - f0  # one new int64 per row: the flat cell index t * n + i
        if n != 1:
            flat *= n
            flat += np.asarray(codes, dtype=np.int64)
        del codes
        return cls(f0, T, n, uniq, flat=flat)

    @property
    def t(self) -> np.ndarray:
        """Row (frame - ``frame0``) of each input row in the dense arrays."""
        return self.flat // self.n if self.n > 1 else self.flat.copy()

    @property
    def i(self) -> np.ndarray:
        """Column (entity index) of each input row in the dense arrays."""
        return self.flat % self.n if self.n > 1 else np.zeros_like(self.flat)

    @property
    def frames(self) -> np.ndarray:
        """Frame numbers of the dense rows."""
        return np.arange(self.frame0, self.frame0 + self.T, dtype=np.int64)

    def dense(self, values, fill: float = np.nan, dtype=np.float64) -> np.ndarray:
        """Scatter a long column into a ``(T, n)`` array (``fill`` where no row)."""
        out = np.full((self.T, self.n), fill, dtype=dtype)
        out.reshape(-1)[self.flat] = np.asarray(values, dtype=dtype)
        return out

    def present(self) -> np.ndarray:
        """``(T, n)`` bool: a row exists for (frame, id)."""
        out = np.zeros((self.T, self.n), dtype=bool)
        out.reshape(-1)[self.flat] = True
        return out

    def take(self, arr: np.ndarray) -> np.ndarray:
        """Gather a ``(T, n)`` array back into the input's row order."""
        arr = np.asarray(arr)
        if arr.shape[:2] == (self.T, self.n) and arr.flags.c_contiguous:
            return np.take(arr.reshape((self.T * self.n,) + arr.shape[2:]), self.flat, axis=0)
        return arr[self.t, self.i]


def _diff_into(a: np.ndarray, b: np.ndarray, out: np.ndarray, angular: bool) -> None:
    """``out[...] = a - b`` (wrapped into ``(-pi, pi]`` when ``angular``), in place."""
    np.subtract(a, b, out=out)
    if angular:
        if out.flags.c_contiguous:
            _wrap_into(out, out)
        else:
            out[...] = wrap_angle(out)


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
    if method not in ("central", "backward"):
        raise ValueError(f"unknown derivative method {method!r}")
    out = np.empty(x.shape, dtype=np.float64)
    # differences computed into ``out`` itself (no full-size temporaries), same arithmetic
    if method == "backward":
        out[0] = np.nan
        _diff_into(x[1:], x[:-1], out[1:], angular)
        out[1:] /= dt
        return out
    out[0] = np.nan
    out[-1] = np.nan
    if T >= 3:
        _diff_into(x[2:], x[:-2], out[1:-1], angular)
        out[1:-1] /= 2.0 * dt
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
