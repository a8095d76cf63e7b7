"""Cleaning filters on position arrays ``(T, ...)`` with time on axis 0 (NaN = missing).

Every filter returns a new array; none writes into its input. The confidence filter,
the linear interpolation with a maximum gap, the rolling median and the Savitzky–Golay
filter follow the conventions of ``movement``'s filters, so that they give the same
numbers on the same data (see ``docs/quality.md``):

* :func:`filter_by_confidence`: points whose confidence is below the threshold become NaN;
  points without a confidence (NaN) are kept.
* :func:`interpolate_gaps`: interior runs of at most ``max_gap`` missing frames are filled
  (linearly, or with a cubic spline through the valid frames); leading and trailing gaps
  stay missing.
* :func:`rolling_median`: centred window of ``window`` frames (``w // 2`` before, the rest
  after; the edges reflected), NaN skipped, NaN where fewer than ``min_periods`` valid
  values (default: the whole window).
* :func:`savgol`: :func:`scipy.signal.savgol_filter` along time (``mode='interp'``). On
  complete data it is exactly movement's; where values are missing, gaps are bridged
  linearly (edges held) only while filtering and are NaN again afterwards, so a gap does
  not erase its neighbours.
"""

from __future__ import annotations

import numpy as np

from mosaic.core.errors import ConfigError

from .runs import interior_runs, last_valid_index, next_valid_index, run_length_map

#: bytes of the sliding-window temporaries of the rolling median (processed in time chunks)
_CHUNK_ELEMENTS = 4_000_000


def _point_valid(pos: np.ndarray) -> np.ndarray:
    """``(T, ...)`` True where a point (last axis = coordinates) has all coordinates."""
    return ~np.isnan(pos).any(axis=-1)


def filter_by_confidence(pos: np.ndarray, conf: np.ndarray, threshold: float = 0.6) -> tuple[np.ndarray, int]:
    """Set points with confidence below ``threshold`` to NaN.

    Parameters
    ----------
    pos
        ``(T, ..., 2)`` positions.
    conf
        ``(T, ...)`` confidences (NaN: no confidence, never filtered).
    threshold
        Minimum confidence kept.

    Returns
    -------
    pos, n_changed
        Filtered copy and the number of valid points set to NaN.
    """
    if not np.isfinite(threshold):
        raise ConfigError("confidence threshold must be a finite number", found=threshold)
    with np.errstate(invalid="ignore"):
        bad = conf < threshold
    out = np.where(bad[..., None], np.nan, pos)
    return out, int(np.count_nonzero(bad & ~np.isnan(pos[..., 0])))


def interpolate_gaps(
    pos: np.ndarray, max_gap: int | None = None, method: str = "linear"
) -> tuple[np.ndarray, np.ndarray]:
    """Fill interior gaps of at most ``max_gap`` missing frames.

    Parameters
    ----------
    pos
        ``(T, ..., 2)`` positions.
    max_gap
        Longest run of missing frames filled (``None``: every interior gap).
    method
        ``'linear'`` or ``'spline'`` (cubic spline through the valid frames of each series).

    Returns
    -------
    pos, filled
        Interpolated copy and the ``(T, ...)`` mask of points that were filled.
    """
    if method not in ("linear", "spline"):
        raise ConfigError("unknown interpolation method", expected=["linear", "spline"], found=method)
    if max_gap is not None and (not isinstance(max_gap, (int, np.integer)) or max_gap < 0):
        raise ConfigError("max_gap must be a non-negative int or None", found=max_gap)
    valid = _point_valid(pos)
    gap = interior_runs(~valid)
    if max_gap is not None:
        gap &= run_length_map(~valid) <= max_gap
    out = pos.copy()
    if not gap.any():
        return out, gap
    T = pos.shape[0]
    if method == "linear":
        C = pos.shape[-1]
        vflat, gflat = valid.reshape(T, -1), gap.reshape(T, -1)
        flat = out.reshape(T, -1, C)
        tg, cg = np.nonzero(gflat)  # only the points to fill
        lo = last_valid_index(vflat)[tg, cg]
        hi = next_valid_index(vflat)[tg, cg]
        w = ((tg - lo) / (hi - lo))[:, None]
        a, b = flat[lo, cg], flat[hi, cg]
        flat[tg, cg] = a + w * (b - a)
        return out, gap
    from scipy.interpolate import CubicSpline

    flat = out.reshape(T, -1)  # (T, cols): loop over series (individuals x points x coords), not frames
    vflat = np.repeat(valid.reshape(T, -1), pos.shape[-1], axis=1)
    gflat = np.repeat(gap.reshape(T, -1), pos.shape[-1], axis=1)
    t = np.arange(T, dtype=np.float64)
    for c in np.flatnonzero(gflat.any(axis=0)):
        ok = vflat[:, c]
        kind = "natural" if ok.sum() >= 3 else None
        if kind is None:  # two points: a line
            flat[gflat[:, c], c] = np.interp(t[gflat[:, c]], t[ok], flat[ok, c])
            continue
        flat[gflat[:, c], c] = CubicSpline(t[ok], flat[ok, c], bc_type=kind)(t[gflat[:, c]])
    return out, gap


