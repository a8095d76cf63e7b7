"""DeepLabCut labelling projects from a frame run, and labelled ``CollectedData_*`` files back.

Out: ``<project>/labeled-data/<video>/img<NNN>.png`` (the video's own frame number, zero-padded
to the width of the video's frame count, as DeepLabCut names extracted frames), an empty
``CollectedData_<scorer>.csv``/``.h5`` per video in DeepLabCut's layout (header rows
``scorer / [individuals /] bodyparts / coords``, row index ``('labeled-data', <video>, <image>)``,
NaN for unlabelled points; H5 key ``df_with_missing``), a ``config.yaml`` naming scorer, body
parts, individuals and videos, and ``mosaic_frames.csv`` per folder mapping each image to its
recording and frame.

Back: a labelled ``CollectedData_*`` (CSV or H5) becomes per recording a keypoint-label table in
the ``trex_v1`` layout (see :func:`mosaic.interop.frame_run.keypoint_table`).
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

from .frame_run import FRAME_MAP, check_names, keypoint_table, run_frames

_DIGITS = re.compile(r"(\d+)(?=\.[A-Za-z]+$)")


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

    bodyparts = check_names("bodyparts", bodyparts)
    if individuals is not None:
        individuals = check_names("individuals", individuals)
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
    coords, inds, parts = _dlc_coords(df, path)
    grp, seq, frm = _image_recordings(path, _image_keys(df.index)[1], frame_map, recording)
    meta = {
        "keypoint_names": parts,
        "individual_names": dict(enumerate(inds)),
        "source_files": [path.name],
        "src_format": "dlc_labels",
        "scorer": str(df.columns.get_level_values("scorer")[0]),
        "fps": fps,
    }
    return _per_recording(grp, seq, frm, coords, meta, fps, path)


def _dlc_coords(df: pd.DataFrame, path: Path) -> tuple[np.ndarray, list[str], list[str]]:
    """A CollectedData table as ``(R, N, K, 2)`` coordinates, with its individuals and body parts in column order."""
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
    return coords, inds, parts


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
        out[(str(g), str(s))] = (keypoint_table(ff, ii, pts, g, s, fps), dict(meta))
    return out
