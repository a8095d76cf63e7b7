"""Kedro datasets for standardized tracks and the tracks indexes.

Why custom: ``pandas.ParquetDataset`` writes through fsspec straight to the target (not
atomic), cannot attach mosaic's metadata (fps, cm_per_pixel, keypoint names, source
files) and does not validate ``trex_v1``. These classes call the tracks domain's own
readers/writers (:func:`mosaic.tracks.io.write_tracks`/`read_tracks`, the index savers),
so a file written by ``kedro run`` is byte-for-byte the kind the facade writes.

* :class:`TracksParquetDataset` — one ``trex_v1`` parquet file. ``save`` takes a
  :class:`~mosaic.tracks.table.TrackTable` (or a DataFrame with ``df.attrs['mosaic']``
  metadata, or ``(df, meta)``); ``None`` (a recording that failed to convert and was
  recorded as such) writes nothing. ``load`` returns the DataFrame with its metadata in
  ``df.attrs['mosaic']``. Use it as the ``dataset`` of a ``partitions.PartitionedDataset``.
* :class:`TracksIndexDataset` — ``tracks_raw/index.csv`` (``index: tracks_raw``) or
  ``tracks/index.csv`` (``index: tracks``). ``load`` reads and validates the index;
  ``save`` merges rows exactly like the facade (locked, atomic upsert).
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, read_index


class TracksParquetDataset(AbstractDataset):
    """A standardized (``trex_v1``) track file, validated and written atomically."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        from mosaic.tracks.io import read_tracks, read_tracks_meta

        df = read_tracks(Path(self._filepath))
        df.attrs["mosaic"] = read_tracks_meta(Path(self._filepath))
        return df

    def save(self, data: Any) -> None:
        from mosaic.tracks.io import write_tracks
        from mosaic.tracks.table import TrackTable

        if data is None:
            return
        if isinstance(data, TrackTable):
            df, meta = data.df, data.meta
        elif isinstance(data, tuple) and len(data) == 2:
            df, meta = data
        elif isinstance(data, pd.DataFrame):
            df, meta = data, dict(data.attrs.get("mosaic") or {})
        else:
            raise DatasetError(f"TracksParquetDataset cannot save {type(data).__name__}; expected TrackTable, (df, meta) or DataFrame")
        write_tracks(df, Path(self._filepath), meta)

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "schema": "trex_v1"}


class TracksIndexDataset(AbstractDataset):
    """``tracks_raw/index.csv`` or ``tracks/index.csv`` through mosaic's index functions."""

    _SCHEMAS = {"tracks_raw": TRACKS_RAW_INDEX, "tracks": TRACKS_INDEX}

    def __init__(self, filepath: str, index: str = "tracks", metadata: dict[str, Any] | None = None) -> None:
        if index not in self._SCHEMAS:
            raise DatasetError(f"TracksIndexDataset index must be one of {sorted(self._SCHEMAS)}, got {index!r}")
        self._filepath = PurePosixPath(filepath)
        self._index = index
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_index(Path(self._filepath), self._SCHEMAS[self._index])

    def save(self, data: pd.DataFrame) -> None:
        if self._index == "tracks_raw":
            from mosaic.tracks.indexing import save_raw_index_rows

            save_raw_index_rows(Path(self._filepath), data)
        else:
            from mosaic.tracks.convert import save_tracks_index_rows

            save_tracks_index_rows(Path(self._filepath), data)

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "index": self._index}
