"""Wiring of the `train` pipeline: ``features@runs`` + ``labels_index`` → model run, its artefacts, predictions."""

from kedro.pipeline import Node, Pipeline

from .nodes import predict_behaviors, report_model_run, train_behavior_model


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `train` pipeline.

    ``train_model`` (inputs ``features@runs`` from featurize and ``labels_index`` from label)
    returns the trained run, which the ``model_run`` dataset stores under
    ``models/<model>/<run_id>/``. ``report_model_run`` reads it back for ``trained_model``,
    ``model_metrics``, ``confusion_matrix_plot`` and ``prediction_ethogram_plots``;
    ``predict_behaviors`` writes ``behavior_predictions`` (the ``<model>__pred`` feature run).
    """
    return Pipeline(
        [
            Node(
                train_behavior_model,
                inputs=["dataset", "params:train", "features@runs", "labels_index"],
                outputs="model_run",
                name="train_model",
                tags=["train"],
            ),
            Node(
                report_model_run,
                inputs=["model_run", "dataset"],
                outputs=["trained_model", "model_metrics", "confusion_matrix_plot", "prediction_ethogram_plots"],
                name="report_model_run",
                tags=["train"],
            ),
            Node(
                predict_behaviors,
                inputs=["dataset", "params:train", "model_run"],
                outputs="behavior_predictions",
                name="predict_behaviors",
                tags=["train"],
            ),
        ]
    )
