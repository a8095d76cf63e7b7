"""Wiring of the `train` pipeline: feature runs + labels → model run, its artefacts, predictions."""

from kedro.pipeline import Node, Pipeline

from .nodes import predict_behaviors, report_model_run, train_behavior_model


def create_pipeline(**kwargs) -> Pipeline:
    """Return the `train` pipeline.

    ``train_model`` reads the featurize summary (``features@runs``: which runs), the feature runs
    (``features@store``), the labels (``labels_index@store``) and the stored runs (``model_store``) and
    returns the trained run, which the ``model_run`` dataset stores under ``models/<model>/<run_id>/``.
    ``report_model_run`` reads the stored run (``model_run``) for ``trained_model``,
    ``model_metrics``, ``confusion_matrix_plot`` and ``prediction_ethogram_plots``;
    ``predict_behaviors`` plans its predictions, which saving ``behavior_predictions`` runs (the
    ``<model>__pred`` feature run).
    """
    return Pipeline(
        [
            Node(
                train_behavior_model,
                inputs=["params:train", "features@runs", "features@store", "labels_index@store", "model_store"],
                outputs="model_run",
                name="train_model",
                tags=["train"],
            ),
            Node(
                report_model_run,
                inputs="model_run",
                outputs=["trained_model", "model_metrics", "confusion_matrix_plot", "prediction_ethogram_plots"],
                name="report_model_run",
                tags=["train"],
            ),
            Node(
                predict_behaviors,
                inputs=["params:train", "model_run", "features@store"],
                outputs="behavior_predictions",
                name="predict_behaviors",
                tags=["train"],
            ),
        ]
    )
