"""Queries on hand-built events: individual, pair (both directions), scene, frame-range edges, dense table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, SequenceNotFoundError
from mosaic.labels import (
    LabelSet,
    events_table,
    get_label_map,
    get_labels_at_frame,
    get_labels_for_individual,
    get_labels_table,
    labels_to_dense,
    load_labels,
    save_label_sets,
)

NAMES = ["none", "walk", "chase", "lights"]


@pytest.fixture
def labelled(dataset):
    # rows written by hand (no helper): frames 0..4 fish 1 walks; frames 3..5 fish 1 chases fish 2 (both directions);
    # frames 4..5 scene 'lights'; fish 2 walks at frame 5 (its own behaviour alongside the mirrored chase)
    rows = [(f, 1, -1, 1) for f in range(5)] + [(f, 1, 2, 2) for f in (3, 4, 5)] + [(f, 2, 1, 2) for f in (3, 4, 5)]
    rows += [(f, -1, -1, 3) for f in (4, 5)] + [(5, 2, -1, 1)]
    a = np.array(rows)
    ls = LabelSet("G", "S", a[:, 0], a[:, 3], a[:, 1:3], np.arange(4), np.array(NAMES), fps=30.0, n_frames=8)
    save_label_sets(dataset, "behavior", [ls])
    return dataset


def test_load_labels_keys(labelled):
    d = load_labels(labelled, "G", "S")
    assert {
        "frames",
        "labels",
        "individual_ids",
        "label_ids",
        "label_names",
        "label_format",
        "group",
        "sequence",
        "sequence_key",
    } <= set(d)
    assert d["sequence_key"] == "G__S" and d["label_format"] == "individual_pair_v1" and len(d["frames"]) == 14
    assert get_label_map(labelled) == dict(enumerate(NAMES))


def test_missing_recording_is_a_named_error(labelled):
    with pytest.raises(SequenceNotFoundError) as e:
        load_labels(labelled, "G", "nope")
    assert "G__nope.npz" in str(e.value)


def _table(d):
    assert set(d) == {"frames", "labels", "individual_ids"}
    assert d["frames"].dtype == np.int32 and d["labels"].dtype == np.int32 and d["individual_ids"].dtype == np.int32
    assert d["individual_ids"].shape == (len(d["frames"]), 2) and len(d["labels"]) == len(d["frames"])
    return events_table(d, dict(enumerate(NAMES)))


def test_individual_and_frame_queries_return_dicts_of_arrays(labelled):
    d = get_labels_for_individual(labelled, "G", "S", 2)
    assert d["frames"].tolist() == [3, 4, 5, 5]
    assert d["labels"].tolist() == [2, 2, 1, 2]
    assert d["individual_ids"].tolist() == [[2, 1], [2, 1], [2, -1], [2, 1]]
    at5 = get_labels_at_frame(labelled, "G", "S", 5)
    assert sorted(
        zip(at5["individual_ids"][:, 0].tolist(), at5["individual_ids"][:, 1].tolist(), at5["labels"].tolist())
    ) == [(-1, -1, 3), (1, 2, 2), (2, -1, 1), (2, 1, 2)]
    none = get_labels_at_frame(labelled, "G", "S", 7)
    assert none["frames"].shape == (0,) and none["individual_ids"].shape == (0, 2)
    # the table view: the same rows with names
    t = get_labels_table(labelled, "G", "S", individual_id=1, frame_range=(3, 5))
    assert list(zip(t["frame"], t["id2"], t["label_name"])) == [
        (3, -1, "walk"),
        (3, 2, "chase"),
        (4, -1, "walk"),
        (4, 2, "chase"),
    ]
    assert get_labels_table(labelled, "G", "S", frame=4)["label_name"].tolist().count("chase") == 2
    assert len(get_labels_table(labelled, "G", "S")) == 14
    assert events_table({"frames": [1], "labels": [9], "individual_ids": [[0, -1]]})["label_name"].tolist() == ["9"]


def test_labels_for_individual_with_pair_both_directions(labelled):
    f1 = _table(get_labels_for_individual(labelled, "G", "S", 1))
    assert list(zip(f1["frame"], f1["id2"], f1["label_name"])) == [
        (0, -1, "walk"),
        (1, -1, "walk"),
        (2, -1, "walk"),
        (3, -1, "walk"),
        (3, 2, "chase"),
        (4, -1, "walk"),
        (4, 2, "chase"),
        (5, 2, "chase"),
    ]
    f2 = _table(get_labels_for_individual(labelled, "G", "S", 2))
    assert list(zip(f2["frame"], f2["id2"], f2["label"])) == [(3, 1, 2), (4, 1, 2), (5, -1, 1), (5, 1, 2)]
    scene = _table(get_labels_for_individual(labelled, "G", "S", -1))
    assert scene["frame"].tolist() == [4, 5] and set(scene["label_name"]) == {"lights"}
    assert _table(get_labels_for_individual(labelled, "G", "S", 9)).empty


@pytest.mark.parametrize(
    "rng,frames",
    [
        ((0, 1), [0]),
        ((4, 5), [4, 4]),
        ((5, 6), [5]),
        ((5, None), [5]),
        ((None, 1), [0]),
        ((6, 100), []),
        ((0, 0), []),
    ],
)
def test_frame_range_edges(labelled, rng, frames):
    got = _table(get_labels_for_individual(labelled, "G", "S", 1, frame_range=rng))
    assert got["frame"].tolist() == frames


def test_bad_frame_range(labelled):
    with pytest.raises(ConfigError):
        get_labels_for_individual(labelled, "G", "S", 1, frame_range=(1, 2, 3))


def test_labels_at_frame(labelled):
    at4 = _table(get_labels_at_frame(labelled, "G", "S", 4))
    assert sorted(zip(at4["id"], at4["id2"], at4["label_name"])) == [
        (-1, -1, "lights"),
        (1, -1, "walk"),
        (1, 2, "chase"),
        (2, 1, "chase"),
    ]
    only2 = _table(get_labels_at_frame(labelled, "G", "S", 5, individual_id=2))
    assert sorted(zip(only2["id2"], only2["label_name"])) == [(-1, "walk"), (1, "chase")]
    assert _table(get_labels_at_frame(labelled, "G", "S", 0, individual_id=2)).empty
    assert _table(get_labels_at_frame(labelled, "G", "S", 7)).empty  # inside the recording, nothing labelled


def test_dense_table(labelled):
    d = load_labels(labelled, "G", "S")
    dense = labels_to_dense(d, frames=np.arange(7), ids=[1, 2, -1], background="none")
    assert list(dense.columns) == ["frame", "id", "label", "label_name", "id2"]
    assert len(dense) == 21
    t = dense.set_index(["frame", "id"])
    # independent expectations per cell
    exp = {}
    for f in range(7):
        exp[(f, 1)] = ("walk", -1) if f <= 4 else ("chase", 2) if f == 5 else ("none", -1)
        exp[(f, 2)] = ("chase", 1) if f in (3, 4) else ("walk", -1) if f == 5 else ("none", -1)
        exp[(f, -1)] = ("lights", -1) if f in (4, 5) else ("none", -1)
    for key, (name, id2) in exp.items():
        assert (t.loc[key, "label_name"], t.loc[key, "id2"]) == (name, id2), key
    assert dense["frame"].is_monotonic_increasing


def test_dense_defaults_and_background_none(labelled):
    d = load_labels(labelled, "G", "S")
    dense = labels_to_dense(d)
    assert sorted(set(dense["id"])) == [1, 2] and dense["frame"].max() == 5
    cell = dense[(dense["frame"] == 0) & (dense["id"] == 2)].iloc[0]
    assert cell["label"] == -1 and pd.isna(cell["label_name"])
    with pytest.raises(ConfigError):
        labels_to_dense(d, background="sleep")


def test_dense_on_empty_labels():
    d = {
        "frames": np.zeros(0, np.int32),
        "labels": np.zeros(0, np.int32),
        "individual_ids": np.zeros((0, 2), np.int32),
        "label_ids": np.array([0]),
        "label_names": np.array(["none"]),
    }
    dense = labels_to_dense(d, frames=[0, 1], ids=[0], background=0)
    pd.testing.assert_frame_equal(
        dense.reset_index(drop=True),
        pd.DataFrame({"frame": [0, 1], "id": [0, 0], "label": [0, 0], "label_name": ["none", "none"], "id2": [-1, -1]}),
        check_dtype=False,
    )
