"""Wiring of the `export` pipeline (not part of ``__default__``): run it with ``kedro run --pipeline export``."""

from kedro.pipeline import Node, Pipeline

from .nodes import export_boris, export_movement, export_nwb


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `export` pipeline: ``tracks`` → ``movement_exports``, ``tracks`` + ``labels`` → ``nwb_exports``, ``labels`` → ``boris_export``."""
    return Pipeline(
        [
            Node(
                export_movement,
                inputs=["tracks@parquet", "params:export.movement"],
                outputs="movement_exports",
                name="export_movement",
                tags=["export", "movement"],
            ),
            Node(
                export_nwb,
                inputs=["tracks@parquet", "labels", "params:export.nwb"],
                outputs="nwb_exports",
                name="export_nwb",
                tags=["export", "nwb"],
            ),
            Node(
                export_boris,
                inputs=["labels", "tracks@index", "params:export.boris", "dataset"],
                outputs="boris_export",
                name="export_boris",
                tags=["export", "boris"],
            ),
        ]
    )
