"""Node of the `featurize` pipeline: the configured feature plan → its planned runs.

:func:`featurize` plans every step (:func:`mosaic.features.plan.plan_feature_steps`: run ids and
output paths, nothing computed or written) and returns the plan; the ``features@runs`` catalog
entry (:class:`mosaic.datasets.features.FeatureRunsDataset`) saves it by running the steps with
the engine's loop, the one ``Dataset.run_feature`` and :func:`~mosaic.features.plan.run_feature_plan` use.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.features.plan import FeatureStepsBatch, plan_feature_steps

log = logging.getLogger(__name__)


def featurize(dataset: DatasetCore, featurize_params: dict[str, Any], tracks_index: pd.DataFrame) -> FeatureStepsBatch:
    """Plan every feature step of ``params:featurize`` on the recordings of ``tracks_index``.

    Parameters
    ----------
    dataset
        The dataset folder (catalog entry ``dataset``).
    featurize_params
        The feature plan (``steps`` and the run keywords applied to every step).
    tracks_index
        ``tracks/index.csv`` (``tracks@index``): the converted recordings.

    Returns
    -------
    FeatureStepsBatch
        The planned runs; saving ``features@runs`` computes and records them.
    """
    if tracks_index is None or len(tracks_index) == 0:
        raise ConfigError(
            "featurize needs converted tracks",
            expected="rows in tracks/index.csv",
            found=0,
            hint="run the ingest and convert pipelines first",
        )
    batch = plan_feature_steps(dataset, featurize_params or {})
    for st in batch.steps:
        log.info(
            "feature step %s: %s run %s (%d sequences)",
            st.key,
            st.run.plan.feature.name,
            st.run.plan.run_id,
            len(st.run.plan.out_paths),
        )
    return batch
