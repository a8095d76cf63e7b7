"""Synthetic recordings with a known NaN pattern for the interop round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mosaic.tracks.table import build_table

KEYPOINTS = ["snout", "left ear", "tail_base"]
IDS = np.array([2, 5, 9])
NAMES = {2: "alice", 5: "bob", 9: "carol"}


def synthetic_tracks(
    n_frames: int = 40,
    first: int = 10,
    fps: float = 25.0,
    with_scores: bool = True,
    seed: int = 0,
    group: str = "cage 1",
    sequence: str = "day/1",
) -> pd.DataFrame:
    """Dense (frame × id) table, 3 keypoints, X/Y not the keypoint mean, ~15 % NaN cells, one empty row."""
    rng = np.random.default_rng(seed)
    n = n_frames * len(IDS)
    frame = np.repeat(np.arange(first, first + n_frames), len(IDS))
    ids = np.tile(IDS, n_frames)
    extra = {}
    for k in range(len(KEYPOINTS)):
        x = rng.uniform(0, 640, n)
        y = rng.uniform(0, 480, n)
        miss = rng.random(n) < 0.15
        x[miss] = np.nan
        y[miss] = np.nan
        extra[f"poseX{k}"], extra[f"poseY{k}"] = x, y
        if with_scores:
            p = rng.random(n)
            p[miss] = np.nan
            extra[f"poseP{k}"] = p
    X = rng.uniform(0, 640, n)
    Y = rng.uniform(0, 480, n)
    X[[3, 7]] = np.nan
    Y[[3, 7]] = np.nan
    for c in extra:
        extra[c][7] = np.nan  # row 7: nothing at all
    df = build_table(frame, ids, X, Y, group=group, sequence=sequence, fps=fps, extra=extra)
    df.attrs["mosaic"] = {
        "fps": fps,
        "keypoint_names": list(KEYPOINTS),
        "individual_names": {str(k): v for k, v in NAMES.items()},
    }
    return df


def assert_same_tracks(got: pd.DataFrame, want: pd.DataFrame, columns: list[str] | None = None) -> None:
    """Same rows, same values, same NaN pattern (exact, not approximate)."""
    cols = columns or ["frame", "time", "id", "X", "Y"] + [c for c in want.columns if c.startswith("pose")]
    assert len(got) == len(want)
    for c in cols:
        a, b = got[c].to_numpy(), want[c].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a, b = a.astype(np.float64), b.astype(np.float64)
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=c)
            np.testing.assert_array_equal(a[~np.isnan(a)], b[~np.isnan(b)], err_msg=c)
        else:
            np.testing.assert_array_equal(a, b, err_msg=c)
