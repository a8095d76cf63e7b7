"""The scope of a run: which recordings, which frames."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, SequenceNotFoundError


def _natural_key(s: str) -> tuple:
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(s)) if t)


def _as_list(v: Any) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def select_sequences(ds: DatasetCore, groups: Any = None, sequences: Any = None) -> pd.DataFrame:
    """Rows of ``tracks/index.csv`` in scope, ordered by group then (natural) sequence order.

    Raises
    ------
    SequenceNotFoundError
        A requested group or sequence is not in the tracks index.
    """
    idx = ds.tracks_index()
    groups, sequences = _as_list(groups), _as_list(sequences)
    tpath = ds.get_root("tracks") / "index.csv"
    if groups is not None:
        unknown = sorted(set(groups) - set(idx["group"]))
        if unknown:
            raise SequenceNotFoundError(
                "unknown group(s)", path=tpath, expected=sorted(set(idx["group"])), found=unknown
            )
        idx = idx[idx["group"].isin(groups)]
    if sequences is not None:
        unknown = sorted(set(sequences) - set(idx["sequence"]))
        if unknown:
            raise SequenceNotFoundError(
                "unknown sequence(s)", path=tpath, expected=sorted(set(idx["sequence"])), found=unknown
            )
        idx = idx[idx["sequence"].isin(sequences)]
    idx = idx.drop_duplicates(["group", "sequence"]).reset_index(drop=True)
    order = sorted(range(len(idx)), key=lambda k: (idx["group"].iloc[k], _natural_key(idx["sequence"].iloc[k])))
    return idx.iloc[order].reset_index(drop=True)


def _frame_filters(
    ds: DatasetCore, start_frame, end_frame, start_time, end_time
) -> tuple[int | None, int | None] | None:
    if start_frame is not None and start_time is not None:
        raise ConfigError("give filter_start_frame or filter_start_time, not both", found=(start_frame, start_time))
    if end_frame is not None and end_time is not None:
        raise ConfigError("give filter_end_frame or filter_end_time, not both", found=(end_frame, end_time))
    if start_time is not None or end_time is not None:
        fps = ds.meta.get("fps_default")
        if not fps or not float(fps) > 0:
            raise ConfigError(
                "time filters need meta['fps_default'] in the dataset manifest",
                path=ds.manifest_path,
                expected="fps_default > 0",
                found=fps,
                hint="set ds.meta['fps_default'] and ds.save(), or filter by frames",
            )
        fps = float(fps)
        if start_time is not None:
            start_frame = math.ceil(float(start_time) * fps - 1e-9)
        if end_time is not None:
            end_frame = math.ceil(float(end_time) * fps - 1e-9)
    if start_frame is None and end_frame is None:
        return None
    for v in (start_frame, end_frame):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < 0):
            raise ConfigError("frame filters must be non-negative integers", expected="int >= 0", found=v)
    if start_frame is not None and end_frame is not None and end_frame <= start_frame:
        raise ConfigError("empty frame filter", expected="start < end (end excluded)", found=(start_frame, end_frame))
    return (None if start_frame is None else int(start_frame), None if end_frame is None else int(end_frame))


def _fmt(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) and f > 0 else None
