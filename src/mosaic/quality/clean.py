"""Cleaning one recording: an ordered list of operations over :class:`TrackArrays`.

Operations (each optional, applied in the order given)::

    {op: confidence,  threshold: 0.6}
    {op: jumps,       quantile: 0.95, factor: 4.0, min_px: 1.0, max_frames: 3}   # or cm_per_s: 50
    {op: swaps,       ratio: 0.6, max_lookback: 30, min_cost_factor: 0.5}   # cost_keep > factor x jump threshold
    {op: interpolate, max_gap: 10, method: linear}                              # or spline
    {op: median,      window: 5, min_periods: 1}
    {op: savgol,      window: 7, polyorder: 2}

Every operation reports how many point values it changed; interpolated points are flagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError
from mosaic.core.validate import positive_or_none

from . import filters
from .arrays import TrackArrays, arrays_to_table, table_to_arrays
from .detect import apply_permutation, detect_jumps, detect_swaps, jump_threshold, swap_permutation

FLAG_COLUMN = "interpolated"
OPERATIONS: dict[str, set[str]] = {
    "confidence": {"threshold"},
    "jumps": {"quantile", "factor", "min_px", "max_frames", "cm_per_s"},
    "swaps": {"ratio", "max_lookback", "min_cost_factor", "quantile", "factor", "min_px", "cm_per_s"},
    "interpolate": {"max_gap", "method"},
    "median": {"window", "min_periods"},
    "savgol": {"window", "polyorder"},
}
#: the default pipeline: remove jumps, repair swaps, fill gaps up to 10 frames, light smoothing
DEFAULT_OPERATIONS: list[dict[str, Any]] = [
    {"op": "confidence", "threshold": 0.6},
    {"op": "jumps", "quantile": 0.95, "factor": 4.0, "max_frames": 3},
    {"op": "swaps", "ratio": 0.6, "max_lookback": 30, "min_cost_factor": 0.5},
    {"op": "interpolate", "max_gap": 10, "method": "linear"},
    {"op": "savgol", "window": 7, "polyorder": 2},
]


def check_operations(operations: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Validate an operation list; return it as plain dicts.

    Raises
    ------
    ConfigError
        Not a list of mappings, an unknown ``op`` or an unknown parameter.
    """
    if operations is None:
        return [dict(o) for o in DEFAULT_OPERATIONS]
    if isinstance(operations, (str, bytes)) or not isinstance(operations, Sequence):
        raise ConfigError("cleaning operations must be a list of {op: name, ...}", found=type(operations).__name__)
    out = []
    for k, o in enumerate(operations):
        if not isinstance(o, Mapping) or "op" not in o:
            raise ConfigError(
                f"cleaning operation {k} must be a mapping with 'op'", expected=sorted(OPERATIONS), found=o
            )
        name = o["op"]
        if name not in OPERATIONS:
            raise ConfigError(f"unknown cleaning operation {name!r}", expected=sorted(OPERATIONS), found=name)
        unknown = sorted(set(o) - {"op"} - OPERATIONS[name])
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) of cleaning operation {name!r}", expected=sorted(OPERATIONS[name]), found=unknown
            )
        out.append(dict(o))
    return out


def _threshold(arr: TrackArrays, o: Mapping[str, Any], fps: float | None, cm_per_pixel: float | None) -> np.ndarray:
    return jump_threshold(
        arr.pos,
        quantile=o.get("quantile", 0.95),
        factor=o.get("factor", 4.0),
        min_px=o.get("min_px", 1.0),
        cm_per_s=o.get("cm_per_s"),
        fps=fps,
        cm_per_pixel=cm_per_pixel,
    )


