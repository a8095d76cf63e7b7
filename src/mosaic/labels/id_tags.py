"""Per-individual tags (``id_tags``): ``{id: {field: value}}`` per (group, sequence).

Stored as JSON (written atomically) at ``labels/<kind>/<group_safe>__<sequence_safe>.json``::

    {"format": "id_tags_v1", "kind": ..., "group": ..., "sequence": ...,
     "labels": {"<id>": {"<field>": value, ...}, ...}, "metadata": {...}}

for focal animals, strain, treatment, sex...

Older datasets stored the tags of a recording as ``.npz`` (``ids`` and one array per field, all
object arrays, plus ``meta__<key>`` arrays) listed in ``labels/<kind>/index.csv``;
:func:`load_id_labels` reads those too, through :func:`read_legacy_id_tags_npz`, which admits
only numpy arrays of plain values (numbers, strings, booleans, None) and runs no other code.
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
from mosaic.core.errors import ConfigError, InvalidNameError, LabelFormatError
from mosaic.core.safe_names import path_in_root, sequence_key, split_sequence_key, to_safe_name

from .id_tags_csv import CSV_TYPES, read_id_tags_csv  # noqa: F401 (CSV_TYPES stays importable from here)
from .id_tags_legacy import read_legacy_id_tags_npz
from .io import labels_dir, labels_index_path, read_labels_index

ID_TAGS_FORMAT = "id_tags_v1"


def id_labels_path(ds: DatasetCore, kind: str, group: str, sequence: str) -> Path:
    """``labels/<kind>/<group_safe>__<sequence_safe>.json``."""
    return path_in_root(labels_dir(ds, kind), sequence_key(group, sequence) + ".json")


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def _norm_labels(
    per_id_labels: Mapping[Any, Mapping[str, Any]], path: Path, group: str, sequence: str
) -> dict[int, dict[str, Any]]:
    if not isinstance(per_id_labels, Mapping):
        raise ConfigError(
            "per_id_labels must be {id: {field: value}}",
            path=path,
            group=group,
            sequence=sequence,
            found=type(per_id_labels).__name__,
        )
    out: dict[int, dict[str, Any]] = {}
    for k, fields in per_id_labels.items():
        try:
            i = int(k)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                "individual ids must be integers", path=path, group=group, sequence=sequence, found=repr(k)
            ) from exc
        if not isinstance(fields, Mapping):
            raise ConfigError(
                "each id's tags must be {field: value}",
                path=path,
                group=group,
                sequence=sequence,
                found=f"{k!r}: {fields!r}",
            )
        out[i] = {str(f): _py(v) for f, v in fields.items()}
    return out


def _read_doc(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelFormatError("id tags file is not readable JSON", path=path, found=str(exc)) from exc
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("labels"), dict)
        or "group" not in doc
        or "sequence" not in doc
    ):
        raise LabelFormatError(
            "id tags file lacks group/sequence/labels",
            path=path,
            expected=["group", "sequence", "labels"],
            found=sorted(doc) if isinstance(doc, dict) else type(doc).__name__,
        )
    return doc


def _merged_doc(
    ds: DatasetCore, kind: str, group: str, sequence: str, per_id_labels, metadata, overwrite: bool
) -> tuple[Path, dict]:
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
                    raise LabelFormatError(
                        "id tag conflicts with the stored value (pass overwrite=True to replace the file)",
                        path=path,
                        group=group,
                        sequence=sequence,
                        expected=f"id {i} {f}={cur[f]!r}",
                        found=repr(v),
                    )
                cur[f] = v
        labels = merged
        meta = {**(old.get("metadata") or {}), **meta}
    doc = {
        "format": ID_TAGS_FORMAT,
        "kind": kind,
        "group": group,
        "sequence": sequence,
        "labels": {str(i): labels[i] for i in sorted(labels)},
        "metadata": meta,
    }
    return path, doc


def save_id_labels(
    ds: DatasetCore,
    kind: str,
    group: str,
    sequence: str,
    per_id_labels: Mapping[Any, Mapping[str, Any]],
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
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
      ``{<category_column>: value}`` (ids come from the rows). With ``all_ids``, every id of the
      recording without a row gets ``{<category_column>: None}``.
    * ``'multi'``: ``group, sequence, <id_column>, <field columns...>`` — each id gets one field
      per column of ``field_columns`` (default: every other column). Empty cells are left out.
      With ``all_ids``, every id without a row gets each field as None.

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
    per_seq = read_id_tags_csv(csv_path, csv_type, all_ids, focal_id_column, id_column, category_column, field_columns)
    docs = [
        _merged_doc(ds, kind, g, s, tags, {"source_csv": str(csv_path), "csv_type": csv_type}, overwrite)
        for (g, s), tags in per_seq.items()
    ]
    return [atomic_write_json(path, doc) for path, doc in docs]


def _legacy_doc(path: Path, names: Mapping[Path, tuple[str, str]]) -> dict[str, Any] | None:
    """An older id-tags ``.npz`` as the JSON document :func:`save_id_labels` writes (None: a behaviour label file)."""
    arrays = read_legacy_id_tags_npz(path)
    if "ids" not in arrays and "frames" in arrays and "labels" in arrays:
        return None
    if "ids" not in arrays:
        raise LabelFormatError(
            "id tags .npz lacks 'ids'", path=path, expected="'ids' and one array per field", found=sorted(arrays)
        )
    if path.resolve() in names:
        group, sequence = names[path.resolve()]
    else:
        try:
            group, sequence = split_sequence_key(path.stem)
        except InvalidNameError as exc:
            raise LabelFormatError(
                "id tags .npz is neither indexed nor named <group>__<sequence>",
                path=path,
                hint="list it in labels/<kind>/index.csv",
            ) from exc
    ids = arrays.pop("ids").ravel().tolist()
    meta = {
        k.removeprefix("meta__"): _py(np.asarray(v).ravel()[0]) if np.asarray(v).size else None
        for k, v in arrays.items()
        if k.startswith("meta__")
    }
    fields = {k: np.asarray(v).ravel() for k, v in arrays.items() if not k.startswith("meta__")}
    labels: dict[int, dict[str, Any]] = {}
    for n, raw in enumerate(ids):
        try:
            i = int(raw)
        except (TypeError, ValueError) as exc:
            raise LabelFormatError(
                "id tags .npz holds a non-integer id",
                path=path,
                group=group,
                sequence=sequence,
                expected="integer ids",
                found=repr(raw),
            ) from exc
        labels[i] = {f: _value(v[n] if len(v) == len(ids) else (v[0] if len(v) else None)) for f, v in fields.items()}
    return {
        "format": ID_TAGS_FORMAT,
        "group": group,
        "sequence": sequence,
        "labels": {str(i): labels[i] for i in sorted(labels)},
        "metadata": meta,
    }


def _indexed_names(ds: DatasetCore, kind: str) -> dict[Path, tuple[str, str]]:
    if not labels_index_path(ds, kind).exists():
        return {}
    df = read_labels_index(ds, kind)
    return {
        ds.resolve_path(p).resolve(): (str(g), str(s))
        for g, s, p in zip(df["group"], df["sequence"], df["abs_path"], strict=True)
        if p
    }


def load_id_labels(
    ds: DatasetCore,
    kind: str = "id_tags",
    groups: Iterable[str] | None = None,
    sequences: Iterable[str] | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Tags of every recording of ``kind`` (optionally only some groups/sequences).

    Reads the JSON files :func:`save_id_labels` writes and the ``.npz`` files of older datasets
    (a JSON file of the same recording wins).

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
    legacy = sorted(p for p in folder.glob("*.npz") if not p.name.startswith("."))
    names = _indexed_names(ds, kind) if legacy else {}
    for path in legacy + sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            doc = _legacy_doc(path, names) if path.suffix == ".npz" else _read_doc(path)
        except LabelFormatError:
            if path.name == "conversion_report.json":
                continue
            raise
        if doc is None:
            continue
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
