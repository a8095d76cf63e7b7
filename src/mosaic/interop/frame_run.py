"""A frame run's sampled frames as a table, and labelled frames as per-recording keypoint tables.

The shared ground of the DeepLabCut (:mod:`mosaic.interop.dlc_project`) and SLEAP
(:mod:`mosaic.interop.sleap_project`) labelling projects: the frames a run sampled, the name
checks of body parts and individuals, and the ``trex_v1`` keypoint-label table one recording's
labelled points become.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError
from mosaic.tracks.table import pose_table

#: file beside each DeepLabCut ``labeled-data`` folder mapping images to recordings and frames
FRAME_MAP = "mosaic_frames.csv"


def run_frames(manifests: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per sampled frame of a run: ``group, sequence, frame, png, video, video_path, video_frame, video_n_frames``."""
    rows = []
    for info in manifests:
        d = Path(info["frames_dir"])
        sources = {Path(str(s.get("abs_path", ""))).name: s for s in info.get("sources") or []}
        for f in info.get("frames") or []:
            src = sources.get(str(f.get("video")), {})
            rows.append(
                {
                    "group": str(info["group"]),
                    "sequence": str(info["sequence"]),
                    "frame": int(f["index"]),
                    "png": str(d / f["file"]),
                    "video": str(f.get("video") or f"{info['sequence']}"),
                    "video_path": str(src.get("abs_path", "")),
                    "video_frame": int(f.get("video_frame", f["index"])),
                    "video_n_frames": int(src.get("n_frames") or info.get("total_frames") or 0),
                    "width": src.get("width"),
                    "height": src.get("height"),
                }
            )
    if not rows:
        raise ConfigError(
            "the frame run has no frames", expected="a frame run with sampled frames (extract_frames)", found=0
        )
    return pd.DataFrame(rows)


def check_names(kind: str, names: Sequence[str]) -> list[str]:
    """The names as strings; refuse an empty list, duplicates, empty or space-padded names."""
    out = [str(n) for n in names]
    if not out or len(set(out)) != len(out) or any(not n or n != n.strip() for n in out):
        raise ConfigError(f"{kind} must be unique non-empty names", expected="e.g. ['snout', 'tail_base']", found=out)
    return out


def keypoint_table(
    frames: np.ndarray, ids: np.ndarray, pts: np.ndarray, group: str, sequence: str, fps: float | None
) -> pd.DataFrame:
    """One recording's labelled points ``(R, K, 2)`` as a ``trex_v1`` table; ``X``/``Y`` the points' NaN-mean."""
    return pose_table(
        frames,
        ids,
        pts,
        group=group,
        sequence=sequence,
        fps=fps,
        time=None if fps else np.full(len(frames), np.nan),
    )
