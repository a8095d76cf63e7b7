"""train_model with uninformative feature columns and with model instances (classifier or trainer)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mosaic import Dataset
from mosaic.core.errors import ConfigError, ModelError
from mosaic.labels.events import bouts_to_events
from mosaic.labels.io import LabelSet, save_label_sets
from mosaic.models import load_run, predict, train_model
from mosaic.models.estimators import (
    ColumnSubsetClassifier,
    fit_estimator,
    informative_columns,
    make_estimator,
)

from .synth import simulate_states, write_feature


def _single_animal(ds, n_seq: int = 4, T: int = 240, seed: int = 5) -> list[tuple[str, str]]:
    """One animal per recording: 'speed' separates rest/explore; 'pair' has no row (no partner)."""
    rng = np.random.default_rng(seed)
    speed, pair, sets, keys = {}, {}, [], []
    for k in range(n_seq):
        g, s = f"g{k % 2}", f"s{k}"
        states, _ = simulate_states(T, rng)
        st = np.where(states[:, 0] == 2, 0, states[:, 0])[:, None]  # no contact without a partner
        v = np.array([0.2, 2.0])[st[:, 0]] + rng.normal(0, 0.1, T)
        speed[(g, s)] = pd.DataFrame({"frame": np.arange(T), "id": 0, "speed": v, "arena": 7.5})
        pair[(g, s)] = pd.DataFrame(
            {
                "frame": pd.Series([], dtype="int64"),
                "id": pd.Series([], dtype="int64"),
                "id2": pd.Series([], dtype="int64"),
                "distance": pd.Series([], dtype="float64"),
            }
        )
        change = np.flatnonzero(np.diff(st[:, 0])) + 1
        starts, stops = np.r_[0, change], np.r_[change, T]
        frames, labels, iids = bouts_to_events(
            starts, stops, st[starts, 0], np.zeros(len(starts), int), np.full(len(starts), -1)
        )
        sets.append(
            LabelSet(
                group=g,
                sequence=s,
                frames=frames,
                labels=labels,
                individual_ids=iids,
                label_ids=np.arange(2),
                label_names=np.array(["rest", "explore"]),
                fps=30.0,
                n_frames=T,
            )
        )
        keys.append((g, s))
    write_feature(ds, "speed", speed)
    write_feature(ds, "pair", pair)
    save_label_sets(ds, "behavior", sets)
    return keys


def test_informative_columns_reasons():
    X = np.array([[1.0, np.nan, 3.0, 1.0, np.inf], [2.0, np.nan, 3.0, np.nan, np.nan], [1.0, np.nan, 3.0, 1.0, np.nan]])
    keep, reasons = informative_columns(X)
    # col 3: one finite value with missing rows is kept (missingness separates rows)
    assert keep.tolist() == [True, False, False, True, False]
    assert reasons == {1: "no finite value", 2: "constant", 4: "no finite value"}


def test_fit_drops_all_nan_columns_and_predicts_from_full_matrix():
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 50)
    X = np.column_stack([np.where(y == "a", 0.0, 1.0) + rng.normal(0, 0.1, 100), np.full(100, np.nan), np.ones(100)])
    est = fit_estimator(make_estimator("hist_gradient_boosting", {"max_iter": 10}), X, y)
    assert isinstance(est, ColumnSubsetClassifier) and est.keep.tolist() == [0]
    assert (est.predict(X) == y).mean() > 0.95
    assert est.predict_proba(X).shape == (100, 2)
    with pytest.raises(ModelError, match="wrong number of columns"):
        est.predict(X[:, :2])
    with pytest.raises(ModelError, match="carries information"):
        fit_estimator(make_estimator("hist_gradient_boosting"), X[:, 1:], y)


def test_fitting_names_stay_importable_from_estimators_and_pickles_keep_their_path():
    import pickle

    from mosaic.models import estimators, fitting

    for name in estimators.FITTING_NAMES:
        assert getattr(estimators, name) is getattr(fitting, name)
    with pytest.raises(AttributeError):
        estimators.no_such_name  # noqa: B018
    rng = np.random.default_rng(1)
    y = np.repeat(["a", "b"], 20)
    X = np.column_stack([np.where(y == "a", 0.0, 1.0) + rng.normal(0, 0.1, 40), np.full(40, np.nan)])
    est = fit_estimator(make_estimator("hist_gradient_boosting", {"max_iter": 5}), X, y)
    blob = pickle.dumps(est)
    assert b"mosaic.models.estimators" in blob and b"mosaic.models.fitting" not in blob
    assert (pickle.loads(blob).predict(X) == est.predict(X)).all()


@pytest.mark.parametrize("estimator", ["hist_gradient_boosting", "random_forest"])
def test_single_animal_with_pair_features_trains_and_reports_dropped(tmp_path, estimator):
    ds = Dataset.create(tmp_path / "ds", name="single")
    keys = _single_animal(ds)
    cfg = {
        "features": ["speed", "pair"],
        "cv_folds": 2,
        "estimator": estimator,
        "plots": False,
        "estimator_params": {"max_iter": 20} if estimator == "hist_gradient_boosting" else {"n_estimators": 20},
    }
    rid = train_model(ds, "solo", cfg)
    m = json.loads((ds.get_root("models") / "solo" / rid / "metrics.json").read_text())
    dropped = m["dropped_columns"]
    assert dropped["speed.arena"] == "constant"
    assert (
        {c for c, r in dropped.items() if r == "no finite value"}
        == {c for c in dropped if c.startswith("pair.")}
        != set()
    )
    assert m["n_features"] == 1 and m["macro_f1"] > 0.9
    run = load_run(ds, ("solo", rid))
    assert run["bundle"]["columns"] == ["speed.speed"]
    res = predict(ds, ("solo", rid), sequences=[keys[0][1]])
    out = pd.read_parquet(res.paths[0])
    assert len(out) == 240 and set(out["pred"]) <= {"rest", "explore"}


class _Centroids:
    """A minimal classifier without sample_weight and without predict_proba (nearest class mean)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.means_ = np.stack([np.nanmean(X[y == c], axis=0) for c in self.classes_])
        return self

    def predict(self, X):
        d = np.nansum((X[:, None, :] - self.means_[None]) ** 2, axis=2)
        return self.classes_[d.argmin(axis=1)]


