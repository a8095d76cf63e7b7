"""Detecting implausible jumps, identity swaps and duplicated positions.

* **Jump threshold** (pixels per frame, per point): ``factor x`` the ``quantile`` of the
  frame-to-frame displacement of that point over every individual (robust to the few
  outliers it has to catch), floored at ``min_px``; or a speed given in cm/s.
* **Jumps** (:func:`detect_jumps`): excursions of 1..``max_frames`` frames whose entry and
  exit displacements both exceed the threshold while the positions before and after the
  excursion are close to each other (a spike to a reflection and back). A real fast
  movement does not come back, so it is not a jump.
* **Identity swaps** (:func:`detect_swaps`): a frame ``t`` where, for a pair of
  individuals ``(i, j)``, exchanging their positions makes both trajectories markedly more
  continuous: with ``L`` their positions in the last frame ``r < t`` where both were seen (at
  most ``max_lookback`` frames back), ``cost_keep = |x_i(t) - L_i| + |x_j(t) - L_j|`` exceeds
  the threshold and ``cost_swap = |x_j(t) - L_i| + |x_i(t) - L_j|`` is below
  ``ratio x cost_keep``; the swap is repaired from frame ``r + 1`` on. When one of them was
  missing just before ``t``, the same test also runs on speeds from each one's own last
  sighting (displacement / elapsed frames), repaired from the frame after the later sighting.
* **Duplicates** (:func:`duplicate_frames`): two individuals at (almost) the same position.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError

from .runs import last_valid_index, next_valid_index


def step_displacement(pos: np.ndarray) -> np.ndarray:
    """``(T-1, ...)`` distance moved between consecutive frames (NaN when either is missing)."""
    d = np.diff(pos, axis=0)
    return np.hypot(d[..., 0], d[..., 1])


def jump_threshold(
    pos: np.ndarray,
    quantile: float = 0.95,
    factor: float = 4.0,
    min_px: float = 1.0,
    cm_per_s: float | None = None,
    fps: float | None = None,
    cm_per_pixel: float | None = None,
) -> np.ndarray:
    """Largest plausible displacement per frame (pixels), one value per point.

    Parameters
    ----------
    pos
        ``(T, n, P, 2)`` positions.
    quantile, factor, min_px
        Data-derived threshold: ``max(min_px, factor * quantile(step displacement))``.
    cm_per_s, fps, cm_per_pixel
        A given speed limit instead (needs ``fps`` and ``cm_per_pixel``).

    Returns
    -------
    numpy.ndarray
        ``(P,)`` thresholds in pixels per frame.
    """
    P = pos.shape[2]
    if cm_per_s is not None:
        if not fps or not cm_per_pixel or fps <= 0 or cm_per_pixel <= 0:
            raise ConfigError(
                "a jump speed in cm/s needs fps and cm_per_pixel",
                expected="fps > 0 and cm_per_pixel > 0",
                found={"fps": fps, "cm_per_pixel": cm_per_pixel},
            )
        return np.full(P, float(cm_per_s) / float(cm_per_pixel) / float(fps))
    if not 0 < quantile < 1 or factor <= 0:
        raise ConfigError(
            "jump threshold needs 0 < quantile < 1 and factor > 0", found={"quantile": quantile, "factor": factor}
        )
    d = step_displacement(pos).reshape(-1, P) if pos.shape[0] > 1 else np.full((0, P), np.nan)
    out = np.full(P, float(min_px))
    for p in range(P):  # P points (centre + keypoints), not frames
        v = d[:, p]
        v = v[np.isfinite(v)]
        if len(v):
            out[p] = max(float(min_px), factor * float(np.quantile(v, quantile)))
    return out


def _d2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distance over the last axis (NaN where either is missing)."""
    d = a - b
    return d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]


