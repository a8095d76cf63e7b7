"""`Dataset` methods for track quality: thin delegation to `mosaic.quality`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic import quality as _quality


class QualityMixin:
    """Track-quality part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.quality`)."""

    def track_quality(
        self,
        groups: Any = None,
        sequences: Any = None,
        params: Mapping[str, Any] | None = None,
        tracks_source: str = "standardized",
        write: bool = True,
        plots: bool = True,
    ) -> dict[str, pd.DataFrame]:
        """Quality tables of the tracks in scope, written to ``reporting/quality/`` (see :func:`mosaic.quality.track_quality`)."""
        return _quality.track_quality(
            self,
            groups=groups,
            sequences=sequences,
            params=params,
            tracks_source=tracks_source,
            write=write,
            plots=plots,
        )

    def quality_report(
        self, group: str, sequence: str, params: Mapping[str, Any] | None = None, tracks_source: str = "standardized"
    ) -> _quality.QualityReport:
        """The quality report of one recording (see :func:`mosaic.quality.quality_report`)."""
        from mosaic.tracks.io import read_tracks, read_tracks_meta

        path = _quality.track_paths(self, tracks_source, [(group, sequence)])[(group, sequence)]
        return _quality.quality_report(read_tracks(path), read_tracks_meta(path), params, path=path)

    def clean_tracks(
        self,
        operations: Sequence[Mapping[str, Any]] | None = None,
        groups: Any = None,
        sequences: Any = None,
        overwrite: bool = False,
        parallel_mode: str = "thread",
        parallel_workers: int | None = None,
        dask_address: str | None = None,
        memory_limit: str | int | None = None,
    ) -> dict[str, Any]:
        """Clean the standardized tracks into ``tracks_clean/<run_id>/`` (see :func:`mosaic.quality.clean_tracks`)."""
        return _quality.clean_tracks(
            self,
            operations=operations,
            groups=groups,
            sequences=sequences,
            overwrite=overwrite,
            parallel_mode=parallel_mode,
            parallel_workers=parallel_workers,
            dask_address=dask_address,
            memory_limit=memory_limit,
        )

    def load_clean_tracks(self, group: str, sequence: str, run_id: str | None = None) -> pd.DataFrame:
        """The cleaned table of one recording (latest run when ``run_id`` is None)."""
        return _quality.load_clean_tracks(self, group, sequence, run_id=run_id)

    def clean_run_report(self, run_id: str | None = None) -> dict[str, Any]:
        """The report of a cleaning run: operations and values changed per operation and recording."""
        return _quality.run_report(self, run_id)

    def render_tracks_clip(
        self,
        group: str,
        sequence: str,
        out_path: str | os.PathLike | None = None,
        start_frame: int = 0,
        end_frame: int | None = None,
        tracks_source: str = "standardized",
        label_kind: str | None = None,
        mark_quality: bool = True,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Write an mp4 clip of the recording's video with its tracks drawn (see :func:`mosaic.quality.render.render_tracks`)."""
        from mosaic.quality.render import render_tracks

        return render_tracks(
            self,
            group,
            sequence,
            out_path=out_path,
            start_frame=start_frame,
            end_frame=end_frame,
            tracks_source=tracks_source,
            label_kind=label_kind,
            mark_quality=mark_quality,
            **kwargs,
        )

    def clean_root(self) -> Path:
        """``<dataset>/tracks_clean``."""
        return _quality.clean_root(self)
