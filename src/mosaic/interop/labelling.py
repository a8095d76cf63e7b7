"""Pose-labelling projects from a frame run, and labelled frames back as keypoint labels.

Out (from the ``run_info.json`` manifests of a frame run, see :func:`mosaic.media.get_frame_manifests`):

* **DeepLabCut**: ``<project>/labeled-data/<video>/img<NNN>.png`` (the video's own frame number,
  zero-padded to the width of the video's frame count, as DeepLabCut names extracted frames), an
  empty ``CollectedData_<scorer>.csv``/``.h5`` per video in DeepLabCut's layout (header rows
  ``scorer / [individuals /] bodyparts / coords``, row index ``('labeled-data', <video>, <image>)``,
  NaN for unlabelled points; H5 key ``df_with_missing``), a ``config.yaml`` naming scorer, body
  parts, individuals and videos, and ``mosaic_frames.csv`` per folder mapping each image to its
  recording and frame.
* **SLEAP** (via ``sleap-io``): a ``.slp`` labels file with the skeleton, one video per source video
  (or the run's PNGs as an image sequence when the video is not found) and one *suggestion* per
  sampled frame; the frame ↔ recording map is kept in the file's provenance (``mosaic``).

Back: a labelled ``CollectedData_*`` (CSV or H5) or a SLEAP ``.slp`` (user instances only) becomes
per recording a keypoint-label table in the ``trex_v1`` layout — one row per labelled
(frame, individual) with ``poseX<k>``/``poseY<k>`` (NaN where a point is not labelled) and
``X``/``Y`` their NaN-mean.

The module is long (over 400 lines) because both tools, in both directions, share the frame map
of a run and the per-recording split of labelled points; each direction is a short public
function over named helpers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.core.limits import check_text_records
from mosaic.core.safe_names import sequence_key
from mosaic.tracks.table import build_table, nan_centroid, pose_columns

from ._pose import require

FRAME_MAP = "mosaic_frames.csv"
_DIGITS = re.compile(r"(\d+)(?=\.[A-Za-z]+$)")


def run_frames(manifests: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per sampled frame of a run: ``group, sequence, frame, png, video, video_path, video_frame, video_n_frames``."""
    rows = []
    for info in manifests:
        d = Path(info["frames_dir"])
        sources = {Path(str(s.get("abs_path", ""))).name: s for s in info.get("sources") or []}
        for f in info.get("frames") or []:
            src = sources.get(str(f.get("video")), {})
            rows.append(
                {
                    "group": str(info["group"]),
                    "sequence": str(info["sequence"]),
                    "frame": int(f["index"]),
                    "png": str(d / f["file"]),
                    "video": str(f.get("video") or f"{info['sequence']}"),
                    "video_path": str(src.get("abs_path", "")),
                    "video_frame": int(f.get("video_frame", f["index"])),
                    "video_n_frames": int(src.get("n_frames") or info.get("total_frames") or 0),
                    "width": src.get("width"),
                    "height": src.get("height"),
                }
            )
    if not rows:
        raise ConfigError(
            "the frame run has no frames", expected="a frame run with sampled frames (extract_frames)", found=0
        )
    return pd.DataFrame(rows)


def _check_names(kind: str, names: Sequence[str]) -> list[str]:
    out = [str(n) for n in names]
    if not out or len(set(out)) != len(out) or any(not n or n != n.strip() for n in out):
        raise ConfigError(f"{kind} must be unique non-empty names", expected="e.g. ['snout', 'tail_base']", found=out)
    return out


def dlc_columns(
    scorer: str,
    bodyparts: Sequence[str],
    individuals: Sequence[str] | None = None,
    unique_bodyparts: Sequence[str] = (),
) -> pd.MultiIndex:
    """DeepLabCut's column index: (scorer, [individual,] bodypart, x|y); unique body parts under ``single``."""
    if individuals is None:
        tuples = [(scorer, b, c) for b in bodyparts for c in ("x", "y")]
        return pd.MultiIndex.from_tuples(tuples, names=["scorer", "bodyparts", "coords"])
    tuples = [(scorer, i, b, c) for i in individuals for b in bodyparts for c in ("x", "y")]
    tuples += [(scorer, "single", b, c) for b in unique_bodyparts for c in ("x", "y")]
    return pd.MultiIndex.from_tuples(tuples, names=["scorer", "individuals", "bodyparts", "coords"])


