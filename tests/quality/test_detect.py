"""Jumps, identity swaps, duplicates and swap repair on hand-built trajectories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError
from mosaic.quality.detect import (
    apply_permutation,
    detect_jumps,
    detect_swaps,
    duplicate_frames,
    jump_threshold,
    swap_permutation,
)


def _two_walkers(T=60):
    pos = np.zeros((T, 2, 1, 2))
    pos[:, 0, 0, 0] = np.arange(T) * 1.0
    pos[:, 1, 0, 0] = np.arange(T) * 1.0
    pos[:, 1, 0, 1] = 30.0
    return pos


def test_jump_threshold_from_data_and_from_speed():
    pos = _two_walkers()
    pos[10, 0, 0, 1] = 50.0  # one outlier
    thr = jump_threshold(pos, quantile=0.5, factor=3.0, min_px=0.1)
    assert thr.shape == (1,)
    assert thr[0] == pytest.approx(3.0)  # median displacement 1 px/frame
    assert jump_threshold(pos, min_px=10.0)[0] >= 10.0
    # 60 cm/s at 30 fps and 0.1 cm/px = 20 px per frame
    assert jump_threshold(pos, cm_per_s=60, fps=30, cm_per_pixel=0.1)[0] == pytest.approx(20.0)
    with pytest.raises(ConfigError, match="cm/s"):
        jump_threshold(pos, cm_per_s=60)
    with pytest.raises(ConfigError, match="quantile"):
        jump_threshold(pos, quantile=1.5)


def test_detect_jumps_spikes_excursions_and_gaps():
    pos = _two_walkers()
    pos[10, 0, 0, 1] = 40.0  # one-frame spike
    pos[20:22, 1, 0, 1] = 80.0  # two-frame excursion
    pos[30, 0] = np.nan  # a spike right after a gap: neighbours across the gap
    pos[31, 0, 0, 1] = -40.0
    pos[45:, 1, 0, 0] += 40.0  # a real relocation (does not come back): not a jump
    j = detect_jumps(pos, np.array([5.0]), max_frames=3)
    assert set(zip(*np.nonzero(j[..., 0]))) == {(10, 0), (20, 1), (21, 1), (31, 0)}
    assert not detect_jumps(pos, np.array([5.0]), max_frames=1)[20:22, 1].any()
    assert not detect_jumps(_two_walkers(), np.array([5.0])).any()  # clean data: nothing


def test_detect_and_repair_a_swap():
    T = 40
    truth = np.zeros((T, 3, 2))
    truth[:, 0] = np.c_[np.arange(T), np.full(T, 0.0)]
    truth[:, 1] = np.c_[np.arange(T), np.full(T, 20.0)]
    truth[:, 2] = np.c_[np.full(T, 100.0), np.arange(T)]
    obs = truth.copy()
    obs[15:, [0, 1]] = obs[15:, [1, 0]]  # tracker swaps 0 and 1 at frame 15
    obs[25:, [1, 2]] = obs[25:, [2, 1]]  # then 1 and 2 at frame 25
    ev = detect_swaps(obs, threshold=5.0)
    assert ev[["frame_index", "i", "j"]].values.tolist() == [[15, 0, 1], [25, 1, 2]]
    perm = swap_permutation(T, 3, ev)
    np.testing.assert_array_equal(apply_permutation(obs, perm), truth)
    assert detect_swaps(truth, threshold=5.0).empty


def test_swap_across_a_gap_of_one_of_them():
    T = 40
    truth = np.zeros((T, 2, 2))
    truth[:, 0] = np.c_[np.arange(T) * 0.5, np.zeros(T)]
    truth[:, 1] = np.c_[np.arange(T) * 0.5, np.full(T, 16.0)]
    obs = truth.copy()
    obs[20:, [0, 1]] = obs[20:, [1, 0]]
    obs[17:23, 1] = np.nan  # column 1 unseen around the swap
    ev = detect_swaps(obs, threshold=5.0)
    assert len(ev) == 1 and ev["frame_index"].iloc[0] in range(17, 24)
    fixed = apply_permutation(obs, swap_permutation(T, 2, ev))
    ok = ~np.isnan(fixed[..., 0])
    np.testing.assert_array_equal(fixed[ok & (np.arange(T)[:, None] >= 23)], truth[ok & (np.arange(T)[:, None] >= 23)])


def test_swap_parameters_and_edge_cases():
    with pytest.raises(ConfigError, match="ratio"):
        detect_swaps(np.zeros((5, 2, 2)), 1.0, ratio=1.5)
    assert detect_swaps(np.zeros((5, 1, 2)), 1.0).empty  # one individual
    assert (swap_permutation(4, 2, pd.DataFrame(columns=["frame_index", "i", "j"])) == [[0, 1]] * 4).all()


def test_duplicates():
    c = np.zeros((4, 3, 2))
    c[:, 1] = 10.0
    c[2, 1] = 0.2  # id 1 on top of id 0 in frame 2
    c[3, 2] = np.nan
    np.testing.assert_array_equal(duplicate_frames(c, 0.5), [[1, 0, 1], [1, 0, 1], [1, 1, 1], [0, 0, 0]])
