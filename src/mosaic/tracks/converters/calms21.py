"""CalMS21 files (``.npy`` pickled dict or ``.json``) → one ``trex_v1`` table per sequence.

Layout: ``{group: {sequence: {'keypoints' (T, mice, 2 [x, y], K), 'scores' (T, mice, K),
'annotations' (T,), 'metadata' {...}}}}``. Mouse 0 = resident, 1 = intruder → ``id`` 0/1.
Keypoint k of mouse m becomes ``poseX<k>``/``poseY<k>`` (``poseP<k>`` from ``scores``);
``X``/``Y`` are the centroid (NaN-mean) of the keypoints.

``group_from``: ``'infile'`` (default; the annotator group key inside the file),
``'filename'`` (the index row's group, i.e. the file-level group), or ``'both'`` (the
file-level group, with the in-file group kept in the data). In every mode the table carries
the file-level group in a categorical ``collection`` column and the in-file group in
``source_group``. ``.npy`` files are
pickles: they are read with a restricted unpickler that admits only containers, strings,
numbers and numpy arrays (:func:`mosaic.core.unpickle.load_npy`), so no code in a file runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mosaic.core.errors import ConfigError, MosaicError, TrackFormatError
from mosaic.core.params import Param
from mosaic.core.unpickle import UnsafePickleError, load_npy

from ..table import (
    CALIBRATION_PARAMETERS,
    TrackTable,
    base_meta,
    calibration,
    constant_category,
    pose_table,
)

CALMS21_KEYPOINTS = ("nose", "left_ear", "right_ear", "neck", "left_hip", "right_hip", "tail_base")
GROUP_FROM = ("infile", "filename", "both")
#: CalMS21 is recorded at 30 Hz: the frame rate of its tracks and labels when nothing else says
CALMS21_FPS = 30.0
PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "group_from": Param(
        "infile",
        "Output group: `'infile'` (the annotator group key inside the file), `'filename'` (the "
        "indexed file's group) or `'both'` (the file-level group, the in-file group kept in the data). "
        "Every mode writes the file-level group in a `collection` column and the in-file group in "
        "`source_group`.",
    ),
    "keep_annotations": Param(False, "Keep the per-frame `annotations` as an `annotation` column of the tracks."),
}


def load_calms21(path: str | Path, kind: str | None = None, error: type[MosaicError] = TrackFormatError) -> Any:
    """Load a CalMS21 ``.npy`` (pickled dict) or ``.json`` file.

    ``kind`` is ``'npy'`` or ``'json'`` (default: from the suffix). Unreadable files raise
    ``error`` (labels pass :class:`LabelFormatError`) naming the file; a pickle naming
    anything but containers, numbers and arrays raises
    :class:`~mosaic.core.unpickle.UnsafePickleError` (nothing from it runs).
    """
    path = Path(path)
    kind = kind or ("json" if path.suffix.lower() == ".json" else "npy")
    try:
        if kind == "npy":
            return load_npy(path)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except UnsafePickleError:
        raise
    except Exception as exc:
        raise error(f"not a readable CalMS21 .{kind} file", path=path, found=f"{type(exc).__name__}: {exc}") from exc


def iter_calms21_sequences(
    obj: Any, path: Path, *, error: type[MosaicError] = TrackFormatError, require: tuple[str, ...] = ("keypoints",)
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Yield ``(infile_group, sequence, record)`` of a loaded CalMS21 dict.

    A top-level ``vocabulary`` entry is skipped; records lacking a ``require`` key raise ``error``.
    """
    if not isinstance(obj, Mapping) or not obj:
        raise error(
            "CalMS21 file is not a {group: {sequence: {...}}} mapping",
            path=path,
            expected="dict of groups",
            found=type(obj).__name__ if not isinstance(obj, Mapping) else "empty dict",
        )
    for g, seqs in obj.items():
        if g == "vocabulary":
            continue
        if not isinstance(seqs, Mapping):
            raise error(
                "CalMS21 group is not a mapping of sequences",
                path=path,
                group=str(g),
                expected="dict",
                found=type(seqs).__name__,
            )
        for s, rec in seqs.items():
            if not isinstance(rec, Mapping) or any(k not in rec for k in require):
                raise error(
                    f"CalMS21 sequence lacks {list(require)}",
                    path=path,
                    group=str(g),
                    sequence=str(s),
                    expected="{'keypoints', 'scores', ...}",
                    found=sorted(rec)[:10] if isinstance(rec, Mapping) else type(rec).__name__,
                )
            yield str(g), str(s), rec


def calms21_group(group_from: str, infile_group: str, file_group: str) -> str:
    """The output group of a CalMS21 sequence: the in-file group for ``'infile'``, else the file-level one.

    ``'both'`` names recordings like ``'filename'`` and keeps the in-file group in the data
    (``source_group``).
    """
    return infile_group if group_from == "infile" else file_group


