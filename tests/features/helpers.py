"""Builders of synthetic track datasets for feature tests (written with the real track writer)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mosaic.core.indexes import TRACKS_INDEX, upsert_index
from mosaic.core.safe_names import sequence_key, to_safe_name
from mosaic.tracks.io import write_tracks


def long_table(
    group: str,
    sequence: str,
    X: np.ndarray,
    Y: np.ndarray,
    fps: float,
    ids=None,
    extra: dict[str, np.ndarray] | None = None,
    frame0: int = 0,
    drop_nan_rows: bool = False,
) -> pd.DataFrame:
    """Long trex_v1 table from dense (T, n) arrays (NaN = missing detection)."""
    T, n = X.shape
    ids = np.arange(n) if ids is None else np.asarray(ids)
    frames = np.repeat(np.arange(frame0, frame0 + T, dtype=np.int64), n)
    df = pd.DataFrame(
        {
            "frame": frames,
            "time": frames / fps,
            "id": np.tile(ids, T),
            "X": X.ravel(),
            "Y": Y.ravel(),
            "group": group,
            "sequence": sequence,
        }
    )
    for k, v in (extra or {}).items():
        df[k] = np.asarray(v, dtype=np.float64).ravel()
    if drop_nan_rows:
        df = df[~np.isnan(df["X"].to_numpy())].reset_index(drop=True)
    return df


def add_sequence(
    ds,
    df: pd.DataFrame,
    fps: float | None = 30.0,
    meta: dict | None = None,
    group: str | None = None,
    sequence: str | None = None,
):
    """Write ``df`` as a track file of ``ds`` and list it in tracks/index.csv."""
    g = group or str(df["group"].iloc[0])
    s = sequence or str(df["sequence"].iloc[0])
    path = ds.get_root("tracks") / f"{sequence_key(g, s)}.parquet"
    m = dict(meta or {})
    if fps is not None:
        m.setdefault("fps", fps)
    write_tracks(df, path, m)
    upsert_index(
        ds.get_root("tracks") / "index.csv",
        [
            {
                "group": g,
                "sequence": s,
                "group_safe": to_safe_name(g),
                "sequence_safe": to_safe_name(s),
                "abs_path": ds.relative_path(path),
                "schema": "trex_v1",
                "src_format": "synthetic",
                "n_rows": len(df),
                "n_frames": int(df["frame"].nunique()),
                "n_ids": int(df["id"].nunique()),
                "fps": fps if fps is not None else "",
            }
        ],
        TRACKS_INDEX,
    )
    return path


def circle(T: int, R: float, omega: float, fps: float, cx: float = 100.0, cy: float = 100.0, phase: float = 0.0):
    """Positions on a circle at constant angular speed ``omega`` rad/s, shape (T, 1)."""
    th = phase + omega * np.arange(T) / fps
    return (cx + R * np.cos(th))[:, None], (cy + R * np.sin(th))[:, None], th
