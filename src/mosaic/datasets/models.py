"""Kedro dataset that stores a trained model run, through the models domain's one writer.

:class:`ModelRunDataset` is the ``model_run`` catalog entry: ``save`` takes the
:class:`mosaic.models.FittedRun` the ``train_model`` node returns and writes it with
:func:`mosaic.models.store_model_run` — the function ``Dataset.train_model`` uses — into
``models/<model>/<run_id>/`` and ``models/index.csv``, then writes a small JSON pointer to that
run (``model``, ``run_id``, ``path``, ``kind``, ``macro_f1``) at ``filepath``. ``load`` returns
the pointer. A mapping is saved as the pointer itself (atomic JSON, like the parent class).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mosaic.datasets.atomic import AtomicJSONDataset


class ModelRunDataset(AtomicJSONDataset):
    """A model run stored by :func:`mosaic.models.store_model_run`, and the pointer to it.

    Parameters
    ----------
    filepath
        The pointer file (JSON).
    dataset_dir
        The dataset folder the run belongs to.
    """

    def __init__(self, *, filepath: str, dataset_dir: str, **kwargs: Any) -> None:
        super().__init__(filepath=filepath, **kwargs)
        self._dataset_dir = str(dataset_dir)

    def save(self, data: Any) -> None:
        from mosaic.models import FittedRun, read_models_index, store_model_run

        if not isinstance(data, FittedRun):
            return super().save(data)
        from mosaic.core.dataset import DatasetCore

        ds = DatasetCore.open(Path(self._dataset_dir))
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

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "dataset_dir": self._dataset_dir}
