"""Kedro dataset for feature runs: ``features/<name>/<run_id>/`` and their indexes.

Feature run ids are content hashes known only once a run is planned, so the per-run folders
cannot be static catalog paths. :class:`FeatureRunsDataset` saves the planned runs that the
``featurize`` node returns (a :class:`~mosaic.features.plan.FeatureStepsBatch`) by running them
with the engine's own loop (:meth:`FeatureRun.run <mosaic.features.engine.FeatureRun.run>`, the
one :func:`~mosaic.features.engine.run_feature` and the facade use): each recording's output
written atomically by its task, ``run.json`` and the index rows once per run. It then writes the
summary of the runs; ``load`` gives that summary (``{'results': [{'key', 'feature', 'run_id', ...}]}``),
which ``train`` and the reporting nodes read.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from mosaic.core.atomic import atomic_write_json


class FeatureRunsDataset(AbstractDataset):
    """Feature runs of a dataset: saving runs the planned steps, loading gives their summary.

    Parameters
    ----------
    filepath
        The summary file, in the ``features`` root of the dataset the runs write to.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        path = Path(self._filepath)
        if not path.exists():
            raise DatasetError(f"no feature runs recorded at {path}; run the featurize pipeline first")
        return json.loads(path.read_text(encoding="utf-8"))

    def save(self, data: Any) -> None:
        from mosaic.features.plan import FeatureStepsBatch

        if not isinstance(data, FeatureStepsBatch):
            raise DatasetError(
                f"FeatureRunsDataset saves the featurize node's FeatureStepsBatch, got {type(data).__name__}"
            )
        root = Path(self._filepath).parent.resolve()
        for step in data.steps:
            ds = step.run.ds
            if Path(ds.get_root("features")).resolve() != root:
                raise DatasetError(
                    f"feature step {step.key!r} writes to {ds.get_root('features')} but this catalog "
                    f"entry is {self._filepath}; point both at the same dataset folder"
                )
        atomic_write_json(Path(self._filepath), data.run())

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
