"""Keypoint labels in a dataset: labelled pose frames stored as ``trex_v1`` tables with their own index.

Labelled DeepLabCut ``CollectedData_*`` or SLEAP ``.slp`` frames (read by
:mod:`mosaic.interop.labelling`) are written per recording under ``labels/keypoints/<name>/``
(``<group_safe>__<sequence_safe>.parquet``) and listed in that folder's ``index.csv``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import SequenceNotFoundError
from mosaic.core.indexes import IndexSchema, read_index, upsert_index
from mosaic.core.safe_names import path_in_root, sequence_key, to_safe_name

KEYPOINT_LABELS_DIR = "keypoints"
KEYPOINT_LABELS_INDEX = IndexSchema(
    name="keypoint_labels",
    columns=(
        "name",
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "abs_path",
        "src_format",
        "n_rows",
        "n_frames",
        "keypoint_names",
    ),
    key=("name", "group", "sequence"),
)


def keypoint_labels_dir(ds: DatasetCore, name: str) -> Path:
    """``labels/keypoints/<name>``."""
    return path_in_root(ds.get_root("labels"), KEYPOINT_LABELS_DIR, to_safe_name(name))


def save_keypoint_labels(
    ds: DatasetCore, name: str, tables: Mapping[tuple[str, str], tuple[pd.DataFrame, dict[str, Any]]]
) -> pd.DataFrame:
    """Write keypoint-label tables (validated ``trex_v1``) under ``labels/keypoints/<name>/`` and upsert its index."""
    from mosaic.tracks.io import write_tracks

    d = keypoint_labels_dir(ds, name)
    rows = []
    for (g, s), (df, meta) in sorted(tables.items()):
        p = write_tracks(df, d / f"{sequence_key(g, s)}.parquet", meta)
        rows.append(
            {
                "name": name,
                "group": g,
                "sequence": s,
                "group_safe": to_safe_name(g),
                "sequence_safe": to_safe_name(s),
                "abs_path": ds.relative_path(p),
                "src_format": meta.get("src_format", ""),
                "n_rows": len(df),
                "n_frames": int(df["frame"].nunique()),
                "keypoint_names": "|".join(meta.get("keypoint_names") or []),
            }
        )
    if not rows:
        return read_index(d / "index.csv", KEYPOINT_LABELS_INDEX, missing_ok=True)
    return upsert_index(d / "index.csv", rows, KEYPOINT_LABELS_INDEX)


def import_pose_labels(
    ds: DatasetCore,
    path: str | os.PathLike,
    name: str | None = None,
    *,
    recording: tuple[str, str] | None = None,
    fps: float | None = None,
) -> pd.DataFrame:
    """Labelled DeepLabCut ``CollectedData_*`` (CSV/H5) or SLEAP ``.slp`` → ``labels/keypoints/<name>/``; returns the index.

    fps defaults to each recording's fps in ``tracks/index.csv`` (times are ``frame / fps``).
    """
    from .labelling import read_dlc_labels, read_sleap_labels

    path = Path(path)
    reader = read_sleap_labels if path.suffix == ".slp" else read_dlc_labels
    name = name or ("sleap" if path.suffix == ".slp" else "dlc")
    tables = reader(path, recording=recording, fps=fps)
    if fps is None:  # re-time with each recording's own fps
        idx = ds.tracks_index().set_index(["group", "sequence"])
        for key, (df, meta) in tables.items():
            if key in idx.index and pd.notna(idx.loc[key, "fps"]):
                f = float(idx.loc[key, "fps"])
                df["time"] = df["frame"].to_numpy() / f
                meta["fps"] = f
    return save_keypoint_labels(ds, name, tables)


def load_keypoint_labels(ds: DatasetCore, group: str, sequence: str, name: str = "dlc") -> pd.DataFrame:
    """The keypoint labels ``name`` of a recording (metadata in ``df.attrs['mosaic']``)."""
    from mosaic.tracks.io import read_tracks, read_tracks_meta

    p = keypoint_labels_dir(ds, name) / f"{sequence_key(group, sequence)}.parquet"
    if not p.is_file():
        raise SequenceNotFoundError(
            f"no keypoint labels {name!r} for this recording", path=p, group=group, sequence=sequence
        )
    df = read_tracks(p)
    df.attrs["mosaic"] = read_tracks_meta(p)
    return df
