"""The `featurize` pipeline: node and SequentialRunner over the same engine the facade uses."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.io.core import DatasetError
from kedro.runner import SequentialRunner

from mosaic.core.errors import ConfigError
from mosaic.datasets.features import FeatureRunsDataset
from mosaic.features import load_feature
from mosaic.features.plan import results_from_summary, run_feature_plan
from mosaic.pipelines.featurize import create_pipeline
from mosaic.pipelines.featurize.nodes import featurize
from tests.features.helpers import add_sequence, long_table

PLAN = {
    "parallel_mode": "thread",
    "steps": [
        {"key": "kin", "feature": "speed"},
        {"key": "pairs", "feature": "pair_distance"},
        {
            "key": "kin_roll",
            "feature": "rolling",
            "inputs": ["kin"],
            "params": {"windows": [3], "stats": ["mean"], "columns": ["speed_px_s"]},
        },
    ],
}


@pytest.fixture
def small(dataset):
    T = 20
    X = np.stack([np.arange(T) * 1.0, np.arange(T) * 2.0], axis=1)
    add_sequence(dataset, long_table("g", "s", X, np.zeros_like(X), 10.0), fps=10.0)
    return dataset


def test_node_plans_and_the_dataset_runs(small, tmp_path):
    batch = featurize(small, PLAN, small.tracks_index())
    planned = batch.summary()
    assert not list(small.get_root("features").rglob("*.*"))  # the node computes and writes nothing
    store = FeatureRunsDataset(str(small.get_root("features") / "featurize_results.json"))
    store.save(batch)
    summary = store.load()
    assert summary == planned
    keys = [r["key"] for r in summary["results"]]
    assert keys == ["kin", "pairs", "kin_roll"]
    res = results_from_summary(summary)
    roll = summary["results"][2]
    assert roll["inputs"] == [{"feature": "speed", "run_id": res["kin"].run_id}]
    assert roll["paths"] == [f"features/rolling/{res['kin_roll'].run_id}/g__s.parquet"]
    df = load_feature(small, "speed", res["kin"].run_id)
    np.testing.assert_allclose(df[df["id"] == 1]["speed_px_s"], 20.0)
    # rerun: same run ids, nothing recomputed; the facade's plan runner gives the same summary
    before = {p: p.stat().st_mtime_ns for p in small.get_root("features").rglob("*.parquet")}
    assert featurize(small, PLAN, small.tracks_index()).run() == summary
    assert run_feature_plan(small, PLAN) == summary
    assert {p: p.stat().st_mtime_ns for p in small.get_root("features").rglob("*.parquet")} == before


def test_dataset_refuses_other_data_and_another_folder(small, tmp_path):
    with pytest.raises(DatasetError, match="FeatureStepsBatch"):
        FeatureRunsDataset(str(small.get_root("features") / "featurize_results.json")).save({"results": []})
    with pytest.raises(DatasetError, match="same dataset folder"):
        FeatureRunsDataset(str(tmp_path / "elsewhere" / "featurize_results.json")).save(
            featurize(small, PLAN, small.tracks_index())
        )
    assert not list(small.get_root("features").rglob("*.*"))
    with pytest.raises(DatasetError, match="run the featurize pipeline"):
        FeatureRunsDataset(str(tmp_path / "none.json")).load()


def test_pipeline_with_sequential_runner(small):
    catalog = DataCatalog(
        {
            "dataset": MemoryDataset(small, copy_mode="assign"),
            "params:featurize": MemoryDataset(PLAN),
            "tracks@index": MemoryDataset(small.tracks_index()),
            "features@runs": FeatureRunsDataset(str(small.get_root("features") / "featurize_results.json")),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)
    out = catalog.load("features@runs")
    assert [r["feature"] for r in out["results"]] == ["speed", "pair_distance", "rolling"]
    assert create_pipeline().inputs() == {"dataset", "params:featurize", "tracks@index"}


def test_bad_plans_are_named(small):
    with pytest.raises(ConfigError, match="allowed keys"):
        featurize(small, {"stepz": []}, small.tracks_index())
    with pytest.raises(ConfigError, match="not an earlier step"):
        featurize(small, {"steps": [{"feature": "rolling", "inputs": ["kin"]}]}, small.tracks_index())
    with pytest.raises(ConfigError, match="duplicate"):
        featurize(small, {"steps": [{"feature": "speed"}, {"feature": "speed"}]}, small.tracks_index())


def test_featurize_without_converted_tracks_is_named(small):
    import pandas as pd

    with pytest.raises(ConfigError, match="needs converted tracks"):
        featurize(small, PLAN, pd.DataFrame(columns=["group", "sequence"]))


def test_default_parameters_are_a_valid_plan(small):
    import yaml

    from tests.conftest import PROJECT_DIR

    params = yaml.safe_load((PROJECT_DIR / "conf/base/parameters_featurize.yml").read_text())["featurize"]
    summary = featurize(small, params, small.tracks_index()).run()
    assert [r["key"] for r in summary["results"]] == [s["key"] for s in params["steps"]]
