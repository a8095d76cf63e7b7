"""Writers of small synthetic raw tracking files in each tool's real layout (test fixtures).

Every writer returns the ground truth it wrote so tests compare against an independent
source, never against the converter's own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_trex(
    folder: Path,
    video: str,
    spans: dict[int, tuple[int, int]],
    *,
    cm_per_pixel: float | None = 0.5,
    fps: float | None = 25.0,
    missing: dict[int, list[int]] | None = None,
    prefix: str = "fish",
    seed: int = 0,
    pose: int = 0,
) -> dict[int, dict[str, np.ndarray]]:
    """TRex per-individual npz files (float32, inf + missing=1 where undetected).

    ``spans`` maps individual k to its (first, last) frame. Returns per individual the
    arrays written (cm values, with inf where missing).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for k, (a, b) in spans.items():
        frames = np.arange(a, b + 1)
        n = len(frames)
        miss = np.zeros(n, dtype=bool)
        for f in (missing or {}).get(k, []):
            miss[f - a] = True
        d = {
            "frame": frames.astype(np.float32),
            "time": (frames / (fps or 25.0)).astype(np.float32),
            "timestamp": (frames * 1e4).astype(np.float32),
            "missing": miss.astype(np.float32),
            "X#wcentroid": rng.uniform(1, 50, n).astype(np.float32),
            "Y#wcentroid": rng.uniform(1, 50, n).astype(np.float32),
            "X": rng.uniform(1, 50, n).astype(np.float32),
            "Y": rng.uniform(1, 50, n).astype(np.float32),
            "ANGLE": rng.uniform(-3, 3, n).astype(np.float32),
            "SPEED": rng.uniform(0, 10, n).astype(np.float32),
            "num_pixels": rng.uniform(100, 200, n).astype(np.float32),
        }
        for j in range(pose):
            d[f"poseX{j}"] = rng.uniform(1, 50, n).astype(np.float32)
            d[f"poseY{j}"] = rng.uniform(1, 50, n).astype(np.float32)
        for key in list(d):
            if key not in ("frame", "time", "timestamp", "missing"):
                d[key][miss] = np.inf
        if cm_per_pixel is not None:
            d["cm_per_pixel"] = np.array([cm_per_pixel], np.float32)
        if fps is not None:
            d["frame_rate"] = np.array([fps], np.float32)
        np.savez(folder / f"{video}_{prefix}{k}.npz", **d)
        truth[k] = d
    return truth


def calms21_dict(n_seq: int = 2, T: int = 20, seed: int = 0, group: str = "annotator-id_0") -> dict:
    """A CalMS21 task-1 style dict with random keypoints (T, 2, 2, 7) and scores (T, 2, 7)."""
    rng = np.random.default_rng(seed)
    seqs = {}
    for i in range(n_seq):
        seqs[f"task1/train/mouse{i + 1:03d}_task1_annotator1"] = {
            "keypoints": rng.uniform(0, 1000, (T, 2, 2, 7)),
            "scores": rng.uniform(0, 1, (T, 2, 7)),
            "annotations": rng.integers(0, 4, T),
            "metadata": {"annotator-id": 0, "vocab": {"attack": 0, "investigation": 1, "mount": 2, "other": 3}},
        }
    return {group: seqs}


def write_calms21_npy(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, data, allow_pickle=True)
    return path


def write_calms21_json(path: Path, data: dict) -> Path:
    def conv(o):
        if isinstance(o, dict):
            return {k: conv(v) for k, v in o.items()}
        if isinstance(o, np.ndarray):
            return o.tolist()
        return o

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(conv(data)))
    return path


def write_sleap_h5(
    path: Path,
    tracks_fnkt: np.ndarray,
    *,
    node_names=("a", "b", "c"),
    track_names=("t0", "t1"),
    point_scores: np.ndarray | None = None,
) -> Path:
    """A SLEAP analysis h5: ``tracks_fnkt`` is logical (frames, nodes, 2, tracks); written transposed."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["tracks"] = np.transpose(tracks_fnkt)
        T, _, _, n = tracks_fnkt.shape
        f["track_occupancy"] = np.transpose(np.isfinite(tracks_fnkt).any(axis=(1, 2)).astype(np.uint8))
        f["node_names"] = np.array([s.encode() for s in node_names], dtype="S")
        if track_names is None:
            f["track_names"] = np.zeros(0, dtype=np.float64)
        else:
            f["track_names"] = np.array([s.encode() for s in track_names], dtype="S")
        if point_scores is not None:  # logical (frames, nodes, tracks)
            f["point_scores"] = np.transpose(point_scores)
    return path


def write_dlc_csv(
    path: Path,
    xyl: np.ndarray,
    *,
    bodyparts=("nose", "tail"),
    individuals=None,
    scorer="DLC_resnet50_test",
    frames: np.ndarray | None = None,
) -> Path:
    """A DLC prediction CSV. ``xyl`` is (T, n_ind, n_bp, 3) [x, y, likelihood]; NaN → empty cell.

    ``individuals`` None → single-animal 3-row header (n_ind must be 1), else 4-row header.
    """
    T, n_ind, n_bp, _ = xyl.shape
    frames = np.arange(T) if frames is None else frames
    rows = [["scorer"], ["individuals"] if individuals else None, ["bodyparts"], ["coords"]]
    rows = [r for r in rows if r is not None]
    for i in range(n_ind):
        for b in range(n_bp):
            for c in ("x", "y", "likelihood"):
                vals = [scorer] + ([individuals[i]] if individuals else []) + [bodyparts[b], c]
                for r, v in zip(rows, vals):
                    r.append(v)
    lines = [",".join(r) for r in rows]
    flat = xyl.reshape(T, -1)
    for t in range(T):
        cells = ["" if np.isnan(v) else repr(float(v)) for v in flat[t]]
        lines.append(",".join([str(int(frames[t]))] + cells))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
