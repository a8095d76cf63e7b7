"""Write simulated tracks as TRex per-individual ``.npz`` exports (current TRex layout).

One file per individual, ``<out_dir>/<basename>_fish<k>.npz``, every field a float32 1-D
array covering the individual's first to last detected frame (so files of one video can
have different lengths), as TRex writes them:

* ``frame``, ``time`` (s = frame / fps), ``timestamp`` (µs), ``missing`` (1 = not detected);
* ``X``, ``Y`` (head, cm), ``X#wcentroid``, ``Y#wcentroid`` (body centre, cm = px * cm_per_pixel),
  ``ANGLE`` (rad, image frame, y down), ``VX``, ``VY``, ``SPEED`` (head, cm/s),
  ``SPEED#wcentroid`` (cm/s), ``num_pixels``, ``midline_length`` (px);
* metadata: ``cm_per_pixel`` (1,), ``frame_rate`` (1,), ``id`` (1,) and ``video_size``
  (2,: width, height px).

In frames where the individual is missing every metric is ``inf`` (``frame``, ``time``,
``timestamp`` and ``missing`` stay finite), exactly as TRex does. Velocities are backward
differences to the previous detected frame; the first detected frame has speed 0.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from mosaic.core.atomic import atomic_open

from .simulate import SimSequence, subject_name

TREX_FIELDS: tuple[str, ...] = (
    "frame",
    "time",
    "timestamp",
    "missing",
    "X",
    "Y",
    "X#wcentroid",
    "Y#wcentroid",
    "ANGLE",
    "SPEED",
    "SPEED#wcentroid",
    "VX",
    "VY",
    "num_pixels",
    "midline_length",
)
TREX_METADATA: tuple[str, ...] = ("cm_per_pixel", "frame_rate", "id", "video_size")
log = logging.getLogger(__name__)
HEAD_OFFSET = 0.35  # head point, in body lengths ahead of the centre


def _velocity(xy: np.ndarray, valid: np.ndarray, fps: float) -> np.ndarray:
    """Backward-difference velocity to the previous valid frame (units per second)."""
    T = len(valid)
    idx = np.where(valid, np.arange(T), -1)
    last = np.maximum.accumulate(idx)
    prev = np.concatenate([[-1], last[:-1]])
    ok = valid & (prev >= 0)
    v = np.zeros_like(xy)
    p = np.clip(prev, 0, None)
    gap = np.maximum(np.arange(T) - p, 1)[:, None]
    v[ok] = ((xy - xy[p]) * fps / gap)[ok]
    return v


def trex_arrays(sim: SimSequence, k: int) -> dict[str, np.ndarray]:
    """The arrays of the TRex export of animal ``k`` (fields then metadata, float32)."""
    miss = sim.missing[:, k]
    det = np.flatnonzero(~miss)
    first, last = int(det[0]), int(det[-1])
    sl = slice(first, last + 1)
    frames = np.arange(sim.n_frames)[sl]
    valid = ~miss[sl]
    cpp, fps, bl = sim.cm_per_pixel, sim.fps, sim.body_length
    centre = sim.pos[sl, k] * cpp
    h = sim.heading[sl, k]
    head = centre + HEAD_OFFSET * bl * cpp * np.stack([np.cos(h), np.sin(h)], axis=-1)
    v_head = _velocity(head, valid, fps)
    v_centre = _velocity(centre, valid, fps)
    wobble = np.sin(0.3 * frames + 1.7 * k)
    area = np.pi * (bl / 2) * (bl / 5)
    out = {
        "frame": frames,
        "time": frames / fps,
        "timestamp": frames / fps * 1e6,
        "missing": (~valid).astype(np.float64),
        "X": head[:, 0],
        "Y": head[:, 1],
        "X#wcentroid": centre[:, 0],
        "Y#wcentroid": centre[:, 1],
        "ANGLE": h,
        "SPEED": np.hypot(v_head[:, 0], v_head[:, 1]),
        "SPEED#wcentroid": np.hypot(v_centre[:, 0], v_centre[:, 1]),
        "VX": v_head[:, 0],
        "VY": v_head[:, 1],
        "num_pixels": np.round(area * (1 + 0.05 * wobble)),
        "midline_length": bl * (1 + 0.02 * wobble),
    }
    out = {key: np.asarray(val, dtype=np.float32) for key, val in out.items()}
    for key in TREX_FIELDS[4:]:
        out[key][~valid] = np.inf
    out["cm_per_pixel"] = np.array([cpp], dtype=np.float32)
    out["frame_rate"] = np.array([fps], dtype=np.float32)
    out["id"] = np.array([k], dtype=np.uint32)
    out["video_size"] = np.array(sim.arena_size, dtype=np.float32)
    return out


def write_trex_npz(sim: SimSequence, out_dir: str | os.PathLike, basename: str | None = None) -> list[Path]:
    """Write one TRex ``.npz`` per animal of ``sim`` into ``out_dir`` (atomically).

    Parameters
    ----------
    sim
        The simulated sequence.
    out_dir
        Folder to write into (created).
    basename
        Video name used as file prefix; default ``sim.sequence``. Files are
        ``<basename>_fish<k>.npz``.

    Returns
    -------
    list of Path
        The written files, in animal order (an animal missing in every frame gets none).
    """
    sim.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    basename = basename or sim.sequence
    paths = []
    for k in range(sim.n_animals):
        if sim.missing[:, k].all():  # never detected: TRex has no such identity
            log.warning("%s/%s: animal %d is never detected; no TRex file written", sim.group, sim.sequence, k)
            continue
        path = out_dir / f"{basename}_{subject_name(k)}.npz"
        with atomic_open(path, "wb") as fh:
            np.savez(fh, **trex_arrays(sim, k))
        paths.append(path)
    return paths
