"""Reading and writing standardized (``trex_v1``) track files.

Parquet, written atomically and validated on every write; dataset-level facts (fps,
cm_per_pixel, keypoint names, source format and files) ride in the parquet metadata.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import SchemaError, TrackFormatError

from .schema import TREX_V1, validate_trex_v1

META_KEY = b"mosaic"


#: parquet settings: snappy (fast, universally readable), dictionary encoding only for the
#: constant/low-cardinality name columns (dictionary-encoding float columns costs time and
#: gains nothing on continuous values).
COMPRESSION = "snappy"
DICTIONARY_COLUMNS = ("group", "sequence", "id", "collection")
#: min/max statistics (for row-group filtering) only where filters are common
STATISTICS_COLUMNS = ("frame", "time", "id")


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    """Arrow table of ``df``; numpy numeric columns zero-copy with NaN kept as NaN (not null).

    Missing values in ``trex_v1`` are NaN by contract: storing them as NaN instead of Arrow
    nulls skips a validity bitmap and makes reading back about twice as fast.
    """
    arrays, names = [], []
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, np.dtype) and col.dtype.kind in "fiub":
            arrays.append(pa.array(col.to_numpy(), from_pandas=False))
        else:
            arrays.append(pa.Array.from_pandas(col))
        names.append(str(name))
    return pa.Table.from_arrays(arrays, names=names)


def write_tracks(df: pd.DataFrame, path: str | os.PathLike, meta: dict[str, Any] | None = None) -> Path:
    """Validate ``df`` as ``trex_v1`` and write it to ``path`` atomically with ``meta``.

    Raises
    ------
    SchemaError
        ``df`` is not a valid ``trex_v1`` table (nothing is written).
    """
    path = Path(path)
    group = str(df["group"].iloc[0]) if "group" in df and len(df) else None
    sequence = str(df["sequence"].iloc[0]) if "sequence" in df and len(df) else None
    validate_trex_v1(df, path=path, group=group, sequence=sequence)
    table = _to_arrow(df)
    info = {"schema": TREX_V1, **(meta or {})}
    md = dict(table.schema.metadata or {})
    md[META_KEY] = json.dumps(info, default=str).encode("utf-8")
    table = table.replace_schema_metadata(md)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=COMPRESSION,
                       use_dictionary=[c for c in DICTIONARY_COLUMNS if c in table.column_names],
                       write_statistics=[c for c in STATISTICS_COLUMNS if c in table.column_names])
    return path


def read_tracks_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The mosaic metadata stored in a track file (fps, cm_per_pixel, keypoints, source...)."""
    path = Path(path)
    try:
        md = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid) as exc:
        raise TrackFormatError("not a readable parquet track file", path=path, found=str(exc).splitlines()[0]) from exc
    raw = md.get(META_KEY)
    return json.loads(raw) if raw else {}


def read_tracks(path: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a standardized track file (only ``columns`` when given).

    Raises
    ------
    TrackFormatError
        The file is missing, not parquet, or lacks a requested column.
    """
    path = Path(path)
    if not path.exists():
        raise TrackFormatError("track file not found", path=path)
    try:
        if columns is not None:
            available = pq.read_schema(path).names
            absent = [c for c in columns if c not in available]
            if absent:
                raise SchemaError("track file lacks requested columns", path=path, expected=list(columns), found=f"missing {absent}")
        return pq.read_table(path, columns=columns).to_pandas()
    except (OSError, pa.ArrowInvalid) as exc:
        raise TrackFormatError("not a readable parquet track file", path=path, found=str(exc).splitlines()[0]) from exc
