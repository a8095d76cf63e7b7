"""NWB with ndx-pose → mosaic tracks (the ``nwb_pose`` converter), and labels' interval tables.

A file in the layout :mod:`mosaic.interop.nwb_write` describes and writes (:func:`write_nwb` is
importable from here too) comes back with its ids, names, values and NaN pattern. Reading
(``src_format: nwb_pose``) takes every ``PoseEstimation`` of the file's processing modules;
without mosaic's description, ids are 0..n-1 in file order and ``X``/``Y`` are the keypoints'
NaN-mean.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param
from mosaic.tracks.table import CALIBRATION_PARAMETERS, TrackTable, param_source

from ._pose import PoseBlock, pose_meta, pose_to_table, pose_track_table, require
from .nwb_write import write_nwb

__all__ = ["PARAMETERS", "convert", "read_nwb_intervals", "read_nwb_pose", "write_nwb"]

#: parameters of the ``nwb_pose`` tracks converter
PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "drop_empty_rows": Param(False, "Drop rows with no coordinate."),
}


def _pose_estimations(nwb: Any) -> list[Any]:
    from ndx_pose import PoseEstimation

    out = []
    for module in nwb.processing.values():
        out += [obj for obj in module.data_interfaces.values() if isinstance(obj, PoseEstimation)]
    return out


def _read_pose_estimation(pe: Any, kp: list[str], ctx: dict[str, Any]) -> tuple[tuple, float | None]:
    """``((name, mosaic id, centroid keypoint, {keypoint: (data, confidence, times)}), rate)`` of one
    ``PoseEstimation``; its keypoints are appended to ``kp`` (skeleton order first)."""
    try:
        d = json.loads(pe.description or "")
    except (TypeError, ValueError):
        d = {}
    d = d if isinstance(d, dict) else {}
    series = {}
    rate = None
    # the skeleton keeps the keypoint order (the series come back sorted by name)
    nodes = [str(x) for x in (pe.skeleton.nodes[()] if pe.skeleton is not None else [])]
    kp += [x for x in nodes if x in pe.pose_estimation_series and x not in kp]
    for name, s in pe.pose_estimation_series.items():
        data = np.asarray(s.data[()], dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != 2:
            raise TrackFormatError(
                "only 2-D pose series can become mosaic tracks",
                expected="data (frames, 2)",
                found=f"{name!r}: {data.shape}",
                **ctx,
            )
        if s.rate is not None:
            rate = rate or float(s.rate)
            t = float(s.starting_time or 0.0) + np.arange(len(data)) / float(s.rate)
        else:
            t = np.asarray(s.timestamps[()], dtype=np.float64)
        conf = np.asarray(s.confidence[()], dtype=np.float64) if s.confidence is not None else None
        series[str(name)] = (data, conf, t)
        if str(name) not in kp:
            kp.append(str(name))
    mid = d.get("mosaic_id")
    return (str(pe.name), int(mid) if isinstance(mid, int) else None, d.get("centroid_keypoint"), series), rate


def _pose_fps(per: list[tuple], fps: float | None, rate: float | None, ctx: dict[str, Any]) -> float:
    """``fps`` if given, else the first series rate, else the rate of regular timestamps."""
    fps_v = float(fps) if fps else rate
    if fps_v is None:
        all_t = np.unique(np.concatenate([t for *_, ser in per for (_, _, t) in ser.values()]))
        dt = np.diff(all_t)
        if len(dt) and np.allclose(dt, dt.min(), rtol=1e-6):
            fps_v = float(1.0 / dt.min())
    if fps_v is None or not np.isfinite(fps_v) or fps_v <= 0:
        raise TrackFormatError(
            "no fps for this NWB pose data",
            expected="series with a rate, regular timestamps or params {'fps': ...}",
            found="none",
            **ctx,
        )
    return fps_v


def _series_frames(per: list[tuple], fps_v: float, ctx: dict[str, Any]) -> dict[tuple[str, str], np.ndarray]:
    """Frame numbers of every series' times at ``fps_v`` (they must be whole frames)."""
    frames_of = {}
    for name, _, _, ser in per:
        for kname, (_, _, t) in ser.items():
            f = t * fps_v
            fr = np.rint(f)
            if np.abs(f - fr).max(initial=0) > 1e-6:
                raise TrackFormatError(
                    "NWB pose timestamps are not whole frames at this fps",
                    expected=f"multiples of 1/{fps_v}",
                    found=f"{name}/{kname}: {t[:3].tolist()}",
                    **ctx,
                )
            frames_of[(name, kname)] = fr.astype(np.int64)
    return frames_of


