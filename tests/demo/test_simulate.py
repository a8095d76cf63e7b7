"""The simulator: contract, determinism, ground-truth consistency, kinematic separability."""

from __future__ import annotations

import numpy as np
import pytest

from mosaic.core.errors import ConfigError
from mosaic.demo import BEHAVIORS, PAIR_BEHAVIORS, SimSequence, bouts_from_states, simulate

REST, EXPLORE, APPROACH, CONTACT = (BEHAVIORS.index(b) for b in ("rest", "explore", "approach", "contact"))


def _speed(sim: SimSequence) -> np.ndarray:
    """Forward-difference speed (px/s) of every animal, (T-1, n)."""
    d = np.diff(sim.pos, axis=0)
    return np.hypot(d[..., 0], d[..., 1]) * sim.fps


def _pair_dist(sim: SimSequence) -> np.ndarray:
    d = sim.pos[:, :, None, :] - sim.pos[:, None, :, :]
    return np.hypot(d[..., 0], d[..., 1])


def test_contract_fields_and_shapes(tiny_sims):
    assert len(tiny_sims) == 4
    keys = set()
    for sim in tiny_sims:
        T, n = sim.states.shape
        assert T == 1800 and 2 <= n <= 4
        assert sim.pos.shape == (T, n, 2) and sim.pos.dtype == np.float64
        assert sim.heading.shape == sim.targets.shape == sim.missing.shape == (T, n)
        assert sim.missing.dtype == bool
        assert np.issubdtype(sim.states.dtype, np.integer) and np.issubdtype(sim.targets.dtype, np.integer)
        assert sim.behaviors == ("rest", "explore", "approach", "contact")
        assert sim.pair_behaviors == ("approach", "contact")
        assert sim.fps == 30.0 and sim.cm_per_pixel > 0
        w, h = sim.arena_size
        assert (sim.pos[..., 0] >= 0).all() and (sim.pos[..., 0] <= w).all()
        assert (sim.pos[..., 1] >= 0).all() and (sim.pos[..., 1] <= h).all()
        assert (np.abs(sim.heading) <= np.pi + 1e-9).all()
        keys.add((sim.group, sim.sequence))
    assert len(keys) == 4 and len({s for _, s in keys}) == 4  # sequence names unique across groups


def test_deterministic_for_a_seed():
    a = simulate(n_groups=1, n_sequences=2, n_animals=(2, 3), n_frames=300, seed=7)
    b = simulate(n_groups=1, n_sequences=2, n_animals=(2, 3), n_frames=300, seed=7)
    c = simulate(n_groups=1, n_sequences=2, n_animals=(2, 3), n_frames=300, seed=8)
    for x, y in zip(a, b):
        for f in ("pos", "heading", "states", "targets", "missing"):
            assert np.array_equal(getattr(x, f), getattr(y, f))
    assert any(x.pos.shape != z.pos.shape or not np.array_equal(x.pos, z.pos) for x, z in zip(a, c))


def test_targets_only_in_pair_states_and_contact_is_mutual(tiny_sims):
    pair = np.isin(np.array(BEHAVIORS), PAIR_BEHAVIORS)
    for sim in tiny_sims:
        T, n = sim.states.shape
        is_pair = pair[sim.states]
        assert (sim.targets[~is_pair] == -1).all()
        assert ((sim.targets[is_pair] >= 0) & (sim.targets[is_pair] < n)).all()
        assert (sim.targets != np.arange(n)[None, :]).all()
        t, i = np.nonzero(sim.states == CONTACT)
        j = sim.targets[t, i]
        assert (sim.states[t, j] == CONTACT).all() and (sim.targets[t, j] == i).all()


def test_bouts_tile_each_animal_exactly(tiny_sims):
    for sim in tiny_sims:
        b = bouts_from_states(sim.states, sim.targets)
        for k in range(sim.n_animals):
            bk = b[b.subject_id == k].sort_values("start_frame")
            assert bk.start_frame.iloc[0] == 0 and bk.stop_frame.iloc[-1] == sim.n_frames
            assert (bk.start_frame.values[1:] == bk.stop_frame.values[:-1]).all()
            rebuilt = np.repeat([BEHAVIORS.index(x) for x in bk.behavior], bk.stop_frame - bk.start_frame)
            assert np.array_equal(rebuilt, sim.states[:, k])
            rebuilt_t = np.repeat(bk.target_id.values, bk.stop_frame - bk.start_frame)
            assert np.array_equal(rebuilt_t, sim.targets[:, k])


def test_every_behaviour_has_many_bouts_in_every_sequence(tiny_sims):
    for sim in tiny_sims:
        counts = sim.bouts().behavior.value_counts()
        for name in BEHAVIORS:
            assert counts.get(name, 0) >= 5, (sim.sequence, name, counts.to_dict())


