"""Wiring of the `sample_frames` pipeline, and the media-indexing fragment of `ingest`.

``select_frames`` → ``render_frames`` (lazy PNG partitions saved by the ``frame_images``
PartitionedDataset of PNG frames) → ``frame_runs_to_record`` → ``frame_runs`` (saving it writes run_info.json
and the frames index) → ``check_frame_runs`` (failed recordings).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import check_frame_runs, frame_runs_to_record, index_media_node, render_frames, select_frames


def create_media_ingest_pipeline(**kwargs) -> Pipeline:
    """The media part of `ingest`: index videos into ``media/index.csv`` after the raw tracks index.

    Output ``media_index@report`` (``media/index_report.json``): unmatched and unreadable videos; the
    node writes ``media/index.csv`` (``media_index@table``) through :mod:`mosaic.media.index`.
    """
    return Pipeline(
        [
            Node(
                index_media_node,
                inputs=["params:media_ingest", "params:dataset_dir", "tracks_raw_index"],
                outputs="media_index@report",
                name="index_media",
                tags=["media"],
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `sample_frames` pipeline."""
    return Pipeline(
        [
            Node(
                select_frames,
                inputs=["media_index@table", "params:sample_frames", "dataset"],
                outputs="frame_selection",
                name="select_frames",
                tags=["media"],
            ),
            Node(
                render_frames,
                inputs="frame_selection",
                outputs=["frame_images", "frames_rendered"],
                name="render_frames",
                tags=["media"],
            ),
            Node(
                frame_runs_to_record,
                inputs=["frame_selection", "frames_rendered"],
                outputs="frame_runs",
                name="record_frame_runs",
                tags=["media"],
            ),
            Node(
                check_frame_runs,
                inputs=["frame_runs", "frame_selection", "dataset"],
                outputs=None,
                name="check_frame_runs",
                tags=["media"],
            ),
        ]
    )
