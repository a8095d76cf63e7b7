"""Simulate CalMS21-style resident/intruder mouse pairs and write the CalMS21 files.

The CalMS21 task-1 layout (``.npy`` = ``np.save`` of a dict, ``.json`` = the same with lists)::

    {"annotator-id_0": {"task1/train/mouse001_task1_annotator1": {
        "keypoints": (T, 2 mice, 2 [x, y], 7 keypoints) float,
        "scores": (T, 2, 7) float,
        "annotations": (T,) int,
        "metadata": {"annotator-id": 0, "vocab": {"attack": 0, "investigation": 1, "mount": 2, "other": 3}}}}}

Mouse 0 is the resident, mouse 1 the intruder; keypoints are nose, left ear, right ear,
neck, left hip, right hip, tail base, laid out along each mouse's body axis (pixels in a
1024 x 570 frame, y down). The scene behaviour (annotations) follows a semi-Markov bout
process; the geometry follows the behaviour:

* ``other``: the resident keeps 2.5–4.5 body lengths from the intruder;
* ``investigation``: the resident's nose is at the intruder's tail base, slow;
* ``attack``: the resident is at the intruder's flank, fast and jerky; the intruder flees;
* ``mount``: the resident is on the intruder's back (0.4 body lengths behind, same
  heading), both almost still.

Everything is vectorized over frames (bouts are drawn one by one, paths by cumulative
sums and linear filters).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from mosaic.core.atomic import atomic_open, atomic_write_text
from mosaic.core.errors import ConfigError

CALMS21_VOCAB: dict[str, int] = {"attack": 0, "investigation": 1, "mount": 2, "other": 3}
CALMS21_KEYPOINTS: tuple[str, ...] = ("nose", "left_ear", "right_ear", "neck", "left_hip", "right_hip", "tail_base")
CALMS21_FRAME_SIZE: tuple[int, int] = (1024, 570)
ANNOTATOR_GROUP = "annotator-id_0"
_TEMPLATE = np.array(
    [  # (forward, left) in body lengths
        [0.5, 0.0],
        [0.28, 0.09],
        [0.28, -0.09],
        [0.2, 0.0],
        [-0.25, 0.12],
        [-0.25, -0.12],
        [-0.5, 0.0],
    ]
)
_BOUT_MEAN = {"attack": 1.2, "investigation": 2.0, "mount": 2.5, "other": 3.0}
_NEXT = {  # transition probabilities between scene behaviours
    "other": {"investigation": 0.6, "attack": 0.2, "mount": 0.2},
    "investigation": {"other": 0.5, "attack": 0.3, "mount": 0.2},
    "attack": {"other": 0.6, "investigation": 0.4},
    "mount": {"other": 0.5, "investigation": 0.5},
}
_INTRUDER_SPEED = {"attack": 220.0, "investigation": 40.0, "mount": 5.0, "other": 80.0}


@dataclass
class CalmsSequence:
    """One simulated CalMS21 sequence (a resident/intruder video)."""

    key: str
    keypoints: np.ndarray
    scores: np.ndarray
    annotations: np.ndarray
    fps: float
    vocab: dict
    annotator_id: int = 0

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.annotations.shape[0])

    def bouts(self) -> pd.DataFrame:
        """Run-length bouts of the annotations: ``behavior, start_frame, stop_frame`` (exclusive)."""
        a = self.annotations
        change = np.flatnonzero(np.diff(a)) + 1
        starts = np.concatenate([[0], change])
        stops = np.concatenate([change, [len(a)]])
        names = {v: k for k, v in self.vocab.items()}
        return pd.DataFrame(
            {
                "behavior": [names[int(x)] for x in a[starts]],
                "start_frame": starts.astype(np.int64),
                "stop_frame": stops.astype(np.int64),
            }
        )


def _smooth(x: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential smoothing along axis 0, starting at ``x[0]``."""
    return lfilter([alpha], [1.0, alpha - 1.0], x - x[0], axis=0) + x[0]