def test_bout_durations_realistic(tiny_sims):
    for sim in tiny_sims:
        b = sim.bouts()
        inner = b[(b.start_frame > 0) & (b.stop_frame < sim.n_frames)]
        dur = (inner.stop_frame - inner.start_frame) / sim.fps
        timed = inner.behavior.isin(["rest", "explore", "contact"])
        assert dur[timed].max() <= 5.0 + 1e-9
        # rest/explore may be cut short when another animal arrives for contact; contact never is
        assert dur[inner.behavior == "contact"].min() >= 0.5 - 1e-9
        assert dur[inner.behavior.isin(["rest", "explore"])].median() >= 1.0
        assert dur[inner.behavior == "approach"].median() > 0.3


def test_behaviours_kinematically_distinct(tiny_sims):
    v = {k: [] for k in range(4)}
    d_target = {APPROACH: [], CONTACT: []}
    facing = []
    for sim in tiny_sims:
        sp = _speed(sim)
        st = sim.states[:-1]
        for k in v:
            v[k].append(sp[st == k])
        dist = _pair_dist(sim)
        for k in d_target:
            t, i = np.nonzero(sim.states == k)
            d_target[k].append(dist[t, i, sim.targets[t, i]])
        t, i = np.nonzero(sim.states == CONTACT)
        to = sim.pos[t, sim.targets[t, i]] - sim.pos[t, i]
        ang = np.angle(np.exp(1j * (np.arctan2(to[:, 1], to[:, 0]) - sim.heading[t, i])))
        facing.append(np.abs(ang))
    mean = {k: np.concatenate(x).mean() for k, x in v.items()}
    bl = tiny_sims[0].body_length
    assert mean[REST] < 0.1 * mean[EXPLORE]
    assert mean[EXPLORE] * 1.8 < mean[APPROACH]
    assert mean[CONTACT] < 0.25 * mean[EXPLORE]
    dc, da = np.concatenate(d_target[CONTACT]), np.concatenate(d_target[APPROACH])
    assert np.percentile(dc, 95) <= 1.1 * bl  # within ~1 body length of the partner
    assert np.median(dc) < 0.5 * np.median(da)
    assert np.median(np.concatenate(facing)) < 0.2  # contact: oriented towards the partner
    # approach: the distance to the target shrinks
    for sim in tiny_sims:
        dist = _pair_dist(sim)
        t, i = np.nonzero(sim.states[:-1] == APPROACH)
        j = sim.targets[t, i]
        rate = (dist[t + 1, i, j] - dist[t, i, j]) * sim.fps
        assert np.median(rate) < -0.5 * np.median(_speed(sim)[sim.states[:-1] == EXPLORE])


def test_heading_follows_motion_when_moving(tiny_sims):
    for sim in tiny_sims:
        d = np.diff(sim.pos, axis=0)
        moving = np.isin(sim.states[:-1], [EXPLORE, APPROACH]) & (np.hypot(d[..., 0], d[..., 1]) > 0.5)
        ang = np.arctan2(d[..., 1], d[..., 0])
        err = np.abs(np.angle(np.exp(1j * (ang - sim.heading[:-1]))))[moving]
        assert np.percentile(err, 95) < 0.05  # only wall clamping bends the step


def test_missing_short_runs_a_few_percent(tiny_sims):
    for sim in tiny_sims:
        frac = sim.missing.mean()
        assert 0.002 < frac < 0.1
        for k in range(sim.n_animals):
            assert (~sim.missing[:, k]).any()


def test_single_animal_has_no_pair_behaviour():
    (sim,) = simulate(n_groups=1, n_sequences=1, n_animals=1, n_frames=600, seed=3)
    assert sim.n_animals == 1
    assert set(np.unique(sim.states)) <= {REST, EXPLORE}
    assert (sim.targets == -1).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_groups=0),
        dict(n_animals=(3, 2)),
        dict(n_frames=1),
        dict(fps=0),
        dict(n_animals=0),
    ],
)
def test_bad_parameters_raise_config_error(kwargs):
    with pytest.raises(ConfigError, match="invalid simulation parameters"):
        simulate(**kwargs)


def test_many_sequences_are_simulated_in_batches():
    sims = simulate(n_groups=13, n_sequences=10, n_animals=(1, 3), n_frames=20, seed=2)
    assert len(sims) == 130
    assert len({(s.group, s.sequence) for s in sims}) == 130
    assert [s.sequence for s in sims[9:11]] == ["group_0_seq9", "group_1_seq0"]
    assert all(s.pos.shape == (20, s.n_animals, 2) and s.pos.flags["C_CONTIGUOUS"] for s in sims)


def test_group_names():
    sims = simulate(n_groups=2, n_sequences=1, n_animals=2, n_frames=30, group_names=["tank A", "tank B"])
    assert [(s.group, s.sequence) for s in sims] == [("tank A", "tank A_seq0"), ("tank B", "tank B_seq0")]
    with pytest.raises(ConfigError, match="group_names"):
        simulate(n_groups=2, n_sequences=1, n_animals=2, n_frames=30, group_names=["only one"])
