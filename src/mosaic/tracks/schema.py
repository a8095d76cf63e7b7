"""The ``trex_v1`` standardized track schema and its validator.

One parquet file per (group, sequence), long format, one row per (frame, individual).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import SchemaError

TREX_V1 = "trex_v1"
REQUIRED_COLUMNS = ("frame", "time", "id", "X", "Y", "group", "sequence")
POSE_COLUMN = re.compile(r"^pose([XYP])(\d+)$")


@dataclass(frozen=True)
class Schema:
    """Name, required columns and a one-line description of a track schema."""

    name: str
    required: tuple[str, ...]
    description: str


SCHEMAS = {
    TREX_V1: Schema(
        TREX_V1,
        REQUIRED_COLUMNS,
        "long table, one row per (frame, id): frame int64 (0-based), time float64 s, id, X/Y float64 px "
        "(body centre), group, sequence; optional ANGLE (rad), SPEED, poseX<k>/poseY<k>/poseP<k>; NaN for missing",
    )
}


def list_schemas() -> list[str]:
    """Names of the track schemas mosaic knows."""
    return sorted(SCHEMAS)


def pose_keypoint_indices(columns) -> list[int]:
    """Sorted keypoint indices k that have both ``poseX<k>`` and ``poseY<k>`` columns."""
    xs = {int(m.group(2)) for c in columns if (m := POSE_COLUMN.match(c)) and m.group(1) == "X"}
    ys = {int(m.group(2)) for c in columns if (m := POSE_COLUMN.match(c)) and m.group(1) == "Y"}
    return sorted(xs & ys)


def validate_trex_v1(df: pd.DataFrame, *, path=None, group=None, sequence=None) -> None:
    """Check ``df`` against ``trex_v1``; raise :class:`SchemaError` naming what is wrong.

    Checks: required columns; ``frame`` integer and non-negative; ``time``/``X``/``Y``/pose
    numeric and free of ``inf``; ``id`` never missing; (frame, id) unique; rows sorted by
    (frame, id).
    """
    ctx = dict(path=path, group=group, sequence=sequence)
    _check_columns(df, ctx)
    _check_numeric(df, ctx)
    if len(df) == 0:
        return
    _check_ids_and_order(df, ctx)


def _check_columns(df: pd.DataFrame, ctx: dict[str, Any]) -> None:
    """Required columns present; ``frame`` integer and non-negative."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            "track table lacks required trex_v1 columns",
            expected=list(REQUIRED_COLUMNS),
            found=missing and f"missing {missing}",
            **ctx,
        )
    if not pd.api.types.is_integer_dtype(df["frame"]):
        raise SchemaError("'frame' must be integer", expected="int64", found=str(df["frame"].dtype), **ctx)
    frames = df["frame"].to_numpy()
    if len(frames) and frames.min() < 0:
        raise SchemaError("'frame' has negative values", expected="frame >= 0", found=int(frames.min()), **ctx)


def _check_numeric(df: pd.DataFrame, ctx: dict[str, Any]) -> None:
    """``time``/``X``/``Y``/pose/``ANGLE``/``SPEED`` numeric and free of ``inf``."""
    numeric = (
        ["time", "X", "Y"]
        + [c for c in df.columns if POSE_COLUMN.match(c)]
        + [c for c in ("ANGLE", "SPEED") if c in df.columns]
    )
    for c in numeric:
        if not pd.api.types.is_numeric_dtype(df[c]):
            raise SchemaError(f"column {c!r} must be numeric", expected="float64", found=str(df[c].dtype), **ctx)
        v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(v).any():
            raise SchemaError(
                f"column {c!r} holds inf; missing values must be NaN",
                expected="finite or NaN",
                found=f"{int(np.isinf(v).sum())} inf",
                **ctx,
            )


def _check_ids_and_order(df: pd.DataFrame, ctx: dict[str, Any]) -> None:
    """``id`` never missing; rows sorted by (frame, id) and unique."""
    if df["id"].isna().any():
        raise SchemaError(
            "'id' has missing values",
            expected="an id on every row",
            found=f"{int(df['id'].isna().sum())} missing",
            **ctx,
        )
    frames = df["frame"].to_numpy()
    ids = df["id"].to_numpy()
    if len(frames) > 1:
        same = frames[1:] == frames[:-1]
        order_ok = (frames[1:] > frames[:-1]) | (same & (ids[1:] > ids[:-1]))
        if not order_ok.all():
            i = int(np.argmin(order_ok))
            if same[i] and ids[i + 1] == ids[i]:
                raise SchemaError(
                    "duplicate (frame, id) rows",
                    expected="unique (frame, id)",
                    found=f"frame {frames[i]}, id {ids[i]}",
                    **ctx,
                )
            raise SchemaError(
                "rows not sorted by (frame, id)",
                expected="ascending (frame, id)",
                found=f"row {i + 1}: frame {frames[i + 1]} after {frames[i]}",
                **ctx,
            )
