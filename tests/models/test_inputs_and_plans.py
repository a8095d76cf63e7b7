"""fit_model through both constructors of ModelInputs, and predict as plan + run."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from mosaic import Dataset
from mosaic.core.errors import ConfigError, ModelError
from mosaic.features.engine import feature_index_path, feature_root, read_feature_index
from mosaic.models import ModelInputs, PredictionRun, fit_model, plan_prediction, predict, train_model

from .synth import make_synthetic

FAST = {"features": ["speed", "pair"], "cv_folds": 2, "estimator_params": {"max_iter": 20}, "max_ethograms": 1}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    ds = Dataset.create(tmp_path_factory.mktemp("inputs") / "ds", name="synth")
    keys = make_synthetic(ds, n_groups=2, n_sequences=2, T=120, seed=7)
    return ds, keys


def _catalog_inputs(ds) -> ModelInputs:
    from mosaic.datasets.stores import FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset

    views = [cls(path=str(ds.folder)).load() for cls in (FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset)]
    return ModelInputs.from_catalog(*views)


def test_both_doors_fit_the_same_run(synth):
    from mosaic.core.run_ids import file_fingerprint, make_run_id
    from mosaic.models.config import config_json, resolve_model

    ds, keys = synth
    a = fit_model(ds, "clf", FAST)
    b = fit_model(_catalog_inputs(ds), "clf", FAST)
    # the run id is the hash of what identifies a training, computed here from its parts
    _, cfg = resolve_model("clf", FAST, None)
    feats = [{"feature": f, "run_id": "run0001", "as": f} for f in ("speed", "pair")]
    hashed = {k: v for k, v in config_json(cfg).items() if k != "n_threads"}
    index = ds.get_root("labels") / "behavior" / "index.csv"
    expected = make_run_id(
        {
            "model": "clf",
            "version": "1",
            "config": {**hashed, "features": feats},
            "inputs": feats,
            "labels": {"kind": "behavior", "index_fingerprint": file_fingerprint(index)},
            "scope": [list(k) for k in sorted(keys)],
        }
    )
    assert a.run_id == b.run_id == expected
    assert a.metrics == b.metrics

    def timeless(d):
        return {k: v for k, v in d.items() if k != "created_iso"}

    assert timeless(a.index_row) == timeless(b.index_row) and timeless(a.resolved) == timeless(b.resolved)
    assert {k: v for k, v in a.bundle.items() if k != "estimator"} == {
        k: v for k, v in b.bundle.items() if k != "estimator"
    }
    assert pickle.dumps(a.bundle["estimator"]) == pickle.dumps(b.bundle["estimator"])
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    assert sorted(a.figures) == sorted(b.figures)


def test_catalog_inputs_must_view_one_folder_and_a_classifier_needs_labels(synth, tmp_path):
    from mosaic.features.store import FeatureStore
    from mosaic.labels.store import LabelStore

    ds, _ = synth
    other = Dataset.open(shutil.copytree(ds.folder, tmp_path / "other"))
    with pytest.raises(ConfigError, match="different dataset folders") as exc:
        ModelInputs.from_catalog(FeatureStore(ds), LabelStore(other))
    assert str(other.folder) in str(exc.value)
    with pytest.raises(ConfigError, match="not a LabelStore"):
        ModelInputs.from_catalog(FeatureStore(ds), {"labels": 1})
    with pytest.raises(ModelError, match="a classifier needs labels"):
        fit_model(ModelInputs(FeatureStore(ds)), "clf", FAST)
    # without a model store nothing can be found stored: the run is trained (and identified the same way)
    assert (
        fit_model(ModelInputs(FeatureStore(ds), LabelStore(ds)), "clf", FAST).run_id
        == fit_model(ds, "clf", FAST).run_id
    )


def test_a_stored_run_is_found_through_either_door(synth):
    ds, _ = synth
    rid = train_model(ds, "clf_stored", FAST)
    again = fit_model(_catalog_inputs(ds), "clf_stored", FAST)
    assert again.existing and again.run_id == rid and again.bundle is None


def _expected_probabilities(ds, bundle, key) -> pd.DataFrame:
    """Class probabilities of one recording computed here: its speed file, the fitted estimator."""
    g, s = key
    df = pd.read_parquet(feature_root(ds, "speed") / "run0001" / f"{g}__{s}.parquet")
    df = df.rename(columns={c: f"speed.{c}" for c in df.columns if c not in ("frame", "id")})
    proba = bundle["estimator"].predict_proba(df[bundle["columns"]].to_numpy(dtype=float))
    out = df[["frame", "id"]].copy()
    for j, c in enumerate(np.asarray(bundle["estimator"].classes_).astype(str)):
        out[f"prob_{c}"] = proba[:, j]
    return out.sort_values(["frame", "id"]).reset_index(drop=True)


def test_prediction_is_planned_then_run(synth):
    from mosaic.models import load_run

    ds, keys = synth
    cfg = {**FAST, "features": ["speed"], "plots": False}
    rid = train_model(ds, "speed_clf", cfg)
    plan = plan_prediction(ds, ("speed_clf", rid))
    assert isinstance(plan, PredictionRun) and plan.keys == sorted(keys) and len(plan.tasks) == len(keys)
    # tasks carry paths and parameters, never tables; nothing is written before run()
    flat = [x for task in plan.tasks for x in task]
    assert not [x for x in flat if isinstance(x, (pd.DataFrame, np.ndarray))]
    assert not feature_root(ds, "speed_clf__pred").exists()
    assert len(pickle.dumps(plan.tasks)) < 20_000
    result = plan.run()
    assert result == plan.result() and result.feature == "speed_clf__pred" and result.run_id == rid
    bundle = load_run(ds, ("speed_clf", rid))["bundle"]
    idx = read_feature_index(ds, "speed_clf__pred")
    assert sorted(zip(idx["group"], idx["sequence"])) == sorted(keys) and (idx["run_id"] == rid).all()
    for key, path in zip(plan.keys, result.paths):
        got = pd.read_parquet(path).sort_values(["frame", "id"]).reset_index(drop=True)
        want = _expected_probabilities(ds, bundle, key)
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
        assert (got["pred"] == np.asarray(bundle["classes"])[got["pred_code"]]).all()
    # a second plan has nothing left to do; running it rewrites nothing, the index stays as it was
    mtimes = [p.stat().st_mtime_ns for p in result.paths]
    index_bytes = feature_index_path(ds, "speed_clf__pred").read_bytes()
    again = plan_prediction(ds, ("speed_clf", rid))
    assert again.tasks == [] and again.run() == result
    assert [p.stat().st_mtime_ns for p in result.paths] == mtimes
    assert feature_index_path(ds, "speed_clf__pred").read_bytes() == index_bytes


def test_predict_is_plan_then_run(synth, tmp_path):
    """The facade's predict and a plan run by hand write the same files and index rows."""
    ds, _ = synth
    rid = train_model(ds, "clf", FAST)
    copy = Dataset.open(shutil.copytree(ds.folder, tmp_path / "copy"))
    a = predict(ds, ("clf", rid), overwrite=True)
    b = plan_prediction(copy, ("clf", rid), overwrite=True).run()
    assert [p.relative_to(ds.folder) for p in a.paths] == [p.relative_to(copy.folder) for p in b.paths]
    for pa, pb in zip(a.paths, b.paths):
        pd.testing.assert_frame_equal(pd.read_parquet(pa), pd.read_parquet(pb))
    ia, ib = (read_feature_index(x, "clf__pred").drop(columns=["created_iso"]) for x in (ds, copy))
    pd.testing.assert_frame_equal(ia, ib)