def detect_jumps(pos: np.ndarray, threshold: np.ndarray, max_frames: int = 3) -> np.ndarray:
    """``(T, n, P)`` True at points inside a short excursion (see the module docstring).

    Parameters
    ----------
    pos
        ``(T, n, P, 2)`` positions.
    threshold
        ``(P,)`` pixels per frame (:func:`jump_threshold`).
    max_frames
        Longest excursion (frames) called a jump.
    """
    T = pos.shape[0]
    valid = ~np.isnan(pos).any(axis=-1)
    out = np.zeros(valid.shape, dtype=bool)
    if T < 3:
        return out
    thr = np.asarray(threshold, dtype=np.float64)[None, None, :]
    # l = 1 with gaps: compare with the last valid position before and the next one after
    lo = last_valid_index(np.concatenate([np.zeros((1,) + valid.shape[1:], bool), valid[:-1]]))
    hi = next_valid_index(np.concatenate([valid[1:], np.zeros((1,) + valid.shape[1:], bool)]))
    lo = np.where(lo >= 0, lo - 1, -1)  # indices into the unshifted array
    hi = np.where(hi < T - 1, hi + 1, T)
    t = np.arange(T)[:, None, None]
    has = valid & (lo >= 0) & (hi < T)
    lo_c, hi_c = lo.clip(0, T - 1), hi.clip(0, T - 1)
    flat = pos.reshape(T, -1, pos.shape[-1])
    cols = np.arange(flat.shape[1])[None, :]
    p_lo = flat[lo_c.reshape(T, -1), cols].reshape(pos.shape)
    p_hi = flat[hi_c.reshape(T, -1), cols].reshape(pos.shape)
    d_in, d_out, d_skip = _d2(pos, p_lo), _d2(p_hi, pos), _d2(p_hi, p_lo)  # squared: no square roots
    with np.errstate(invalid="ignore"):
        out |= (
            has
            & (d_in > (thr * (t - lo_c)) ** 2)
            & (d_out > (thr * (hi_c - t)) ** 2)
            & (d_skip <= (thr * (hi_c - lo_c)) ** 2)
        )
    # l = 2..max_frames on consecutive valid frames: x[t-1] -> x[t..t+l-1] -> x[t+l]
    thr2 = thr**2
    step2 = _d2(pos[1:], pos[:-1])  # (T-1, n, P): squared step t-1 -> t at index t-1
    for ln in range(2, int(max_frames) + 1):
        if T < ln + 2:
            break
        a, b = pos[: -(ln + 1)], pos[ln + 1 :]  # x[t-1] and x[t+l], t = 1..T-l-1
        with np.errstate(invalid="ignore"):
            enter = step2[: T - ln - 1] > thr2
            leave = step2[ln : T - 1] > thr2
            back = _d2(b, a) <= thr2 * (ln + 1) ** 2
            inside = np.ones(enter.shape, bool)
            for k in range(ln - 1):  # steps inside the excursion are plausible
                inside &= step2[1 + k : T - ln + k] <= thr2
        hit = enter & leave & back & inside
        for k in range(ln):
            out[1 + k : T - ln + k] |= hit
    return out & valid


def _pair_swaps(
    centre: np.ndarray,
    valid: np.ndarray,
    own: np.ndarray,
    fast: np.ndarray,
    i: int,
    j: int,
    threshold: float,
    ratio: float,
    max_lookback: int,
) -> pd.DataFrame | None:
    """Swap candidates of individuals ``i`` and ``j`` (see :func:`detect_swaps`), or None."""
    both = valid[:, i] & valid[:, j]
    ref_all = last_valid_index(np.concatenate([[False], both[:-1]]))
    t = np.flatnonzero(both & (fast[:, i] | fast[:, j]))
    if not len(t):
        return None
    xi, xj = centre[t, i], centre[t, j]
    # (a) joint reference: the last frame r < t where both were seen
    ref = np.where(ref_all[t] >= 0, ref_all[t] - 1, -1)
    r = ref.clip(0)
    li, lj = centre[r, i], centre[r, j]
    keep = np.hypot(*(xi - li).T) + np.hypot(*(xj - lj).T)
    swap = np.hypot(*(xj - li).T) + np.hypot(*(xi - lj).T)
    # (b) each from its own last sighting, as speeds (pixels per elapsed frame): a gap of one
    # of them does not hide the swap behind the other's movement
    oi, oj = own[t, i], own[t, j]
    gi, gj = np.maximum(t - oi, 1), np.maximum(t - oj, 1)
    mi, mj = centre[oi.clip(0), i], centre[oj.clip(0), j]
    keep_v = np.hypot(*(xi - mi).T) / gi + np.hypot(*(xj - mj).T) / gj
    swap_v = np.hypot(*(xj - mi).T) / gi + np.hypot(*(xi - mj).T) / gj
    with np.errstate(invalid="ignore"):
        ok = (ref >= 0) & (t - ref <= max_lookback)
        hit_a = ok & (keep > threshold) & (swap < ratio * keep)
        ok_b = (oi >= 0) & (oj >= 0) & (t - np.minimum(oi, oj) <= max_lookback) & (np.maximum(gi, gj) > 1)
        hit_b = ok_b & ~hit_a & (keep_v > threshold) & (swap_v < ratio * keep_v)
    hit = np.flatnonzero(hit_a | hit_b)
    if not len(hit):
        return None
    # (a) the swap happened after the reference frame; (b) after the later of the two sightings
    start = np.where(hit_a[hit], ref[hit] + 1, np.maximum(oi, oj)[hit] + 1)
    return pd.DataFrame(
        {
            "frame_index": start,
            "i": i,
            "j": j,
            "cost_keep": np.where(hit_a[hit], keep[hit], keep_v[hit]),
            "cost_swap": np.where(hit_a[hit], swap[hit], swap_v[hit]),
        }
    )


def _best_per_frame(ev: pd.DataFrame) -> np.ndarray:
    """Mask of ``ev`` (sorted by frame, then gain descending) keeping one swap per individual and frame."""
    # one swap per individual and frame: the best gain wins (a loop over candidate events, not frames)
    keep, seen = np.ones(len(ev), dtype=bool), set()
    for k, (f, i, j) in enumerate(zip(ev["frame_index"].tolist(), ev["i"].tolist(), ev["j"].tolist())):
        if (f, i) in seen or (f, j) in seen:
            keep[k] = False
        else:
            seen.update({(f, i), (f, j)})
    return keep


