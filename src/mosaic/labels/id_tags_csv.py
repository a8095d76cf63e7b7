"""Reading a CSV of per-individual tags (``focal`` / ``category`` / ``multi`` layouts).

:func:`read_id_tags_csv` validates the whole CSV and returns the tags per recording;
:func:`mosaic.labels.id_tags.convert_id_tags_from_csv` writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, LabelFormatError

__all__ = ["CSV_TYPES", "read_id_tags_csv"]

CSV_TYPES = ("focal", "category", "multi")


def read_id_tags_csv(
    csv_path: Path,
    csv_type: str,
    all_ids: Iterable[int] | Mapping[str, Iterable[int]] | None,
    focal_id_column: str,
    id_column: str,
    category_column: str,
    field_columns: Iterable[str] | None,
) -> dict[tuple[str, str], dict[int, dict[str, Any]]]:
    """``{(group, sequence): {id: {field: value}}}`` of an id tags CSV, validated whole.

    The layouts, parameters and errors are those of
    :func:`mosaic.labels.id_tags.convert_id_tags_from_csv`.
    """
    csv_path = Path(csv_path)
    if csv_type not in CSV_TYPES:
        raise ConfigError("unknown csv_type", path=csv_path, expected=list(CSV_TYPES), found=csv_type)
    if csv_type == "focal" and all_ids is None:
        raise ConfigError(
            "csv_type='focal' needs all_ids (the individuals of each recording)",
            path=csv_path,
            expected="all_ids=[0, 1, ...] or {'group/sequence': [...]}",
            found=None,
        )
    id_col = focal_id_column if csv_type == "focal" else id_column
    need = ["group", "sequence", id_col] + ([category_column] if csv_type == "category" else [])
    if csv_type == "multi" and field_columns is not None:
        need += list(field_columns)
    df = _read_id_tags_csv(csv_path, csv_type, id_col, need)
    if csv_type == "focal":
        per_seq = _focal_tags(df, all_ids, csv_path)
    else:
        fields = [category_column] if csv_type == "category" else _multi_fields(df, id_col, field_columns)
        per_seq = {
            (g, s): _field_tags(sub, fields, all_ids, g, s, csv_path)
            for (g, s), sub in df.groupby(["group", "sequence"], sort=True)
        }
    return per_seq


def _read_id_tags_csv(csv_path: Path, csv_type: str, id_col: str, need: list[str]) -> pd.DataFrame:
    """Read an id tags CSV (all cells as text), check its columns and add the integer ids as ``_id``."""
    try:
        df = pd.read_csv(csv_path, sep=None, engine="python", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise LabelFormatError(
            "id tags CSV is not readable",
            path=csv_path,
            found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        ) from exc
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise LabelFormatError(
            f"id tags CSV ({csv_type}) lacks columns",
            path=csv_path,
            expected=need,
            found=f"missing {missing}; columns {list(df.columns)}",
        )
    ids = pd.to_numeric(df[id_col].str.strip(), errors="coerce")
    if ids.isna().any() or (ids != ids.round()).any():
        bad = df.loc[ids.isna() | (ids != ids.round()), id_col].iloc[0]
        raise LabelFormatError(
            f"id tags CSV column {id_col!r} must hold integer ids", path=csv_path, expected="integers", found=repr(bad)
        )
    df["_id"] = ids.astype(np.int64)
    return df


def _multi_fields(df: pd.DataFrame, id_col: str, field_columns: Iterable[str] | None) -> list[str]:
    """The tag fields of a ``'multi'`` CSV: ``field_columns``, default every column but the keys."""
    if field_columns is not None:
        return list(field_columns)
    return [c for c in df.columns if c not in ("group", "sequence", id_col, "_id")]


def _focal_tags(df: pd.DataFrame, all_ids, csv_path: Path) -> dict[tuple[str, str], dict[int, dict[str, Any]]]:
    """``{'focal': True|False}`` for every id of ``all_ids``, per recording of a ``'focal'`` CSV."""
    per_seq: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for (g, s), sub in df.groupby(["group", "sequence"], sort=True):
        everyone = _ids_for(all_ids, g, s, csv_path)
        focal = set(sub["_id"].tolist())
        stray = sorted(focal - set(everyone))
        if stray:
            raise LabelFormatError(
                "focal id not among all_ids",
                path=csv_path,
                group=g,
                sequence=s,
                expected=sorted(everyone),
                found=stray,
            )
        per_seq[(g, s)] = {i: {"focal": i in focal} for i in everyone}
    return per_seq


def _field_tags(
    sub: pd.DataFrame, fields: list[str], all_ids, g: str, s: str, csv_path: Path
) -> dict[int, dict[str, Any]]:
    """Tags of one recording of a ``'category'``/``'multi'`` CSV (ids of ``all_ids`` without a row get None)."""
    tags: dict[int, dict[str, Any]] = {}
    for rec in sub[["_id"] + fields].itertuples(index=False):
        i = int(rec[0])
        cur = tags.setdefault(i, {})
        for f, v in zip(fields, rec[1:]):
            v = v.strip() if isinstance(v, str) else v
            if v == "" or v is None:
                continue
            if f in cur and cur[f] != v:
                raise LabelFormatError(
                    "id tags CSV gives one (recording, id, field) two values",
                    path=csv_path,
                    group=g,
                    sequence=s,
                    expected=f"id {i} {f}={cur[f]!r}",
                    found=repr(v),
                )
            cur[f] = v
    if all_ids is None:
        return tags
    everyone = _ids_for(all_ids, g, s, csv_path)
    stray = sorted(set(tags) - set(everyone))
    if stray:
        raise LabelFormatError(
            "id tags CSV names ids not among all_ids",
            path=csv_path,
            group=g,
            sequence=s,
            expected=sorted(everyone),
            found=stray,
        )
    for i in everyone:
        tags.setdefault(i, {f: None for f in fields})
    return {i: tags[i] for i in sorted(tags)}


def _ids_for(all_ids, group: str, sequence: str, path: Path) -> list[int]:
    if isinstance(all_ids, Mapping):
        v = all_ids.get(f"{group}/{sequence}", all_ids.get((group, sequence), all_ids.get(sequence)))
        if v is None:
            raise ConfigError(
                "all_ids has no entry for this recording",
                path=path,
                group=group,
                sequence=sequence,
                expected="key 'group/sequence'",
                found=sorted(map(str, all_ids))[:10],
            )
        return sorted(int(x) for x in v)
    return sorted(int(x) for x in all_ids)