def rolling_median(pos: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    """Centred rolling median over ``window`` frames, NaN skipped.

    Parameters
    ----------
    pos
        ``(T, ...)`` values (any trailing shape).
    window
        Window length in frames (``window // 2`` frames before ``t``, the rest after; the
        recording's edges are reflected).
    min_periods
        Valid values a window needs (default ``window``); fewer give NaN.
    """
    window, min_periods = _check_window(window, min_periods)
    T = pos.shape[0]
    flat = pos.reshape(T, -1)
    half = window // 2
    # edges reflected (x2 x1 | x0 x1 x2 ...), as movement does, so the first frames have full windows
    padded = (
        np.pad(flat, ((half, half), (0, 0)), mode="reflect")
        if half and T > 1
        else np.pad(flat, ((half, half), (0, 0)), mode="edge")
    )
    out = np.empty_like(flat)
    step = max(1, _CHUNK_ELEMENTS // max(1, flat.shape[1] * window))
    for a in range(0, T, step):  # chunks bound the (chunk, cols, window) temporary
        b = min(T, a + step)
        win = np.sort(np.lib.stride_tricks.sliding_window_view(padded[a : b + window - 1], window, axis=0), axis=-1)
        count = window - np.isnan(win[..., ::-1]).argmin(axis=-1)  # NaN sort last
        count = np.where(np.isnan(win[..., 0]), 0, count)
        lo = np.take_along_axis(win, ((count - 1) // 2).clip(0)[..., None], axis=-1)[..., 0]
        hi = np.take_along_axis(win, (count // 2).clip(0, window - 1)[..., None], axis=-1)[..., 0]
        out[a:b] = np.where((count >= min_periods) & (count > 0), 0.5 * (lo + hi), np.nan)
    return out.reshape(pos.shape)


def _check_window(window: int, min_periods: int | None) -> tuple[int, int]:
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError("window must be a positive int (frames)", found=window)
    if min_periods is None:
        min_periods = int(window)
    if not isinstance(min_periods, (int, np.integer)) or not 1 <= min_periods <= window:
        raise ConfigError("min_periods must be an int in 1..window", expected=f"1..{window}", found=min_periods)
    return int(window), int(min_periods)


def savgol(pos: np.ndarray, window: int, polyorder: int = 2) -> np.ndarray:
    """Savitzky–Golay smoothing along time (:func:`scipy.signal.savgol_filter`, ``mode='interp'``).

    Parameters
    ----------
    pos
        ``(T, ...)`` values.
    window
        Odd or even window length in frames (``> polyorder``, ``<= T``).
    polyorder
        Order of the local polynomial.

    Missing values are bridged linearly (held at the edges) while filtering and are NaN
    again afterwards (scipy alone would spread NaN through whole windows, or fail at the edges).
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError("window must be a positive int (frames)", found=window)
    if not isinstance(polyorder, (int, np.integer)) or not 0 <= polyorder < window:
        raise ConfigError("polyorder must be an int in 0..window-1", expected=f"0..{window - 1}", found=polyorder)
    from scipy.signal import savgol_filter as _scipy_savgol

    T = pos.shape[0]
    if window > T:
        raise ConfigError(
            "Savitzky-Golay window longer than the recording", expected=f"window <= {T} frames", found=window
        )
    flat = pos.reshape(T, -1)
    valid = ~np.isnan(flat)
    if valid.all():
        return _scipy_savgol(pos, window, polyorder, axis=0, mode="interp")
    filled = _bridge(flat, valid)
    sm = _scipy_savgol(filled, window, polyorder, axis=0, mode="interp")
    sm[~valid] = np.nan
    return sm.reshape(pos.shape)


def _bridge(flat: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linear fill of interior NaN, nearest value at the edges, 0 for all-NaN columns."""
    T = flat.shape[0]
    out = flat.copy()
    tg, cg = np.nonzero(~valid)  # only the missing values
    lo = last_valid_index(valid)[tg, cg]
    hi = next_valid_index(valid)[tg, cg]
    lo_c = np.where(lo < 0, hi, lo).clip(0, T - 1)
    hi_c = np.where(hi >= T, lo, hi).clip(0, T - 1)
    w = np.where(hi_c > lo_c, (tg - lo_c) / np.maximum(hi_c - lo_c, 1), 0.0)
    a, b = flat[lo_c, cg], flat[hi_c, cg]
    out[tg, cg] = a + w * (b - a)
    return np.nan_to_num(out, nan=0.0)


def count_changed(before: np.ndarray, after: np.ndarray, atol: float = 1e-9) -> int:
    """Points (last axis = coordinates) whose value changed, appeared or disappeared."""
    nb, na = np.isnan(before), np.isnan(after)
    with np.errstate(invalid="ignore"):
        diff = (nb != na) | (~nb & ~na & (np.abs(after - before) > atol))
    return int(diff.any(axis=-1).sum())
