"""Kedro datasets for the other tools' files; each calls the ``mosaic.interop`` reader/writer.

* :class:`MovementNetCDFDataset` — one movement poses netCDF: ``save`` takes an ``xarray.Dataset``,
  ``load`` returns it.
* :class:`NWBPoseDataset` — one NWB file: ``save`` takes ``{'tracks': DataFrame (metadata in
  ``attrs['mosaic']``), 'labels': {kind: label dict}}``, ``load`` returns the pose as a ``trex_v1``
  table (metadata in ``attrs['mosaic']``).
* :class:`BorisProjectDataset` — one ``.boris`` project: ``save`` takes the project dict, ``load``
  returns it.

Writes are atomic (the domain writers use :mod:`mosaic.core.atomic`). Use the first two as the
``dataset`` of a ``partitions.PartitionedDataset`` (one file per recording).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset


class _FileDataset(AbstractDataset):
    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class MovementNetCDFDataset(_FileDataset):
    """A movement poses dataset saved as netCDF."""

    def load(self) -> Any:
        from mosaic.interop.movement import read_movement_netcdf

        return read_movement_netcdf(self._filepath)

    def save(self, data: Any) -> None:
        from mosaic.interop.movement import write_movement_netcdf

        write_movement_netcdf(data, self._filepath)


class NWBPoseDataset(_FileDataset):
    """One recording as NWB with ndx-pose (+ labels as time intervals)."""

    def __init__(
        self, filepath: str, session_start_time: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        super().__init__(filepath, metadata)
        self._start = session_start_time

    def load(self) -> Any:
        from mosaic.core.safe_names import split_sequence_key
        from mosaic.interop.nwb import read_nwb_pose

        group, sequence = split_sequence_key(self._filepath.stem)
        df, meta = read_nwb_pose(self._filepath, group=group, sequence=sequence)
        df.attrs["mosaic"] = meta
        return df

    def save(self, data: Any) -> None:
        import datetime as dt

        from mosaic.interop.nwb import write_nwb

        start = dt.datetime.fromisoformat(self._start) if self._start else None
        write_nwb(
            data["tracks"], self._filepath, labels=data.get("labels"), session_start_time=start, video=data.get("video")
        )


class BorisProjectDataset(_FileDataset):
    """A BORIS project file (``.boris``, JSON)."""

    def load(self) -> dict[str, Any]:
        return json.loads(self._filepath.read_text(encoding="utf-8"))

    def save(self, data: dict[str, Any]) -> None:
        from mosaic.interop.boris import write_boris_project

        write_boris_project(data, self._filepath)
