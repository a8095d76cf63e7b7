"""Read-only catalog views of content-addressed runs: feature runs, labels and stored model runs.

Feature and model run ids are content hashes known only at run time, so their folders cannot be
static catalog paths. These entries load a small view object that resolves a run by name and run
id (or the latest) and reads one recording at a time, through the domains' own readers:

* :class:`FeatureStoreDataset` (``features@store``) → :class:`mosaic.features.store.FeatureStore`
  (``run(feature, run_id | 'latest')``, ``loaders(...)``: ``{(group, sequence): callable}``);
* :class:`LabelStoreDataset` (``labels_index@store``) → :class:`mosaic.labels.store.LabelStore`
  (every kind: keys, index fingerprint, vocabulary, lazy per-recording reads);
* :class:`ModelStoreDataset` (``model_store``) → :class:`mosaic.models.store.ModelStore`
  (stored runs: is-complete check, verified bundle, metrics, predictions).

Each is transcoded with the entry its producer saves (``features@runs``, ``labels_index@csv``), so Kedro
runs its consumers after that producer. Saving is refused: the producers' datasets write.
"""

from __future__ import annotations

import importlib
from typing import Any

from kedro.io.core import DatasetError

from mosaic.datasets.folder import DatasetFolder


class _StoreView(DatasetFolder):
    """A read-only view over the dataset folder at ``path``; ``load`` builds the domain view named
    by ``_view_class`` (``'module:Class'``, constructed with the opened dataset)."""

    _view_class: str  # set by each view
    _what = "view"
    _writer = "its pipeline"

    def load(self) -> Any:
        module, _, name = self._view_class.partition(":")
        return getattr(importlib.import_module(module), name)(super().load())

    def save(self, data: Any) -> None:
        raise DatasetError(
            f"{self._what} of {self._path} is a read-only catalog view; it is written by {self._writer}, "
            f"not by saving {type(data).__name__} here"
        )

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "view": self._what}


class FeatureStoreDataset(_StoreView):
    """Feature runs of the dataset folder (``features/<name>/<run_id>/``), read-only."""

    _view_class = "mosaic.features.store:FeatureStore"
    _what = "the feature runs"
    _writer = "the featurize pipeline (features@runs)"


class LabelStoreDataset(_StoreView):
    """Labels of every kind of the dataset folder (``labels/<kind>/``), read-only."""

    _view_class = "mosaic.labels.store:LabelStore"
    _what = "the labels"
    _writer = "the label pipeline (labels, labels_index@csv)"


class ModelStoreDataset(_StoreView):
    """Stored model runs of the dataset folder (``models/``), read-only."""

    _view_class = "mosaic.models.store:ModelStore"
    _what = "the stored model runs"
    _writer = "the train pipeline (model_run)"
