"""Orchestration: :func:`run_feature` reads as plan → pending → execute → record.

* **plan** — the feature, its scope, its inputs' identities, hence the ``run_id`` and the
  output path of every recording;
* **pending** — the recordings whose output is not indexed and present (all with ``overwrite``);
* **execute** — fit global features over the scope, then one task per pending recording on
  the shared executor (:mod:`mosaic.core.executor`); each task returns a small record;
* **record** — ``run.json`` then the index rows, written once by the driver.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError, ConfigError, FeatureError
from mosaic.core.executor import PARALLEL_MODES, ExecutorConfig, run_tasks
from mosaic.core.indexes import upsert_index
from mosaic.core.run_ids import canonical_json, file_fingerprint, make_run_id
from mosaic.core.safe_names import sequence_key, to_safe_name

from ..base import TRACKS, Feature, Result
from ..registry import make_feature
from .index import (
    FEATURES_INDEX,
    RUN_INFO,
    _resolve_upstream,
    feature_index_path,
    feature_root,
    read_feature_index,
)
from .scope import _fmt, _frame_filters, select_sequences
from .tasks import _build_tasks, execute_task, load_task_input

log = logging.getLogger(__name__)


@dataclass
class RunPlan:
    """Everything that identifies one run: feature, scope, inputs, filters, ``run_id``, outputs."""

    feature: Feature
    run_id: str
    scope: pd.DataFrame
    track_paths: dict[tuple[str, str], str]
    upstream: dict[Result, tuple[str, str, dict[tuple[str, str], str]]]
    filters: dict[str, Any]
    frame_range: tuple[int | None, int | None] | None
    overlap: int
    out_paths: dict[tuple[str, str], Path]

    @property
    def out_dir(self) -> Path:
        return next(iter(self.out_paths.values())).parent

    @property
    def scope_list(self) -> list[list[str]]:
        return [[g, s] for g, s in zip(self.scope["group"], self.scope["sequence"], strict=True)]

    def result(self) -> Result:
        return Result(self.feature.name, self.run_id, tuple(self.out_paths.values()))

    def inputs_json(self) -> str:
        return canonical_json(
            [
                {"feature": i.feature, "run_id": self.upstream[i][1]} if isinstance(i, Result) else i
                for i in self.feature.inputs
            ]
        )


def run_feature(
    ds: DatasetCore,
    feature: Any,
    groups: Any = None,
    sequences: Any = None,
    overwrite: bool = False,
    parallel_workers: int | None = None,
    parallel_mode: str | None = "thread",
    overlap_frames: int = 0,
    filter_start_frame: int | None = None,
    filter_end_frame: int | None = None,
    filter_start_time: float | None = None,
    filter_end_time: float | None = None,
    registry: Any = None,
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
    tracks_source: str | None = None,
) -> Result:
    """Compute ``feature`` for every (group, sequence) in scope and record the run.

    Parameters
    ----------
    ds
        The dataset.
    feature
        A :class:`~mosaic.features.base.Feature` instance, a registered name, a feature class,
        a spec ``{'name', 'params', 'inputs'}``, or any object implementing the feature
        protocol (``name``, ``version``, ``params``, ``inputs``, ``fit``, ``apply``).
    groups, sequences
        Restrict the scope (a name or a list; both may be given).
    overwrite
        Recompute and rewrite outputs of the same ``run_id``.
    parallel_workers
        Workers (``None``: 1 thread; all cores for ``'process'``; 2 local Dask workers).
    parallel_mode
        ``'serial'``, ``'thread'`` (also when None), ``'process'`` (joblib/loky) or ``'dask'``
        (dask.distributed; a ``LocalCluster`` on 127.0.0.1 unless ``dask_address`` or
        ``$MOSAIC_DASK_SCHEDULER`` names a scheduler). See :mod:`mosaic.core.executor`.
    overlap_frames
        For a continuous dataset: frames of the neighbouring segments (same group, sequences
        in natural order) given to ``apply`` and trimmed from its output.
    filter_start_frame, filter_end_frame
        Keep frames in ``[start, end)``.
    filter_start_time, filter_end_time
        The same in seconds, converted with ``meta['fps_default']``.
    registry
        A mapping ``name -> class | "module:Class"`` used instead of the global registry.
    dask_address
        Scheduler address for ``'dask'`` mode (e.g. ``'tcp://10.0.0.5:8786'``).
    tracks_source
        Which tracks a ``'tracks'`` input reads: ``'standardized'`` (default) or cleaned tracks,
        ``'clean:<run_id>'`` (``'clean'``: the latest cleaning run); see :mod:`mosaic.quality`.
    memory_limit
        Memory per worker of a new ``LocalCluster`` (``'dask'`` mode without an address).

    Returns
    -------
    Result
        ``Result(feature=name, run_id=..., paths=(...))`` with one output path per sequence.

    Raises
    ------
    ConfigError
        Bad mode, workers, filters, or overlap with filters / on a discrete dataset.
    FeatureError
        Unknown feature/param, missing input columns, missing upstream run or sequence.
    BatchError
        Some sequences failed (the others are written and indexed).
    """
    return plan_feature(
        ds,
        feature,
        groups,
        sequences,
        overwrite,
        parallel_workers,
        parallel_mode,
        overlap_frames,
        filter_start_frame,
        filter_end_frame,
        filter_start_time,
        filter_end_time,
        registry,
        dask_address,
        memory_limit,
        tracks_source,
    ).run()


@dataclass
class FeatureRun:
    """A planned feature run, nothing written yet: :meth:`run` executes and records it.

    ``plan`` identifies the run (``run_id``, scope, output paths); ``overwrite`` and ``config``
    say how it runs. :func:`run_feature` is ``plan_feature(...).run()``; the Kedro ``featurize``
    node returns planned runs and the ``features@runs`` catalog entry runs them on save.
    """

    ds: DatasetCore
    plan: RunPlan
    overwrite: bool
    config: ExecutorConfig

    def result(self) -> Result:
        """The run's :class:`Result` (known before it runs)."""
        return self.plan.result()

    def run(self) -> Result:
        """Compute the pending recordings, write ``run.json`` and the index rows, return the result.

        Raises
        ------
        BatchError
            Some sequences failed (the others are written and indexed); the named error itself
            when every sequence failed the same way.
        """
        plan = self.plan
        todo = pending(self.ds, plan, self.overwrite)
        if not todo:
            log.info(
                "feature %s run %s: all %d outputs exist, nothing to do",
                plan.feature.name,
                plan.run_id,
                len(plan.out_paths),
            )
            return plan.result()
        records, errors, stats = execute(self.ds, plan, todo, self.config)
        record(self.ds, plan, records, stats)
        if errors:
            if not records and len({(type(e), getattr(e, "problem", str(e))) for e in errors}) == 1:
                raise errors[0]  # every sequence failed the same way: that named error
            failures = {f"{getattr(e, 'group', '?')}/{getattr(e, 'sequence', '?')}": str(e) for e in errors}
            raise BatchError(f"feature {plan.feature.name!r} failed on some sequences", failures, path=plan.out_dir)
        return plan.result()


