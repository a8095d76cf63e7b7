"""Reading and writing ``individual_pair_v1`` label files and their index.

Files live at ``labels/<kind>/<group_safe>__<sequence_safe>.npz`` with the index
``labels/<kind>/index.csv`` (:data:`~mosaic.labels.schema.LABELS_INDEX`), read and written by
:mod:`mosaic.labels.label_index` (its names are importable from here too).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mosaic.core.atomic import atomic_open
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import LabelFormatError, check_identity
from mosaic.core.limits import check_npz
from mosaic.core.paths import check_regular_file
from mosaic.core.progress import progress
from mosaic.core.safe_names import path_in_root, sequence_key

from .label_index import (  # noqa: F401 (the index names stay importable from here)
    INDEX_ROW_COLUMNS,
    SOURCE_FINGERPRINTS,
    existing_pairs,
    index_row,
    labels_dir,
    labels_index_path,
    parse_list_cell,
    read_labels_index,
    read_labels_index_file,
    remove_label_pairs,
    save_labels_index_rows,
    upsert_labels_index,
)
from .schema import LABEL_FORMAT, LABELS_INDEX, NPZ_KEYS, validate_label_arrays  # noqa: F401 (LABELS_INDEX importable from here)


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
        """The npz content with the exact dtypes of the format, rows sorted by (frame, id, id2, label).

        ``extra`` arrays are written beside the format's keys under their own names (per-row
        arrays of length n follow the row order); object arrays are refused (see
        :func:`plain_array`).
        """
        frames = np.asarray(self.frames, dtype=np.int32).ravel()
        labels = np.asarray(self.labels, dtype=np.int32).ravel()
        ids = np.asarray(self.individual_ids, dtype=np.int32).reshape(-1, 2)
        order = None
        if len(frames) == len(labels) == len(ids) and not _is_sorted(frames, ids, labels):
            order = np.lexsort((labels, ids[:, 1], ids[:, 0], frames))
            frames, labels, ids = frames[order], labels[order], ids[order]
        extra = {}
        for k, v in (self.extra or {}).items():
            if k in NPZ_KEYS:
                raise LabelFormatError(
                    f"extra label array {k!r} clashes with a key of the format",
                    group=self.group,
                    sequence=self.sequence,
                    expected=f"names other than {list(NPZ_KEYS)}",
                    found=k,
                )
            a = plain_array(k, v, group=self.group, sequence=self.sequence)
            if order is not None and a.ndim >= 1 and len(a) == len(order) and len(order) > 1:
                a = a[order]
            extra[str(k)] = a
        return extra | {
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


def plain_array(
    name: str, value: Any, *, path: Any = None, group: str | None = None, sequence: str | None = None
) -> np.ndarray:
    """``value`` as an array npz can hold without pickling (numbers, booleans, fixed-width strings).

    Object arrays of strings become unicode arrays; any other object array raises
    :class:`LabelFormatError` (it would be pickled, and loading a pickle runs code).
    """
    a = np.asarray(value)
    if a.dtype.kind == "O":
        flat = a.ravel().tolist()
        if all(isinstance(x, str) for x in flat):
            return a.astype(np.str_)
        raise LabelFormatError(
            f"array {name!r} holds Python objects (it would be pickled)",
            path=path,
            group=group,
            sequence=sequence,
            expected="numbers, booleans or strings",
            found=f"object array of {sorted({type(x).__name__ for x in flat})}",
            hint=f"convert it first, e.g. np.asarray({name}, dtype=str) or dtype=float",
        )
    return a


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
        raise LabelFormatError(
            "label data lacks required keys",
            expected=list(NPZ_KEYS),
            found=f"missing {missing}",
            group=d.get("group"),
            sequence=d.get("sequence"),
        )
    kw = {k: d[k] for k in NPZ_KEYS if k in d}
    extra = {k: v for k, v in d.items() if k not in NPZ_KEYS and k not in ("n_frames", "extra", "sequence_key")}
    if extra:
        kw["extra"] = extra
    for k in ("group", "sequence", "label_format"):
        if k in kw:
            kw[k] = str(np.asarray(kw[k]).item()) if np.ndim(kw[k]) == 0 else kw[k]
    if "fps" in kw:
        kw["fps"] = float(np.asarray(kw["fps"]).item())
    return kw


def _scalar_str(a: np.ndarray) -> str:
    return str(a.item()) if a.size == 1 else str(a)


def _load_npz_arrays(path: Path, group: str | None, sequence: str | None) -> dict[str, np.ndarray]:
    """The arrays of label file ``path`` (checked: regular file, zip, sizes, no pickles)."""
    ctx = {"path": path, "group": group, "sequence": sequence}
    if not path.exists():
        raise LabelFormatError("label file not found", **ctx)
    check_regular_file(path, LabelFormatError, group=group, sequence=sequence)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] != b"PK":
        raise LabelFormatError(
            "not a readable .npz label file",
            expected="an .npz (zip) archive",
            found=f"file starts with {magic!r}",
            **ctx,
        )
    check_npz(path, LabelFormatError, group=group, sequence=sequence)  # declared sizes vs data, before loading
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise LabelFormatError(
            "not a readable .npz label file", found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__, **ctx
        ) from exc
    except ValueError as exc:
        raise LabelFormatError(
            "label file holds pickled object arrays (refused: loading a pickle runs code)",
            expected="plain arrays (numbers, strings)",
            found=f"object arrays in {_object_members(path)}",
            hint="re-save it with string arrays where you trust the file: d = dict(np.load(path, allow_pickle=True)); "
            "d['label_names'] = np.asarray(d['label_names'], dtype=str) (likewise every object array); "
            "np.savez(path, **d) — or write it with mosaic.labels.write_label_npz",
            **ctx,
        ) from exc
    return data


def read_label_npz(
    path: str | os.PathLike, *, group: str | None = None, sequence: str | None = None, verify_identity: bool = True
) -> dict[str, Any]:
    """Read and validate one label file (``allow_pickle=False``).

    ``group``/``sequence`` name the recording asked for (in errors); with ``verify_identity``
    the file must record that recording (or none, as older dense files).

    Older *dense* files (no ``individual_ids``) are read too: ``labels`` one per frame become
    scene-level events ``[-1, -1]`` at ``frames`` (default ``0..n-1``); ``labels`` of shape
    (n_frames, n_ids) become rows ``[id, -1]`` (ids from ``ids``, default ``0..n_ids-1``).
    Missing ``label_ids``/``label_names`` become the labels found and their string form.

    Returns
    -------
    dict
        ``frames, labels, individual_ids, label_ids, label_names`` (arrays) and ``fps`` (float),
        ``group, sequence, label_format`` (str); any other array of the file under its own name.

    Raises
    ------
    LabelFormatError
        Unreadable file, pickled content (refused; the message says how to re-save it with
        string arrays), missing keys, wrong shapes or dtypes.
    IdentityError
        ``group``/``sequence`` are given and the file records another recording.
    """
    path = Path(path)
    ctx = {"path": path, "group": group, "sequence": sequence}
    data = _load_npz_arrays(path, group, sequence)
    if "individual_ids" not in data and "labels" in data:
        data = _from_dense(data, path, group, sequence)
    validate_label_arrays(data, **ctx)
    if verify_identity:
        check_identity(
            path,
            {"group": group, "sequence": sequence},
            {k: _scalar_str(np.asarray(data[k])) for k in ("group", "sequence") if k in data},
            "label file",
        )
    extra = {k: v for k, v in data.items() if k not in NPZ_KEYS and k not in ("sequence_key", "ids")}
    return extra | {
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


def _object_members(path: Path) -> list[str]:
    """Names of the arrays of an npz stored as pickled objects (read from the .npy headers only)."""
    from numpy.lib import format as npformat

    out = []
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                with zf.open(name) as fh:
                    version = npformat.read_magic(fh)
                    header = (
                        npformat.read_array_header_1_0(fh) if version == (1, 0) else npformat.read_array_header_2_0(fh)
                    )
                if header[2].hasobject:
                    out.append(name.removesuffix(".npy"))
    except (OSError, ValueError, zipfile.BadZipFile):
        pass
    return out


def _from_dense(data: dict[str, np.ndarray], path: Path, group: str | None, sequence: str | None) -> dict[str, Any]:
    labels = np.asarray(data["labels"])
    if labels.ndim not in (1, 2) or not np.issubdtype(labels.dtype, np.integer):
        raise LabelFormatError(
            "dense 'labels' must be integers, one per frame (n_frames,) or per frame and individual (n_frames, n_ids)",
            path=path,
            group=group,
            sequence=sequence,
            expected="int (n_frames,) or (n_frames, n_ids)",
            found=f"{labels.dtype} {labels.shape}",
        )
    n = labels.shape[0]
    frames = np.asarray(data.get("frames", np.arange(n)))
    if frames.shape != (n,):
        raise LabelFormatError(
            "dense 'frames' does not match 'labels'",
            path=path,
            group=group,
            sequence=sequence,
            expected=f"({n},)",
            found=frames.shape,
        )
    out = dict(data)
    if labels.ndim == 2:  # one column per individual: rows [id, -1]
        k = labels.shape[1]
        ids = np.asarray(data.get("ids", np.arange(k))).astype(np.int32).ravel()
        if ids.shape != (k,):
            raise LabelFormatError(
                "dense 'ids' does not match the columns of 'labels'",
                path=path,
                group=group,
                sequence=sequence,
                expected=f"({k},)",
                found=ids.shape,
            )
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


def save_label_sets(
    ds: DatasetCore, kind: str, label_sets: Iterable[LabelSet], overwrite: bool = False
) -> tuple[list[dict], list[tuple[str, str]]]:
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
