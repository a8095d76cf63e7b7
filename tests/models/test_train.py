"""train_model / predict on hand-built features and labels with known ground truth."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from mosaic import Dataset
from mosaic.core.errors import ConfigError, ModelError
from mosaic.models import (
    load_run,
    load_run_predictions,
    model_figures,
    predict,
    read_models_index,
    train_model,
)

from .synth import BEHAVIORS, make_synthetic

FAST = {"features": ["speed", "pair"], "cv_folds": 2, "estimator_params": {"max_iter": 30}, "max_ethograms": 2}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    ds = Dataset.create(tmp_path_factory.mktemp("models") / "ds", name="synth")
    keys = make_synthetic(ds, n_groups=2, n_sequences=2, T=240, seed=3)
    rid = train_model(ds, "clf", FAST)
    return ds, keys, rid


def test_train_writes_run_folder_index_and_metrics(trained):
    ds, keys, rid = trained
    d = ds.get_root("models") / "clf" / rid
    for f in ("model.joblib", "config.json", "metrics.json", "plots/confusion_matrix.png"):
        assert (d / f).exists(), f
    assert len(list((d / "plots").glob("ethogram__*.png"))) == 2
    assert sorted(p.stem for p in (d / "predictions").glob("*.parquet")) == sorted(f"{g}__{s}" for g, s in keys)
    m = json.loads((d / "metrics.json").read_text())
    assert m["macro_f1"] >= 0.9  # the synthetic behaviours are well separated by construction
    assert set(m["cv"]["macro_f1_classes"]) == set(BEHAVIORS)  # background excluded (none here anyway)
    assert m["cv"]["n_rows"] == 4 * 240 * 3
    # every recording is tested in exactly one fold, never trained on there
    tested = [s for f in m["folds"] for s in f["test_sequences"]]
    assert sorted(tested) == sorted(f"{g}/{s}" for g, s in keys)
    idx = read_models_index(ds)
    row = idx[(idx["model"] == "clf") & (idx["run_id"] == rid)]
    assert len(row) == 1 and row["abs_path"].iloc[0] == f"models/clf/{rid}"
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["inputs"][0]["feature"] == "speed" and cfg["inputs"][0]["run_id"] == "run0001"
    assert cfg["config"]["estimator"] == "hist_gradient_boosting"


def test_rerun_is_a_noop_and_overwrite_retrains(trained):
    ds, _, rid = trained
    d = ds.get_root("models") / "clf" / rid
    before = {p: p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}
    assert train_model(ds, "clf", dict(FAST)) == rid
    assert ds.train_model("clf", {**FAST, "n_threads": 2}) == rid  # facade, same library call; threads not hashed
    assert {p: p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()} == before
    assert len(read_models_index(ds)) == 1
    # a different config is a different run
    rid2 = train_model(ds, "clf", {**FAST, "min_bout": 3, "plots": False})
    assert rid2 != rid
    assert len(read_models_index(ds)) == 2
    assert train_model(ds, "clf", {**FAST, "min_bout": 3, "plots": False}, overwrite=True) == rid2
    assert (ds.get_root("models") / "clf" / rid2 / "model.joblib").stat().st_mtime_ns > 0


def test_predict_writes_a_feature_load_feature_reads(trained):
    from mosaic.features.engine import load_feature

    ds, keys, rid = trained
    res = predict(ds, ("clf", rid), sequences=[keys[0][1]])
    assert res.feature == "clf__pred" and res.run_id == rid and len(res.paths) == 1
    df = load_feature(ds, "clf__pred", rid)
    assert set(df["sequence"]) == {keys[0][1]}
    assert {"frame", "id", "pred", "pred_code", "prob_rest", "prob_contact"} <= set(df.columns)
    probs = df[[c for c in df.columns if c.startswith("prob_")]].sum(axis=1)
    assert np.allclose(probs, 1.0)
    res_all = predict(ds, f"clf/{rid}")
    assert len(res_all.paths) == len(keys)
    # predictions of the training data agree with the labels (in-sample, well separated)
    preds = load_run_predictions(ds, ("clf", rid))
    assert (preds["pred"] == preds["label"]).mean() > 0.9
    with pytest.raises(ModelError, match="no trained run"):
        predict(ds, "nope")
    with pytest.raises(ModelError, match="lack the model's input features"):
        predict(ds, ("clf", rid), sequences=["not_a_sequence"])


def test_model_figures_rebuild_from_files(trained):
    ds, _, rid = trained
    figs = model_figures(ds, ("clf", rid), max_ethograms=1)
    assert set(figs) == {"confusion_matrix"} | {k for k in figs if k.startswith("ethogram__")}
    assert len(figs) == 2


def test_holdout_groups_and_random_forest(tmp_path):
    ds = Dataset.create(tmp_path / "ds")
    make_synthetic(ds, n_groups=3, n_sequences=1, T=200, seed=5)
    rid = train_model(
        ds,
        "rf",
        {
            "features": ["speed", "pair"],
            "estimator": "random_forest",
            "estimator_params": {"n_estimators": 20},
            "holdout_groups": ["g2"],
            "plots": False,
        },
    )
    m = load_run(ds, ("rf", rid))["metrics"]
    assert m["evaluation"] == "holdout" and m["holdout"]["groups"] == ["g2"]
    assert m["holdout"]["n_rows"] == 200 * 3 and m["cv"]["n_rows"] == 2 * 200 * 3
    assert m["macro_f1"] == m["holdout"]["macro_f1"] >= 0.85
    preds = load_run_predictions(ds, ("rf", rid))
    assert set(preds.loc[preds["split"] == "holdout", "group"]) == {"g2"}
    with pytest.raises(ConfigError, match="holdout_groups"):
        train_model(ds, "rf", {"features": ["speed"], "holdout_groups": ["g9"], "plots": False})


def test_pair_target_classifier(tmp_path):
    ds = Dataset.create(tmp_path / "ds")
    make_synthetic(ds, n_groups=2, n_sequences=1, T=200, seed=7)
    rid = train_model(
        ds,
        "pairclf",
        {
            "features": ["pair", "speed"],
            "target": "pair",
            "cv_folds": 2,
            "estimator_params": {"max_iter": 20},
            "plots": False,
        },
    )
    run = load_run(ds, ("pairclf", rid))
    m = run["metrics"]
    # pair rows: only 'contact' is a pair label; everything else is background
    assert set(m["label_counts"]) == {"background", "contact"}
    assert m["cv"]["macro_f1_classes"] == ["contact"]
    assert m["cv"]["per_class"]["contact"]["f1"] >= 0.9
    assert "speed.speed@partner" in run["bundle"]["columns"]
    df = pd.read_parquet(predict(ds, "pairclf").paths[0])
    assert {"frame", "id", "id2", "pred"} <= set(df.columns)


def test_named_errors(tmp_path):
    ds = Dataset.create(tmp_path / "ds")
    make_synthetic(ds, n_groups=2, n_sequences=1, T=100, seed=1, label_pairs=None)
    # unknown config key
    with pytest.raises(ConfigError, match="bogus"):
        train_model(ds, "m", {"features": ["speed"], "bogus": 1})
    with pytest.raises(ConfigError, match="estimator_params"):
        train_model(ds, "m", {"features": ["speed"], "plots": False, "cv_folds": 2, "estimator_params": {"max_itr": 5}})
    with pytest.raises(ConfigError, match="max_iter"):
        train_model(
            ds, "m", {"features": ["speed"], "plots": False, "cv_folds": 2, "estimator_params": {"max_iter": -5}}
        )
    # a label kind without labels
    with pytest.raises(ModelError) as err:
        train_model(ds, "m", {"features": ["speed"], "label_kind": "grooming"})
    assert "grooming" in str(err.value) and "labels" in str(err.value) and "behavior" in str(err.value)
    # a feature that never ran
    with pytest.raises(ModelError, match="'kinematics'"):
        train_model(ds, "m", {"features": ["kinematics"]})
    # a feature run id that does not exist
    with pytest.raises(ModelError, match="run_id nope"):
        train_model(ds, "m", {"features": ["speed@nope"]})
    # features missing for some labelled sequences
    from mosaic.core.indexes import upsert_index
    from mosaic.features.engine import FEATURES_INDEX, feature_index_path

    upsert_index(
        feature_index_path(ds, "speed"),
        [],
        FEATURES_INDEX,
        drop=[{"run_id": "run0001", "group": "g1", "sequence": "g1_s0"}],
    )
    with pytest.raises(ModelError) as err:
        train_model(ds, "m", {"features": ["speed", "pair"]})
    assert "'speed'" in str(err.value) and "g1/g1_s0" in str(err.value)
    # a feature file listed in the index but deleted
    os.remove(ds.get_root("features") / "pair" / "run0001" / "g0__g0_s0.parquet")
    with pytest.raises(ModelError, match="g0__g0_s0.parquet"):
        train_model(ds, "m", {"features": ["pair"]})
    with pytest.raises(ConfigError, match="model name"):
        train_model(ds, "", {"features": ["speed"]})


def test_feature_columns_selection_and_unknown_column(tmp_path):
    ds = Dataset.create(tmp_path / "ds")
    make_synthetic(ds, n_groups=2, n_sequences=1, T=120, seed=2)
    rid = train_model(
        ds,
        "m",
        {
            "features": ["speed", "pair"],
            "feature_columns": ["speed.speed", "pair.distance@min"],
            "cv_folds": 2,
            "estimator_params": {"max_iter": 10},
            "plots": False,
        },
    )
    assert load_run(ds, ("m", rid))["bundle"]["columns"] == ["speed.speed", "pair.distance@min"]
    # scope: a single labelled recording cannot be evaluated sequence-held-out
    with pytest.raises(ModelError, match="at least two recordings"):
        train_model(ds, "m", {"features": ["speed"], "sequences": ["g0_s0"], "plots": False})
    with pytest.raises(ModelError, match="no labelled recording"):
        train_model(ds, "m", {"features": ["speed"], "groups": ["g7"], "plots": False})
    with pytest.raises(ConfigError, match="speed.nope"):
        train_model(ds, "m", {"features": ["speed"], "feature_columns": ["speed.nope"], "plots": False})


@pytest.mark.parametrize("kind", ["kmeans", "ward"])
def test_clustering_writes_assignments_feature_and_summary(tmp_path, kind):
    from mosaic.features.engine import load_feature

    ds = Dataset.create(tmp_path / "ds")
    keys = make_synthetic(ds, n_groups=1, n_sequences=2, T=150, seed=4)
    rid = train_model(ds, "cl", {"kind": kind, "features": ["speed"], "n_clusters": 3, "max_samples": 300})
    d = ds.get_root("models") / "cl" / rid
    summary = json.loads((d / "summary.json").read_text())
    assert summary["n_rows"] == 2 * 150 * 3 and sum(summary["cluster_sizes"].values()) == summary["n_rows"]
    assert summary["n_fit_rows"] == (300 if kind == "ward" else 900)
    means = pd.read_csv(d / "cluster_means.csv")
    assert list(means.columns) == ["cluster", "n_rows", "speed.speed"]
    # three speed regimes (0.2, 0.8, 2.0) -> three clusters whose means are near them
    assert np.allclose(np.sort(means["speed.speed"]), [0.2, 0.8, 2.0], atol=0.15)
    df = load_feature(ds, "cl__pred", rid)  # written by train_model itself
    res = predict(ds, "cl")  # no-op: the files exist
    assert len(res.paths) == len(keys) and set(df["cluster"]) == {0, 1, 2}
    # the written assignments equal the training ones
    train_pred = load_run_predictions(ds, ("cl", rid)).sort_values(["sequence", "frame", "id"])
    merged = df.merge(train_pred, on=["group", "sequence", "frame", "id"], suffixes=("", "_t"))
    assert (merged["cluster"] == merged["cluster_t"]).all() and len(merged) == 900
