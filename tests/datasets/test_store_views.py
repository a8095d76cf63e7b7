"""Read-only catalog views of feature runs, labels and stored model runs, and the model run / prediction datasets."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from kedro.io.core import DatasetError

from mosaic import Dataset
from mosaic.core.errors import FeatureError, ModelError
from mosaic.datasets.models import ModelRunDataset, PredictionRunDataset
from mosaic.datasets.stores import FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset
from mosaic.features.store import FeatureStore
from mosaic.labels.store import LabelStore
from mosaic.models.store import ModelStore
from tests.models.synth import BEHAVIORS, make_synthetic, write_feature

FAST = {"features": ["speed"], "cv_folds": 2, "estimator_params": {"max_iter": 20}, "plots": False, "min_bout": 1}


@pytest.fixture
def synth(tmp_path):
    ds = Dataset.create(tmp_path / "ds", name="synth")
    keys = make_synthetic(ds, n_groups=2, n_sequences=1, T=90, seed=4)
    return ds, keys


def test_feature_view_resolves_run_ids_and_latest_to_lazy_loaders(synth):
    ds, keys = synth
    view = FeatureStoreDataset(path=str(ds.folder)).load()
    assert isinstance(view, FeatureStore) and view.ds.folder == ds.folder
    # a second run of `speed`, written later: 'latest' and None resolve to it, run0001 stays addressable
    later = {k: pd.read_parquet(p).assign(speed=-1.0) for k, p in view.run("speed", "run0001").files.items()}
    write_feature(ds, "speed", later, run_id="run0002")
    assert view.run("speed", "latest").run_id == view.run("speed").run_id == "run0002"
    first = view.loaders("speed", "run0001")
    assert sorted(first) == sorted(keys)
    for (g, s), load in first.items():
        path = ds.get_root("features") / "speed" / "run0001" / f"{g}__{s}.parquet"
        pd.testing.assert_frame_equal(load(), pd.read_parquet(path))
    assert all((load()["speed"] == -1.0).all() for load in view.loaders("speed").values())
    # only the asked columns; an absent column is a named error when the recording is read
    assert list(view.loaders("speed", "run0001", columns=["frame"])[keys[0]]().columns) == ["frame"]
    with pytest.raises(FeatureError, match="lacks requested columns"):
        view.loaders("speed", "run0001", columns=["nope"])[keys[0]]()


def test_feature_view_names_a_missing_run_or_file(synth):
    ds, keys = synth
    view = FeatureStore(ds)
    with pytest.raises(FeatureError, match="not found") as exc:
        view.run("speed", "run9999")
    assert "features/speed/index.csv" in str(exc.value)
    with pytest.raises(FeatureError, match="has no run"):
        view.run("never_ran")
    loaders = view.loaders("speed")
    (ds.get_root("features") / "speed" / "run0001" / f"{keys[0][0]}__{keys[0][1]}.parquet").unlink()
    with pytest.raises(FeatureError, match="listed in the index is missing") as exc:
        loaders[keys[0]]()
    assert exc.value.group == keys[0][0] and exc.value.sequence == keys[0][1]


def test_label_view_gives_keys_fingerprint_vocabulary_and_lazy_reads(synth):
    from mosaic.core.run_ids import file_fingerprint
    from mosaic.labels.io import read_label_npz

    ds, keys = synth
    view = LabelStoreDataset(path=str(ds.folder)).load()
    assert isinstance(view, LabelStore) and view.kinds() == ["behavior"]
    files = view.files("behavior")
    assert sorted(files) == sorted(keys)
    index = ds.get_root("labels") / "behavior" / "index.csv"
    assert view.fingerprint("behavior") == file_fingerprint(index)
    assert view.vocabulary("behavior") == dict(enumerate(BEHAVIORS))
    loaders = view.loaders("behavior")
    for key, load in loaders.items():
        got, want = load(), read_label_npz(files[key])
        for k in ("frames", "labels", "individual_ids"):
            assert np.array_equal(got[k], want[k]), (key, k)
        assert (got["group"], got["sequence"]) == key
    assert view.files("other_kind") == {} and view.loaders("other_kind") == {}
    # labelling another recording changes the fingerprint
    before = view.fingerprint("behavior")
    make_synthetic(ds, n_groups=3, n_sequences=1, T=80, seed=5)
    assert view.fingerprint("behavior") != before


def test_model_view_and_stored_run(synth, tmp_path):
    from mosaic.models import fit_model

    ds, _ = synth
    view = ModelStoreDataset(path=str(ds.folder)).load()
    assert isinstance(view, ModelStore)
    fitted = fit_model(ds, "clf", FAST)
    assert not view.is_complete("clf", fitted.run_id)
    with pytest.raises(ModelError, match="no trained run"):
        view.run("clf")
    pointer = ModelRunDataset(filepath=str(tmp_path / "run.json"), dataset_dir=str(ds.folder))
    pointer.save(fitted)
    assert view.is_complete("clf", fitted.run_id)
    stored = pointer.load()
    assert (stored.model, stored.run_id) == ("clf", fitted.run_id) and stored.is_complete()
    run = stored.load()
    assert (
        run["metrics"] == json.loads(json.dumps(fitted.metrics))
        and run["bundle"]["columns"] == fitted.bundle["columns"]
    )
    pd.testing.assert_frame_equal(
        stored.predictions().sort_values(["group", "sequence", "frame", "id"]).reset_index(drop=True),
        fitted.predictions.sort_values(["group", "sequence", "frame", "id"]).reset_index(drop=True),
        check_dtype=False,
    )
    # a pointer naming a run the index does not list: the models error, named (Kedro wraps it on load)
    (tmp_path / "bad.json").write_text(json.dumps({"model": "clf", "run_id": "deadbeef"}))
    with pytest.raises(DatasetError, match="has no run 'deadbeef'") as exc:
        ModelRunDataset(filepath=str(tmp_path / "bad.json"), dataset_dir=str(ds.folder)).load()
    assert isinstance(exc.value.__cause__, ModelError) and "models/index.csv" in str(exc.value.__cause__)
    with pytest.raises(DatasetError, match="run the train pipeline first"):
        ModelRunDataset(filepath=str(tmp_path / "none.json"), dataset_dir=str(ds.folder)).load()


@pytest.mark.parametrize("cls", [FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset])
def test_views_are_read_only_and_pickle(synth, cls):
    ds, _ = synth
    entry = cls(path=str(ds.folder))
    before = sorted(p.relative_to(ds.folder) for p in ds.folder.rglob("*"))
    with pytest.raises(DatasetError, match="read-only catalog view"):
        entry.save({"anything": 1})
    assert sorted(p.relative_to(ds.folder) for p in ds.folder.rglob("*")) == before
    assert entry.exists() and entry._describe()["path"] == str(ds.folder)
    # ParallelRunner ships datasets and what they load to worker processes
    assert pickle.loads(pickle.dumps(entry))._describe() == entry._describe()
    assert pickle.loads(pickle.dumps(entry.load())).ds.folder == ds.folder


def test_prediction_dataset_runs_a_plan_of_its_own_folder_only(synth, tmp_path):
    import shutil

    from mosaic.features.engine import feature_root
    from mosaic.models import plan_prediction, train_model

    ds, keys = synth
    rid = train_model(ds, "clf", FAST)
    other = Dataset.open(shutil.copytree(ds.folder, tmp_path / "other"))
    entry = PredictionRunDataset(filepath=str(tmp_path / "pred.json"), dataset_dir=str(other.folder))
    with pytest.raises(DatasetError, match="same dataset folder"):
        entry.save(plan_prediction(ds, ("clf", rid)))
    assert not feature_root(ds, "clf__pred").exists() and not feature_root(other, "clf__pred").exists()
    entry.save(plan_prediction(other, ("clf", rid)))
    summary = entry.load()
    folder = feature_root(other, "clf__pred").relative_to(other.folder).as_posix()
    assert summary == {
        "feature": "clf__pred",
        "run_id": rid,
        "paths": [f"{folder}/{rid}/{g}__{s}.parquet" for g, s in sorted(keys)],
    }
    assert all((other.folder / p).is_file() for p in summary["paths"])