def executor_config(
    parallel_mode: str | None,
    parallel_workers: int | None,
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
) -> ExecutorConfig:
    """Validate the parallel settings of a run (``None`` mode: ``'thread'``)."""
    if parallel_mode is None:
        parallel_mode = "thread"
    if parallel_mode not in PARALLEL_MODES:
        raise ConfigError("unknown parallel_mode", expected=list(PARALLEL_MODES), found=parallel_mode)
    if parallel_workers is not None and (not isinstance(parallel_workers, int) or parallel_workers < 1):
        raise ConfigError("parallel_workers must be a positive int or None", found=parallel_workers)
    return ExecutorConfig(parallel_mode, parallel_workers, dask_address, memory_limit)


def plan_feature(
    ds: DatasetCore,
    feature: Any,
    groups: Any = None,
    sequences: Any = None,
    overwrite: bool = False,
    parallel_workers: int | None = None,
    parallel_mode: str | None = "thread",
    overlap_frames: int = 0,
    filter_start_frame: int | None = None,
    filter_end_frame: int | None = None,
    filter_start_time: float | None = None,
    filter_end_time: float | None = None,
    registry: Any = None,
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
    tracks_source: str | None = None,
    planned: Mapping[tuple[str, str], RunPlan] | None = None,
) -> FeatureRun:
    """Plan a run of ``feature`` (the arguments of :func:`run_feature`); nothing is computed or written.

    ``planned`` maps ``(feature, run_id)`` to plans not run yet that this feature may take as
    inputs (the earlier steps of a feature plan): their outputs are taken from the plan, not
    from the feature index.
    """
    config = executor_config(parallel_mode, parallel_workers, dask_address, memory_limit)
    plan = plan_run(
        ds,
        make_feature(feature, registry),
        groups,
        sequences,
        overlap_frames,
        (filter_start_frame, filter_end_frame, filter_start_time, filter_end_time),
        tracks_source,
        planned,
    )
    return FeatureRun(ds, plan, bool(overwrite), config)


