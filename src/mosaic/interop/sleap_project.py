"""SLEAP labelling projects from a frame run, and user-labelled ``.slp`` files back (via ``sleap-io``).

Out: a ``.slp`` labels file with the skeleton, one video per source video (or the run's PNGs as
an image sequence when the video is not found) and one *suggestion* per sampled frame; the
frame ↔ recording map is kept in the file's provenance (``mosaic``).

Back: the user instances of a ``.slp`` become per recording a keypoint-label table in the
``trex_v1`` layout (see :func:`mosaic.interop.frame_run.keypoint_table`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import ConfigError, LabelFormatError

from ._pose import require
from .frame_run import check_names, keypoint_table, run_frames


def write_sleap_project(
    manifests: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    bodyparts: Sequence[str],
    edges: Sequence[tuple[str, str]] = (),
    resolve_video: Any = None,
    use_images: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a SLEAP labels file whose suggestions are the frames of a run (nothing labelled yet).

    Parameters
    ----------
    bodyparts, edges
        Skeleton nodes and edges (pairs of node names).
    resolve_video
        ``callable(video_path) -> Path`` turning a run source path into a file path (the dataset's
        ``resolve_path``); videos that do not exist fall back to the run's PNGs.
    use_images
        Always use the run's PNGs as image-sequence videos (one per recording).
    overwrite
        Replace an existing file (it may hold an annotator's labels); otherwise that is an error.
    """
    sio = require("sleap_io")
    path = Path(path)
    _check_slp_target(path, overwrite)
    bodyparts = check_names("bodyparts", bodyparts)
    bad = [e for e in edges if len(e) != 2 or e[0] not in bodyparts or e[1] not in bodyparts]
    if bad:
        raise ConfigError("skeleton edges must join two body parts", expected=bodyparts, found=bad)
    skeleton = sio.Skeleton(nodes=list(bodyparts), edges=[list(e) for e in edges], name="mosaic")
    videos, suggestions, prov = _sleap_videos(sio, run_frames(manifests), use_images, resolve_video)
    labels = sio.Labels(videos=videos, skeletons=[skeleton], suggestions=suggestions)
    labels.provenance["mosaic"] = {"videos": prov}
    _save_slp(sio, labels, path)
    return path


def _check_slp_target(path: Path, overwrite: bool) -> None:
    """Refuse a target that is not a ``.slp`` name, or an existing file unless ``overwrite``."""
    if path.suffix != ".slp":
        raise ConfigError(
            "a SLEAP labels file must end in .slp", path=path, expected=".slp", found=path.suffix or "no suffix"
        )
    if path.exists() and not overwrite:
        raise ConfigError(
            "the SLEAP labels file exists (it may hold labels)",
            path=path,
            expected="a new file",
            found="existing file",
            hint="pass overwrite=True to replace it",
        )


def _sleap_videos(
    sio: Any, frames: pd.DataFrame, use_images: bool, resolve_video: Any
) -> tuple[list[Any], list[Any], list[dict[str, Any]]]:
    """The run's videos, one suggestion per sampled frame, and the video → recording provenance."""
    videos, suggestions, prov = [], [], []
    for (g, s), sub in frames.groupby(["group", "sequence"], sort=True):
        for filename, idx, frm in _sleap_sources(sub, use_images, resolve_video):
            # image sequences are opened (sleap-io stores their shape); videos are only referenced
            video = (
                sio.Video.from_filename(filename)
                if isinstance(filename, list)
                else sio.Video(filename=filename, open_backend=False)
            )
            videos.append(video)
            suggestions += [sio.SuggestionFrame(video=video, frame_idx=int(k)) for k in idx]
            prov.append(
                {
                    "group": str(g),
                    "sequence": str(s),
                    "video_frames": [int(k) for k in idx],
                    "frames": [int(f) for f in frm],
                }
            )
    return videos, suggestions, prov


def _sleap_sources(sub: pd.DataFrame, use_images: bool, resolve_video: Any) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """``(video file or PNG list, video frame indices, recording frames)`` of one recording's frames.

    The source videos when every one exists (and not ``use_images``), else the run's PNGs.
    """
    by_video = []
    if not use_images:
        for vp, vsub in sub.groupby("video_path", sort=False):
            real = Path(resolve_video(vp)) if (resolve_video is not None and vp) else Path(vp)
            if not vp or not real.is_file():
                by_video = []
                break
            by_video.append((str(real), vsub["video_frame"].to_numpy(), vsub["frame"].to_numpy()))
    if not by_video:
        by_video = [(sub["png"].tolist(), np.arange(len(sub)), sub["frame"].to_numpy())]
    return by_video


