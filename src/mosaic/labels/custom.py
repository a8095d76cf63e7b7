"""User-supplied label converters: a function writes label files and returns their index rows.

:func:`convert_labels_custom` checks every returned row and file before the index changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.core.safe_names import to_safe_name

from .io import (
    existing_pairs,
    labels_dir,
    read_label_npz,
    upsert_labels_index,
)
from .schema import LABEL_FORMATS


def _row_fields(row: Any, n: int) -> tuple[str, str]:
    """(group, sequence) of a returned row; a named error when it is no mapping or lacks a required field."""
    if not isinstance(row, Mapping):
        raise LabelFormatError(
            f"custom converter row {n} is not a mapping", expected="dict with index columns", found=type(row).__name__
        )
    required = ("group", "sequence", "abs_path")
    missing = [c for c in required if not row.get(c)]
    if missing:
        raise LabelFormatError(
            f"custom converter row {n} lacks required fields",
            expected=list(required),
            found=f"missing {missing}; row {dict(row)!r}",
        )
    return str(row["group"]), str(row["sequence"])


def _row_file(ds: DatasetCore, row: Mapping[str, Any], labels_root: Path, n: int, g: str, s: str) -> Path:
    """The label file a row names: relative to the labels root, else to the dataset folder, or absolute."""
    raw = row["abs_path"]
    path = ds.resolve_path(raw, anchor=labels_root) if not Path(str(raw)).is_absolute() else Path(raw)
    if not path.exists():
        alt = ds.resolve_path(raw)  # relative to the dataset folder?
        path = alt if alt.exists() else path
    if not path.exists():
        raise LabelFormatError(
            f"custom converter row {n} points at a missing label file", path=path, group=g, sequence=s
        )
    return path


def _validate_row(ds: DatasetCore, kind: str, row: Any, labels_root: Path, n: int) -> dict[str, Any]:
    """The index row of one returned row, after checking it and the label file it names."""
    g, s = _row_fields(row, n)
    fmt = row.get("label_format", None)
    path = _row_file(ds, row, labels_root, n, g, s)
    data = read_label_npz(path, group=g, sequence=s, verify_identity=False)  # a mismatch is named just below
    if fmt is not None and fmt not in LABEL_FORMATS:
        raise LabelFormatError(
            "custom converter row has an unknown label_format",
            path=path,
            group=g,
            sequence=s,
            expected=list(LABEL_FORMATS),
            found=fmt,
        )
    if data["group"] and (data["group"], data["sequence"]) != (g, s):
        raise LabelFormatError(
            "custom converter row and its label file name different recordings",
            path=path,
            group=g,
            sequence=s,
            expected=(g, s),
            found=(data["group"], data["sequence"]),
        )
    frames = data["frames"]
    computed = {
        "kind": kind,
        "label_format": data["label_format"],
        "group": g,
        "sequence": s,
        "group_safe": to_safe_name(g),
        "sequence_safe": to_safe_name(s),
        "abs_path": ds.relative_path(path),
        "n_frames": int(row.get("n_frames") or (int(frames.max()) + 1 if len(frames) else 0)),
        "n_events": len(frames),
        "label_ids": json.dumps([int(x) for x in data["label_ids"]]),
        "label_names": json.dumps([str(x) for x in data["label_names"]]),
    }
    extra = {str(k): _index_cell(v) for k, v in row.items() if k not in computed}
    return computed | extra


def _index_cell(v: Any) -> Any:
    """A value a converter put in an extra index column, as a CSV cell (containers as JSON)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (Mapping, list, tuple, np.ndarray)):
        return json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str)
    return v


def convert_labels_custom(
    ds: DatasetCore,
    converter_fn: Callable[..., Any],
    kind: str = "behavior",
    label_format: str = "individual_pair_v1",
    overwrite: bool = False,
    **kwargs: Any,
) -> int:
    """Run a user converter and index what it wrote.

    ``converter_fn(dataset, labels_root, existing_pairs, overwrite, **kwargs)`` writes label files
    (e.g. with :func:`mosaic.labels.write_label_npz`) under ``labels_root`` (``labels/<kind>/``)
    and returns index rows: mappings with at least ``group``, ``sequence``, ``abs_path`` (relative
    to ``labels_root`` or the dataset folder, or absolute), optionally ``n_frames``; any other
    key of a row (``annotator``, ``source_file``, ...) is kept as a column of the index. The
    files may hold arrays beyond the format's keys; :func:`load_labels` returns them too. It
    should skip ``existing_pairs`` (a set of (group, sequence)) unless ``overwrite``.

    Every row and the file it points to are validated before the index is touched: a bad row
    raises :class:`LabelFormatError` naming it, and the index keeps its previous content.

    Returns
    -------
    int
        Number of recordings indexed.
    """
    if label_format not in LABEL_FORMATS:
        raise ConfigError("unknown label_format", expected=list(LABEL_FORMATS), found=label_format)
    root = labels_dir(ds, kind)
    root.mkdir(parents=True, exist_ok=True)
    have = existing_pairs(ds, kind)
    rows = converter_fn(ds, root, have, overwrite, **kwargs)
    if rows is None:
        rows = []
    if isinstance(rows, pd.DataFrame):
        rows = rows.to_dict("records")
    clean = [_validate_row(ds, kind, r, root, n) for n, r in enumerate(rows)]
    keys = [(r["group"], r["sequence"]) for r in clean]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise LabelFormatError("custom converter returned two rows for one recording", group=dup[0], sequence=dup[1])
    upsert_labels_index(ds, kind, clean)
    return len(clean)
