"""kedro-viz: the static export (`kedro viz build`) shows every pipeline's nodes, the catalog's datasets and layers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end-to-end: the fast suite is `pytest -m "not slow"`

PROJECT = Path(__file__).resolve().parents[1]
#: the left-to-right order of the graph (Kedro's data layers)
LAYERS = ("raw", "intermediate", "primary", "feature", "model_input", "models", "model_output", "reporting")


def _copy_project(dest: Path) -> Path:
    """A throwaway copy of the project (viz writes `build/` into the working directory)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", ".telemetry"):
        if (PROJECT / name).exists():
            shutil.copy2(PROJECT / name, dest / name)
    shutil.copytree(PROJECT / "conf" / "base", dest / "conf" / "base", ignore=ignore)
    (dest / "conf" / "local").mkdir()
    shutil.copytree(PROJECT / "src", dest / "src", ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def project_model(tmp_path_factory):
    """Pipelines (node names, datasets) and catalog config of the project, read with Kedro itself."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    ds_dir = tmp_path_factory.mktemp("viz_ds") / "ds"
    bootstrap_project(PROJECT)
    from kedro.framework.project import pipelines

    with KedroSession.create(project_path=PROJECT, runtime_params={"dataset_dir": str(ds_dir)}) as session:
        ctx = session.load_context()
        catalog_conf = ctx.config_loader["catalog"]
    pipes = {name: pipelines[name] for name in pipelines}
    catalog = {k: v for k, v in catalog_conf.items() if not k.startswith("_") and "{" not in k and isinstance(v, dict)}
    return {"pipelines": pipes, "catalog": catalog, "dataset_dir": ds_dir}


@pytest.fixture(scope="module")
def viz(project_model, tmp_path_factory):
    proj = _copy_project(tmp_path_factory.mktemp("viz") / "project")
    env = dict(
        os.environ, KEDRO_DISABLE_TELEMETRY="1", DO_NOT_TRACK="1", MOSAIC_DATASET=str(project_model["dataset_dir"])
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"], cwd=proj, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"kedro viz build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    api = proj / "build" / "api"
    assert (proj / "build" / "index.html").is_file()
    main = json.loads((api / "main").read_text())
    per_pipeline = {p["id"]: json.loads((api / "pipelines" / p["id"]).read_text()) for p in main["pipelines"]}
    return {"main": main, "pipelines": per_pipeline}


def _base(name: str) -> str:
    """kedro-viz shows the views of a transcoded entry (``tracks@parquet``, ``tracks@index``) as one node."""
    return name.split("@", 1)[0]


def _datasets(pipeline) -> set[str]:
    return {_base(d) for d in pipeline.datasets() if not d.startswith("params:") and d != "parameters"}


def test_every_registered_pipeline_is_exported(viz, project_model):
    assert set(viz["pipelines"]) == set(project_model["pipelines"])


def test_every_node_appears_in_its_pipelines(viz, project_model):
    for name, pipe in project_model["pipelines"].items():
        shown = viz["pipelines"][name]["nodes"]
        tasks = {n.get("full_name") or n["name"] for n in shown if n["type"] == "task"}
        assert tasks == {n.name for n in pipe.nodes}, name
        data = {n["name"] for n in shown if n["type"] == "data"}
        assert _datasets(pipe) <= data, (name, sorted(_datasets(pipe) - data))


def test_catalog_datasets_appear_with_their_type(viz, project_model):
    nodes = {n["name"]: n for n in viz["main"]["nodes"] if n["type"] == "data"}
    for pipe in viz["pipelines"].values():  # pipelines outside __default__ (export) show their own datasets
        nodes.update({n["name"]: n for n in pipe["nodes"] if n["type"] == "data" and n["name"] not in nodes})
    used = set().union(*(_datasets(p) for p in project_model["pipelines"].values()))
    for name, conf in project_model["catalog"].items():
        if _base(name) not in used:
            continue
        assert _base(name) in nodes, name
        if "@" in name:
            continue  # a transcoded node shows the type of one of its views
        short = str(conf["type"]).rsplit(".", 1)[-1]
        assert nodes[name]["dataset_type"].endswith(short), (name, nodes[name]["dataset_type"], conf["type"])


def test_every_catalog_entry_is_used_by_a_pipeline(project_model):
    """An entry no pipeline reads or writes never appears in the graph (a wiring gap)."""
    used = set().union(*(_datasets(p) for p in project_model["pipelines"].values()))
    orphans = sorted(n for n in project_model["catalog"] if _base(n) not in used)
    assert not orphans, f"catalog entries used by no registered pipeline: {orphans}"


def test_layers_are_declared_canonical_and_ordered(viz, project_model):
    nodes = {n["name"]: n for n in viz["main"]["nodes"] if n["type"] == "data"}
    declared = {
        name: ((conf.get("metadata") or {}).get("kedro-viz") or {}).get("layer")
        for name, conf in project_model["catalog"].items()
    }
    for name, layer in declared.items():
        if layer is None:
            continue
        assert layer in LAYERS, (name, layer)
        if _base(name) in nodes:
            assert nodes[_base(name)]["layer"] == layer, name
    assert set(viz["main"]["layers"]) <= set(LAYERS)
    # the graph reads left to right: no node writes into an earlier layer than one it reads
    rank = {name: LAYERS.index(layer) for name, layer in declared.items() if layer in LAYERS}
    backwards = []
    for pipe in project_model["pipelines"].values():
        for node in pipe.nodes:
            ins = [rank[d] for d in node.inputs if d in rank]
            for out in node.outputs:
                if out in rank and ins and rank[out] < max(ins):
                    backwards.append((node.name, out, declared[out]))
    assert not backwards, f"nodes writing into an earlier layer than they read: {sorted(set(backwards))}"
    missing = sorted(n for n in nodes if n in declared and declared[n] is None)
    if missing:
        warnings.warn(f"catalog datasets without a kedro-viz layer: {missing}", stacklevel=1)


def _edges(viz, pipeline: str = "__default__") -> set[tuple[str, str]]:
    shown = viz["pipelines"][pipeline]
    names = {n["id"]: n["name"] for n in shown["nodes"]}
    return {(names[e["source"]], names[e["target"]]) for e in shown["edges"]}


def test_the_graph_is_the_data_flow(viz):
    """Each node reads what it needs from the catalog: the edges follow the data, nothing else."""
    edges = _edges(viz)
    chains = [
        # raw index -> tracks -> features -> model
        [
            "tracks_raw_index",
            "convert_tracks",
            "tracks",
            "featurize",
            "features",
            "train_model",
            "model_run",
            "report_model_run",
            "trained_model",
        ],
        # tracks (+ the annotation files named in params:label) -> labels -> model
        ["tracks", "convert_labels", "labels_index", "train_model"],
        ["convert_labels", "labels"],
        # media -> frames
        [
            "tracks_raw_index",
            "index_media",
            "media_index",
            "select_frames",
            "frame_selection",
            "render_frames",
            "frame_images",
        ],
        ["media_index", "convert_labels"],
        # the frame runs are recorded by saving `frame_runs`, then checked
        ["frame_selection", "record_frame_runs", "frame_runs", "check_frame_runs"],
        # each plot after what it draws
        ["tracks", "plot_trajectories", "trajectory_plots"],
        ["labels", "plot_ethograms", "ethogram_plots"],
        ["features", "plot_feature_distributions", "feature_distribution_plot"],
        ["train_model", "model_run", "predict_behaviors", "behavior_predictions"],
        # the model reads the feature runs and the labels through their catalog views
        ["features", "predict_behaviors"],
        ["model_store", "train_model"],
        # each model plot after the stored run it draws
        ["model_run", "report_model_run", "confusion_matrix_plot"],
        ["report_model_run", "prediction_ethogram_plots"],
        ["report_model_run", "model_metrics"],
    ]
    missing = [(a, b) for chain in chains for a, b in zip(chain, chain[1:]) if (a, b) not in edges]
    assert not missing, missing
    # no node reads the dataset_dir parameter: the folder reaches the nodes as the `dataset` catalog entry
    assert not [b for a, b in edges if a == "params:dataset_dir"]
    # the model and the plots read what they draw, not the dataset folder
    readers_of_the_folder = {b for a, b in edges if a == "dataset"}
    assert not readers_of_the_folder & {
        "train_model",
        "report_model_run",
        "predict_behaviors",
        "plot_feature_distributions",
        "plot_trajectories",
        "plot_ethograms",
    }
    assert {("dataset", "index_raw_tracks"), ("dataset", "index_media"), ("tracks_raw_index", "index_media")} <= edges
    # labels never come before the tracks they are cut to: no edge into convert_tracks from the label side
    assert not {(a, b) for a, b in edges if b == "convert_tracks"} - {
        ("tracks_raw_index", "convert_tracks"),
        ("dataset", "convert_tracks"),
        ("params:convert", "convert_tracks"),
    }


def test_no_train_or_reporting_node_takes_the_dataset_folder(project_model):
    """Train and reporting nodes get features, labels and models as catalog data, never the folder."""
    pipes = project_model["pipelines"]
    nodes = {n.name: n for n in pipes["train"].nodes}
    nodes.update({n.name: n for pipe in pipes.values() for n in pipe.nodes if "reporting" in n.tags})
    assert {"train_model", "report_model_run", "predict_behaviors", "plot_feature_distributions"} <= set(nodes)
    folder = {"dataset", "params:dataset_dir"}
    assert {name: sorted(set(n.inputs) & folder) for name, n in nodes.items() if set(n.inputs) & folder} == {}
    assert not [n.name for n in nodes.values() if any(i.startswith("params:dataset_dir") for i in n.inputs)]
    train = {n.name: set(n.inputs) for n in pipes["train"].nodes}
    assert {"features@store", "labels_index@store", "model_store"} <= train["train_model"]
    assert train["report_model_run"] == {"model_run"}
    assert "features@store" in {
        i for n in pipes["featurize"].nodes if n.name == "plot_feature_distributions" for i in n.inputs
    }
