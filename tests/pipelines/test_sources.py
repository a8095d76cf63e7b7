"""A dataset folder carries its own source description (sources.yml), read by both doors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mosaic import Dataset
from mosaic.core.errors import ConfigError
from mosaic.core.sources import read_sources
from tests.conftest import PROJECT_DIR
from tests.tracks.synth import write_trex


def _run(folder: Path, names=("ingest", "convert")) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_DIR)
    for name in names:
        with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(folder)}) as session:
            session.run(pipeline_names=[name])


def _dataset_a(folder: Path) -> Path:
    """TRex exports without a frame rate, in a layout of its own; fps per source and per recording."""
    Dataset.create(folder, name="a", meta={"fps_default": 30.0})
    write_trex(folder / "raw" / "cam" / "arena1", "v1", {0: (0, 30), 1: (0, 30)}, fps=None, seed=1)
    write_trex(folder / "raw" / "cam" / "arena1", "v2", {0: (0, 20)}, fps=None, seed=2)
    (folder / "sources.yml").write_text(
        yaml.safe_dump(
            {
                "tracks": [
                    {
                        "search_dirs": ["raw/cam"],
                        "src_format": "trex_npz",
                        "patterns": ["*.npz"],
                        "group_from": "parent",
                        "params": {"fps": 15},
                    }
                ],
                "recordings": {"arena1/v2": {"fps": 12.5}},
            }
        )
    )
    return folder


def _dataset_b(folder: Path) -> Path:
    """TRex exports that carry their frame rate (25), a description claiming 50, another folder name."""
    Dataset.create(folder, name="b")
    write_trex(folder / "incoming" / "tank", "day1", {0: (0, 10), 1: (2, 10), 2: (0, 8)}, fps=25.0, seed=3)
    (folder / "sources.yml").write_text(
        yaml.safe_dump(
            {
                "tracks": [
                    {
                        "search_dirs": ["incoming"],
                        "src_format": "trex_npz",
                        "group_from": "parent",
                        "params": {"fps": 50},
                    }
                ],
            }
        )
    )
    return folder


def _index(folder: Path) -> dict[tuple[str, str], tuple[float, str]]:
    idx = pd.read_csv(folder / "tracks" / "index.csv")
    return {
        (g, s): (float(f), src) for g, s, f, src in zip(idx["group"], idx["sequence"], idx["fps"], idx["fps_source"])
    }


def test_two_datasets_with_their_own_sources_run_from_one_project(tmp_path):
    a, b = _dataset_a(tmp_path / "a"), _dataset_b(tmp_path / "b")
    _run(a)
    _run(b)
    # per-source fps for the files of the source, per-recording fps beats it; the index says which won
    assert _index(a) == {("arena1", "v1"): (15.0, "source"), ("arena1", "v2"): (12.5, "recording")}
    # a frame rate found in the file beats the description
    assert _index(b) == {("tank", "day1"): (25.0, "file")}
    assert not (a / "tracks_raw" / "trex").exists() and not (b / "tracks_raw" / "trex").exists()


def test_the_facade_reads_the_same_description(tmp_path):
    a = _dataset_a(tmp_path / "a")
    fac = shutil.copytree(a, tmp_path / "facade")
    _run(a)
    ds = Dataset.open(fac)
    for src in read_sources(fac)["tracks"]:
        ds.index_tracks_raw(**{k: v for k, v in src.items() if k != "params"})
    ds.convert_all_tracks()
    assert _index(fac) == _index(a)
    assert (fac / "tracks" / "index.csv").read_text() == (a / "tracks" / "index.csv").read_text()


def test_kedro_parameters_override_the_description(tmp_path):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    a = _dataset_a(tmp_path / "a")
    bootstrap_project(PROJECT_DIR)
    for name in ("ingest", "convert"):
        params = {"dataset_dir": str(a), "convert": {"params": {"fps": 40}}}
        with KedroSession.create(project_path=PROJECT_DIR, runtime_params=params) as session:
            session.run(pipeline_names=[name])
    assert _index(a) == {("arena1", "v1"): (40.0, "params"), ("arena1", "v2"): (40.0, "params")}


def test_the_label_conversion_takes_the_description_under_its_params(tmp_path):
    import mosaic.labels.convert as lc

    ds = Dataset.create(tmp_path / "d", name="d")
    (ds.folder / "sources.yml").write_text(
        yaml.safe_dump(
            {
                "labels": {
                    "source_format": "boris_csv",
                    "params": {"sequence_map": {"obs1": ["arena1", "v1"]}, "fps": 12.5},
                },
            }
        )
    )
    (ds.folder / "ann").mkdir()
    (ds.folder / "ann" / "a.csv").write_text("x\n")
    batch = lc.plan_label_conversion(ds, "behavior", params={"fps": 30, "paths": ["ann"]})
    assert batch.source_format == "boris_csv"
    assert batch.params == {"sequence_map": {"obs1": ["arena1", "v1"]}, "fps": 30, "paths": ["ann"]}
    assert [t.params["paths"] for t in batch.tasks] == [["ann/a.csv"]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("tracks: {a: 1}\n", "list of sources"),
        ("trakcs: []\n", "unknown keys in the source description"),
        ("tracks:\n  - search_dirs: [x]\n", "needs search_dirs and src_format"),
        ("tracks:\n  - {search_dirs: [x], src_format: trex_npz, fsp: 3}\n", "unknown keys in tracks source 0"),
        ("recordings: {g/s: 12}\n", "map 'group/sequence'"),
        ("labels: {params: [1]}\n", "labels.params"),
        ("a: &x [1, 2]\nb: *x\n", "not valid YAML"),
        ("tracks: [\n", "not valid YAML"),
    ],
)
def test_a_bad_description_is_a_named_error(tmp_path, text, match):
    (tmp_path / "sources.yml").write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        read_sources(tmp_path)
    assert str(tmp_path / "sources.yml") in str(info.value)


def test_ingest_stops_on_a_broken_description(tmp_path):
    a = _dataset_a(tmp_path / "a")
    (a / "sources.yml").write_text("tracks: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        _run(a, names=("ingest",))
