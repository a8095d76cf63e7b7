"""Reading and writing every ``index.csv`` atomically, with declared columns.

Each root keeps an ``index.csv``. A domain declares its index with an :class:`IndexSchema`
(required columns, optional columns, key columns). Reads validate the columns and raise
:class:`IndexFileError` naming the file; writes are atomic; :func:`upsert_index` merges new
rows under an exclusive file lock so that concurrent processes lose no rows.

Path columns (``abs_path`` and every column ending in ``_path``) hold paths relative to the
dataset folder; :mod:`mosaic.core.dataset` rewrites them for portability.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .atomic import atomic_write_text, storage_error
from .errors import IndexFileError, IndexNotFoundError
from .limits import check_file_size, max_index_bytes
from .paths import check_output_path, check_regular_file

NAME_COLUMNS = ("group", "sequence", "group_safe", "sequence_safe")


@dataclass(frozen=True)
class IndexSchema:
    """Declared layout of one kind of ``index.csv``.

    Parameters
    ----------
    name
        Which index this is (for messages), e.g. ``"tracks"``.
    columns
        Required columns, in the order they are written.
    key
        Columns that identify a row; an upsert replaces rows with the same key.
    text_columns
        Columns always read as strings (never ``"001"`` → ``1``); missing values read as ``""``.
    """

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    text_columns: tuple[str, ...] = field(default=NAME_COLUMNS + ("abs_path",))


def is_path_column(column: str) -> bool:
    """True for columns that store dataset-relative paths."""
    return column == "abs_path" or column.endswith("_path")


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


_HELD = threading.local()


@contextlib.contextmanager
def index_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive advisory lock for the index at ``path`` (across processes and threads).

    Re-entrant within one thread, so a function holding the lock may call :func:`write_index`.
    The lock file is opened read-only: one created by another user is still usable.

    Raises
    ------
    StorageError
        The lock file cannot be created or opened (read-only dataset, permissions).
    """
    path = Path(path)
    lock = os.path.abspath(_lock_path(path))
    held: set[str] = _HELD.__dict__.setdefault("paths", set())
    if lock in held:
        yield
        return
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        raise storage_error(exc, lock, action="open the index lock") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        held.add(lock)
        try:
            yield
        finally:
            held.discard(lock)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def read_index(path: str | os.PathLike, schema: IndexSchema | None = None, missing_ok: bool = False) -> pd.DataFrame:
    """Read an index CSV, validating its declared columns.

    Parameters
    ----------
    path
        The ``index.csv``.
    schema
        Declared layout; when None only CSV well-formedness is checked.
    missing_ok
        Return an empty frame with the schema's columns when the file does not exist.

    Raises
    ------
    IndexFileError
        File missing (unless ``missing_ok``), unreadable, or lacking required columns.
    """
    path = Path(path)
    if not path.exists():
        if missing_ok:
            cols = list(schema.columns) if schema else []
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        raise IndexNotFoundError(
            f"{schema.name + ' ' if schema else ''}index not found",
            path=path,
            hint="run the step that builds it (e.g. index/convert) or check the dataset roots",
        )
    text_cols = schema.text_columns if schema else NAME_COLUMNS + ("abs_path",)
    check_regular_file(path, IndexFileError)
    check_file_size(path, max_index_bytes(), "index", IndexFileError)
    raw, df = _parse_csv(path, text_cols)
    if len(df.columns):
        _check_field_counts(raw, len(df.columns), path)
    if schema is not None:
        _check_declared_columns(df, schema, path)
    for c in df.columns:
        if c in text_cols or is_path_column(c):
            df[c] = df[c].fillna("").astype(str)
    return df


