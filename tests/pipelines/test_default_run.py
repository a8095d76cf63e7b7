"""`kedro run` (default pipeline, fresh folder) writes what the facade writes, file by file.

The dataset is the tiny demo with one recording's raw tracks cut short, so its labels must take
their length from the converted tracks (not from the annotation export): a run that converted
labels before tracks would write longer label files than the facade, which converts tracks first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import mosaic.demo as demo
from mosaic import Dataset
from tests.conftest import PROJECT_DIR

CONF = PROJECT_DIR / "conf" / "base"
CUT = 1000  # rows kept of each raw file of group_0/group_0_seq0 (of 1800 frames)
#: index columns that record when a row was written
TIME_COLUMNS = {
    "created_iso",
    "created_at",
    "updated_at",
    "converted_at",
    "indexed_at",
    "finished_at",
    "mtime",
    "timestamp",
    "files_sha256",
}  # digests of a model run's files, whose config.json holds its creation time


def _params() -> dict:
    out = {}
    for p in sorted(CONF.glob("parameters*.yml")):
        out.update(yaml.safe_load(p.read_text()) or {})
    out["ingest"]["sources"] = out["ingest"].pop("default_sources")  # the demo has no sources.yml
    return out


def _cut_recording(folder: Path) -> None:
    for p in sorted((folder / "tracks_raw" / "trex" / "group_0").glob("group_0_seq0_fish*.npz")):
        with np.load(p) as z:
            d = {k: z[k] for k in z.files}
        n = len(d["frame"])
        np.savez(p, **{k: (v[:CUT] if v.ndim and v.shape[0] == n else v) for k, v in d.items()})


def _facade(folder: Path) -> None:
    from mosaic.features.plan import run_feature_plan
    from mosaic.pipelines.train.nodes import feature_inputs

    p = _params()
    ds = Dataset.open(folder)
    for src in p["ingest"]["sources"]:
        kwargs = {k: v for k, v in src.items() if k != "optional"}
        if src.get("optional") and not all((folder / d).is_dir() for d in kwargs["search_dirs"]):
            continue
        ds.index_tracks_raw(**kwargs)
    ds.index_media(**p["media_ingest"])
    c = p["convert"]
    ds.convert_all_tracks(
        params=c["params"],
        overwrite=c["overwrite"],
        merge_per_sequence=c["merge_per_sequence"],
        group_from=c["group_from"],
        on_error=c["on_error"],
    )
    lab = p["label"]
    ds.convert_all_labels(
        kind=lab["kind"], overwrite=lab["overwrite"], params=lab["params"], source_format=lab["source_format"]
    )
    summary = run_feature_plan(ds, p["featurize"])
    t = p["train"]
    config = dict(t["config"], features=feature_inputs(summary, t["features"]))
    run_id = ds.train_model(t["model"], config, overwrite=t["overwrite"])
    ds.predict((t["model"], run_id), overwrite=t["overwrite"])
    sf = dict(p["sample_frames"])
    n, method = sf.pop("n_frames"), sf.pop("method")
    sf.pop("fail_on_error")
    ds.extract_frames(n, method, **sf)


def _kedro(folder: Path) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_DIR)
    with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(folder)}) as session:
        session.run()


def _csv_rows(path: Path) -> list[dict]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return (
        df.drop(columns=[c for c in df.columns if c in TIME_COLUMNS])
        .sort_values(list(df.columns[:4]))
        .to_dict("records")
    )


def _same_file(a: Path, b: Path) -> None:
    if a.suffix == ".csv":
        assert _csv_rows(a) == _csv_rows(b), a
    elif a.suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b), obj=str(a))
    elif a.suffix == ".npz":
        with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
            assert sorted(za.files) == sorted(zb.files), a
            for k in za.files:
                assert np.array_equal(za[k], zb[k]), (a, k)
    elif a.suffix == ".png":
        import cv2

        assert np.array_equal(cv2.imread(str(a), cv2.IMREAD_UNCHANGED), cv2.imread(str(b), cv2.IMREAD_UNCHANGED)), a
    elif a.name == "metrics.json":
        assert json.loads(a.read_text()) == json.loads(b.read_text()), a


@pytest.mark.slow
def test_default_kedro_run_equals_the_facade(tmp_path):
    src = tmp_path / "src"
    demo.make_demo_dataset(src, size="tiny", seed=0)
    _cut_recording(src)
    fac, ked = tmp_path / "facade", tmp_path / "kedro"
    shutil.copytree(src, fac)
    shutil.copytree(src, ked)
    _facade(fac)
    _kedro(ked)

    # the labels of the cut recording end with its tracks
    idx = pd.read_csv(ked / "labels" / "behavior" / "index.csv")
    n_frames = int(idx.loc[idx["sequence"] == "group_0_seq0", "n_frames"].iloc[0])
    tracks = pd.read_parquet(ked / "tracks" / "group_0__group_0_seq0.parquet", columns=["frame"])
    assert n_frames == int(tracks["frame"].max()) + 1 < 1800
    with np.load(ked / "labels" / "behavior" / "group_0__group_0_seq0.npz") as labels:
        assert 0 < labels["frames"].max() < n_frames

    for root in ("tracks", "labels", "features", "frames", "models/behavior_clf"):
        fa = {
            p.relative_to(fac).as_posix() for p in (fac / root).rglob("*") if p.is_file() and not p.name.startswith(".")
        }
        fk = {
            p.relative_to(ked).as_posix() for p in (ked / root).rglob("*") if p.is_file() and not p.name.startswith(".")
        }
        fk = {f for f in fk if "/_pipeline/" not in f and not f.endswith("featurize_results.json")}
        assert fa == fk, (root, sorted(fa ^ fk)[:10])
        for rel in sorted(fa):
            _same_file(fac / rel, ked / rel)


@pytest.mark.slow
def test_ingest_convert_label_write_the_same_folder_under_every_runner(tmp_path):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.runner import ParallelRunner, SequentialRunner, ThreadRunner

    src = tmp_path / "src"
    demo.make_demo_dataset(src, size="tiny", seed=0, videos=False)
    _cut_recording(src)
    bootstrap_project(PROJECT_DIR)
    folders = {}
    for runner in (SequentialRunner, ThreadRunner, ParallelRunner):
        folder = shutil.copytree(src, tmp_path / runner.__name__)
        with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(folder)}) as session:
            session.run(pipeline_names=["ingest", "convert", "label"], runner=runner())
        folders[runner.__name__] = folder
    ref = folders.pop("SequentialRunner")
    files = sorted(
        p.relative_to(ref).as_posix()
        for root in ("tracks_raw", "tracks", "labels", "media", "reporting")
        for p in (ref / root).rglob("*")
        if p.is_file()
    )
    assert any(f.startswith("labels/behavior/") and f.endswith(".npz") for f in files)
    for name, folder in folders.items():
        got = sorted(
            p.relative_to(folder).as_posix()
            for root in ("tracks_raw", "tracks", "labels", "media", "reporting")
            for p in (folder / root).rglob("*")
            if p.is_file()
        )
        assert got == files, name
        for rel in files:
            if rel.endswith((".npz", ".parquet", ".csv")):
                _same_file(ref / rel, folder / rel)


@pytest.mark.slow
def test_the_default_pipeline_writes_the_same_folder_under_every_runner(tmp_path):
    """`kedro run` with -r SequentialRunner / ThreadRunner / ParallelRunner: identical dataset folders."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.runner import ParallelRunner, SequentialRunner, ThreadRunner

    src = tmp_path / "src"
    demo.make_demo_dataset(src, size="tiny", seed=0)
    bootstrap_project(PROJECT_DIR)
    folders = {}
    for runner in (SequentialRunner, ThreadRunner, ParallelRunner):
        folder = shutil.copytree(src, tmp_path / runner.__name__)
        with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(folder)}) as session:
            session.run(runner=runner())
        folders[runner.__name__] = folder
    ref = folders.pop("SequentialRunner")
    roots = ("tracks", "labels", "features", "frames", "models", "media")

    def files(folder: Path) -> list[str]:
        return sorted(
            p.relative_to(folder).as_posix()
            for r in roots
            for p in (folder / r).rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    expected = files(ref)
    assert any(f.startswith("models/behavior_clf/") for f in expected) and any(f.endswith(".png") for f in expected)
    for name, folder in folders.items():
        assert files(folder) == expected, name
        for rel in expected:
            if rel.endswith((".npz", ".parquet", ".csv", ".png")) or rel.endswith("metrics.json"):
                _same_file(ref / rel, folder / rel)
