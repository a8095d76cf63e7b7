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
from mosaic.core.errors import SchemaError, TrackFormatError, check_identity
from mosaic.core.executor import release_unused_memory
from mosaic.core.paths import check_regular_file

from .schema import TREX_V1, validate_trex_v1

META_KEY = b"mosaic"


#: parquet settings: snappy (fast, universally readable), dictionary encoding only for the
#: constant/low-cardinality name columns (dictionary-encoding float columns costs time and
#: gains nothing on continuous values).
COMPRESSION = "snappy"
DICTIONARY_COLUMNS = ("group", "sequence", "id", "collection", "source_group")
#: min/max statistics (for row-group filtering) only where filters are common
STATISTICS_COLUMNS = ("frame", "time", "id")


def _release_arrow_pool() -> None:
    """Return the free pages arrow's allocator (mimalloc/jemalloc) keeps to the system."""
    pa.default_memory_pool().release_unused()


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
    release_unused_memory()  # the converter's freed temporaries: the writer's buffers reuse nothing of them
    try:
        with atomic_path(path) as tmp:
            pq.write_table(
                table,
                tmp,
                compression=COMPRESSION,
                use_dictionary=[c for c in DICTIONARY_COLUMNS if c in table.column_names],
                write_statistics=[c for c in STATISTICS_COLUMNS if c in table.column_names],
            )
    finally:
        del table
        release_unused_memory()  # the writer's page buffers (~10-15 MB kept by arrow's allocator otherwise)
    return path


