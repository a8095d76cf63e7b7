"""The Kedro `ingest` + `convert` pipelines write the same files as the facade calls."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mosaic import Dataset
from mosaic.tracks import read_tracks, read_tracks_meta
from tests.conftest import PROJECT_DIR
from tests.tracks.synth import calms21_dict, write_calms21_npy, write_trex

CONF = PROJECT_DIR / "conf" / "base"


def _params() -> tuple[dict, dict]:
    ingest = yaml.safe_load((CONF / "parameters_ingest.yml").read_text())["ingest"]
    convert = yaml.safe_load((CONF / "parameters_convert.yml").read_text())["convert"]
    return ingest, convert


def _synthetic(folder: Path) -> Path:
    """A dataset in the demo layout: tracks_raw/trex/<group>/<video>_fish<k>.npz + tracks_raw/calms21/*.npy."""
    Dataset.create(folder, name="synthetic", meta={"fps_default": 30.0, "cm_per_pixel": 0.5})
    write_trex(folder / "tracks_raw" / "trex" / "group_0", "seq0", {0: (0, 40), 1: (5, 40)}, missing={0: [3, 4]}, seed=1)
    write_trex(folder / "tracks_raw" / "trex" / "group_1", "seq0", {0: (0, 20), 1: (0, 20), 2: (2, 9)}, seed=2)
    write_calms21_npy(folder / "tracks_raw" / "calms21" / "calms21_demo.npy", calms21_dict(2, 12))
    return folder


def _run_facade(folder: Path) -> None:
    ingest, convert = _params()
    ds = Dataset.open(folder)
    for src in ingest["sources"]:
        kwargs = {k: v for k, v in src.items() if k != "optional"}
        if src.get("optional") and not all((folder / d).is_dir() for d in kwargs["search_dirs"]):
            continue
        ds.index_tracks_raw(**kwargs)
    ds.convert_all_tracks(params=convert["params"], overwrite=convert["overwrite"], merge_per_sequence=convert["merge_per_sequence"],
                          group_from=convert["group_from"], on_error=convert["on_error"])


def _run_kedro_session(folder: Path) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_DIR)
    for name in ("ingest", "convert"):  # like `kedro run --pipelines ingest` then `--pipelines convert`
        with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(folder)}) as session:
            session.run(pipeline_names=[name])


def _assert_same_outputs(a: Path, b: Path) -> None:
    ta, tb = a / "tracks", b / "tracks"
    files_a = sorted(p.name for p in ta.iterdir() if p.suffix in (".parquet", ".csv"))
    files_b = sorted(p.name for p in tb.iterdir() if p.suffix in (".parquet", ".csv"))
    assert files_a == files_b and len(files_a) > 1
    for name in files_a:
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(read_tracks(ta / name), read_tracks(tb / name))
            assert read_tracks_meta(ta / name) == read_tracks_meta(tb / name)
    assert (ta / "index.csv").read_text() == (tb / "index.csv").read_text()
    assert (a / "tracks_raw" / "index.csv").read_text() == (b / "tracks_raw" / "index.csv").read_text()


def test_nodes_on_in_memory_catalog_match_facade(tmp_path):
    """Run both pipelines with SequentialRunner on a DataCatalog built from dicts."""
    from kedro.io import DataCatalog
    from kedro.io import MemoryDataset
    from kedro.runner import SequentialRunner

    from mosaic.pipelines.convert import create_pipeline as convert_pipeline
    from mosaic.pipelines.ingest import create_pipeline as ingest_pipeline

    src = _synthetic(tmp_path / "src")
    fac, ked = tmp_path / "facade", tmp_path / "kedro"
    shutil.copytree(src, fac)
    shutil.copytree(src, ked)
    _run_facade(fac)
    ingest, convert = _params()
    ds_mod = "mosaic.datasets.tracks_parquet"
    catalog = DataCatalog.from_config({
        "tracks_raw_index": {"type": f"{ds_mod}.TracksIndexDataset", "filepath": str(ked / "tracks_raw" / "index.csv"), "index": "tracks_raw"},
        "tracks": {"type": "partitions.PartitionedDataset", "path": str(ked / "tracks"), "filename_suffix": ".parquet",
                   "dataset": {"type": f"{ds_mod}.TracksParquetDataset"}},
        "tracks_index": {"type": f"{ds_mod}.TracksIndexDataset", "filepath": str(ked / "tracks" / "index.csv"), "index": "tracks"},
    })
    catalog["params:ingest"] = ingest
    catalog["params:convert"] = convert
    catalog["params:dataset_dir"] = str(ked)
    catalog["params:media_ingest"] = {"search_dirs": ["media_raw"], "on_error": "warn"}
    catalog["media_index_report"] = MemoryDataset()
    SequentialRunner().run(ingest_pipeline() + convert_pipeline(), catalog)
    _assert_same_outputs(fac, ked)
    loaded = catalog.load("tracks")  # lazily loaded partitions carry the metadata
    one = loaded["group_0__seq0"]()
    assert one.attrs["mosaic"]["fps"] == 25.0 and one.attrs["mosaic"]["src_format"] == "trex_npz"


def test_kedro_session_matches_facade(tmp_path):
    """`kedro run --pipelines ingest` then `convert` (through the project's conf/) == the facade."""
    src = _synthetic(tmp_path / "src")
    fac, ked = tmp_path / "facade", tmp_path / "kedro"
    shutil.copytree(src, fac)
    shutil.copytree(src, ked)
    _run_facade(fac)
    _run_kedro_session(ked)
    _assert_same_outputs(fac, ked)
    # a second run converts nothing and changes nothing (idempotent)
    before = {p.name: p.stat().st_mtime_ns for p in (ked / "tracks").glob("*.parquet")}
    _run_kedro_session(ked)
    assert before == {p.name: p.stat().st_mtime_ns for p in (ked / "tracks").glob("*.parquet")}


@pytest.mark.slow
def test_demo_dataset_kedro_matches_facade(tmp_path):
    import mosaic.demo as demo

    src = tmp_path / "demo"
    demo.make_demo_dataset(src, size="tiny", seed=0)
    fac, ked = tmp_path / "facade", tmp_path / "kedro"
    for d in (fac, ked):  # only what ingest/convert read (videos are not needed)
        Dataset.create(d, name="demo", meta=Dataset.open(src).meta)
        shutil.copytree(src / "tracks_raw", d / "tracks_raw", dirs_exist_ok=True)
    _run_facade(fac)
    _run_kedro_session(ked)
    _assert_same_outputs(fac, ked)
    idx = Dataset.open(ked).tracks_index()
    assert set(idx["src_format"]) == {"trex_npz", "calms21_npy"}
