"""mosaic tracks (and labels as time intervals) → NWB with ndx-pose.

Written per recording: one NWB file whose processing module ``behavior`` holds a ``Skeletons``
container and one ``PoseEstimation`` per individual (named after it), with one
``PoseEstimationSeries`` per keypoint: ``data`` (frames × 2, pixels, NaN where missing),
``confidence`` when the table has scores, and a regular time base (``rate`` = fps,
``starting_time`` = first frame / fps). ``X``/``Y`` travel as the keypoint ``centroid``. The
``PoseEstimation`` description is JSON with the mosaic id (``mosaic_id``) and the centroid keypoint,
so a round trip gives back ids, names, values and the NaN pattern. Labels, when given, become a
``TimeIntervals`` table ``behavior_<kind>`` (``start_time``, ``stop_time`` in seconds, columns
``behavior``, ``subject_id``, ``partner_id``; one row per bout, stop exclusive).


Reading them back is :mod:`mosaic.interop.nwb`.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import ConfigError
from mosaic.labels.events import events_to_bouts

from ._pose import PoseBlock, require, table_to_pose
from .boris import label_name_map

MODULE = "behavior"
REFERENCE_FRAME = "(0, 0) is the top-left corner of the video frame; x to the right, y down"


def _labels_table(labels: Mapping[str, Any], kind: str, fps: float, names: Mapping[int, str]) -> Any:
    from pynwb.epoch import TimeIntervals

    b = events_to_bouts(labels["frames"], labels["labels"], labels["individual_ids"])
    lut = label_name_map(labels)
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
    source_video = _add_source_video(nwb, block, video) if video else None
    skeletons, estimations = _pose_estimations_of(ndx_pose, block, source_video)
    module.add(ndx_pose.Skeletons(skeletons=skeletons))
    for pe in estimations:
        module.add(pe)
    names = dict(zip(block.ids.tolist(), block.individual_names, strict=True))
    for kind, lab in (labels or {}).items():
        nwb.add_time_intervals(_labels_table(lab, kind, block.fps, names))
    _save_nwb(pynwb, nwb, path)
    return path


def _add_source_video(nwb: Any, block: PoseBlock, video: str) -> Any:
    """The recording's video as an external ``ImageSeries`` acquisition (linked from every ``PoseEstimation``)."""
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
    return source_video


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
