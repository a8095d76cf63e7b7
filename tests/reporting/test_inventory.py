"""Inventory: counts read back from hand-written index files, text rendering, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, write_index
from mosaic.core.safe_names import to_safe_name
from mosaic.features.engine import FEATURES_INDEX, feature_index_path
from mosaic.labels.io import labels_index_path
from mosaic.labels.schema import LABELS_INDEX
from mosaic.media.store import FRAMES_INDEX, frames_index_path
from mosaic.models.store import MODELS_INDEX, models_index_path, run_dir
from mosaic.reporting.inventory import inventory
from mosaic.reporting.inventory_text import format_inventory

PAIRS = [("g1", "s1"), ("g1", "s2"), ("g2", "s1"), ("g2", "s3")]


def _names(g, s):
    return {"group": g, "sequence": s, "group_safe": to_safe_name(g), "sequence_safe": to_safe_name(s) if s else ""}


def _index(path, rows, schema):
    """Write an index as the domain writes it: every declared column present."""
    df = pd.DataFrame(rows)
    for col in schema.columns:
        if col not in df.columns:
            df[col] = ""
    write_index(path, df, schema)


@pytest.fixture
def filled(dataset):
    """Indexes of every root, written with each domain's declared schema."""
    ds = dataset
    raw = [
        {**_names(g, s), "abs_path": f"tracks_raw/{g}/{s}_fish{k}.npz", "src_format": "trex_npz", "size_bytes": 10}
        for g, s in PAIRS
        for k in range(2)
    ]
    raw.append(
        {**_names("calms", ""), "abs_path": "tracks_raw/calms21/c.npy", "src_format": "calms21_npy", "size_bytes": 5}
    )
    _index(ds.get_root("tracks_raw") / "index.csv", raw, TRACKS_RAW_INDEX)
    tracks = [
        {
            **_names(g, s),
            "abs_path": f"tracks/{g}__{s}.parquet",
            "schema": "trex_v1",
            "src_format": "trex_npz",
            "n_rows": 200,
            "n_frames": 100,
            "n_ids": 2,
            "fps": 30.0,
        }
        for g, s in PAIRS
    ]
    _index(ds.get_root("tracks") / "index.csv", tracks, TRACKS_INDEX)
    labels = [
        {
            "kind": "behavior",
            "label_format": "individual_pair_v1",
            **_names(g, s),
            "abs_path": f"labels/behavior/{g}__{s}.npz",
            "n_frames": 100,
            "n_events": 150,
            "label_ids": "[0, 1, 2]",
            "label_names": '["none", "rest", "contact"]',
        }
        for g, s in PAIRS[:3]
    ]
    _index(labels_index_path(ds, "behavior"), labels, LABELS_INDEX)
    feats = [
        {
            "feature": "speed",
            "version": "1",
            "run_id": rid,
            **_names(g, s),
            "abs_path": f"features/speed/{rid}/{g}__{s}.parquet",
            "n_rows": 200,
            "params_json": json.dumps({"window": w}),
            "inputs_json": "[]",
            "created_iso": created,
        }
        for rid, w, created in (("aaaa1111", 3, "2026-01-01T00:00:00"), ("bbbb2222", 5, "2026-01-02T00:00:00"))
        for g, s in PAIRS
    ]
    _index(feature_index_path(ds, "speed"), feats, FEATURES_INDEX)
    frames = [
        {
            "method": "uniform",
            "run_id": "ffff0001",
            **_names(g, s),
            "frames_dir_path": f"frames/uniform/ffff0001/{g}__{s}",
            "run_info_path": f"frames/uniform/ffff0001/{g}__{s}/run_info.json",
            "n_frames": 5,
            "created_iso": "2026-01-03T00:00:00",
        }
        for g, s in PAIRS[:2]
    ]
    _index(frames_index_path(ds), frames, FRAMES_INDEX)
    _index(
        models_index_path(ds),
        [
            {
                "model": "behavior_classifier",
                "run_id": "mmmm0001",
                "kind": "classifier",
                "abs_path": "models/behavior_classifier/mmmm0001",
                "label_kind": "behavior",
                "macro_f1": 0.875,
                "n_rows": 400,
                "n_sequences": 4,
                "created_iso": "2026-01-04T00:00:00",
            }
        ],
        MODELS_INDEX,
    )
    mdir = run_dir(ds, "behavior_classifier", "mmmm0001")
    mdir.mkdir(parents=True)
    (mdir / "metrics.json").write_text(
        json.dumps({"accuracy": 0.9, "macro_f1": 0.875, "per_class": {"rest": {"f1": 0.8}}})
    )
    return ds


