"""Kinematics on analytic trajectories: circle, straight line, gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import FeatureError
from mosaic.features import load_feature, run_feature
from mosaic.features.kinematics import Kinematics

from .helpers import add_sequence, circle, long_table

FPS = 30.0
R, OMEGA = 20.0, 1.5  # px, rad/s
DT = 1.0 / FPS


def _apply(df, fps=FPS, cm=None, **params):
    df.attrs.update({"fps": fps, "cm_per_pixel": cm, "group": "g", "sequence": "s"})
    return Kinematics(params).apply(df)


def _circle_df(T=120):
    X, Y, th = circle(T, R, OMEGA, FPS)
    return long_table("g", "s", X, Y, FPS), th


def test_circle_speed_heading_angvel_central_exact():
    df, th = _circle_df()
    out = _apply(df)
    inner = slice(1, -1)
    # central chord over 2 steps: |p(t+1) - p(t-1)| / 2dt = R sin(omega dt) / dt
    np.testing.assert_allclose(out["speed_px_s"].to_numpy()[inner], R * np.sin(OMEGA * DT) / DT, rtol=1e-12)
    # the central chord is parallel to the tangent at t: heading = theta + pi/2
    expected_h = np.angle(np.exp(1j * (th + np.pi / 2)))
    np.testing.assert_allclose(
        np.exp(1j * out["heading_rad"].to_numpy()[inner]), np.exp(1j * expected_h[inner]), atol=1e-12
    )
    np.testing.assert_allclose(out["angvel_rad_s"].to_numpy()[2:-2], OMEGA, rtol=1e-9)
    # tortuosity over 15 frames: 14 chords of one step / chord over 14 steps
    h = 7
    expected_tort = (2 * h * 2 * R * np.sin(OMEGA * DT / 2)) / (2 * R * np.sin(h * OMEGA * DT))
    tort = out["tortuosity"].to_numpy()
    np.testing.assert_allclose(tort[h:-h], expected_tort, rtol=1e-12)
    assert np.isnan(tort[:h]).all() and np.isnan(tort[-h:]).all()
    # centripetal acceleration of the (central) velocity: |a| = speed * sin(omega dt) / dt
    acc = out["acc_px_s2"].to_numpy()[2:-2]
    np.testing.assert_allclose(acc, (R * np.sin(OMEGA * DT) / DT) * np.sin(OMEGA * DT) / DT, rtol=1e-9)


def test_circle_backward_difference():
    df, _ = _circle_df(60)
    out = _apply(df, method="backward", outputs=["speed", "angular_velocity"])
    sp = out["speed_px_s"].to_numpy()
    assert np.isnan(sp[0])
    np.testing.assert_allclose(sp[1:], 2 * R * np.sin(OMEGA * DT / 2) / DT, rtol=1e-12)
    np.testing.assert_allclose(out["angvel_rad_s"].to_numpy()[2:], OMEGA, rtol=1e-9)


def test_angle_column_wraps_through_pi():
    T = 50
    ang = np.pi - 0.5 + 0.05 * np.arange(T)  # crosses +pi
    X = np.arange(T, dtype=float)[:, None]
    df = long_table("g", "s", X, np.zeros((T, 1)), FPS, extra={"ANGLE": ang})
    out = _apply(df, outputs=["heading", "angular_velocity"])
    h = out["heading_rad"].to_numpy()
    assert (h > -np.pi).all() and (h <= np.pi).all()
    np.testing.assert_allclose(out["angvel_rad_s"].to_numpy(), 0.05 * FPS, rtol=1e-9)


def test_heading_from_keypoints():
    T = 10
    X = np.zeros((T, 1))
    extra = {"poseX0": np.full(T, 3.0), "poseY0": np.full(T, 4.0), "poseX1": np.zeros(T), "poseY1": np.zeros(T)}
    df = long_table("g", "s", X, X, FPS, extra=extra)
    out = _apply(df, outputs=["heading"], heading_source="keypoints", head_keypoint=0, tail_keypoint=1)
    np.testing.assert_allclose(out["heading_rad"], np.arctan2(4.0, 3.0))


def test_nan_gap_and_absent_rows_propagate_only_inside_gap():
    T = 80
    X, Y, _ = circle(T, R, OMEGA, FPS)
    X[30:35] = np.nan
    Y[30:35] = np.nan
    one_sided = 2 * R * np.sin(OMEGA * DT / 2) / DT
    central = R * np.sin(OMEGA * DT) / DT
    for drop in (False, True):
        df = long_table("g", "s", X, Y, FPS, drop_nan_rows=drop)
        out = _apply(df, outputs=["speed"])
        sp = pd.Series(out["speed_px_s"].to_numpy(), index=out["frame"].to_numpy())
        if drop:
            assert not set(range(30, 35)) & set(sp.index)  # absent rows stay absent
        else:
            assert sp.loc[30:34].isna().all()
        np.testing.assert_allclose(sp.loc[[29, 35]], one_sided, rtol=1e-12)  # one-sided next to the gap
        np.testing.assert_allclose(sp.loc[list(range(1, 29)) + list(range(36, T - 1))], central, rtol=1e-12)


def test_two_individuals_are_independent_and_ids_kept():
    T = 20
    X = np.stack([np.arange(T) * 2.0, np.arange(T) * 3.0], axis=1)
    df = long_table("g", "s", X, np.zeros_like(X), 10.0, ids=[7, 3])  # ids need not be sorted in dense order
    df = df.sort_values(["frame", "id"]).reset_index(drop=True)
    out = _apply(df, fps=10.0, outputs=["speed"])
    assert out["id"].tolist() == df["id"].tolist()
    sp = out.set_index("id")["speed_px_s"]
    np.testing.assert_allclose(sp.loc[7], 20.0)
    np.testing.assert_allclose(sp.loc[3], 30.0)


def test_single_frame_gives_nan_not_error():
    df = long_table("g", "s", np.ones((1, 2)), np.ones((1, 2)), FPS)
    out = _apply(df, outputs=["speed", "angular_velocity", "tortuosity"])
    assert len(out) == 2 and out["speed_px_s"].isna().all()


def test_cm_columns_when_cm_per_pixel_known(dataset):
    X = (np.arange(30) * 1.0)[:, None]
    add_sequence(dataset, long_table("g", "s", X, np.zeros_like(X), 10.0), fps=10.0, meta={"cm_per_pixel": 0.5})
    run_feature(dataset, "speed")
    df = load_feature(dataset, "speed")
    np.testing.assert_allclose(df["speed_px_s"], 10.0)
    np.testing.assert_allclose(df["speed_cm_s"], 5.0)


def test_missing_fps_is_a_named_error(dataset):
    X = (np.arange(10) * 1.0)[:, None]
    path = add_sequence(dataset, long_table("g", "s", X, X, 10.0), fps=None)
    with pytest.raises(FeatureError, match="frame rate") as ei:
        run_feature(dataset, "speed")
    assert str(path) in str(ei.value)


def test_missing_angle_column_is_a_named_error(dataset):
    X = (np.arange(10) * 1.0)[:, None]
    path = add_sequence(dataset, long_table("g", "s", X, X, 10.0))
    with pytest.raises(FeatureError, match="ANGLE") as ei:
        run_feature(dataset, Kinematics(outputs=["heading"], heading_source="angle"))
    assert str(path) in str(ei.value)


def test_bad_params_named():
    with pytest.raises(FeatureError, match="outputs"):
        Kinematics(outputs=["nope"])
    with pytest.raises(FeatureError, match="tortuosity_window"):
        Kinematics(tortuosity_window=4)
    with pytest.raises(FeatureError, match="allowed keys"):
        Kinematics(windw=3)


def test_heading_from_angle_needs_no_fps():
    df = long_table("g", "s", np.zeros((3, 1)), np.zeros((3, 1)), FPS, extra={"ANGLE": np.array([0.1, 0.2, 0.3])})
    out = _apply(df, fps=None, outputs=["heading", "tortuosity"])
    np.testing.assert_allclose(out["heading_rad"], [0.1, 0.2, 0.3])
