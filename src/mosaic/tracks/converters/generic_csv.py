"""A generic long table (CSV/TSV) with a user column mapping → ``trex_v1``.

Params: ``columns`` maps ``frame``, ``x``, ``y`` (required) and ``id``, ``time``
(optional) to the file's column names, e.g. ``{'frame': 'frame_idx', 'id': 'track',
'x': 'cx', 'y': 'cy'}``; ``sep`` (default ``,``); ``keep_columns`` (list of other columns
to keep under their own names; default: every other numeric column); ``scale`` (divide
x/y by it, e.g. a ``cm_per_pixel`` when the table is in cm; default 1). Non-numeric ids
are numbered in sorted order (names kept in the metadata). ``time`` defaults to
``frame / fps``; ``fps`` from params (required unless a time column is mapped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param

from ..table import CALIBRATION_PARAMETERS, TrackTable, base_meta, build_table, calibration, frames_as_int
from ._numeric import numeric_column, read_csv_table

DEFAULT_COLUMNS = {"frame": "frame", "id": "id", "x": "x", "y": "y", "time": None}
PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "columns": Param(
        DEFAULT_COLUMNS, "Maps `frame`, `x`, `y` (required) and `id`, `time` (optional) to the file's column names."
    ),
    "sep": Param(",", "Field separator."),
    "scale": Param(1.0, "x/y are divided by it (e.g. a cm-per-pixel value when the table is in cm)."),
    "keep_columns": Param(None, "Other columns kept under their own names; `None`: every other numeric column."),
}


def _column_mapping(params: Mapping[str, Any], path: Path) -> tuple[dict[str, Any], Mapping[str, Any]]:
    """Return (full column mapping, the user's part of it); reject unknown keys."""
    mapping = dict(DEFAULT_COLUMNS)
    user = params.get("columns") or {}
    if not isinstance(user, Mapping):
        raise ConfigError(
            "csv 'columns' must map frame/id/x/y/time to column names", path=path, found=type(user).__name__
        )
    unknown = sorted(set(user) - set(DEFAULT_COLUMNS))
    if unknown:
        raise ConfigError("unknown keys in csv 'columns'", path=path, expected=sorted(DEFAULT_COLUMNS), found=unknown)
    mapping.update(user)
    return mapping, user


def _mapped_columns(
    df: pd.DataFrame, mapping: Mapping[str, Any], user: Mapping[str, Any], ctx: dict[str, Any]
) -> list[str]:
    """Return the mapped columns the table must have; reject a table lacking one or without rows."""
    need = [mapping[k] for k in ("frame", "x", "y")]
    if "id" in user and mapping["id"]:
        need.append(mapping["id"])
    if mapping.get("time"):
        need.append(mapping["time"])
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise TrackFormatError(
            "CSV lacks mapped columns", expected=need, found=f"missing {absent}; has {list(df.columns)[:20]}", **ctx
        )
    if len(df) == 0:
        raise TrackFormatError("CSV has no data rows", expected="at least one row", found="header only", **ctx)
    return need


def _individual_ids(df: pd.DataFrame, id_col: str | None) -> tuple[np.ndarray, dict[int, str]]:
    """Return (per-row id, names of non-numeric ids numbered in sorted order); all 0 without an id column."""
    if not (id_col and id_col in df.columns):
        return np.zeros(len(df), dtype=np.int64), {}
    raw = df[id_col]
    if pd.api.types.is_integer_dtype(raw):
        return raw.to_numpy(dtype=np.int64), {}
    codes, uniques = pd.factorize(raw.astype(str), sort=True)
    return codes.astype(np.int64), {i: str(u) for i, u in enumerate(uniques)}


def _extra_columns(
    df: pd.DataFrame, keep: Sequence[str] | None, need: list[str], ctx: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Return the other columns to keep (default: every other numeric one), minus reserved names."""
    used = {c for c in need if c}
    if keep is None:
        keep = [c for c in df.columns if c not in used and pd.api.types.is_numeric_dtype(df[c])]
    absent = [c for c in keep if c not in df.columns]
    if absent:
        raise TrackFormatError("CSV lacks keep_columns", expected=list(keep), found=f"missing {absent}", **ctx)
    reserved = {"frame", "time", "id", "X", "Y", "group", "sequence"}
    return {str(c): df[c].to_numpy() for c in keep if str(c) not in reserved}


def _check_unique_rows(table: pd.DataFrame, ctx: dict[str, Any]) -> None:
    """Reject two rows with the same (frame, id) in the sorted table."""
    ids_sorted = table["id"].to_numpy()
    fr = table["frame"].to_numpy()
    dup = (fr[1:] == fr[:-1]) & (ids_sorted[1:] == ids_sorted[:-1])
    if dup.any():
        i = int(np.argmax(dup))
        raise TrackFormatError(
            "duplicate (frame, id) rows in CSV",
            expected="one row per (frame, id)",
            found=f"frame {fr[i]}, id {ids_sorted[i]}",
            **ctx,
        )


def convert(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert one generic CSV table into one recording."""
    if len(paths) != 1:
        raise ConfigError("a generic CSV conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    ctx = dict(path=path, group=group, sequence=sequence)
    mapping, user = _column_mapping(params, path)
    sep = params.get("sep", ",")
    df = read_csv_table(path, "CSV file", "a header row and data rows", group=group, sequence=sequence, sep=sep)
    need = _mapped_columns(df, mapping, user, ctx)
    frame = frames_as_int(df[mapping["frame"]].to_numpy(), path=path)
    ids, names = _individual_ids(df, mapping.get("id"))
    calib = calibration(params, path=path, fps_required=not mapping.get("time"))
    scale = float(params.get("scale", 1.0))
    extra = _extra_columns(df, params.get("keep_columns"), need, ctx)

    def num(col: str) -> np.ndarray:
        return numeric_column(df[col], col, path=path)

    time = num(mapping["time"]) if mapping.get("time") else None
    table = build_table(
        frame,
        ids,
        num(mapping["x"]) / scale,
        num(mapping["y"]) / scale,
        group=group,
        sequence=sequence,
        fps=calib["fps"],
        time=time,
        extra=extra,
    )
    _check_unique_rows(table, ctx)
    meta = base_meta(
        "csv", [path], **calib, keypoint_names=[], individual_names=names or None, column_mapping=mapping, scale=scale
    )
    return [TrackTable(group, sequence, table, meta)]
