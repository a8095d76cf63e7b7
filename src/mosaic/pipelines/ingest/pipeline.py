"""Wiring of the `ingest` pipeline: raw tracking files → ``tracks_raw/index.csv``, videos → ``media/index.csv``."""

from kedro.pipeline import Node, Pipeline

from mosaic.pipelines.sample_frames.pipeline import create_media_ingest_pipeline

from .nodes import index_raw_tracks


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `ingest` pipeline (raw tracks index, then the media index matched against it)."""
    return (
        Pipeline(
            [
                Node(
                    index_raw_tracks,
                    inputs=["params:ingest", "params:dataset_dir"],
                    outputs="tracks_raw_index",
                    name="index_raw_tracks",
                    tags=["tracks"],
                ),
            ]
        )
        + create_media_ingest_pipeline()
    )
