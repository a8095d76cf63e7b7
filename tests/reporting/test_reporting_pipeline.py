"""Reporting nodes: run through Kedro with the catalog's dataset types; PNGs exist and are not blank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner

from mosaic.core.errors import ConfigError
from mosaic.core.safe_names import sequence_key
from mosaic.datasets.stores import FeatureStoreDataset
from mosaic.features.store import FeatureStore
from mosaic.pipelines.reporting_nodes import (
    create_reporting_pipeline,
    plot_feature_run_distributions,
    plot_label_ethograms,
    plot_tracks_trajectories,
    sample_feature_tables,
)
from mosaic.tracks.io import write_tracks

from .test_plots import TAB10, assert_not_blank, circle_tracks, has_color, png_pixels

PROJECT_CONF = __import__("pathlib").Path(__file__).resolve().parents[2] / "conf" / "base"
PAIRS = [("g1", "s1"), ("g1", "s 2/x"), ("g2", "s1")]


def _dataset_with_speed(dataset):
    """Tracks of PAIRS written into ``dataset`` (with their index) and one ``speed`` run."""
    from mosaic.core.indexes import TRACKS_INDEX, upsert_index
    from mosaic.core.safe_names import to_safe_name
    from mosaic.features import run_feature

    rows = []
    for k, (g, s) in enumerate(PAIRS):
        df = circle_tracks(k + 1).assign(group=g, sequence=s)
        path = write_tracks(df, dataset.get_root("tracks") / f"{sequence_key(g, s)}.parquet", {"fps": 30.0})
        rows.append(
            {
                "group": g,
                "sequence": s,
                "group_safe": to_safe_name(g),
                "sequence_safe": to_safe_name(s),
                "abs_path": dataset.relative_path(path),
                "schema": "trex_v1",
                "src_format": "test",
                "n_rows": len(df),
                "n_frames": int(df["frame"].nunique()),
                "n_ids": k + 1,
                "fps": 30.0,
            }
        )
    upsert_index(dataset.get_root("tracks") / "index.csv", rows, TRACKS_INDEX)
    result = run_feature(dataset, "speed")
    return {"results": [{"key": "speed", "feature": "speed", "run_id": result.run_id, "n_sequences": len(PAIRS)}]}


def _catalog(dataset, feature_results) -> DataCatalog:
    """The reporting entries of conf/base/catalog_reporting.yml, with paths in the test dataset."""
    conf = yaml.safe_load((PROJECT_CONF / "catalog_reporting.yml").read_text())
    out = dataset.folder / "reporting"
    cfg = {
        "tracks": {
            "type": "partitions.PartitionedDataset",
            "path": str(dataset.get_root("tracks")),
            "dataset": {"type": "pandas.ParquetDataset"},
            "filename_suffix": ".parquet",
        },
        "trajectory_plots": dict(conf["trajectory_plots"], path=str(out / "trajectories")),
        "feature_distribution_plot": dict(
            conf["feature_distribution_plot"], filepath=str(out / "feature_distributions.png")
        ),
    }
    params = yaml.safe_load((PROJECT_CONF / "parameters_reporting.yml").read_text())["reporting"]
    catalog = DataCatalog.from_config(cfg)
    catalog["feature_results"] = feature_results
    catalog["features@store"] = FeatureStoreDataset(path=str(dataset.folder))
    for key, value in params.items():
        catalog[f"params:reporting.{key}"] = value
    return catalog


def test_reporting_pipeline_writes_non_blank_pngs(dataset):
    feature_results = _dataset_with_speed(dataset)
    pipe = create_reporting_pipeline(tracks="tracks", feature_results="feature_results")
    assert {n.name for n in pipe.nodes} == {"plot_trajectories", "plot_feature_distributions"}
    SequentialRunner().run(pipe, _catalog(dataset, feature_results))
    out = dataset.folder / "reporting" / "trajectories"
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{sequence_key(g, s)}.png" for g, s in PAIRS)
    for k, (g, s) in enumerate(PAIRS):
        px = png_pixels(out / f"{sequence_key(g, s)}.png")
        assert_not_blank(px)
        # recording k has k + 1 individuals: exactly that many id colours
        assert [has_color(px, TAB10[i]) for i in range(4)] == [i <= k for i in range(4)]
    px = png_pixels(dataset.folder / "reporting" / "feature_distributions.png")
    assert_not_blank(px)
    assert has_color(px, TAB10[0]) and has_color(px, TAB10[1])  # groups g1 and g2


def test_feature_run_distribution_picks_the_named_step(dataset):
    feature_results = _dataset_with_speed(dataset)
    features = FeatureStore(dataset)
    fig = plot_feature_run_distributions(feature_results, features, {"feature": "speed", "columns": ["speed_px_s"]})
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["speed_px_s"]
    assert fig.get_suptitle() == f"speed (run {feature_results['results'][0]['run_id']})"
    with pytest.raises(ConfigError, match="nope"):
        plot_feature_run_distributions(feature_results, features, {"feature": "nope"})
    with pytest.raises(ConfigError, match="no feature run"):
        plot_feature_run_distributions({"results": []}, features, {})


def test_trajectory_node_is_lazy_and_titles_from_partition_ids():
    calls = []

    def loader():
        calls.append(1)
        return circle_tracks(2)

    out = plot_tracks_trajectories(
        {sequence_key("g 1", "s/1"): loader, sequence_key("g2", "s2"): loader}, {"max_sequences": 1}
    )
    assert calls == [] and len(out) == 1
    fig = next(iter(out.values()))()
    assert calls == [1]
    assert fig.axes[0].get_title() == "g 1 / s/1"


def test_feature_sample_is_bounded_and_tagged():
    df = pd.DataFrame({"frame": np.arange(1000), "id": 0, "speed": np.arange(1000.0)})
    sample = sample_feature_tables(iter([("g1", "s1", df), ("g2", "s1", df)]), max_rows_per_sequence=100)
    assert len(sample) == 200
    assert sample.groupby("group").size().to_dict() == {"g1": 100, "g2": 100}
    assert set(sample["sequence"]) == {"s1"}
    assert sample["speed"].between(0, 999).all()


def test_ethogram_node_is_lazy():
    from mosaic.labels.events import bouts_to_events

    f, lab, ids = bouts_to_events([0], [10], [1], [0], [-1])
    labels = {
        "frames": f,
        "labels": lab,
        "individual_ids": ids,
        "label_ids": np.array([0, 1]),
        "label_names": np.array(["none", "rest"]),
    }
    calls = []
    out = plot_label_ethograms({"g__s": lambda: calls.append(1) or labels})
    assert calls == []
    fig = out["g__s"]()
    assert calls == [1] and [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["rest"]


@pytest.mark.parametrize("features", [None, "feature_results"])
def test_pipeline_fragments(features):
    names = {n.name for n in create_reporting_pipeline(feature_results=features, labels="labels").nodes}
    assert names == {"plot_trajectories", "plot_ethograms"} | ({"plot_feature_distributions"} if features else set())