class CentroidTrainer:
    name = "centroids"
    version = "2"

    def __init__(self, scale: float = 1.0):
        self.params = {"scale": scale}

    def make_estimator(self, seed: int):
        return _Centroids()


@pytest.fixture()
def single(tmp_path):
    ds = Dataset.create(tmp_path / "ds", name="single")
    return ds, _single_animal(ds)


def test_train_model_accepts_a_sklearn_classifier_instance(single):
    from sklearn.linear_model import LogisticRegression

    ds, keys = single
    cfg = {"features": ["speed"], "cv_folds": 2, "plots": False}
    rid = ds.train_model(LogisticRegression(C=2.0, max_iter=200), cfg)
    d = ds.get_root("models") / "logistic_regression" / rid
    conf = json.loads((d / "config.json").read_text())
    assert conf["config"]["estimator"]["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert conf["config"]["estimator"]["params"]["C"] == 2.0
    m = json.loads((d / "metrics.json").read_text())
    assert m["macro_f1"] > 0.9 and len(m["folds"]) == 2
    # same instance parameters: same run; other parameters: another run
    assert ds.train_model(LogisticRegression(C=2.0, max_iter=200), cfg) == rid
    assert ds.train_model(LogisticRegression(C=0.5, max_iter=200), cfg) != rid
    assert train_model(ds, LogisticRegression(C=2.0, max_iter=200), cfg, name="logreg") != rid  # its own folder
    assert (ds.get_root("models") / "logreg").is_dir()
    res = predict(ds, ("logistic_regression", rid), sequences=[keys[1][1]])
    out = pd.read_parquet(res.paths[0])
    assert {"prob_rest", "prob_explore"} <= set(out.columns)


def test_train_model_accepts_a_trainer(single):
    ds, keys = single
    cfg = {"features": ["speed", "pair"], "cv_folds": 2, "plots": False}
    rid = ds.train_model(CentroidTrainer(), cfg)
    d = ds.get_root("models") / "centroids" / rid
    conf = json.loads((d / "config.json").read_text())["config"]["estimator"]
    assert conf["name"] == "centroids" and conf["version"] == "2" and conf["params"] == {"scale": 1.0}
    assert json.loads((d / "metrics.json").read_text())["macro_f1"] > 0.9
    assert ds.train_model(CentroidTrainer(scale=2.0), cfg) != rid
    out = pd.read_parquet(predict(ds, ("centroids", rid)).paths[0])
    probs = out[["prob_explore", "prob_rest"]].to_numpy()
    assert set(np.unique(probs)) <= {0.0, 1.0} and (probs.sum(axis=1) == 1).all()  # one-hot of predict


def test_model_instance_errors(single):
    ds, _ = single
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(ConfigError, match="given twice"):
        ds.train_model(LogisticRegression(), {"features": ["speed"], "estimator": "random_forest"})
    with pytest.raises(ConfigError, match="registered name, a scikit-learn classifier or a trainer"):
        ds.train_model(object(), {"features": ["speed"]})
    with pytest.raises(ConfigError, match="estimator_params cannot be combined"):
        ds.train_model(CentroidTrainer(), {"features": ["speed"], "cv_folds": 2, "estimator_params": {"x": 1}})
    with pytest.raises(ConfigError, match="invalid estimator"):
        ds.train_model(LogisticRegression(), {"features": ["speed"], "cv_folds": 2, "estimator_params": {"nope": 1}})


def test_real_single_animal_dlc_with_pair_features_trains(realdata, tmp_path):
    """The B-SOiD open-field DeepLabCut export (one mouse): pair features have no value, training still works."""
    import shutil

    from mosaic.labels.events import bouts_to_events
    from tests.conftest import realdata_file

    src = realdata_file(
        realdata, "dlc", "bsoid-openfield", "raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.csv"
    )
    ds = Dataset.create(tmp_path / "ds", name="bsoid")
    for g in ("day1", "day2"):
        (ds.get_root("tracks_raw") / g).mkdir(parents=True)
        shutil.copy(src, ds.get_root("tracks_raw") / g / src.name)
    ds.index_tracks_raw("tracks_raw", src_format="dlc", patterns=["*.csv"], group_from="parent")
    ds.convert_all_tracks(params={"fps": 30})
    ds.run_feature("speed")
    ds.run_feature("pair")
    # labels from the real speed: "moving" above the recording's median speed, else "still"
    sets = []
    for g, s in ds.list_pairs():
        sp = ds.load_feature("speed", groups=[g], sequences=[s]).sort_values("frame")
        v = sp["speed_px_s"].to_numpy()
        state = (v > np.nanmedian(v)).astype(int)
        change = np.flatnonzero(np.diff(state)) + 1
        starts, stops = np.r_[0, change], np.r_[change, len(state)]
        fr = sp["frame"].to_numpy()
        frames, labels, iids = bouts_to_events(
            fr[starts],
            np.r_[fr[stops[:-1]], fr[-1] + 1],
            state[starts],
            np.zeros(len(starts), int),
            np.full(len(starts), -1),
        )
        sets.append(
            LabelSet(
                group=g,
                sequence=s,
                frames=frames,
                labels=labels,
                individual_ids=iids,
                label_ids=np.arange(2),
                label_names=np.array(["still", "moving"]),
                fps=30.0,
            )
        )
    save_label_sets(ds, "behavior", sets)
    rid = train_model(
        ds,
        "bsoid_clf",
        {"features": ["speed", "pair"], "cv_folds": 2, "plots": False, "estimator_params": {"max_iter": 30}},
    )
    m = json.loads((ds.get_root("models") / "bsoid_clf" / rid / "metrics.json").read_text())
    pair_cols = [c for c in m["dropped_columns"] if c.startswith("pair.")]
    assert pair_cols and all(m["dropped_columns"][c] == "no finite value" for c in pair_cols)
    assert m["macro_f1"] > 0.9  # the label is a threshold of an input column
