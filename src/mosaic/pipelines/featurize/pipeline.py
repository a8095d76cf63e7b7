"""Wiring of the `featurize` pipeline: the feature plan of ``parameters_featurize.yml`` → ``features@runs``.

The node returns the planned runs; saving ``features@runs`` runs them.

Inputs: ``dataset`` (the folder), the parameters and ``tracks@index`` (the converted recordings,
whose files the engine reads one recording per task).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import featurize


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `featurize` pipeline (one node running every configured feature step)."""
    return Pipeline(
        [
            Node(
                featurize,
                inputs=["dataset", "params:featurize", "tracks@index"],
                outputs="features@runs",
                name="featurize",
                tags=["featurize"],
            ),
        ]
    )
