"""Dense arrays of one recording's ``trex_v1`` table, and back.

Quality measures and cleaning operations work on one array per recording:
``pos`` of shape ``(frames, individuals, points, 2)`` — point 0 is the body centre
(``X``/``Y``), points ``1..K`` the keypoints (``poseX<k>``/``poseY<k>``) — and ``conf`` of
shape ``(frames, individuals, points)`` (``poseP<k>``; NaN where the format has none, and
always NaN for the body centre). Frames run over the table's full range
``frame.min() .. frame.max()``, so a (frame, id) without a row counts as missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import SchemaError
from mosaic.tracks.schema import REQUIRED_COLUMNS, pose_keypoint_indices

CENTRE = "centre"


@dataclass
class TrackArrays:
    """One recording as dense arrays.

    Attributes
    ----------
    frames
        ``(T,)`` int64 frame numbers (consecutive).
    ids
        ``(n,)`` individual ids, sorted as in the table.
    pos
        ``(T, n, P, 2)`` float64 positions in pixels; NaN where missing.
    conf
        ``(T, n, P)`` float64 confidences; NaN where the format has none.
    points
        Names of the ``P`` points: ``'centre'`` then the keypoint names (or ``kp<k>``).
    pose_index
        ``k`` of ``poseX<k>`` for points ``1..P-1``.
    rows
        ``(frame_index, id_index)`` of every table row, in table order (for writing back).
    """

    frames: np.ndarray
    ids: np.ndarray
    pos: np.ndarray
    conf: np.ndarray
    points: list[str]
    pose_index: list[int] = field(default_factory=list)
    rows: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, n, P)``."""
        return tuple(self.pos.shape[:3])  # type: ignore[return-value]

    @property
    def has_confidence(self) -> bool:
        """True when any point carries a confidence value."""
        return bool(np.isfinite(self.conf).any())

    def copy(self) -> TrackArrays:
        """A deep copy of the arrays (the row map is shared: it never changes)."""
        return TrackArrays(
            self.frames.copy(),
            self.ids.copy(),
            self.pos.copy(),
            self.conf.copy(),
            list(self.points),
            list(self.pose_index),
            self.rows,
        )


def _context(df: pd.DataFrame, path: Any = None) -> dict[str, Any]:
    g = str(df["group"].iloc[0]) if "group" in df.columns and len(df) else None
    s = str(df["sequence"].iloc[0]) if "sequence" in df.columns and len(df) else None
    return {"path": path, "group": g, "sequence": s}


def table_to_arrays(df: pd.DataFrame, keypoint_names: list[str] | None = None, path: Any = None) -> TrackArrays:
    """Dense :class:`TrackArrays` of a ``trex_v1`` table.

    Parameters
    ----------
    df
        A ``trex_v1`` table (rows sorted by (frame, id), (frame, id) unique).
    keypoint_names
        Names of the keypoints (from the track file's metadata); ``kp<k>`` otherwise.
    path
        The file the table came from (named in errors).

    Raises
    ------
    SchemaError
        Required columns are missing, the table is empty, or (frame, id) repeats.
    """
    ctx = _context(df, path)
    missing = [c for c in ("frame", "id", "X", "Y") if c not in df.columns]
    if missing:
        raise SchemaError(
            "track table lacks columns needed for quality checks",
            expected=list(REQUIRED_COLUMNS),
            found=f"missing {missing}",
            **ctx,
        )
    if len(df) == 0:
        raise SchemaError("track table is empty", expected="at least one row", found="0 rows", **ctx)
    frame = df["frame"].to_numpy()
    if not np.issubdtype(frame.dtype, np.integer):
        raise SchemaError("'frame' must be integer", expected="int64", found=str(frame.dtype), **ctx)
    f0 = int(frame.min())
    fi = (frame - f0).astype(np.int64)
    T = int(fi.max()) + 1
    ids, ii = np.unique(df["id"].to_numpy(), return_inverse=True)
    n = len(ids)
    flat = fi * n + ii
    if len(np.unique(flat)) != len(flat):
        raise SchemaError("duplicate (frame, id) rows", expected="unique (frame, id)", found="repeated rows", **ctx)
    kps = pose_keypoint_indices(df.columns)
    P = 1 + len(kps)
    pos = np.full((T, n, P, 2), np.nan)
    conf = np.full((T, n, P), np.nan)
    pos[fi, ii, 0, 0] = df["X"].to_numpy(dtype=np.float64, na_value=np.nan)
    pos[fi, ii, 0, 1] = df["Y"].to_numpy(dtype=np.float64, na_value=np.nan)
    for p, k in enumerate(kps, start=1):
        pos[fi, ii, p, 0] = df[f"poseX{k}"].to_numpy(dtype=np.float64, na_value=np.nan)
        pos[fi, ii, p, 1] = df[f"poseY{k}"].to_numpy(dtype=np.float64, na_value=np.nan)
        if f"poseP{k}" in df.columns:
            conf[fi, ii, p] = df[f"poseP{k}"].to_numpy(dtype=np.float64, na_value=np.nan)
    pos[~np.isfinite(pos)] = np.nan
    # a point is missing as a whole: one NaN coordinate makes both NaN
    pos[np.isnan(pos).any(axis=-1)] = np.nan
    names = list(keypoint_names or [])
    points = [CENTRE] + [names[k] if k < len(names) else f"kp{k}" for k in kps]
    return TrackArrays(np.arange(f0, f0 + T, dtype=np.int64), ids, pos, conf, points, list(kps), (fi, ii))


