"""Reading a feature run back: its files, one recording at a time, or one table."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import FeatureError, check_identity

from ..base import Result
from .index import _resolve_upstream
from .scope import _as_list


def feature_files(
    ds: DatasetCore, name: str, run_id: str | None = None, groups: Any = None, sequences: Any = None
) -> pd.DataFrame:
    """Index rows (with ``path`` resolved) of one run of ``name`` (latest when ``run_id`` is None).

    Raises
    ------
    FeatureError
        The feature never ran, or ``run_id`` is unknown.
    """
    _, rows = _resolve_upstream(ds, Result(name, run_id))
    groups, sequences = _as_list(groups), _as_list(sequences)
    if groups is not None:
        rows = rows[rows["group"].isin(groups)]
    if sequences is not None:
        rows = rows[rows["sequence"].isin(sequences)]
    rows = rows.copy()
    rows["path"] = [str(ds.resolve_path(p)) for p in rows["abs_path"]]
    return rows.reset_index(drop=True)


def iter_feature(
    ds: DatasetCore,
    name: str,
    run_id: str | None = None,
    groups: Any = None,
    sequences: Any = None,
    columns: list[str] | None = None,
) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Yield ``(group, sequence, table)`` of one run, one recording at a time (bounded memory)."""
    rows = feature_files(ds, name, run_id, groups, sequences)
    for g, s, p, rid in zip(rows["group"], rows["sequence"], rows["path"], rows["run_id"], strict=True):
        yield g, s, read_listed_file(p, g, s, columns, identity={"feature": name, "run_id": rid})


def read_listed_file(
    path: str, group: str, sequence: str, columns: list[str] | None, identity: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Read one output file the feature index lists (a missing file is a named :class:`FeatureError`)."""
    if not os.path.exists(path):
        raise FeatureError(
            "feature output listed in the index is missing",
            path=path,
            group=group,
            sequence=sequence,
            hint="rerun with overwrite=True",
        )
    return _read_feature_file(path, group, sequence, columns, identity=identity)


def _check_feature_identity(path: str, requested: dict[str, Any]) -> Any:
    """Raise :class:`IdentityError` when a feature file's ``mosaic`` metadata contradicts ``requested``.

    Returns the file's schema.
    """
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(b"mosaic")
    try:
        recorded = json.loads(raw) if raw else {}
    except ValueError:
        recorded = {}
    check_identity(path, requested, recorded if isinstance(recorded, dict) else {}, "feature file")
    return schema


def _read_feature_file(
    path: str, group: str, sequence: str, columns: list[str] | None, identity: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Read one feature parquet; damaged files and absent columns give a named :class:`FeatureError`.

    The identity the file records (``mosaic`` metadata: feature, run_id, group, sequence)
    must match the request; a file of another recording or run raises :class:`IdentityError`.
    """
    import pyarrow as pa

    try:
        schema = _check_feature_identity(path, {"group": group, "sequence": sequence, **(identity or {})})
        if columns is not None:
            absent = [c for c in columns if c not in schema.names]
            if absent:
                raise FeatureError(
                    "feature output lacks requested columns",
                    path=path,
                    group=group,
                    sequence=sequence,
                    expected=list(columns),
                    found=f"missing {absent}",
                )
        return pd.read_parquet(path, columns=columns)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise FeatureError(
            "feature output is not readable parquet",
            path=path,
            group=group,
            sequence=sequence,
            found=str(exc).splitlines()[0],
            hint="rerun the feature with overwrite=True",
        ) from exc


def load_feature(
    ds: DatasetCore,
    name: str,
    run_id: str | None = None,
    groups: Any = None,
    sequences: Any = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """One run of feature ``name`` (the latest when ``run_id`` is None) as one table.

    Columns ``group``, ``sequence`` come first, then the feature's key and values.
    """
    parts = []
    for g, s, df in iter_feature(ds, name, run_id, groups, sequences, columns):
        df.insert(0, "sequence", s)
        df.insert(0, "group", g)
        parts.append(df)
    if not parts:
        return pd.DataFrame(columns=["group", "sequence"])
    return pd.concat(parts, ignore_index=True)


def load_result(ds: DatasetCore, result: Result | Iterable, **kwargs: Any) -> pd.DataFrame:
    """:func:`load_feature` of a :class:`Result` (its feature and run_id)."""
    return load_feature(ds, result.feature, result.run_id, **kwargs)
