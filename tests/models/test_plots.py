"""The prediction ethogram: one row per (track, true/pred), class codes per frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mosaic.models.plots import plot_prediction_ethogram


def test_prediction_ethogram_rows_hold_true_and_predicted_codes_per_track():
    classes = ["background", "rest", "approach"]
    pred = pd.DataFrame(
        {
            "frame": [12, 10, 11, 10, 12],
            "id": [1, 0, 0, 1, 1],
            "id2": [0, 1, 1, 0, 0],
            "label": ["rest", "approach", "background", "rest", "unknown"],
            "pred": ["rest", "approach", "rest", "approach", "rest"],
        }
    )
    fig = plot_prediction_ethogram(pred, classes, title="g / s", track_cols=("id", "id2"))
    ax = fig.axes[0]
    grid = np.ma.filled(ax.images[0].get_array().astype(float), np.nan)
    nan = np.nan
    expected = np.array(
        [
            [2, 0, nan],  # 0→1 true (frames 10, 11, 12)
            [2, 1, nan],  # 0→1 pred
            [1, nan, nan],  # 1→0 true ('unknown' is no class)
            [2, nan, 1],  # 1→0 pred
        ]
    )
    np.testing.assert_array_equal(grid, expected)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0→1 true", "0→1 pred", "1→0 true", "1→0 pred"]
    assert ax.images[0].get_extent() == [9.5, 12.5, 3.5, -0.5]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == classes
    assert ax.get_title() == "g / s"


def test_prediction_ethogram_without_true_labels_draws_only_predictions():
    pred = pd.DataFrame({"frame": [0, 1, 2], "id": [3, 3, 3], "pred": ["b", "a", "b"]})
    ax = plot_prediction_ethogram(pred, ["a", "b"]).axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), [[1, 0, 1]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3 pred"]
