"""SLEAP analysis CSV (``*.analysis.csv``, "Export Analysis CSV") → ``trex_v1``.

Header ``track,frame_idx,instance.score,<node>.x,<node>.y,<node>.score,...``; one row per
(frame, instance), only frames with instances; ``track`` empty when untracked; ``nan``
written literally (user instances have empty/``nan`` scores).

* Nodes: the ``<node>.x``/``<node>.y`` column pairs in header order (node names may contain
  dots: the suffix is split off) → ``poseX<k>``/``poseY<k>``; ``<node>.score`` → ``poseP<k>``
  (NaN when the column is absent or empty). ``X``/``Y`` = NaN-mean of the nodes.
* Ids: track names in order of first appearance get ids 0..n-1 (names in the metadata).
  Untracked rows follow ``untracked`` like ``sleap_slp``: ``'order'`` (default; ids
  ``n_tracks + r`` for the r-th untracked row of the frame, a per-frame rank, not an
  identity), ``'drop'`` or ``'error'``. Two rows with the same (frame, id): ``duplicates``
  ``'best'`` (higher ``instance.score``) or ``'error'``.
* ``frame`` = ``frame_idx``; fps comes from params (the file has none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param

from ..table import (
    CALIBRATION_PARAMETERS,
    TrackTable,
    base_meta,
    build_table,
    calibration,
    frames_as_int,
    nan_centroid,
    pose_columns,
)
from ._numeric import read_csv_table
from .sleap_slp import DUPLICATE_MODES, UNTRACKED_MODES, _choice, assign_ids
from .sleap_slp import PARAMETERS as _SLP

PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "untracked": _SLP["untracked"],
    "duplicates": _SLP["duplicates"],
}


def _nodes(columns: list[str], path: Path) -> list[str]:
    nodes = []
    for c in columns:
        if c.endswith(".x"):
            name = c[:-2]
            if f"{name}.y" not in columns:
                raise TrackFormatError(
                    "SLEAP analysis CSV has an x column without its y", path=path, expected=f"{name}.y", found=columns
                )
            nodes.append(name)
    return nodes


def _read_table(path: Path, ctx: dict[str, Any]) -> pd.DataFrame:
    """Read the CSV (``track`` as text, ``nan`` literal as missing)."""
    return read_csv_table(
        path,
        "SLEAP analysis CSV",
        "header track,frame_idx,... and rows",
        group=ctx["group"],
        sequence=ctx["sequence"],
        dtype={"track": str},
        keep_default_na=False,
        na_values=["", "nan", "NaN"],
        low_memory=False,
    )


def _check_layout(df: pd.DataFrame, path: Path, ctx: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """Return (node names, frame numbers); reject a table that is not a non-empty analysis CSV."""
    cols = [str(c) for c in df.columns]
    lack = [c for c in ("track", "frame_idx") if c not in cols]
    nodes = _nodes(cols, path)
    if lack or not nodes:
        raise TrackFormatError(
            "not a SLEAP analysis CSV",
            expected="columns track, frame_idx, instance.score, <node>.x, <node>.y, <node>.score",
            found=cols[:10],
            **ctx,
        )
    if not len(df):
        raise TrackFormatError(
            "SLEAP analysis CSV has no rows", expected="one row per (frame, instance)", found=0, **ctx
        )
    frame = frames_as_int(df["frame_idx"].to_numpy(), path=path, what="frame_idx")
    if (frame < 0).any():
        raise TrackFormatError(
            "negative frame_idx in SLEAP analysis CSV", expected=">= 0", found=int(frame.min()), **ctx
        )
    return nodes, frame


def _track_codes(df: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Return (track names in order of first appearance, per-row track index, -1 when untracked)."""
    names_col = df["track"].fillna("").astype(str).str.strip().to_numpy()
    tracked = names_col != ""
    track_names, first = np.unique(names_col[tracked], return_index=True)
    track_names = [str(n) for n in track_names[np.argsort(first)]]
    code = {n: i for i, n in enumerate(track_names)}
    track = np.full(len(df), -1, dtype=np.int64)
    if tracked.any():
        track[tracked] = pd.Series(names_col[tracked]).map(code).to_numpy(dtype=np.int64)
    return track_names, track


def _numeric(df: pd.DataFrame, col: str, ctx: dict[str, Any]) -> np.ndarray:
    """Return column ``col`` as float64 (all NaN when absent); reject non-numeric cells."""
    if col not in df:
        return np.full(len(df), np.nan)
    try:
        return pd.to_numeric(df[col], errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise TrackFormatError(
            f"SLEAP analysis CSV column {col!r} is not numeric",
            expected="numbers or nan",
            found=str(exc).splitlines()[0],
            **ctx,
        ) from exc


def convert_csv(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert one SLEAP analysis CSV into one recording."""
    if len(paths) != 1:
        raise ConfigError("a SLEAP CSV conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    ctx: dict[str, Any] = {"path": path, "group": group, "sequence": sequence}
    untracked = _choice(params, "untracked", UNTRACKED_MODES, path)
    duplicates = _choice(params, "duplicates", DUPLICATE_MODES, path)
    calib = calibration(params, path=path, fps_hint="SLEAP CSV files carry no fps: pass {'fps': <video fps>}")
    df = _read_table(path, ctx)
    nodes, frame = _check_layout(df, path, ctx)
    track_names, track = _track_codes(df)
    score = _numeric(df, "instance.score", ctx)
    n_tracks = len(track_names)
    ids, order, counts = assign_ids(frame, track, score, n_tracks, untracked=untracked, duplicates=duplicates, ctx=ctx)
    if not len(order):
        raise TrackFormatError(
            "SLEAP analysis CSV has no rows left after untracked='drop'",
            expected="at least one tracked row",
            found=0,
            **ctx,
        )
    xs = np.stack([_numeric(df, f"{n}.x", ctx)[order] for n in nodes], axis=1)
    ys = np.stack([_numeric(df, f"{n}.y", ctx)[order] for n in nodes], axis=1)
    ps = np.stack([_numeric(df, f"{n}.score", ctx)[order] for n in nodes], axis=1)
    extra = pose_columns(np.stack([xs, ys], axis=-1), ps)
    extra["instance_score"] = score[order]
    table = build_table(
        frame[order],
        ids[order],
        nan_centroid(xs),
        nan_centroid(ys),
        group=group,
        sequence=sequence,
        fps=calib["fps"],
        extra=extra,
        sort=False,
    )
    ind_names: dict[int, str] = dict(enumerate(track_names))
    ind_names.update({int(j): f"untracked{int(j) - n_tracks}" for j in np.unique(ids[order]) if j >= n_tracks})
    meta = base_meta(
        "sleap_csv",
        [path],
        **calib,
        keypoint_names=nodes,
        individual_names=ind_names,
        tracked=bool(n_tracks),
        untracked=untracked,
        **counts,
        position="centroid (nan-mean) of nodes",
        frame="frame_idx; frames without instances have no rows",
    )
    return [TrackTable(group, sequence, table, meta)]
