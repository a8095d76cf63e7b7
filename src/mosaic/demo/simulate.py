"""Simulate groups of animals in a rectangular arena, driven by hidden behaviour states.

Every animal carries a hidden state from :data:`BEHAVIORS`:

``rest``
    (almost) no displacement: sub-pixel positional jitter, slowly drifting heading.
``explore``
    correlated random walk at moderate speed (about 2 body lengths/s) with smooth turning,
    avoidance of the arena walls and of other animals (so solitary animals keep apart).
``approach`` (pair)
    steer towards a chosen partner (``targets``) at high speed (about 6 body lengths/s);
    the bout ends when the partner is reached (both then start ``contact``) or after a
    time-out (then ``explore``).
``contact`` (pair, mutual)
    both partners stay about 0.8 body lengths apart (centre to centre), slow, each oriented
    towards the other; when the bout ends both ``explore`` away from each other.

Bout durations of ``rest``, ``explore`` and ``contact`` are gamma distributed (clipped to
0.5–5 s); ``approach`` lasts until arrival. The state process is semi-Markov: a new state
is chosen when a bout ends (or on arrival), never inside a bout.

Kinematics are integrated by one loop over time steps that is vectorized over all
animals of all sequences simulated together (arrays ``(sequences, animals)``); the rare
bout-change events are handled one by one. Coordinates are pixels, origin top-left,
``y`` down; ``heading`` is ``atan2(dy, dx)`` in that frame (0 = facing right), in
``(-pi, pi]``.

The module is long (over 500 lines) because it holds one job: the behaviour model, its
time-stepping engine and the ground truth they produce belong together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError

BEHAVIORS: tuple[str, ...] = ("rest", "explore", "approach", "contact")
PAIR_BEHAVIORS: tuple[str, ...] = ("approach", "contact")
REST, EXPLORE, APPROACH, CONTACT = range(4)


@dataclass(frozen=True)
class SimConfig:
    """Physical parameters of the simulation (pixels, seconds).

    The defaults give a 320 x 240 px arena, 20 px long animals and 0.1 cm per pixel.
    """

    arena_size: tuple[int, int] = (320, 240)
    body_length: float = 20.0
    cm_per_pixel: float = 0.1
    explore_speed: float = 45.0
    explore_speed_sd: float = 6.0
    approach_speed: float = 120.0
    approach_speed_sd: float = 8.0
    rest_jitter: float = 0.03
    contact_hold: float = 0.8
    reach: float = 1.0
    min_approach_distance: float = 4.0
    approach_timeout: float = 6.0
    bout_mean: tuple[float, float, float, float] = (3.0, 2.0, 0.0, 1.8)
    bout_shape: float = 4.0
    min_bout: float = 0.5
    max_bout: float = 5.0
    p_rest_to_explore: float = 0.55
    p_explore_to_rest: float = 0.4
    missing_fraction: float = 0.02
    missing_mean_run: float = 4.0
    p_late_start: float = 0.25


@dataclass
class SimSequence:
    """One simulated recording with its ground truth.

    Attributes
    ----------
    group, sequence
        Names of the recording (both safe file-name components).
    fps, cm_per_pixel
        Frame rate and scale.
    arena_size
        ``(width, height)`` in pixels (also the video size).
    pos
        ``(T, n, 2)`` float64 body centre in pixels (true position, also where missing).
    heading
        ``(T, n)`` float64 radians.
    states
        ``(T, n)`` int index into :attr:`behaviors`.
    targets
        ``(T, n)`` int partner id during pair behaviours, ``-1`` otherwise.
    missing
        ``(T, n)`` bool, True where the tracker "lost" the animal.
    body_length
        Body length in pixels.
    """

    group: str
    sequence: str
    fps: float
    cm_per_pixel: float
    arena_size: tuple[int, int]
    pos: np.ndarray
    heading: np.ndarray
    states: np.ndarray
    targets: np.ndarray
    missing: np.ndarray
    body_length: float = 20.0
    behaviors: tuple[str, ...] = BEHAVIORS
    pair_behaviors: tuple[str, ...] = PAIR_BEHAVIORS

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.pos.shape[0])

    @property
    def n_animals(self) -> int:
        """Number of animals ``n``."""
        return int(self.pos.shape[1])

    def subject_name(self, k: int) -> str:
        """Subject / TRex identity name of animal ``k`` (``fish<k>``)."""
        return subject_name(k)

    def validate(self) -> SimSequence:
        """Check array shapes and values (for hand-built fixtures); return ``self``.

        Raises
        ------
        ConfigError
            Naming the (group, sequence) and the offending field.
        """
        problems = []
        pos = np.asarray(self.pos)
        if pos.ndim != 3 or pos.shape[2] != 2 or pos.shape[0] < 1:
            problems.append(f"pos shape {pos.shape} (need (T, n, 2))")
        else:
            T, n = pos.shape[:2]
            for name in ("heading", "states", "targets", "missing"):
                shape = np.shape(getattr(self, name))
                if shape != (T, n):
                    problems.append(f"{name} shape {shape} (need {(T, n)})")
            if not problems:
                st = np.asarray(self.states)
                if st.size and (st.min() < 0 or st.max() >= len(self.behaviors)):
                    problems.append(f"states outside 0..{len(self.behaviors) - 1}")
                tg = np.asarray(self.targets)
                if tg.size and (tg.min() < -1 or tg.max() >= n):
                    problems.append(f"targets outside -1..{n - 1}")
        if not self.fps or self.fps <= 0 or not self.cm_per_pixel or self.cm_per_pixel <= 0:
            problems.append(f"fps={self.fps}, cm_per_pixel={self.cm_per_pixel} (need > 0)")
        if problems:
            raise ConfigError(
                "invalid simulated sequence", group=self.group, sequence=self.sequence, found="; ".join(problems)
            )
        return self

    def bouts(self) -> pd.DataFrame:
        """Ground-truth bouts of this sequence (see :func:`bouts_from_states`)."""
        return bouts_from_states(self.states, self.targets, self.behaviors)


def subject_name(k: int) -> str:
    """The subject name of animal ``k``: ``fish<k>`` (as TRex names identities)."""
    return f"fish{int(k)}"


def bouts_from_states(states: np.ndarray, targets: np.ndarray, behaviors=BEHAVIORS) -> pd.DataFrame:
    """Run-length encode per-frame states into bouts.

    A bout is a maximal run of frames of one animal with the same (state, target).

    Returns
    -------
    pandas.DataFrame
        Columns ``subject_id, target_id, behavior, start_frame, stop_frame`` (stop
        exclusive), sorted by subject then start.
    """
    states = np.asarray(states)
    targets = np.asarray(targets)
    T, n = states.shape
    rows = []
    for k in range(n):
        code = states[:, k].astype(np.int64) * (n + 2) + (targets[:, k].astype(np.int64) + 1)
        change = np.flatnonzero(np.diff(code)) + 1
        starts = np.concatenate([[0], change])
        stops = np.concatenate([change, [T]])
        rows.append(
            pd.DataFrame(
                {
                    "subject_id": k,
                    "target_id": targets[starts, k].astype(np.int64),
                    "behavior": np.asarray(behaviors, dtype=object)[states[starts, k]],
                    "start_frame": starts.astype(np.int64),
                    "stop_frame": stops.astype(np.int64),
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=["subject_id", "target_id", "behavior", "start_frame", "stop_frame"])
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- helpers
def _wrap(a: np.ndarray) -> np.ndarray:
    """Wrap angles into (-pi, pi]."""
    return np.pi - np.mod(np.pi - a, 2 * np.pi)


def _validate(n_groups, n_sequences, n_animals, n_frames, fps) -> tuple[int, int]:
    lo, hi = (n_animals, n_animals) if np.isscalar(n_animals) else tuple(n_animals)
    problems = []
    if int(n_groups) < 1 or int(n_sequences) < 1:
        problems.append(f"n_groups={n_groups}, n_sequences={n_sequences} (need >= 1)")
    if not (1 <= int(lo) <= int(hi) <= 64):
        problems.append(f"n_animals={n_animals} (need 1 <= lo <= hi <= 64)")
    if int(n_frames) < 2:
        problems.append(f"n_frames={n_frames} (need >= 2)")
    if not fps or float(fps) <= 0:
        problems.append(f"fps={fps} (need > 0)")
    if problems:
        raise ConfigError("invalid simulation parameters", found="; ".join(problems))
    return int(lo), int(hi)


class _Engine:
    """State of all simulated animals of a batch of sequences (arrays ``(S, N)``)."""

    def __init__(self, rng: np.random.Generator, cfg: SimConfig, n_per_seq: np.ndarray, fps: float) -> None:
        self.rng, self.cfg, self.fps = rng, cfg, float(fps)
        self.dt = 1.0 / self.fps
        S, N = len(n_per_seq), int(n_per_seq.max())
        self.S, self.N = S, N
        self.present = np.arange(N)[None, :] < n_per_seq[:, None]
        W, H = cfg.arena_size
        self.W, self.H = float(W), float(H)
        bl = cfg.body_length
        self.bl = bl
        self.margin = bl / 2.0
        self.P = self._initial_positions(n_per_seq)
        self.Hd = rng.uniform(-np.pi, np.pi, (S, N))
        self.V = np.zeros((S, N))
        self.Om = np.zeros((S, N))
        self.vtarget = np.zeros((S, N))
        self.state = np.where(rng.random((S, N)) < 0.5, REST, EXPLORE).astype(np.int64)
        self.target = -np.ones((S, N), dtype=np.int64)
        self.timer = np.zeros((S, N), dtype=np.int64)
        for s, i in zip(*np.nonzero(self.present)):
            self.timer[s, i] = max(1, int(self._duration(self.state[s, i]) * rng.random()))
            self._set_speed_target(s, i)
            if self.state[s, i] == EXPLORE:
                self.V[s, i] = self.vtarget[s, i]

    # ------------------------------------------------------------------ setup
    def _initial_positions(self, n_per_seq: np.ndarray) -> np.ndarray:
        rng, S, N = self.rng, self.S, self.N
        P = np.full((S, N, 2), -1e6)
        lo, hi = 1.5 * self.bl, np.array([self.W, self.H]) - 1.5 * self.bl
        for s in range(S):
            placed: list[np.ndarray] = []
            for _ in range(int(n_per_seq[s])):
                for _attempt in range(200):
                    p = rng.uniform(lo, hi)
                    if all(np.hypot(*(p - q)) > 3 * self.bl for q in placed):
                        break
                placed.append(p)
            P[s, : len(placed)] = placed
        return P

    def _duration(self, state: int) -> int:
        """Bout length in frames for a timed state (gamma, clipped to [min, max])."""
        cfg = self.cfg
        mean = cfg.bout_mean[state]
        d = self.rng.gamma(cfg.bout_shape, mean / cfg.bout_shape)
        d = min(max(d, cfg.min_bout), cfg.max_bout)
        return max(1, int(round(d * self.fps)))

    def _set_speed_target(self, s: int, i: int) -> None:
        cfg, st = self.cfg, self.state[s, i]
        if st == EXPLORE:
            v = self.rng.normal(cfg.explore_speed, cfg.explore_speed_sd)
            self.vtarget[s, i] = np.clip(v, 0.6 * cfg.explore_speed, 1.5 * cfg.explore_speed)
        elif st == APPROACH:
            v = self.rng.normal(cfg.approach_speed, cfg.approach_speed_sd)
            self.vtarget[s, i] = np.clip(v, 0.8 * cfg.approach_speed, 1.25 * cfg.approach_speed)
        else:
            self.vtarget[s, i] = 0.0

    # ------------------------------------------------------------------ events
    def _start(self, s: int, i: int, state: int, target: int = -1, timer: int | None = None) -> None:
        self.state[s, i] = state
        self.target[s, i] = target
        if timer is None:
            timer = int(round(self.cfg.approach_timeout * self.fps)) if state == APPROACH else self._duration(state)
        self.timer[s, i] = timer
        self._set_speed_target(s, i)
        if state in (REST, CONTACT):
            self.V[s, i] = 0.0

    def _leave(self, s: int, i: int, away_from: int) -> None:
        """Start ``explore`` heading away from animal ``away_from``, at full speed."""
        d = self.P[s, i] - self.P[s, away_from]
        self._start(s, i, EXPLORE, timer=max(self._duration(EXPLORE), int(round(self.fps))))
        self.Hd[s, i] = np.arctan2(d[1], d[0]) + self.rng.normal(0.0, 0.3)
        self.V[s, i] = self.vtarget[s, i]
        self.Om[s, i] = 0.0

    def _try_approach(self, s: int, i: int, dist: np.ndarray) -> bool:
        approached = set(self.target[s][(self.state[s] == APPROACH) & (self.target[s] >= 0)].tolist())
        ok = (
            self.present[s]
            & (np.arange(self.N) != i)
            & (self.state[s] != CONTACT)
            & (dist[s, i] > self.cfg.min_approach_distance * self.bl)
        )
        cands = [j for j in np.flatnonzero(ok) if j not in approached]
        if not cands:
            return False
        j = int(cands[self.rng.integers(len(cands))])
        self._start(s, i, APPROACH, target=j)
        return True

    def _bout_end(self, s: int, i: int, dist: np.ndarray) -> None:
        st = self.state[s, i]
        if st == CONTACT:
            self._leave(s, i, int(self.target[s, i]))
        elif st == APPROACH:  # time-out
            self._start(s, i, EXPLORE)
        elif st == REST:
            if self.rng.random() < self.cfg.p_rest_to_explore or not self._try_approach(s, i, dist):
                self._start(s, i, EXPLORE)
        else:  # EXPLORE
            if self.rng.random() < self.cfg.p_explore_to_rest or not self._try_approach(s, i, dist):
                self._start(s, i, REST)

    def _arrive(self, s: int, i: int) -> None:
        j = int(self.target[s, i])
        if self.state[s, j] == CONTACT:
            self._leave(s, i, j)
            return
        d = self._duration(CONTACT)
        self._start(s, i, CONTACT, target=j, timer=d)
        self._start(s, j, CONTACT, target=i, timer=d)

    def events(self, dist: np.ndarray) -> None:
        reach = self.cfg.reach * self.bl
        tgt = np.clip(self.target, 0, None)
        dtarget = np.take_along_axis(dist, tgt[..., None], axis=2)[..., 0]
        arrive = (self.state == APPROACH) & (dtarget <= reach)
        for s, i in zip(*np.nonzero(arrive)):
            if self.state[s, i] == APPROACH:
                self._arrive(s, i)
        due = (self.timer <= 0) & self.present
        for s, i in zip(*np.nonzero(due)):
            if self.timer[s, i] <= 0:
                self._bout_end(s, i, dist)

    # ------------------------------------------------------------------ physics
    def distances(self) -> tuple[np.ndarray, np.ndarray]:
        """Pairwise ``self - other`` vectors (S, N, N, 2) and distances (inf for self / absent)."""
        diff = self.P[:, :, None, :] - self.P[:, None, :, :]
        dist = np.hypot(diff[..., 0], diff[..., 1])
        invalid = ~(self.present[:, :, None] & self.present[:, None, :]) | np.eye(self.N, dtype=bool)[None]
        dist[invalid] = np.inf
        return diff, dist

    def step(self, diff: np.ndarray, dist: np.ndarray) -> None:
        """Advance every animal by one frame according to its current state."""
        rng, cfg, dt, bl = self.rng, self.cfg, self.dt, self.bl
        S, N = self.S, self.N
        st = self.state
        P, Hd = self.P, self.Hd
        noise = rng.standard_normal((S, N, 5))
        tgt = np.clip(self.target, 0, None)
        tp = np.take_along_axis(P, np.repeat(tgt[..., None], 2, axis=-1), axis=1)
        to_t = tp - P
        ang_t = np.arctan2(to_t[..., 1], to_t[..., 0])

        # explore: correlated random walk + wall and social repulsion
        self.Om = 0.85 * self.Om + 0.9 * noise[..., 0]
        h_walk = Hd + self.Om * dt
        m = 1.5 * bl
        rx = np.clip(1 - (P[..., 0] - self.margin) / m, 0, None) - np.clip(
            1 - (self.W - self.margin - P[..., 0]) / m, 0, None
        )
        ry = np.clip(1 - (P[..., 1] - self.margin) / m, 0, None) - np.clip(
            1 - (self.H - self.margin - P[..., 1]) / m, 0, None
        )
        close = np.clip(1 - dist / (2.0 * bl), 0, None)  # (S, N, N)
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = diff / np.where(np.isfinite(dist), dist, 1.0)[..., None]
        soc = np.nansum(unit * close[..., None], axis=2)
        want = np.stack([np.cos(h_walk) + 3 * (rx + soc[..., 0]), np.sin(h_walk) + 3 * (ry + soc[..., 1])], axis=-1)
        h_want = np.arctan2(want[..., 1], want[..., 0])
        h_explore = Hd + np.clip(_wrap(h_want - Hd), -0.3, 0.3)

        # approach: turn quickly towards the partner
        h_approach = Hd + np.clip(_wrap(ang_t - Hd), -0.5, 0.5)

        moving = (st == EXPLORE) | (st == APPROACH)
        self.V = np.where(moving, self.V + 0.5 * (self.vtarget - self.V) + 3.0 * noise[..., 1] * (st == EXPLORE), 0.0)
        self.V = np.where(st == EXPLORE, np.clip(self.V, 0.5 * cfg.explore_speed, 1.7 * cfg.explore_speed), self.V)
        new_h = np.select(
            [st == EXPLORE, st == APPROACH, st == CONTACT],
            [h_explore, h_approach, ang_t + 0.05 * noise[..., 2]],
            Hd + 0.01 * noise[..., 2],
        )
        vel = self.V[..., None] * np.stack([np.cos(new_h), np.sin(new_h)], axis=-1) * dt

        # rest: sub-pixel jitter; contact: hold ~contact_hold body lengths from the partner
        jitter = cfg.rest_jitter * noise[..., 3:5]
        dist_t = np.maximum(np.hypot(to_t[..., 0], to_t[..., 1]), 1e-6)[..., None]
        hold = tp - to_t / dist_t * (cfg.contact_hold * bl)
        pull = 0.25 * (hold - P)
        pull_len = np.hypot(pull[..., 0], pull[..., 1])[..., None]
        pull = pull * np.minimum(1.0, 0.5 / np.maximum(pull_len, 1e-9)) + 0.1 * noise[..., 3:5]
        step = np.where((st == CONTACT)[..., None], pull, np.where((st == REST)[..., None], jitter, vel))
        step[~self.present] = 0.0
        newP = P + step
        newP[..., 0] = np.clip(newP[..., 0], self.margin, self.W - self.margin)
        newP[..., 1] = np.clip(newP[..., 1], self.margin, self.H - self.margin)
        newP[~self.present] = P[~self.present]
        self.P = newP
        self.Hd = _wrap(new_h)
        self.timer -= 1


def _missing_mask(rng: np.random.Generator, T: int, n: int, cfg: SimConfig) -> np.ndarray:
    """Short runs of lost detections (about ``missing_fraction``), sometimes a late start/early end."""
    miss = np.zeros((T, n), dtype=bool)
    for k in range(n):
        n_runs = rng.poisson(cfg.missing_fraction * T / cfg.missing_mean_run)
        starts = rng.integers(0, T, n_runs)
        lens = rng.geometric(1.0 / cfg.missing_mean_run, n_runs)
        delta = np.zeros(T + 1, dtype=np.int64)
        np.add.at(delta, starts, 1)
        np.add.at(delta, np.minimum(starts + lens, T), -1)
        miss[:, k] = np.cumsum(delta[:-1]) > 0
        if rng.random() < cfg.p_late_start:
            miss[: int(rng.integers(3, max(4, T // 30))), k] = True
        if rng.random() < cfg.p_late_start:
            miss[T - int(rng.integers(3, max(4, T // 30))) :, k] = True
        if miss[:, k].all():
            miss[T // 2, k] = False
    return miss


_BATCH = 128  # sequences integrated together (bounds memory for very large runs)


def _integrate(rng: np.random.Generator, cfg: SimConfig, n_per_seq: np.ndarray, T: int, fps: float):
    """Run the engine over ``T`` frames for a batch of sequences; arrays are (T, S, N, ...)."""
    eng = _Engine(rng, cfg, n_per_seq, fps)
    S, N = eng.S, eng.N
    pos = np.empty((T, S, N, 2))
    head = np.empty((T, S, N))
    states = np.empty((T, S, N), dtype=np.int8)
    targets = np.empty((T, S, N), dtype=np.int8)
    for t in range(T):
        diff, dist = eng.distances()
        eng.events(dist)
        pos[t] = eng.P
        states[t] = eng.state
        targets[t] = eng.target
        eng.step(diff, dist)
        head[t] = eng.Hd
    return pos, head, states, targets


def simulate(
    n_groups: int = 2,
    n_sequences: int = 2,
    n_animals: int | tuple[int, int] = (2, 4),
    n_frames: int = 900,
    fps: float = 30.0,
    seed: int = 0,
    config: SimConfig | None = None,
    group_names: list[str] | None = None,
) -> list[SimSequence]:
    """Simulate ``n_groups x n_sequences`` recordings with known ground truth.

    Parameters
    ----------
    n_groups, n_sequences
        Number of groups, and of sequences per group.
    n_animals
        Animals per sequence: an int, or ``(lo, hi)`` inclusive drawn per sequence.
    n_frames
        Frames per sequence.
    fps
        Frame rate.
    seed
        Seed of the ``numpy.random.Generator``; same arguments and seed give identical output.
    config
        Physical parameters (:class:`SimConfig`).
    group_names
        Optional group names (default ``group_<g>``); sequences are named
        ``<group>_seq<s>`` so that sequence names are unique across groups.

    Returns
    -------
    list of SimSequence
        One per (group, sequence), ordered by group then sequence.
    """
    lo, hi = _validate(n_groups, n_sequences, n_animals, n_frames, fps)
    cfg = config or SimConfig()
    T = int(n_frames)
    rng = np.random.default_rng(seed)
    S = int(n_groups) * int(n_sequences)
    n_per_seq = rng.integers(lo, hi + 1, S)
    names = _group_names(group_names, int(n_groups))
    out = []
    for c0 in range(0, S, _BATCH):  # batches bound the memory of large simulations
        out.extend(_simulate_batch(rng, cfg, n_per_seq[c0 : c0 + _BATCH], c0, int(n_sequences), names, T, fps))
    return out


def _group_names(group_names: list[str] | None, n_groups: int) -> list[str]:
    """``group_names``, or ``group_<g>``; raise :class:`ConfigError` when they do not name every group."""
    if group_names is None:
        group_names = [f"group_{g}" for g in range(n_groups)]
    if len(group_names) != n_groups:
        raise ConfigError("group_names must name every group", expected=n_groups, found=len(group_names))
    return group_names


def _simulate_batch(
    rng: np.random.Generator,
    cfg: SimConfig,
    batch: np.ndarray,
    c0: int,
    n_sequences: int,
    group_names: list[str],
    T: int,
    fps: float,
) -> list[SimSequence]:
    """Integrate one batch of sequences (``batch``: animals per sequence, the first being number ``c0``)."""
    pos, head, states, targets = _integrate(rng, cfg, batch, T, fps)
    out = []
    for b, n in enumerate(batch.tolist()):
        g, q = divmod(c0 + b, n_sequences)
        out.append(
            _sim_sequence(
                group_names[g],
                f"{group_names[g]}_seq{q}",
                fps,
                cfg,
                (pos[:, b, :n], head[:, b, :n], states[:, b, :n], targets[:, b, :n]),
                _missing_mask(rng, T, n, cfg),
            )
        )
    return out


def _sim_sequence(
    group: str, sequence: str, fps: float, cfg: SimConfig, arrays: tuple, missing: np.ndarray
) -> SimSequence:
    """One recording of an integrated batch: ``arrays`` are its (pos, heading, states, targets)."""
    pos, head, states, targets = arrays
    return SimSequence(
        group=group,
        sequence=sequence,
        fps=float(fps),
        cm_per_pixel=float(cfg.cm_per_pixel),
        arena_size=(int(cfg.arena_size[0]), int(cfg.arena_size[1])),
        pos=np.ascontiguousarray(pos),
        heading=np.ascontiguousarray(head),
        states=states.astype(np.int64),
        targets=targets.astype(np.int64),
        missing=missing,
        body_length=float(cfg.body_length),
    )
