"""The Kedro `ingest` + `convert` pipelines write the same files as the facade calls."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mosaic import Dataset
from mosaic.datasets.media import MediaIndexReportDataset
from mosaic.tracks import read_tracks, read_tracks_meta
from tests.conftest import PROJECT_DIR
from tests.tracks.synth import calms21_dict, write_calms21_npy, write_trex

CONF = PROJECT_DIR / "conf" / "base"


def _params() -> tuple[dict, dict]:
    ingest = yaml.safe_load((CONF / "parameters_ingest.yml").read_text())["ingest"]
    ingest["sources"] = ingest.pop("default_sources")  # what `sources` resolves to for a dataset without sources.yml
    convert = yaml.safe_load((CONF / "parameters_convert.yml").read_text())["convert"]
    return ingest, convert


def _synthetic(folder: Path) -> Path:
    """A dataset in the demo layout: tracks_raw/trex/<group>/<video>_fish<k>.npz + tracks_raw/calms21/*.npy."""
    Dataset.create(folder, name="synthetic", meta={"fps_default": 30.0, "cm_per_pixel": 0.5})
    write_trex(
        folder / "tracks_raw" / "trex" / "group_0", "seq0", {0: (0, 40), 1: (5, 40)}, missing={0: [3, 4]}, seed=1
    )
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
    ds.convert_all_tracks(
        params=convert["params"],
        overwrite=convert["overwrite"],
        merge_per_sequence=convert["merge_per_sequence"],
        group_from=convert["group_from"],
        on_error=convert["on_error"],
    )


def _run_kedro_session(folder: Path, names: tuple[str, ...] = ("ingest", "convert"), runner=None, **params) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_DIR)
    for name in names:  # like `kedro run --pipelines ingest` then `--pipelines convert`
        with KedroSession.create(
            project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(folder), **params}
        ) as session:
            session.run(pipeline_names=[name], runner=runner)


def _without_mtimes(fingerprints):
    """Raw-file fingerprints without their modification times (two copies of a folder differ only there)."""
    fp = json.loads(fingerprints) if isinstance(fingerprints, str) else fingerprints
    return {rel: {k: v for k, v in f.items() if k != "mtime_ns"} for rel, f in (fp or {}).items()}


def _tracks_index(folder: Path) -> pd.DataFrame:
    idx = pd.read_csv(folder / "tracks" / "index.csv", dtype=str, keep_default_na=False)
    idx["source_fingerprints"] = idx["source_fingerprints"].map(
        lambda v: json.dumps(_without_mtimes(v), sort_keys=True)
    )
    return idx


def _assert_same_outputs(a: Path, b: Path) -> None:
    ta, tb = a / "tracks", b / "tracks"
    files_a = sorted(p.name for p in ta.iterdir() if p.suffix in (".parquet", ".csv"))
    files_b = sorted(p.name for p in tb.iterdir() if p.suffix in (".parquet", ".csv"))
    assert files_a == files_b and len(files_a) > 1
    for name in files_a:
        if name.endswith(".parquet"):
            pd.testing.assert_frame_equal(read_tracks(ta / name), read_tracks(tb / name))
            ma, mb = read_tracks_meta(ta / name), read_tracks_meta(tb / name)
            ma["source_fingerprints"], mb["source_fingerprints"] = (
                _without_mtimes(ma.get("source_fingerprints")),
                _without_mtimes(mb.get("source_fingerprints")),
            )
            assert ma == mb
    pd.testing.assert_frame_equal(_tracks_index(a), _tracks_index(b))
    assert (a / "tracks_raw" / "index.csv").read_text() == (b / "tracks_raw" / "index.csv").read_text()


def test_nodes_on_in_memory_catalog_match_facade(tmp_path):
    """Run both pipelines with SequentialRunner on a DataCatalog built from dicts."""
    from kedro.io import DataCatalog, MemoryDataset
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
    catalog = DataCatalog.from_config(
        {
            "dataset": {"type": "mosaic.datasets.folder.DatasetFolder", "path": str(ked)},
            "tracks_raw_index": {
                "type": f"{ds_mod}.TracksIndexDataset",
                "filepath": str(ked / "tracks_raw" / "index.csv"),
                "index": "tracks_raw",
            },
            "tracks@parquet": {"type": f"{ds_mod}.TracksPartitionsDataset", "path": str(ked / "tracks")},
            "tracks@index": {
                "type": f"{ds_mod}.TracksIndexDataset",
                "filepath": str(ked / "tracks" / "index.csv"),
                "index": "tracks",
            },
            "tracks@report": {
                "type": "mosaic.datasets.atomic.AtomicJSONDataset",
                "filepath": str(ked / "tracks" / "conversion_report.json"),
            },
        }
    )
    catalog["params:ingest"] = ingest
    catalog["params:convert"] = convert
    catalog["dataset"] = MemoryDataset(Dataset.open(ked), copy_mode="assign")
    catalog["params:media_ingest"] = {"search_dirs": ["media_raw"], "on_error": "warn"}
    catalog["media_index@report"] = MediaIndexReportDataset(filepath=str(ked / "media" / "index_report.json"))
    SequentialRunner().run(ingest_pipeline() + convert_pipeline(), catalog)
    _assert_same_outputs(fac, ked)
    assert len(catalog.load("tracks@index")) == len(list((ked / "tracks").glob("*.parquet")))
    loaded = catalog.load("tracks@parquet")  # lazily loaded partitions carry the metadata
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


def _with_bad_file(folder: Path) -> Path:
    """The synthetic dataset plus one TRex file that is not an npz archive (group_2/broken)."""
    _synthetic(folder)
    bad = folder / "tracks_raw" / "trex" / "group_2"
    bad.mkdir(parents=True)
    (bad / "broken_fish0.npz").write_bytes(b"this is not a zip archive")
    return folder


def test_on_error_skip_converts_the_good_files_and_names_the_bad_one(tmp_path, caplog):
    """`kedro run --pipelines ingest,convert --params convert.on_error=skip` on a folder holding one bad file."""
    import json
    import logging

    fac, ked = _with_bad_file(tmp_path / "facade"), _with_bad_file(tmp_path / "kedro")
    ds = Dataset.open(fac)
    ingest, _ = _params()
    for src in ingest["sources"]:
        ds.index_tracks_raw(**{k: v for k, v in src.items() if k != "optional"})
    with pytest.warns(UserWarning, match="1 tracking file"):
        ds.convert_all_tracks(on_error="skip")
    with caplog.at_level(logging.WARNING):
        _run_kedro_session(ked, convert={"on_error": "skip"})  # returns: exit code 0
    _assert_same_outputs(fac, ked)
    report = json.loads((ked / "tracks" / "conversion_report.json").read_text())
    assert list(report["failed"]) == ["group_2/broken [trex_npz: broken_fish0.npz]"]
    assert len(report["converted"]) == 4  # 2 TRex recordings + 2 CalMS21 sequences
    first = [r for r in caplog.records if r.levelno >= logging.WARNING and "broken" in r.getMessage()][0]
    assert "broken_fish0.npz" in first.getMessage().splitlines()[0]
    idx = pd.read_csv(ked / "tracks" / "index.csv")
    assert "broken" not in set(idx["sequence"]) and len(idx) == 4


def test_on_error_raise_stops_with_the_named_error_after_the_good_files(tmp_path):
    from mosaic.core.errors import BatchError

    ked = _with_bad_file(tmp_path / "kedro")
    with pytest.raises(BatchError) as info:
        _run_kedro_session(ked)
    msg = str(info.value)
    assert "broken_fish0.npz" in msg and "Saving 'None'" not in msg and "Failed while saving" not in msg
    assert len(list((ked / "tracks").glob("*.parquet"))) == 4  # the good files are written, and indexed
    assert len(pd.read_csv(ked / "tracks" / "index.csv")) == 4


def test_the_tracks_index_is_written_once_per_run(tmp_path, monkeypatch):
    import mosaic.tracks.batch as convert_mod

    ked = _synthetic(tmp_path / "kedro")
    _run_kedro_session(ked, names=("ingest",))
    calls = []
    real = convert_mod.save_tracks_index_rows
    monkeypatch.setattr(
        convert_mod, "save_tracks_index_rows", lambda path, rows: calls.append(len(rows)) or real(path, rows)
    )
    _run_kedro_session(ked, names=("convert",))
    assert calls == [4]


@pytest.mark.parametrize("runner", ["ThreadRunner", "ParallelRunner"])
def test_every_runner_writes_the_same_folder(tmp_path, runner):
    """ingest + convert under Thread/ParallelRunner == SequentialRunner == the facade."""
    from kedro import runner as runners

    src = _synthetic(tmp_path / "src")
    seq, other = tmp_path / "seq", tmp_path / "other"
    shutil.copytree(src, seq)
    shutil.copytree(src, other)
    _run_kedro_session(seq, runner=runners.SequentialRunner())
    _run_kedro_session(other, runner=getattr(runners, runner)())
    _assert_same_outputs(seq, other)


def test_convert_parameters_choose_the_executor(tmp_path, monkeypatch):
    """`--params convert.parallel_mode=process` converts on worker processes, with the facade's files."""
    import mosaic.core.executor as executor

    modes = []
    run_tasks = executor.run_tasks

    def recording(fn, tasks, config=None, **kwargs):
        modes.append(config.mode)
        return run_tasks(fn, tasks, config, **kwargs)

    monkeypatch.setattr(executor, "run_tasks", recording)
    src = _synthetic(tmp_path / "src")
    fac, ked = tmp_path / "facade", tmp_path / "kedro"
    shutil.copytree(src, fac)
    shutil.copytree(src, ked)
    _run_facade(fac)
    modes.clear()
    _run_kedro_session(ked, convert={"parallel_mode": "process", "parallel_workers": 2})
    assert modes == ["process"]
    _assert_same_outputs(fac, ked)
