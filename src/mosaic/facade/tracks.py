"""`Dataset` methods for the tracks domain: thin delegation to `mosaic.tracks`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic import tracks as _tracks


class TracksMixin:
    """Tracks part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.tracks`)."""

    def index_tracks_raw(
        self,
        search_dirs: str | os.PathLike | Sequence[str | os.PathLike],
        patterns: str | Sequence[str] | None = None,
        src_format: str = "calms21_npy",
        index_filename: str = "index.csv",
        recursive: bool = True,
        multi_sequences_per_file: bool = False,
        group_from: str | None = None,
        group_pattern: str | None = None,
        exclude_patterns: str | Sequence[str] | None = None,
        compute_md5: bool = False,
        **kwargs: Any,
    ) -> Path:
        """Index raw tracking files into ``tracks_raw/index.csv`` (see :func:`mosaic.tracks.index_tracks_raw`)."""
        return _tracks.index_tracks_raw(
            self,
            search_dirs,
            patterns=patterns,
            src_format=src_format,
            index_filename=index_filename,
            recursive=recursive,
            multi_sequences_per_file=multi_sequences_per_file,
            group_from=group_from,
            group_pattern=group_pattern,
            exclude_patterns=exclude_patterns,
            compute_md5=compute_md5,
            **kwargs,
        )

    @staticmethod
    def list_converters() -> list[str]:
        """Names of the registered raw tracking formats (see :func:`mosaic.tracks.list_converters`)."""
        return _tracks.list_converters()

    @staticmethod
    def list_schemas() -> list[str]:
        """Names of the standardized track schemas (see :func:`mosaic.tracks.list_schemas`)."""
        return _tracks.list_schemas()

    def convert_one_track(
        self, row: Mapping[str, Any] | pd.Series, params: Mapping[str, Any] | None = None, overwrite: bool = False
    ) -> Path | list[Path]:
        """Convert the recording of one raw index row (see :func:`mosaic.tracks.convert_one_track`)."""
        return _tracks.convert_one_track(self, row, params=params, overwrite=overwrite)

    def convert_all_tracks(
        self,
        params: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        merge_per_sequence: bool | None = None,
        group_from: str | None = None,
        on_error: str = "raise",
        on_stale: str = "reconvert",
        parallel_mode: str = "serial",
        parallel_workers: int | None = None,
        dask_address: str | None = None,
        memory_limit: str | int | None = None,
    ) -> dict[str, Any]:
        """Convert every indexed raw file (see :func:`mosaic.tracks.convert_all_tracks`)."""
        return _tracks.convert_all_tracks(
            self,
            params=params,
            overwrite=overwrite,
            merge_per_sequence=merge_per_sequence,
            group_from=group_from,
            on_error=on_error,
            on_stale=on_stale,
            parallel_mode=parallel_mode,
            parallel_workers=parallel_workers,
            dask_address=dask_address,
            memory_limit=memory_limit,
        )

    def load_tracks(
        self,
        group: str,
        sequence: str,
        prefer: str = "standard",
        auto_convert: bool = True,
        convert_params: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The ``trex_v1`` table of one recording (see :func:`mosaic.tracks.load_tracks`)."""
        return _tracks.load_tracks(
            self, group, sequence, prefer=prefer, auto_convert=auto_convert, convert_params=convert_params
        )
