"""NWB with ndx-pose ↔ mosaic tracks (and labels as time intervals).

Written per recording: one NWB file whose processing module ``behavior`` holds a ``Skeletons``
container and one ``PoseEstimation`` per individual (named after it), with one
``PoseEstimationSeries`` per keypoint: ``data`` (frames × 2, pixels, NaN where missing),
``confidence`` when the table has scores, and a regular time base (``rate`` = fps,
``starting_time`` = first frame / fps). ``X``/``Y`` travel as the keypoint ``centroid``. The
``PoseEstimation`` description is JSON with the mosaic id (``mosaic_id``) and the centroid keypoint,
so a round trip gives back ids, names, values and the NaN pattern. Labels, when given, become a
``TimeIntervals`` table ``behavior_<kind>`` (``start_time``, ``stop_time`` in seconds, columns
``behavior``, ``subject_id``, ``partner_id``; one row per bout, stop exclusive).

Reading (``src_format: nwb_pose``) takes every ``PoseEstimation`` of the file's processing
modules; without mosaic's description, ids are 0..n-1 in file order and ``X``/``Y`` are the
keypoints' NaN-mean.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param
from mosaic.labels.events import events_to_bouts
from mosaic.tracks.table import CALIBRATION_PARAMETERS, TrackTable, base_meta, param_source, resolve_number

from ._pose import PoseBlock, pose_meta, pose_to_table, require, table_to_pose

MODULE = "behavior"
#: parameters of the ``nwb_pose`` tracks converter
PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "drop_empty_rows": Param(False, "Drop rows with no coordinate."),
}
REFERENCE_FRAME = "(0, 0) is the top-left corner of the video frame; x to the right, y down"


def _labels_table(labels: Mapping[str, Any], kind: str, fps: float, names: Mapping[int, str]) -> Any:
    from pynwb.epoch import TimeIntervals

    b = events_to_bouts(labels["frames"], labels["labels"], labels["individual_ids"])
    lut = dict(
        zip(
            np.asarray(labels["label_ids"]).astype(int).tolist(),
            [str(n) for n in np.asarray(labels["label_names"]).ravel()],
            strict=True,
        )
    )
    ti = TimeIntervals(
        name=f"behavior_{kind}", description=f"mosaic labels of kind {kind!r}: one row per bout (stop exclusive)"
    )
    ti.add_column("behavior", "behaviour name")
    ti.add_column("label_id", "mosaic label id")
    ti.add_column("subject_id", "mosaic individual id (-1: the whole scene)")
    ti.add_column("partner_id", "partner id of a pair behaviour (-1: none)")
    ti.add_column("subject", "subject name")
    for r in b.sort_values(["start", "id_a", "id_b", "label"]).itertuples(index=False):
        ti.add_interval(
            start_time=float(r.start / fps),
            stop_time=float(r.stop / fps),
            behavior=lut.get(int(r.label), str(r.label)),
            label_id=int(r.label),
            subject_id=int(r.id_a),
            partner_id=int(r.id_b),
            subject=names.get(int(r.id_a), ""),
        )
    return ti


def write_nwb(
    df: pd.DataFrame,
    path: str | os.PathLike,
    meta: Mapping[str, Any] | None = None,
    *,
    labels: Mapping[str, Mapping[str, Any]] | None = None,
    session_start_time: _dt.datetime | None = None,
    session_description: str | None = None,
    identifier: str | None = None,
    video: str | None = None,
    include_centroid: bool = True,
) -> Path:
    """Write one recording's tracks (and labels, ``{kind: label dict}``) as an NWB file with ndx-pose.

    Raises
    ------
    ConfigError
        The recording has no fps (NWB times are seconds), or pynwb/ndx-pose are not installed.
    """
    pynwb = require("pynwb")
    ndx_pose = require("ndx_pose")
    path = Path(path)
    block = table_to_pose(df, meta, include_centroid=include_centroid)
    if block.fps is None:
        raise ConfigError(
            "NWB export needs the recording's fps",
            path=path,
            group=block.group,
            sequence=block.sequence,
            expected="fps in the track metadata",
            found=None,
        )
    start = session_start_time or _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    if start.tzinfo is None:
        start = start.replace(tzinfo=_dt.timezone.utc)
    ident = identifier or str(uuid.uuid5(uuid.NAMESPACE_URL, f"mosaic:{block.group}/{block.sequence}"))
    nwb = pynwb.NWBFile(
        session_description=session_description or f"mosaic recording {block.group}/{block.sequence}",
        identifier=ident,
        session_start_time=start,
    )
    module = nwb.create_processing_module(name=MODULE, description="pose tracks exported by mosaic")
    source_video = None
    if video:  # the recording's video as an external ImageSeries, linked from every PoseEstimation
        from pynwb.image import ImageSeries

        source_video = ImageSeries(
            name="video",
            description="the recording's video (external file)",
            external_file=[str(video)],
            format="external",
            starting_frame=[0],
            rate=float(block.fps),
            num_samples=int(block.frames[-1]) + 1,
        )
        nwb.add_acquisition(source_video)
    skeletons, estimations = _pose_estimations_of(ndx_pose, block, source_video)
    module.add(ndx_pose.Skeletons(skeletons=skeletons))
    for pe in estimations:
        module.add(pe)
    names = dict(zip(block.ids.tolist(), block.individual_names, strict=True))
    for kind, lab in (labels or {}).items():
        nwb.add_time_intervals(_labels_table(lab, kind, block.fps, names))
    _save_nwb(pynwb, nwb, path)
    return path


def _pose_estimations_of(ndx_pose: Any, block: PoseBlock, source_video: Any) -> tuple[list, list]:
    """One ``Skeleton`` and one ``PoseEstimation`` (a series per keypoint) per individual of ``block``."""
    t0 = float(block.frames[0] / block.fps)
    kp = block.keypoint_names
    skeletons, estimations = [], []
    for n, (ind_id, ind) in enumerate(zip(block.ids, block.individual_names, strict=True)):
        skel = ndx_pose.Skeleton(name=f"{ind}_skeleton", nodes=list(kp), edges=np.zeros((0, 2), dtype=np.uint8))
        skeletons.append(skel)
        series = []
        for k, name in enumerate(kp):
            kw: dict[str, Any] = {}
            if block.confidence is not None and k != block.centroid_index:
                kw = {
                    "confidence": np.ascontiguousarray(block.confidence[:, k, n]),
                    "confidence_definition": "score of the source tracker",
                }
            series.append(
                ndx_pose.PoseEstimationSeries(
                    name=name,
                    description=f"keypoint {name!r} of {ind!r}",
                    data=np.ascontiguousarray(block.position[:, :, k, n]),
                    unit="pixels",
                    reference_frame=REFERENCE_FRAME,
                    rate=float(block.fps),
                    starting_time=t0,
                    **kw,
                )
            )
        desc = {
            "mosaic_id": int(ind_id),
            "centroid_keypoint": kp[block.centroid_index] if block.centroid_index is not None else None,
            "group": block.group,
            "sequence": block.sequence,
        }
        estimations.append(
            ndx_pose.PoseEstimation(
                name=ind,
                pose_estimation_series=series,
                description=json.dumps(desc),
                source_video=source_video,
                source_software="mosaic",
                skeleton=skel,
            )
        )
    return skeletons, estimations


def _save_nwb(pynwb: Any, nwb: Any, path: Path) -> None:
    """Write ``nwb`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp_nwb = tmp.with_name(tmp.name + ".nwb")  # pynwb warns about other suffixes
        try:
            with pynwb.NWBHDF5IO(str(tmp_nwb), "w") as io:
                io.write(nwb)
            os.replace(tmp_nwb, tmp)
        finally:
            tmp_nwb.unlink(missing_ok=True)


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
    fps_v = _pose_fps(per, fps, rate, ctx)
    frames_of = _series_frames(per, fps_v, ctx)
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
    block = PoseBlock(
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
    df = pose_to_table(block, drop_empty_rows=drop_empty_rows)
    return df, pose_meta(block)


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
    fps = meta.pop("fps")
    cm, cm_src = resolve_number("cm_per_pixel", None, params, path=path, required=False)
    return [
        TrackTable(
            group,
            sequence,
            df,
            base_meta(
                "nwb_pose",
                [path],
                fps=fps,
                fps_source="file" if not params.get("fps") else param_source(params, "fps"),
                cm_per_pixel=cm,
                cm_per_pixel_source=cm_src,
                **meta,
            ),
        )
    ]
