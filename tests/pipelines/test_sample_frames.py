"""The Kedro `sample_frames` pipeline (and the media node of `ingest`) write what the facade writes."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.partitions import PartitionedDataset

from mosaic import Dataset
from mosaic.core.errors import BatchError, ConfigError
from mosaic.datasets.folder import IndexTableDataset
from mosaic.datasets.frames import FrameRunsDataset
from mosaic.datasets.media import MediaIndexReportDataset
from mosaic.media.index import read_media_index
from mosaic.pipelines.ingest.nodes import index_media_node
from mosaic.pipelines.ingest.pipeline import create_media_ingest_pipeline
from mosaic.pipelines.sample_frames.nodes import render_frames, select_frames
from mosaic.pipelines.sample_frames.pipeline import create_pipeline
from tests.conftest import PROJECT_DIR
from tests.media.videos import add_raw_sequences, scene_video, write_numbered

CONF = PROJECT_DIR / "conf" / "base"


def _conf_params() -> dict:
    conf = yaml.safe_load((CONF / "parameters_sample_frames.yml").read_text())
    conf.update(yaml.safe_load((CONF / "parameters_ingest.yml").read_text()))
    return conf


def _make(folder):
    ds = Dataset.create(folder, name="frames-pipeline")
    media = ds.get_root("media_raw")
    write_numbered(media / "g0" / "s0.mp4", 40)
    write_numbered(media / "g0" / "s1.avi", 30, "MJPG")
    scene_video(media / "g1" / "s2.mp4", 3, 15)
    add_raw_sequences(ds, [("g0", "s0"), ("g0", "s1"), ("g1", "s2")])
    return ds


def _catalog(ds) -> DataCatalog:
    cat = DataCatalog()
    cat["frame_images"] = PartitionedDataset(
        path=str(ds.get_root("frames")),
        dataset={"type": "mosaic.datasets.atomic.FramePngDataset"},
        filename_suffix=".png",
        overwrite=False,
    )
    cat["media_index@report"] = MediaIndexReportDataset(filepath=str(ds.get_root("media") / "index_report.json"))
    cat["media_index@table"] = IndexTableDataset(filepath=str(ds.get_root("media") / "index.csv"))
    cat["frame_runs"] = FrameRunsDataset(filepath=str(ds.get_root("frames") / "index.csv"), dataset_dir=str(ds.folder))
    return cat


def _run(ds, sample_frames: dict, media_ingest: dict) -> None:
    cat = _catalog(ds)
    cat["dataset"] = MemoryDataset(ds, copy_mode="assign")
    cat["params:sample_frames"] = MemoryDataset(sample_frames)
    cat["params:media_ingest"] = MemoryDataset(media_ingest)
    cat["tracks_raw_index"] = MemoryDataset(None)
    SequentialRunner().run(create_media_ingest_pipeline() + create_pipeline(), cat)


def _pngs(root):
    return {
        p.relative_to(root).as_posix(): cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(root.rglob("*.png"))
    }


@pytest.mark.parametrize("method", ["uniform", "kmeans"])
def test_pipeline_matches_facade(tmp_path, method):
    conf = _conf_params()
    params = dict(conf["sample_frames"], method=method, n_frames=3)
    a, b = _make(tmp_path / "a"), _make(tmp_path / "b")
    _run(a, params, conf["media_ingest"])
    # facade on the other copy, same parameters
    b.index_media(
        **{k: v for k, v in conf["media_ingest"].items() if k != "search_dirs"},
        search_dirs=conf["media_ingest"]["search_dirs"],
    )
    kwargs = {k: v for k, v in params.items() if k not in ("fail_on_error", "n_frames", "method")}
    rid = b.extract_frames(3, method, **kwargs)
    runs_a, runs_b = a.list_frame_runs(), b.list_frame_runs()
    assert list(runs_a["run_id"].unique()) == [rid]
    cols = ["method", "run_id", "group", "sequence", "frames_dir_path", "run_info_path", "n_frames"]
    key = ["group", "sequence"]
    ra = runs_a[cols].sort_values(key).reset_index(drop=True).astype(str)
    rb = runs_b[cols].sort_values(key).reset_index(drop=True).astype(str)
    assert ra.to_dict("records") == rb.to_dict("records")
    pa, pb = _pngs(a.get_root("frames")), _pngs(b.get_root("frames"))
    assert sorted(pa) == sorted(pb) and len(pa) == 9
    for k in pa:
        assert np.array_equal(pa[k], pb[k]), k
        # one PNG writer for both doors: the same bytes
        assert (a.get_root("frames") / k).read_bytes() == (b.get_root("frames") / k).read_bytes(), k
    ia = {m["sequence"]: m["frame_indices"] for m in a.get_frame_manifests(method)}
    ib = {m["sequence"]: m["frame_indices"] for m in b.get_frame_manifests(method)}
    assert ia == ib
    if method == "kmeans":
        assert sorted(i // 15 for i in ia["s2"]) == [0, 1, 2]  # one frame per scene
    report = json.loads((a.get_root("media") / "index_report.json").read_text())
    assert report["n_videos"] == 3 and report["n_matched"] == 3 and report["unreadable"] == {}


def test_pipeline_reuses_finished_runs_and_reports_failures(tmp_path):
    ds = _make(tmp_path / "d")
    conf = _conf_params()
    (ds.get_root("media_raw") / "g0" / "broken.mp4").write_bytes(b"junk" * 100)
    params = dict(conf["sample_frames"], n_frames=35)  # s0: 40 frames, s1: 30, s2: 45 → only s1 fails
    with pytest.raises(BatchError) as ei:
        _run(ds, params, conf["media_ingest"])
    assert list(ei.value.failures) == ["g0/s1"] and ei.value.failures["g0/s1"].startswith("NotEnoughFramesError")
    report = json.loads((ds.get_root("media") / "index_report.json").read_text())
    assert list(report["unreadable"]) == ["media_raw/g0/broken.mp4"]
    assert sorted(ds.list_frame_runs()["sequence"]) == ["s0", "s2"]  # the others completed and are indexed
    # a second run reuses the finished recordings: no new partitions are rendered
    sel = select_frames(read_media_index(ds, missing_ok=True), dict(params, fail_on_error=False), ds)
    assert [(s["sequence"], s["reused"]) for s in sel["selections"]] == [("s0", True), ("s2", True)]
    assert list(sel["failures"]) == ["g0/s1"]
    parts, summary = render_frames(sel)
    assert parts == {} and summary["n_partitions"] == 0


def test_partition_ids_and_lazy_images(tmp_path):
    ds = _make(tmp_path / "d")
    index_media_node({"search_dirs": ["media_raw"]}, ds).write()
    sel = select_frames(read_media_index(ds, missing_ok=True), {"n_frames": 2, "sequences": ["s0"]}, ds)
    parts, _ = render_frames(sel)
    rid = sel["run"]["run_id"]
    assert sorted(parts) == [f"uniform/{rid}/g0__s0/frame_000000", f"uniform/{rid}/g0__s0/frame_000020"]
    img = parts[f"uniform/{rid}/g0__s0/frame_000020"]()
    assert img.shape == (64, 96, 3) and img.dtype == np.uint8


def test_bad_parameters(tmp_path):
    ds = _make(tmp_path / "d")
    with pytest.raises(ConfigError):
        select_frames(read_media_index(ds, missing_ok=True), {"n_frames": 2, "n_frame": 3}, ds)
    with pytest.raises(ConfigError):
        index_media_node({"search_dir": ["media_raw"]}, ds)


def test_kedro_session_on_demo_layout(tmp_path):
    """`kedro run --pipelines sample_frames` with the shipped config, after media indexing."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    ds = _make(tmp_path / "session")
    conf = _conf_params()
    report = index_media_node(conf["media_ingest"], ds).write()
    (ds.get_root("media") / "index_report.json").write_text(json.dumps(report))
    bootstrap_project(PROJECT_DIR)
    with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(ds.folder)}) as session:
        session.run(pipeline_names=["sample_frames"])
    runs = ds.list_frame_runs()
    n = conf["sample_frames"]["n_frames"]
    assert sorted(runs["sequence"]) == ["s0", "s1", "s2"] and set(runs["n_frames"]) == {n}
    assert len(ds.get_frame_paths("uniform")) == 3 * n
    shutil.rmtree(ds.folder)


