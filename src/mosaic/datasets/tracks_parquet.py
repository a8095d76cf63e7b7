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

import logging
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from mosaic.core.errors import BatchError
from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, read_index

log = logging.getLogger(__name__)


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
            raise DatasetError(
                f"TracksParquetDataset cannot save {type(data).__name__}; expected TrackTable, (df, meta) or DataFrame"
            )
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
        # a conversion in which every file failed writes no tracks index: an empty one, not an error
        return read_index(Path(self._filepath), self._SCHEMAS[self._index], missing_ok=self._index == "tracks")

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


class TracksPartitionsDataset(AbstractDataset):
    """``tracks/<group_safe>__<sequence_safe>.parquet`` of a dataset, with ``tracks/index.csv``.

    ``save`` takes the planned :class:`~mosaic.tracks.convert.ConversionBatch` that the ``convert``
    node returns and runs it (:meth:`ConversionBatch.run`, the facade's own loop): each recording
    is converted and written atomically one at a time, then ``tracks/index.csv`` is upserted once
    and ``tracks/conversion_report.json`` written. Failed files are logged as they fail (the file
    named in the first line); the report lists them, and the ``check_tracks_conversion`` node raises
    the named error from it (``on_error: raise``) once the good files are written and indexed. ``load`` returns ``{partition_id: loader}`` (each
    loader reads one recording with its metadata in ``df.attrs['mosaic']``), like a
    ``PartitionedDataset`` of :class:`TracksParquetDataset`.

    Parameters
    ----------
    path
        The ``tracks`` root of the dataset; the batch must write there.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = PurePosixPath(path)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        from mosaic.datasets.partitions import file_partitions

        return file_partitions(Path(self._path), ".parquet", TracksParquetDataset)

    def save(self, data: Any) -> None:
        from mosaic.tracks.convert import ConversionBatch

        if not isinstance(data, ConversionBatch):
            raise DatasetError(
                f"TracksPartitionsDataset saves the convert node's ConversionBatch, got {type(data).__name__}"
            )
        root = data.ds.get_root("tracks")
        if Path(root).resolve() != Path(self._path).resolve():
            raise DatasetError(
                f"the conversion writes to {root} but this catalog entry is {self._path}; "
                "point both at the same dataset folder"
            )
        try:
            data.run()
        except BatchError as exc:
            # index and report are written; the `check_tracks_conversion` node raises the named
            # error from the report (an error raised here would reach the user wrapped in Kedro's
            # "Failed while saving" message)
            log.info("conversion finished with failures (raised by the check node): %s", exc.failures)

    def _exists(self) -> bool:
        return Path(self._path).is_dir() and any(Path(self._path).glob("*.parquet"))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "schema": "trex_v1"}
