"""Kedro datasets for ``individual_pair_v1`` label files and the labels index.

Why custom: kedro-datasets has no ``.npz`` dataset, and the label files must be validated and
written atomically exactly as the facade writes them. Both classes call the labels domain's
own readers/writers (:func:`mosaic.labels.write_label_npz` / :func:`~mosaic.labels.read_label_npz`,
:func:`~mosaic.labels.save_labels_index_rows`).

* :class:`NpzLabelsDataset` — one ``labels/<kind>/<group_safe>__<sequence_safe>.npz``. ``save``
  takes a :class:`~mosaic.labels.LabelSet` or a mapping with the npz keys; ``None`` writes
  nothing. ``load`` returns the dict of :func:`~mosaic.labels.read_label_npz`. Use it as the
  ``dataset`` of a ``partitions.PartitionedDataset`` (``filename_suffix: .npz``).
* :class:`LabelsIndexDataset` — ``labels/<kind>/index.csv``; ``load`` reads and validates it
  (empty table when absent), ``save`` merges rows (locked, atomic upsert).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError


class NpzLabelsDataset(AbstractDataset):
    """One ``individual_pair_v1`` label file, validated and written atomically."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        from mosaic.labels.io import read_label_npz

        return read_label_npz(Path(self._filepath))

    def save(self, data: Any) -> None:
        from mosaic.labels.io import LabelSet, write_label_npz

        if data is None:
            return
        if not isinstance(data, (LabelSet, Mapping)):
            raise DatasetError(f"NpzLabelsDataset cannot save {type(data).__name__}; expected LabelSet or a mapping of npz keys")
        write_label_npz(Path(self._filepath), data)

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "label_format": "individual_pair_v1"}


class LabelsIndexDataset(AbstractDataset):
    """``labels/<kind>/index.csv`` through mosaic's index functions."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        from mosaic.labels.io import read_labels_index_file

        return read_labels_index_file(Path(self._filepath), missing_ok=True)

    def save(self, data: pd.DataFrame) -> None:
        from mosaic.labels.io import save_labels_index_rows

        save_labels_index_rows(Path(self._filepath), data)

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "index": "labels"}
