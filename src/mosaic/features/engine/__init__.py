"""The feature engine: :func:`run_feature`, :func:`load_feature` and the feature run index.

Layout::

    features/<name>/<run_id>/<group_safe>__<sequence_safe>.parquet
    features/<name>/<run_id>/run.json          params, inputs, filters, fitted state
    features/<name>/index.csv                  one row per (run_id, group, sequence)

``run_id`` is a short content hash of the feature name and version, its canonical params,
its inputs' identities (content fingerprints of the track files in scope, upstream run ids),
the scope and the filters. The same call therefore gives the same ``run_id``; when its outputs
exist nothing is recomputed or rewritten unless ``overwrite``.

Every per-sequence task reads its own inputs, applies the feature and writes its own output
file; it returns only a small row of metadata, so no recording passes through the driver in
``'process'`` or ``'dask'`` mode (the executor is :mod:`mosaic.core.executor`).

Modules: :mod:`.index` (the run index), :mod:`.scope` (recordings and frames in scope),
:mod:`.tasks` (task inputs and running one task), :mod:`.blocks` (a task's output as
chunks: whole, streamed by the feature, or block by block of frames), :mod:`.writer` (the
streaming writer: fixed-size row groups), :mod:`.planning` (:func:`plan_feature` identifies a
run and gives a :class:`FeatureRun`), :mod:`.run` (whose ``run`` executes and records it) and
:mod:`.load` (reading runs back).
"""

from __future__ import annotations

from mosaic.core.executor import DASK_ENV, PARALLEL_MODES

from .index import (
    FEATURES_INDEX,
    RUN_INFO,
    feature_index_path,
    feature_root,
    latest_run_id,
    list_feature_runs,
    read_feature_index,
)
from .load import feature_files, iter_feature, load_feature, load_result
from .planning import RunPlan, executor_config, plan_feature, plan_run
from .run import FeatureRun, execute, pending, record, run_feature
from .scope import select_sequences
from .tasks import _build_tasks, _Source, _Task, execute_task, load_task_input  # noqa: F401 - private names kept importable
from .writer import ROW_GROUP_ROWS, TRIM_EVERY_CHUNKS, write_output

__all__ = [
    "DASK_ENV",
    "FEATURES_INDEX",
    "PARALLEL_MODES",
    "ROW_GROUP_ROWS",
    "RUN_INFO",
    "FeatureRun",
    "TRIM_EVERY_CHUNKS",
    "RunPlan",
    "execute",
    "execute_task",
    "executor_config",
    "feature_files",
    "feature_index_path",
    "feature_root",
    "iter_feature",
    "latest_run_id",
    "list_feature_runs",
    "load_feature",
    "load_result",
    "load_task_input",
    "pending",
    "plan_feature",
    "plan_run",
    "read_feature_index",
    "record",
    "run_feature",
    "select_sequences",
    "write_output",
]