def test_params_override_with_a_partial_local_block(tmp_path):
    """`kedro run --pipelines sample_frames --params sample_frames.method=kmeans` with a partial conf/local block."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    ds = _make(tmp_path / "session")
    conf = _conf_params()
    report = index_media_node(conf["media_ingest"], ds).write()
    (ds.get_root("media") / "index_report.json").write_text(json.dumps(report))
    conf_dir = tmp_path / "conf"
    shutil.copytree(CONF, conf_dir / "base")
    (conf_dir / "local").mkdir()
    (conf_dir / "local" / "parameters_sample_frames.yml").write_text("sample_frames:\n  parallel_workers: 1\n")
    bootstrap_project(PROJECT_DIR)
    params = {"dataset_dir": str(ds.folder), "sample_frames": {"method": "kmeans"}}
    with KedroSession.create(project_path=PROJECT_DIR, conf_source=str(conf_dir), runtime_params=params) as session:
        session.run(pipeline_names=["sample_frames"])
    n = conf["sample_frames"]["n_frames"]  # from conf/base: the local block does not repeat it
    runs = ds.list_frame_runs()
    assert set(runs["method"]) == {"kmeans"} and set(runs["n_frames"]) == {n}
    assert sorted(runs["sequence"]) == ["s0", "s1", "s2"]
    # every other key kept its conf/base value: the run id is the facade's for the same arguments
    base = dict(conf["sample_frames"], method="kmeans", parallel_workers=1)
    kwargs = {k: v for k, v in base.items() if k not in ("fail_on_error", "n_frames", "method", "overwrite")}
    other = _make(tmp_path / "facade")
    other.index_media(**conf["media_ingest"])
    assert other.extract_frames(n, "kmeans", **kwargs) == runs["run_id"].iloc[0]


def test_frame_runs_are_recorded_by_the_dataset_not_the_node(tmp_path):
    from kedro.io.core import DatasetError

    from mosaic.pipelines.sample_frames.nodes import frame_runs_to_record

    conf = _conf_params()
    ds = _make(tmp_path / "d")
    ds.index_media(
        **{k: v for k, v in conf["media_ingest"].items() if k != "search_dirs"},
        search_dirs=conf["media_ingest"]["search_dirs"],
    )
    sel = select_frames(read_media_index(ds), dict(conf["sample_frames"], n_frames=2), ds)
    parts, rendered = render_frames(sel)
    frames = ds.get_root("frames")
    PartitionedDataset(
        path=str(frames), dataset={"type": "mosaic.datasets.atomic.FramePngDataset"}, filename_suffix=".png"
    ).save(parts)
    todo = frame_runs_to_record(sel, rendered)
    assert not list(frames.rglob("*.json")) and not (frames / "index.csv").exists()  # the node writes nothing
    with pytest.raises(ConfigError, match="another run"):
        frame_runs_to_record(sel, {**rendered, "run_id": "other"})
    store = FrameRunsDataset(filepath=str(frames / "index.csv"), dataset_dir=str(ds.folder))
    with pytest.raises(DatasetError, match="run, selections"):
        store.save({"rows": []})
    with pytest.raises(DatasetError, match="same dataset folder"):
        FrameRunsDataset(filepath=str(tmp_path / "x" / "index.csv"), dataset_dir=str(ds.folder)).save(todo)
    assert not (frames / "index.csv").exists()
    store.save(todo)
    runs = store.load()
    assert sorted(runs["sequence"]) == ["s0", "s1", "s2"] and set(runs["n_frames"]) == {2}
    assert len(list(frames.rglob("run_info.json"))) == 3


def test_media_ingest_matches_the_raw_index_it_is_given(tmp_path):
    """The `index_media` node matches videos against its `tracks_raw_index` input, not a file it reads."""
    ds = Dataset.create(tmp_path / "d", name="d")
    write_numbered(ds.get_root("media_raw") / "cam" / "s0.mp4", 10)
    raw = pd.DataFrame(
        [{"group": "g0", "sequence": "s0", "abs_path": "tracks_raw/g0/s0.npz", "src_format": "trex_npz"}]
    )
    index_media_node({"search_dirs": ["media_raw"]}, ds, raw).write()  # nothing in tracks_raw/index.csv on disk
    row = read_media_index(ds).iloc[0]
    assert (row["group"], row["sequence"], row["recording_from"]) == ("g0", "s0", "tracks")
    index_media_node({"search_dirs": ["media_raw"]}, ds, raw.iloc[:0]).write()  # no raw recording: its own recording
    row = read_media_index(ds).iloc[0]
    assert (row["group"], row["sequence"], row["recording_from"]) == ("cam", "s0", "video")


def test_media_ingest_node_writes_nothing_its_dataset_writes_the_index(tmp_path):
    """The `index_media` node returns the planned index; saving `media_index@report` writes both files."""
    ds = _make(tmp_path / "d")
    planned = index_media_node({"search_dirs": ["media_raw"]}, ds)
    index_csv, report_json = ds.get_root("media") / "index.csv", ds.get_root("media") / "index_report.json"
    assert not index_csv.exists() and not report_json.exists()
    MediaIndexReportDataset(filepath=str(report_json)).save(planned)
    assert sorted(read_media_index(ds)["sequence"]) == ["s0", "s1", "s2"]
    saved = json.loads(report_json.read_text())
    assert saved["n_videos"] == 3 and saved["index_path"] == ds.relative_path(index_csv)
