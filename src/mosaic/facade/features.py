"""`Dataset` methods for the features domain: thin delegation to `mosaic.features`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mosaic.features import engine as _engine
from mosaic.features.base import Result
from mosaic.features.registry import list_features as _list_features


class FeaturesMixin:
    """Features part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.features`)."""

    def run_feature(
        self,
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
        tracks_source: str | None = None,
        memory_limit: str | int | None = None,
    ) -> Result:
        """Compute a feature over the dataset (see :func:`mosaic.features.engine.run_feature`)."""
        return _engine.run_feature(
            self,
            feature,
            groups=groups,
            sequences=sequences,
            overwrite=overwrite,
            parallel_workers=parallel_workers,
            parallel_mode=parallel_mode,
            overlap_frames=overlap_frames,
            filter_start_frame=filter_start_frame,
            filter_end_frame=filter_end_frame,
            filter_start_time=filter_start_time,
            filter_end_time=filter_end_time,
            registry=registry,
            dask_address=dask_address,
            tracks_source=tracks_source,
            memory_limit=memory_limit,
        )

    def load_feature(
        self,
        name: str,
        run_id: str | None = None,
        groups: Any = None,
        sequences: Any = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """One run of a feature as one table (latest run when ``run_id`` is None)."""
        return _engine.load_feature(self, name, run_id=run_id, groups=groups, sequences=sequences, columns=columns)

    def list_features(self) -> list[str]:
        """Names of the registered features."""
        return _list_features()

    def list_feature_runs(self, name: str | None = None) -> pd.DataFrame:
        """One row per recorded feature run (of ``name``, or of every feature)."""
        return _engine.list_feature_runs(self, name)
