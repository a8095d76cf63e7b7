"""Kedro dataset for the dataset folder itself: its manifest, roots and metadata.

Nodes that need the layout of the dataset (where raw files are, the default fps in its
metadata) take this catalog entry instead of the ``dataset_dir`` parameter. ``load`` opens the
manifest (named :class:`~mosaic.core.errors.ManifestError` when the path is a file or holds no
manifest); the dataset is read-only.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from mosaic.core.dataset import DatasetCore


class DatasetFolder(AbstractDataset):
    """The :class:`~mosaic.core.dataset.DatasetCore` of the folder at ``path`` (read-only)."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = PurePosixPath(path)
        self.metadata = metadata

    def load(self) -> DatasetCore:
        from mosaic.kedro_config import check_dataset_folder

        return DatasetCore.open(check_dataset_folder(str(self._path)))

    def save(self, data: Any) -> None:
        raise DatasetError(
            f"the dataset folder {self._path} is read-only in the catalog (its manifest is edited with mosaic.Dataset)"
        )

    def _exists(self) -> bool:
        from mosaic.kedro_config import manifest_in, resolve_dataset_dir

        return manifest_in(resolve_dataset_dir(str(self._path))) is not None

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


class IndexTableDataset(AbstractDataset):
    """A dataset index CSV (e.g. ``media/index.csv``) read with :func:`mosaic.core.indexes.read_index`.

    Read-only: the index is written when the other view of the same transcoded entry is saved
    (e.g. ``media_index@report``). A missing file loads as an empty table.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> Any:
        from pathlib import Path

        from mosaic.core.indexes import read_index

        return read_index(Path(self._filepath), missing_ok=True)

    def save(self, data: Any) -> None:
        raise DatasetError(f"{self._filepath} is read-only in the catalog; it is written by its pipeline node")

    def _exists(self) -> bool:
        from pathlib import Path

        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
