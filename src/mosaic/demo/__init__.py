"""Demo data simulator: a small, realistic dataset with known ground truth.

Animals (2–6 per recording) move in a rectangular arena driven by hidden behaviour
states (``rest``, ``explore``, ``approach``, ``contact``; the last two are pair
behaviours with a partner id). The result is written in the real formats mosaic
converts — TRex per-individual ``.npz``, a CalMS21-style ``.npy``, BORIS aggregated and
tabular event exports — plus rendered videos and the ground truth.

>>> from mosaic.demo import simulate, make_demo_dataset
>>> sims = simulate(n_groups=2, n_sequences=2, n_animals=(2, 4), n_frames=900, fps=30.0, seed=0)
>>> ds = make_demo_dataset("data/demo", size="tiny", seed=0)  # doctest: +SKIP

BORIS time convention: ``Start (s) = start_frame / fps``, ``Stop (s) = stop_frame / fps``
(``stop_frame`` exclusive), 3 decimals; invert with ``round(t * fps)``. Subjects are
``fish<k>``; the partner of a pair behaviour is the ``Modifiers`` value (aggregated) or
the ``Comment`` (tabular).
"""

from __future__ import annotations

from .boris import write_boris_aggregated, write_boris_tabular
from .calms21 import (
    CALMS21_KEYPOINTS,
    CALMS21_VOCAB,
    CalmsSequence,
    calms21_dict,
    simulate_calms21,
    write_calms21_json,
    write_calms21_npy,
)
from .dataset import SIZES, TIME_CONVENTION, make_demo_dataset
from .simulate import (
    BEHAVIORS,
    PAIR_BEHAVIORS,
    SimConfig,
    SimSequence,
    bouts_from_states,
    simulate,
    subject_name,
)
from .trex import trex_arrays, write_trex_npz
from .truth import bouts_table, write_ground_truth
from .video import render_video

__all__ = [
    "BEHAVIORS",
    "CALMS21_KEYPOINTS",
    "CALMS21_VOCAB",
    "PAIR_BEHAVIORS",
    "SIZES",
    "TIME_CONVENTION",
    "CalmsSequence",
    "SimConfig",
    "SimSequence",
    "bouts_from_states",
    "bouts_table",
    "calms21_dict",
    "make_demo_dataset",
    "render_video",
    "simulate",
    "simulate_calms21",
    "subject_name",
    "trex_arrays",
    "write_boris_aggregated",
    "write_boris_tabular",
    "write_calms21_json",
    "write_calms21_npy",
    "write_ground_truth",
    "write_trex_npz",
]
