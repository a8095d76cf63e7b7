"""Wiring of the `convert` pipeline: ``tracks_raw_index`` → ``tracks`` (parquet files and their index).

``tracks@parquet``, ``tracks@index`` and ``tracks@report`` are views of one dataset (Kedro
transcoding): the files written by this pipeline, ``tracks/index.csv`` that downstream nodes read,
and ``tracks/conversion_report.json`` that the check node reads.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import check_tracks_conversion, convert_tracks


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `convert` pipeline."""
    return Pipeline(
        [
            Node(
                convert_tracks,
                inputs=["tracks_raw_index", "dataset", "params:convert"],
                outputs="tracks@parquet",
                name="convert_tracks",
                tags=["tracks"],
            ),
            Node(
                check_tracks_conversion,
                inputs=["tracks@report", "params:convert"],
                outputs=None,
                name="check_tracks_conversion",
                tags=["tracks"],
            ),
        ]
    )