def test_inventory_counts(filled):
    inv = inventory(filled)
    assert inv["n_groups"] == 2 and inv["n_sequences"] == 4
    assert inv["groups"] == {"g1": ["s1", "s2"], "g2": ["s1", "s3"]}
    assert inv["tracks_raw"] == {"n_files": 9, "n_sequences": 4, "by_format": {"calms21_npy": 1, "trex_npz": 8}}
    assert (
        inv["tracks"]["n_sequences"] == 4 and inv["tracks"]["n_rows"] == 800 and inv["tracks"]["schemas"] == ["trex_v1"]
    )
    assert inv["tracks"]["n_frames"] == 400 and inv["tracks"]["n_ids_range"] == [2, 2]
    assert inv["labels"] == {
        "behavior": {
            "n_sequences": 3,
            "n_events": 450,
            "label_names": ["none", "rest", "contact"],
            "label_formats": ["individual_pair_v1"],
        }
    }
    assert [(r["run_id"], r["n_sequences"], r["n_rows"], r["params"]) for r in inv["features"]["speed"]] == [
        ("aaaa1111", 4, 800, {"window": 3}),
        ("bbbb2222", 4, 800, {"window": 5}),
    ]
    assert inv["frames"] == [
        {"method": "uniform", "run_id": "ffff0001", "n_sequences": 2, "n_frames": 10, "created": "2026-01-03T00:00:00"}
    ]
    assert inv["models"] == [
        {
            "model": "behavior_classifier",
            "run_id": "mmmm0001",
            "kind": "classifier",
            "label_kind": "behavior",
            "created_iso": "2026-01-04T00:00:00",
            "metrics": {"macro_f1": 0.875, "accuracy": 0.9},
        }
    ]
    assert inv["problems"] == []
    json.dumps(inv)  # plain data


def test_model_metrics_fall_back_to_the_index_when_the_file_is_gone(filled):
    (run_dir(filled, "behavior_classifier", "mmmm0001") / "metrics.json").unlink()
    (model,) = inventory(filled)["models"]
    assert model["metrics"] == {"macro_f1": 0.875}


def test_format_inventory_text(filled):
    text = format_inventory(inventory(filled))
    for expected in (
        "Recordings: 2 groups, 4 sequences",
        "g1: s1, s2",
        "Raw tracks: 9 files (calms21_npy: 1, trex_npz: 8)",
        "Converted tracks: 4 sequences, 800 rows",
        "behavior: 3 sequences, 450 events; labels: none, rest, contact",
        "speed run aaaa1111: 4 sequences, params {window=3}",
        "uniform run ffff0001: 2 sequences, 10 frames",
        "behavior_classifier run mmmm0001 (classifier, labels behavior): macro_f1=0.875, accuracy=0.900",
    ):
        assert expected in text, expected


def test_inventory_of_empty_dataset(dataset):
    inv = inventory(dataset)
    assert inv["n_sequences"] == 0 and inv["tracks"] is None and inv["tracks_raw"] is None
    assert inv["labels"] == {} and inv["features"] == {} and inv["frames"] == [] and inv["models"] == []
    text = format_inventory(inv)
    assert "Converted tracks: none" in text and "Models: 0 (none)" in text


def test_malformed_index_is_reported_not_raised(filled):
    bad = filled.get_root("labels") / "behavior" / "index.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage\x00\n\x00")
    inv = inventory(filled)
    assert inv["labels"] == {}
    assert len(inv["problems"]) == 1 and str(bad) in inv["problems"][0]
    assert "Problems: 1" in format_inventory(inv)


def test_facade_inventory_prints_and_returns(filled, capsys):
    from mosaic.facade.reporting import ReportingMixin

    inv = ReportingMixin.inventory(filled)
    assert inv["n_sequences"] == 4
    assert "Recordings: 2 groups, 4 sequences" in capsys.readouterr().out
    ReportingMixin.inventory(filled, print_it=False)
    assert capsys.readouterr().out == ""


