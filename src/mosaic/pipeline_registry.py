"""Project pipelines: ingest → convert → label → featurize → train, plus sample_frames."""

from __future__ import annotations

from kedro.pipeline import Pipeline

PIPELINE_NAMES = ("ingest", "convert", "label", "featurize", "sample_frames", "train")
#: registered but not chained into ``__default__`` (run on demand: ``kedro run --pipelines clean``)
OPTIONAL_PIPELINE_NAMES = ("clean",)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the six mosaic pipelines and ``__default__`` (all of them chained)."""
    from importlib import import_module

    from mosaic.pipelines.reporting_nodes import create_reporting_pipeline

    pipelines: dict[str, Pipeline] = {}
    for name in PIPELINE_NAMES:
        module = import_module(f"mosaic.pipelines.{name}")
        pipelines[name] = module.create_pipeline()
    # report plots ride along with the stage whose output they show (reporting/ in the dataset folder)
    pipelines["convert"] += create_reporting_pipeline(tracks="tracks@parquet", feature_results=None)
    pipelines["label"] += create_reporting_pipeline(tracks=None, feature_results=None, labels="labels")
    pipelines["featurize"] += create_reporting_pipeline(tracks=None, feature_results="features@runs")
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    pipelines["export"] = import_module("mosaic.pipelines.export").create_pipeline()  # on demand, not in __default__
    for name in OPTIONAL_PIPELINE_NAMES:
        pipelines[name] = import_module(f"mosaic.pipelines.{name}").create_pipeline()
    return pipelines
