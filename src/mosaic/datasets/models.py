"""Kedro datasets that store model runs and their predictions, through the models domain's writers.

* :class:`ModelRunDataset` is the ``model_run`` catalog entry: ``save`` takes the
  :class:`mosaic.models.FittedRun` the ``train_model`` node returns and writes it with
  :func:`mosaic.models.store_model_run` — the function ``Dataset.train_model`` uses — into
  ``models/<model>/<run_id>/`` and ``models/index.csv``, then writes a small JSON pointer to that
  run (``model``, ``run_id``, ``path``, ``kind``, ``macro_f1``) at ``filepath``. A mapping is saved
  as the pointer itself (atomic JSON, like the parent class). ``load`` returns the stored run
  the pointer names (:class:`mosaic.models.StoredRun`: verified bundle, metrics, predictions).
* :class:`PredictionRunDataset` is the ``behavior_predictions`` entry: ``save`` takes the
  :class:`mosaic.models.PredictionRun` the ``predict_behaviors`` node plans and runs it (the
  loop of ``Dataset.predict``: tasks on the shared executor, the feature index written once),
  then writes its summary (``feature``, ``run_id``, relative ``paths``); ``load`` gives the summary.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kedro.io.core import DatasetError

from mosaic.datasets.atomic import AtomicJSONDataset


class _InDatasetFolder(AtomicJSONDataset):
    """An atomic JSON record of a run stored in the dataset folder ``dataset_dir``."""

    def __init__(self, *, filepath: str, dataset_dir: str, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self._dataset_dir = str(dataset_dir)

    def _open(self) -> Any:
        from mosaic.core.dataset import DatasetCore

        return DatasetCore.open(Path(self._dataset_dir))

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "dataset_dir": self._dataset_dir}


class ModelRunDataset(_InDatasetFolder):
    """A model run stored by :func:`mosaic.models.store_model_run`, and the pointer to it.

    Parameters
    ----------
    filepath
        The pointer file (JSON).
    dataset_dir
        The dataset folder the run belongs to.
    """

    def load(self) -> Any:
        """The stored run the pointer names (:class:`mosaic.models.StoredRun`).

        Raises
        ------
        DatasetError
            No pointer (the train pipeline has not run).
        ModelError
            The pointer names a run ``models/index.csv`` does not list.
        """
        from mosaic.models import ModelStore

        path = Path(self._filepath)
        if not path.is_file():
            raise DatasetError(f"no model run recorded at {path}; run the train pipeline first")
        pointer = json.loads(path.read_text(encoding="utf-8"))
        return ModelStore(self._open()).run((pointer.get("model"), pointer.get("run_id")))

    def save(self, data: Any) -> None:
        from mosaic.models import FittedRun, read_models_index, store_model_run

        if not isinstance(data, FittedRun):
            return super().save(data)
        ds = self._open()
        out = store_model_run(ds, data)
        idx = read_models_index(ds)
        row = idx[(idx["model"] == data.model) & (idx["run_id"] == data.run_id)]
        macro = float(row["macro_f1"].iloc[0]) if len(row) else None
        pointer = {
            "model": data.model,
            "run_id": data.run_id,
            "path": ds.relative_path(out),
            "kind": data.kind,
            "macro_f1": None if macro is None or macro != macro else macro,
        }
        return super().save(pointer)


class PredictionRunDataset(_InDatasetFolder):
    """Predictions of a model run (the feature ``<model>__pred``): saving runs the planned prediction.

    Parameters
    ----------
    filepath
        The summary file (JSON).
    dataset_dir
        The dataset folder the predictions are written to; a plan of another folder is refused.
    """

    def save(self, data: Any) -> None:
        from mosaic.models import PredictionRun

        if not isinstance(data, PredictionRun):
            return super().save(data)
        mine = Path(self._open().folder).resolve()
        if Path(data.ds.folder).resolve() != mine:
            raise DatasetError(
                f"the prediction writes to {data.ds.folder} but this catalog entry is of {mine}; "
                "point both at the same dataset folder"
            )
        data.run()
        return super().save(data.summary())
