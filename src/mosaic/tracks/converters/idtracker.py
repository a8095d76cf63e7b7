"""idtracker.ai ``trajectories.npy`` / ``trajectories_wo_gaps.npy`` → ``trex_v1``.

A pickled dict (``trajectories`` (frames, animals, 2) px with NaN for missing,
``frames_per_second``, ``id_probabilities`` (frames, animals, 1), optional ``areas``,
``body_length``, ``setup_points``...) or, in the oldest exports, the bare (frames, animals,
2) array. Row i = frame i; animal j = ``id`` j. ``id_probabilities`` → ``id_probability``,
``areas`` → ``area``. fps from the file, else params. ``.npy`` dicts are pickles, read with a restricted
unpickler (:func:`mosaic.core.unpickle.load_npy`): no code in a file runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param
from mosaic.core.unpickle import UnsafePickleError, load_npy

from ..table import CALIBRATION_PARAMETERS, TrackTable, base_meta, build_table, calibration

PARAMETERS: dict[str, Param] = dict(CALIBRATION_PARAMETERS)


def convert(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert one idtracker.ai trajectories file into one recording."""
    if len(paths) != 1:
        raise ConfigError("an idtracker.ai conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    ctx = dict(path=path, group=group, sequence=sequence)
    try:
        obj = load_npy(path)
    except UnsafePickleError:
        raise
    except Exception as exc:
        raise TrackFormatError(
            "not a readable idtracker.ai .npy file", found=f"{type(exc).__name__}: {exc}", **ctx
        ) from exc
    info: Mapping[str, Any] = obj if isinstance(obj, Mapping) else {"trajectories": obj}
    if "trajectories" not in info:
        raise TrackFormatError(
            "idtracker.ai file lacks 'trajectories'",
            expected="dict with 'trajectories'",
            found=sorted(info)[:10],
            **ctx,
        )
    try:
        tr = np.asarray(info["trajectories"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TrackFormatError("idtracker.ai trajectories are not numeric", found=str(exc), **ctx) from exc
    if tr.ndim != 3 or tr.shape[2] != 2 or tr.shape[0] == 0:
        raise TrackFormatError(
            "idtracker.ai trajectories have the wrong shape", expected="(frames > 0, animals, 2)", found=tr.shape, **ctx
        )
    T, n, _ = tr.shape
    calib = calibration(params, path=path, fps_file=info.get("frames_per_second"))
    fps = calib["fps"]
    extra: dict[str, np.ndarray] = {}
    for key, col in (("id_probabilities", "id_probability"), ("areas", "area")):
        if info.get(key) is None:
            continue
        v = np.asarray(info[key], dtype=np.float64)
        if v.size != T * n:
            raise TrackFormatError(
                f"idtracker.ai {key!r} does not match trajectories", expected=(T, n), found=v.shape, **ctx
            )
        extra[col] = v.reshape(T * n)
    flat = tr.reshape(T * n, 2)
    frame = np.repeat(np.arange(T, dtype=np.int64), n)
    ids = np.tile(np.arange(n, dtype=np.int64), T)
    df = build_table(
        frame, ids, flat[:, 0], flat[:, 1], group=group, sequence=sequence, fps=fps, extra=extra, sort=False
    )
    body = info.get("body_length")
    meta = base_meta(
        "idtracker_npy",
        [path],
        **calib,
        keypoint_names=[],
        individual_names={j: f"animal{j + 1}" for j in range(n)},
        body_length_px=None if body is None else float(np.asarray(body)),
        setup_points={k: np.asarray(v).tolist() for k, v in (info.get("setup_points") or {}).items()},
    )
    return [TrackTable(group, sequence, df, meta)]
