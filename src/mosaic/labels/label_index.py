"""The labels index ``labels/<kind>/index.csv``: its rows, reading (older layouts too), merging.

Kept apart from :mod:`mosaic.labels.io` (label files), which imports it; this module needs
:class:`~mosaic.labels.io.LabelSet` for type hints only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import LabelFormatError
from mosaic.core.indexes import IndexSchema, index_lock, read_index, upsert_index, write_index
from mosaic.core.safe_names import path_in_root, to_safe_name

from .schema import LABELS_INDEX

if TYPE_CHECKING:
    from .io import LabelSet


def parse_list_cell(text: Any) -> list[str]:
    """The items of an index cell listing label ids or names.

    Cells hold a JSON list (``["a", "b"]``); older datasets wrote comma-separated values
    (``a,b``), read too. An empty cell is an empty list.

    Raises
    ------
    ValueError
        A cell that starts like a JSON list but is not one.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return []
    t = str(text).strip()
    if not t:
        return []
    if t.startswith("["):
        v = json.loads(t)
        if not isinstance(v, list):
            raise ValueError(f"not a list: {t[:80]!r}")
        return [str(x) for x in v]
    return [x.strip() for x in t.split(",")]


def labels_dir(ds: DatasetCore, kind: str) -> Path:
    """Folder ``labels/<kind_safe>/`` of one label kind (not created)."""
    return path_in_root(ds.get_root("labels"), to_safe_name(kind))


def labels_index_path(ds: DatasetCore, kind: str) -> Path:
    """``labels/<kind>/index.csv``."""
    return labels_dir(ds, kind) / "index.csv"


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
        SOURCE_FINGERPRINTS: _json_text(ls.extra.get(SOURCE_FINGERPRINTS) or {}),
    }


def _json_text(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


#: extra ``labels/<kind>/index.csv`` column (and label-file key): JSON ``{annotation file: fingerprint}`` of its sources
SOURCE_FINGERPRINTS = "source_fingerprints"
#: every column an index row written by :func:`index_row` has
INDEX_ROW_COLUMNS = (*LABELS_INDEX.columns, SOURCE_FINGERPRINTS)


def remove_label_pairs(ds: DatasetCore, kind: str, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Remove the label files of ``pairs`` and their index rows (rows first: never a row without its file's data).

    Only files inside the ``labels/<kind>`` folder are deleted. Returns the pairs removed.
    """
    pairs = sorted(set(pairs))
    if not pairs:
        return []
    idx = read_labels_index(ds, kind)
    paths = []
    for g, s in pairs:
        hit = idx[(idx["group"] == g) & (idx["sequence"] == s)]
        paths += [ds.resolve_path(p) for p in hit["abs_path"] if p]
    upsert_index(labels_index_path(ds, kind), [], LABELS_INDEX, drop=[{"group": g, "sequence": s} for g, s in pairs])
    root = labels_dir(ds, kind).resolve()
    for p in paths:
        p = Path(p)
        if root in p.resolve().parents and not p.is_symlink():
            p.unlink(missing_ok=True)
    return pairs


_LABELS_INDEX_CORE = IndexSchema(
    name="labels",
    columns=("group", "sequence", "abs_path"),
    key=LABELS_INDEX.key,
    text_columns=LABELS_INDEX.text_columns,
)


def _json_list_cell(text: Any, path: Path, group: Any, sequence: Any, column: str) -> str:
    try:
        items = parse_list_cell(text)
    except ValueError as exc:
        raise LabelFormatError(
            f"{column} in the labels index is not a list",
            path=path,
            group=group,
            sequence=sequence,
            expected='a JSON list (["a", "b"]) or comma-separated values',
            found=str(text)[:80],
        ) from exc
    if column == "label_ids" and all(x.lstrip("-").isdigit() for x in items):
        return json.dumps([int(x) for x in items])
    return json.dumps(items)


def read_labels_index_file(path: str | os.PathLike, kind: str | None = None, missing_ok: bool = True) -> pd.DataFrame:
    """A labels index as a table with every column of :data:`LABELS_INDEX`.

    Indexes of older datasets are read too: ``label_ids``/``label_names`` written
    comma-separated become JSON lists, missing bookkeeping columns are filled (``kind`` from
    the folder, safe names computed, counts empty) and extra columns are kept.

    Raises
    ------
    IndexFileError
        Unreadable, or without ``group``, ``sequence``, ``abs_path``.
    LabelFormatError
        A ``label_ids``/``label_names`` cell that is not a list.
    """
    path = Path(path)
    df = read_index(path, _LABELS_INDEX_CORE, missing_ok=missing_ok)
    if "kind" not in df.columns:
        df["kind"] = kind if kind is not None else path.parent.name
    if "label_format" not in df.columns:
        df["label_format"] = ""
    for col, src in (("group_safe", "group"), ("sequence_safe", "sequence")):
        if col not in df.columns:
            df[col] = [to_safe_name(v) if v else "" for v in df[src].astype(str)]
    for col in ("n_frames", "n_events"):
        if col not in df.columns:
            df[col] = pd.Series([pd.NA] * len(df), dtype="Int64")
    for col in ("label_ids", "label_names"):
        if col not in df.columns:
            df[col] = "[]"
        else:
            df[col] = [
                _json_list_cell(v, path, g, s_, col)
                for v, g, s_ in zip(df[col], df["group"], df["sequence"], strict=True)
            ]
    cols = list(LABELS_INDEX.columns)
    return df[cols + [c for c in df.columns if c not in cols]]


def read_labels_index(ds: DatasetCore, kind: str, missing_ok: bool = True) -> pd.DataFrame:
    """``labels/<kind>/index.csv`` (empty table with the declared columns when absent and ``missing_ok``).

    Older indexes (comma-separated ``label_ids``/``label_names``, fewer columns) read as
    described in :func:`read_labels_index_file`.
    """
    return read_labels_index_file(labels_index_path(ds, kind), kind, missing_ok=missing_ok)


def save_labels_index_rows(path: str | os.PathLike, rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Merge rows into the labels index at ``path`` (locked, atomic); returns the index.

    An index of an older dataset is first rewritten in the current layout (same rows).
    """
    if isinstance(rows, pd.DataFrame):
        rows = rows.to_dict("records")
    rows = list(rows)
    path = Path(path)
    if path.exists():
        with index_lock(path):
            raw = read_index(path, _LABELS_INDEX_CORE)
            legacy = any(c not in raw.columns for c in LABELS_INDEX.columns) or any(
                str(v).strip() and not str(v).strip().startswith("[")
                for c in ("label_ids", "label_names")
                for v in raw[c]
            )
            if legacy:
                write_index(path, read_labels_index_file(path), LABELS_INDEX)
    if not rows:
        return read_labels_index_file(path)
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
