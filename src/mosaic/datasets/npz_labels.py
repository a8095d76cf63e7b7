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
  (empty table when absent), ``save`` removes the label files of recordings whose annotations
  are gone, then merges rows (locked, atomic upsert).
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
            raise DatasetError(
                f"NpzLabelsDataset cannot save {type(data).__name__}; expected LabelSet or a mapping of npz keys"
            )
        write_label_npz(Path(self._filepath), data)

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "label_format": "individual_pair_v1"}


class LabelsIndexDataset(AbstractDataset):
    """``labels/<kind>/index.csv`` through mosaic's index functions.

    ``save`` takes the rows to upsert (a DataFrame) or ``{'kind', 'rows', 'removed'}``: the
    ``label`` node's index update, where ``removed`` lists the (group, sequence) pairs whose
    annotations are gone — their files and index rows are removed first with
    :func:`mosaic.labels.io.remove_label_pairs`, the function ``Dataset.convert_all_labels`` uses.

    Parameters
    ----------
    filepath
        ``labels/<kind>/index.csv``.
    dataset_dir
        The dataset folder (needed to remove label files).
    """

    def __init__(self, filepath: str, dataset_dir: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self._dataset_dir = None if dataset_dir is None else str(dataset_dir)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        from mosaic.labels.io import read_labels_index_file

        return read_labels_index_file(Path(self._filepath), missing_ok=True)

    def save(self, data: Any) -> None:
        from mosaic.labels.io import save_labels_index_rows

        if isinstance(data, Mapping):
            self._remove(data.get("kind"), data.get("removed") or [])
            data = data.get("rows")
        if data is not None and len(data):
            save_labels_index_rows(Path(self._filepath), data)

    def _remove(self, kind: Any, removed: list[Any]) -> None:
        from mosaic.core.dataset import DatasetCore
        from mosaic.labels.io import remove_label_pairs

        folder = Path(self._filepath).parent.name
        if kind is not None and kind != folder:
            raise DatasetError(
                f"the label update is for kind {kind!r} but this catalog entry is {self._filepath}; "
                f"set label.kind to {folder!r} or point the entry at labels/{kind}/index.csv"
            )
        if not removed:
            return
        if self._dataset_dir is None:
            raise DatasetError(f"LabelsIndexDataset({self._filepath}) needs dataset_dir to remove label files")
        ds = DatasetCore.open(Path(self._dataset_dir))
        if ds.get_root("labels").resolve() / folder != Path(self._filepath).parent.resolve():
            raise DatasetError(f"{self._filepath} is not in the labels folder of {self._dataset_dir}")
        remove_label_pairs(ds, folder, [(str(g), str(s)) for g, s in removed])

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "index": "labels"}
