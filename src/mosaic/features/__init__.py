"""Features: the feature engine (:func:`run_feature`) and a vectorized feature library.

Importing this package is cheap: the feature modules (and scikit-learn for the global
features) are imported only when a feature of theirs is used.

Public API
----------
``Feature``, ``Inputs``, ``Result``                     the contract (:mod:`.base`)
``register_feature``, ``list_features``, ``make_feature``, ``get_feature_class``   registry
``run_feature``, ``load_feature``, ``iter_feature``, ``feature_files``, ``list_feature_runs``  engine
``run_feature_plan``, ``results_from_summary``          a list of steps (the Kedro ``featurize`` node)
"""

from __future__ import annotations

from typing import Any

from .base import Feature, Inputs, Result
from .registry import get_feature_class, list_features, make_feature, register_feature

__all__ = [
    "FEATURES_INDEX",
    "Feature",
    "Inputs",
    "Result",
    "feature_files",
    "get_feature_class",
    "iter_feature",
    "list_feature_runs",
    "list_features",
    "load_feature",
    "load_result",
    "make_feature",
    "register_feature",
    "results_from_summary",
    "run_feature",
    "run_feature_plan",
]

_ENGINE = {
    "run_feature",
    "load_feature",
    "iter_feature",
    "feature_files",
    "list_feature_runs",
    "load_result",
    "FEATURES_INDEX",
}


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        from . import engine

        return getattr(engine, name)
    if name in ("run_feature_plan", "results_from_summary"):
        from . import plan

        return getattr(plan, name)
    raise AttributeError(f"module 'mosaic.features' has no attribute {name!r}")
