"""A corruption layer for simulated tracks: what real trackers do to clean trajectories.

:func:`corrupt_sequence` takes a clean :class:`~mosaic.demo.simulate.SimSequence` and
returns a corrupted copy plus the record of every corruption (the truth to measure
cleaning against):

* **identity swaps at crossings**: in each close encounter of two animals (centre distance
  below ``swap_distance`` body lengths) the tracker exchanges their identities with
  probability ``p_swap``, at the frame of closest approach (not closer than
  ``swap_min_distance`` body lengths: blobs on top of each other carry no identity
  information for any method), at least ``min_separation`` frames after the previous swap;
  the exchange lasts until the next swap;
* **one-frame jumps**: with rate ``jump_rate`` per animal-frame a detection lands
  ``jump_px`` pixels away (a reflection, a merged blob) for one frame;
* **dropouts in bursts**: runs of lost detections (mean ``dropout_mean_len`` frames) covering
  about ``dropout_fraction`` of the frames, on top of the simulator's own misses;
* **jitter**: Gaussian measurement noise (``jitter_px``) on every detection;
* **low-confidence keypoints** (for keypoint arrays, :func:`keypoints_from_pose`): a
  fraction ``low_conf_fraction`` of keypoints is misplaced by about half a body length and
  gets a confidence below 0.3 (the others 0.7–1).

The default demo never calls this module; it is switched on by ``corruption=`` in
:func:`~mosaic.demo.dataset.make_demo_dataset`, with its own random stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError

from .simulate import SimSequence


@dataclass(frozen=True)
class CorruptionConfig:
    """Rates and sizes of the corruptions (pixels, frames, body lengths)."""

    p_swap: float = 0.3
    min_separation: int = 30
    swap_distance: float = 1.5
    swap_min_distance: float = 0.5
    jump_rate: float = 0.004
    jump_px: tuple[float, float] = (25.0, 60.0)
    dropout_fraction: float = 0.02
    dropout_mean_len: float = 5.0
    jitter_px: float = 0.7
    low_conf_fraction: float = 0.05


@dataclass
class Corruption:
    """What was done to one sequence.

    Attributes
    ----------
    identity
        ``(T, n)`` int: the true animal whose detection is stored in track column ``k``.
    swaps
        ``frame, i, j`` — from ``frame`` on, track columns ``i < j`` exchange animals.
    jumps
        ``(T, n)`` bool: one-frame jumps.
    dropouts
        ``(T, n)`` bool: detections removed by the corruption (besides the simulator's misses).
    """

    identity: np.ndarray
    swaps: pd.DataFrame
    jumps: np.ndarray
    dropouts: np.ndarray


def _check(cfg: CorruptionConfig) -> None:
    bad = {
        k: v
        for k, v in {
            "p_swap": cfg.p_swap,
            "jump_rate": cfg.jump_rate,
            "dropout_fraction": cfg.dropout_fraction,
            "low_conf_fraction": cfg.low_conf_fraction,
        }.items()
        if not 0 <= v <= 1
    }
    if cfg.jitter_px < 0 or cfg.dropout_mean_len < 1 or cfg.swap_min_distance > cfg.swap_distance:
        bad.update(jitter_px=cfg.jitter_px, dropout_mean_len=cfg.dropout_mean_len, swap_distance=cfg.swap_distance)
    if bad:
        raise ConfigError(
            "invalid corruption parameters", expected="rates in [0, 1], jitter >= 0, mean burst >= 1", found=bad
        )


def _swap_events(
    rng: np.random.Generator, pos: np.ndarray, present: np.ndarray, body_length: float, cfg: CorruptionConfig
) -> pd.DataFrame:
    from mosaic.quality.runs import true_runs

    T, n = pos.shape[:2]
    rows = []
    for i, j in zip(*np.triu_indices(n, 1)):  # pairs of animals; encounters found vectorized over frames
        d = np.hypot(*(pos[:, i] - pos[:, j]).T)
        both = present[:, i] & present[:, j]
        close = both & (d < cfg.swap_distance * body_length)
        _, starts, stops = true_runs(close[:, None])
        for a, b in zip(starts, stops):  # encounters (a handful per pair), not frames
            seg = np.where(d[a:b] >= cfg.swap_min_distance * body_length, d[a:b], np.inf)
            if a == 0 or not both[a - 1] or not np.isfinite(seg).any() or rng.random() >= cfg.p_swap:
                continue  # a tracker swaps two animals it sees: both detected at the frame before
            rows.append((a + int(np.argmin(seg)), int(i), int(j)))
    ev = pd.DataFrame(rows, columns=["frame", "a", "b"]).sort_values("frame", kind="stable").reset_index(drop=True)
    # swaps at least min_separation frames apart keep the truth unambiguous
    keep, last = [], -np.inf
    for f in ev["frame"].tolist():
        keep.append(f - last >= cfg.min_separation)
        if keep[-1]:
            last = f
    return ev[np.array(keep, dtype=bool)].reset_index(drop=True)


def identity_from_swaps(n_frames: int, n: int, swaps: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Compose swaps of animals ``(a, b)`` in frame order.

    Returns
    -------
    identity, events
        ``(T, n)`` true animal in each track column, and the swaps as exchanged track
        columns ``frame, i, j``.
    """
    ident = np.tile(np.arange(n), (n_frames, 1))
    cur = np.arange(n)
    fr = swaps["frame"].to_numpy()
    cols = []
    for k in range(len(swaps)):  # swap events, not frames
        a, b = int(swaps["a"].iloc[k]), int(swaps["b"].iloc[k])
        i, j = sorted((int(np.flatnonzero(cur == a)[0]), int(np.flatnonzero(cur == b)[0])))
        cur[[i, j]] = cur[[j, i]]
        ident[fr[k] :] = cur
        cols.append((int(fr[k]), i, j))
    return ident, pd.DataFrame(cols, columns=["frame", "i", "j"], dtype=np.int64)


def corrupt_positions(
    rng: np.random.Generator, pos: np.ndarray, missing: np.ndarray, body_length: float, cfg: CorruptionConfig
) -> tuple[np.ndarray, np.ndarray, Corruption]:
    """Corrupt ``(T, n, 2)`` true positions; return observed positions, missing mask and the record."""
    _check(cfg)
    T, n = pos.shape[:2]
    ident, swaps = identity_from_swaps(T, n, _swap_events(rng, pos, ~missing, body_length, cfg))
    obs = np.take_along_axis(pos, ident[..., None].repeat(2, axis=-1), axis=1).copy()
    miss = np.take_along_axis(missing, ident, axis=1).copy()
    obs += rng.normal(0.0, cfg.jitter_px, obs.shape)
    jumps = (rng.random((T, n)) < cfg.jump_rate) & ~miss
    jumps[0] = jumps[-1] = False
    ang = rng.uniform(-np.pi, np.pi, (T, n))
    r = rng.uniform(*cfg.jump_px, (T, n))
    obs[jumps] += np.stack([r * np.cos(ang), r * np.sin(ang)], axis=-1)[jumps]
    n_bursts = rng.poisson(cfg.dropout_fraction * T * n / cfg.dropout_mean_len)
    drop = np.zeros((T, n), dtype=bool)
    if n_bursts:
        starts = rng.integers(1, max(2, T - 1), n_bursts)
        lens = rng.geometric(1.0 / cfg.dropout_mean_len, n_bursts)
        cols = rng.integers(0, n, n_bursts)
        delta = np.zeros((T + 1, n), dtype=np.int64)
        np.add.at(delta, (starts, cols), 1)
        np.add.at(delta, (np.minimum(starts + lens, T), cols), -1)
        drop = np.cumsum(delta[:-1], axis=0) > 0
    drop &= ~miss
    jumps &= ~drop
    miss = miss | drop
    return obs, miss, Corruption(identity=ident, swaps=swaps, jumps=jumps, dropouts=drop)


def corrupt_sequence(
    sim: SimSequence, config: CorruptionConfig | None = None, seed: int = 0
) -> tuple[SimSequence, Corruption]:
    """A corrupted copy of ``sim`` (positions, headings and misses as a tracker would report them)."""
    cfg = config or CorruptionConfig()
    rng = np.random.default_rng([int(seed), 0x5EED])
    obs, miss, rec = corrupt_positions(rng, sim.pos, sim.missing, sim.body_length, cfg)
    W, H = sim.arena_size
    obs[..., 0] = np.clip(obs[..., 0], 0.0, W - 1e-6)
    obs[..., 1] = np.clip(obs[..., 1], 0.0, H - 1e-6)
    heading = np.take_along_axis(sim.heading, rec.identity, axis=1)
    for k in range(sim.n_animals):  # TRex needs every identity detected at least once
        if miss[:, k].all():
            miss[sim.n_frames // 2, k] = False
    return replace(sim, pos=obs, heading=heading, missing=miss), rec


def keypoints_from_pose(pos: np.ndarray, heading: np.ndarray, body_length: float) -> np.ndarray:
    """``(T, n, 3, 2)`` nose, centre and tail base along each animal's heading."""
    u = np.stack([np.cos(heading), np.sin(heading)], axis=-1)
    off = np.array([0.5, 0.0, -0.5])[None, None, :, None] * body_length
    return pos[:, :, None, :] + off * u[:, :, None, :]


def corrupt_keypoints(
    rng: np.random.Generator, kp: np.ndarray, body_length: float, cfg: CorruptionConfig | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Misplace a fraction of keypoints and give them a low confidence.

    Returns
    -------
    keypoints, confidence, bad
        Corrupted copy, ``(T, n, K)`` confidence and the mask of misplaced keypoints.
    """
    cfg = cfg or CorruptionConfig()
    _check(cfg)
    bad = rng.random(kp.shape[:3]) < cfg.low_conf_fraction
    out = kp + rng.normal(0.0, cfg.jitter_px, kp.shape)
    out[bad] += rng.normal(0.0, 0.5 * body_length, kp.shape)[bad]
    conf = np.where(bad, rng.uniform(0.0, 0.3, kp.shape[:3]), rng.uniform(0.7, 1.0, kp.shape[:3]))
    return out, conf, bad


def write_corruption(rec: Corruption, observed: SimSequence, path) -> None:
    """Save the corruption record (and the observed tracks) as one ``.npz``, atomically.

    Keys: ``identity`` (T, n), ``swap_frame``/``swap_i``/``swap_j``, ``jumps`` (T, n),
    ``dropouts`` (T, n), ``observed_pos`` (T, n, 2) px, ``observed_missing`` (T, n).
    """
    from pathlib import Path

    from mosaic.core.atomic import atomic_open

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        np.savez(
            fh,
            identity=rec.identity,
            swap_frame=rec.swaps["frame"].to_numpy(np.int64),
            swap_i=rec.swaps["i"].to_numpy(np.int64),
            swap_j=rec.swaps["j"].to_numpy(np.int64),
            jumps=rec.jumps,
            dropouts=rec.dropouts,
            observed_pos=observed.pos,
            observed_missing=observed.missing,
        )