def read_nwb_pose(
    path: str | os.PathLike, *, group: str, sequence: str, fps: float | None = None, drop_empty_rows: bool = False
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ``PoseEstimation`` objects of an NWB file as one ``trex_v1`` table and its metadata.

    Raises
    ------
    TrackFormatError
        Unreadable file, no ``PoseEstimation``, 3-D data, series of different lengths or times that are
        not whole frames, or no fps (neither a series rate, regular timestamps nor ``fps``).
    """
    pynwb = require("pynwb")
    require("ndx_pose")
    path = Path(path)
    ctx = dict(path=path, group=group, sequence=sequence)
    kp, per, rate = _read_estimations(pynwb, path, ctx)
    fps_v = _pose_fps(per, fps, rate, ctx)
    block = _dense_block(per, kp, _series_frames(per, fps_v, ctx), fps_v, group, sequence)
    df = pose_to_table(block, drop_empty_rows=drop_empty_rows)
    return df, pose_meta(block)


def _read_estimations(pynwb: Any, path: Path, ctx: dict[str, Any]) -> tuple[list[str], list[tuple], float | None]:
    """Keypoint names, one entry per ``PoseEstimation`` (see :func:`_read_pose_estimation`) and the first rate."""
    try:
        io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as exc:  # h5py/hdmf raise OSError, KeyError, ValueError... on foreign files
        raise TrackFormatError(
            "not a readable NWB file", expected="an NWB (HDF5) file", found=f"{type(exc).__name__}: {exc}", **ctx
        ) from exc
    try:
        pes = _pose_estimations(nwb)
        if not pes:
            raise TrackFormatError(
                "NWB file holds no ndx-pose PoseEstimation",
                expected="processing/<module>/<PoseEstimation>",
                found="none",
                **ctx,
            )
        kp: list[str] = []
        per: list[tuple[str, int | None, str | None, dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray]]]] = []
        rate = None
        for pe in pes:
            entry, pe_rate = _read_pose_estimation(pe, kp, ctx)
            rate = rate or pe_rate
            per.append(entry)
    finally:
        io.close()
    return kp, per, rate


def _dense_block(
    per: list[tuple],
    kp: list[str],
    frames_of: dict[tuple[str, str], np.ndarray],
    fps_v: float,
    group: str,
    sequence: str,
) -> PoseBlock:
    """The series scattered over frames ``first..last`` and individuals sorted by id (file order without mosaic ids)."""
    all_f = np.concatenate(list(frames_of.values()))
    f0, f1 = int(all_f.min()), int(all_f.max())
    T, K, N = f1 - f0 + 1, len(kp), len(per)
    position = np.full((T, 2, K, N), np.nan)
    confidence = np.full((T, K, N), np.nan)
    for n, (name, _, _, ser) in enumerate(per):
        for kname, (data, conf, _) in ser.items():
            fi = frames_of[(name, kname)] - f0
            k = kp.index(kname)
            position[fi, :, k, n] = data
            if conf is not None:
                confidence[fi, k, n] = conf
    ids = np.array([mid for _, mid, _, _ in per], dtype=object)
    if any(v is None for v in ids) or len(set(ids.tolist())) != N:
        ids = np.arange(N, dtype=np.int64)
    ids = ids.astype(np.int64)
    order = np.argsort(ids, kind="stable")
    centroids = {c for _, _, c, _ in per if c}
    cidx = kp.index(next(iter(centroids))) if len(centroids) == 1 and next(iter(centroids)) in kp else None
    return PoseBlock(
        group,
        sequence,
        np.arange(f0, f1 + 1, dtype=np.int64),
        ids[order],
        [per[i][0] for i in order],
        kp,
        position[..., order],
        confidence[..., order],
        fps_v,
        cidx,
    )


def read_nwb_intervals(path: str | os.PathLike, name: str) -> pd.DataFrame:
    """A ``TimeIntervals`` table of an NWB file as a DataFrame (e.g. ``behavior_<kind>`` written by :func:`write_nwb`)."""
    pynwb = require("pynwb")
    path = Path(path)
    with pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        nwb = io.read()
        if nwb.intervals is None or name not in nwb.intervals:
            raise TrackFormatError(
                "NWB file has no such interval table",
                path=path,
                expected=name,
                found=sorted(nwb.intervals) if nwb.intervals else [],
            )
        return nwb.intervals[name].to_dataframe()


def convert(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Tracks converter ``nwb_pose``: the ndx-pose data of one NWB file → one recording.

    Params: ``fps`` (used when the series carry no rate), ``drop_empty_rows``.
    """
    if len(paths) != 1:
        raise ConfigError("an NWB pose conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    df, meta = read_nwb_pose(
        path,
        group=group,
        sequence=sequence,
        fps=params.get("fps"),
        drop_empty_rows=bool(params.get("drop_empty_rows", False)),
    )
    meta["fps_source"] = "file" if not params.get("fps") else param_source(params, "fps")
    return pose_track_table("nwb_pose", path, group, sequence, df, meta, params)
