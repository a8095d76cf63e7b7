"""Test helpers: write small videos with known content, decode them independently."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, upsert_index
from mosaic.core.safe_names import to_safe_name


def numbered_frame(i: int, size=(96, 64)) -> np.ndarray:
    """A frame whose brightness and drawn number depend on ``i`` (BGR uint8)."""
    w, h = size
    f = np.zeros((h, w, 3), np.uint8)
    f[:] = ((i * 37) % 200 + 20, (i * 11) % 200 + 20, (i * 5) % 200 + 20)
    cv2.putText(f, str(i), (4, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (255, 255, 255), 2)
    return f


def write_video(path: Path, frames, fourcc: str = "mp4v", fps: float = 25.0) -> Path:
    """Write BGR ``frames`` (iterable of equal-size arrays) with OpenCV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = list(frames)
    h, w = frames[0].shape[:2]
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert wr.isOpened(), f"cannot write {path} with {fourcc}"
    for f in frames:
        wr.write(f)
    wr.release()
    return path


def write_numbered(path: Path, n: int, fourcc: str = "mp4v", size=(96, 64), fps: float = 25.0) -> Path:
    """A video of ``n`` :func:`numbered_frame` frames."""
    return write_video(path, (numbered_frame(i, size) for i in range(n)), fourcc, fps)


def scene_video(path: Path, k: int, per_scene: int, fourcc: str = "mp4v", size=(96, 64), seed: int = 0) -> Path:
    """``k`` visually distinct scenes of ``per_scene`` frames each (with slight motion/noise inside a scene)."""
    rng = np.random.default_rng(seed)
    w, h = size
    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40), (40, 220, 220), (220, 40, 220)]
    frames = []
    for s in range(k):
        for j in range(per_scene):
            f = np.full((h, w, 3), colors[s % len(colors)], np.uint8)
            # a scene-specific block pattern, moving a little within the scene
            x = (s * 17 + j) % (w - 20)
            cv2.rectangle(
                f, (x, 5 + 8 * (s % 4)), (x + 18, 25 + 8 * (s % 4)), (255 - 40 * s % 255, 60 * s % 255, 255), -1
            )
            noise = rng.integers(-6, 7, f.shape)
            frames.append(np.clip(f.astype(int) + noise, 0, 255).astype(np.uint8))
    return write_video(path, frames, fourcc)


def decode_all(path: Path) -> list[np.ndarray]:
    """Every frame of a video by a plain sequential ``read()`` loop (independent of mosaic)."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(f)
    cap.release()
    return out


def add_raw_sequences(ds, pairs) -> None:
    """Declare (group, sequence) pairs in ``tracks_raw/index.csv`` (as raw-track indexing would)."""
    rows = [
        {
            "group": g,
            "sequence": s,
            "group_safe": to_safe_name(g),
            "sequence_safe": to_safe_name(s),
            "abs_path": f"tracks_raw/{g}/{s}.npz",
            "src_format": "trex",
            "size_bytes": 1,
            "mtime_iso": "",
            "md5": "",
        }
        for g, s in pairs
    ]
    upsert_index(ds.get_root("tracks_raw") / "index.csv", rows, TRACKS_RAW_INDEX)


def add_tracks_sequences(ds, pairs) -> None:
    """Declare (group, sequence) pairs in ``tracks/index.csv`` (as conversion would)."""
    rows = [
        {
            "group": g,
            "sequence": s,
            "group_safe": to_safe_name(g),
            "sequence_safe": to_safe_name(s),
            "abs_path": f"tracks/{g}__{s}.parquet",
            "schema": "trex_v1",
            "src_format": "trex",
            "n_rows": 1,
            "n_frames": 1,
            "n_ids": 1,
            "fps": 25.0,
        }
        for g, s in pairs
    ]
    upsert_index(ds.get_root("tracks") / "index.csv", pd.DataFrame(rows), TRACKS_INDEX)
