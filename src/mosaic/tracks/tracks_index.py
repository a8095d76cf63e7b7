"""``tracks/index.csv``: where each recording's standardized file lives, and its index rows."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.indexes import TRACKS_INDEX, read_index, upsert_index
from mosaic.core.safe_names import path_in_root, sequence_key, to_safe_name

from .schema import TREX_V1

#: extra (undeclared) columns written to tracks/index.csv
TRACKS_INDEX_EXTRA = (
    "cm_per_pixel",
    "fps_source",
    "cm_per_pixel_source",
    "frame_min",
    "frame_max",
    "keypoint_names",
    "individual_names",
    "source_files",
    "source_fingerprints",
)


def tracks_index_path(ds: DatasetCore) -> Path:
    """``tracks/index.csv``."""
    return ds.get_root("tracks") / "index.csv"


def output_path(ds: DatasetCore, group: str, sequence: str) -> Path:
    """Where the standardized file of (group, sequence) lives: ``tracks/<key>.parquet``."""
    return path_in_root(ds.get_root("tracks"), sequence_key(group, sequence) + ".parquet")


def index_row(ds: DatasetCore, path: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tracks/index.csv`` row of a written file, from its metadata only."""
    g, s = str(meta["group"]), str(meta["sequence"])
    return {
        "group": g,
        "sequence": s,
        "group_safe": to_safe_name(g),
        "sequence_safe": to_safe_name(s),
        "abs_path": ds.relative_path(path),
        "schema": meta.get("schema", TREX_V1),
        "src_format": meta.get("src_format", ""),
        "n_rows": meta.get("n_rows"),
        "n_frames": meta.get("n_frames"),
        "n_ids": meta.get("n_ids"),
        "fps": meta.get("fps"),
        "cm_per_pixel": meta.get("cm_per_pixel"),
        "fps_source": meta.get("fps_source"),
        "cm_per_pixel_source": meta.get("cm_per_pixel_source"),
        "frame_min": meta.get("frame_min"),
        "frame_max": meta.get("frame_max"),
        "keypoint_names": json.dumps(list(meta.get("keypoint_names") or [])),
        "individual_names": json.dumps(meta.get("individual_names") or {}, sort_keys=True, default=str),
        "source_files": json.dumps(list(meta.get("source_files") or [])),
        "source_fingerprints": json.dumps(meta.get("source_fingerprints") or {}, sort_keys=True),
    }


def save_tracks_index_rows(path: str | os.PathLike, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Upsert rows into ``tracks/index.csv`` (locked, atomic) by (group, sequence); return the index."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if len(df) == 0:
        return read_index(path, TRACKS_INDEX, missing_ok=True)
    cols = list(TRACKS_INDEX.columns) + [c for c in TRACKS_INDEX_EXTRA if c not in TRACKS_INDEX.columns]
    df = df.reindex(columns=cols + [c for c in df.columns if c not in cols])
    for c in ("n_rows", "n_frames", "n_ids", "frame_min", "frame_max"):
        df[c] = pd.array(pd.to_numeric(df[c], errors="coerce"), dtype="Int64")  # stay integers through the merge
    return upsert_index(path, df, TRACKS_INDEX)


def standard_path(ds: DatasetCore, group: str, sequence: str) -> Path:
    """The standardized file of (group, sequence): its ``tracks/index.csv`` entry, else :func:`output_path`."""
    idx = read_index(tracks_index_path(ds), TRACKS_INDEX, missing_ok=True)
    hit = idx[(idx["group"] == group) & (idx["sequence"] == sequence)] if len(idx) else idx
    if len(hit):
        return ds.resolve_path(hit["abs_path"].iloc[0])
    return output_path(ds, group, sequence)