def _folder_names(frames: pd.DataFrame) -> dict[tuple[str, str, str], str]:
    """labeled-data folder per (group, sequence, video): the video stem, made unique by the recording key on clashes."""
    keys = frames[["group", "sequence", "video"]].drop_duplicates().itertuples(index=False)
    keys = [tuple(k) for k in keys]
    stems = [Path(v).stem for _, _, v in keys]
    out = {}
    for k, stem in zip(keys, stems, strict=True):
        out[k] = stem if stems.count(stem) == 1 else f"{stem}__{sequence_key(k[0], k[1])}"
    return out


def _write_dlc_folder(
    project: Path,
    folder: str,
    sub: pd.DataFrame,
    recording: tuple[str, str],
    cols: pd.MultiIndex,
    scorer: str,
    video_root: str | os.PathLike | None,
    overwrite: bool,
) -> tuple[str, dict[str, str]]:
    """One ``labeled-data/<folder>``: images, empty CollectedData (kept unless ``overwrite``), frame map.

    Returns the video's path and its ``video_sets`` entry.
    """
    g, s = recording
    out = project / "labeled-data" / folder
    width = max(len(str(max(int(sub["video_n_frames"].max()) - 1, 0))), 1)
    images = [f"img{int(k):0{width}d}.png" for k in sub["video_frame"]]
    for png, img in zip(sub["png"], images, strict=True):
        atomic_write_bytes(out / img, Path(png).read_bytes(), durable=False)
    index = pd.MultiIndex.from_tuples([("labeled-data", folder, img) for img in images])
    table = pd.DataFrame(np.full((len(images), len(cols)), np.nan), index=index, columns=cols)
    stem = out / f"CollectedData_{scorer}"
    if overwrite or not (stem.with_suffix(".h5").exists() or stem.with_suffix(".csv").exists()):
        with atomic_path(stem.with_suffix(".h5")) as tmp:
            table.to_hdf(tmp, key="df_with_missing", mode="w")
        with atomic_path(stem.with_suffix(".csv")) as tmp:
            table.to_csv(tmp)
    fmap = pd.DataFrame(
        {
            "image": images,
            "group": g,
            "sequence": s,
            "frame": sub["frame"].to_numpy(),
            "video_frame": sub["video_frame"].to_numpy(),
        }
    )
    with atomic_path(out / FRAME_MAP) as tmp:
        fmap.to_csv(tmp, index=False)
    vp = str(sub["video_path"].iloc[0]) or f"{folder}.mp4"
    if video_root is not None and not Path(vp).is_absolute():
        vp = str(Path(video_root) / vp)
    w, h = sub["width"].iloc[0], sub["height"].iloc[0]
    return vp, {"crop": f"0, {int(w) if w else 0}, 0, {int(h) if h else 0}"}


def _dlc_config(
    task: str,
    scorer: str,
    project: Path,
    video_sets: dict[str, dict[str, str]],
    bodyparts: list[str],
    individuals: list[str] | None,
    unique_bodyparts: Sequence[str],
    frames: pd.DataFrame,
) -> dict[str, Any]:
    """The project's ``config.yaml`` content."""
    config = {
        "Task": task,
        "scorer": scorer,
        "date": "",
        "multianimalproject": individuals is not None,
        "identity": None,
        "project_path": str(project.resolve()),
        "video_sets": video_sets,
        "bodyparts": "MULTI!" if individuals is not None else list(bodyparts),
        "start": 0,
        "stop": 1,
        "numframes2pick": int(frames.groupby(["group", "sequence"]).size().max()),
        "skeleton": [],
        "skeleton_color": "black",
        "pcutoff": 0.6,
        "dotsize": 12,
        "alphavalue": 0.7,
        "colormap": "rainbow",
        "TrainingFraction": [0.95],
        "iteration": 0,
        "default_net_type": "resnet_50",
        "snapshotindex": -1,
        "batch_size": 1,
        "cropping": False,
        "x1": 0,
        "x2": 640,
        "y1": 0,
        "y2": 480,
        "corner2move2": [50, 50],
        "move2corner": True,
    }
    if individuals is not None:
        config.update(
            individuals=list(individuals), uniquebodyparts=list(unique_bodyparts), multianimalbodyparts=list(bodyparts)
        )
    return config


