"""Wiring of the `ingest` pipeline: raw tracking files → ``tracks_raw/index.csv``, videos → ``media/index.csv``.

The two nodes scan the dataset's raw folders (the ``dataset`` catalog entry); the media index
is matched against the raw tracks index the first node produced.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import index_media_node, index_raw_tracks


def create_media_ingest_pipeline(**kwargs) -> Pipeline:
    """The media part of `ingest`: index videos into ``media/index.csv``, matched against ``tracks_raw_index``.

    Output ``media_index@report`` (``media/index_report.json``): unmatched and unreadable videos; the
    node returns the planned index, and saving ``media_index@report`` writes ``media/index.csv``
    (``media_index@table``) through :mod:`mosaic.media.index`.
    """
    return Pipeline(
        [
            Node(
                index_media_node,
                inputs=["params:media_ingest", "dataset", "tracks_raw_index"],
                outputs="media_index@report",
                name="index_media",
                tags=["media"],
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `ingest` pipeline (raw tracks index, then the media index matched against it)."""
    return (
        Pipeline(
            [
                Node(
                    index_raw_tracks,
                    inputs=["params:ingest", "dataset"],
                    outputs="tracks_raw_index",
                    name="index_raw_tracks",
                    tags=["tracks"],
                ),
            ]
        )
        + create_media_ingest_pipeline()
    )