def plan_run(
    ds: DatasetCore,
    feat: Feature,
    groups: Any,
    sequences: Any,
    overlap_frames: int,
    filters: tuple[Any, Any, Any, Any],
    tracks_source: str | None = None,
    planned: Mapping[tuple[str, str], RunPlan] | None = None,
) -> RunPlan:
    """Validate the call and identify the run (scope, inputs, filters → ``run_id``, output paths)."""
    if not feat.name or feat.name == TRACKS:
        raise FeatureError(
            "a feature needs a name (not 'tracks')",
            expected="class attribute `name`",
            found=f"{type(feat).__name__}.name = {feat.name!r}",
        )
    frame_range = _check_frames(ds, overlap_frames, filters)
    scope = select_sequences(ds, groups, sequences)
    if scope.empty:
        raise FeatureError(
            "no sequences in scope",
            path=ds.get_root("tracks") / "index.csv",
            found={"groups": groups, "sequences": sequences},
        )
    upstream = _upstream_paths(ds, feat, scope, planned or {})
    track_paths, source_filter = _track_paths(ds, scope, tracks_source)
    identities = _input_identities(feat, track_paths, upstream)
    filt = {
        "frame_range": list(frame_range) if frame_range else None,
        "overlap_frames": int(overlap_frames),
        **source_filter,
    }
    scope_list = [[g, s] for g, s in zip(scope["group"], scope["sequence"], strict=True)]
    run_id = make_run_id(
        {
            "feature": feat.name,
            "version": feat.version,
            "params": feat.get_params(),
            "inputs": identities,
            "scope": scope_list,
            "filters": filt,
        }
    )
    out_dir = feature_root(ds, feat.name) / run_id
    out_paths = {(g, s): out_dir / f"{sequence_key(g, s)}.parquet" for g, s in scope_list}
    return RunPlan(feat, run_id, scope, track_paths, upstream, filt, frame_range, int(overlap_frames), out_paths)


def _check_frames(ds: DatasetCore, overlap_frames: int, filters: tuple[Any, Any, Any, Any]) -> Any:
    """The frame range of the filters, checked against ``overlap_frames`` and the dataset type."""
    if not isinstance(overlap_frames, (int, np.integer)) or overlap_frames < 0:
        raise ConfigError("overlap_frames must be a non-negative int", found=overlap_frames)
    frame_range = _frame_filters(ds, *filters)
    if overlap_frames and frame_range is not None:
        raise ConfigError(
            "overlap_frames and frame/time filters cannot be combined",
            found={"overlap_frames": overlap_frames, "filter_frames": frame_range},
        )
    if overlap_frames and ds.dataset_type != "continuous":
        raise ConfigError(
            "overlap_frames needs a continuous dataset",
            path=ds.manifest_path,
            expected="dataset_type: continuous",
            found=ds.dataset_type,
        )
    return frame_range


def _track_paths(ds: DatasetCore, scope: pd.DataFrame, tracks_source: str | None) -> tuple[dict, dict]:
    """The track file of each recording in scope (standardized, or a cleaning run's) and its filter entry."""
    track_paths = {
        (g, s): str(ds.resolve_path(p))
        for g, s, p in zip(scope["group"], scope["sequence"], scope["abs_path"], strict=True)
    }
    if tracks_source in (None, "standardized"):
        return track_paths, {}
    from mosaic.quality.store import clean_track_paths, latest_clean_run, parse_tracks_source

    _, clean_run = parse_tracks_source(tracks_source)
    clean_run = clean_run or latest_clean_run(ds)
    track_paths = {k: str(p) for k, p in clean_track_paths(ds, clean_run, list(track_paths)).items()}
    return track_paths, {"tracks_source": f"clean:{clean_run}"}


def _upstream_paths(
    ds: DatasetCore, feat: Feature, scope: pd.DataFrame, planned: Mapping[tuple[str, str], RunPlan]
) -> dict:
    upstream = {}
    for res in feat.inputs.results:
        before = planned.get((res.feature, res.run_id)) if res.run_id else None
        if before is not None:  # an earlier step of the same plan, not run yet: its planned outputs
            run_id_up = before.run_id
            paths = {k: str(p) for k, p in before.out_paths.items()}
        else:
            run_id_up, rows = _resolve_upstream(ds, res)
            paths = {
                (g, s): str(ds.resolve_path(p))
                for g, s, p in zip(rows["group"], rows["sequence"], rows["abs_path"], strict=True)
            }
        missing = [(g, s) for g, s in zip(scope["group"], scope["sequence"], strict=True) if (g, s) not in paths]
        if missing:
            raise FeatureError(
                f"upstream run {res.feature}/{run_id_up} lacks sequences in scope",
                path=feature_index_path(ds, res.feature),
                expected="every (group, sequence) in scope",
                found=f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}",
            )
        upstream[res] = (res.feature, run_id_up, paths)
    return upstream


