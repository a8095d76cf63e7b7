"""A read-only view of a dataset's labels, every kind: keys, index fingerprint, vocabulary, lazy reads.

:class:`LabelStore` is what a consumer of labels (a model) reads them through in both doors:
``mosaic.Dataset`` builds it over its folder, and the Kedro catalog entry ``labels_index@store`` loads
it. Every method delegates to the labels domain's readers
(:func:`~mosaic.labels.io.read_labels_index`, :func:`~mosaic.labels.vocab.get_label_map`,
:func:`~mosaic.labels.queries.load_labels`); nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mosaic.core.dataset import DatasetCore

Key = tuple[str, str]


@dataclass(frozen=True)
class LabelStore:
    """Labels of the dataset ``ds`` (read-only), addressed by kind and ``(group, sequence)``."""

    ds: DatasetCore

    def kinds(self) -> list[str]:
        """The label kinds that have an index (folder names under the ``labels`` root)."""
        root = self.ds.get_root("labels")
        return sorted(p.name for p in root.iterdir() if (p / "index.csv").exists()) if root.exists() else []

    def index_path(self, kind: str) -> Path:
        """``labels/<kind>/index.csv``."""
        from .io import labels_index_path

        return labels_index_path(self.ds, kind)

    def files(self, kind: str) -> dict[Key, str]:
        """``{(group, sequence): path}`` of the label files of ``kind`` (empty when the kind has no index)."""
        from .io import read_labels_index

        idx = read_labels_index(self.ds, kind, missing_ok=True)
        return {
            (str(g), str(s)): str(self.ds.resolve_path(p))
            for g, s, p in zip(idx["group"], idx["sequence"], idx["abs_path"], strict=True)
        }

    def fingerprint(self, kind: str) -> str:
        """Content fingerprint of ``labels/<kind>/index.csv`` (it changes whenever a label file is rewritten)."""
        from mosaic.core.run_ids import file_fingerprint

        return file_fingerprint(self.index_path(kind))

    def vocabulary(self, kind: str) -> dict[int, str]:
        """``{label_id: name}`` of ``kind`` (:func:`~mosaic.labels.vocab.get_label_map`)."""
        from .vocab import get_label_map

        return get_label_map(self.ds, kind)

    def read(self, kind: str, group: str, sequence: str) -> dict[str, Any]:
        """One recording's labels (:func:`~mosaic.labels.queries.load_labels`)."""
        from .queries import load_labels

        return load_labels(self.ds, group, sequence, kind)

    def loaders(self, kind: str) -> dict[Key, Callable[[], dict[str, Any]]]:
        """``{(group, sequence): loader}`` of ``kind``; each loader reads one recording's labels when called."""
        return {key: partial(self.read, kind, *key) for key in self.files(kind)}
