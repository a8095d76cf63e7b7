"""The ``individual_pair_v1`` label format: keys, dtypes, index layout and validator.

One ``.npz`` per (group, sequence) holding one row per (frame, individual-or-pair) event:

* ``frames`` int32 (n,) — 0-based video frame of the event row;
* ``labels`` int32 (n,) — label id (one of ``label_ids``);
* ``individual_ids`` int32 (n, 2) — ``[subject, -1]`` individual, ``[a, b]`` pair (stored in
  both directions: ``[a, b]`` and ``[b, a]``), ``[-1, -1]`` scene-level;
* ``label_ids`` int32 (k,), ``label_names`` unicode (k,) — the vocabulary;
* ``fps`` float64 scalar (NaN when unknown); ``group``, ``sequence``, ``label_format`` unicode scalars.

A bout ``[start, stop)`` of one behaviour is stored as ``stop - start`` rows (events expanded
per frame), see :mod:`mosaic.labels.events`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mosaic.core.errors import LabelFormatError
from mosaic.core.indexes import NAME_COLUMNS, IndexSchema

LABEL_FORMAT = "individual_pair_v1"
LABEL_FORMATS = (LABEL_FORMAT,)
NPZ_KEYS = (
    "frames",
    "labels",
    "individual_ids",
    "label_ids",
    "label_names",
    "fps",
    "group",
    "sequence",
    "label_format",
)
DEFAULT_KIND = "behavior"

LABELS_INDEX = IndexSchema(
    name="labels",
    columns=(
        "kind",
        "label_format",
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "abs_path",
        "n_frames",
        "n_events",
        "label_ids",
        "label_names",
    ),
    key=("group", "sequence"),
    text_columns=NAME_COLUMNS + ("abs_path", "kind", "label_format", "label_ids", "label_names"),
)
"""Layout of ``labels/<kind>/index.csv``; ``label_ids``/``label_names`` hold JSON lists."""


def _is_int_dtype(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.integer)


def _event_arrays(data: Mapping[str, Any], ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``frames``, ``labels`` (1-D int, length n) and ``individual_ids`` (int, (n, 2)), checked."""
    frames = np.asarray(data["frames"])
    labels = np.asarray(data["labels"])
    ids = np.asarray(data["individual_ids"])
    for name, arr in (("frames", frames), ("labels", labels)):
        if arr.ndim != 1 or not _is_int_dtype(arr):
            raise LabelFormatError(
                f"{name!r} must be a 1-D integer array", expected="int32 (n,)", found=f"{arr.dtype} {arr.shape}", **ctx
            )
    n = len(frames)
    if len(labels) != n:
        raise LabelFormatError(
            "'labels' and 'frames' differ in length", expected=f"({n},)", found=f"{labels.shape}", **ctx
        )
    if ids.ndim != 2 or ids.shape != (n, 2) or not _is_int_dtype(ids):
        raise LabelFormatError(
            "'individual_ids' must be an (n, 2) integer array",
            expected=f"int32 ({n}, 2)",
            found=f"{ids.dtype} {ids.shape}",
            **ctx,
        )
    return frames, labels, ids


def _vocabulary_arrays(data: Mapping[str, Any], ctx: dict[str, Any]) -> np.ndarray:
    """``label_ids`` (1-D int, unique) checked with ``label_names`` (strings of the same shape)."""
    lids = np.asarray(data["label_ids"])
    lnames = np.asarray(data["label_names"])
    if lids.ndim != 1 or not _is_int_dtype(lids):
        raise LabelFormatError(
            "'label_ids' must be a 1-D integer array", expected="int32 (k,)", found=f"{lids.dtype} {lids.shape}", **ctx
        )
    if lnames.ndim != 1 or lnames.shape != lids.shape or lnames.dtype.kind not in "UO":
        raise LabelFormatError(
            "'label_names' must be 1-D strings matching 'label_ids'",
            expected=f"str {lids.shape}",
            found=f"{lnames.dtype} {lnames.shape}",
            **ctx,
        )
    if len(np.unique(lids)) != len(lids):
        raise LabelFormatError("'label_ids' has duplicates", expected="unique ids", found=lids.tolist(), **ctx)
    return lids


def _check_values(
    frames: np.ndarray, labels: np.ndarray, ids: np.ndarray, lids: np.ndarray, ctx: dict[str, Any]
) -> None:
    """Frames >= 0, ids >= -1 and every label in ``label_ids``."""
    n = len(frames)
    if n:
        if frames.min() < 0:
            raise LabelFormatError(
                "'frames' has negative values", expected="frame >= 0", found=int(frames.min()), **ctx
            )
        if ids.min() < -1:
            raise LabelFormatError(
                "'individual_ids' has values below -1", expected="id >= 0 or -1", found=int(ids.min()), **ctx
            )
        unknown = np.setdiff1d(labels, lids)
        if len(unknown):
            raise LabelFormatError(
                "'labels' holds ids not in 'label_ids'", expected=lids.tolist(), found=unknown[:10].tolist(), **ctx
            )


def validate_label_arrays(data: Mapping[str, Any], *, path=None, group=None, sequence=None) -> None:
    """Check a label mapping against ``individual_pair_v1``; raise :class:`LabelFormatError`.

    Checks presence of every key, 1-D int ``frames``/``labels`` of equal length n, int
    ``individual_ids`` of shape (n, 2), ``label_ids``/``label_names`` of equal length with unique
    ids, every label in ``label_ids``, non-negative frames, ids >= -1, a known ``label_format``.
    """
    ctx = {"path": path, "group": group, "sequence": sequence}
    missing = [k for k in NPZ_KEYS if k not in data]
    if missing:
        raise LabelFormatError(
            "label data lacks required keys", expected=list(NPZ_KEYS), found=f"missing {missing}", **ctx
        )
    frames, labels, ids = _event_arrays(data, ctx)
    lids = _vocabulary_arrays(data, ctx)
    _check_values(frames, labels, ids, lids, ctx)
    fmt = (
        str(np.asarray(data["label_format"]).item())
        if np.asarray(data["label_format"]).size == 1
        else data["label_format"]
    )
    if fmt not in LABEL_FORMATS:
        raise LabelFormatError("unknown label_format", expected=list(LABEL_FORMATS), found=fmt, **ctx)
    fps = np.asarray(data["fps"])
    if fps.size != 1 or fps.dtype.kind not in "fiu":
        raise LabelFormatError(
            "'fps' must be a numeric scalar (NaN when unknown)",
            expected="float64 ()",
            found=f"{fps.dtype} {fps.shape}",
            **ctx,
        )
