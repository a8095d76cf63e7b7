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
    assert set(pipes) == set(PIPELINE_NAMES) | set(OPTIONAL_PIPELINE_NAMES) | {
        "__default__",
        "export",
    }  # on demand only
    assert set(PIPELINE_NAMES) == {"ingest", "convert", "label", "featurize", "sample_frames", "train"}
    assert {n.name for n in pipes["__default__"].nodes} == {n.name for p in PIPELINE_NAMES for n in pipes[p].nodes}


def test_telemetry_disabled_in_project():
    assert yaml.safe_load((PROJECT / ".telemetry").read_text()) == {"consent": False}


def test_top_level_layout():
    for p in (
        "pyproject.toml",
        "conf/base",
        "conf/local/README.md",
        "data",
        "src/mosaic",
        "notebooks",
        "tests",
        "docs",
        "README.md",
        ".ci/run",
    ):
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


def _session_run(dataset_dir, pipeline: str = "ingest", **params):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT)
    with KedroSession.create(
        project_path=PROJECT, runtime_params={"dataset_dir": str(dataset_dir), **params}
    ) as session:
        session.run(pipeline_names=[pipeline])


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_without_manifest_is_refused_not_turned_into_the_demo(tmp_path, monkeypatch):
    import pytest

    import mosaic.demo
    from mosaic.core.errors import ManifestError

    made = []
    real = mosaic.demo.make_demo_dataset
    monkeypatch.setattr(
        mosaic.demo,
        "make_demo_dataset",
        lambda folder, **kw: made.append(folder) or real(folder, size="tiny", seed=0, videos=False),
    )
    mine = tmp_path / "my_lab_data"
    (mine / "tracks_raw" / "trex").mkdir(parents=True)
    (mine / "tracks_raw" / "trex" / "a_fish0.npz").write_bytes(b"my own file")
    before = _tree(mine)
    with pytest.raises(ManifestError, match="no dataset manifest") as info:
        _session_run(mine)
    assert "Dataset.create" in str(info.value) and str(mine) in str(info.value)
    assert _tree(mine) == before and made == []
    # a folder that does not exist yet is not the demo location either
    with pytest.raises(ManifestError, match="no dataset manifest"):
        _session_run(tmp_path / "new_folder")
    assert not (tmp_path / "new_folder").exists() and made == []
    # asked explicitly: the demo is written at demo.location
    _session_run(tmp_path / "demo_here", **{"demo": {"location": str(tmp_path / "demo_here")}})
    assert made == [tmp_path / "demo_here"] and (tmp_path / "demo_here" / "tracks_raw" / "index.csv").is_file()


def test_dataset_dir_pointing_at_a_file_is_a_named_error(tmp_path):
    import pytest

    from mosaic.core.errors import ManifestError

    f = tmp_path / "dataset.yaml"
    f.write_text("name: x\n")
    with pytest.raises(ManifestError, match="not a folder") as info:
        _session_run(f)
    assert not isinstance(info.value, NotADirectoryError) and str(f) in str(info.value)


def test_a_broken_manifest_does_not_break_listing_or_the_catalog(tmp_path):
    import os

    import pytest

    from mosaic.core.errors import ManifestError

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dataset.yaml").write_text("name: [unclosed\nroots: {tracks: 3\n")
    env = dict(os.environ, MOSAIC_DATASET=str(broken), KEDRO_DISABLE_TELEMETRY="1")
    proc = subprocess.run(
        [sys.executable, "-m", "kedro", "registry", "list"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "convert" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "kedro", "catalog", "describe-datasets", "-p", "convert"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    with pytest.raises(ManifestError, match="not valid YAML"):  # a run stops, named, before any node
        _session_run(broken)


def test_parameters_merge_softly_across_environments(tmp_path):
    """A partial conf/local block plus --params keeps the rest of the conf/base block."""
    import shutil

    from kedro.config import OmegaConfigLoader

    from mosaic.settings import CONFIG_LOADER_ARGS

    conf = tmp_path / "conf"
    shutil.copytree(PROJECT / "conf" / "base", conf / "base")
    (conf / "local").mkdir()
    (conf / "local" / "parameters_sample_frames.yml").write_text("sample_frames:\n  parallel_workers: 1\n")
    loader = OmegaConfigLoader(
        conf_source=str(conf), runtime_params={"sample_frames": {"method": "kmeans"}}, **CONFIG_LOADER_ARGS
    )
    merged = loader["parameters"]["sample_frames"]
    base = yaml.safe_load((PROJECT / "conf" / "base" / "parameters_sample_frames.yml").read_text())["sample_frames"]
    assert merged == {**base, "parallel_workers": 1, "method": "kmeans"}
    assert loader["parameters"]["convert"]["on_error"] == "raise"  # untouched blocks stay


def test_run_logs_show_file_labels_in_brackets(capsys):
    """Kedro's console handler must not eat "[trex_npz: a.npz]" as rich markup in mosaic's messages."""
    import logging
    import logging.config

    config = yaml.safe_load((PROJECT / "conf" / "logging.yml").read_text())
    saved = logging.getLogger().handlers[:]
    try:
        logging.config.dictConfig(config)
        logging.getLogger("mosaic.test").error("conversion failed: g/s [trex_npz: broken_fish0.npz]: not a zip")
        for h in logging.getLogger().handlers:
            h.flush()
    finally:
        logging.getLogger().handlers[:] = saved
    shown = "".join(capsys.readouterr())  # rich's console writes to stdout
    assert "[trex_npz:" in shown and "broken_fish0.npz]" in shown
