"""The public :class:`mosaic.Dataset`: the manifest core plus one mixin per domain.

Every method delegates to the library functions that the Kedro nodes call, reading and
writing the same files; no logic lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mosaic.core.dataset import DatasetCore

from .features import FeaturesMixin
from .interop import InteropMixin
from .labels import LabelsMixin
from .media import MediaMixin
from .models import ModelsMixin
from .quality import QualityMixin
from .reporting import ReportingMixin
from .tracks import TracksMixin


@dataclass(repr=False)
class Dataset(
    TracksMixin,
    LabelsMixin,
    MediaMixin,
    FeaturesMixin,
    ModelsMixin,
    ReportingMixin,
    InteropMixin,
    QualityMixin,
    DatasetCore,
):
    """A mosaic dataset folder, with the notebook-facing API.

    Create one with :meth:`create`, open one with :meth:`open` (folder
    or manifest path) or :meth:`from_catalog` (the folder a Kedro session is configured for).
    """

    @classmethod
    def from_catalog(cls, catalog: Any) -> Dataset:
        """Open the dataset folder that a Kedro catalog (or context) is configured for.

        Reads the ``dataset_dir`` parameter, so ``--params dataset_dir=...``, the
        ``MOSAIC_DATASET`` environment variable and ``conf/*/globals.yml`` all apply.
        """
        from mosaic.kedro_config import resolve_dataset_dir

        cat = getattr(catalog, "catalog", catalog)
        params = getattr(catalog, "params", None)
        if params is None:
            params = cat.load("parameters")
        return cls.open(resolve_dataset_dir(params["dataset_dir"]))