def detect_swaps(centre: np.ndarray, threshold: float, ratio: float = 0.6, max_lookback: int = 30) -> pd.DataFrame:
    """Frames where exchanging two individuals' positions makes both trajectories continuous.

    Parameters
    ----------
    centre
        ``(T, n, 2)`` body-centre positions.
    threshold
        Pixels: ``cost_keep`` must exceed it (the jump threshold of the centre is a good value).
    ratio
        ``cost_swap < ratio * cost_keep``.
    max_lookback
        Frames a last valid position stays usable across a gap.

    Returns
    -------
    pandas.DataFrame
        ``frame_index, i, j, cost_keep, cost_swap`` (indices into the individuals axis),
        at most one swap per individual and frame (the best gain wins), sorted by frame.
    """
    if not 0 < ratio < 1:
        raise ConfigError("swap ratio must be in (0, 1)", found=ratio)
    T, n = centre.shape[:2]
    cols = ["frame_index", "i", "j", "cost_keep", "cost_swap"]
    if n < 2 or T < 2:
        return pd.DataFrame({c: np.array([], dtype=np.int64 if c in cols[:3] else np.float64) for c in cols})
    valid = ~np.isnan(centre).any(axis=-1)
    # per individual: last frame before t where it was seen, and its position then
    own = last_valid_index(np.concatenate([np.zeros((1, n), bool), valid[:-1]]))
    own = np.where(own >= 0, own - 1, -1)
    # a frame can only be a swap when one of the two moved more than threshold / 2 since the
    # previous frame, or when one of them was not seen in the previous frame
    step = np.full((T, n), np.inf)
    step[1:] = np.hypot(*np.moveaxis(centre[1:] - centre[:-1], -1, 0))
    fast = ~(step <= 0.5 * threshold)  # NaN (unseen before) counts as fast
    found = []
    for i, j in zip(*np.triu_indices(n, 1)):  # pairs of individuals, vectorized over candidate frames
        part = _pair_swaps(centre, valid, own, fast, i, j, threshold, ratio, max_lookback)
        if part is not None:
            found.append(part)
    if not found:
        return pd.DataFrame({c: np.array([], dtype=np.int64 if c in cols[:3] else np.float64) for c in cols})
    ev = pd.concat(found, ignore_index=True)
    ev["gain"] = ev["cost_keep"] - ev["cost_swap"]
    ev = ev.sort_values(["frame_index", "gain"], ascending=[True, False], kind="stable").reset_index(drop=True)
    ev = ev[_best_per_frame(ev)]
    return ev[cols].reset_index(drop=True)


def swap_permutation(n_frames: int, n: int, events: pd.DataFrame) -> np.ndarray:
    """``(T, n)`` permutation undoing ``events``: column ``k`` of the repaired data at frame
    ``t`` is column ``perm[t, k]`` of the input (each swap exchanges two columns from its frame on)."""
    perm = np.tile(np.arange(n), (n_frames, 1))
    if events is None or len(events) == 0:
        return perm
    ev = events.sort_values("frame_index", kind="stable")
    cur = np.arange(n)
    frames = ev["frame_index"].to_numpy()
    ii, jj = ev["i"].to_numpy(), ev["j"].to_numpy()
    starts = np.unique(frames)
    bounds = np.append(starts[1:], n_frames)
    pos = 0
    for s, e in zip(starts, bounds):  # one step per swap frame (events, not frames)
        while pos < len(frames) and frames[pos] == s:
            a, b = ii[pos], jj[pos]
            # the repaired track of the individual now seen in column a continues in b and vice versa
            wa, wb = np.flatnonzero(cur == a)[0], np.flatnonzero(cur == b)[0]
            cur[wa], cur[wb] = b, a
            pos += 1
        perm[s:e] = cur
    return perm


def apply_permutation(values: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """``values`` ``(T, n, ...)`` reordered along axis 1 per frame by ``perm`` ``(T, n)``."""
    idx = perm.reshape(perm.shape + (1,) * (values.ndim - 2))
    return np.take_along_axis(values, np.broadcast_to(idx, perm.shape + values.shape[2:]), axis=1)


def duplicate_frames(centre: np.ndarray, tol_px: float = 0.5) -> np.ndarray:
    """``(T, n)`` True where an individual's centre is within ``tol_px`` of another's."""
    T, n = centre.shape[:2]
    out = np.zeros((T, n), dtype=bool)
    for i, j in zip(*np.triu_indices(n, 1)):  # pairs of individuals, vectorized over frames
        with np.errstate(invalid="ignore"):
            d = np.hypot(*(centre[:, i] - centre[:, j]).T) <= tol_px
        out[:, i] |= d
        out[:, j] |= d
    return out
