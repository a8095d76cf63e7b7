"""Recording length of labels: the tracks' frame count is the truth; later tracks report labels past their end."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tests.tracks.synth import write_trex

from .helpers import write_aggregated

BOUTS = [
    ("fish1", "walk", 1.0, 9.5, "", "STATE"),
    ("fish1", "bite", 7.0, 7.0, "", "POINT"),
    ("fish1", "rest", 0.0, 0.5, "", "STATE"),
]


def _export(dataset):
    (dataset.folder / "annotations").mkdir(exist_ok=True)
    return write_aggregated(dataset.folder / "annotations" / "agg.tsv", BOUTS, fps=10.0, media="v.mp4", total=10.0)


def _tracks(dataset, last_frame: int):
    write_trex(dataset.folder / "tracks_raw" / "trex" / "g", "v", {1: (0, last_frame)}, fps=10.0)
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz")


def _convert_tracks(dataset, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = dataset.convert_all_tracks(**kw)
    return report, [str(w.message) for w in caught if "past the end" in str(w.message)]


def test_labels_before_tracks_take_the_export_length_and_later_tracks_report_the_overrun(dataset):
    _export(dataset)
    rep = dataset.convert_all_labels(params={"paths": ["annotations/agg.tsv"], "default_group": "g"})
    assert rep.written == [("g", "v")] and rep.index["n_frames"].tolist() == [100]  # 10 s x 10 fps: no tracks yet
    _tracks(dataset, last_frame=49)
    report, msgs = _convert_tracks(dataset)
    # independent count: per-frame rows of the bouts at frames >= 50 (walk 10..94, bite 70, rest 0..4)
    walk = np.arange(10, 95)
    expected_past = int((walk >= 50).sum()) + 1
    assert report["labels_past_end"] == [
        {
            "issue": "labels_past_end",
            "kind": "behavior",
            "group": "g",
            "sequence": "v",
            "file": "labels/behavior/g__v.npz",
            "label_n_frames": 100,
            "tracks_n_frames": 50,
            "n_events_past_end": expected_past,
            "message": report["labels_past_end"][0]["message"],
        }
    ]
    assert len(msgs) == 1 and "g/v" in msgs[0]
    # converting the labels again takes the tracks' length, and the next tracks run has nothing to report
    rep = dataset.convert_all_labels(params={"paths": ["annotations/agg.tsv"], "default_group": "g"}, overwrite=True)
    assert rep.index["n_frames"].tolist() == [50]
    assert {i["issue"] for i in rep.issues} == {"past_end"}
    d = dataset.load_labels("g", "v")
    assert d["frames"].max() == 49
    report, msgs = _convert_tracks(dataset, overwrite=True)
    assert report["labels_past_end"] == [] and msgs == []


def test_labels_after_tracks_take_the_tracks_length(dataset):
    _tracks(dataset, last_frame=79)
    dataset.convert_all_tracks()
    _export(dataset)
    rep = dataset.convert_all_labels(params={"paths": ["annotations/agg.tsv"]})
    assert rep.written == [("g", "v")] and rep.index["n_frames"].tolist() == [80]
    past = [i for i in rep.issues if i["issue"] == "past_end"]
    assert len(past) == 1 and past[0]["behavior"] == "walk"  # 1.0-9.5 s ends after frame 80: clipped, reported
    idx = pd.read_csv(dataset.folder / "labels" / "behavior" / "index.csv")
    assert idx["n_frames"].tolist() == [80]
