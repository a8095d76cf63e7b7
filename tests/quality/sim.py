"""Corrupted simulator recordings and the scores of cleaning against their truth."""

from __future__ import annotations

import numpy as np

from mosaic.demo.corrupt import CorruptionConfig, corrupt_sequence
from mosaic.demo.simulate import simulate
from mosaic.quality.arrays import TrackArrays


def arrays_of(pos: np.ndarray, missing: np.ndarray) -> TrackArrays:
    """TrackArrays of ``(T, n, 2)`` positions (NaN where ``missing``)."""
    T, n = missing.shape
    obs = np.where(missing[..., None], np.nan, pos)[:, :, None, :].copy()
    return TrackArrays(np.arange(T), np.arange(n), obs, np.full((T, n, 1), np.nan), ["centre"])


def corrupted_set(seed: int, n_groups=3, n_sequences=3, n_frames=1800, config: CorruptionConfig | None = None):
    """[(truth SimSequence, observed SimSequence, Corruption)] of one simulation."""
    sims = simulate(n_groups, n_sequences, (2, 4), n_frames, 30.0, seed=seed)
    return [(s, *corrupt_sequence(s, config, seed=seed + 100)) for s in sims]


def match_swaps(truth_swaps, detected_frames, valid) -> tuple[int, int, int]:
    """(tp, fp, fn): a true swap of columns (i, j) at frame f is found when a detection lies between
    the last frame before f where both columns were seen (+1) and the first one at or after f."""
    used: set[int] = set()
    tp = fn = 0
    det = sorted(detected_frames)
    for f, i, j in truth_swaps[["frame", "i", "j"]].itertuples(index=False):
        both = valid[:, i] & valid[:, j]
        before, after = np.flatnonzero(both[:f]), np.flatnonzero(both[f:])
        lo = before[-1] + 1 if len(before) else 0
        hi = f + after[0] if len(after) else len(both)
        hit = [k for k, d in enumerate(det) if lo - 1 <= d <= hi + 1 and k not in used]
        if hit:
            used.add(hit[0])
            tp += 1
        else:
            fn += 1
    return tp, len(det) - len(used), fn


def right_identity(identity: np.ndarray, valid: np.ndarray, perm: np.ndarray | None = None) -> tuple[int, int]:
    """(frames with the right animal in its column, frames seen), after ``perm`` when given."""
    ident = identity if perm is None else np.take_along_axis(identity, perm, axis=1)
    ok = ident == np.arange(identity.shape[1])[None, :]
    return int(ok[valid].sum()), int(valid.sum())


def sq_error(pos: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> tuple[float, int]:
    """(sum of squared position errors, count) over ``mask``."""
    e = ((pos - truth) ** 2).sum(axis=-1)
    m = mask & np.isfinite(e)
    return float(e[m].sum()), int(m.sum())