def clean_arrays(
    arr: TrackArrays,
    operations: Sequence[Mapping[str, Any]] | None = None,
    fps: float | None = None,
    cm_per_pixel: float | None = None,
) -> tuple[TrackArrays, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Apply ``operations`` in order to a copy of ``arr``.

    Returns
    -------
    arrays, interpolated, perm, steps
        Cleaned arrays; ``(T, n, P)`` mask of interpolated points (smoothing keeps the flag);
        ``(T, n)`` identity permutation applied by swap repair (see
        :func:`~mosaic.quality.detect.swap_permutation`); one record per operation with
        ``op``, ``n_changed`` (point values changed) and operation details.
    """
    ops = check_operations(operations)
    out = arr.copy()
    T, n, P = out.shape
    state = _CleanState(out, np.zeros((T, n, P), dtype=bool), np.tile(np.arange(n), (T, 1)), fps, cm_per_pixel)
    steps = [{"op": o["op"], **_STEPS[o["op"]](state, o)} for o in ops]
    return state.arrays, state.flags, state.perm, steps


@dataclass
class _CleanState:
    """What the operations change as they run: the arrays, the interpolated flags, the identity permutation."""

    arrays: TrackArrays
    flags: np.ndarray  # (T, n, P) bool
    perm: np.ndarray  # (T, n) int
    fps: float | None
    cm_per_pixel: float | None


def _confidence(st: _CleanState, o: Mapping[str, Any]) -> dict[str, Any]:
    """Remove points below the confidence threshold."""
    st.arrays.pos, changed = filters.filter_by_confidence(st.arrays.pos, st.arrays.conf, float(o.get("threshold", 0.6)))
    return {"n_changed": changed}


def _jumps(st: _CleanState, o: Mapping[str, Any]) -> dict[str, Any]:
    """Remove the points inside short excursions above the jump threshold."""
    out = st.arrays
    thr = _threshold(out, o, st.fps, st.cm_per_pixel)
    jumps = detect_jumps(out.pos, thr, int(o.get("max_frames", 3)))
    out.pos = out.pos.copy()
    out.pos[jumps] = np.nan
    return {"n_changed": int(jumps.sum()), "threshold_px_per_frame": [round(float(v), 4) for v in thr]}


def _swaps(st: _CleanState, o: Mapping[str, Any]) -> dict[str, Any]:
    """Repair identity swaps: permute positions, confidences, flags and the running permutation."""
    out, before = st.arrays, st.arrays.pos
    T, n = out.shape[:2]
    thr = float(o.get("min_cost_factor", 0.5)) * _threshold(out, o, st.fps, st.cm_per_pixel)[0]
    events = detect_swaps(out.pos[:, :, 0], thr, float(o.get("ratio", 0.6)), int(o.get("max_lookback", 30)))
    p = swap_permutation(T, n, events)
    out.pos = apply_permutation(out.pos, p)
    out.conf = apply_permutation(out.conf, p)
    st.flags = apply_permutation(st.flags, p)
    st.perm = np.take_along_axis(st.perm, p, axis=1)
    return {
        "n_changed": filters.count_changed(before, out.pos),
        "n_swaps": int(len(events)),
        "swap_frames": [int(out.frames[t]) for t in events["frame_index"].tolist()],
    }


def _interpolate(st: _CleanState, o: Mapping[str, Any]) -> dict[str, Any]:
    """Fill gaps up to ``max_gap`` frames and flag the filled points."""
    st.arrays.pos, filled = filters.interpolate_gaps(st.arrays.pos, o.get("max_gap", 10), o.get("method", "linear"))
    st.flags |= filled
    return {"n_changed": int(filled.sum())}


def _median(st: _CleanState, o: Mapping[str, Any]) -> dict[str, Any]:
    """Rolling median (missing points stay missing)."""
    before = st.arrays.pos
    smoothed = filters.rolling_median(before, int(o.get("window", 5)), o.get("min_periods", 1))
    st.arrays.pos = _keep_missing(smoothed, before)
    return {"n_changed": filters.count_changed(before, st.arrays.pos)}


def _savgol(st: _CleanState, o: Mapping[str, Any]) -> dict[str, Any]:
    """Savitzky–Golay smoothing (skipped when the recording is shorter than the window)."""
    before, T = st.arrays.pos, st.arrays.shape[0]
    w = int(o.get("window", 7))
    if w > T:
        return {"n_changed": 0, "skipped": f"recording shorter than the window ({T} < {w} frames)"}
    st.arrays.pos = filters.savgol(before, w, int(o.get("polyorder", 2)))
    return {"n_changed": filters.count_changed(before, st.arrays.pos)}


#: one function per operation of :data:`OPERATIONS`
_STEPS = {
    "confidence": _confidence,
    "jumps": _jumps,
    "swaps": _swaps,
    "interpolate": _interpolate,
    "median": _median,
    "savgol": _savgol,
}


def _keep_missing(smoothed: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Smoothing never invents a position where there was none (and keeps both coordinates together)."""
    out = smoothed.copy()
    gone = np.isnan(before).any(axis=-1) | np.isnan(out).any(axis=-1)
    out[gone] = np.nan
    keep = np.isnan(out).any(axis=-1) & ~np.isnan(before).any(axis=-1)
    out[keep] = before[keep]
    return out


def clean_table(
    df: pd.DataFrame,
    operations: Sequence[Mapping[str, Any]] | None = None,
    meta: Mapping[str, Any] | None = None,
    path: Any = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Clean one ``trex_v1`` table (same rows) and report what changed.

    Parameters
    ----------
    df
        The standardized table.
    operations
        Ordered operations (default :data:`DEFAULT_OPERATIONS`).
    meta
        The track file's metadata (``fps``, ``cm_per_pixel``, ``keypoint_names``).
    path
        Source file named in errors.

    Returns
    -------
    table, report
        The cleaned table with the boolean ``interpolated`` column, and
        ``{'n_rows', 'steps': [{'op', 'n_changed', ...}]}``.
    """
    meta = dict(meta or {})
    arr = table_to_arrays(df, meta.get("keypoint_names"), path=path)
    cleaned, flags, perm, steps = clean_arrays(
        arr, operations, positive_or_none(meta.get("fps")), positive_or_none(meta.get("cm_per_pixel"))
    )
    out = arrays_to_table(df, cleaned, flags, FLAG_COLUMN, perm=perm)
    return out, {"n_rows": int(len(df)), "n_interpolated_rows": int(out[FLAG_COLUMN].sum()), "steps": steps}
