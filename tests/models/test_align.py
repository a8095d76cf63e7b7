"""Aligning labels with features: exact hand-built cases (expected values worked out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, ModelError
from mosaic.models.align import (
    individual_targets,
    join_feature_tables,
    label_events,
    pair_targets,
    reduce_pair_features,
)

NAMES = np.array(["rest", "explore", "approach", "contact"])


def _labels(rows):
    """rows: (frame, subject, partner, label_id)."""
    a = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    return {
        "frames": a[:, 0].astype(np.int32),
        "individual_ids": a[:, 1:3].astype(np.int32),
        "labels": a[:, 3].astype(np.int32),
        "label_ids": np.arange(4, dtype=np.int32),
        "label_names": NAMES,
    }


def test_pair_labels_align_exactly_with_pair_feature_rows():
    # 3 animals, frames 0..2, all ordered pairs present
    rows = pd.DataFrame(
        [(f, a, b) for f in range(3) for a in range(3) for b in range(3) if a != b], columns=["frame", "id", "id2"]
    )
    # contact between 0 and 2 at frames 1-2 (both directions), approach 1->0 at frame 0 (both directions)
    labels = _labels(
        [(1, 0, 2, 3), (1, 2, 0, 3), (2, 0, 2, 3), (2, 2, 0, 3), (0, 1, 0, 2), (0, 0, 1, 2), (0, 2, -1, 0)]
    )  # an individual event must not label pair rows
    got = pair_targets(rows, labels, background="none")
    expected = {
        (1, 0, 2): "contact",
        (1, 2, 0): "contact",
        (2, 0, 2): "contact",
        (2, 2, 0): "contact",
        (0, 1, 0): "approach",
        (0, 0, 1): "approach",
    }
    want = [expected.get(k, "none") for k in rows.itertuples(index=False, name=None)]
    assert list(got) == want


def test_pair_targets_keep_row_order_and_unsorted_rows():
    rows = pd.DataFrame({"frame": [5, 0, 5], "id": [1, 0, 0], "id2": [0, 1, 1]})
    labels = _labels([(5, 0, 1, 3), (5, 1, 0, 3)])
    assert list(pair_targets(rows, labels, "bg")) == ["contact", "bg", "contact"]


def test_individual_targets_priority_own_label_beats_mirrored_pair_label():
    rows = pd.DataFrame({"frame": [0, 0, 1, 1, 2, 2], "id": [0, 1, 0, 1, 0, 1]})
    # frame 0: 0 approaches 1 (stored both ways); 1 rests (its own individual label)
    # frame 1: both in contact; frame 2: no labels at all for id 1, id 0 explores
    labels = _labels([(0, 0, 1, 2), (0, 1, 0, 2), (0, 1, -1, 0), (1, 0, 1, 3), (1, 1, 0, 3), (2, 0, -1, 1)])
    got = individual_targets(rows, labels, background="bg")
    assert list(got) == ["approach", "rest", "contact", "contact", "explore", "bg"]


def test_individual_targets_scene_events_and_priority_list():
    rows = pd.DataFrame({"frame": [0, 0, 1], "id": [3, 4, 3]})
    labels = _labels([(0, -1, -1, 1), (0, 3, -1, 0)])  # scene 'explore' at frame 0, id 3 rests
    assert list(individual_targets(rows, labels, "bg")) == ["rest", "explore", "bg"]
    # with an explicit priority the scene label wins
    assert list(individual_targets(rows, labels, "bg", priority=["explore"])) == ["explore", "explore", "bg"]


def test_individual_targets_empty_labels_give_background():
    rows = pd.DataFrame({"frame": [0, 1], "id": [0, 0]})
    labels = _labels(np.zeros((0, 4)))
    assert list(individual_targets(rows, labels, "bg")) == ["bg", "bg"]
    assert len(label_events(labels)) == 0


def test_reduce_pair_features_nearest_min_mean_exact():
    pair = pd.DataFrame(
        {
            "frame": [0, 0, 0, 0, 0, 0],
            "id": [0, 0, 1, 1, 2, 2],
            "id2": [1, 2, 0, 2, 0, 1],
            "distance_px": [5.0, 2.0, 5.0, 4.0, 2.0, np.nan],
            "approach": [1.0, 3.0, -1.0, 0.0, 6.0, 9.0],
        }
    )
    out = reduce_pair_features(pair, ["nearest", "min", "mean"]).set_index("id")
    assert out.loc[0, "distance_px@nearest"] == 2.0 and out.loc[0, "approach@nearest"] == 3.0
    assert out.loc[1, "distance_px@nearest"] == 4.0 and out.loc[1, "approach@nearest"] == 0.0
    # NaN distance ranks last
    assert out.loc[2, "distance_px@nearest"] == 2.0 and out.loc[2, "approach@nearest"] == 6.0
    assert out.loc[0, "approach@min"] == 1.0 and out.loc[0, "approach@mean"] == 2.0
    assert out.loc[2, "approach@mean"] == 7.5 and out.loc[2, "distance_px@mean"] == 2.0
    assert list(out["n_partners"]) == [2, 2, 2]


def test_reduce_pair_features_nearest_needs_distance_column():
    pair = pd.DataFrame({"frame": [0], "id": [0], "id2": [1], "speed": [1.0]})
    with pytest.raises(ConfigError, match="distance"):
        reduce_pair_features(pair, ["nearest"])
    auto = reduce_pair_features(pair, "auto")  # no distance column: min and mean only
    assert "speed@min" in auto and "speed@nearest" not in auto


def test_join_individual_and_pair_tables_for_both_targets():
    indiv = pd.DataFrame({"frame": [0, 0], "id": [0, 1], "speed": [1.0, 2.0]})
    pair = pd.DataFrame({"frame": [0, 0], "id": [0, 1], "id2": [1, 0], "distance": [3.0, 3.0]})
    ind = join_feature_tables([("kin", indiv), ("pair", pair)], "individual", ["nearest"])
    assert list(ind.columns) == ["frame", "id", "kin.speed", "pair.n_partners", "pair.distance@nearest"]
    prs = join_feature_tables([("kin", indiv), ("pair", pair)], "pair")
    assert list(prs["kin.speed"]) == [1.0, 2.0] and list(prs["kin.speed@partner"]) == [2.0, 1.0]
    with pytest.raises(ModelError, match="pair feature"):
        join_feature_tables([("kin", indiv)], "pair")


def test_non_integer_ids_are_a_named_error():
    rows = pd.DataFrame({"frame": [0], "id": ["fish0"]})
    with pytest.raises(ModelError, match="integer"):
        individual_targets(rows, _labels([(0, 0, -1, 0)]))