def arrays_to_table(
    df: pd.DataFrame,
    arr: TrackArrays,
    flags: np.ndarray | None = None,
    flag_column: str = "interpolated",
    perm: np.ndarray | None = None,
) -> pd.DataFrame:
    """``df`` with ``X``/``Y`` and ``poseX<k>``/``poseY<k>`` replaced from ``arr`` (same rows).

    Parameters
    ----------
    df
        The table ``arr`` was made from (rows in the same order).
    arr
        The (cleaned) arrays.
    flags
        Optional ``(T, n, P)`` bool: a point's value was interpolated. Written as the
        boolean ``flag_column``: True when any point of the row was interpolated.
    perm
        Optional ``(T, n)`` int: the row of individual ``j`` at frame ``t`` takes the other
        numeric columns (``ANGLE``, ``SPEED``, confidences, ...) of individual
        ``perm[t, j]`` (identity-swap repair moves whole detections, not only positions).
    """
    fi, ii = arr.rows
    out = df.copy()
    if perm is not None and (perm != np.arange(perm.shape[1])[None, :]).any():
        T, n = perm.shape
        skip = {"frame", "time", "id", "X", "Y", flag_column}
        for c in out.columns:
            is_bool = pd.api.types.is_bool_dtype(out[c])
            if c in skip or not (pd.api.types.is_float_dtype(out[c]) or is_bool) or re.match(r"^pose[XY]\d+$", c):
                continue
            dense = np.full((T, n), np.nan)
            dense[fi, ii] = out[c].to_numpy(dtype=np.float64, na_value=np.nan)
            moved = np.take_along_axis(dense, perm, axis=1)[fi, ii]
            out[c] = (moved == 1) if is_bool else moved
    for p, (cx, cy) in enumerate([("X", "Y")] + [(f"poseX{k}", f"poseY{k}") for k in arr.pose_index]):
        x0 = df[cx].to_numpy(dtype=np.float64, na_value=np.nan)
        y0 = df[cy].to_numpy(dtype=np.float64, na_value=np.nan)
        x1, y1 = arr.pos[fi, ii, p, 0], arr.pos[fi, ii, p, 1]
        # a point that was incomplete (one coordinate missing) and is still missing keeps what it had
        keep = (np.isnan(x0) | np.isnan(y0)) & np.isnan(x1)
        out[cx] = np.where(keep, x0, x1)
        out[cy] = np.where(keep, y0, y1)
    if flags is not None:
        out[flag_column] = flags[fi, ii].any(axis=-1)
    return out
