"""Cleaning against the simulator's ground truth (corruption layer on, clean truth known)."""

from __future__ import annotations

import numpy as np
import pytest

from mosaic.demo.corrupt import CorruptionConfig, corrupt_keypoints, corrupt_sequence, keypoints_from_pose
from mosaic.demo.simulate import simulate
from mosaic.quality.arrays import TrackArrays
from mosaic.quality.clean import DEFAULT_OPERATIONS, clean_arrays

from .sim import arrays_of, corrupted_set, match_swaps, right_identity, sq_error

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def runs():
    """Per recording: truth, observed, corruption record, cleaned arrays, perm, steps and the
    sightings left after confidence filter + jump removal (what the swap step sees)."""
    out = []
    for seed in SEEDS:
        for truth, obs, rec in corrupted_set(seed):
            arr = arrays_of(obs.pos, obs.missing)
            pre, _, _, _ = clean_arrays(arr, DEFAULT_OPERATIONS[:2])
            cleaned, flags, perm, steps = clean_arrays(arr)
            out.append((truth, obs, rec, cleaned, flags, perm, steps, ~np.isnan(pre.pos[:, :, 0, 0])))
    return out


def test_corruption_record_is_consistent(runs):
    truth, obs, rec = runs[0][:3]
    T, n = truth.missing.shape
    # each column holds the animal the identity map says (up to jitter, where not jumped)
    exp = np.take_along_axis(truth.pos, rec.identity[..., None].repeat(2, -1), axis=1)
    ok = ~obs.missing & ~rec.jumps
    err = np.hypot(*(obs.pos - exp)[ok].T)
    assert np.sqrt(np.mean(err**2)) < 3 * CorruptionConfig().jitter_px
    assert (np.hypot(*(obs.pos - exp)[rec.jumps].T) > 20).mean() > 0.9  # jumps land far away
    assert len(rec.swaps) > 0 and (np.diff(rec.swaps["frame"]) >= CorruptionConfig().min_separation).all()
    assert (rec.dropouts <= obs.missing).all()


def test_swap_detection_precision_and_recall(runs):
    tp = fp = fn = 0
    for _truth, _obs, rec, _cleaned, _flags, _perm, steps, seen in runs:
        det = next(s for s in steps if s["op"] == "swaps")["swap_frames"]
        a, b, c = match_swaps(rec.swaps, det, seen)
        tp, fp, fn = tp + a, fp + b, fn + c
    assert tp + fn > 100  # enough swaps to measure
    assert tp / (tp + fp) >= 0.9
    assert tp / (tp + fn) >= 0.9


def test_right_identity_after_repair(runs):
    raw_ok = raw_n = rep_ok = rep_n = 0
    for _truth, obs, rec, _cleaned, _flags, perm, _steps, _seen in runs:
        valid = ~obs.missing
        a, n = right_identity(rec.identity, valid)
        if a / n <= 0.9:  # recordings whose raw tracks have the wrong animal in >= 10 % of frames
            raw_ok, raw_n = raw_ok + a, raw_n + n
            b, m = right_identity(rec.identity, valid, perm)
            rep_ok, rep_n = rep_ok + b, rep_n + m
    assert raw_n > 0 and raw_ok / raw_n <= 0.9
    assert rep_ok / rep_n >= 0.99


def test_jumps_interpolation_smoothing_halve_rmse():
    """Jumps, dropouts and jitter (no swaps): RMSE to the truth at least halved."""
    cfg = CorruptionConfig(p_swap=0.0)
    ops = [o for o in DEFAULT_OPERATIONS if o["op"] != "swaps"]
    raw = [0.0, 0]
    cln = [0.0, 0]
    filled = [0.0, 0]
    for truth in simulate(2, 3, (2, 4), 1800, 30.0, seed=4):
        obs, rec = corrupt_sequence(truth, cfg, seed=5)
        cleaned, flags, _, _ = clean_arrays(arrays_of(obs.pos, obs.missing), ops)
        seen = ~obs.missing
        for acc, (e, k) in (
            (raw, sq_error(obs.pos, truth.pos, seen)),
            (cln, sq_error(cleaned.pos[:, :, 0], truth.pos, seen)),
            (filled, sq_error(cleaned.pos[:, :, 0], truth.pos, flags[:, :, 0])),
        ):
            acc[0] += e
            acc[1] += k
    rmse_raw, rmse_clean = np.sqrt(raw[0] / raw[1]), np.sqrt(cln[0] / cln[1])
    assert rmse_clean <= 0.5 * rmse_raw
    # interpolated points (gaps up to 10 frames of animals moving up to 4 px/frame) within a quarter body length
    assert filled[1] > 500 and np.sqrt(filled[0] / filled[1]) < 5.0


@pytest.mark.parametrize("jitter", [0.3, 0.7])
def test_clean_input_is_not_made_worse(jitter):
    """Tracker output without outliers (measurement noise only): RMSE rises by at most 1 %."""
    cfg = CorruptionConfig(p_swap=0.0, jump_rate=0.0, dropout_fraction=0.0, jitter_px=jitter)
    before = [0.0, 0]
    after = [0.0, 0]
    for truth in simulate(2, 2, (2, 4), 1800, 30.0, seed=6):
        obs, _ = corrupt_sequence(truth, cfg, seed=7)
        cleaned, _, _, steps = clean_arrays(arrays_of(obs.pos, obs.missing))
        seen = ~obs.missing
        for acc, (e, k) in (
            (before, sq_error(obs.pos, truth.pos, seen)),
            (after, sq_error(cleaned.pos[:, :, 0], truth.pos, seen)),
        ):
            acc[0] += e
            acc[1] += k
    assert np.sqrt(after[0] / after[1]) <= 1.01 * np.sqrt(before[0] / before[1])


def test_exact_truth_flags_nothing():
    for truth in simulate(1, 3, (2, 4), 1800, 30.0, seed=8):
        _, _, _, steps = clean_arrays(arrays_of(truth.pos, truth.missing))
        by = {s["op"]: s for s in steps}
        assert by["jumps"]["n_changed"] == 0
        assert by["swaps"]["n_swaps"] == 0


def test_low_confidence_keypoints_removed():
    truth = simulate(1, 1, 3, 900, 30.0, seed=9)[0]
    rng = np.random.default_rng(3)
    kp = keypoints_from_pose(truth.pos, truth.heading, truth.body_length)
    obs, conf, bad = corrupt_keypoints(rng, kp, truth.body_length)
    T, n, K = conf.shape
    pos = np.concatenate([truth.pos[:, :, None, :], obs], axis=2)
    cf = np.concatenate([np.full((T, n, 1), np.nan), conf], axis=2)
    arr = TrackArrays(np.arange(T), np.arange(n), pos, cf, ["centre", "nose", "mid", "tail"])
    cleaned, flags, _, steps = clean_arrays(
        arr, [{"op": "confidence", "threshold": 0.5}, {"op": "interpolate", "max_gap": 10}]
    )
    assert steps[0]["n_changed"] == int(bad.sum())
    err_raw = np.sqrt(np.mean(((obs - kp) ** 2).sum(-1)))
    err_clean = np.sqrt(np.nanmean(((cleaned.pos[:, :, 1:] - kp) ** 2).sum(-1)))
    jitter_floor = np.sqrt(2) * CorruptionConfig().jitter_px  # the good keypoints' own noise
    assert err_clean <= 1.1 * jitter_floor < 0.35 * err_raw
    assert flags[:, :, 1:][bad].mean() > 0.95  # removed keypoints are interpolated and flagged
