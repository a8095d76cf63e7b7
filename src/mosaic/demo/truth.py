"""Ground-truth files of the demo dataset.

* ``ground_truth/bouts.csv``: ``group, sequence, subject_id, target_id, behavior,
  start_frame, stop_frame`` — one row per bout (maximal run of one animal's (state,
  target)); ``stop_frame`` is exclusive; ``target_id`` is the partner's id for pair
  behaviours and ``-1`` otherwise. The bouts of one animal tile frames ``0 .. T`` exactly.
* ``ground_truth/<group_safe>__<sequence_safe>.npz``: ``pos`` (T, n, 2) px, ``heading``
  (T, n) rad, ``states`` (T, n) int, ``targets`` (T, n) int, ``missing`` (T, n) bool,
  ``behaviors``, ``pair_behaviors``, ``subjects`` (``fish<k>``), ``fps``, ``cm_per_pixel``,
  ``arena_size``, ``body_length``, ``group``, ``sequence``.
* ``ground_truth/calms21_bouts.csv``: ``file, annotator, sequence_key, subject_id,
  target_id, behavior, start_frame, stop_frame`` of the CalMS21 annotations (resident 0
  acting on intruder 1; ``other`` has target -1).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_open, atomic_write_text
from mosaic.core.safe_names import sequence_key

from .calms21 import CalmsSequence
from .simulate import SimSequence, subject_name

BOUT_COLUMNS: tuple[str, ...] = (
    "group",
    "sequence",
    "subject_id",
    "target_id",
    "behavior",
    "start_frame",
    "stop_frame",
)


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def bouts_table(sims: list[SimSequence]) -> pd.DataFrame:
    """All ground-truth bouts of ``sims`` with the columns of :data:`BOUT_COLUMNS`."""
    parts = []
    for sim in sims:
        b = sim.bouts()
        b.insert(0, "sequence", sim.sequence)
        b.insert(0, "group", sim.group)
        parts.append(b)
    if not parts:
        return pd.DataFrame(columns=list(BOUT_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(BOUT_COLUMNS)]


def write_truth_npz(sim: SimSequence, path: str | os.PathLike) -> Path:
    """Write the per-sequence ground-truth ``.npz`` of ``sim`` (atomically)."""
    sim.validate()
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        np.savez(
            fh,
            pos=sim.pos,
            heading=sim.heading,
            states=sim.states,
            targets=sim.targets,
            missing=sim.missing,
            behaviors=np.array(sim.behaviors),
            pair_behaviors=np.array(sim.pair_behaviors),
            subjects=np.array([subject_name(k) for k in range(sim.n_animals)]),
            fps=np.float64(sim.fps),
            cm_per_pixel=np.float64(sim.cm_per_pixel),
            arena_size=np.array(sim.arena_size, dtype=np.int64),
            body_length=np.float64(sim.body_length),
            group=np.array(sim.group),
            sequence=np.array(sim.sequence),
        )
    return path


def write_ground_truth(sims: list[SimSequence], folder: str | os.PathLike) -> dict[str, Path]:
    """Write ``bouts.csv`` and one ``<group>__<sequence>.npz`` per sequence into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {"bouts": atomic_write_text(folder / "bouts.csv", _csv(bouts_table(sims)))}
    for sim in sims:
        key = sequence_key(sim.group, sim.sequence)
        out[key] = write_truth_npz(sim, folder / f"{key}.npz")
    return out


def write_calms21_truth(seqs: list[CalmsSequence], path: str | os.PathLike, file: str) -> Path:
    """Write the CalMS21 ground-truth bouts CSV; ``file`` is the data file's dataset-relative path."""
    parts = []
    for s in seqs:
        b = s.bouts()
        b.insert(0, "target_id", np.where(b["behavior"] == "other", -1, 1))
        b.insert(0, "subject_id", 0)
        b.insert(0, "sequence_key", s.key)
        b.insert(0, "annotator", f"annotator-id_{s.annotator_id}")
        b.insert(0, "file", file)
        parts.append(b)
    df = pd.concat(parts, ignore_index=True)
    df = df[["file", "annotator", "sequence_key", "subject_id", "target_id", "behavior", "start_frame", "stop_frame"]]
    return atomic_write_text(path, _csv(df))
