"""Nodes of the `featurize` pipeline: run the configured feature plan through the engine."""
from __future__ import annotations

import logging
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.features.plan import run_feature_plan
from mosaic.kedro_config import resolve_dataset_dir

log = logging.getLogger(__name__)


def featurize(dataset_dir: str, featurize_params: dict[str, Any], *upstream: Any) -> dict[str, Any]:
    """Run every feature step of ``params:featurize`` on the dataset at ``dataset_dir``.

    The engine writes ``features/<name>/<run_id>/...`` and the run indexes itself (one
    recording in memory at a time, per worker); this node returns the summary of the runs —
    ``{'results': [{'key', 'feature', 'run_id', ...}]}`` — saved as ``feature_results``.
    Extra positional inputs (e.g. the converted tracks) only order the node after their producers.
    """
    ds = DatasetCore.open(resolve_dataset_dir(dataset_dir))
    summary = run_feature_plan(ds, featurize_params or {})
    for r in summary["results"]:
        log.info("feature step %s: %s run %s (%d sequences)", r["key"], r["feature"], r["run_id"], r["n_sequences"])
    return summary
