"""SLEAP analysis HDF5 (``*.analysis.h5``) → ``trex_v1``.

SLEAP transposes every array before writing (MATLAB order), so h5py returns ``tracks`` as
(tracks, 2, nodes, frames); transposed it is (frames, nodes, 2, tracks). Node k of track j
becomes ``poseX<k>``/``poseY<k>`` of ``id`` j (``poseP<k>`` from ``point_scores`` when the
file has them; old exports have only ``tracks``, ``track_occupancy``, ``track_names``,
``node_names``). ``X``/``Y`` are the NaN-mean of the nodes. Row i is frame
``first_frame + i`` (param, default 0: SLEAP's ``all_frames`` export). The file has no fps:
it must come from params. Untracked projects store ``track_names`` as an empty float
array; their instances get ids 0..n-1 named ``instance<j>``. Output is dense over
(frames × tracks); rows where a track is absent are NaN (``drop_empty_rows`` removes them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param

from ..table import (
    CALIBRATION_PARAMETERS,
    TrackTable,
    base_meta,
    calibration,
    pose_table,
)
from .sleap_slp import open_sleap_hdf5

_ANALYSIS_EXPECTED = "HDF5 written by SLEAP 'Export Analysis HDF5'"

PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "first_frame": Param(0, "Frame number of the file's first row (SLEAP's `all_frames` export starts at 0)."),
    "drop_empty_rows": Param(False, "Remove rows where a track is absent (every node NaN)."),
}


def _names(ds: Any) -> list[str]:
    arr = np.asarray(ds[()])
    if arr.dtype.kind in "fiu":  # untracked: empty float array
        return []
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.ravel()]


def _read_analysis(path: Path, ctx: dict[str, Any]) -> dict[str, Any]:
    """Read the datasets of a SLEAP analysis file (absent optional ones as None or [])."""
    with open_sleap_hdf5(path, "not a readable SLEAP analysis HDF5 file", _ANALYSIS_EXPECTED, ctx) as f:
        if "tracks" not in f:
            raise TrackFormatError(
                "SLEAP analysis file lacks 'tracks'",
                expected="datasets tracks, node_names, ...",
                found=sorted(f.keys()),
                **ctx,
            )
        return {
            "tracks": np.asarray(f["tracks"][()], dtype=np.float64),
            "node_names": _names(f["node_names"]) if "node_names" in f else [],
            "track_names": _names(f["track_names"]) if "track_names" in f else [],
            "scores": np.asarray(f["point_scores"][()], dtype=np.float64) if "point_scores" in f else None,
            "inst": np.asarray(f["instance_scores"][()], dtype=np.float64) if "instance_scores" in f else None,
            "video_path": f["video_path"][()] if "video_path" in f else None,
        }


def _check_shapes(
    tracks: np.ndarray, node_names: list[str], track_names: list[str], ctx: dict[str, Any]
) -> tuple[int, int, int]:
    """Return (tracks, nodes, frames) of the on-disk ``tracks`` array; reject inconsistent names."""
    if tracks.ndim != 4 or tracks.shape[1] != 2:
        raise TrackFormatError(
            "SLEAP 'tracks' has the wrong shape",
            expected="(tracks, 2, nodes, frames) on disk",
            found=tracks.shape,
            **ctx,
        )
    n_tracks, _, n_nodes, T = tracks.shape
    if T == 0 or n_tracks == 0:
        raise TrackFormatError(
            "SLEAP file holds no frames or no tracks", expected="frames > 0 and tracks > 0", found=tracks.shape, **ctx
        )
    if node_names and len(node_names) != n_nodes:
        raise TrackFormatError("SLEAP node_names do not match tracks", expected=n_nodes, found=len(node_names), **ctx)
    if track_names and len(track_names) != n_tracks:
        raise TrackFormatError(
            "SLEAP track_names do not match tracks", expected=n_tracks, found=len(track_names), **ctx
        )
    return n_tracks, n_nodes, T


def convert_h5(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert one SLEAP analysis HDF5 file into one recording."""
    if len(paths) != 1:
        raise ConfigError("a SLEAP conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    ctx = dict(path=path, group=group, sequence=sequence)
    calib = calibration(params, path=path, fps_hint="SLEAP analysis files carry no fps: pass {'fps': <video fps>}")
    data = _read_analysis(path, ctx)
    tracks, node_names, track_names = data["tracks"], data["node_names"], data["track_names"]
    n_tracks, n_nodes, T = _check_shapes(tracks, node_names, track_names, ctx)
    t = np.transpose(tracks)  # (frames, nodes, 2, tracks)
    coords = t.transpose(0, 3, 1, 2).reshape(T * n_tracks, n_nodes, 2)  # rows (frame, track)
    sc = None
    if (scores := data["scores"]) is not None:
        if scores.shape != (n_tracks, n_nodes, T):
            raise TrackFormatError(
                "SLEAP point_scores do not match tracks", expected=(n_tracks, n_nodes, T), found=scores.shape, **ctx
            )
        sc = np.transpose(scores).transpose(0, 2, 1).reshape(T * n_tracks, n_nodes)  # (frames, tracks, nodes)
    extra = {}
    if (inst := data["inst"]) is not None and inst.shape == (n_tracks, T):
        extra["instance_score"] = np.transpose(inst).reshape(T * n_tracks)
    first = int(params.get("first_frame", 0))
    df = pose_table(
        np.repeat(np.arange(first, first + T, dtype=np.int64), n_tracks),
        np.tile(np.arange(n_tracks, dtype=np.int64), T),
        coords,
        group=group,
        sequence=sequence,
        fps=calib["fps"],
        scores=sc,
        extra=extra,
        sort=False,
        drop_empty=bool(params.get("drop_empty_rows")),
    )
    video_path = data["video_path"]
    if isinstance(video_path, bytes):
        video_path = video_path.decode("utf-8", "replace")
    meta = base_meta(
        "sleap_h5",
        [path],
        **calib,
        keypoint_names=node_names or [f"node{k}" for k in range(n_nodes)],
        individual_names={j: (track_names[j] if track_names else f"instance{j}") for j in range(n_tracks)},
        tracked=bool(track_names),
        first_frame=first,
        position="centroid (nan-mean) of nodes",
        video_path=None if video_path is None else str(video_path),
    )
    return [TrackTable(group, sequence, df, meta)]
