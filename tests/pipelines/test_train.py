"""The `train` pipeline: nodes called directly, and the pipeline run with SequentialRunner on a dict catalog."""

from __future__ import annotations

import json

import pytest

from mosaic import Dataset
from mosaic.core.errors import ConfigError
from mosaic.core.executor import ExecutorConfig
from tests.models.synth import make_synthetic

CONFIG = {"cv_folds": 2, "estimator_params": {"max_iter": 20}, "max_ethograms": 2, "min_bout": 3}
FEATURE_RESULTS = {
    "results": [
        {"key": "speed", "feature": "speed", "run_id": "run0001"},
        {"key": "pair", "feature": "pair", "run_id": "run0001"},
    ]
}


def _views(ds) -> tuple:
    """``features@store``, ``labels_index@store`` and ``model_store`` of ``ds``, loaded as the catalog loads them."""
    from mosaic.datasets.stores import FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset

    return tuple(cls(path=str(ds.folder)).load() for cls in (FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset))


@pytest.fixture
def synth_ds(tmp_path):
    ds = Dataset.create(tmp_path / "ds", name="synth")
    make_synthetic(ds, n_groups=2, n_sequences=1, T=150, seed=9)
    return ds


def test_feature_inputs_from_featurize_summary():
    from mosaic.pipelines.train.nodes import feature_inputs

    assert feature_inputs(FEATURE_RESULTS) == [
        {"feature": "speed", "run_id": "run0001", "as": "speed"},
        {"feature": "pair", "run_id": "run0001", "as": "pair"},
    ]
    assert feature_inputs(FEATURE_RESULTS, ["pair", "other@x"]) == [
        {"feature": "pair", "run_id": "run0001", "as": "pair"},
        "other@x",
    ]
    with pytest.raises(ConfigError, match="featurize summary"):
        feature_inputs({"results": []})


def test_nodes_train_and_predict(synth_ds, tmp_path):
    from matplotlib.figure import Figure

    from mosaic.datasets.models import ModelRunDataset, PredictionRunDataset
    from mosaic.features.engine import feature_root, load_feature
    from mosaic.models import FittedRun, PredictionRun, StoredRun
    from mosaic.pipelines.train.nodes import predict_behaviors, report_model_run, train_behavior_model

    params = {"model": "clf", "config": CONFIG}
    features, labels, models = _views(synth_ds)
    fitted = train_behavior_model(params, FEATURE_RESULTS, features, labels, models)
    # the node trains and returns data: nothing is written until the dataset stores it
    assert isinstance(fitted, FittedRun) and not fitted.existing and fitted.metrics["macro_f1"] >= 0.85
    assert not synth_ds.get_root("models").exists() or not any(synth_ds.get_root("models").iterdir())
    store = ModelRunDataset(filepath=str(tmp_path / "run.json"), dataset_dir=str(synth_ds.folder))
    store.save(fitted)
    pointer = json.loads((tmp_path / "run.json").read_text())
    assert pointer["path"] == f"models/clf/{fitted.run_id}" and pointer["run_id"] == fitted.run_id
    stored = store.load()
    assert isinstance(stored, StoredRun) and (stored.model, stored.run_id) == ("clf", fitted.run_id)
    bundle, metrics, cm, ethos = report_model_run(stored)
    assert bundle["kind"] == "classifier" and bundle["columns"][0] == "speed.speed"
    assert metrics["macro_f1"] == fitted.metrics["macro_f1"] and metrics["evaluation"] == "cv"
    assert isinstance(cm, Figure) and len(ethos) == 2 and all(k.endswith(".png") for k in ethos)
    # the same writer as the facade: the run is in models/index.csv and a rerun trains nothing
    assert Dataset.open(synth_ds.folder).list_models()["run_id"].tolist() == [fitted.run_id]
    again = train_behavior_model(params, FEATURE_RESULTS, *_views(synth_ds))
    assert again.existing and again.run_id == fitted.run_id and again.bundle is None
    planned = predict_behaviors(params, stored, features)
    # the node plans: paths and parameters, nothing written yet
    assert isinstance(planned, PredictionRun) and len(planned.tasks) == 2
    assert planned.config == ExecutorConfig()  # train.parallel_* absent: serial
    on_threads = predict_behaviors(dict(params, parallel_mode="thread", parallel_workers=2), stored, features)
    assert on_threads.config == ExecutorConfig("thread", 2)
    assert not feature_root(synth_ds, "clf__pred").exists()
    out = PredictionRunDataset(filepath=str(tmp_path / "pred.json"), dataset_dir=str(synth_ds.folder))
    out.save(planned)
    pred = out.load()
    assert pred["feature"] == "clf__pred" and len(pred["paths"]) == 2
    assert len(load_feature(synth_ds, "clf__pred")) == 2 * 150 * 3
    assert predict_behaviors(dict(params, predict=False), stored, features) == {
        "feature": None,
        "run_id": None,
        "paths": [],
    }
    with pytest.raises(ConfigError, match="unknown keys"):
        train_behavior_model({"model": "clf", "modle": 1}, FEATURE_RESULTS, features, labels, models)


