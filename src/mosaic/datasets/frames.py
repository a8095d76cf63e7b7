"""Kedro dataset for the records of sampled frame runs: ``run_info.json`` per recording and ``frames/index.csv``.

:class:`FrameRunsDataset` is the ``frame_runs`` catalog entry. ``save`` takes the frame selection
of the ``sample_frames`` pipeline once its PNGs are saved (``frame_images``) and records it with
:func:`mosaic.media.store.record_frame_selection`: ``run_info.json`` of each recording (the
manifest ``Dataset.extract_frames`` writes, removing PNGs of an earlier run it does not list),
then the index rows, upserted once (locked, atomic). ``load`` gives ``frames/index.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError


class FrameRunsDataset(AbstractDataset):
    """``frames/index.csv`` and the ``run_info.json`` of each sampled recording.

    Parameters
    ----------
    filepath
        ``frames/index.csv`` of the dataset.
    dataset_dir
        The dataset folder the frames belong to.
    """

    def __init__(self, filepath: str, dataset_dir: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self._dataset_dir = str(dataset_dir)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        from mosaic.core.indexes import read_index
        from mosaic.media.store import FRAMES_INDEX

        return read_index(Path(self._filepath), FRAMES_INDEX, missing_ok=True)

    def save(self, data: Any) -> None:
        from mosaic.core.dataset import DatasetCore
        from mosaic.media.store import frames_index_path, record_frame_selection

        if not isinstance(data, Mapping) or "run" not in data or "selections" not in data:
            raise DatasetError(
                f"FrameRunsDataset saves the sample_frames selection (run, selections), got {type(data).__name__}"
            )
        ds = DatasetCore.open(Path(self._dataset_dir))
        if frames_index_path(ds).resolve() != Path(self._filepath).resolve():
            raise DatasetError(
                f"the frames of {self._dataset_dir} are indexed in {frames_index_path(ds)}, "
                f"but this catalog entry is {self._filepath}; point both at the same dataset folder"
            )
        record_frame_selection(ds, dict(data))

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "dataset_dir": self._dataset_dir}
