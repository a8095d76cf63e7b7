"""The `Dataset` facade methods delegate to the engine."""

from __future__ import annotations

import numpy as np

from mosaic.features import Result

from .helpers import add_sequence, long_table


def test_facade_methods(dataset):
    X = np.stack([np.arange(10.0), np.arange(10.0) + 4.0], axis=1)
    add_sequence(dataset, long_table("g", "s", X, np.zeros_like(X), 10.0), fps=10.0)
    assert {"speed", "pair", "nearest_neighbor", "rolling", "kmeans"} <= set(dataset.list_features())
    res = dataset.run_feature("pair_distance")
    assert isinstance(res, Result) and res.paths[0].exists()
    df = dataset.load_feature("pair_distance", columns=["frame", "id", "id2", "distance_px"])
    np.testing.assert_allclose(df["distance_px"], 4.0)
    runs = dataset.list_feature_runs()
    assert runs[["feature", "run_id"]].values.tolist() == [["pair_distance", res.run_id]]
    assert runs["n_rows"].iloc[0] == 20