def test_the_kedro_door_stores_the_files_the_facade_stores(tmp_path):
    """fit (node) + ModelRunDataset.save == Dataset.train_model, file by file (times aside)."""
    import shutil

    import numpy as np
    import pandas as pd

    from mosaic.datasets.models import ModelRunDataset
    from mosaic.pipelines.train.nodes import train_behavior_model

    a = Dataset.create(tmp_path / "a", name="synth")
    make_synthetic(a, n_groups=2, n_sequences=1, T=150, seed=9)
    b = Dataset.open(shutil.copytree(a.folder, tmp_path / "b"))
    params = {"model": "clf", "config": CONFIG}
    rid = a.train_model("clf", dict(CONFIG, features=["speed@run0001", "pair@run0001"]))
    ModelRunDataset(filepath=str(tmp_path / "run.json"), dataset_dir=str(b.folder)).save(
        train_behavior_model(dict(params, features=["speed@run0001", "pair@run0001"]), FEATURE_RESULTS, *_views(b))
    )
    ra, rb = a.get_root("models") / "clf" / rid, b.get_root("models") / "clf" / rid
    files = sorted(p.relative_to(ra).as_posix() for p in ra.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(rb).as_posix() for p in rb.rglob("*") if p.is_file())
    assert (
        "metrics.json" in files
        and any(f.startswith("predictions/") for f in files)
        and any(f.startswith("plots/") for f in files)
    )
    assert json.loads((ra / "metrics.json").read_text()) == json.loads((rb / "metrics.json").read_text())
    ca, cb = (json.loads((r / "config.json").read_text()) for r in (ra, rb))
    assert {k: v for k, v in ca.items() if k != "created_iso"} == {k: v for k, v in cb.items() if k != "created_iso"}
    for f in files:
        if f.endswith(".parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(ra / f), pd.read_parquet(rb / f))
    # config.json holds the creation time, so the digests of the run's files differ with it
    ia, ib = (
        pd.read_csv(r.parent.parent / "index.csv").drop(columns=["created_iso", "files_sha256"]) for r in (ra, rb)
    )
    pd.testing.assert_frame_equal(ia, ib)
    assert np.isfinite(ia["macro_f1"]).all()


def test_pipeline_runs_on_a_dict_catalog(synth_ds):
    from kedro.io import DataCatalog, MemoryDataset
    from kedro.runner import SequentialRunner

    from mosaic.datasets.models import ModelRunDataset, PredictionRunDataset
    from mosaic.datasets.stores import FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset
    from mosaic.pipelines.train import create_pipeline

    folder = str(synth_ds.folder)
    catalog = DataCatalog(
        {
            "params:train": MemoryDataset({"model": "clf", "features": "all", "config": CONFIG, "predict": True}),
            "features@runs": MemoryDataset(FEATURE_RESULTS),
            "features@store": FeatureStoreDataset(path=folder),
            "labels_index@store": LabelStoreDataset(path=folder),
            "model_store": ModelStoreDataset(path=folder),
            "model_run": ModelRunDataset(filepath=str(synth_ds.folder / "run.json"), dataset_dir=folder),
            "behavior_predictions": PredictionRunDataset(
                filepath=str(synth_ds.folder / "pred.json"), dataset_dir=folder
            ),
        }
    )
    pipe = create_pipeline()
    assert {n.name for n in pipe.nodes} == {"train_model", "report_model_run", "predict_behaviors"}
    # no node of the pipeline reads the dataset folder itself: features, labels and models come as views
    assert pipe.inputs() == {"params:train", "features@runs", "features@store", "labels_index@store", "model_store"}
    out = SequentialRunner().run(pipe, catalog)
    metrics = out["model_metrics"].load()
    assert metrics["macro_f1"] >= 0.85
    assert catalog.load("behavior_predictions")["feature"] == "clf__pred"


def test_catalog_declares_the_pipeline_outputs():
    import yaml

    from tests.conftest import PROJECT_DIR

    cat = yaml.safe_load((PROJECT_DIR / "conf" / "base" / "catalog_models.yml").read_text())
    from mosaic.pipelines.train import create_pipeline

    outs = create_pipeline().outputs()
    assert outs <= set(cat)
    assert cat["trained_model"]["type"] == "mosaic.datasets.atomic.AtomicPickleDataset"
    assert cat["confusion_matrix_plot"]["type"] == "mosaic.datasets.atomic.AtomicMatplotlibDataset"
    params = yaml.safe_load((PROJECT_DIR / "conf" / "base" / "parameters_train.yml").read_text())["train"]
    from mosaic.models import resolve_config

    resolve_config({**params["config"], "features": ["x"]})  # the shipped config is valid
    assert json.dumps(params)


def test_kedro_session_runs_train_pipeline_with_catalog_datasets(synth_ds):
    """`kedro run --pipelines train` on a dataset whose features and labels exist: catalog outputs land on disk."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from mosaic.core.atomic import atomic_write_json
    from tests.conftest import PROJECT_DIR

    atomic_write_json(synth_ds.get_root("features") / "featurize_results.json", FEATURE_RESULTS)
    bootstrap_project(PROJECT_DIR)
    with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(synth_ds.folder)}) as session:
        session.run(pipeline_names=["train"])
    out = synth_ds.get_root("models") / "_pipeline"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["macro_f1"] >= 0.85
    assert (out / "model.pkl").exists() and (out / "confusion_matrix.png").exists()
    assert len(list((out / "ethograms").glob("ethogram__*.png"))) == 2
    run = json.loads((out / "run.json").read_text())
    assert (synth_ds.folder / run["path"] / "model.joblib").exists()
    assert json.loads((out / "predictions.json").read_text())["feature"] == "behavior_clf__pred"


def test_clustering_through_the_catalog_writes_what_the_facade_writes(tmp_path):
    """kmeans: the pipeline (views in, planned prediction out) and Dataset.train_model give the same files."""
    import shutil

    import pandas as pd
    from kedro.io import DataCatalog, MemoryDataset
    from kedro.runner import SequentialRunner

    from mosaic.datasets.models import ModelRunDataset, PredictionRunDataset
    from mosaic.datasets.stores import FeatureStoreDataset, LabelStoreDataset, ModelStoreDataset
    from mosaic.features.engine import feature_root, read_feature_index
    from mosaic.pipelines.train import create_pipeline

    a = Dataset.create(tmp_path / "a", name="synth")
    make_synthetic(a, n_groups=2, n_sequences=1, T=120, seed=2)
    b = Dataset.open(shutil.copytree(a.folder, tmp_path / "b"))
    config = {"kind": "kmeans", "n_clusters": 3, "features": ["speed@run0001"]}
    rid = a.train_model("km", config)  # the facade writes the cluster assignments right away
    folder = str(b.folder)
    catalog = DataCatalog(
        {
            "params:train": MemoryDataset({"model": "km", "features": ["speed@run0001"], "config": config}),
            "features@runs": MemoryDataset(FEATURE_RESULTS),
            "features@store": FeatureStoreDataset(path=folder),
            "labels_index@store": LabelStoreDataset(path=folder),
            "model_store": ModelStoreDataset(path=folder),
            "model_run": ModelRunDataset(filepath=str(tmp_path / "run.json"), dataset_dir=folder),
            "behavior_predictions": PredictionRunDataset(filepath=str(tmp_path / "pred.json"), dataset_dir=folder),
        }
    )
    out = SequentialRunner().run(create_pipeline(), catalog)
    assert out["model_metrics"].load()["kind"] == "kmeans" and out["prediction_ethogram_plots"].load() == {}
    assert catalog.load("behavior_predictions")["run_id"] == rid
    fa, fb = (sorted(feature_root(x, "km__pred").rglob("*.parquet")) for x in (a, b))
    assert [p.relative_to(a.folder) for p in fa] == [p.relative_to(b.folder) for p in fb] and len(fa) == 2
    for pa, pb in zip(fa, fb):
        pd.testing.assert_frame_equal(pd.read_parquet(pa), pd.read_parquet(pb))
        assert set(pd.read_parquet(pa)["cluster"]) <= {0, 1, 2}
    ia, ib = (read_feature_index(x, "km__pred").drop(columns=["created_iso"]) for x in (a, b))
    pd.testing.assert_frame_equal(ia, ib)
