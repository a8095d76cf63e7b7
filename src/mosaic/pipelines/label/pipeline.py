"""Wiring of the `label` pipeline: annotation files → ``labels`` partitions + ``labels_index``."""
from kedro.pipeline import Node, Pipeline

from .nodes import convert_labels


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `label` pipeline."""
    return Pipeline([
        Node(convert_labels, inputs=["params:label", "params:dataset_dir"],
             outputs=["labels", "labels_index", "labels_conversion_report"], name="convert_labels", tags=["labels"]),
    ])
