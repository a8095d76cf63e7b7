"""`Dataset` methods for the models domain: thin delegation to `mosaic.models`."""

from __future__ import annotations

from typing import Any


class ModelsMixin:
    """Models part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.models`)."""

    def train_model(self, model: Any, config: Any = None, overwrite: bool = False, name: str | None = None) -> str:
        """Train ``model`` (a name, a scikit-learn classifier or a trainer; config: dict or JSON/YAML path) and return its run id.

        See :func:`mosaic.models.train_model`.
        """
        from mosaic.models import train_model

        return train_model(self, model, config, overwrite, name=name)

    def predict(
        self,
        model_run: Any,
        sequences: Any = None,
        groups: Any = None,
        overwrite: bool = False,
        parallel_mode: str = "serial",
        parallel_workers: int | None = None,
        dask_address: str | None = None,
        memory_limit: str | int | None = None,
    ):
        """Apply a trained run; write the feature ``<model>__pred`` and return its Result; see :func:`mosaic.models.predict`."""
        from mosaic.models import predict

        return predict(
            self,
            model_run,
            sequences,
            groups,
            overwrite,
            parallel_mode=parallel_mode,
            parallel_workers=parallel_workers,
            dask_address=dask_address,
            memory_limit=memory_limit,
        )

    def load_model(self, model_run: Any) -> dict:
        """A trained run's model bundle, config and metrics; see :func:`mosaic.models.load_run`."""
        from mosaic.models import load_run

        return load_run(self, model_run)

    def list_models(self):
        """``models/index.csv`` as a table; see :func:`mosaic.models.read_models_index`."""
        from mosaic.models import read_models_index

        return read_models_index(self)
