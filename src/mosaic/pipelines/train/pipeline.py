"""Wiring of the `train` pipeline: ``feature_results`` + ``labels_index`` → model, metrics, plots, predictions."""
from kedro.pipeline import Node, Pipeline

from .nodes import predict_behaviors, train_behavior_model


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `train` pipeline.

    Inputs: ``feature_results`` (featurize pipeline: the feature runs) and ``labels_index``
    (label pipeline: the converted label files). Outputs: ``trained_model``,
    ``model_metrics``, ``confusion_matrix_plot``, ``prediction_ethogram_plots``, ``model_run``
    and ``behavior_predictions`` (the ``<model>__pred`` feature run).
    """
    return Pipeline([
        Node(train_behavior_model,
             inputs=["dataset", "params:train", "feature_results", "labels_index"],
             outputs=["trained_model", "model_metrics", "confusion_matrix_plot", "prediction_ethogram_plots", "model_run"],
             name="train_model", tags=["train"]),
        Node(predict_behaviors, inputs=["dataset", "params:train", "model_run"], outputs="behavior_predictions",
             name="predict_behaviors", tags=["train"]),
    ])