def write_dlc_project(
    manifests: Sequence[Mapping[str, Any]],
    project_dir: str | os.PathLike,
    *,
    bodyparts: Sequence[str],
    scorer: str = "mosaic",
    individuals: Sequence[str] | None = None,
    unique_bodyparts: Sequence[str] = (),
    task: str = "mosaic",
    video_root: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a DeepLabCut labelling project for the frames of a run; return its ``config.yaml``.

    Rerunning keeps existing ``CollectedData_<scorer>`` files (an annotator's work) unless ``overwrite``.

    Parameters
    ----------
    bodyparts
        Body parts to label (per individual in a multi-animal project).
    individuals
        Names of the animals for a multi-animal project (4 header rows); ``None``: single animal (3 rows).
    unique_bodyparts
        Multi-animal only: points that belong to no animal (DeepLabCut's ``single`` individual).
    video_root
        Folder the ``video_path`` of the run's sources is relative to (written into ``video_sets``).
    """
    import yaml

    bodyparts = _check_names("bodyparts", bodyparts)
    if individuals is not None:
        individuals = _check_names("individuals", individuals)
    elif unique_bodyparts:
        raise ConfigError("unique_bodyparts need a multi-animal project", expected="individuals=[...]", found=None)
    if not scorer or "/" in scorer or scorer != scorer.strip():
        raise ConfigError("invalid DeepLabCut scorer name", expected="a plain name such as 'alice'", found=repr(scorer))
    project = Path(project_dir)
    frames = run_frames(manifests)
    folders = _folder_names(frames)
    cols = dlc_columns(scorer, bodyparts, individuals, unique_bodyparts)
    video_sets: dict[str, dict[str, str]] = {}
    for (g, s, v), sub in frames.groupby(["group", "sequence", "video"], sort=True):
        vp, entry = _write_dlc_folder(project, folders[(g, s, v)], sub, (g, s), cols, scorer, video_root, overwrite)
        video_sets[vp] = entry
    config = _dlc_config(task, scorer, project, video_sets, bodyparts, individuals, unique_bodyparts, frames)
    cfg = project / "config.yaml"
    atomic_write_text(cfg, yaml.safe_dump(config, sort_keys=False))
    return cfg


def _read_collected(path: Path) -> pd.DataFrame:
    """A CollectedData file (CSV with 3/4 header rows and 1 or 3 index columns, or H5) as pandas reads it."""
    if path.suffix.lower() in (".h5", ".hdf5"):
        try:
            return pd.read_hdf(path)
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise LabelFormatError(
                "not a readable DeepLabCut CollectedData H5", path=path, found=str(exc).splitlines()[0]
            ) from exc
    check_text_records(path, "DeepLabCut CollectedData CSV")
    try:
        head = pd.read_csv(path, header=None, nrows=4, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise LabelFormatError(
            "not a readable DeepLabCut CollectedData CSV", path=path, found=str(exc).splitlines()[0] if str(exc) else ""
        ) from exc
    first = [str(v).strip() for v in head.iloc[:, 0]]
    if not first or first[0] != "scorer":
        raise LabelFormatError(
            "not a DeepLabCut CollectedData CSV", path=path, expected="first header cell 'scorer'", found=first[:4]
        )
    n_header = 4 if len(first) > 1 and first[1] == "individuals" else 3
    n_index = 1
    while n_index < head.shape[1] and head.iloc[0, n_index] == "":
        n_index += 1
    try:
        return pd.read_csv(path, header=list(range(n_header)), index_col=list(range(n_index)))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, IndexError) as exc:
        raise LabelFormatError(
            "DeepLabCut CollectedData CSV is malformed",
            path=path,
            expected=f"{n_header} header rows and data rows",
            found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from exc


def _image_keys(index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(folder, image name) per row of a CollectedData index (3-level tuples or 'labeled-data/<v>/<img>' strings)."""
    if isinstance(index, pd.MultiIndex):
        folder = index.get_level_values(index.nlevels - 2).astype(str).to_numpy()
        image = index.get_level_values(index.nlevels - 1).astype(str).to_numpy()
    else:
        parts = [re.split(r"[\\/]", str(p)) for p in index]
        folder = np.array([p[-2] if len(p) > 1 else "" for p in parts])
        image = np.array([p[-1] for p in parts])
    return folder, image


def _image_recordings(
    path: Path, image: np.ndarray, frame_map: pd.DataFrame | None, recording: tuple[str, str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group, sequence and frame of each labelled image: the frame map (given or beside ``path``), else ``recording``."""
    if frame_map is None and (path.parent / FRAME_MAP).is_file():
        frame_map = pd.read_csv(
            path.parent / FRAME_MAP, dtype={"image": str, "group": str, "sequence": str}, keep_default_na=False
        )
    if frame_map is not None:
        fm = frame_map.drop_duplicates("image").set_index("image")
        missing = sorted(set(image) - set(fm.index))
        if missing:
            raise LabelFormatError(
                "labelled images missing from the frame map",
                path=path,
                expected="every image in mosaic_frames.csv",
                found=missing[:5],
            )
        grp = fm.loc[image, "group"].astype(str).to_numpy()
        seq = fm.loc[image, "sequence"].astype(str).to_numpy()
        frm = fm.loc[image, "frame"].to_numpy(np.int64)
    elif recording is not None:
        m = [_DIGITS.search(i) for i in image]
        if any(x is None for x in m):
            raise LabelFormatError(
                "image names carry no frame number",
                path=path,
                expected="img<frame>.png",
                found=[i for i, x in zip(image, m, strict=True) if x is None][:5],
            )
        grp = np.full(len(image), str(recording[0]), dtype=object)
        seq = np.full(len(image), str(recording[1]), dtype=object)
        frm = np.array([int(x.group(1)) for x in m], np.int64)
    else:
        raise LabelFormatError(
            "cannot tell which recording the labelled images belong to",
            path=path,
            expected=f"{FRAME_MAP} beside the file, frame_map=... or recording=(group, sequence)",
            found="none",
        )
    return grp, seq, frm


def read_dlc_labels(
    path: str | os.PathLike,
    *,
    frame_map: pd.DataFrame | None = None,
    recording: tuple[str, str] | None = None,
    fps: float | None = None,
) -> dict[tuple[str, str], tuple[pd.DataFrame, dict[str, Any]]]:
    """Labelled DeepLabCut ``CollectedData_*`` → ``{(group, sequence): (keypoint table, meta)}``.

    Images map to recordings and frames through ``frame_map`` (columns ``image, group, sequence,
    frame``), else the ``mosaic_frames.csv`` beside the file; else ``recording`` names the one
    recording and the frame is the image's number (``img0042.png`` → 42). Individuals become ids in
    column order (``single`` included); rows with no labelled point are left out.

    Raises
    ------
    LabelFormatError
        Not a CollectedData table, x/y columns missing, or an image absent from the frame map.
    """
    path = Path(path)
    df = _read_collected(path)
    names = list(df.columns.names)
    if names[-1] != "coords" or "bodyparts" not in names:
        raise LabelFormatError(
            "not DeepLabCut labels (column levels)",
            path=path,
            expected="scorer/[individuals/]bodyparts/coords",
            found=names,
        )
    cols = df.columns
    inds = list(dict.fromkeys(cols.get_level_values("individuals"))) if "individuals" in names else ["individual0"]
    parts = list(dict.fromkeys(cols.get_level_values("bodyparts")))
    try:
        values = df.to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise LabelFormatError(
            "DeepLabCut labels hold non-numeric coordinates",
            path=path,
            expected="numbers or empty cells",
            found=str(exc).splitlines()[0],
        ) from exc
    R, N, K = len(df), len(inds), len(parts)
    coords = np.full((R, N, K, 2), np.nan)
    ind_of = (
        np.array([inds.index(i) for i in cols.get_level_values("individuals")])
        if "individuals" in names
        else np.zeros(len(cols), int)
    )
    kp_of = np.array([parts.index(b) for b in cols.get_level_values("bodyparts")])
    c_of = cols.get_level_values("coords").astype(str)
    for c, axis in (("x", 0), ("y", 1)):
        sel = np.flatnonzero(c_of == c)
        if not len(sel):
            raise LabelFormatError(
                "DeepLabCut labels lack a coordinate", path=path, expected="x and y columns", found=sorted(set(c_of))
            )
        coords[:, ind_of[sel], kp_of[sel], axis] = values[:, sel]
    grp, seq, frm = _image_recordings(path, _image_keys(df.index)[1], frame_map, recording)
    meta = {
        "keypoint_names": parts,
        "individual_names": dict(enumerate(inds)),
        "source_files": [path.name],
        "src_format": "dlc_labels",
        "scorer": str(cols.get_level_values("scorer")[0]),
        "fps": fps,
    }
    return _per_recording(grp, seq, frm, coords, meta, fps, path)


def _per_recording(
    grp, seq, frm, coords, meta, fps, path
) -> dict[tuple[str, str], tuple[pd.DataFrame, dict[str, Any]]]:
    """Rows (image × individual) with at least one labelled point, split per recording."""
    R, N, K, _ = coords.shape
    flat = coords.reshape(R * N, K, 2)
    keep = np.isfinite(flat).any(axis=(1, 2))
    out: dict[tuple[str, str], tuple[pd.DataFrame, dict[str, Any]]] = {}
    g_rows, s_rows = np.repeat(np.asarray(grp, dtype=object), N), np.repeat(np.asarray(seq, dtype=object), N)
    f_rows, i_rows = np.repeat(frm, N), np.tile(np.arange(N, dtype=np.int64), R)
    keys = pd.DataFrame({"g": g_rows, "s": s_rows})[keep].drop_duplicates()
    for g, s in keys.itertuples(index=False):
        sel = keep & (g_rows == g) & (s_rows == s)
        pts = flat[sel]
        ff, ii = f_rows[sel], i_rows[sel]
        if len(np.unique(ff * N + ii)) != len(ff):
            raise LabelFormatError(
                "a frame is labelled twice for one recording",
                path=path,
                group=g,
                sequence=s,
                expected="one image per frame",
                found="duplicates",
            )
        df = build_table(
            ff,
            ii,
            nan_centroid(pts[:, :, 0]),
            nan_centroid(pts[:, :, 1]),
            group=g,
            sequence=s,
            fps=fps,
            time=None if fps else np.full(len(ff), np.nan),
            extra=pose_columns(pts),
        )
        out[(str(g), str(s))] = (df, dict(meta))
    return out


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
    bodyparts = _check_names("bodyparts", bodyparts)
    bad = [e for e in edges if len(e) != 2 or e[0] not in bodyparts or e[1] not in bodyparts]
    if bad:
        raise ConfigError("skeleton edges must join two body parts", expected=bodyparts, found=bad)
    skeleton = sio.Skeleton(nodes=list(bodyparts), edges=[list(e) for e in edges], name="mosaic")
    frames = run_frames(manifests)
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
    labels = sio.Labels(videos=videos, skeletons=[skeleton], suggestions=suggestions)
    labels.provenance["mosaic"] = {"videos": prov}
    _save_slp(sio, labels, path)
    return path


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
    try:
        labels = sio.load_slp(str(path), open_videos=False)
    except Exception as exc:  # sleap-io raises a variety of h5py/KeyError/ValueError on foreign files
        raise LabelFormatError(
            "not a readable SLEAP labels file", path=path, found=f"{type(exc).__name__}: {exc}"
        ) from exc
    if not labels.skeletons:
        raise LabelFormatError("SLEAP file has no skeleton", path=path, expected="one skeleton", found=0)
    nodes = list(labels.skeletons[0].node_names)
    prov = (labels.provenance or {}).get("mosaic", {}).get("videos")
    tracks = list(labels.tracks)
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
    meta = {
        "keypoint_names": nodes,
        "individual_names": {i: t.name for i, t in enumerate(tracks)},
        "source_files": [path.name],
        "src_format": "sleap_labels",
        "fps": fps,
    }
    out: dict[tuple[str, str], tuple[pd.DataFrame, dict[str, Any]]] = {}
    if not rec:
        return out
    pts_a = np.asarray(pts, dtype=np.float64)
    frm_a, ids_a = np.asarray(frm, np.int64), np.asarray(ids, np.int64)
    keys = pd.Series([f"{g}\x00{s}" for g, s in rec])
    for k in keys.unique():
        sel = (keys == k).to_numpy()
        g, s = k.split("\x00")
        df = build_table(
            frm_a[sel],
            ids_a[sel],
            nan_centroid(pts_a[sel, :, 0]),
            nan_centroid(pts_a[sel, :, 1]),
            group=g,
            sequence=s,
            fps=fps,
            time=None if fps else np.full(int(sel.sum()), np.nan),
            extra=pose_columns(pts_a[sel]),
        )
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
