"""Per-individual tags (``id_tags``): ``{id: {field: value}}`` per (group, sequence).

Stored as JSON (written atomically) at ``labels/<kind>/<group_safe>__<sequence_safe>.json``::

    {"format": "id_tags_v1", "kind": ..., "group": ..., "sequence": ...,
     "labels": {"<id>": {"<field>": value, ...}, ...}, "metadata": {...}}

for focal animals, strain, treatment, sex...
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.core.safe_names import path_in_root, sequence_key, to_safe_name

from .io import labels_dir

ID_TAGS_FORMAT = "id_tags_v1"
CSV_TYPES = ("focal", "category", "multi")


def id_labels_path(ds: DatasetCore, kind: str, group: str, sequence: str) -> Path:
    """``labels/<kind>/<group_safe>__<sequence_safe>.json``."""
    return path_in_root(labels_dir(ds, kind), sequence_key(group, sequence) + ".json")


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _norm_labels(per_id_labels: Mapping[Any, Mapping[str, Any]], path: Path, group: str, sequence: str) -> dict[int, dict[str, Any]]:
    if not isinstance(per_id_labels, Mapping):
        raise ConfigError("per_id_labels must be {id: {field: value}}", path=path, group=group, sequence=sequence, found=type(per_id_labels).__name__)
    out: dict[int, dict[str, Any]] = {}
    for k, fields in per_id_labels.items():
        try:
            i = int(k)
        except (TypeError, ValueError) as exc:
            raise ConfigError("individual ids must be integers", path=path, group=group, sequence=sequence, found=repr(k)) from exc
        if not isinstance(fields, Mapping):
            raise ConfigError("each id's tags must be {field: value}", path=path, group=group, sequence=sequence, found=f"{k!r}: {fields!r}")
        out[i] = {str(f): _py(v) for f, v in fields.items()}
    return out


def _read_doc(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelFormatError("id tags file is not readable JSON", path=path, found=str(exc)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("labels"), dict) or "group" not in doc or "sequence" not in doc:
        raise LabelFormatError("id tags file lacks group/sequence/labels", path=path, expected=["group", "sequence", "labels"],
                               found=sorted(doc) if isinstance(doc, dict) else type(doc).__name__)
    return doc


def _merged_doc(ds: DatasetCore, kind: str, group: str, sequence: str, per_id_labels, metadata, overwrite: bool) -> tuple[Path, dict]:
    path = id_labels_path(ds, kind, group, sequence)
    labels = _norm_labels(per_id_labels, path, group, sequence)
    meta = dict(metadata or {})
    if path.exists() and not overwrite:
        old = _read_doc(path)
        merged = {int(k): dict(v) for k, v in old["labels"].items()}
        for i, fields in labels.items():
            cur = merged.setdefault(i, {})
            for f, v in fields.items():
                if f in cur and cur[f] != v:
                    raise LabelFormatError("id tag conflicts with the stored value (pass overwrite=True to replace the file)",
                                           path=path, group=group, sequence=sequence, expected=f"id {i} {f}={cur[f]!r}", found=repr(v))
                cur[f] = v
        labels = merged
        meta = {**(old.get("metadata") or {}), **meta}
    doc = {"format": ID_TAGS_FORMAT, "kind": kind, "group": group, "sequence": sequence,
           "labels": {str(i): labels[i] for i in sorted(labels)}, "metadata": meta}
    return path, doc


def save_id_labels(
    ds: DatasetCore, kind: str, group: str, sequence: str, per_id_labels: Mapping[Any, Mapping[str, Any]],
    metadata: Mapping[str, Any] | None = None, overwrite: bool = False,
) -> Path:
    """Save ``{id: {field: value}}`` tags of one recording (JSON, atomic).

    With ``overwrite=False`` an existing file is merged with the new tags (new ids and fields are
    added; a different value for a stored (id, field) raises :class:`LabelFormatError` and nothing is
    written). ``overwrite=True`` replaces the file.
    """
    path, doc = _merged_doc(ds, kind, group, sequence, per_id_labels, metadata, overwrite)
    atomic_write_json(path, doc)
    return path


def _value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    return _py(v)


def convert_id_tags_from_csv(
    ds: DatasetCore,
    csv_path: str | os.PathLike,
    csv_type: str = "focal",
    all_ids: Iterable[int] | Mapping[str, Iterable[int]] | None = None,
    overwrite: bool = False,
    focal_id_column: str = "focal_id",
    id_column: str = "id",
    category_column: str = "category",
    field_columns: Iterable[str] | None = None,
    kind: str = "id_tags",
) -> list[Path]:
    """Convert a CSV of per-individual tags to ``labels/<kind>/*.json`` (one file per recording).

    CSV layouts (``group`` and ``sequence`` columns always required; delimiter detected):

    * ``'focal'``: ``group, sequence, <focal_id_column>`` — one row per focal individual.
      Every id in ``all_ids`` gets ``{'focal': True|False}``. ``all_ids`` is required: a list
      (same for every recording) or ``{"group/sequence": [ids]}``.
    * ``'category'``: ``group, sequence, <id_column>, <category_column>`` — each id gets
      ``{<category_column>: value}`` (ids come from the rows).
    * ``'multi'``: ``group, sequence, <id_column>, <field columns...>`` — each id gets one field
      per column of ``field_columns`` (default: every other column). Empty cells are left out.

    The whole CSV is validated before anything is written; files are merged with existing tags
    unless ``overwrite`` (see :func:`save_id_labels`).

    Raises
    ------
    ConfigError
        Unknown ``csv_type``; ``'focal'`` without ``all_ids``.
    LabelFormatError
        Missing columns, non-integer ids, a focal id not in ``all_ids``, conflicting rows.
    """
    csv_path = Path(csv_path)
    if csv_type not in CSV_TYPES:
        raise ConfigError("unknown csv_type", path=csv_path, expected=list(CSV_TYPES), found=csv_type)
    if csv_type == "focal" and all_ids is None:
        raise ConfigError("csv_type='focal' needs all_ids (the individuals of each recording)", path=csv_path,
                          expected="all_ids=[0, 1, ...] or {'group/sequence': [...]}", found=None)
    try:
        df = pd.read_csv(csv_path, sep=None, engine="python", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise LabelFormatError("id tags CSV is not readable", path=csv_path, found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
    df.columns = [c.strip() for c in df.columns]
    id_col = focal_id_column if csv_type == "focal" else id_column
    need = ["group", "sequence", id_col] + ([category_column] if csv_type == "category" else [])
    if csv_type == "multi" and field_columns is not None:
        need += list(field_columns)
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise LabelFormatError(f"id tags CSV ({csv_type}) lacks columns", path=csv_path, expected=need, found=f"missing {missing}; columns {list(df.columns)}")
    ids = pd.to_numeric(df[id_col].str.strip(), errors="coerce")
    if ids.isna().any() or (ids != ids.round()).any():
        bad = df.loc[ids.isna() | (ids != ids.round()), id_col].iloc[0]
        raise LabelFormatError(f"id tags CSV column {id_col!r} must hold integer ids", path=csv_path, expected="integers", found=repr(bad))
    df["_id"] = ids.astype(np.int64)
    per_seq: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    if csv_type == "focal":
        for (g, s), sub in df.groupby(["group", "sequence"], sort=True):
            everyone = _ids_for(all_ids, g, s, csv_path)
            focal = set(sub["_id"].tolist())
            stray = sorted(focal - set(everyone))
            if stray:
                raise LabelFormatError("focal id not among all_ids", path=csv_path, group=g, sequence=s, expected=sorted(everyone), found=stray)
            per_seq[(g, s)] = {i: {"focal": i in focal} for i in everyone}
    else:
        fields = [category_column] if csv_type == "category" else (
            list(field_columns) if field_columns is not None else [c for c in df.columns if c not in ("group", "sequence", id_col, "_id")])
        for (g, s), sub in df.groupby(["group", "sequence"], sort=True):
            tags: dict[int, dict[str, Any]] = {}
            for rec in sub[["_id"] + fields].itertuples(index=False):
                i = int(rec[0])
                cur = tags.setdefault(i, {})
                for f, v in zip(fields, rec[1:]):
                    v = v.strip() if isinstance(v, str) else v
                    if v == "" or v is None:
                        continue
                    if f in cur and cur[f] != v:
                        raise LabelFormatError("id tags CSV gives one (recording, id, field) two values", path=csv_path, group=g, sequence=s,
                                               expected=f"id {i} {f}={cur[f]!r}", found=repr(v))
                    cur[f] = v
            per_seq[(g, s)] = tags
    docs = [_merged_doc(ds, kind, g, s, tags, {"source_csv": str(csv_path), "csv_type": csv_type}, overwrite) for (g, s), tags in per_seq.items()]
    return [atomic_write_json(path, doc) for path, doc in docs]


def _ids_for(all_ids, group: str, sequence: str, path: Path) -> list[int]:
    if isinstance(all_ids, Mapping):
        v = all_ids.get(f"{group}/{sequence}", all_ids.get((group, sequence), all_ids.get(sequence)))
        if v is None:
            raise ConfigError("all_ids has no entry for this recording", path=path, group=group, sequence=sequence,
                              expected="key 'group/sequence'", found=sorted(map(str, all_ids))[:10])
        return sorted(int(x) for x in v)
    return sorted(int(x) for x in all_ids)


def load_id_labels(
    ds: DatasetCore, kind: str = "id_tags", groups: Iterable[str] | None = None, sequences: Iterable[str] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Tags of every recording of ``kind`` (optionally only some groups/sequences).

    Returns
    -------
    dict
        ``{(group, sequence): {'labels': {id: {field: value}}, 'sequence_safe': safe sequence name,
        'path': Path, 'metadata': dict}}``.
    """
    folder = labels_dir(ds, kind)
    groups = None if groups is None else {groups} if isinstance(groups, str) else set(groups)
    sequences = None if sequences is None else {sequences} if isinstance(sequences, str) else set(sequences)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if not folder.exists():
        return out
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            doc = _read_doc(path)
        except LabelFormatError:
            if path.name == "conversion_report.json":
                continue
            raise
        g, s = str(doc["group"]), str(doc["sequence"])
        if (groups is not None and g not in groups) or (sequences is not None and s not in sequences):
            continue
        out[(g, s)] = {
            "labels": {int(k): dict(v) for k, v in doc["labels"].items()},
            "sequence_safe": to_safe_name(s),
            "path": path,
            "metadata": doc.get("metadata") or {},
        }
    return out
