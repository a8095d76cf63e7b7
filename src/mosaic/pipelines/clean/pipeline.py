"""Wiring of the `clean` pipeline: ``tracks@parquet`` (+ ``tracks@index``) → ``tracks_clean`` + ``clean_report``.

Every edge is a catalog dataset: the standardized ``tracks@parquet`` partitions are read lazily, the
cleaned tables are written as partitions ``<run_id>/<group_safe>__<sequence_safe>`` of
``tracks_clean`` (same ``trex_v1`` schema plus the ``interpolated`` flag), and the counts of
changed values per operation go to ``clean_report``; the quality report of the standardized
tracks (before cleaning) goes to ``track_quality_report``. Parameters:
``conf/base/parameters_clean.yml``.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import clean_partitions, track_quality_tables


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `clean` pipeline (one generator node, one recording in memory at a time)."""
    return Pipeline(
        [
            Node(
                clean_partitions,
                inputs=["tracks@parquet", "tracks@index", "params:clean", "dataset"],
                outputs=["tracks_clean", "clean_report"],
                name="clean_tracks",
                tags=["clean"],
            ),
            Node(
                track_quality_tables,
                inputs=["tracks@parquet", "params:track_quality"],
                outputs="track_quality_report",
                name="track_quality",
                tags=["clean", "quality"],
            ),
        ]
    )