def _input_identities(feat: Feature, track_paths: dict, upstream: dict) -> list[Any]:
    identities: list[Any] = []
    for item in feat.inputs:
        if item == TRACKS:
            ids = []
            for (g, s), p in track_paths.items():
                if not os.path.exists(p):
                    raise FeatureError("track file listed in tracks/index.csv is missing", path=p, group=g, sequence=s)
                ids.append([g, s, file_fingerprint(p)])
            identities.append({"tracks": ids})
        else:
            nm, rid, _ = upstream[item]
            identities.append({"feature": nm, "run_id": rid})
    return identities


def pending(ds: DatasetCore, plan: RunPlan, overwrite: bool) -> list[tuple[str, str]]:
    """The (group, sequence) keys of ``plan`` still to compute (indexed and present ones are done)."""
    done = set()
    idx = read_feature_index(ds, plan.feature.name)
    if not overwrite and len(idx):
        mine = idx[idx["run_id"] == plan.run_id]
        done = {
            (g, s)
            for g, s, p in zip(mine["group"], mine["sequence"], mine["abs_path"], strict=True)
            if ds.resolve_path(p).exists()
        }
    return [k for k in plan.out_paths if k not in done]


def execute(
    ds: DatasetCore, plan: RunPlan, todo: list[tuple[str, str]], config: ExecutorConfig
) -> tuple[list[dict], list[Exception], dict[str, Any]]:
    """Fit (global features, over the whole scope), then run the pending tasks on the executor.

    Returns the records of the written outputs, the named errors and run statistics.
    """
    feat = plan.feature
    base_meta = {"fps_default": _fmt(ds.meta.get("fps_default")), "cm_default": _fmt(ds.meta.get("cm_per_pixel"))}
    tasks_all = _build_tasks(
        ds,
        feat,
        plan.run_id,
        plan.scope,
        plan.track_paths,
        plan.upstream,
        plan.out_paths,
        plan.frame_range,
        plan.overlap,
        base_meta,
    )
    if feat.needs_fit:  # one sequence loaded at a time
        feat.fit(load_task_input(tasks_all[k]) for k in plan.out_paths)
        for t in tasks_all.values():
            t.feature = feat
    if not feat.parallelizable:
        config = ExecutorConfig("serial")
    records, errors, peaks = [], [], []
    t_run = time.perf_counter()
    for r in run_tasks(execute_task, [tasks_all[k] for k in todo], config, desc=f"feature {feat.name}"):
        if isinstance(r, Exception):
            errors.append(r)
            continue
        records.append(r)
        if r.get("peak_rss_mb"):
            peaks.append(r["peak_rss_mb"])
    stats = {
        "seconds": round(time.perf_counter() - t_run, 4),
        "n_computed": len(records),
        "parallel_mode": config.mode,
        "max_worker_peak_rss_mb": round(max(peaks), 1) if peaks else None,
    }
    log.info(
        "feature %s run %s: %d sequence(s) in %.2f s (worker peak RSS %s MB)",
        feat.name,
        plan.run_id,
        len(records),
        stats["seconds"],
        stats["max_worker_peak_rss_mb"],
    )
    return records, errors, stats


def record(ds: DatasetCore, plan: RunPlan, records: list[dict], stats: dict[str, Any]) -> None:
    """Write ``run.json`` first, then the index rows once: an indexed run always has its run.json."""
    if not records:
        return
    feat = plan.feature
    params = feat.get_params()
    inputs_json = plan.inputs_json()
    created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    order = {k: i for i, k in enumerate(plan.out_paths)}
    records = sorted(records, key=lambda r: order[(r["group"], r["sequence"])])
    rows = [
        {
            "feature": feat.name,
            "version": feat.version,
            "run_id": plan.run_id,
            "group": r["group"],
            "sequence": r["sequence"],
            "group_safe": to_safe_name(r["group"]),
            "sequence_safe": to_safe_name(r["sequence"]),
            "abs_path": ds.relative_path(r["abs_path"]),
            "n_rows": r["n_rows"],
            "params_json": canonical_json(params),
            "inputs_json": inputs_json,
            "filters_json": canonical_json(plan.filters),
            "created_iso": created,
        }
        for r in records
    ]
    atomic_write_json(
        plan.out_dir / RUN_INFO,
        {
            "feature": feat.name,
            "version": feat.version,
            "run_id": plan.run_id,
            "params": params,
            "inputs": json.loads(inputs_json),
            "filters": plan.filters,
            "scope": plan.scope_list,
            "fitted_state": feat.fitted_state(),
            "created_iso": created,
            "stats": stats,
        },
    )
    upsert_index(feature_index_path(ds, feat.name), rows, FEATURES_INDEX)
