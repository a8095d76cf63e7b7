"""Project pipelines: ingest → convert → label → featurize → train, plus sample_frames."""
from __future__ import annotations

from kedro.pipeline import Pipeline

PIPELINE_NAMES = ("ingest", "convert", "label", "featurize", "sample_frames", "train")


def register_pipelines() -> dict[str, Pipeline]:
    """Register the six mosaic pipelines and ``__default__`` (all of them chained)."""
    from importlib import import_module

    pipelines: dict[str, Pipeline] = {}
    for name in PIPELINE_NAMES:
        module = import_module(f"mosaic.pipelines.{name}")
        pipelines[name] = module.create_pipeline()
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
