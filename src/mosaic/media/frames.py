"""Sampling representative frames from the videos of each recording (uniform and k-means).

:func:`extract_frames` is the entry point (facade). The work per recording is factored so
that it and the Kedro ``sample_frames`` pipeline share it:

* :func:`~mosaic.media.plan.plan_frame_run` — validate parameters, find the videos, run id;
* :func:`select_sequence_frames` — which global indices (uniform, or k-means over thumbnails);
* :mod:`mosaic.media.decode` — decode those frames exactly (seek where exact, else sequential);
* :mod:`mosaic.media.store` — atomic PNGs, ``run_info.json``, ``frames/index.csv`` rows.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import cv2
import numpy as np

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError, ConfigError, MosaicError
from mosaic.core.executor import PARALLEL_MODES, ExecutorConfig, run_tasks

from .decode import for_each_frame, thumbnail
from .errors import CropError, NotEnoughFramesError
from .params import FRAME_DEFAULTS, FrameParams
from .plan import (
    FrameRun,
    SequenceJob,
    frame_file_stem,
    plan_frame_run,
    sequence_frames_dir,
)
from .sampling import candidate_indices, kmeans_select, uniform_indices
from .store import (
    Selection,
    existing_run_row,
    frames_index_path,
    record_sequence_run,
    upsert_frame_rows,
    write_frame_png,
)

log = logging.getLogger(__name__)


def check_range(job: SequenceJob, params: FrameParams) -> tuple[int, int]:
    """The ``[start, end)`` range of global indices, validated against the recording."""
    total = job.total_frames
    start = params.start_frame or 0
    end = total if params.end_frame is None else params.end_frame
    ctx = {"group": job.group, "sequence": job.sequence, "path": job.videos[0].path if len(job.videos) == 1 else None}
    if end > total or start >= total:
        raise NotEnoughFramesError(
            "frame range lies beyond the end of the recording",
            expected=f"0 <= start < end <= {total}",
            found=f"start={start}, end={end}",
            **ctx,
        )
    if params.n_frames > end - start:
        raise NotEnoughFramesError(
            "more frames requested than the range holds",
            expected=f"n_frames <= {end - start} (frames {start}..{end - 1})",
            found=params.n_frames,
            **ctx,
        )
    return start, end


def check_crop(job: SequenceJob, crop: tuple[int, int, int, int] | None) -> None:
    """Raise :class:`CropError` naming the video when ``crop`` does not fit inside its frames."""
    if crop is None:
        return
    x, y, w, h = crop
    for v in job.videos:
        if x + w > v.width or y + h > v.height:
            raise CropError(
                "crop lies outside the frame",
                path=v.path,
                group=job.group,
                sequence=job.sequence,
                expected=f"x + w <= {v.width} and y + h <= {v.height}",
                found=f"(x, y, w, h) = {crop}",
            )


def select_sequence_frames(job: SequenceJob, params: FrameParams, *, workers: int = 1) -> Selection:
    """Choose ``params.n_frames`` global frame indices of a recording.

    ``uniform``: :func:`~mosaic.media.sampling.uniform_indices` over ``[start, end)``.
    ``kmeans``: candidates every ``candidate_step`` frames (widened to stay within
    ``kmeans_max_candidates``), decoded in sequential passes (non-candidates are only
    grabbed; ``workers`` pieces in parallel where seeking is exact; grayscale thumbnails read
    the decoder's luma plane, no colour conversion), cropped and shrunk to thumbnails,
    clustered with ``MiniBatchKMeans`` (after randomized PCA to 64 dimensions); the frame
    nearest each centre is kept (farthest-point fill when clusters collapse).

    Raises
    ------
    NotEnoughFramesError, CropError, VideoReadError
    """
    t0 = time.perf_counter()
    start, end = check_range(job, params)
    check_crop(job, params.crop)
    info: dict[str, Any] = {"range": [start, end]}
    if params.method == "uniform":
        idx = uniform_indices(start, end, params.n_frames)
    else:
        cand, step = candidate_indices(start, end, params.candidate_step, params.kmeans_max_candidates)
        if params.n_frames > len(cand):
            raise NotEnoughFramesError(
                "more frames requested than k-means candidates",
                group=job.group,
                sequence=job.sequence,
                expected=f"n_frames <= {len(cand)} candidates (every {step} frames of {start}..{end - 1})",
                found=params.n_frames,
                hint="lower candidate_step or n_frames",
            )
        w, h = params.kmeans_resize
        dim = w * h * (1 if params.kmeans_grayscale else 3)
        X = np.empty((len(cand), dim), dtype=np.float32)
        row_of = {int(g): r for r, g in enumerate(cand.tolist())}

        def put(g: int, frame: np.ndarray) -> None:  # crop already applied
            X[row_of[g]] = thumbnail(frame, None, (w, h), params.kmeans_grayscale)

        for_each_frame(job, cand, put, params.crop, workers=workers, luma=params.kmeans_grayscale)
        t_thumbs = time.perf_counter() - t0
        pos = kmeans_select(
            X,
            params.n_frames,
            batch_size=params.kmeans_batch_size,
            max_iter=params.kmeans_max_iter,
            n_init=params.kmeans_n_init,
            random_state=params.random_state,
        )
        idx = cand[pos]
        info.update({"candidate_step": step, "n_candidates": len(cand), "thumbnails_s": round(t_thumbs, 4)})
    info["select_s"] = round(time.perf_counter() - t0, 4)
    return Selection(indices=np.asarray(idx, dtype=np.int64), info=info)


def extract_sequence(
    ds: DatasetCore, run: FrameRun, job: SequenceJob, overwrite: bool = False, workers: int = 1
) -> dict[str, Any]:
    """Select, decode and save the frames of one recording; return its index row.

    Reuses a finished earlier run unless ``overwrite``. ``workers`` threads decode pieces
    of the recording (and encode PNGs) in parallel. An overwrite keeps the earlier outputs
    until the new ones are complete (see :func:`~mosaic.media.store.record_sequence_run`):
    a kill leaves the old run_info.json with all its PNGs, or the new one with all of its.
    """
    if not overwrite:
        row = existing_run_row(ds, run, job)
        if row is not None:
            log.info("frames of %s/%s already extracted in run %s; reusing", job.group, job.sequence, run.run_id)
            return row
    # No clearing up front: the old PNGs and run_info.json stay valid until the new ones are
    # complete; record_sequence_run writes run_info.json, then removes PNGs it does not list.
    out_dir = sequence_frames_dir(ds, run.method, run.run_id, job.group, job.sequence)
    t0 = time.perf_counter()
    sel = select_sequence_frames(job, run.params, workers=workers)
    t1 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    total = job.total_frames
    for_each_frame(
        job,
        sel.indices,
        lambda g, frame: write_frame_png(out_dir / f"{frame_file_stem(g, total)}.png", frame),
        run.params.crop,
        workers=workers,
    )
    t2 = time.perf_counter()
    timing = {"select_s": round(t1 - t0, 4), "decode_write_s": round(t2 - t1, 4), "total_s": round(t2 - t0, 4)}
    return record_sequence_run(ds, run, job, sel, timing)


def _run_safely(
    fn: Callable[..., Any], ds: DatasetCore, run: FrameRun, job: SequenceJob, *args: Any
) -> tuple[str, Any, str | None]:
    """``(label, fn(ds, run, job, *args), None)``, or ``(label, None, "ErrorClass: message")`` on failure."""
    label = f"{job.group}/{job.sequence}"
    try:
        return label, fn(ds, run, job, *args), None
    except MosaicError as exc:
        return label, None, f"{type(exc).__name__}: {exc}"
    except (cv2.error, OSError) as exc:  # decoder/file-system failures, named by recording
        return label, None, f"{type(exc).__name__}: {exc} (videos: {[v.path for v in job.videos]})"


def _run_task(task: tuple) -> tuple[str, Any, str | None]:
    fn, ds, run, job, args, inner = task
    return _run_safely(fn, ds, run, job, *args, inner)


def map_recordings(
    fn: Callable[..., Any],
    ds: DatasetCore,
    run: FrameRun,
    *args: Any,
    parallel_workers: int | str = "auto",
    parallel_mode: str = "thread",
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
) -> Iterator[tuple[str, Any, str | None]]:
    """Apply ``fn(ds, run, job, *args, workers)`` to every recording of ``run``, in parallel.

    ``fn`` is a module-level function (it must pickle for ``'process'``/``'dask'`` mode).
    ``workers`` (the last argument) is the number of decoding threads left for each
    recording. Runs on the shared executor (:mod:`mosaic.core.executor`: ``'serial'``,
    ``'thread'``, ``'process'`` or ``'dask'`` with ``dask_address`` / ``memory_limit``).
    Yields ``(label, result, error)`` as recordings finish; a failure never stops the others.
    """
    if parallel_mode not in PARALLEL_MODES:
        raise ConfigError("unknown parallel_mode", expected=list(PARALLEL_MODES), found=repr(parallel_mode))
    workers = resolve_workers(parallel_workers, len(run.jobs))
    inner = max(1, (os.cpu_count() or 1) // max(1, min(workers, len(run.jobs))))
    mode = "serial" if workers == 1 and parallel_mode != "dask" else parallel_mode
    config = ExecutorConfig(mode, workers, dask_address, memory_limit)
    tasks = [(fn, ds, run, j, args, inner) for j in run.jobs]
    yield from run_tasks(_run_task, tasks, config, desc=f"frames {run.method}")


def select_or_reuse(
    ds: DatasetCore, run: FrameRun, job: SequenceJob, overwrite: bool = False, workers: int = 1
) -> dict[str, Any]:
    """Selection step alone (for the Kedro pipeline): reuse a finished run or choose the frames.

    Returns ``{"group", "sequence", "reused", "indices", "info"}`` (JSON-able). With
    ``overwrite`` nothing is removed here: the earlier PNGs/run_info stay until the record
    step has written the new run_info.json (:func:`~mosaic.media.store.record_sequence_run`).
    """
    if not overwrite:
        row = existing_run_row(ds, run, job)
        if row is not None:
            log.info("frames of %s/%s already extracted in run %s; reusing", job.group, job.sequence, run.run_id)
            return {"group": job.group, "sequence": job.sequence, "reused": True, "indices": [], "info": {}}
    # Nothing is removed here: the PNGs are saved over the old ones, then the record step
    # (record_sequence_run) writes run_info.json and removes the PNGs it does not list.
    sel = select_sequence_frames(job, run.params, workers=workers)
    return {
        "group": job.group,
        "sequence": job.sequence,
        "reused": False,
        "indices": [int(i) for i in sel.indices],
        "info": sel.info,
    }


def resolve_workers(parallel_workers: int | str, n_jobs: int) -> int:
    """``'auto'`` → min(n_jobs, CPU count); integers are used as given (>= 1)."""
    if parallel_workers == "auto" or parallel_workers is None:
        return max(1, min(n_jobs, os.cpu_count() or 1))
    if isinstance(parallel_workers, bool) or not isinstance(parallel_workers, int) or parallel_workers < 1:
        raise ConfigError("parallel_workers must be 'auto' or a positive integer", found=repr(parallel_workers))
    return parallel_workers


def extract_frames(
    ds: DatasetCore,
    n_frames: int,
    method: str = "uniform",
    *,
    groups: Sequence[str] | None = None,
    sequences: Sequence[str] | None = None,
    overwrite: bool = False,
    start_frame: int | None = None,
    end_frame: int | None = None,
    candidate_step: int = 1,
    crop: tuple[int, int, int, int] | None = None,
    kmeans_resize: tuple[int, int] = (64, 64),
    kmeans_grayscale: bool = True,
    kmeans_max_candidates: int | None = 5000,
    kmeans_batch_size: int = 1024,
    kmeans_max_iter: int = 100,
    kmeans_n_init: int | str = "auto",
    random_state: int | None = 42,
    parallel_workers: int | str = "auto",
    parallel_mode: str = "thread",
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
) -> str:
    """Sample ``n_frames`` representative frames of each recording and save them as PNGs.

    Parameters
    ----------
    ds
        The dataset (its media index must exist: :func:`~mosaic.media.index.index_media`).
    n_frames, method
        Frames per recording; ``'uniform'`` (evenly spaced over ``[start_frame, end_frame)``) or
        ``'kmeans'`` (representative thumbnails, see :func:`select_sequence_frames`).
    groups, sequences
        Restrict to these groups / sequence names (default: every indexed recording).
    overwrite
        Recompute even when a finished run with the same run id exists.
    start_frame, end_frame, candidate_step, crop, kmeans_*, random_state
        Sampling parameters (:class:`~mosaic.media.params.FrameParams`): the global range ``[start, end)``
        (default: whole recording), the pixel crop ``(x, y, w, h)`` applied before clustering and saving, k-means knobs.
    parallel_workers, parallel_mode, dask_address, memory_limit
        Recordings processed in parallel: ``'thread'`` (default), ``'serial'``, ``'process'``
        (joblib loky) or ``'dask'`` (see :mod:`mosaic.core.executor`).

    Returns
    -------
    str
        The run id. Frames are in ``frames/<method>/<run_id>/<group_safe>__<sequence_safe>/``.

    Raises
    ------
    FrameMethodError, CropError
        Invalid parameters (before any work).
    BatchError
        Some recordings failed (named errors listed); the others are complete and indexed.
    """
    sampling = {k: v for k, v in locals().items() if k in FRAME_DEFAULTS}  # FrameParams' knobs, by name
    _check_execution(parallel_mode, parallel_workers)
    run = plan_frame_run(ds, n_frames, method, groups=groups, sequences=sequences, **sampling)
    return _run_frame_extraction(ds, run, overwrite, parallel_workers, parallel_mode, dask_address, memory_limit)


def _check_execution(parallel_mode: str, parallel_workers: int | str) -> None:
    """Validate the executor settings before any work (``ConfigError`` on a bad mode or count)."""
    if parallel_mode not in PARALLEL_MODES:
        raise ConfigError("unknown parallel_mode", expected=list(PARALLEL_MODES), found=repr(parallel_mode))
    resolve_workers(parallel_workers, 1)


def _run_frame_extraction(
    ds: DatasetCore,
    run: FrameRun,
    overwrite: bool,
    parallel_workers: int | str,
    parallel_mode: str,
    dask_address: str | None,
    memory_limit: str | int | None,
) -> str:
    """Extract every recording of a planned ``run``, index the finished ones and return the run id.

    Raises
    ------
    BatchError
        Some recordings failed (the planning failures included); the others are indexed.
    """
    failures = dict(run.failures)
    rows = []
    results = map_recordings(
        extract_sequence,
        ds,
        run,
        overwrite,
        parallel_workers=parallel_workers,
        parallel_mode=parallel_mode,
        dask_address=dask_address,
        memory_limit=memory_limit,
    )
    for label, row, err in results:
        if row is not None:
            rows.append(row)
        else:
            failures[label] = err
    if rows:  # in recording order, whatever order they finished in
        upsert_frame_rows(ds, sorted(rows, key=lambda r: (str(r["group"]), str(r["sequence"]))))
    log.info("frame run %s (%s): %d recording(s) done, %d failed", run.run_id, run.method, len(rows), len(failures))
    if failures:
        raise BatchError(
            f"frame extraction ({run.method}, run {run.run_id}) failed for some recordings",
            failures,
            path=frames_index_path(ds),
        )
    return run.run_id
