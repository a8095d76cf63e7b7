"""Nodes of the `featurize` pipeline: run the configured feature plan through the engine."""
from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.features.plan import run_feature_plan

log = logging.getLogger(__name__)


def featurize(dataset: DatasetCore, featurize_params: dict[str, Any], tracks_index: pd.DataFrame) -> dict[str, Any]:
    """Run every feature step of ``params:featurize`` on the recordings of ``tracks_index``.

    The engine reads the track files listed in ``tracks/index.csv`` (``tracks@index``) and writes
    ``features/<name>/<run_id>/...`` and the run indexes itself (one recording in memory at a time,
    per worker); this node returns the summary of the runs —
    ``{'results': [{'key', 'feature', 'run_id', ...}]}`` — saved as ``feature_results``.
    """
    ds = dataset
    if tracks_index is None or len(tracks_index) == 0:
        raise ConfigError("featurize needs converted tracks", expected="rows in tracks/index.csv", found=0,
                          hint="run the ingest and convert pipelines first")
    summary = run_feature_plan(ds, featurize_params or {})
    for r in summary["results"]:
        log.info("feature step %s: %s run %s (%d sequences)", r["key"], r["feature"], r["run_id"], r["n_sequences"])
    return summary
