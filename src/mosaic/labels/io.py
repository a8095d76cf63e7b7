"""Reading and writing ``individual_pair_v1`` label files and their index.

Files live at ``labels/<kind>/<group_safe>__<sequence_safe>.npz`` with the index
``labels/<kind>/index.csv`` (:data:`~mosaic.labels.schema.LABELS_INDEX`).
"""
from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_open
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import LabelFormatError
from mosaic.core.indexes import read_index, upsert_index
from mosaic.core.limits import check_npz
from mosaic.core.paths import check_regular_file
from mosaic.core.progress import progress
from mosaic.core.safe_names import path_in_root, sequence_key, to_safe_name

from .schema import LABEL_FORMAT, LABELS_INDEX, NPZ_KEYS, validate_label_arrays


@dataclass
class LabelSet:
    """The labels of one recording in ``individual_pair_v1`` (arrays as in the npz).

    ``n_frames`` is the recording length when known (index bookkeeping only; not stored in the npz).
    """

    group: str
    sequence: str
    frames: np.ndarray
    labels: np.ndarray
    individual_ids: np.ndarray
    label_ids: np.ndarray
    label_names: np.ndarray
    fps: float = float("nan")
    label_format: str = LABEL_FORMAT
    n_frames: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz content with the exact dtypes of the format, rows sorted by (frame, id, id2, label)."""
        frames = np.asarray(self.frames, dtype=np.int32).ravel()
        labels = np.asarray(self.labels, dtype=np.int32).ravel()
        ids = np.asarray(self.individual_ids, dtype=np.int32).reshape(-1, 2)
        if len(frames) == len(labels) == len(ids) and not _is_sorted(frames, ids, labels):
            order = np.lexsort((labels, ids[:, 1], ids[:, 0], frames))
            frames, labels, ids = frames[order], labels[order], ids[order]
        return {
            "frames": frames,
            "labels": labels,
            "individual_ids": ids,
            "label_ids": np.asarray(self.label_ids, dtype=np.int32).ravel(),
            "label_names": np.asarray([str(x) for x in np.asarray(self.label_names).ravel()], dtype=np.str_),
            "fps": np.asarray(np.nan if self.fps is None else self.fps, dtype=np.float64),
            "group": np.asarray(str(self.group), dtype=np.str_),
            "sequence": np.asarray(str(self.sequence), dtype=np.str_),
            "label_format": np.asarray(str(self.label_format), dtype=np.str_),
        }

    @property
    def key(self) -> str:
        """File stem ``<group_safe>__<sequence_safe>``."""
        return sequence_key(self.group, self.sequence)


def _is_sorted(frames: np.ndarray, ids: np.ndarray, labels: np.ndarray) -> bool:
    """True when rows are already in (frame, id, id2, label) order (O(n), no sort)."""
    if len(frames) < 2:
        return True
    keys = (frames, ids[:, 0], ids[:, 1], labels)
    ok = np.zeros(len(frames) - 1, bool)  # strictly greater on an earlier key
    eq = np.ones(len(frames) - 1, bool)  # equal on all earlier keys
    for k in keys:
        ok |= eq & (k[1:] > k[:-1])
        eq &= k[1:] == k[:-1]
    return bool((ok | eq).all())


def labels_dir(ds: DatasetCore, kind: str) -> Path:
    """Folder ``labels/<kind_safe>/`` of one label kind (not created)."""
    return path_in_root(ds.get_root("labels"), to_safe_name(kind))


def labels_index_path(ds: DatasetCore, kind: str) -> Path:
    """``labels/<kind>/index.csv``."""
    return labels_dir(ds, kind) / "index.csv"


def label_file_path(ds: DatasetCore, kind: str, group: str, sequence: str) -> Path:
    """``labels/<kind>/<group_safe>__<sequence_safe>.npz``."""
    return path_in_root(labels_dir(ds, kind), sequence_key(group, sequence) + ".npz")


def write_label_npz(path: str | os.PathLike, labels: LabelSet | Mapping[str, Any]) -> Path:
    """Validate and write one label file atomically (``np.savez`` to a temporary file object)."""
    path = Path(path)
    arrays = labels.to_arrays() if isinstance(labels, LabelSet) else LabelSet(**_labelset_kwargs(labels)).to_arrays()
    validate_label_arrays(arrays, path=path, group=str(arrays["group"]), sequence=str(arrays["sequence"]))
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def _labelset_kwargs(d: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in NPZ_KEYS if k not in d and k not in ("fps", "label_format")]
    if missing:
        raise LabelFormatError("label data lacks required keys", expected=list(NPZ_KEYS), found=f"missing {missing}",
                               group=d.get("group"), sequence=d.get("sequence"))
    kw = {k: d[k] for k in NPZ_KEYS if k in d}
    for k in ("group", "sequence", "label_format"):
        if k in kw:
            kw[k] = str(np.asarray(kw[k]).item()) if np.ndim(kw[k]) == 0 else kw[k]
    if "fps" in kw:
        kw["fps"] = float(np.asarray(kw["fps"]).item())
    return kw


def _scalar_str(a: np.ndarray) -> str:
    return str(a.item()) if a.size == 1 else str(a)


def read_label_npz(path: str | os.PathLike, *, group: str | None = None, sequence: str | None = None) -> dict[str, Any]:
    """Read and validate one label file (``allow_pickle=False``).

    Older *dense* files (no ``individual_ids``) are read too: ``labels`` one per frame become
    scene-level events ``[-1, -1]`` at ``frames`` (default ``0..n-1``); ``labels`` of shape
    (n_frames, n_ids) become rows ``[id, -1]`` (ids from ``ids``, default ``0..n_ids-1``).
    Missing ``label_ids``/``label_names`` become the labels found and their string form.

    Returns
    -------
    dict
        ``frames, labels, individual_ids, label_ids, label_names`` (arrays) and ``fps`` (float),
        ``group, sequence, label_format`` (str).

    Raises
    ------
    LabelFormatError
        Unreadable file, pickled content, missing keys, wrong shapes or dtypes.
    """
    path = Path(path)
    ctx = {"path": path, "group": group, "sequence": sequence}
    if not path.exists():
        raise LabelFormatError("label file not found", **ctx)
    check_regular_file(path, LabelFormatError, group=group, sequence=sequence)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK":
        raise LabelFormatError("not a readable .npz label file", expected="an .npz (zip) archive", found=f"file starts with {magic!r}", **ctx)
    check_npz(path, LabelFormatError, group=group, sequence=sequence)  # declared sizes vs data, before loading
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise LabelFormatError("not a readable .npz label file", found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__, **ctx) from exc
    except ValueError as exc:
        raise LabelFormatError("label file holds pickled objects (refused)", expected="plain arrays", found=str(exc).splitlines()[0], **ctx) from exc
    if "individual_ids" not in data and "labels" in data:
        data = _from_dense(data, path, group, sequence)
    validate_label_arrays(data, **ctx)
    return {
        "frames": data["frames"].astype(np.int32, copy=False),
        "labels": data["labels"].astype(np.int32, copy=False),
        "individual_ids": data["individual_ids"].astype(np.int32, copy=False),
        "label_ids": data["label_ids"].astype(np.int32, copy=False),
        "label_names": data["label_names"].astype(str),
        "fps": float(np.asarray(data["fps"]).item()),
        "group": _scalar_str(np.asarray(data["group"])),
        "sequence": _scalar_str(np.asarray(data["sequence"])),
        "label_format": _scalar_str(np.asarray(data["label_format"])),
    }


def _from_dense(data: dict[str, np.ndarray], path: Path, group: str | None, sequence: str | None) -> dict[str, Any]:
    labels = np.asarray(data["labels"])
    if labels.ndim not in (1, 2) or not np.issubdtype(labels.dtype, np.integer):
        raise LabelFormatError("dense 'labels' must be integers, one per frame (n_frames,) or per frame and individual (n_frames, n_ids)",
                               path=path, group=group, sequence=sequence, expected="int (n_frames,) or (n_frames, n_ids)",
                               found=f"{labels.dtype} {labels.shape}")
    n = labels.shape[0]
    frames = np.asarray(data.get("frames", np.arange(n)))
    if frames.shape != (n,):
        raise LabelFormatError("dense 'frames' does not match 'labels'", path=path, group=group, sequence=sequence,
                               expected=f"({n},)", found=frames.shape)
    out = dict(data)
    if labels.ndim == 2:  # one column per individual: rows [id, -1]
        k = labels.shape[1]
        ids = np.asarray(data.get("ids", np.arange(k))).astype(np.int32).ravel()
        if ids.shape != (k,):
            raise LabelFormatError("dense 'ids' does not match the columns of 'labels'", path=path, group=group, sequence=sequence,
                                   expected=f"({k},)", found=ids.shape)
        out.pop("ids", None)
        out["frames"] = np.repeat(frames, k)
        out["labels"] = labels.reshape(-1)
        out["individual_ids"] = np.stack([np.tile(ids, n), np.full(n * k, -1, np.int32)], axis=1)
        labels = out["labels"]
    else:
        out["frames"] = frames
        out["individual_ids"] = np.full((n, 2), -1, np.int32)
    if "label_ids" not in out:
        out["label_ids"] = np.unique(labels).astype(np.int32)
    if "label_names" not in out:
        out["label_names"] = np.asarray([str(i) for i in out["label_ids"]], dtype=np.str_)
    out.setdefault("fps", np.asarray(np.nan))
    out.setdefault("group", np.asarray(group or ""))
    out.setdefault("sequence", np.asarray(sequence or ""))
    out.setdefault("label_format", np.asarray(LABEL_FORMAT))
    return out


def index_row(ds: DatasetCore, kind: str, ls: LabelSet, path: str | os.PathLike) -> dict[str, Any]:
    """The ``labels/<kind>/index.csv`` row of a written label file."""
    frames = np.asarray(ls.frames)
    n_frames = ls.n_frames if ls.n_frames is not None else (int(frames.max()) + 1 if len(frames) else 0)
    return {
        "kind": kind,
        "label_format": ls.label_format,
        "group": ls.group,
        "sequence": ls.sequence,
        "group_safe": to_safe_name(ls.group),
        "sequence_safe": to_safe_name(ls.sequence),
        "abs_path": ds.relative_path(path),
        "n_frames": int(n_frames),
        "n_events": len(frames),
        "label_ids": json.dumps([int(x) for x in np.asarray(ls.label_ids).ravel()]),
        "label_names": json.dumps([str(x) for x in np.asarray(ls.label_names).ravel()]),
    }


def read_labels_index(ds: DatasetCore, kind: str, missing_ok: bool = True) -> pd.DataFrame:
    """``labels/<kind>/index.csv`` (empty table with the declared columns when absent and ``missing_ok``)."""
    return read_index(labels_index_path(ds, kind), LABELS_INDEX, missing_ok=missing_ok)


def save_labels_index_rows(path: str | os.PathLike, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Merge rows into the labels index at ``path`` (locked, atomic); returns the index."""
    if isinstance(rows, pd.DataFrame):
        rows = rows.to_dict("records")
    rows = list(rows)
    if not rows:
        return read_index(path, LABELS_INDEX, missing_ok=True)
    return upsert_index(path, rows, LABELS_INDEX)


