"""Planning a feature run: the feature, its scope, its inputs' identities, hence ``run_id`` and outputs.

Nothing is computed or written here: :func:`plan_feature` validates a call and returns a
:class:`~mosaic.features.engine.run.FeatureRun` whose :class:`RunPlan` identifies the run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, FeatureError
from mosaic.core.executor import PARALLEL_MODES, ExecutorConfig
from mosaic.core.run_ids import canonical_json, file_fingerprint, make_run_id
from mosaic.core.safe_names import sequence_key

from ..base import TRACKS, Feature, Result
from ..registry import make_feature
from .index import _resolve_upstream, feature_index_path, feature_root
from .scope import _frame_filters, select_sequences

if TYPE_CHECKING:
    from .run import FeatureRun


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
    from .run import FeatureRun

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
