"""Wiring of the `sample_frames` pipeline.

``select_frames`` → ``render_frames`` (lazy PNG partitions saved by the ``frame_images``
PartitionedDataset of PNG frames) → ``frame_runs_to_record`` → ``frame_runs`` (saving it writes run_info.json
and the frames index) → ``check_frame_runs`` (failed recordings).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import check_frame_runs, frame_runs_to_record, render_frames, select_frames


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
