"""Wiring of the `featurize` pipeline (nodes arrive with its issue; empty until then, never fake)."""
from kedro.pipeline import Pipeline


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `featurize` pipeline."""
    return Pipeline([])
