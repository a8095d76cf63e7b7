"""Wiring of the `convert` pipeline: ``tracks_raw_index`` → ``tracks`` partitions + ``tracks_index``."""
from kedro.pipeline import Node, Pipeline

from .nodes import convert_tracks, finish_conversion


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `convert` pipeline."""
    return Pipeline([
        Node(convert_tracks, inputs=["tracks_raw_index", "params:convert", "params:dataset_dir"],
             outputs=["tracks", "tracks_conversion_batch"], name="convert_tracks", tags=["tracks"]),
        Node(finish_conversion, inputs="tracks_conversion_batch", outputs="tracks_index",
             name="finish_conversion", tags=["tracks"]),
    ])