def _save_slp(sio: Any, labels: Any, path: Path) -> None:
    """Write ``labels`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp_slp = tmp.with_name(tmp.name + ".slp")  # sleap-io wants the .slp suffix
        try:
            sio.save_slp(labels, str(tmp_slp), verbose=False)
            os.replace(tmp_slp, tmp)
        finally:
            tmp_slp.unlink(missing_ok=True)


def _sleap_frame_recording(
    lf: Any, vi: int, prov: list | None, recording: tuple[str, str] | None, path: Path
) -> tuple[tuple[str, str], int]:
    """``((group, sequence), frame)`` of a labelled frame of video ``vi``: through the provenance, or ``recording``."""
    if prov is not None and vi < len(prov):
        p = prov[vi]
        vf = list(p["video_frames"])
        if int(lf.frame_idx) not in vf:
            raise LabelFormatError(
                "labelled frame is not one of the exported frames",
                path=path,
                group=p["group"],
                sequence=p["sequence"],
                expected="a suggested frame",
                found=int(lf.frame_idx),
            )
        return (p["group"], p["sequence"]), int(p["frames"][vf.index(int(lf.frame_idx))])
    if recording is not None:
        return (str(recording[0]), str(recording[1])), int(lf.frame_idx)
    raise LabelFormatError(
        "cannot tell which recording a SLEAP video belongs to",
        path=path,
        expected="a file written by mosaic (provenance) or recording=(group, sequence)",
        found=lf.video.filename,
    )


def read_sleap_labels(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    recording: tuple[str, str] | None = None,
) -> dict[tuple[str, str], tuple[pd.DataFrame, dict[str, Any]]]:
    """User-labelled instances of a SLEAP ``.slp`` → ``{(group, sequence): (keypoint table, meta)}``.

    Videos map to recordings through the file's ``mosaic`` provenance (written by
    :func:`write_sleap_project`), else ``recording`` names the one recording (frame = video frame).
    Tracks become ids in the file's track order; untracked instances get ids after them, numbered
    per frame. Predicted instances are ignored.
    """
    sio = require("sleap_io")
    path = Path(path)
    labels = _load_slp(sio, path)
    nodes = list(labels.skeletons[0].node_names)
    tracks = list(labels.tracks)
    meta = {
        "keypoint_names": nodes,
        "individual_names": {i: t.name for i, t in enumerate(tracks)},
        "source_files": [path.name],
        "src_format": "sleap_labels",
        "fps": fps,
    }
    rec, frm, ids, pts = _user_points(labels, nodes, tracks, recording, path)
    out: dict[tuple[str, str], tuple[pd.DataFrame, dict[str, Any]]] = {}
    if not rec:
        return out
    pts_a = np.asarray(pts, dtype=np.float64)
    frm_a, ids_a = np.asarray(frm, np.int64), np.asarray(ids, np.int64)
    keys = pd.Series([f"{g}\x00{s}" for g, s in rec])
    for k in keys.unique():
        sel = (keys == k).to_numpy()
        g, s = k.split("\x00")
        df = keypoint_table(frm_a[sel], ids_a[sel], pts_a[sel], g, s, fps)
        if df.duplicated(["frame", "id"]).any():
            raise LabelFormatError(
                "a frame has two instances of one track",
                path=path,
                group=g,
                sequence=s,
                expected="one instance per track",
                found="duplicates",
            )
        out[(g, s)] = (df, dict(meta))
    return out


def _load_slp(sio: Any, path: Path) -> Any:
    """The labels of a ``.slp`` file (videos not opened); refuse an unreadable file or one without a skeleton."""
    try:
        labels = sio.load_slp(str(path), open_videos=False)
    except Exception as exc:  # sleap-io raises a variety of h5py/KeyError/ValueError on foreign files
        raise LabelFormatError(
            "not a readable SLEAP labels file", path=path, found=f"{type(exc).__name__}: {exc}"
        ) from exc
    if not labels.skeletons:
        raise LabelFormatError("SLEAP file has no skeleton", path=path, expected="one skeleton", found=0)
    return labels


def _user_points(
    labels: Any, nodes: list[str], tracks: list[Any], recording: tuple[str, str] | None, path: Path
) -> tuple[list[tuple[str, str]], list[int], list[int], list[np.ndarray]]:
    """Recording, frame, id and ``(K, 2)`` points of every user instance (tracks first, then untracked per frame)."""
    prov = (labels.provenance or {}).get("mosaic", {}).get("videos")
    rec, frm, ids, pts = [], [], [], []
    for lf in labels.labeled_frames:  # user-labelled frames only: a few hundred, not the video
        users = list(lf.user_instances)
        if not users:
            continue
        key, f = _sleap_frame_recording(lf, labels.videos.index(lf.video), prov, recording, path)
        untracked = len(tracks)
        for inst in users:
            if inst.track is not None and inst.track in tracks:
                i = tracks.index(inst.track)
            else:
                i, untracked = untracked, untracked + 1
            rec.append(key)
            frm.append(f)
            ids.append(i)
            pts.append(inst.numpy(invisible_as_nan=True)[: len(nodes)])
    return rec, frm, ids, pts
