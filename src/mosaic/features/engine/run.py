"""Running a feature: :func:`run_feature` reads as plan → pending → execute → record.

* **plan** — the feature, its scope, its inputs' identities, hence the ``run_id`` and the
  output path of every recording (:mod:`.planning`);
* **pending** — the recordings whose output is not indexed and present (all with ``overwrite``);
* **execute** — fit global features over the scope, then one task per pending recording on
  the shared executor (:mod:`mosaic.core.executor`); each task returns a small record;
* **record** — ``run.json`` then the index rows, written once by the driver.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError
from mosaic.core.executor import ExecutorConfig, run_tasks
from mosaic.core.indexes import upsert_index
from mosaic.core.run_ids import canonical_json
from mosaic.core.safe_names import to_safe_name

from ..base import Result
from .index import FEATURES_INDEX, RUN_INFO, feature_index_path, read_feature_index
from .planning import RunPlan, plan_feature
from .scope import _fmt
from .tasks import _build_tasks, execute_task, load_task_input

log = logging.getLogger(__name__)


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
    ds, feature
        The dataset; a :class:`~mosaic.features.base.Feature`, a registered name, a feature class,
        a spec ``{'name', 'params', 'inputs'}`` or an object implementing the feature protocol.
    groups, sequences
        Restrict the scope (a name or a list; both may be given).
    overwrite
        Recompute and rewrite outputs of the same ``run_id``.
    parallel_workers, parallel_mode, dask_address, memory_limit
        The executor (:mod:`mosaic.core.executor`): ``'serial'``, ``'thread'`` (also when None),
        ``'process'`` or ``'dask'`` (the scheduler at ``dask_address`` or ``$MOSAIC_DASK_SCHEDULER``,
        else a ``LocalCluster`` with ``memory_limit`` per worker); workers (None: 1 thread, all
        cores for ``'process'``, 2 local Dask workers).
    overlap_frames
        Continuous datasets: frames of the neighbouring segments given to ``apply``, then trimmed.
    filter_start_frame, filter_end_frame, filter_start_time, filter_end_time
        Keep frames in ``[start, end)`` (times in seconds, with ``meta['fps_default']``).
    registry
        A mapping ``name -> class | "module:Class"`` used instead of the global registry.
    tracks_source
        ``'standardized'`` (default) or cleaned tracks, ``'clean:<run_id>'`` (``'clean'``: the latest).

    Returns
    -------
    Result
        ``Result(feature=name, run_id=..., paths=(...))``, one output path per sequence.

    Raises
    ------
    ConfigError, FeatureError
        Bad settings, unknown feature/param, missing input columns, upstream run or sequence.
    BatchError
        Some sequences failed (the others are written and indexed).
    """
    options = locals()  # every parameter above, by name
    return plan_feature(**options).run()


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


def plan_tasks(ds: DatasetCore, plan: RunPlan) -> dict:
    """One task per recording of ``plan`` (paths and parameters), keyed by (group, sequence)."""
    base_meta = {"fps_default": _fmt(ds.meta.get("fps_default")), "cm_default": _fmt(ds.meta.get("cm_per_pixel"))}
    return _build_tasks(
        ds,
        plan.feature,
        plan.run_id,
        plan.scope,
        plan.track_paths,
        plan.upstream,
        plan.out_paths,
        plan.frame_range,
        plan.overlap,
        base_meta,
    )


def execute(
    ds: DatasetCore, plan: RunPlan, todo: list[tuple[str, str]], config: ExecutorConfig
) -> tuple[list[dict], list[Exception], dict[str, Any]]:
    """Fit (global features, over the whole scope), then run the pending tasks on the executor.

    Returns the records of the written outputs, the named errors and run statistics.
    """
    feat = plan.feature
    tasks_all = plan_tasks(ds, plan)
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
