"""Nodes of the `sample_frames` pipeline.

They drive the same library functions as ``Dataset.extract_frames``:

1. :func:`select_frames` — :func:`mosaic.media.plan.plan_frame_run` then, per recording,
   :func:`mosaic.media.frames.select_or_reuse` (parallel over recordings). Returns the plan
   and the chosen indices (JSON-able).
2. :func:`render_frames` — ``{partition_id: callable}`` for the ``frame_images``
   PartitionedDataset (PNGs encoded and saved atomically by
   :class:`mosaic.datasets.atomic.FramePngDataset` with the facade's writer, over the old ones
   of the same name);
   each callable decodes its frame lazily through one sequential reader per recording
   (:class:`mosaic.media.decode.LazySequenceFrames`).
3. :func:`frame_runs_to_record` — after the PNGs are saved, the selection to record; saving it as
   ``frame_runs`` (:class:`mosaic.datasets.frames.FrameRunsDataset`) writes ``run_info.json`` per
   recording (then removes the PNGs it does not list) and the ``frames/index.csv`` rows
   (:func:`mosaic.media.store.record_frame_selection`).
4. :func:`check_frame_runs` — raises ``BatchError`` listing failed recordings when ``fail_on_error``.

With ``overwrite`` nothing is deleted before the new PNGs exist, so a run killed at any point
leaves each recording's old ``run_info.json`` with all its PNGs, or the new one with all of its.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError, ConfigError
from mosaic.media.decode import LazySequenceFrames
from mosaic.media.frames import map_recordings, select_or_reuse
from mosaic.media.params import FrameParams
from mosaic.media.plan import FrameRun, partition_id, plan_frame_run
from mosaic.media.store import frames_index_path

log = logging.getLogger(__name__)

RUN_KEYS = ("groups", "sequences", "overwrite", "parallel_workers", "parallel_mode", "dask_address", "fail_on_error")
PARAM_KEYS = tuple(f for f in FrameParams.__dataclass_fields__)


def select_frames(media_index: pd.DataFrame, sample_frames: Mapping[str, Any], dataset: DatasetCore) -> dict[str, Any]:
    """Plan the frame run and choose the frames of every recording (reusing finished ones).

    ``media_index`` is ``media/index.csv`` (``media_index@table``, written by ``ingest``): the
    videos the run samples, which :func:`mosaic.media.plan.plan_frame_run` reads.
    """
    cfg = dict(sample_frames or {})
    unknown = sorted(set(cfg) - set(RUN_KEYS) - set(PARAM_KEYS))
    if unknown:
        raise ConfigError(
            "unknown keys in sample_frames parameters", expected=sorted(RUN_KEYS + PARAM_KEYS), found=unknown
        )
    if "n_frames" not in cfg:
        raise ConfigError("sample_frames needs n_frames", expected="sample_frames.n_frames: <int>", found=sorted(cfg))
    ds = dataset
    if media_index is not None and len(media_index) == 0:
        log.warning(
            "sample_frames: media/index.csv lists no video (run the ingest pipeline with media_ingest.search_dirs)"
        )
    params = {k: cfg[k] for k in PARAM_KEYS if k in cfg and k not in ("n_frames", "method")}
    run = plan_frame_run(
        ds,
        cfg["n_frames"],
        cfg.get("method", "uniform"),
        groups=cfg.get("groups"),
        sequences=cfg.get("sequences"),
        **params,
    )
    failures = dict(run.failures)
    selections = []
    results = map_recordings(
        select_or_reuse,
        ds,
        run,
        bool(cfg.get("overwrite", False)),
        parallel_workers=cfg.get("parallel_workers", "auto"),
        parallel_mode=cfg.get("parallel_mode", "thread"),
        dask_address=cfg.get("dask_address"),
    )
    for label, sel, err in results:
        if sel is None:
            failures[label] = err
        else:
            selections.append(sel)
    selections.sort(key=lambda s: (s["group"], s["sequence"]))
    log.info(
        "frame run %s (%s): %d recording(s) selected, %d failed", run.run_id, run.method, len(selections), len(failures)
    )
    return {
        "run": run.to_dict(),
        "selections": selections,
        "failures": failures,
        "fail_on_error": bool(cfg.get("fail_on_error", True)),
    }


def _bgr_frame(frames: LazySequenceFrames, index: int) -> np.ndarray:
    return frames.frame(index)


def render_frames(frame_selection: Mapping[str, Any]) -> tuple[dict[str, Callable[[], np.ndarray]], dict[str, Any]]:
    """Lazy PNG partitions ``<method>/<run_id>/<group_safe>__<sequence_safe>/frame_000123`` and a summary.

    Each partition decodes its frame (BGR) when the ``frame_images`` dataset saves it, which
    encodes it with the media domain's PNG writer (the facade's bytes).
    """
    run = FrameRun.from_dict(frame_selection["run"])
    parts: dict[str, Callable[[], np.ndarray]] = {}
    for sel in frame_selection["selections"]:
        if sel["reused"]:
            continue
        job = run.job(sel["group"], sel["sequence"])
        frames = LazySequenceFrames(job, sel["indices"], run.params.crop)
        for g in sel["indices"]:
            parts[partition_id(run.method, run.run_id, job.group, job.sequence, g, job.total_frames)] = partial(
                _bgr_frame, frames, g
            )
    return parts, {"run_id": run.run_id, "method": run.method, "n_partitions": len(parts)}


def frame_runs_to_record(frame_selection: Mapping[str, Any], frames_rendered: Mapping[str, Any]) -> dict[str, Any]:
    """The selection to record once the PNGs are saved (``frames_rendered`` is their summary).

    Saving the result as ``frame_runs`` (:class:`mosaic.datasets.frames.FrameRunsDataset`) writes
    ``run_info.json`` per recording and the ``frames/index.csv`` rows.
    """
    if frames_rendered.get("run_id") != frame_selection["run"].get("run_id"):
        raise ConfigError(
            "the rendered frames belong to another run",
            expected=frame_selection["run"].get("run_id"),
            found=frames_rendered.get("run_id"),
        )
    return {"run": frame_selection["run"], "selections": frame_selection["selections"]}


def check_frame_runs(frame_runs: pd.DataFrame, frame_selection: Mapping[str, Any], dataset: DatasetCore) -> None:
    """Raise (``fail_on_error``, default) or log the recordings that failed, once the others are recorded.

    ``frame_runs`` is ``frames/index.csv`` as saved; it orders this check after the recording.
    """
    failures = frame_selection.get("failures") or {}
    if not failures:
        return
    run = frame_selection["run"]
    err = BatchError(
        f"frame sampling ({run.get('method')}, run {run.get('run_id')}) failed for some recordings",
        failures,
        path=frames_index_path(dataset),
    )
    if frame_selection.get("fail_on_error", True):
        raise err
    log.warning("%s", err)
