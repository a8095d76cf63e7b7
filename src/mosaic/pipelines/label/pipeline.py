"""Wiring of the `label` pipeline: tracks index + media index + annotation files → ``labels`` + ``labels_index@csv``."""

from kedro.pipeline import Node, Pipeline

from .nodes import convert_labels


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `label` pipeline (runs after `convert`: label lengths come from the tracks)."""
    return Pipeline(
        [
            Node(
                convert_labels,
                inputs=["tracks@index", "media_index@table", "dataset", "params:label"],
                outputs=["labels", "labels_index@csv", "labels_conversion_report"],
                name="convert_labels",
                tags=["labels"],
            ),
        ]
    )