def read_tracks_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The mosaic metadata stored in a track file (fps, cm_per_pixel, keypoints, source...)."""
    path = check_regular_file(path, TrackFormatError)
    try:
        md = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid) as exc:
        raise TrackFormatError("not a readable parquet track file", path=path, found=str(exc).splitlines()[0]) from exc
    raw = md.get(META_KEY)
    return json.loads(raw) if raw else {}


def _column_values(col: pa.ChunkedArray) -> Any:
    """One parquet column as a numpy array owned by numpy or, for non-numeric types, pandas values.

    Numeric and boolean columns become numpy arrays with nulls as NaN (integers as float64)
    as in ``to_pandas``. A zero-copy view of arrow's buffer is copied once into numpy memory
    so arrow's allocator (which keeps freed pages around) holds nothing after the read: with
    one column in flight at a time, that copy is cheap and lowers the peak.
    """
    t = col.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        arr = col.chunk(0).to_numpy(zero_copy_only=False) if col.num_chunks == 1 else col.to_numpy()
        if not arr.flags.writeable:  # a view of arrow's buffer
            arr = arr.copy()
        return arr
    return col.to_pandas().array  # categorical for dictionary columns, strings, ... as pandas reads them


def _requested_columns(available: list[str], columns: list[str] | None, path: Path) -> list[str]:
    """The columns to read, each once (all when None); a requested column that is absent is an error."""
    if columns is None:
        return list(available)
    columns = list(dict.fromkeys(columns))
    absent = [c for c in columns if c not in available]
    if absent:
        raise SchemaError(
            "track file lacks requested columns", path=path, expected=list(columns), found=f"missing {absent}"
        )
    return columns


def read_track_arrays(path: str | os.PathLike, columns: list[str] | None = None) -> dict[str, Any]:
    """Read columns of a standardized track file as numpy arrays, one column at a time.

    Never a whole arrow table converted to pandas (``read_table().to_pandas()`` holds two
    copies of every column at once): each column is read (:class:`pyarrow.parquet.ParquetFile`),
    moved into numpy memory and its arrow buffers freed before the next one, so the peak is
    the data once plus one column in flight.

    Parameters
    ----------
    path
        A ``trex_v1`` parquet file (any parquet file works).
    columns
        Columns to read, in this order (all when None).

    Returns
    -------
    dict
        ``{name: values}``: numpy arrays for numeric/bool columns (int columns with nulls
        become float64 with NaN, as in pandas), pandas arrays (e.g. ``Categorical`` for the
        dictionary-encoded ``group``/``sequence``) otherwise.

    Raises
    ------
    TrackFormatError
        The file is missing or not readable parquet.
    SchemaError
        A requested column is absent.
    """
    path = Path(path)
    if not path.exists():
        raise TrackFormatError("track file not found", path=path)
    check_regular_file(path, TrackFormatError)
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise TrackFormatError("not a readable parquet track file", path=path, found=str(exc).splitlines()[0]) from exc
    try:
        columns = _requested_columns(pf.schema_arrow.names, columns, path)
        single = pf.metadata.num_row_groups == 1
        out: dict[str, Any] = {}
        for name in columns:  # one column at a time: at most one column held twice, briefly
            # one thread: a single column gains nothing from the pool, and buffers freed on other
            # threads would stay in their allocator heaps (release_unused only sees this one)
            col = (
                pf.read_row_group(0, columns=[name], use_threads=False)
                if single
                else pf.read(columns=[name], use_threads=False)
            ).column(0)
            out[name] = _column_values(col)
            del col
            _release_arrow_pool()  # the column's pages and buffers; arrow's allocator keeps them otherwise
        return out
    except (OSError, pa.ArrowInvalid) as exc:
        raise TrackFormatError("not a readable parquet track file", path=path, found=str(exc).splitlines()[0]) from exc
    finally:
        pf.close()


def read_tracks(
    path: str | os.PathLike, columns: list[str] | None = None, *, group: str | None = None, sequence: str | None = None
) -> pd.DataFrame:
    """Read a standardized track file (only ``columns`` when given).

    Built from :func:`read_track_arrays` without consolidating columns into 2-D blocks, so
    reading holds the data once plus one column in flight (not two copies of the table).
    With ``group``/``sequence``, the recording the file records (its metadata, else its
    ``group``/``sequence`` columns) must be that one.

    Raises
    ------
    TrackFormatError
        The file is missing, not parquet, or lacks a requested column.
    IdentityError
        The file belongs to another recording than ``(group, sequence)``.
    """
    if os.path.exists(path):
        check_regular_file(path, TrackFormatError)  # a FIFO would block the first open below
    check = group is not None or sequence is not None
    recorded: dict[str, Any] = {}
    if check and Path(path).exists():
        meta = read_tracks_meta(path)
        recorded = {k: meta.get(k) for k in ("group", "sequence") if meta.get(k) not in (None, "")}
        check_identity(path, {"group": group, "sequence": sequence}, recorded, "track file")
    if _has_pandas_index(path):  # written by pandas with its index stored as a column: let pandas rebuild it
        try:
            df = pq.read_table(path, columns=columns).to_pandas()
        except (OSError, pa.ArrowInvalid) as exc:
            raise TrackFormatError(
                "not a readable parquet track file", path=path, found=str(exc).splitlines()[0]
            ) from exc
    else:
        df = pd.DataFrame(read_track_arrays(path, columns), copy=False)
    if check and len(recorded) < 2 and len(df):  # no identity in the metadata: the name columns speak for the file
        found = {}
        for k in ("group", "sequence"):
            if k in df.columns:
                vals = pd.unique(df[k].astype(str))
                found[k] = vals[0] if len(vals) == 1 else f"{len(vals)} recordings: {list(vals[:3])}"
        check_identity(path, {"group": group, "sequence": sequence}, found, "track file")
    return df


def _has_pandas_index(path: str | os.PathLike) -> bool:
    """True when pandas metadata in the file names a stored index column (not ``write_tracks`` output)."""
    try:
        md = pq.read_schema(path).metadata or {}
        info = json.loads(md[b"pandas"]) if b"pandas" in md else {}
    except (OSError, pa.ArrowInvalid, ValueError):
        return False  # read_track_arrays names the problem
    return any(isinstance(c, str) for c in info.get("index_columns", []))