def _keypoints(rec: Mapping[str, Any], ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the (frames, mice, 2, keypoints) array and the (frames, mice, keypoints) scores, if any."""
    try:
        kp = np.asarray(rec["keypoints"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TrackFormatError(
            "CalMS21 keypoints are not numeric", expected="float array (T, mice, 2, K)", found=str(exc), **ctx
        ) from exc
    if kp.ndim != 4 or kp.shape[2] != 2:
        raise TrackFormatError(
            "CalMS21 keypoints have the wrong shape", expected="(frames, mice, 2, keypoints)", found=kp.shape, **ctx
        )
    T, M, _, K = kp.shape
    if T == 0:
        raise TrackFormatError("CalMS21 sequence has no frames", expected="frames > 0", found=kp.shape, **ctx)
    scores = None
    if rec.get("scores") is not None:
        scores = np.asarray(rec["scores"], dtype=np.float64)
        if scores.shape != (T, M, K):
            raise TrackFormatError(
                "CalMS21 scores do not match keypoints", expected=(T, M, K), found=scores.shape, **ctx
            )
    return kp, scores


def _sequence_info(rec: Mapping[str, Any], g: str, M: int, K: int) -> dict[str, Any]:
    """Return the metadata of one sequence (keypoint/individual names, in-file group, source metadata)."""
    names = list(CALMS21_KEYPOINTS) if K == len(CALMS21_KEYPOINTS) else [f"kp{k}" for k in range(K)]
    info = {
        "keypoint_names": names,
        "individual_names": {0: "resident", 1: "intruder"} if M == 2 else {m: f"mouse{m}" for m in range(M)},
        "infile_group": g,
        "position": "centroid (nan-mean) of keypoints",
    }
    md = rec.get("metadata")
    if isinstance(md, Mapping):
        info["source_metadata"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in md.items()}
    return info


def _one(
    path: Path,
    g: str,
    s: str,
    rec: Mapping[str, Any],
    fps: float,
    out_group: str,
    collection: str,
    keep_annotations: bool,
) -> tuple[Any, dict]:
    ctx = dict(path=path, group=g, sequence=s)
    kp, scores = _keypoints(rec, ctx)
    T, M, _, K = kp.shape
    coords = kp.transpose(0, 1, 3, 2).reshape(T * M, K, 2)  # rows ordered (frame, mouse)
    sc = scores.reshape(T * M, K) if scores is not None else None
    extra = {}
    if keep_annotations and rec.get("annotations") is not None:
        ann = np.asarray(rec["annotations"])
        if ann.shape != (T,):
            raise TrackFormatError("CalMS21 annotations do not match keypoints", expected=(T,), found=ann.shape, **ctx)
        extra["annotation"] = np.repeat(ann.astype(np.int64), M)
    frame = np.repeat(np.arange(T, dtype=np.int64), M)
    ids = np.tile(np.arange(M, dtype=np.int64), T)
    df = pose_table(frame, ids, coords, group=out_group, sequence=s, fps=fps, scores=sc, extra=extra, sort=False)
    df["collection"] = constant_category(collection, len(df))
    df["source_group"] = constant_category(g, len(df))
    return df, _sequence_info(rec, g, M, K)


def _convert(
    paths: Sequence[Path], params: Mapping[str, Any], group: str, sequence: str, kind: str
) -> list[TrackTable]:
    if len(paths) != 1:
        raise ConfigError("a CalMS21 conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    group_from = params.get("group_from") or "infile"
    if group_from not in GROUP_FROM:
        raise ConfigError("unknown CalMS21 group_from", path=path, expected=list(GROUP_FROM), found=group_from)
    calib = calibration(params, path=path, fps_default=CALMS21_FPS)
    fps = calib["fps"]
    file_group = group or path.stem
    items = list(iter_calms21_sequences(load_calms21(path, kind), path))
    if sequence:
        items = [it for it in items if it[1] == sequence]
        if not items:
            raise TrackFormatError(
                "sequence not found in CalMS21 file",
                path=path,
                sequence=sequence,
                expected="a sequence key of the file",
            )
    out: list[TrackTable] = []
    seen: dict[tuple[str, str], str] = {}
    for g, s, rec in items:
        out_group = calms21_group(group_from, g, file_group)
        key = (out_group, s)
        if key in seen:
            raise TrackFormatError(
                "two CalMS21 sequences map to the same (group, sequence)",
                path=path,
                group=out_group,
                sequence=s,
                expected="unique names",
                found=f"in-file groups {seen[key]!r} and {g!r}",
                hint="use group_from='infile'",
            )
        seen[key] = g
        df, info = _one(path, g, s, rec, fps, out_group, file_group, bool(params.get("keep_annotations", False)))
        meta = base_meta(f"calms21_{kind}", [path], **calib, **info)
        out.append(TrackTable(out_group, s, df, meta))
    return out


def convert_npy(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert a CalMS21 ``.npy`` file (every sequence, or only ``sequence`` when non-empty)."""
    return _convert(paths, params, group, sequence, "npy")


def convert_json(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert a CalMS21 ``.json`` file (every sequence, or only ``sequence`` when non-empty)."""
    return _convert(paths, params, group, sequence, "json")
