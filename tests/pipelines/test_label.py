"""The `label` pipeline: node, SequentialRunner on a dict catalog, and a KedroSession on the demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mosaic.demo as demo
from mosaic.labels import load_labels, read_labels_index

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("labeldemo") / "ds"
    demo.make_demo_dataset(folder, size="tiny", seed=0, videos=False)
    return folder


def _params():
    import yaml

    return yaml.safe_load((PROJECT / "conf" / "base" / "parameters_label.yml").read_text())["label"]


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _no_index() -> pd.DataFrame:
    return pd.DataFrame(columns=["group", "sequence", "n_frames", "frame_max"])


def test_node_plans_the_same_as_the_facade(demo_folder, tmp_path):
    from mosaic import Dataset
    from mosaic.labels import LabelConversionBatch
    from mosaic.pipelines.label.nodes import convert_labels

    folder = _copy(demo_folder, tmp_path / "a")
    exports = sorted((folder / "annotations" / "boris_aggregated").iterdir())
    batch, same, report_batch = convert_labels(_no_index(), _no_index(), Dataset.open(folder), _params())
    assert isinstance(batch, LabelConversionBatch) and same is batch and report_batch is batch
    # one task per annotation file, carrying paths and parameters only; the node wrote nothing
    assert [t.files for t in batch.tasks] == [(f"annotations/boris_aggregated/{p.name}",) for p in exports]
    assert not [p for p in (folder / "labels").rglob("*") if p.is_file()]
    rep = batch.run()
    seqs = pd.read_csv(folder / "ground_truth" / "sequences.csv")
    assert sorted(s for _, s in rep.written) == sorted(seqs["sequence"]) and rep.issues == []
    assert load_labels(Dataset.open(folder), *rep.written[0])["label_names"].tolist() == list(demo.BEHAVIORS)
    assert batch.run() is rep  # run once
    # the facade on a copy converts the same recordings
    ds = Dataset.open(_copy(demo_folder, tmp_path / "b"))
    p = _params()
    rep_f = ds.convert_all_labels(kind=p["kind"], params=p["params"], source_format=p["source_format"])
    assert sorted(rep_f.written) == sorted(rep.written)


def _catalog(folder: Path):
    from kedro.io import DataCatalog, MemoryDataset

    from mosaic import Dataset
    from mosaic.datasets.npz_labels import LabelsIndexDataset, LabelsPartitionsDataset, LabelsReportDataset

    root = folder / "labels" / "behavior"
    catalog = DataCatalog(
        {
            "tracks@index": MemoryDataset(_no_index()),
            "media_index@table": MemoryDataset(_no_index()),
            "dataset": MemoryDataset(Dataset.open(folder), copy_mode="assign"),
            "labels": LabelsPartitionsDataset(path=str(root)),
            "labels_index@csv": LabelsIndexDataset(filepath=str(root / "index.csv"), dataset_dir=str(folder)),
            "labels_conversion_report": LabelsReportDataset(filepath=str(root / "conversion_report.json")),
        }
    )
    catalog["params:label"] = _params()
    return catalog


def _same_as_facade(folder: Path, facade_folder: Path) -> None:
    from mosaic import Dataset

    ds_k, ds_f = Dataset.open(folder), Dataset.open(facade_folder)
    p = _params()
    ds_f.convert_all_labels(kind=p["kind"], params=p["params"], source_format=p["source_format"])
    idx_k, idx_f = read_labels_index(ds_k, "behavior"), read_labels_index(ds_f, "behavior")
    pd.testing.assert_frame_equal(idx_k.drop(columns="source_fingerprints"), idx_f.drop(columns="source_fingerprints"))
    assert len(idx_k) > 0
    for g, s in zip(idx_k["group"], idx_k["sequence"]):
        a, b = load_labels(ds_k, g, s), load_labels(ds_f, g, s)
        for k in ("frames", "labels", "individual_ids", "label_ids", "label_names"):
            assert np.array_equal(a[k], b[k]), k
        assert (a["fps"], a["group"], a["sequence"]) == (b["fps"], b["group"], b["sequence"])


def test_pipeline_with_sequential_runner_writes_what_the_facade_writes(demo_folder, tmp_path):
    from kedro.runner import SequentialRunner

    from mosaic.pipelines.label import create_pipeline

    folder = _copy(demo_folder, tmp_path / "k")
    root = folder / "labels" / "behavior"
    catalog = _catalog(folder)
    SequentialRunner().run(create_pipeline(), catalog)
    _same_as_facade(folder, _copy(demo_folder, tmp_path / "f"))
    # loading the partitions back gives the label dicts
    loaded = catalog.load("labels")
    assert sorted(loaded) == sorted(p.stem for p in root.glob("*.npz"))
    assert loaded[min(loaded)]()["label_format"] == "individual_pair_v1"
    # a second run converts nothing (already indexed) and keeps the files
    before = {q.name: q.read_bytes() for q in root.glob("*.npz")}
    SequentialRunner().run(create_pipeline(), catalog)
    assert {q.name: q.read_bytes() for q in root.glob("*.npz")} == before
    report = catalog.load("labels_conversion_report")
    assert report["written"] == [] and len(report["skipped"]) == len(before)


def test_parallel_runner_with_a_thread_pool_writes_what_the_facade_writes(demo_folder, tmp_path, monkeypatch):
    """ParallelRunner runs the node and its saves in a child process, which converts on a thread pool."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.runner import ParallelRunner

    folder = _copy(demo_folder, tmp_path / "p")
    monkeypatch.chdir(PROJECT)
    bootstrap_project(PROJECT)
    params = {"dataset_dir": str(folder), "label": {"parallel_mode": "thread", "parallel_workers": 2}}
    with KedroSession.create(project_path=PROJECT, runtime_params=params) as session:
        session.run(pipeline_names=["label"], runner=ParallelRunner(max_workers=2))
    _same_as_facade(folder, _copy(demo_folder, tmp_path / "f"))


