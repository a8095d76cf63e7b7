"""run_feature accepts any object implementing the feature protocol, not only Feature subclasses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, FeatureError
from mosaic.features import Result
from mosaic.features.base import Feature, ProtocolFeature
from mosaic.features.engine import load_feature, run_feature
from mosaic.features.registry import make_feature, register_feature

from .helpers import add_sequence, long_table


class CenteredX:
    """Not a Feature subclass: X minus the mean X over every sequence in scope (a global fit)."""

    name = "centered_x"
    version = "3"
    inputs = "tracks"

    def __init__(self, scale: float = 1.0):
        self.params = {"scale": scale}
        self.mean_ = None
        self.fit_calls = 0

    def fit(self, scope):
        self.fit_calls += 1
        xs = [t["X"].to_numpy() for t in scope]
        self.mean_ = float(np.nanmean(np.concatenate(xs)))
        return self

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "frame": data["frame"],
                "id": data["id"],
                "cx": (data["X"] - self.mean_) * self.params["scale"],
                "has_y": "Y" in data.columns,
            }
        )

    def fitted_state(self):
        return {"mean": self.mean_}


class Stateless:
    name = "double_y"
    version = "1"
    params: dict = {}
    inputs = None
    required_columns = ("Y",)

    def fit(self, scope):
        return None  # never iterates: nothing is loaded for the fit

    def apply(self, data):
        return pd.DataFrame({"frame": data["frame"], "id": data["id"], "y2": 2 * data["Y"], "n_cols": data.shape[1]})


@pytest.fixture
def two_seqs(dataset):
    T = 6
    X1 = np.arange(T, dtype=float)[:, None] + np.array([[0.0, 10.0]])  # mean 7.5
    X2 = np.full((T, 2), 20.0)  # mean 20
    add_sequence(dataset, long_table("g", "a", X1, X1 * 0 + 1.0, 10.0), fps=10.0)
    add_sequence(dataset, long_table("g", "b", X2, X2 * 0 + 3.0, 10.0), fps=10.0)
    return dataset


def test_protocol_object_runs_with_global_fit(two_seqs):
    ds = two_seqs
    obj = CenteredX(scale=2.0)
    res = ds.run_feature(obj, parallel_mode=None)
    assert isinstance(res, Result) and res.feature == "centered_x" and obj.fit_calls == 1
    df = load_feature(ds, "centered_x")
    mean = (np.arange(6).sum() + (np.arange(6) + 10).sum() + 12 * 20) / 24  # independent: all X of both sequences
    a = df[df["sequence"] == "a"].sort_values(["frame", "id"])
    exp = (np.arange(6, dtype=float)[:, None] + np.array([[0.0, 10.0]])).ravel()
    np.testing.assert_allclose(a["cx"], (exp - mean) * 2.0)
    np.testing.assert_allclose(df[df["sequence"] == "b"]["cx"], (20 - mean) * 2.0)
    assert a["has_y"].all()  # no declared columns: every track column was read
    info = json.loads((ds.get_root("features") / "centered_x" / res.run_id / "run.json").read_text())
    assert info["version"] == "3" and info["params"] == {"scale": 2.0} and info["fitted_state"] == {"mean": mean}
    # same params: same run (no-op); other params: another run
    assert run_feature(ds, CenteredX(scale=2.0)).run_id == res.run_id
    assert run_feature(ds, CenteredX(scale=1.0)).run_id != res.run_id


def test_protocol_class_registered_and_declared_columns(two_seqs):
    register_feature(Stateless)
    res = run_feature(two_seqs, "double_y", parallel_mode=None)
    df = load_feature(two_seqs, "double_y", res.run_id)
    np.testing.assert_allclose(df.loc[df["sequence"] == "b", "y2"], 6.0)
    assert set(df["n_cols"]) == {3}  # frame, id, Y: only declared columns are read
    assert isinstance(make_feature(Stateless), ProtocolFeature)
    assert isinstance(make_feature({"name": "speed"}), Feature)


def test_protocol_errors(two_seqs):
    class NoApply:
        name, version, params, inputs = "x", "1", {}, None

        def fit(self, scope):
            return self

    with pytest.raises(FeatureError, match="cannot make a feature"):
        make_feature(NoApply())
    bad = Stateless()
    bad.params = [1, 2]
    with pytest.raises(FeatureError, match="must be a mapping"):
        run_feature(two_seqs, bad)
    empty = Stateless()
    empty.name = ""
    with pytest.raises(FeatureError, match="non-empty string"):
        run_feature(two_seqs, empty)
    with pytest.raises(ConfigError, match="parallel_mode"):
        run_feature(two_seqs, Stateless(), parallel_mode="fork")
    with pytest.raises(FeatureError, match="set its parameters there"):
        make_feature(Stateless()).set_params(a=1)
