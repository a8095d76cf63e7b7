"""movement's poses dataset (``xarray.Dataset``) ↔ mosaic tracks.

Layout written (what ``movement.io.load_poses.from_numpy`` builds and its validators require):
data variables ``position (time, space, keypoints, individuals)`` and ``confidence (time,
keypoints, individuals)``; coordinates ``time`` (seconds when the fps is known, else frame
numbers), ``space = ['x', 'y']``, ``keypoints`` and ``individuals`` (names); attributes
``ds_type='poses'``, ``source_software``, ``fps``, ``time_unit`` and ``source_file``. mosaic adds
``mosaic_group``/``mosaic_sequence``, ``mosaic_individual_ids`` (the integer ids, in the order of
``individuals``) and ``mosaic_centroid_keypoint`` (the keypoint carrying ``X``/``Y``), so a
round trip gives back the same ids, names, values and NaN pattern.

The time axis is dense over ``first..last`` frame; (frame, id) cells without a row are NaN.
Columns other than ``X``, ``Y`` and the pose columns (``ANGLE``, ``SPEED``...) are not exported.
Reading (``src_format: movement_netcdf``) accepts any movement poses netCDF; without the mosaic
attributes, ids are 0..n-1 in ``individuals`` order and ``X``/``Y`` are the keypoints' NaN-mean.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param
from mosaic.tracks.table import CALIBRATION_PARAMETERS, TrackTable, param_source, resolve_number

from ._pose import PoseBlock, pose_meta, pose_to_table, pose_track_table, require, table_to_pose

SOURCE_SOFTWARE = "mosaic"
#: parameters of the ``movement_netcdf`` tracks converter
PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "drop_empty_rows": Param(False, "Drop rows with no coordinate."),
}


def to_movement(
    df: pd.DataFrame,
    meta: Mapping[str, Any] | None = None,
    *,
    include_centroid: bool = True,
    source_file: str | None = None,
) -> Any:
    """One recording as a movement poses ``xarray.Dataset`` (in memory).

    Parameters
    ----------
    df
        A ``trex_v1`` table (``df.attrs['mosaic']`` supplies ``meta`` when not given).
    meta
        Track metadata (``fps``, ``keypoint_names``, ``individual_names``).
    include_centroid
        Export ``X``/``Y`` as the keypoint ``centroid`` (needed for an exact round trip of ``X``/``Y``).
    source_file
        Stored in the ``source_file`` attribute.
    """
    xr = require("xarray")
    block = table_to_pose(df, meta, include_centroid=include_centroid)
    T = len(block.frames)
    if block.fps is not None:
        time, unit = block.frames / block.fps, "seconds"
    else:
        time, unit = block.frames.copy(), "frames"
    conf = (
        block.confidence
        if block.confidence is not None
        else np.full((T, len(block.keypoint_names), len(block.ids)), np.nan)
    )
    attrs: dict[str, Any] = {
        "source_software": SOURCE_SOFTWARE,
        "ds_type": "poses",
        "time_unit": unit,
        "mosaic_group": block.group,
        "mosaic_sequence": block.sequence,
        "mosaic_individual_ids": block.ids.astype(np.int64),
    }
    if block.fps is not None:
        attrs["fps"] = float(block.fps)
    if block.centroid_index is not None:
        attrs["mosaic_centroid_keypoint"] = block.keypoint_names[block.centroid_index]
    if source_file:
        attrs["source_file"] = str(source_file)
    dims = ("time", "space", "keypoints", "individuals")
    return xr.Dataset(
        data_vars={
            "position": xr.DataArray(block.position, dims=dims),
            "confidence": xr.DataArray(conf, dims=(dims[0],) + dims[2:]),
        },
        coords={
            "time": time,
            "space": ["x", "y"],
            "keypoints": list(block.keypoint_names),
            "individuals": list(block.individual_names),
        },
        attrs=attrs,
    )


def write_movement_netcdf(ds_xr: Any, path: str | os.PathLike) -> Path:
    """Write a movement dataset to netCDF atomically (engine ``h5netcdf``, else ``netcdf4``)."""
    path = Path(path)
    engine = _engine()
    with atomic_path(path) as tmp:
        ds_xr.to_netcdf(tmp, engine=engine)
    return path


def _engine() -> str:
    for mod, engine in (("h5netcdf", "h5netcdf"), ("netCDF4", "netcdf4")):
        try:
            __import__(mod)
            return engine
        except ImportError:
            continue
    require("h5netcdf")
    return "h5netcdf"


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _movement_frames(
    ds_xr: Any, T: int, fps: float | None, path: Any, ctx: dict[str, Any]
) -> tuple[np.ndarray, float, str]:
    """Frame numbers of the time axis (consecutive whole frames), the fps and where it came from."""
    # fps: the file's attribute beats the parameter
    file_fps = ds_xr.attrs.get("fps")
    unit = str(ds_xr.attrs.get("time_unit", "seconds" if file_fps is not None else "frames"))
    fps_v, fps_src = resolve_number("fps", file_fps, {"fps": fps} if fps is not None else {}, path=path, required=False)
    time = (
        np.asarray(ds_xr["time"].values, dtype=np.float64) if "time" in ds_xr.coords else np.arange(T, dtype=np.float64)
    )
    if unit == "frames":
        fr = time
    else:
        if fps_v is None:
            raise TrackFormatError(
                "movement time axis is in seconds but the fps is unknown",
                expected="an 'fps' attribute or params {'fps': ...}",
                found="neither",
                **ctx,
            )
        fr = time * fps_v
    frames = np.rint(fr)
    if (
        not np.isfinite(frames).all()
        or np.abs(fr - frames).max(initial=0) > 1e-6
        or (len(frames) > 1 and (np.diff(frames) != 1).any())
    ):
        raise TrackFormatError(
            "movement time axis is not consecutive whole frames",
            expected="time = frame / fps for consecutive frames",
            found=f"first values {time[:3].tolist()}",
            **ctx,
        )
    if fps_v is None:
        raise TrackFormatError(
            "no fps for this movement dataset",
            expected="an 'fps' attribute or params {'fps': ...}",
            found="neither",
            **ctx,
        )
    return frames, fps_v, fps_src


def _movement_ids(ds_xr: Any, N: int) -> np.ndarray:
    """mosaic ids of the individuals: the ``mosaic_individual_ids`` attribute when valid, else 0..N-1."""
    raw_ids = ds_xr.attrs.get("mosaic_individual_ids")
    ids = np.arange(N, dtype=np.int64)
    if raw_ids is not None:
        cand = np.atleast_1d(np.asarray(raw_ids)).astype(np.int64)
        if len(cand) == N and len(np.unique(cand)) == N:
            ids = cand
    return ids


def _pose_arrays(ds_xr: Any, ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Position ``(T, 2, K, N)`` and confidence ``(T, K, N)`` (None when absent) of a 2-D poses dataset, NaN where not finite."""
    need_vars = {"position"}
    if not need_vars <= set(ds_xr.data_vars):
        raise TrackFormatError(
            "not a movement poses dataset", expected="data variable 'position'", found=sorted(ds_xr.data_vars), **ctx
        )
    dims = ("time", "space", "keypoints", "individuals")
    pos = ds_xr["position"]
    if str(ds_xr.attrs.get("ds_type", "poses")) != "poses" or tuple(pos.dims) != dims and set(pos.dims) != set(dims):
        raise TrackFormatError(
            "movement dataset is not a poses dataset",
            expected=f"position dims {dims} (ds_type 'poses')",
            found=f"dims {tuple(pos.dims)}, ds_type {ds_xr.attrs.get('ds_type')!r}",
            **ctx,
        )
    pos = pos.transpose(*dims)
    space = [_text(s) for s in ds_xr["space"].values] if "space" in ds_xr.coords else ["x", "y"][: pos.shape[1]]
    if space[:2] != ["x", "y"] or len(space) != 2:
        raise TrackFormatError(
            "only 2-D poses can become mosaic tracks", expected="space = ['x', 'y']", found=space, **ctx
        )
    position = np.asarray(pos.values, dtype=np.float64)
    position = np.where(np.isfinite(position), position, np.nan)
    T, _, K, N = position.shape
    if T == 0 or N == 0 or K == 0:
        raise TrackFormatError(
            "movement dataset is empty", expected="time, keypoints and individuals > 0", found=position.shape, **ctx
        )
    confidence = None
    if "confidence" in ds_xr.data_vars:
        confidence = np.asarray(
            ds_xr["confidence"].transpose("time", "keypoints", "individuals").values, dtype=np.float64
        )
        confidence = np.where(np.isfinite(confidence), confidence, np.nan)
    return position, confidence