def test_labels_index_save_removes_the_labels_of_gone_recordings(demo_folder, tmp_path):
    from kedro.io.core import DatasetError

    from mosaic import Dataset
    from mosaic.datasets.npz_labels import LabelsIndexDataset

    folder = _copy(demo_folder, tmp_path / "r")
    ds = Dataset.open(folder)
    p = _params()
    ds.convert_all_labels(kind=p["kind"], params=p["params"], source_format=p["source_format"])
    idx = read_labels_index(ds, "behavior")
    gone, kept = idx.iloc[0], idx.iloc[1:]
    gone_file = ds.resolve_path(gone["abs_path"])
    root = folder / "labels" / "behavior"
    store = LabelsIndexDataset(filepath=str(root / "index.csv"), dataset_dir=str(folder))
    update = {"kind": "behavior", "rows": idx.iloc[:0], "removed": [[gone["group"], gone["sequence"]]]}
    with pytest.raises(DatasetError, match="kind 'other'"):
        store.save({**update, "kind": "other"})
    with pytest.raises(DatasetError, match="needs dataset_dir"):
        LabelsIndexDataset(filepath=str(root / "index.csv")).save(update)
    assert gone_file.exists() and len(read_labels_index(ds, "behavior")) == len(idx)  # refused: nothing removed
    store.save(update)
    assert not gone_file.exists()
    after = read_labels_index(ds, "behavior")
    assert sorted(zip(after["group"], after["sequence"])) == sorted(zip(kept["group"], kept["sequence"]))
    assert all(ds.resolve_path(a).exists() for a in after["abs_path"])


def test_missing_annotations_are_skipped_or_refused(tmp_path):
    from mosaic import Dataset
    from mosaic.core.errors import ConfigError
    from mosaic.pipelines.label.nodes import convert_labels

    ds = Dataset.create(tmp_path / "empty", name="e")
    batch, _, _ = convert_labels(_no_index(), _no_index(), ds, _params())
    assert batch.tasks == []
    rep = batch.run()  # nothing converted, nothing removed; the report says so
    assert (
        rep.written == []
        and rep.removed == []
        and not (tmp_path / "empty" / "labels" / "behavior" / "index.csv").exists()
    )
    with pytest.raises(ConfigError, match="annotation path not found"):
        convert_labels(_no_index(), _no_index(), ds, {**_params(), "if_missing": "error"})
    with pytest.raises(ConfigError, match="unknown keys"):
        convert_labels(_no_index(), _no_index(), ds, {**_params(), "kinds": "x"})
    with pytest.raises(ConfigError, match="parallel_mode"):
        convert_labels(_no_index(), _no_index(), ds, {**_params(), "if_missing": "error", "parallel_mode": "gpu"})


def test_kedro_session_run_on_the_demo(demo_folder, tmp_path, monkeypatch):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    folder = _copy(demo_folder, tmp_path / "s")
    monkeypatch.chdir(PROJECT)
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT, runtime_params={"dataset_dir": str(folder)}) as session:
        session.run(pipeline_names=["label"])
    idx = pd.read_csv(folder / "labels" / "behavior" / "index.csv")
    seqs = pd.read_csv(folder / "ground_truth" / "sequences.csv")
    assert sorted(idx["sequence"]) == sorted(seqs["sequence"])
    assert (folder / "labels" / "behavior" / "conversion_report.json").exists()