def _fold(x: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Reflect ``x`` into ``[lo, hi]``; also return the sign of d(fold)/dx."""
    span = hi - lo
    y = np.mod(x - lo, 2 * span)
    back = y > span
    return np.where(back, 2 * span - y, y) + lo, np.where(back, -1.0, 1.0)


def _scene_states(rng: np.random.Generator, T: int, fps: float) -> np.ndarray:
    out = np.empty(T, dtype=np.int64)
    t, cur = 0, "other"
    while t < T:
        d = int(round(np.clip(rng.gamma(4.0, _BOUT_MEAN[cur] / 4.0), 0.5, 5.0) * fps))
        out[t : t + d] = CALMS21_VOCAB[cur]
        t += d
        nxt = _NEXT[cur]
        cur = list(nxt)[rng.choice(len(nxt), p=list(nxt.values()))]
    return out


def _one_sequence(rng: np.random.Generator, T: int, fps: float, L: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    W, H = CALMS21_FRAME_SIZE
    dt = 1.0 / fps
    ann = _scene_states(rng, T, fps)
    inv = {v: k for k, v in CALMS21_VOCAB.items()}
    is_ = {name: ann == code for name, code in CALMS21_VOCAB.items()}

    # intruder: correlated random walk reflected at the walls
    speed = _smooth(np.array([_INTRUDER_SPEED[inv[int(a)]] for a in ann]), 0.3) * (1 + 0.15 * rng.standard_normal(T))
    omega = lfilter([1.0], [1.0, -0.9], rng.standard_normal(T) * np.where(is_["attack"], 1.2, 0.4))
    h = rng.uniform(-np.pi, np.pi) + np.cumsum(omega * dt * 3)
    raw = np.array([rng.uniform(0.3 * W, 0.7 * W), rng.uniform(0.3 * H, 0.7 * H)]) + np.cumsum(
        speed[:, None] * np.stack([np.cos(h), np.sin(h)], axis=-1) * dt, axis=0
    )
    x, sx = _fold(raw[:, 0], L, W - L)
    y, sy = _fold(raw[:, 1], L, H - L)
    c_in = np.stack([x, y], axis=-1)
    h_in = np.arctan2(sy * np.sin(h), sx * np.cos(h))
    u = np.stack([np.cos(h_in), np.sin(h_in)], axis=-1)
    left = np.stack([np.sin(h_in), -np.cos(h_in)], axis=-1)

    # resident: goal position relative to the intruder, per behaviour, then smoothed
    phi = rng.uniform(-np.pi, np.pi) + np.cumsum(lfilter([1.0], [1.0, -0.95], rng.standard_normal(T)) * 0.02)
    r = L * (3.5 + np.sin(np.cumsum(np.full(T, 0.4 * dt)) + rng.uniform(0, 6)))
    side = np.where(rng.random(T // 15 + 1) < 0.5, -1.0, 1.0).repeat(15)[:T]
    shake = rng.standard_normal((T, 2)) * 0.12 * L
    goal = np.where(is_["other"][:, None], c_in + r[:, None] * np.stack([np.cos(phi), np.sin(phi)], axis=-1), 0.0)
    goal = np.where(
        is_["investigation"][:, None], c_in - 1.0 * L * u + 0.1 * L * np.sin(np.arange(T) * 0.2)[:, None] * left, goal
    )
    goal = np.where(is_["attack"][:, None], c_in + 0.7 * L * side[:, None] * left + shake, goal)
    goal = np.where(is_["mount"][:, None], c_in - 0.4 * L * u, goal)
    goal = np.clip(goal, L, [W - L, H - L])
    c_res = _smooth(goal, 0.35)
    vel = np.gradient(c_res, axis=0)
    to_in = c_in - c_res
    h_goal = np.where(is_["other"], np.arctan2(vel[:, 1], vel[:, 0]), np.arctan2(to_in[:, 1], to_in[:, 0]))
    h_goal = np.where(is_["mount"], h_in, h_goal)
    h_goal = h_goal + np.where(is_["attack"], 0.5, 0.05) * rng.standard_normal(T)
    hv = _smooth(np.stack([np.cos(h_goal), np.sin(h_goal)], axis=-1), 0.5)
    h_res = np.arctan2(hv[:, 1], hv[:, 0])

    centres = np.stack([c_res, c_in], axis=1)  # (T, 2, 2)
    heads = np.stack([h_res, h_in], axis=1)  # (T, 2)
    fw = np.stack([np.cos(heads), np.sin(heads)], axis=-1)  # (T, 2, 2)
    lf = np.stack([np.sin(heads), -np.cos(heads)], axis=-1)
    kp = centres[:, :, None, :] + L * (
        _TEMPLATE[None, None, :, :1] * fw[:, :, None, :] + _TEMPLATE[None, None, :, 1:] * lf[:, :, None, :]
    )
    kp = kp + rng.standard_normal(kp.shape) * 1.5  # (T, 2 mice, 7, 2)
    kp = np.clip(kp, 0, [W - 1, H - 1])
    keypoints = np.transpose(kp, (0, 1, 3, 2))  # (T, 2 mice, 2 coords, 7)
    scores = rng.beta(12.0, 1.5, (T, 2, 7))
    return keypoints, scores, ann


def simulate_calms21(
    n_sequences: int = 2,
    n_frames: int = 1800,
    fps: float = 30.0,
    seed: int = 0,
    split: str = "train",
    body_length: float = 90.0,
) -> list[CalmsSequence]:
    """Simulate ``n_sequences`` CalMS21 task-1 sequences (deterministic for a seed).

    Sequence keys are ``task1/<split>/mouse<NNN>_task1_annotator1`` (NNN from 001).
    """
    if int(n_sequences) < 1 or int(n_frames) < 2 or not fps or float(fps) <= 0:
        raise ConfigError(
            "invalid CalMS21 simulation parameters", found=f"n_sequences={n_sequences}, n_frames={n_frames}, fps={fps}"
        )
    rng = np.random.default_rng(seed)
    out = []
    for i in range(int(n_sequences)):
        kp, sc, ann = _one_sequence(rng, int(n_frames), float(fps), float(body_length))
        out.append(
            CalmsSequence(
                key=f"task1/{split}/mouse{i + 1:03d}_task1_annotator1",
                keypoints=kp,
                scores=sc,
                annotations=ann,
                fps=float(fps),
                vocab=dict(CALMS21_VOCAB),
            )
        )
    return out


def calms21_dict(seqs: list[CalmsSequence], as_lists: bool = False) -> dict:
    """The CalMS21 top-level dict ``{annotator group: {key: {...}}}`` of ``seqs``."""
    groups: dict[str, dict] = {}
    for s in seqs:
        entry = {
            "keypoints": s.keypoints.tolist() if as_lists else s.keypoints,
            "scores": s.scores.tolist() if as_lists else s.scores,
            "annotations": s.annotations.tolist() if as_lists else s.annotations,
            "metadata": {"annotator-id": int(s.annotator_id), "vocab": dict(s.vocab)},
        }
        groups.setdefault(f"annotator-id_{s.annotator_id}", {})[s.key] = entry
    return groups


def write_calms21_npy(seqs: list[CalmsSequence], path: str | os.PathLike) -> Path:
    """Write ``seqs`` as a CalMS21 ``.npy`` (``np.save`` of the dict; load with ``allow_pickle=True``)."""
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        np.save(fh, calms21_dict(seqs), allow_pickle=True)
    return path


def write_calms21_json(seqs: list[CalmsSequence], path: str | os.PathLike) -> Path:
    """Write ``seqs`` as a CalMS21 ``.json`` (the same dict with nested lists)."""
    return atomic_write_text(path, json.dumps(calms21_dict(seqs, as_lists=True)))