def test_cli_inventory(filled, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mosaic", "inventory", str(filled.folder)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "Recordings: 2 groups, 4 sequences" in out.stdout
    js = subprocess.run(
        [sys.executable, "-m", "mosaic", "inventory", str(filled.folder), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(js.stdout)["n_sequences"] == 4
    missing = subprocess.run(
        [sys.executable, "-m", "mosaic", "inventory", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and str(tmp_path / "nowhere") in missing.stderr


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory):
    """A tiny converted demo with a cleaning run, a track-quality report and an imported keypoint-label set."""
    import numpy as np

    from mosaic import Dataset
    from mosaic.demo import make_demo_dataset
    from mosaic.interop.api import save_keypoint_labels

    folder = tmp_path_factory.mktemp("inv") / "ds"
    make_demo_dataset(folder, size="tiny", seed=0, videos=False, corruption=True)
    ds = Dataset.open(folder)
    ds.index_tracks_raw(
        ds.get_root("tracks_raw") / "trex", src_format="trex_npz", patterns="*.npz", group_from="parent"
    )
    ds.convert_all_tracks()
    ds.track_quality(plots=False)
    run = ds.clean_tracks()
    g, s = sorted(zip(ds.tracks_index()["group"], ds.tracks_index()["sequence"]))[0]
    # three labelled frames of two animals, two keypoints (as a DeepLabCut import would give)
    frames = np.repeat([3, 7, 20], 2)
    kp = pd.DataFrame(
        {
            "frame": frames,
            "time": frames / 25.0,
            "id": np.tile([0, 1], 3),
            "X": 1.0,
            "Y": 2.0,
            "poseX0": 1.0,
            "poseY0": 2.0,
            "poseX1": 3.0,
            "poseY1": 4.0,
            "group": g,
            "sequence": s,
        }
    )
    save_keypoint_labels(
        ds, "dlc", {(g, s): (kp, {"fps": 25.0, "src_format": "dlc_labels", "keypoint_names": ["snout", "tail"]})}
    )
    return ds, run, (g, s)


def test_inventory_lists_cleaned_runs_quality_and_keypoint_labels(cleaned):
    ds, run, (g, s) = cleaned
    inv = inventory(ds)
    assert inv["problems"] == []
    # expected values read straight from the files the runs wrote
    report = json.loads(run["report"].read_text())
    n_rows = sum(len(pd.read_parquet(p)) for p in run["paths"].values())
    n_interp = sum(int(pd.read_parquet(p)["interpolated"].sum()) for p in run["paths"].values())
    (clean,) = inv["tracks_clean"]
    assert clean["run_id"] == run["run_id"] and clean["n_sequences"] == len(run["paths"]) == inv["n_sequences"]
    assert clean["n_rows"] == n_rows and clean["n_interpolated_rows"] == n_interp and n_interp > 0
    assert clean["created"] == report["created_iso"]
    assert clean["operations"] == [op["op"] for op in report["operations"]] and len(clean["operations"]) >= 3
    qdir = ds.folder / "reporting" / "quality"
    assert inv["quality"]["folder"] == "reporting/quality"
    assert inv["quality"]["tables"] == {p.stem: len(pd.read_csv(p)) for p in sorted(qdir.glob("*.csv"))}
    assert (
        set(inv["quality"]["tables"]) == {"events", "individuals", "points"}
        and inv["quality"]["tables"]["individuals"] > 0
    )
    assert inv["quality"]["n_sequences"] == inv["n_sequences"]
    assert inv["keypoint_labels"] == {
        "dlc": {
            "n_sequences": 1,
            "n_frames": 3,
            "n_rows": 6,
            "keypoint_names": ["snout", "tail"],
            "src_formats": ["dlc_labels"],
        }
    }
    assert "keypoints" not in inv["labels"]  # not mistaken for a label kind
    text = format_inventory(inv)
    assert (
        f"Cleaned tracks: 1 run(s)\n  run {run['run_id']}: {len(run['paths'])} sequences, {n_rows} rows, {n_interp} interpolated"
        in text
    )
    assert f"Track quality: {inv['n_sequences']} sequences in reporting/quality (events: " in text
    assert "Keypoint labels: 1 import(s)\n  dlc: 1 sequences, 3 labelled frames; keypoints: snout, tail" in text


def test_inventory_reports_a_broken_clean_index_and_quality_table(cleaned, tmp_path):
    import shutil

    from mosaic import Dataset

    ds0, _, _ = cleaned
    shutil.copytree(ds0.folder, tmp_path / "copy")
    ds = Dataset.open(tmp_path / "copy")
    (ds.folder / "tracks_clean" / "index.csv").write_bytes(b"\xff\xfe\x00garbage\x00\n\x00")
    (ds.folder / "reporting" / "quality" / "points.csv").write_bytes(b'a,b\n"unclosed,1\n')
    inv = inventory(ds)
    assert (
        inv["tracks_clean"] == []
        and "points" not in inv["quality"]["tables"]
        and "individuals" in inv["quality"]["tables"]
    )
    assert any("tracks_clean" in p and "index.csv" in p for p in inv["problems"])
    assert any("points.csv" in p for p in inv["problems"])
