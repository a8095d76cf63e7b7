"""Inventory and dataset-level plots on the simulator's tiny demo, processed through the facade functions."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from .test_plots import TAB10, assert_not_blank, has_color, png_pixels

pytestmark = pytest.mark.slow  # end-to-end: the fast suite is `pytest -m "not slow"`

N_FRAMES_PER_SEQUENCE = 3


@pytest.fixture(scope="module")
def processed_demo(tmp_path_factory):
    """A tiny demo with tracks converted, labels converted, speed computed, frames sampled and a model trained."""
    import mosaic.demo as demo
    from mosaic import Dataset

    folder = tmp_path_factory.mktemp("reporting_demo") / "ds"
    demo.make_demo_dataset(folder, size="tiny", seed=0)
    ds = Dataset.open(folder)
    ds.index_tracks_raw(["tracks_raw/trex"], src_format="trex_npz")
    ds.convert_all_tracks()
    ds.convert_all_labels(
        kind="behavior",
        source_format="boris_csv",
        params={"paths": ["annotations/boris_aggregated"], "pair_behaviors": list(demo.PAIR_BEHAVIORS)},
    )
    speed = ds.run_feature("speed")
    ds.index_media(["media_raw"])
    frame_run = ds.extract_frames(N_FRAMES_PER_SEQUENCE, method="uniform")
    model_run = ds.train_model(
        "clf",
        {
            "features": ["speed"],
            "cv_folds": 2,
            "estimator": "random_forest",
            "estimator_params": {"n_estimators": 10},
            "max_train_rows": 3000,
            "plots": False,
        },
    )
    truth = pd.read_csv(folder / "ground_truth" / "sequences.csv")
    return {"ds": ds, "truth": truth, "speed": speed, "frame_run": frame_run, "model_run": model_run, "demo": demo}


def test_inventory_of_the_demo(processed_demo):
    from mosaic.reporting.inventory import inventory
    from mosaic.reporting.inventory_text import format_inventory

    ds, truth = processed_demo["ds"], processed_demo["truth"]
    inv = inventory(ds)
    expected_groups = {g: sorted(t["sequence"]) for g, t in truth.groupby("group")}
    assert inv["groups"] == expected_groups
    assert inv["n_groups"] == len(expected_groups) and inv["n_sequences"] == len(truth)
    # one TRex file per animal
    n_files = len(list((ds.folder / "tracks_raw" / "trex").rglob("*.npz")))
    assert n_files == truth["n_animals"].sum()
    assert inv["tracks_raw"]["n_files"] == n_files and inv["tracks_raw"]["by_format"] == {"trex_npz": n_files}
    # rows as stored in the parquet files
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in (ds.folder / "tracks").glob("*.parquet"))
    assert inv["tracks"]["n_sequences"] == len(truth) and inv["tracks"]["n_rows"] == rows
    assert inv["media"]["n_videos"] == len(truth) and inv["media"].get("n_unmatched", 0) == 0
    # labels: every behaviour of the simulator, event rows as stored in the npz files
    events = 0
    for p in (ds.folder / "labels" / "behavior").glob("*.npz"):
        with np.load(p, allow_pickle=False) as z:
            events += len(z["frames"])
    beh = inv["labels"]["behavior"]
    assert beh["n_sequences"] == len(truth) and beh["n_events"] == events
    assert sorted(beh["label_names"]) == sorted(processed_demo["demo"].BEHAVIORS)
    # one speed run over every recording, with the feature's full parameters
    from mosaic.features.registry import make_feature

    runs = inv["features"]["speed"]
    assert [r["run_id"] for r in runs] == [processed_demo["speed"].run_id]
    assert runs[0]["n_sequences"] == len(truth)
    assert runs[0]["params"] == json.loads(json.dumps(make_feature("speed").get_params()))
    (frames,) = inv["frames"]
    assert {k: frames[k] for k in ("method", "run_id", "n_sequences", "n_frames")} == {
        "method": "uniform",
        "run_id": processed_demo["frame_run"],
        "n_sequences": len(truth),
        "n_frames": N_FRAMES_PER_SEQUENCE * len(truth),
    }
    metrics = json.loads(next((ds.folder / "models" / "clf").glob("*/metrics.json")).read_text())
    (model,) = inv["models"]
    assert model["model"] == "clf" and model["run_id"] == processed_demo["model_run"]
    assert model["metrics"]["macro_f1"] == pytest.approx(metrics["macro_f1"])
    text = format_inventory(inv)
    assert f"Recordings: {len(expected_groups)} groups, {len(truth)} sequences" in text
    assert f"Raw tracks: {n_files} files (trex_npz: {n_files})" in text
    assert (
        f"uniform run {processed_demo['frame_run']}: {len(truth)} sequences, {N_FRAMES_PER_SEQUENCE * len(truth)} frames"
        in text
    )
    assert f"clf run {processed_demo['model_run']} (classifier, labels behavior): macro_f1=" in text


def test_cli_inventory_on_demo(processed_demo):
    out = subprocess.run(
        [sys.executable, "-m", "mosaic", "inventory", str(processed_demo["ds"].folder)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"{len(processed_demo['truth'])} sequences" in out.stdout and "Models: 1" in out.stdout


def test_sequence_trajectories_one_colour_per_animal(processed_demo, tmp_path):
    from mosaic.reporting.dataset_plots import plot_sequence_trajectories
    from mosaic.reporting.plots import save_figure

    ds, truth = processed_demo["ds"], processed_demo["truth"]
    for row in truth.itertuples():
        fig = plot_sequence_trajectories(ds, row.group, row.sequence)
        ax = fig.axes[0]
        assert ax.get_title() == f"{row.group} / {row.sequence}"
        assert len(ax.get_legend().get_texts()) == row.n_animals
        px = png_pixels(save_figure(fig, tmp_path / f"{row.key}.png"))
        assert_not_blank(px)
        assert all(has_color(px, TAB10[i]) for i in range(row.n_animals))


def test_sequence_ethogram_rows_and_range(processed_demo, tmp_path):
    from mosaic.reporting.dataset_plots import plot_sequence_ethogram
    from mosaic.reporting.plots import save_figure

    ds, truth = processed_demo["ds"], processed_demo["truth"]
    row = truth.iloc[0]
    fig = plot_sequence_ethogram(ds, row["group"], row["sequence"], kind="behavior")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"id {i}" for i in range(row["n_animals"])]
    assert ax.get_xlim() == pytest.approx((0.0, row["n_frames"] / row["fps"]))
    assert {t.get_text() for t in ax.get_legend().get_texts()} <= set(processed_demo["demo"].BEHAVIORS)
    assert_not_blank(png_pixels(save_figure(fig, tmp_path / "etho.png")))


def test_facade_methods_delegate(processed_demo):
    from mosaic.facade.reporting import ReportingMixin

    ds, truth = processed_demo["ds"], processed_demo["truth"]
    g, s = truth.iloc[0]["group"], truth.iloc[0]["sequence"]
    assert ReportingMixin.plot_trajectories(ds, g, s).axes[0].get_title() == f"{g} / {s}"
    assert ReportingMixin.plot_ethogram(ds, g, s).axes[0].get_xlabel() == "time (s)"
    assert ReportingMixin.inventory(ds, print_it=False)["n_sequences"] == len(truth)


def test_reporting_fragment_on_the_project_catalog(processed_demo):
    """The reporting nodes run against the project's real catalog entries (tracks, labels, plots)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.runner import SequentialRunner

    from mosaic.core.safe_names import sequence_key
    from mosaic.pipelines.reporting_nodes import create_reporting_pipeline

    from .test_plots import PROJECT_DIR

    ds, truth = processed_demo["ds"], processed_demo["truth"]
    bootstrap_project(PROJECT_DIR)
    with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(ds.folder)}) as session:
        ctx = session.load_context()
        catalog = ctx.catalog
        has_labels = "labels" in catalog.keys()
        pipe = create_reporting_pipeline(labels="labels" if has_labels else None)
        catalog["features@runs"] = {
            "results": [{"key": "speed", "feature": "speed", "run_id": processed_demo["speed"].run_id}]
        }
        SequentialRunner().run(pipe, catalog)
    keys = sorted(truth["key"])
    out = ds.folder / "reporting"
    assert sorted(p.stem for p in (out / "trajectories").glob("*.png")) == keys
    assert keys == sorted(sequence_key(g, s) for g, s in zip(truth["group"], truth["sequence"]))
    for p in (out / "trajectories").glob("*.png"):
        assert_not_blank(png_pixels(p))
    assert_not_blank(png_pixels(out / "feature_distributions.png"))
    if has_labels:
        assert sorted(p.stem for p in (out / "ethograms").glob("*.png")) == keys
        for p in (out / "ethograms").glob("*.png"):
            assert_not_blank(png_pixels(p))