def upsert_labels_index(ds: DatasetCore, kind: str, rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Merge rows into ``labels/<kind>/index.csv`` (locked, atomic)."""
    return save_labels_index_rows(labels_index_path(ds, kind), rows)


def existing_pairs(ds: DatasetCore, kind: str) -> set[tuple[str, str]]:
    """(group, sequence) pairs of ``kind`` already indexed whose file exists."""
    df = read_labels_index(ds, kind)
    out = set()
    for g, s, p in zip(df["group"], df["sequence"], df["abs_path"]):
        if p and ds.resolve_path(p).exists():
            out.add((g, s))
    return out


def save_label_sets(ds: DatasetCore, kind: str, label_sets: Iterable[LabelSet], overwrite: bool = False) -> tuple[list[dict], list[tuple[str, str]]]:
    """Write label sets and index them in one upsert.

    Returns ``(rows_written, skipped_pairs)``; a pair already indexed with an existing file is
    skipped unless ``overwrite``. Every file is validated before it replaces anything.
    """
    have = set() if overwrite else existing_pairs(ds, kind)
    rows, skipped = [], []
    try:
        for ls in progress(label_sets, desc=f"write labels {kind}"):
            if (ls.group, ls.sequence) in have:
                skipped.append((ls.group, ls.sequence))
                continue
            path = label_file_path(ds, kind, ls.group, ls.sequence)
            write_label_npz(path, ls)
            rows.append(index_row(ds, kind, ls, path))
    finally:
        # index what was written even if a later recording failed
        upsert_labels_index(ds, kind, rows)
    return rows, skipped
