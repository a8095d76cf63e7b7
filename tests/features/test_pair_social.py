"""Pair and social features on hand-placed and straight-line trajectories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import FeatureError
from mosaic.features.pair import PairDistance, PairFeatures
from mosaic.features.social import CentroidDistance, NearestNeighbor, Polarization

from .helpers import long_table

FPS = 10.0


def _prep(df, fps=FPS, cm=None):
    df.attrs.update({"fps": fps, "cm_per_pixel": cm, "group": "g", "sequence": "s"})
    return df


def _lines(T=30, v=2.0, a=5.0, d=3.0):
    """0 moves +x on y=0; 1 moves +x on y=d, a px ahead; 2 moves -x on y=-d starting 100 px ahead."""
    t = np.arange(T, dtype=float)
    X = np.stack([v * t, a + v * t, 100.0 - v * t], axis=1)
    Y = np.stack([np.zeros(T), np.full(T, d), np.full(T, -d)], axis=1)
    return _prep(long_table("g", "s", X, Y, FPS)), X, Y


def test_straight_lines_distance_egocentric_facing_exact():
    v, a, d = 2.0, 5.0, 3.0
    df, X, Y = _lines(v=v, a=a, d=d)
    out = PairFeatures().apply(df).set_index(["frame", "id", "id2"]).sort_index()
    f = 10
    r01 = out.loc[(f, 0, 1)]
    assert r01["distance_px"] == pytest.approx(np.hypot(a, d), rel=1e-12)
    # 0 heads +x (heading 0): partner 1 is a ahead and d along +y
    assert r01["ego_x_px"] == pytest.approx(a, abs=1e-12)
    assert r01["ego_y_px"] == pytest.approx(d, abs=1e-12)
    assert r01["bearing_rad"] == pytest.approx(np.arctan2(d, a), rel=1e-12)
    assert r01["facing_rad"] == pytest.approx(np.arctan2(d, a), rel=1e-12)
    assert r01["rel_speed_px_s"] == pytest.approx(0.0, abs=1e-9)
    assert r01["approach_px_s"] == pytest.approx(0.0, abs=1e-9)
    r10 = out.loc[(f, 1, 0)]
    assert r10["ego_x_px"] == pytest.approx(-a, abs=1e-12)
    assert r10["ego_y_px"] == pytest.approx(-d, abs=1e-12)
    assert r10["facing_rad"] == pytest.approx(np.pi - np.arctan2(d, a), rel=1e-12)
    # 2 heads -x (heading pi): partner 0 at (dx, dy) = (X0 - X2, +d) → ego = (-dx, -dy)
    dx = X[f, 0] - X[f, 2]
    r20 = out.loc[(f, 2, 0)]
    assert r20["ego_x_px"] == pytest.approx(-dx, abs=1e-9)
    assert r20["ego_y_px"] == pytest.approx(-d, abs=1e-9)

    # 0 and 2 close in at 2v along x: approach rate = -d(dist)/dt
    def dist(t):
        return np.hypot(X[t, 2] - X[t, 0], Y[t, 2] - Y[t, 0])

    expected = -(dist(f + 1) - dist(f - 1)) / (2 / FPS)
    assert out.loc[(f, 0, 2), "approach_px_s"] == pytest.approx(expected, rel=1e-12)
    assert out.loc[(f, 0, 2), "rel_speed_px_s"] == pytest.approx(2 * v * FPS, rel=1e-12)
    # every ordered pair, no self pairs
    assert len(out) == 30 * 6
    assert not (out.index.get_level_values("id") == out.index.get_level_values("id2")).any()


def test_pair_rows_only_where_both_present_and_nan_propagates():
    df, _, _ = _lines(T=12)
    df = df[~((df["frame"] == 4) & (df["id"] == 1))].reset_index(drop=True)  # absent row
    df.loc[(df["frame"] == 7) & (df["id"] == 2), "X"] = np.nan  # NaN detection
    _prep(df)
    out = PairDistance().apply(df).set_index(["frame", "id", "id2"])
    assert (4, 0, 1) not in out.index and (4, 1, 0) not in out.index and (4, 0, 2) in out.index
    assert np.isnan(out.loc[(7, 0, 2), "distance_px"]) and np.isnan(out.loc[(7, 2, 1), "distance_px"])
    assert out.loc[(7, 0, 1), "distance_px"] == pytest.approx(np.hypot(5.0, 3.0))
    assert list(out.columns) == ["distance_px"]
    # sorted by (frame, id, id2)
    assert out.index.is_monotonic_increasing


def test_pair_cm_columns():
    df, _, _ = _lines(T=5)
    _prep(df, cm=0.1)
    out = PairDistance().apply(df)
    np.testing.assert_allclose(out["distance_cm"], out["distance_px"] * 0.1)


def _placed():
    pos = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [10.0, 10.0]])
    T = 3
    X = np.tile(pos[:, 0], (T, 1))
    Y = np.tile(pos[:, 1], (T, 1))
    return _prep(long_table("g", "s", X, Y, FPS, ids=[10, 11, 12, 13]))


def test_nearest_neighbour_hand_placed_exact():
    out = NearestNeighbor(k=2).apply(_placed())
    f0 = out[out["frame"] == 0].set_index("id")
    assert f0["nn1_id"].tolist() == [11, 10, 10, 12]
    np.testing.assert_allclose(f0["nn1_dist_px"], [1.0, 1.0, 3.0, np.hypot(10, 7)])
    assert f0["nn2_id"].tolist() == [12, 12, 11, 11]
    np.testing.assert_allclose(f0["nn2_dist_px"], [3.0, np.hypot(1, 3), np.hypot(1, 3), np.hypot(9, 10)])


def test_nearest_neighbour_missing_and_single_individual():
    df = _placed()
    df.loc[(df["frame"] == 1) & (df["id"] == 11), "X"] = np.nan
    out = NearestNeighbor(k=4).apply(_prep(df))  # as many as there are individuals: the last rank is all NaN
    f1 = out[out["frame"] == 1].set_index("id")
    assert f1.loc[10, "nn1_id"] == 12 and f1.loc[10, "nn1_dist_px"] == 3.0
    assert pd.isna(f1.loc[11, "nn1_id"]) and np.isnan(f1.loc[11, "nn1_dist_px"])
    assert pd.isna(f1.loc[10, "nn3_id"]) and np.isnan(f1.loc[10, "nn3_dist_px"])
    one = _prep(long_table("g", "s", np.zeros((4, 1)), np.zeros((4, 1)), FPS))
    o1 = NearestNeighbor().apply(one)
    assert o1["nn1_id"].isna().all() and o1["nn1_dist_px"].isna().all()
    assert out["nn4_id"].isna().all()
    with pytest.raises(FeatureError, match="'k'"):
        NearestNeighbor(k=0)
    with pytest.raises(FeatureError, match="4 individual") as ei:  # more neighbours than animals (and a T x n x k grid)
        NearestNeighbor(k=10**9).apply(_prep(df))
    assert "'g'" in str(ei.value) and "'s'" in str(ei.value)


def test_centroid_distance_and_polarization():
    X = np.array([[0.0, 2.0, 0.0, 2.0]] * 2)
    Y = np.array([[0.0, 0.0, 2.0, 2.0]] * 2)
    ang = np.array([[0.3, 0.3, 0.3, 0.3], [0.0, np.pi, 0.0, np.pi]])
    df = _prep(long_table("g", "s", X, Y, FPS, extra={"ANGLE": ang}))
    cd = CentroidDistance().apply(df)
    np.testing.assert_allclose(cd["centroid_dist_px"], np.sqrt(2.0))
    assert (cd["n_present"] == 4).all()
    cdx = CentroidDistance(exclude_self=True).apply(df)
    # centroid of the other three of a unit square corner: distance 2*sqrt(2)*2/3... computed directly:
    others = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]).mean(axis=0)
    assert cdx["centroid_dist_px"].iloc[0] == pytest.approx(np.hypot(*others))
    pol = Polarization().apply(df)
    np.testing.assert_allclose(pol[pol["frame"] == 0]["polarization"], 1.0)
    np.testing.assert_allclose(pol[pol["frame"] == 1]["polarization"], 0.0, atol=1e-12)


def test_frame_chunks_give_the_same_result(monkeypatch):
    import mosaic.features.pair as pair_mod
    import mosaic.features.social as social_mod

    rng = np.random.default_rng(3)
    T, n = 40, 3
    X = np.cumsum(rng.normal(size=(T, n)), axis=0)
    Y = np.cumsum(rng.normal(size=(T, n)), axis=0)
    X[rng.random((T, n)) < 0.1] = np.nan
    df = _prep(long_table("g", "s", X, Y, FPS))
    whole_pair = PairFeatures().apply(df)
    whole_nn = NearestNeighbor(k=2).apply(df)
    monkeypatch.setattr(pair_mod, "CHUNK_FRAMES", 7)
    monkeypatch.setattr(social_mod, "CHUNK_FRAMES", 7)
    chunks = list(PairFeatures().apply_chunks(df))
    assert len(chunks) == 6
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole_pair)
    pd.testing.assert_frame_equal(NearestNeighbor(k=2).apply(df), whole_nn)


def test_string_ids_are_kept():
    X = np.array([[0.0, 1.0, 5.0]] * 2)
    df = _prep(long_table("g", "s", X, np.zeros_like(X), FPS, ids=["a", "b", "c"]))
    nn = NearestNeighbor().apply(df).set_index("id")
    assert nn.loc["a", "nn1_id"].tolist() == ["b", "b"] and nn.loc["c", "nn1_id"].tolist() == ["b", "b"]
    pairs = PairDistance().apply(df)
    assert pairs[["id", "id2"]].iloc[:2].values.tolist() == [["a", "b"], ["a", "c"]]


@pytest.mark.parametrize("cls", [PairFeatures, Polarization])
def test_heading_parameters_are_those_of_kinematics(cls):
    from mosaic.features.kinematics import HEADING_SOURCES, Kinematics

    keys = ("heading_source", "head_keypoint", "tail_keypoint", "min_speed")
    assert {k: cls.defaults[k] for k in keys} == {k: Kinematics.defaults[k] for k in keys}
    with pytest.raises(FeatureError, match="bad 'heading_source'") as ei:
        cls(heading_source="tail")
    assert ei.value.expected == list(HEADING_SOURCES) and ei.value.found == "tail"


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        (["distance"], ["frame", "id", "X", "Y"]),
        (["facing"], ["frame", "id", "X", "Y", "ANGLE", "poseX0", "poseY0", "poseX2", "poseY2"]),
    ],
)
def test_pair_reads_only_the_heading_keypoints_it_needs(outputs, expected):
    from mosaic.features.kinematics import Kinematics

    available = ["frame", "id", "X", "Y", "ANGLE"] + [f"pose{a}{k}" for k in range(3) for a in "XYP"]
    feat = PairFeatures(outputs=outputs, head_keypoint=0, tail_keypoint=2)
    assert feat.track_columns(available) == expected
    kin = Kinematics(outputs=["speed"] if outputs == ["distance"] else ["heading"], head_keypoint=0, tail_keypoint=2)
    assert kin.track_columns(available) == expected
