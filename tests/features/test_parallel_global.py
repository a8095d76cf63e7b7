"""Parallel modes equal serial; global features fitted over the scope."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import FeatureError
from mosaic.features import Result, load_feature, run_feature

from .helpers import add_sequence, long_table

FPS = 25.0


def _dataset(ds, n_seq=3, T=50):
    rng = np.random.default_rng(1)
    for k in range(n_seq):
        X = np.cumsum(rng.normal(size=(T, 3)), axis=0) + 50.0 * np.arange(3)
        Y = np.cumsum(rng.normal(size=(T, 3)), axis=0)
        X[rng.random((T, 3)) < 0.05] = np.nan
        add_sequence(ds, long_table("g", f"s{k}", X, Y, FPS))


def _load_all(ds, name, run_id):
    return (
        load_feature(ds, name, run_id).sort_values(["group", "sequence", "frame", "id", "id2"]).reset_index(drop=True)
    )


@pytest.mark.parametrize("mode", ["thread", "process", "dask"])
def test_parallel_modes_equal_serial(dataset, mode):
    _dataset(dataset)
    serial = run_feature(dataset, "pair")
    ref = _load_all(dataset, "pair", serial.run_id)
    res = run_feature(dataset, "pair", parallel_mode=mode, parallel_workers=2, overwrite=True)
    assert res.run_id == serial.run_id  # the mode is not part of the run's identity
    pd.testing.assert_frame_equal(_load_all(dataset, "pair", res.run_id), ref)


def test_scaler_pca_kmeans_fit_over_scope(dataset):
    _dataset(dataset)
    sp = run_feature(dataset, "speed")
    allsp = load_feature(dataset, "speed", sp.run_id)
    sc = run_feature(
        dataset, {"name": "standard_scaler", "params": {"columns": ["vx_px_s", "vy_px_s"]}, "inputs": [sp]}
    )
    z = load_feature(dataset, "standard_scaler", sc.run_id)
    for c in ("vx_px_s", "vy_px_s"):
        v = allsp[c].to_numpy()
        np.testing.assert_allclose(z[c].to_numpy(), (v - np.nanmean(v)) / np.nanstd(v), rtol=1e-9, equal_nan=True)
    info = json.loads((dataset.get_root("features") / "standard_scaler" / sc.run_id / "run.json").read_text())
    assert info["fitted_state"]["columns"] == ["vx_px_s", "vy_px_s"]

    pca = run_feature(dataset, {"name": "pca", "params": {"n_components": 2}, "inputs": [Result("standard_scaler")]})
    p = load_feature(dataset, "pca", pca.run_id)
    M = z[["vx_px_s", "vy_px_s"]].to_numpy()
    ok = ~np.isnan(M).any(axis=1)
    w, v = np.linalg.eigh(np.cov(M[ok].T))
    comp = v[:, np.argmax(w)]
    proj = (M[ok] - M[ok].mean(axis=0)) @ comp
    np.testing.assert_allclose(np.abs(p["pc1"].to_numpy()[ok]), np.abs(proj), rtol=1e-7, atol=1e-9)
    assert p["pc1"].isna().to_numpy().tolist() == (~ok).tolist()

    km = run_feature(
        dataset, {"name": "kmeans", "params": {"n_clusters": 3, "columns": ["pc1", "pc2"]}, "inputs": [pca]}
    )
    k = load_feature(dataset, "kmeans", km.run_id)
    assert k["cluster"].isna().tolist() == (~ok).tolist()
    centers = np.array(
        json.loads((dataset.get_root("features") / "kmeans" / km.run_id / "run.json").read_text())["fitted_state"][
            "centers"
        ]
    )
    P = p[["pc1", "pc2"]].to_numpy()[ok]
    nearest = np.argmin(((P[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
    assert (k["cluster"].to_numpy()[ok].astype(int) == nearest).all()


def test_global_feature_scope_changes_run_id(dataset):
    _dataset(dataset)
    sp = run_feature(dataset, "speed")
    a = run_feature(dataset, {"name": "standard_scaler", "inputs": [sp]})
    b = run_feature(dataset, {"name": "standard_scaler", "inputs": [sp]}, sequences=["s0"])
    assert a.run_id != b.run_id


def test_kmeans_unfitted_and_bad_params():
    from mosaic.features.globalfit import KMeans

    df = pd.DataFrame({"frame": [0], "id": [0], "x": [1.0]})
    with pytest.raises(FeatureError, match="not fitted"):
        KMeans().apply(df)
    with pytest.raises(FeatureError, match="n_clusters"):
        KMeans(n_clusters=0)


def test_pose_features(dataset):
    T = 4
    extra = {
        "poseX0": np.full(T, 0.0),
        "poseY0": np.full(T, 0.0),
        "poseX1": np.full(T, 3.0),
        "poseY1": np.full(T, 4.0),
        "poseX2": np.full(T, 3.0),
        "poseY2": np.full(T, 10.0),
    }
    extra["poseX2"][1] = np.nan
    add_sequence(dataset, long_table("g", "s", np.zeros((T, 1)), np.zeros((T, 1)), FPS, extra=extra))
    run_feature(dataset, "body_length")
    bl = load_feature(dataset, "body_length")["body_length_px"].to_numpy()
    np.testing.assert_allclose(bl[[0, 2, 3]], 5.0 + 6.0)
    assert np.isnan(bl[1])
    run_feature(dataset, {"name": "keypoint_distances", "params": {"keypoints": [0, 2]}})
    kd = load_feature(dataset, "keypoint_distances")
    np.testing.assert_allclose(kd["kpdist_0_2_px"].to_numpy()[[0, 2]], np.hypot(3, 10))
    run_feature(dataset, "keypoint_angles")
    ka = load_feature(dataset, "keypoint_angles")["kpangle_0_1_2_rad"].to_numpy()
    np.testing.assert_allclose(ka[0], np.pi / 2 - np.arctan2(4, 3))
    X = np.zeros((3, 1))
    add_sequence(dataset, long_table("h", "nopose", X, X, FPS))
    with pytest.raises(FeatureError, match="keypoint"):
        run_feature(dataset, "body_length", groups="h")
