"""Dense pose arrays ↔ ``trex_v1`` tables: the shared core of the pose exporters and importers.

Other tools store poses densely as ``(time, space, keypoints, individuals)``; mosaic stores one
row per (frame, id) with ``poseX<k>``/``poseY<k>``/``poseP<k>`` columns. :func:`table_to_pose`
scatters a table into a dense block over the frames ``first..last`` and the sorted ids (cells
without a row are NaN); :func:`pose_to_table` gathers a dense block back into one row per
(frame, individual). ``X``/``Y`` travel as an extra keypoint (:data:`CENTROID`) so that they
come back exactly, even where they are not the mean of the keypoints.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.validate import positive_or_none
from mosaic.tracks.table import TrackTable, base_meta, build_table, nan_centroid, pose_columns, resolve_number

#: name of the keypoint that carries mosaic's ``X``/``Y`` in exported files
CENTROID = "centroid"


def require(module: str, extra: str = "interop") -> Any:
    """Import an optional dependency or raise a :class:`ConfigError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"this export/import needs the optional package {module!r}",
            expected=f"{module} installed",
            found="not installed",
            hint=f"pip install 'mosaic[{extra}]'",
        ) from exc


@dataclass
class PoseBlock:
    """One recording as dense arrays.

    Attributes
    ----------
    frames
        ``(T,)`` int64, consecutive frame numbers.
    ids
        ``(N,)`` int64 individual ids (sorted).
    individual_names, keypoint_names
        ``N`` and ``K`` unique strings.
    position
        ``(T, 2, K, N)`` float64 (x, y), NaN where missing.
    confidence
        ``(T, K, N)`` float64 or ``None`` when the table has no scores.
    centroid_index
        Index of the keypoint holding ``X``/``Y`` (``None``: ``X``/``Y`` are the keypoints' mean).
    """

    group: str
    sequence: str
    frames: np.ndarray
    ids: np.ndarray
    individual_names: list[str]
    keypoint_names: list[str]
    position: np.ndarray
    confidence: np.ndarray | None
    fps: float | None
    centroid_index: int | None = None


def _pose_indices(columns: Any) -> list[int]:
    return sorted(int(c[5:]) for c in columns if isinstance(c, str) and c.startswith("poseX") and c[5:].isdigit())


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        base, k = n, seen.get(n, 0)
        while n in seen:
            k += 1
            n = f"{base}_{k}"
        seen[base] = k
        seen[n] = 0
        out.append(n)
    return out


def individual_name_map(meta: Mapping[str, Any]) -> dict[int, str]:
    """``{id: name}`` from track metadata (JSON turns the keys into strings)."""
    raw = meta.get("individual_names") or {}
    out: dict[int, str] = {}
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            try:
                out[int(k)] = str(v)
            except (TypeError, ValueError):
                continue
    return out


def _scatter(
    df: pd.DataFrame,
    ks: list[int],
    fi: np.ndarray,
    ii: np.ndarray,
    shape: tuple[int, int, int],
    centroid_index: int | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions ``(T, 2, K, N)`` and confidences ``(T, K, N)`` (None without ``poseP``) of the table's rows."""
    T, N, K = shape
    position = np.full((T, 2, K, N), np.nan)
    has_p = any(f"poseP{k}" in df.columns for k in ks)
    confidence = np.full((T, K, N), np.nan) if has_p else None
    for j, k in enumerate(ks):
        position[fi, 0, j, ii] = df[f"poseX{k}"].to_numpy(dtype=np.float64)
        position[fi, 1, j, ii] = df[f"poseY{k}"].to_numpy(dtype=np.float64)
        if confidence is not None and f"poseP{k}" in df.columns:
            confidence[fi, j, ii] = df[f"poseP{k}"].to_numpy(dtype=np.float64)
    if centroid_index is not None:
        position[fi, 0, centroid_index, ii] = df["X"].to_numpy(dtype=np.float64)
        position[fi, 1, centroid_index, ii] = df["Y"].to_numpy(dtype=np.float64)
    return position, confidence


def table_to_pose(
    df: pd.DataFrame,
    meta: Mapping[str, Any] | None = None,
    *,
    group: str | None = None,
    sequence: str | None = None,
    include_centroid: bool = True,
) -> PoseBlock:
    """Scatter a ``trex_v1`` table into a :class:`PoseBlock`.

    Parameters
    ----------
    df
        The recording's table (``df.attrs['mosaic']`` is used when ``meta`` is not given).
    meta
        Track metadata: ``fps``, ``keypoint_names``, ``individual_names``.
    include_centroid
        Add ``X``/``Y`` as the keypoint :data:`CENTROID` (always done when the table has no pose columns).

    Raises
    ------
    TrackFormatError
        The table lacks ``frame``/``id``/``X``/``Y`` or holds no rows.
    """
    meta = dict(meta if meta is not None else (df.attrs.get("mosaic") or {}))
    group = group if group is not None else (str(df["group"].iloc[0]) if "group" in df and len(df) else "")
    sequence = (
        sequence if sequence is not None else (str(df["sequence"].iloc[0]) if "sequence" in df and len(df) else "")
    )
    ctx = dict(group=group, sequence=sequence)
    frames, ids, fi, ii = _frame_id_grid(df, ctx)
    ks, names, centroid_index = _keypoints(df.columns, meta, include_centroid)
    position, confidence = _scatter(df, ks, fi, ii, (len(frames), len(ids), len(names)), centroid_index)
    id_names = individual_name_map(meta)
    ind_names = _unique_names([id_names.get(int(i), f"id_{int(i)}") for i in ids])
    return PoseBlock(
        group,
        sequence,
        frames,
        ids,
        ind_names,
        names,
        position,
        confidence,
        positive_or_none(meta.get("fps")),
        centroid_index,
    )


def _frame_id_grid(df: pd.DataFrame, ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frames ``first..last``, sorted ids, and each row's frame and id position in them.

    Raises :class:`TrackFormatError` when ``frame``/``id``/``X``/``Y`` are missing, the table is
    empty or a (frame, id) appears twice.
    """
    missing = [c for c in ("frame", "id", "X", "Y") if c not in df.columns]
    if missing:
        raise TrackFormatError(
            "track table lacks required columns", expected="frame, id, X, Y", found=f"missing {missing}", **ctx
        )
    if not len(df):
        raise TrackFormatError(
            "track table has no rows to export", expected="at least one (frame, id) row", found=0, **ctx
        )
    frame = df["frame"].to_numpy(dtype=np.int64)
    idv = df["id"].to_numpy(dtype=np.int64)
    f0 = int(frame.min())
    frames = np.arange(f0, int(frame.max()) + 1, dtype=np.int64)
    ids = np.unique(idv)
    fi = frame - f0
    ii = np.searchsorted(ids, idv)
    if len(np.unique(fi * len(ids) + ii)) != len(df):
        raise TrackFormatError(
            "track table has duplicate (frame, id) rows", expected="unique (frame, id)", found="duplicates", **ctx
        )
    return frames, ids, fi, ii


def _keypoints(
    columns: Any, meta: Mapping[str, Any], include_centroid: bool
) -> tuple[list[int], list[str], int | None]:
    """The table's pose column indices, unique keypoint names (plus :data:`CENTROID`) and the centroid's index."""
    ks = _pose_indices(columns)
    kp_meta = [str(n) for n in (meta.get("keypoint_names") or [])]
    names = [kp_meta[k] if k < len(kp_meta) else f"keypoint{k}" for k in ks]
    centroid_index = None
    if include_centroid or not ks:
        names.append(CENTROID)
        centroid_index = len(names) - 1
    return ks, _unique_names(names), centroid_index


def pose_to_table(block: PoseBlock, *, drop_empty_rows: bool = False) -> pd.DataFrame:
    """Gather a :class:`PoseBlock` into a ``trex_v1`` table (one row per frame × individual).

    ``X``/``Y`` come from the centroid keypoint when ``block.centroid_index`` is set, else they are
    the NaN-mean of the keypoints. ``drop_empty_rows`` removes rows whose every coordinate is NaN.
    """
    T, _, K, N = block.position.shape
    coords = np.ascontiguousarray(block.position.transpose(0, 3, 2, 1)).reshape(T * N, K, 2)
    conf = None
    if block.confidence is not None and np.isfinite(block.confidence).any():
        conf = np.ascontiguousarray(block.confidence.transpose(0, 2, 1)).reshape(T * N, K)
    keep_k = [k for k in range(K) if k != block.centroid_index]
    if block.centroid_index is not None:
        x, y = coords[:, block.centroid_index, 0], coords[:, block.centroid_index, 1]
        kp = coords[:, keep_k, :]
        conf = None if conf is None else conf[:, keep_k]
        if conf is not None and not np.isfinite(conf).any():
            conf = None
    else:
        kp = coords
        x, y = nan_centroid(kp[:, :, 0]), nan_centroid(kp[:, :, 1])
    extra = pose_columns(kp, conf)
    frame = np.repeat(block.frames.astype(np.int64), N)
    ids = np.tile(block.ids.astype(np.int64), T)
    if block.fps is None:
        raise TrackFormatError(
            "no fps for this recording",
            group=block.group,
            sequence=block.sequence,
            expected="fps in the file or the params {'fps': ...}",
            found=None,
        )
    df = build_table(
        frame, ids, x, y, group=block.group, sequence=block.sequence, fps=block.fps, extra=extra, sort=False
    )
    if drop_empty_rows and len(df):
        any_val = np.isfinite(np.column_stack([x, y, kp.reshape(len(x), -1)])).any(axis=1)
        df = df[any_val].reset_index(drop=True)
    return df


def pose_meta(block: PoseBlock) -> dict[str, Any]:
    """The track-metadata fields a :class:`PoseBlock` determines (keypoints, individuals, fps)."""
    kp = [n for k, n in enumerate(block.keypoint_names) if k != block.centroid_index]
    return {
        "fps": block.fps,
        "keypoint_names": kp,
        "individual_names": {int(i): n for i, n in zip(block.ids, block.individual_names, strict=True)},
    }


def pose_track_table(
    src_format: str, path: Path, group: str, sequence: str, df: pd.DataFrame, meta: Mapping[str, Any], params: Mapping
) -> list[TrackTable]:
    """A pose converter's answer for one file: ``df`` with ``meta`` (its ``fps`` included) and ``cm_per_pixel``.

    ``cm_per_pixel`` comes from the conversion ``params`` (pose files carry none).
    """
    meta = dict(meta)
    fps = meta.pop("fps")
    cm, cm_src = resolve_number("cm_per_pixel", None, params, path=path, required=False)
    info = base_meta(src_format, [path], fps=fps, cm_per_pixel=cm, cm_per_pixel_source=cm_src, **meta)
    return [TrackTable(group, sequence, df, info)]
