"""Kedro datasets for ``individual_pair_v1`` label files and the labels index.

Why custom: kedro-datasets has no ``.npz`` dataset, and the label files must be validated and
written atomically exactly as the facade writes them. These classes call the labels domain's
own readers/writers (:func:`mosaic.labels.write_label_npz` / :func:`~mosaic.labels.read_label_npz`,
:func:`~mosaic.labels.save_labels_index_rows`) and its conversion batch.

* :class:`NpzLabelsDataset` — one ``labels/<kind>/<group_safe>__<sequence_safe>.npz``. ``save``
  takes a :class:`~mosaic.labels.LabelSet` or a mapping with the npz keys; ``None`` writes
  nothing. ``load`` returns the dict of :func:`~mosaic.labels.read_label_npz`.
* :class:`LabelsPartitionsDataset` — ``labels/<kind>/``: ``save`` takes the ``label`` node's
  :class:`~mosaic.labels.LabelConversionBatch` and runs it (:meth:`~mosaic.labels.LabelConversionBatch.run`,
  the facade's own loop: the label files written by the executor's workers, the index and the
  report once); ``load`` gives ``{partition_id: loader}`` of the label files, as a
  ``PartitionedDataset`` of :class:`NpzLabelsDataset` does.
* :class:`LabelsIndexDataset` — ``labels/<kind>/index.csv``; ``load`` reads and validates it
  (empty table when absent); ``save`` runs a batch (once: saving ``labels`` too finds it done),
  or removes the label files of recordings whose annotations are gone, then merges rows
  (locked, atomic upsert).
* :class:`LabelsReportDataset` — ``labels/<kind>/conversion_report.json``, written by the batch's
  run (``save`` runs the batch, once); ``load`` returns the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io.core import AbstractDataset, DatasetError

from mosaic.datasets.atomic import AtomicJSONDataset


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


def _run_batch(entry: AbstractDataset, batch: Any, folder: Path) -> None:
    """Run the ``label`` node's batch (a no-op when already run) after checking it writes to ``folder``."""
    from mosaic.labels.batch import LabelConversionBatch
    from mosaic.labels.io import labels_dir

    if not isinstance(batch, LabelConversionBatch):
        raise DatasetError(
            f"{type(entry).__name__} saves the label node's LabelConversionBatch, got {type(batch).__name__}"
        )
    target = labels_dir(batch.ds, batch.kind)
    if target.resolve() != folder.resolve():
        raise DatasetError(
            f"the label conversion writes to {target} but this catalog entry is {folder}; "
            f"set label.kind to {folder.name!r} or point the entry at labels/{batch.kind}"
        )
    batch.run()


class LabelsPartitionsDataset(AbstractDataset):
    """The label files of one kind (``labels/<kind>/*.npz``), written by running the ``label`` node's batch.

    Parameters
    ----------
    path
        ``labels/<kind>`` of the dataset; the batch must write there.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = PurePosixPath(path)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        from mosaic.datasets.partitions import file_partitions

        return file_partitions(Path(self._path), ".npz", NpzLabelsDataset)

    def save(self, data: Any) -> None:
        _run_batch(self, data, Path(self._path))

    def _exists(self) -> bool:
        return Path(self._path).is_dir() and any(Path(self._path).glob("*.npz"))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "label_format": "individual_pair_v1"}


class LabelsIndexDataset(AbstractDataset):
    """``labels/<kind>/index.csv`` through mosaic's index functions.

    ``save`` takes the ``label`` node's :class:`~mosaic.labels.LabelConversionBatch` (run once:
    it writes the label files, then this index), the rows to upsert (a DataFrame) or
    ``{'kind', 'rows', 'removed'}``, where ``removed`` lists the (group, sequence) pairs whose
    annotations are gone — their files and index rows are removed first with
    :func:`mosaic.labels.io.remove_label_pairs`, the function the conversion uses.

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
        from mosaic.labels.batch import LabelConversionBatch
        from mosaic.labels.io import save_labels_index_rows

        if isinstance(data, LabelConversionBatch):
            _run_batch(self, data, Path(self._filepath).parent)
            return
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


class LabelsReportDataset(AtomicJSONDataset):
    """``labels/<kind>/conversion_report.json``: ``save`` runs the ``label`` node's batch (which writes the
    report) or, given a report mapping, writes it atomically; ``load`` reads it as a JSON dataset."""

    def save(self, data: Any) -> None:
        from mosaic.labels.batch import LabelConversionBatch
        from mosaic.labels.report import REPORT_NAME

        if not isinstance(data, LabelConversionBatch):
            return super().save(data)
        path = Path(str(self._filepath))
        if path.name != REPORT_NAME:
            raise DatasetError(f"the label conversion writes {REPORT_NAME}, not {path}")
        _run_batch(self, data, path.parent)
        self._invalidate_cache()
        return None
