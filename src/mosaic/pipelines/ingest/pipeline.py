"""Wiring of the `ingest` pipeline: raw tracking files → ``tracks_raw/index.csv``."""
from kedro.pipeline import Node, Pipeline

from .nodes import index_raw_tracks


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `ingest` pipeline."""
    return Pipeline([
        Node(index_raw_tracks, inputs=["params:ingest", "params:dataset_dir"], outputs="tracks_raw_index",
             name="index_raw_tracks", tags=["tracks"]),
    ])
