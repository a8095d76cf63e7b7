"""The Kedro project: pipelines registered, telemetry off, dataset folder chosen by config."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from mosaic.pipeline_registry import PIPELINE_NAMES

PROJECT = Path(__file__).resolve().parents[1]


def test_import_is_light_and_dataset_importable():
    code = "import sys; from mosaic import Dataset; print(Dataset.__name__, 'sklearn' in sys.modules, 'kedro' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["Dataset", "False", "False"]


def test_registry_lists_six_pipelines_and_default():
    from kedro.framework.project import configure_project

    configure_project("mosaic")
    from mosaic.pipeline_registry import OPTIONAL_PIPELINE_NAMES, register_pipelines

    pipes = register_pipelines()
    assert set(pipes) == set(PIPELINE_NAMES) | set(OPTIONAL_PIPELINE_NAMES) | {"__default__", "export"}  # on demand only
    assert set(PIPELINE_NAMES) == {"ingest", "convert", "label", "featurize", "sample_frames", "train"}
    assert {n.name for n in pipes["__default__"].nodes} == {n.name for p in PIPELINE_NAMES for n in pipes[p].nodes}


def test_telemetry_disabled_in_project():
    assert yaml.safe_load((PROJECT / ".telemetry").read_text()) == {"consent": False}


def test_top_level_layout():
    for p in ("pyproject.toml", "conf/base", "conf/local/README.md", "data", "src/mosaic", "notebooks", "tests", "docs", "README.md", ".ci/run"):
        assert (PROJECT / p).exists(), p


def test_mosaic_root_follows_the_manifest(tmp_path):
    from mosaic import Dataset
    from mosaic.kedro_config import mosaic_root

    assert mosaic_root(str(tmp_path / "nothing_yet"), "tracks") == (tmp_path / "nothing_yet" / "tracks").as_posix()
    ds = Dataset.create(tmp_path / "mine")
    ds.set_root("tracks", tmp_path / "elsewhere" / "std_tracks")
    ds.save()
    assert mosaic_root(str(tmp_path / "mine"), "tracks") == (tmp_path / "elsewhere" / "std_tracks").as_posix()
    assert mosaic_root(str(tmp_path / "mine")) == (tmp_path / "mine").as_posix()


def test_dataset_dir_resolution_order(tmp_path, monkeypatch):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT)
    monkeypatch.chdir(PROJECT)
    monkeypatch.delenv("MOSAIC_DATASET", raising=False)
    with KedroSession.create(project_path=PROJECT) as s:
        assert s.load_context().params["dataset_dir"] == "data/demo"
    monkeypatch.setenv("MOSAIC_DATASET", str(tmp_path / "env"))
    with KedroSession.create(project_path=PROJECT) as s:
        assert s.load_context().params["dataset_dir"] == str(tmp_path / "env")
    with KedroSession.create(project_path=PROJECT, runtime_params={"dataset_dir": str(tmp_path / "rt")}) as s:
        assert s.load_context().params["dataset_dir"] == str(tmp_path / "rt")
