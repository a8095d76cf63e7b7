"""``calms21_npy`` / ``calms21_json``: CalMS21 per-frame annotations → ``individual_pair_v1``.

Layout: ``{group: {sequence: {'keypoints', 'scores', 'annotations' (T,), 'metadata' {'vocab':
{name: id}}}}}`` (``.npy`` = pickled dict, ``.json`` = the same as JSON). Each frame ``t`` becomes
two rows, the resident–intruder pair in both directions (``[0, 1]`` and ``[1, 0]``), with label
``annotations[t]``. The vocabulary is the sequence's ``metadata['vocab']`` (or a top-level
``vocabulary``), else the task-1 vocabulary ``attack, investigation, mount, other`` (0..3).

Parameters (``params``): see :data:`PARAMETERS` (also rendered in the documentation's format
reference). Every label file keeps the in-file group (``source_group``) and the file-level
group (``collection``) as extra arrays.

``.npy`` files are pickles, read with a restricted unpickler (containers, numbers and numpy
arrays only; see :func:`mosaic.core.unpickle.load_npy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, IndexFileError, LabelFormatError
from mosaic.core.indexes import TRACKS_RAW_INDEX, read_index
from mosaic.core.params import Param, defaults
from mosaic.core.validate import check_physical
from mosaic.tracks.converters.calms21 import CALMS21_FPS, calms21_group, iter_calms21_sequences, load_calms21
from mosaic.tracks.table import PARAM_SOURCES_KEY, resolve_number

from ..io import LabelSet
from ..registry import ConverterOutput

GROUP_FROM = ("infile", "filename", "both")
TASK1_VOCAB = {"attack": 0, "investigation": 1, "mount": 2, "other": 3}
PARAMETERS: dict[str, Param] = {
    "paths": Param(None, "CalMS21 files; default: the `calms21_npy`/`calms21_json` rows of `tracks_raw/index.csv`."),
    "group_from": Param(
        "infile",
        "Same naming as the CalMS21 tracks converter: `'infile'` uses the annotator group key "
        "inside the file; `'filename'` and `'both'` the file-level group (`group`, else the file's "
        "group in `tracks_raw/index.csv`, else the file stem).",
    ),
    "group": Param(None, "File-level group for `group_from='filename'`/`'both'`."),
    "fps": Param(
        None,
        "Frame rate; default the dataset's `meta.fps_default`, else 30 (CalMS21's rate, the same rule as "
        "the tracks converter).",
    ),
    "vocab": Param(None, "`{label name: id}` overriding the file's vocabulary."),
    "solo_labels": Param(
        [], "Labels stored as the resident's individual events `[0, -1]` instead of the pair (e.g. `['other']`)."
    ),
}
DEFAULTS: dict[str, Any] = defaults(PARAMETERS)
_FORMATS = ("calms21_npy", "calms21_json")


def indexed_calms21_files(ds: DatasetCore) -> list[tuple[Path, str]]:
    """CalMS21 files of ``tracks_raw/index.csv`` as ``[(absolute path, index group)]``, sorted."""
    try:
        df = read_index(ds.get_root("tracks_raw") / "index.csv", TRACKS_RAW_INDEX, missing_ok=True)
    except IndexFileError:
        return []
    rows = df[df["src_format"].isin(_FORMATS)]
    seen: dict[Path, str] = {}
    for p, g in zip(rows["abs_path"], rows["group"]):
        seen.setdefault(ds.resolve_path(p), g)
    return sorted(seen.items())


def _vocab(rec: Mapping[str, Any], top: Any, override: Mapping[str, int] | None) -> dict[str, int]:
    if override:
        return {str(k): int(v) for k, v in override.items()}
    md = rec.get("metadata")
    if isinstance(md, Mapping) and isinstance(md.get("vocab"), Mapping) and md["vocab"]:
        return {str(k): int(v) for k, v in md["vocab"].items()}
    if isinstance(top, Mapping) and "vocabulary" in top:
        v = top["vocabulary"]
        if isinstance(v, Mapping):
            return {str(k): int(x) for k, x in v.items()}
        return {str(n): i for i, n in enumerate(v)}
    return dict(TASK1_VOCAB)


def _input_files(ds: DatasetCore, p: Mapping[str, Any]) -> list[tuple[Path, str | None]]:
    """(file, index group) of the CalMS21 files: params ``paths``, else the indexed ones."""
    if p["paths"] is not None:
        paths = [p["paths"]] if isinstance(p["paths"], (str, Path)) else list(p["paths"])
        return [(ds.resolve_path(x), None) for x in paths]
    files = indexed_calms21_files(ds)
    if not files:
        raise ConfigError(
            "no CalMS21 files: none in tracks_raw/index.csv and no params 'paths'",
            expected="params paths=[...] or an indexed calms21_npy/calms21_json file",
        )
    return files


def _frame_annotations(ann: Any, rec: Mapping[str, Any], path: Path, group: str, s: str) -> np.ndarray:
    """The annotations of one sequence as int64 (frames,), checked against its keypoints' length."""
    try:
        ann = np.asarray(ann)
        ok = ann.ndim == 1 and (
            np.issubdtype(ann.dtype, np.integer)
            or (np.issubdtype(ann.dtype, np.floating) and np.all(ann == np.round(ann)))
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise LabelFormatError(
            "CalMS21 annotations must be one integer per frame",
            path=path,
            group=group,
            sequence=s,
            expected="int (frames,)",
            found=f"{getattr(ann, 'dtype', type(ann))} {getattr(ann, 'shape', '')}",
        )
    ann = ann.astype(np.int64)
    kp = rec.get("keypoints")
    if kp is not None and len(kp) != len(ann):
        raise LabelFormatError(
            "CalMS21 annotations and keypoints differ in length",
            path=path,
            group=group,
            sequence=s,
            expected=f"{len(kp)} annotations (one per keypoint frame)",
            found=len(ann),
        )
    return ann


def _pair_events(ann: np.ndarray, solo_ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, labels, ids) rows: the pair in both directions, or ``[0, -1]`` for solo labels."""
    solo = np.isin(ann, solo_ids)
    pair_t = np.flatnonzero(~solo)
    solo_t = np.flatnonzero(solo)
    frames = np.concatenate([np.repeat(pair_t, 2), solo_t]).astype(np.int32)
    labels = np.concatenate([np.repeat(ann[pair_t], 2), ann[solo_t]]).astype(np.int32)
    ids = np.concatenate(
        [
            np.tile(np.array([[0, 1], [1, 0]], np.int32), (len(pair_t), 1)),
            np.tile(np.array([[0, -1]], np.int32), (len(solo_t), 1)),
        ]
    ).reshape(-1, 2)
    return frames, labels, ids


def _label_set(
    ds: DatasetCore,
    obj: Any,
    rec: Mapping[str, Any],
    path: Path,
    g: Any,
    s: str,
    group: str,
    file_group: str,
    p: Mapping[str, Any],
    fps: float,
) -> LabelSet:
    """The label set of one annotated CalMS21 sequence."""
    ann = _frame_annotations(rec.get("annotations"), rec, path, group, s)
    vocab = _vocab(rec, obj, p["vocab"])
    ids_sorted = sorted(set(vocab.values()) | {int(x) for x in np.unique(ann)})
    id_to_name = {v: k for k, v in vocab.items()}
    frames, labels, ids = _pair_events(ann, [vocab[n] for n in (p["solo_labels"] or []) if n in vocab])
    return LabelSet(
        group=group,
        sequence=s,
        frames=frames,
        labels=labels,
        individual_ids=ids,
        label_ids=np.array(ids_sorted, np.int32),
        label_names=np.array([id_to_name.get(i, f"label_{i}") for i in ids_sorted]),
        fps=float(fps),
        n_frames=len(ann),
        extra={
            "source_group": str(g),
            "collection": str(file_group),
            "source_files": [ds.relative_path(path)],
        },
    )


def _resolved(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` over the defaults, checked (unknown keys, physical values, ``group_from``)."""
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ConfigError("unknown calms21 parameters", expected=sorted(DEFAULTS), found=unknown)
    check_physical(params, where="the calms21 label converter")
    p = {**DEFAULTS, **params}
    if p["group_from"] not in GROUP_FROM:
        raise ConfigError("unknown CalMS21 group_from", expected=list(GROUP_FROM), found=p["group_from"])
    return p


def split(ds: DatasetCore, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One task per CalMS21 file (a file may hold many sequences): ``params`` naming that file and its group.

    A file found through ``tracks_raw/index.csv`` keeps its index group as the file-level ``group``
    (what :func:`convert` would use for it), unless ``params`` sets one.
    """
    p = _resolved(params)
    tasks = []
    for path, index_group in _input_files(ds, p):
        if not path.exists():
            raise ConfigError("CalMS21 file not found", path=path)
        tasks.append({**dict(params), "paths": [str(path)], "group": p["group"] or index_group})
    return tasks


def convert(ds: DatasetCore, kind: str, params: Mapping[str, Any]) -> ConverterOutput:
    """Convert the annotations of every sequence of the CalMS21 files into label sets."""
    p = _resolved(params)
    files = _input_files(ds, p)
    meta = ds.meta or {}
    default = meta.get("fps_default", meta.get("fps"))
    fps, _ = resolve_number(
        "fps",
        None,
        {"fps": default, PARAM_SOURCES_KEY: {"fps": "dataset"}} if p["fps"] is None else {"fps": p["fps"]},
        format_default=CALMS21_FPS,
    )
    out = ConverterOutput(sources=[str(path) for path, _ in files])
    seen: dict[tuple[str, str], str] = {}
    for path, index_group in files:
        if not path.exists():
            raise ConfigError("CalMS21 file not found", path=path)
        obj = load_calms21(path, error=LabelFormatError)
        file_group = p["group"] or index_group or path.stem
        for g, s, rec in iter_calms21_sequences(obj, path, error=LabelFormatError, require=()):
            group = calms21_group(p["group_from"], g, file_group)
            if (group, s) in seen:
                raise LabelFormatError(
                    "two CalMS21 sequences map to the same (group, sequence)",
                    path=path,
                    group=group,
                    sequence=s,
                    expected="unique names",
                    found=f"from {seen[(group, s)]} and {path}",
                    hint="use group_from='infile'",
                )
            seen[(group, s)] = str(path)
            if rec.get("annotations") is None:
                out.issues.append(
                    {
                        "file": str(path),
                        "issue": "no_annotations",
                        "group": group,
                        "sequence": s,
                        "message": "sequence has no 'annotations' (unlabelled); skipped",
                    }
                )
                continue
            out.label_sets.append(_label_set(ds, obj, rec, path, g, s, group, file_group, p, fps))
    return out
