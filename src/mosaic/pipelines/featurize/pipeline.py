"""Wiring of the `featurize` pipeline: the feature plan of ``parameters_featurize.yml`` → ``feature_results``.

``tracks_index`` (the convert pipeline's output) is an input only so that the node runs after the
conversion; the engine reads the track files itself, one recording per task.
"""
from kedro.pipeline import Node, Pipeline

from .nodes import featurize


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `featurize` pipeline (one node running every configured feature step)."""
    return Pipeline([
        Node(featurize, inputs=["params:dataset_dir", "params:featurize", "tracks_index"], outputs="feature_results",
             name="featurize", tags=["featurize"]),
    ])
