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
    from mosaic.pipelines.label.nodes import convert_labels

    folder = _copy(demo_folder, tmp_path / "a")
    parts, update, report = convert_labels(_no_index(), _no_index(), Dataset.open(folder), _params())
    rows = update["rows"]
    assert update["kind"] == "behavior" and update["removed"] == []
    seqs = pd.read_csv(folder / "ground_truth" / "sequences.csv")
    assert len(parts) == len(seqs) and report["issues"] == []
    assert sorted(rows["sequence"]) == sorted(seqs["sequence"])
    assert set(parts) == {Path(p).stem for p in rows["abs_path"]}
    ls = parts[rows["abs_path"].map(lambda p: Path(p).stem).iloc[0]]()
    assert ls.label_names.tolist() == list(demo.BEHAVIORS)
    # the facade on a copy converts the same recordings
    ds = Dataset.open(_copy(demo_folder, tmp_path / "b"))
    p = _params()
    rep = ds.convert_all_labels(kind=p["kind"], params=p["params"], source_format=p["source_format"])
    assert sorted(rep.written) == sorted(zip(rows["group"], rows["sequence"]))


def test_pipeline_with_sequential_runner_writes_what_the_facade_writes(demo_folder, tmp_path):
    from kedro.io import DataCatalog, MemoryDataset
    from kedro.runner import SequentialRunner
    from kedro_datasets.partitions import PartitionedDataset

    from mosaic import Dataset
    from mosaic.datasets.npz_labels import LabelsIndexDataset, NpzLabelsDataset
    from mosaic.pipelines.label import create_pipeline

    folder = _copy(demo_folder, tmp_path / "k")
    root = folder / "labels" / "behavior"
    catalog = DataCatalog(
        {
            "tracks@index": MemoryDataset(_no_index()),
            "media_index@table": MemoryDataset(_no_index()),
            "dataset": MemoryDataset(Dataset.open(folder), copy_mode="assign"),
            "labels": PartitionedDataset(path=str(root), dataset=NpzLabelsDataset, filename_suffix=".npz"),
            "labels_index@csv": LabelsIndexDataset(filepath=str(root / "index.csv"), dataset_dir=str(folder)),
            "labels_conversion_report": MemoryDataset(),
        }
    )
    catalog["params:label"] = _params()
    SequentialRunner().run(create_pipeline(), catalog)

    ds_k = Dataset.open(folder)
    ds_f = Dataset.open(_copy(demo_folder, tmp_path / "f"))
    p = _params()
    ds_f.convert_all_labels(kind=p["kind"], params=p["params"], source_format=p["source_format"])
    idx_k, idx_f = read_labels_index(ds_k, "behavior"), read_labels_index(ds_f, "behavior")
    pd.testing.assert_frame_equal(idx_k, idx_f)
    for g, s in zip(idx_k["group"], idx_k["sequence"]):
        a, b = load_labels(ds_k, g, s), load_labels(ds_f, g, s)
        for k in ("frames", "labels", "individual_ids", "label_ids", "label_names"):
            assert np.array_equal(a[k], b[k]), k
        assert (a["fps"], a["group"], a["sequence"]) == (b["fps"], b["group"], b["sequence"])
    # loading the partitions back gives the label dicts
    loaded = catalog.load("labels")
    key = min(loaded)
    assert loaded[key]()["label_format"] == "individual_pair_v1"
    # a second run converts nothing (already indexed) and keeps the files
    before = {q.name: q.read_bytes() for q in root.glob("*.npz")}
    SequentialRunner().run(create_pipeline(), catalog)
    assert {q.name: q.read_bytes() for q in root.glob("*.npz")} == before


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
    parts, update, _report = convert_labels(_no_index(), _no_index(), ds, _params())
    rows = update["rows"]
    assert (
        parts == {}
        and rows.empty
        and update["removed"] == []
        and list(rows.columns)[:3] == ["kind", "label_format", "group"]
    )
    with pytest.raises(ConfigError, match="annotation path not found"):
        convert_labels(_no_index(), _no_index(), ds, {**_params(), "if_missing": "error"})
    with pytest.raises(ConfigError, match="unknown keys"):
        convert_labels(_no_index(), _no_index(), ds, {**_params(), "kinds": "x"})


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
