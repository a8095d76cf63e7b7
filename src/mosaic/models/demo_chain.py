"""A compact feature set and training config for the simulator's behaviours (rest, explore, approach, contact).

:func:`default_feature_specs` lists the features the demo classifier uses (kinematics, pair
features, rolling statistics of both); :func:`run_default_features` runs them through the
features engine; :data:`DEMO_CLASSIFIER_CONFIG` is the matching :func:`train_model` config.
:func:`write_sim_tracks_and_labels` writes simulated recordings straight into a dataset as
standardized tracks + ``individual_pair_v1`` labels (for tests and benchmarks that do not go
through the ingest/convert/label pipelines).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore

if TYPE_CHECKING:
    from mosaic.labels.io import LabelSet

KINEMATICS = {"name": "kinematics", "params": {"outputs": ["speed", "acceleration", "angular_velocity"], "cm": False}}
PAIR = {"name": "pair", "params": {"outputs": ["distance", "facing", "relative_speed", "approach_rate"], "cm": False}}
ROLL_WINDOWS = [15, 45]


def default_feature_specs() -> list[dict[str, Any]]:
    """Base feature specs (names and params) of the demo classifier, before the rolling ones."""
    return [KINEMATICS, PAIR]


def run_default_features(ds: DatasetCore, groups: Any = None, sequences: Any = None, overwrite: bool = False) -> list:
    """Run kinematics, pair and their rolling statistics; return the four feature Results."""
    from mosaic.features.base import Inputs
    from mosaic.features.engine import run_feature
    from mosaic.features.registry import make_feature

    kin = run_feature(ds, KINEMATICS, groups=groups, sequences=sequences, overwrite=overwrite)
    pair = run_feature(ds, PAIR, groups=groups, sequences=sequences, overwrite=overwrite)
    out = [kin, pair]
    for up, cols in (
        (kin, ["speed_px_s", "acc_px_s2", "angvel_rad_s"]),
        (pair, ["distance_px", "approach_px_s", "facing_rad"]),
    ):
        feat = make_feature(
            {
                "name": "rolling",
                "params": {"windows": ROLL_WINDOWS, "stats": ["mean", "std"], "columns": cols},
                "inputs": Inputs((up,)),
            }
        )
        out.append(run_feature(ds, feat, groups=groups, sequences=sequences, overwrite=overwrite))
    return out


DEMO_CLASSIFIER_CONFIG: dict[str, Any] = {
    "kind": "classifier",
    "target": "individual",
    "label_kind": "behavior",
    "pair_reduce": ["nearest", "min", "mean"],
    "estimator": "hist_gradient_boosting",
    "estimator_params": {"max_iter": 100},
    "cv_folds": 4,
    "min_bout": 5,
}


def write_sim_tracks_and_labels(ds: DatasetCore, sims: Iterable, kind: str = "behavior") -> list[tuple[str, str]]:
    """Write simulated recordings as ``trex_v1`` track files (+ tracks index) and labels of ``kind``.

    Missing detections become NaN rows; individual behaviours become ``[k, -1]`` events and
    pair behaviours ``[k, target]`` events (both directions stored, as the label format says).
    """
    from mosaic.core.indexes import TRACKS_INDEX, upsert_index
    from mosaic.core.safe_names import sequence_key
    from mosaic.labels.io import save_label_sets
    from mosaic.tracks.io import write_tracks

    rows, sets, keys = [], [], []
    troot = ds.get_root("tracks")
    for sim in sims:
        df = _sim_tracks_table(sim)
        path = troot / f"{sequence_key(sim.group, sim.sequence)}.parquet"
        write_tracks(df, path, {"fps": sim.fps, "cm_per_pixel": sim.cm_per_pixel, "src_format": "demo"})
        rows.append(_tracks_index_row(ds, sim, path, len(df)))
        sets.append(_sim_label_set(sim))
        keys.append((sim.group, sim.sequence))
    upsert_index(troot / "index.csv", rows, TRACKS_INDEX)
    save_label_sets(ds, kind, sets, overwrite=True)
    return keys


def _sim_tracks_table(sim: Any) -> pd.DataFrame:
    """The ``trex_v1`` rows of a simulated recording: one per (frame, id), NaN position where undetected."""
    T, n = sim.states.shape
    frame = np.repeat(np.arange(T, dtype=np.int64), n)
    ids = np.tile(np.arange(n, dtype=np.int64), T)
    X = sim.pos[:, :, 0].ravel().astype(np.float64)
    Y = sim.pos[:, :, 1].ravel().astype(np.float64)
    A = sim.heading.ravel().astype(np.float64)
    miss = sim.missing.ravel()
    X[miss], Y[miss], A[miss] = np.nan, np.nan, np.nan
    return pd.DataFrame(
        {
            "frame": frame,
            "time": frame / sim.fps,
            "id": ids,
            "X": X,
            "Y": Y,
            "ANGLE": A,
            "group": sim.group,
            "sequence": sim.sequence,
        }
    )


def _tracks_index_row(ds: DatasetCore, sim: Any, path: Path, n_rows: int) -> dict[str, Any]:
    """The tracks index row of the simulated recording written to ``path``."""
    from mosaic.core.safe_names import to_safe_name

    T, n = sim.states.shape
    return {
        "group": sim.group,
        "sequence": sim.sequence,
        "group_safe": to_safe_name(sim.group),
        "sequence_safe": to_safe_name(sim.sequence),
        "abs_path": ds.relative_path(path),
        "schema": "trex_v1",
        "src_format": "demo",
        "n_rows": n_rows,
        "n_frames": T,
        "n_ids": n,
        "fps": sim.fps,
    }


def _sim_label_set(sim: Any) -> LabelSet:
    """The simulator's bouts as an ``individual_pair_v1`` :class:`~mosaic.labels.io.LabelSet`."""
    from mosaic.labels.events import bouts_to_events
    from mosaic.labels.io import LabelSet

    b = sim.bouts()
    lab = b["behavior"].map({name: i for i, name in enumerate(sim.behaviors)}).to_numpy()
    tgt = b["target_id"].to_numpy()
    frames, labels, iids = bouts_to_events(
        b["start_frame"], b["stop_frame"], lab, b["subject_id"], np.where(tgt >= 0, tgt, -1)
    )
    return LabelSet(
        group=sim.group,
        sequence=sim.sequence,
        frames=frames,
        labels=labels,
        individual_ids=iids,
        label_ids=np.arange(len(sim.behaviors)),
        label_names=np.array(sim.behaviors),
        fps=sim.fps,
        n_frames=sim.states.shape[0],
    )
