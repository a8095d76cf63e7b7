"""Plots: each figure saved to PNG exists, is not blank, and draws what it was given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from mosaic.core.errors import ConfigError, FeatureError, LabelFormatError, SchemaError
from mosaic.labels.events import bouts_to_events
from mosaic.reporting.plots import (
    plot_confusion_matrix,
    plot_ethogram,
    plot_feature_distributions,
    plot_trajectories,
    save_figure,
)

PROJECT_DIR = __import__("pathlib").Path(__file__).resolve().parents[2]
TAB10 = [to_rgb(f"C{i}") for i in range(10)]


def png_pixels(path) -> np.ndarray:
    assert path.exists() and path.stat().st_size > 1000
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255.0


def assert_not_blank(px: np.ndarray, min_colors: int = 3) -> None:
    assert px.std() > 0.05, "image is (almost) uniform"
    colors = np.unique((px * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colors) >= min_colors


def has_color(px: np.ndarray, rgb, tol: float = 0.04) -> bool:
    return bool((np.abs(px - np.asarray(rgb)).max(axis=-1) < tol).any())


def circle_tracks(n_ids: int = 3, n_frames: int = 200, gap=(50, 60)) -> pd.DataFrame:
    t = np.arange(n_frames)
    parts = []
    for i in range(n_ids):
        x = 200 + (40 + 30 * i) * np.cos(t / 20)
        y = 150 + (40 + 30 * i) * np.sin(t / 20)
        x[gap[0] : gap[1]] = np.nan
        y[gap[0] : gap[1]] = np.nan
        parts.append(
            pd.DataFrame({"frame": t, "time": t / 30.0, "id": i, "X": x, "Y": y, "group": "g1", "sequence": "s1"})
        )
    return pd.concat(parts).sort_values(["frame", "id"]).reset_index(drop=True)


def test_trajectories_png_has_one_colour_per_id(tmp_path):
    fig = plot_trajectories(circle_tracks(3))
    path = save_figure(fig, tmp_path / "traj.png")
    px = png_pixels(path)
    assert_not_blank(px)
    for i in range(3):
        assert has_color(px, TAB10[i]), f"id {i} colour missing"
    assert not has_color(px, TAB10[3])
    ax = fig.axes[0]
    assert ax.get_title() == "g1 / s1"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["id 0", "id 1", "id 2"]
    # y axis points down (image coordinates)
    lo, hi = ax.get_ylim()
    assert lo > hi


def test_trajectories_one_individual_and_nan_gap_breaks_line(tmp_path):
    df = circle_tracks(1)
    fig = plot_trajectories(df, arena_size=(400, 300))
    line = fig.axes[0].get_lines()[0]
    y = np.asarray(line.get_ydata(), dtype=float)
    assert np.isnan(y[50:60]).all() and np.isfinite(y[:50]).all()
    assert fig.axes[0].get_xlim() == (0.0, 400.0)
    assert_not_blank(png_pixels(save_figure(fig, tmp_path / "one.png")))


def test_trajectories_subsample_long_tracks():
    fig = plot_trajectories(circle_tracks(2, n_frames=1000, gap=(0, 0)), max_points_per_id=100)
    assert all(len(line.get_xdata()) <= 100 for line in fig.axes[0].get_lines())


def test_trajectories_missing_column_is_named():
    with pytest.raises(SchemaError, match="X"):
        plot_trajectories(pd.DataFrame({"frame": [0], "id": [0], "Y": [1.0]}))


def _labels_dict():
    names = np.array(["none", "rest", "explore", "contact"])
    # id 0 rests [0, 30), explores [30, 60); id 1 explores [10, 40); pair contact 0<->1 [60, 90)
    frames, labels, ids = bouts_to_events(
        [0, 30, 10, 60], [30, 60, 40, 90], [1, 2, 2, 3], [0, 0, 1, 0], [-1, -1, -1, 1]
    )
    return {
        "frames": frames,
        "labels": labels,
        "individual_ids": ids,
        "label_ids": np.arange(4, dtype=np.int32),
        "label_names": names,
        "fps": 30.0,
        "group": "g1",
        "sequence": "s1",
    }


def _bar_extent_by_color(ax) -> dict[tuple, float]:
    """Sum of bar widths per face colour, read back from the drawn collections."""
    from matplotlib.collections import PolyCollection

    out: dict[tuple, float] = {}
    for coll in ax.collections:
        if not isinstance(coll, PolyCollection):
            continue
        color = tuple(np.round(coll.get_facecolor()[0][:3], 3))
        for p in coll.get_paths():
            xs = p.vertices[:, 0]
            out[color] = out.get(color, 0.0) + (xs.max() - xs.min())
    return out


def test_ethogram_draws_every_bout_in_seconds(tmp_path):
    fig = plot_ethogram(_labels_dict())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["id 0", "id 1"]
    assert ax.get_xlabel() == "time (s)"
    widths = _bar_extent_by_color(ax)
    # label colours follow the drawn labels (background 'none' skipped): rest C0, explore C1, contact C2
    rest, explore, contact = (tuple(np.round(TAB10[i], 3)) for i in range(3))
    assert widths[rest] == pytest.approx(30 / 30.0)
    assert widths[explore] == pytest.approx((30 + 30) / 30.0)
    assert widths[contact] == pytest.approx(2 * 30 / 30.0)  # both directions, one bar per subject row
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rest", "explore", "contact"]
    px = png_pixels(save_figure(fig, tmp_path / "etho.png"))
    assert_not_blank(px)
    for i in range(3):
        assert has_color(px, TAB10[i])


def test_ethogram_from_dense_table_in_frames(tmp_path):
    t = np.arange(100)
    dense = pd.DataFrame(
        {"frame": np.tile(t, 2), "id": np.repeat([0, 1], 100), "label": np.where(np.tile(t, 2) < 40, "rest", "explore")}
    )
    fig = plot_ethogram(dense)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "frame"
    widths = _bar_extent_by_color(ax)
    # categories sorted: explore C0, rest C1
    assert widths[tuple(np.round(TAB10[0], 3))] == pytest.approx(2 * 60)
    assert widths[tuple(np.round(TAB10[1], 3))] == pytest.approx(2 * 40)
    assert_not_blank(png_pixels(save_figure(fig, tmp_path / "dense.png")))


def test_ethogram_bad_input_named():
    with pytest.raises(LabelFormatError, match="labels"):
        plot_ethogram({"frames": np.arange(3)})
    with pytest.raises(LabelFormatError, match="label"):
        plot_ethogram(pd.DataFrame({"frame": [0, 1]}))


def test_feature_distributions_one_panel_per_column_one_line_per_group(tmp_path):
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame(
        {
            "frame": np.arange(n),
            "id": 0,
            "group": np.repeat(["a", "b"], n // 2),
            "speed": np.r_[rng.normal(0, 1, n // 2), rng.normal(5, 1, n // 2)],
            "turn": rng.uniform(-3, 3, n),
        }
    )
    df.loc[:10, "turn"] = np.nan
    fig = plot_feature_distributions(df)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in visible] == ["speed", "turn"]
    from matplotlib.patches import StepPatch

    steps = [p for p in visible[0].patches if isinstance(p, StepPatch)]
    assert len(steps) == 2
    # densities integrate to 1 per group
    for p in steps:
        vals, edges = p.get_data().values, p.get_data().edges
        assert float((vals * np.diff(edges)).sum()) == pytest.approx(1.0)
    assert_not_blank(png_pixels(save_figure(fig, tmp_path / "feat.png")))


def test_feature_distributions_errors():
    with pytest.raises(FeatureError, match="missing"):
        plot_feature_distributions(pd.DataFrame({"frame": [0], "speed": [1.0]}), ["nope"])
    with pytest.raises(FeatureError, match="no numeric"):
        plot_feature_distributions(pd.DataFrame({"frame": [0], "id": [1]}))


def test_confusion_matrix_row_normalised_values(tmp_path):
    m = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 5]])
    fig = plot_confusion_matrix(m, ["rest", "explore", "contact"], title="cm")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.80", "0.20", "0.00", "0.25", "0.75", "0.00", "0.00", "0.00", "1.00"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rest", "explore", "contact"]
    counts = plot_confusion_matrix(m, ["a", "b", "c"], normalize=False)
    assert [t.get_text() for t in counts.axes[0].texts][:3] == ["8", "2", "0"]
    assert_not_blank(png_pixels(save_figure(fig, tmp_path / "cm.png")))


def test_confusion_matrix_shape_mismatch():
    with pytest.raises(ConfigError, match=r"\(2, 3\)"):
        plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"])


def test_save_figure_is_atomic_and_leaves_no_temp(tmp_path):
    fig = plot_confusion_matrix(np.eye(2), ["a", "b"])
    save_figure(fig, tmp_path / "out" / "cm.png")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cm.png"]


def test_empty_inputs_give_empty_but_valid_figures(tmp_path):
    empty_tracks = pd.DataFrame(
        {
            "frame": pd.Series(dtype="int64"),
            "id": pd.Series(dtype="int64"),
            "X": pd.Series(dtype=float),
            "Y": pd.Series(dtype=float),
        }
    )
    fig = plot_trajectories(empty_tracks)
    assert fig.axes[0].get_lines() == [] and fig.axes[0].get_legend() is None
    empty_labels = {
        "frames": np.zeros(0, np.int32),
        "labels": np.zeros(0, np.int32),
        "individual_ids": np.zeros((0, 2), np.int32),
        "label_ids": np.arange(2),
        "label_names": np.array(["rest", "explore"]),
    }
    fig = plot_ethogram(empty_labels, n_frames=100)
    assert fig.axes[0].get_yticklabels() == [] and fig.axes[0].get_xlim() == (0.0, 100.0)
    df = pd.DataFrame({"frame": np.arange(5), "speed": np.full(5, np.nan)})
    fig = plot_feature_distributions(df)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no finite values"]
    for i, f in enumerate((fig,)):
        save_figure(f, tmp_path / f"{i}.png")


def test_string_ids_and_scene_level_rows():
    df = circle_tracks(2).assign(id=lambda d: d["id"].map({0: "alice", 1: "bob"}))
    fig = plot_trajectories(df)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["id alice", "id bob"]
    frames, labels, ids = bouts_to_events([0], [10], [1])  # scene-level bout
    fig = plot_ethogram(
        {
            "frames": frames,
            "labels": labels,
            "individual_ids": ids,
            "label_ids": np.array([0, 1]),
            "label_names": np.array(["none", "lights_on"]),
        }
    )
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["scene"]