def from_movement(
    ds_xr: Any,
    *,
    group: str,
    sequence: str,
    fps: float | None = None,
    path: str | os.PathLike | None = None,
    drop_empty_rows: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A movement poses dataset as a ``trex_v1`` table and its metadata.

    Raises
    ------
    TrackFormatError
        Not a 2-D poses dataset (missing variables or dimensions, bounding boxes, 3-D), time values
        that are not whole increasing frames, or no fps when the time axis is in seconds.
    """
    ctx = dict(path=path, group=group, sequence=sequence)
    position, confidence = _pose_arrays(ds_xr, ctx)
    T, _, _, N = position.shape
    frames, fps_v, fps_src = _movement_frames(ds_xr, T, fps, path, ctx)
    ind = [_text(v) for v in ds_xr["individuals"].values]
    kps = [_text(v) for v in ds_xr["keypoints"].values]
    ids = _movement_ids(ds_xr, N)
    order = np.argsort(ids, kind="stable")
    ids, position = ids[order], position[..., order]
    confidence = None if confidence is None else confidence[..., order]
    ind = [ind[i] for i in order]
    centroid = ds_xr.attrs.get("mosaic_centroid_keypoint")
    cidx = kps.index(str(centroid)) if centroid is not None and str(centroid) in kps else None
    block = PoseBlock(group, sequence, frames.astype(np.int64), ids, ind, kps, position, confidence, float(fps_v), cidx)
    df = pose_to_table(block, drop_empty_rows=drop_empty_rows)
    meta = pose_meta(block)
    meta.update(fps_source=fps_src, source_software=_text(ds_xr.attrs.get("source_software", "")) or None)
    return df, meta


def read_movement_netcdf(path: str | os.PathLike) -> Any:
    """Load a netCDF file saved from a movement dataset (named error when unreadable)."""
    xr = require("xarray")
    path = Path(path)
    try:
        return xr.load_dataset(path, engine=_engine())
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise TrackFormatError(
            "not a readable netCDF file",
            path=path,
            expected="a movement dataset saved with to_netcdf",
            found=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
        ) from exc


def convert(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Tracks converter ``movement_netcdf``: one movement poses netCDF → one recording.

    Params: ``fps`` (used when the file has none), ``drop_empty_rows`` (drop rows with no coordinate).
    """
    if len(paths) != 1:
        raise ConfigError("a movement conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    ds_xr = read_movement_netcdf(path)
    df, meta = from_movement(
        ds_xr,
        group=group,
        sequence=sequence,
        fps=params.get("fps"),
        path=path,
        drop_empty_rows=bool(params.get("drop_empty_rows", False)),
    )
    if meta.get("fps_source") == "params":
        meta["fps_source"] = param_source(params, "fps")
    return pose_track_table("movement_netcdf", path, group, sequence, df, meta, params)