def _parse_csv(path: Path, text_cols: Sequence[str]) -> tuple[bytes, pd.DataFrame]:
    """The file's bytes and its table (text and path columns as strings, empty cells of others NaN)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        if not raw.strip():
            df = pd.DataFrame()
        else:
            header = pd.read_csv(io.BytesIO(raw), nrows=0).columns
            dtypes = {c: str for c in header if c in text_cols or is_path_column(c)}
            df = pd.read_csv(
                io.BytesIO(raw),
                dtype=dtypes,
                keep_default_na=False,
                na_values={c: [""] for c in header if c not in dtypes},
            )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise IndexFileError("index is not a readable CSV", path=path, found=str(exc).splitlines()[0]) from exc
    return raw, df


def _check_declared_columns(df: pd.DataFrame, schema: IndexSchema, path: Path) -> None:
    """Refuse an index without a header or lacking a column its schema declares."""
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        if df.empty and len(df.columns) == 0:
            raise IndexFileError(f"{schema.name} index is empty (no header)", path=path, expected=list(schema.columns))
        raise IndexFileError(
            f"{schema.name} index lacks declared columns",
            path=path,
            expected=list(schema.columns),
            found=list(df.columns),
        )


def _check_field_counts(raw: bytes, n_fields: int, path: Path) -> None:
    """Refuse rows whose field count differs from the header (a torn or hand-damaged index)."""
    if csv.field_size_limit() < len(raw):  # a long field (e.g. a big inputs_json) is bounded by the file size cap
        csv.field_size_limit(min(len(raw), max_index_bytes()))
    try:
        rows = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""))
        for line, row in enumerate(rows, 1):
            if row and len(row) != n_fields:
                raise IndexFileError(
                    "index row has the wrong number of fields",
                    path=path,
                    expected=n_fields,
                    found=f"{len(row)} on line {line}",
                )
    except csv.Error as exc:
        raise IndexFileError("index is not a readable CSV", path=path, found=str(exc)) from exc


def _ordered(df: pd.DataFrame, schema: IndexSchema | None) -> pd.DataFrame:
    if schema is None:
        return df
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        raise IndexFileError(
            f"refusing to write {schema.name} index without declared columns",
            expected=list(schema.columns),
            found=list(df.columns),
        )
    extra = [c for c in df.columns if c not in schema.columns]
    return df[list(schema.columns) + extra]


def write_index(path: str | os.PathLike, df: pd.DataFrame, schema: IndexSchema | None = None) -> Path:
    """Write ``df`` to ``path`` atomically, declared columns first, under the index lock.

    A bare ``write_index`` replaces the whole table: to change rows of an index other writers
    may be updating, hold :func:`index_lock` across the read and the write (or use
    :func:`upsert_index`).
    """
    df = _ordered(df, schema)
    if schema is not None and len(df):
        df = df.sort_values(list(schema.key), kind="stable").reset_index(drop=True)
    # QUOTE_NONNUMERIC: pandas does not quote a bare '\r' otherwise, which corrupts the CSV
    text = df.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)
    with index_lock(path):
        return atomic_write_text(path, text)


def upsert_index(
    path: str | os.PathLike,
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    schema: IndexSchema,
    *,
    drop: Iterable[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Merge ``rows`` into the index under an exclusive lock and write it atomically.

    Rows whose key equals a new row's key are replaced; other rows are kept. ``drop`` lists
    keys (mappings of key columns) to remove. Returns the written table.
    """
    new = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    path = Path(path)
    with index_lock(path):
        old = read_index(path, schema, missing_ok=True)
        frames = [old]
        key = list(schema.key)
        if len(new):
            for c in key:
                if c not in new.columns:
                    raise IndexFileError(
                        f"new {schema.name} index rows lack key column {c!r}",
                        path=path,
                        expected=key,
                        found=list(new.columns),
                    )
            new = new.copy()
            for c in key:
                new[c] = new[c].astype(str) if c in schema.text_columns else new[c]
            if len(old):
                old_keys = pd.MultiIndex.from_frame(old[key].astype(str))
                new_keys = pd.MultiIndex.from_frame(new[key].astype(str))
                frames = [old[~old_keys.isin(new_keys)]]
            frames.append(new)
        merged = (
            pd.concat([f for f in frames if len(f.columns)], ignore_index=True)
            if any(len(f.columns) for f in frames)
            else old
        )
        if drop:
            drop_df = pd.DataFrame(list(drop))
            if len(drop_df) and len(merged):
                dk = pd.MultiIndex.from_frame(drop_df[key].astype(str))
                mk = pd.MultiIndex.from_frame(merged[key].astype(str))
                merged = merged[~mk.isin(dk)]
        for c in merged.columns:
            if c in schema.text_columns or is_path_column(c):
                merged[c] = merged[c].fillna("").astype(str)
        write_index(path, merged, schema)
        return merged.reset_index(drop=True)


TRACKS_RAW_INDEX = IndexSchema(
    name="tracks_raw",
    columns=(
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "abs_path",
        "src_format",
        "size_bytes",
        "mtime_iso",
        "md5",
    ),
    key=("abs_path", "group", "sequence"),
    text_columns=NAME_COLUMNS + ("abs_path", "src_format", "mtime_iso", "md5"),
)

TRACKS_INDEX = IndexSchema(
    name="tracks",
    columns=(
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "abs_path",
        "schema",
        "src_format",
        "n_rows",
        "n_frames",
        "n_ids",
        "fps",
    ),
    key=("group", "sequence"),
    text_columns=NAME_COLUMNS + ("abs_path", "schema", "src_format"),
)


#: where a dataset keeps its own indexes: ``(root, glob under the root, columns that identify it)``.
#: Only files at these places whose header holds these columns are ever rewritten.
OWN_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tracks_raw", "index.csv", TRACKS_RAW_INDEX.columns),
    ("tracks", "index.csv", TRACKS_INDEX.columns),
    ("media", "index.csv", ("name", "abs_path", "group", "sequence", "video_order")),
    ("labels", "*/index.csv", ("kind", "label_format", "group", "sequence", "abs_path")),
    ("features", "*/index.csv", ("feature", "version", "run_id", "group", "sequence", "abs_path")),
    ("frames", "index.csv", ("method", "run_id", "group", "sequence", "frames_dir_path", "run_info_path")),
    ("models", "index.csv", ("model", "run_id", "kind", "abs_path")),
)


def index_header(path: str | os.PathLike) -> list[str] | None:
    """The column names on the first line of a CSV (None when unreadable or not a regular file)."""
    try:
        if not Path(path).is_file():
            return None
        with open(path, encoding="utf-8", newline="") as fh:
            line = fh.readline(1 << 16)
        return next(csv.reader([line]), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
