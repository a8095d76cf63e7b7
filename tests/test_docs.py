"""The documentation site builds with `mkdocs build --strict` (internal links and anchors checked)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end-to-end: the fast suite is `pytest -m "not slow"`

PROJECT = Path(__file__).resolve().parents[1]
KEY_PAGES = (
    "index.html",
    "getting-started/index.html",
    "own-data/index.html",
    "formats/index.html",
    "pipelines/index.html",
    "notebooks/index.html",
    "reporting/index.html",
    "extending/index.html",
    "reliability/index.html",
    "api/dataset/index.html",
    "api/core/index.html",
    "api/domains/index.html",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for mod in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python"):
        assert importlib.util.find_spec(mod) is not None, f"{mod} is not installed (pip install -e '.[test]')"
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(PROJECT / "mkdocs.yml"), "-d", str(out)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def test_key_pages_exist(site):
    missing = [p for p in KEY_PAGES if not (site / p).is_file()]
    assert not missing, missing


def test_getting_started_has_the_readme_commands(site):
    html = (site / "getting-started" / "index.html").read_text(encoding="utf-8")
    assert "pip install -e &quot;.[test]&quot; &amp;&amp; kedro run" in html
    assert "python -m pytest" in html


def test_api_reference_is_generated_from_docstrings(site):
    html = (site / "api" / "dataset" / "index.html").read_text(encoding="utf-8")
    from mosaic import Dataset
    from mosaic.facade.reporting import ReportingMixin

    members = ["from_catalog", "open", "create", "get_root"]
    if issubclass(Dataset, ReportingMixin):
        members += ["inventory", "plot_trajectories", "plot_ethogram"]
    for member in members:
        assert f'id="mosaic.facade.dataset.Dataset.{member}"' in html, member
    # a docstring sentence, not just the signature
    assert "Kedro catalog" in html


def test_own_data_page_covers_every_source(site):
    html = (site / "own-data" / "index.html").read_text(encoding="utf-8")
    for word in ("TRex", "SLEAP", "DeepLabCut", "CalMS21", "BORIS", "MOSAIC_DATASET", "--params dataset_dir="):
        assert word in html, word


def test_pipelines_page_includes_every_parameters_file(site):
    html = (site / "pipelines" / "index.html").read_text(encoding="utf-8")
    for f in sorted((PROJECT / "conf" / "base").glob("parameters_*.yml")):
        key = f.stem.removeprefix("parameters_")
        assert f"{key}:" in html, f"{f.name} is not shown on the pipelines page"


def _python_blocks(page: str) -> list[str]:
    import re

    return re.findall(r"```python\n(.*?)```", (PROJECT / "docs" / page).read_text(encoding="utf-8"), flags=re.S)


def read_labels_index_kim(ds) -> bool:
    from mosaic.labels import read_labels_index

    return read_labels_index(ds, "behavior")["annotator"].tolist() == ["kim"]


def test_extending_examples_run(tmp_path, monkeypatch):
    """The converters and features written on the Extending page work as shown."""
    import numpy as np

    from mosaic import Dataset
    from mosaic.features.registry import unregister_feature
    from mosaic.tracks.converters import REGISTRY, register_converter

    converter_src, register_src, labels_src, feature_src, run_src, protocol_src = _python_blocks("extending.md")
    ns: dict = {}
    try:
        exec(compile(converter_src, "extending.md:converter", "exec"), ns)
        exec(compile(register_src, "extending.md:register", "exec"), ns)  # lazy 'mylab.tracking:convert'
        register_converter("mylab_npy", ns["convert"])  # the same function, importable here
        ds = Dataset.create(tmp_path / "ds", name="docs")
        (ds.get_root("tracks_raw") / "g1").mkdir(parents=True)
        xy = np.arange(40 * 2 * 2, dtype=float).reshape(40, 2, 2)
        np.save(ds.get_root("tracks_raw") / "g1" / "trial1.npy", xy)
        ds.index_tracks_raw(["tracks_raw"], src_format="mylab_npy", patterns=["*.npy"], group_from="parent")
        ds.convert_all_tracks()
        tracks = ds.load_tracks("g1", "trial1")
        assert len(tracks) == 80 and tracks.loc[tracks["id"] == 1, "X"].to_numpy()[:2].tolist() == [
            xy[0, 1, 0],
            xy[1, 1, 0],
        ]
        exec(compile(feature_src, "extending.md:feature", "exec"), ns)
        ns["ds"] = ds
        exec(compile(run_src, "extending.md:run", "exec"), ns)
        out = ds.load_feature("distance_to_centre", run_id=ns["result"].run_id)
        expected = np.hypot(tracks["X"] - 300.0, tracks["Y"] - 240.0)
        assert np.allclose(out.sort_values(["frame", "id"])["distance_to_centre"].to_numpy(), expected.to_numpy())
        # the feature-protocol object (not a Feature subclass)
        exec(compile(protocol_src, "extending.md:protocol", "exec"), ns)
        dx = ds.load_feature("mean_x")
        assert np.allclose(
            dx.sort_values(["frame", "id"])["dx"].to_numpy(), (tracks["X"] - tracks["X"].mean()).to_numpy()
        )
        # the one-off label converter writes string arrays, which load (and extra keys are kept)
        monkeypatch.chdir(tmp_path)
        (tmp_path / "my_bouts.csv").write_text(
            "group,sequence,animal,behaviour,start,stop\ng1,trial1,0,rest,0,5\ng1,trial1,1,walk,2,4\n"
        )
        exec(compile(labels_src, "extending.md:labels", "exec"), ns)
        lab = ds.load_labels("g1", "trial1")
        assert lab["label_names"].tolist() == ["rest", "walk"] and str(lab["annotator"]) == "kim"
        assert sorted(zip(lab["frames"].tolist(), lab["individual_ids"][:, 0].tolist())) == sorted(
            [(f, 0) for f in range(5)] + [(2, 1), (3, 1)]
        )
        assert ds.get_labels_table("g1", "trial1", individual_id=1)["label_name"].tolist() == ["walk", "walk"]
        assert read_labels_index_kim(ds)
    finally:
        unregister_feature("distance_to_centre")
        ns.clear()
        REGISTRY._entries.pop("mylab_npy", None)


def test_formats_page_lists_every_converter_with_its_parameters(site):
    """The converter reference is generated into the site (not hand-copied): every converter and parameter."""
    from mosaic.labels.registry import label_converter_parameters, list_label_converters
    from mosaic.tracks.converters import converter_parameters, list_converters

    html = (site / "formats" / "index.html").read_text(encoding="utf-8")
    assert "converter-parameters" not in html  # the marker was replaced
    for name in list_converters():
        assert f"Tracks: <code>{name}</code>" in html, name
        for p in converter_parameters(name):
            assert f"<code>{p}</code>" in html, (name, p)
    for fmt in {f for f, _ in list_label_converters()}:
        assert f"Labels: <code>{fmt}</code>" in html, fmt
        for p in label_converter_parameters(fmt):
            assert f"<code>{p}</code>" in html, (fmt, p)
