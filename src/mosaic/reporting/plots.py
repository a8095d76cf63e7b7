"""Plots as pure functions: data in, ``matplotlib.figure.Figure`` out.

Figures are built with :class:`matplotlib.figure.Figure` directly (no ``pyplot`` state), so
they can be returned from Kedro nodes and saved by kedro-datasets' ``matplotlib.MatplotlibDataset``,
shown inline in a notebook, or written with :func:`save_figure`.

The module is long (close to 500 lines) because it holds every shared plot (trajectories,
ethogram, feature distributions, confusion matrix), each a public function with a full
numpydoc docstring and its small drawing helpers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import ConfigError, FeatureError, LabelFormatError, SchemaError
from mosaic.core.validate import positive_or_none

KEY_COLUMNS = ("frame", "time", "id", "id2", "group", "sequence", "group_safe", "sequence_safe")
"""Columns of a feature table that identify a row and are never plotted as features."""


def id_colors(n: int) -> list:
    """``n`` stable, distinct colours (RGBA in 0..1): tab10, then tab20, then a hue wheel."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["hsv"](i / n) for i in range(n)]


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix, PNG by default)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return path


# --------------------------------------------------------------------------- trajectories
def _draw_trajectories(ax: Any, tracks: pd.DataFrame, max_points_per_id: int) -> np.ndarray:
    """One line per individual (subsampled), a dot at its first position; return the ids in drawing order."""
    ids = pd.unique(tracks["id"])
    ids = np.sort(ids) if len(ids) and np.asarray(ids).dtype.kind in "iuf" else ids
    colors = id_colors(len(ids))
    codes = pd.Categorical(tracks["id"], categories=ids).codes
    xy = tracks[["X", "Y"]].to_numpy(dtype=np.float64, na_value=np.nan)
    for k, ident in enumerate(ids):
        pts = xy[codes == k]
        step = max(1, int(np.ceil(len(pts) / max(1, max_points_per_id))))
        pts = pts[::step]
        ax.plot(pts[:, 0], pts[:, 1], color=colors[k], lw=0.8, alpha=0.9, label=f"id {ident}")
        finite = np.flatnonzero(np.isfinite(pts).all(axis=1))
        if len(finite):
            ax.plot(*pts[finite[0]], marker="o", color=colors[k], ms=5)
    return ids


def plot_trajectories(
    tracks: pd.DataFrame,
    *,
    title: str | None = None,
    arena_size: tuple[float, float] | None = None,
    max_points_per_id: int = 20_000,
    figsize: tuple[float, float] = (6.0, 5.0),
) -> Figure:
    """Trajectories of one recording, one colour per individual.

    Parameters
    ----------
    tracks
        A ``trex_v1`` table (columns ``frame``, ``id``, ``X``, ``Y`` at least; pixels). NaN
        positions break the line.
    title
        Axes title; default ``"<group> / <sequence>"`` when those columns are present.
    arena_size
        ``(width, height)`` in pixels to fix the axes limits; default: the data range.
    max_points_per_id
        Longer trajectories are subsampled by a constant stride to at most this many points.
    figsize
        Figure size in inches.

    Returns
    -------
    Figure
        Image coordinates (y grows downwards), equal aspect, a legend of ids.

    Raises
    ------
    SchemaError
        ``tracks`` lacks ``id``, ``X`` or ``Y``.
    """
    missing = [c for c in ("id", "X", "Y") if c not in tracks.columns]
    if missing:
        raise SchemaError(
            "cannot plot trajectories: track table lacks columns",
            expected=["frame", "id", "X", "Y"],
            found=f"missing {missing}",
        )
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    if "frame" in tracks.columns:
        tracks = tracks.sort_values(["id", "frame"], kind="stable")
    ids = _draw_trajectories(ax, tracks, max_points_per_id)
    _image_axes(ax, arena_size)
    if title is None and {"group", "sequence"} <= set(tracks.columns) and len(tracks):
        title = f"{tracks['group'].iloc[0]} / {tracks['sequence'].iloc[0]}"
    if title:
        ax.set_title(title)
    if len(ids):
        ax.legend(loc="upper right", fontsize="small", ncols=1 if len(ids) <= 8 else 2, frameon=True)
    return fig


def _image_axes(ax: Any, arena_size: tuple[float, float] | None) -> None:
    """Pixel axes in image orientation (y down), equal aspect; fixed to ``arena_size`` when given."""
    if arena_size is not None:
        ax.set_xlim(0, float(arena_size[0]))
        ax.set_ylim(float(arena_size[1]), 0)
    else:
        ax.invert_yaxis()
    ax.set_aspect("equal", adjustable="datalim" if arena_size is None else "box")
    ax.set_xlabel("X (px)")
    ax.set_ylabel("Y (px)")


# --------------------------------------------------------------------------- ethogram
def _bouts_from_labels(labels: Mapping[str, Any] | pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
    """Bouts ``(start, stop, label, id_a, id_b)`` and ``{label_id: name}`` from labels."""
    from mosaic.labels.events import events_to_bouts

    if isinstance(labels, pd.DataFrame):
        missing = [c for c in ("frame", "label") if c not in labels.columns]
        if missing:
            raise LabelFormatError(
                "dense label table lacks columns", expected=["frame", "id", "label"], found=f"missing {missing}"
            )
        lab = labels["label"]
        if pd.api.types.is_numeric_dtype(lab):
            codes = lab.to_numpy(dtype=np.int64)
            names = {int(c): str(c) for c in np.unique(codes)}
        else:
            cat = pd.Categorical(lab.astype(str))
            codes = cat.codes.astype(np.int64)
            names = dict(enumerate(cat.categories))
        subject = (
            labels["id"].to_numpy(dtype=np.int64) if "id" in labels.columns else np.full(len(labels), -1, np.int64)
        )
        ids = np.stack([subject, np.full(len(labels), -1, np.int64)], axis=1)
        return events_to_bouts(labels["frame"].to_numpy(dtype=np.int64), codes, ids), names
    missing = [k for k in ("frames", "labels") if k not in labels]
    if missing:
        raise LabelFormatError(
            "label dict lacks keys",
            expected=["frames", "labels", "individual_ids", "label_ids", "label_names"],
            found=f"missing {missing}",
        )
    frames = np.asarray(labels["frames"])
    ids = labels.get("individual_ids")
    ids = np.full((len(frames), 2), -1, np.int64) if ids is None else np.asarray(ids)
    lids = np.asarray(labels.get("label_ids", np.unique(np.asarray(labels["labels"]))))
    lnames = labels.get("label_names")
    lnames = [str(x) for x in lids] if lnames is None else [str(x) for x in np.asarray(lnames)]
    return events_to_bouts(frames, labels["labels"], ids), dict(zip((int(x) for x in lids), lnames))


def plot_ethogram(
    labels: Mapping[str, Any] | pd.DataFrame,
    *,
    fps: float | None = None,
    background: Sequence[str] = ("none", "background"),
    include_pairs: bool = True,
    title: str | None = None,
    n_frames: int | None = None,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Behaviour bouts over time, one row per individual (and one for scene-level events).

    Parameters
    ----------
    labels
        Either the dict of :func:`mosaic.labels` ``load_labels`` (``frames``, ``labels``,
        ``individual_ids``, ``label_ids``, ``label_names``), or a dense table with columns
        ``frame``, ``id`` (optional) and ``label`` (ids or names).
    fps
        Frames per second: the x axis is in seconds when given (default: the dict's ``fps``
        when finite), else in frames.
    background
        Label names that are not drawn (the filler label).
    include_pairs
        Draw pair events on the row of their subject (``individual_ids[:, 0]``), hatched.
    title
        Axes title; default ``"<group> / <sequence>"`` from the dict.
    n_frames
        Recording length in frames, to fix the x range.
    figsize
        Figure size in inches (default grows with the number of rows).

    Returns
    -------
    Figure
        Rows labelled ``id <k>`` (``scene`` for ``-1``), colour by behaviour, with a legend.

    Raises
    ------
    LabelFormatError
        ``labels`` lacks the required keys or columns.
    """
    bouts, names = _bouts_from_labels(labels)
    fps, title = _fps_and_title(labels, fps, title)
    bouts, drawn_ids = _drawn_bouts(bouts, names, background, include_pairs)
    rows = sorted(pd.unique(bouts["id_a"]).tolist())
    colors = dict(zip(drawn_ids, id_colors(len(drawn_ids))))
    fig = Figure(figsize=figsize or (8.0, 1.2 + 0.5 * max(1, len(rows))), layout="constrained")
    ax = fig.add_subplot()
    scale = 1.0 / fps if fps else 1.0
    _draw_bouts(ax, bouts, rows, colors, scale)
    _ethogram_axes(ax, rows, bouts, n_frames, scale, "time (s)" if fps else "frame")
    _behaviour_legend(ax, bouts, colors, names)
    if title:
        ax.set_title(title)
    return fig


def _fps_and_title(
    labels: Mapping[str, Any] | pd.DataFrame, fps: float | None, title: str | None
) -> tuple[float | None, str | None]:
    """``fps`` and ``title``, defaulting to the label dict's finite ``fps`` and its group / sequence."""
    if fps is None and isinstance(labels, Mapping) and "fps" in labels:
        fps = positive_or_none(np.asarray(labels["fps"]))
    if title is None and isinstance(labels, Mapping) and "group" in labels and "sequence" in labels:
        title = f"{np.asarray(labels['group'])} / {np.asarray(labels['sequence'])}"
    return fps, title


def _drawn_bouts(
    bouts: pd.DataFrame, names: Mapping[int, str], background: Sequence[str], include_pairs: bool
) -> tuple[pd.DataFrame, list[int]]:
    """The bouts to draw (no background label, pair bouts only with ``include_pairs``) and the drawn label ids."""
    bg = {str(b) for b in background}
    drawn_ids = [i for i, n in sorted(names.items()) if n not in bg]
    if not include_pairs:
        bouts = bouts[bouts["id_b"] < 0]
    return bouts[bouts["label"].isin(drawn_ids)], drawn_ids


def _draw_bouts(ax: Any, bouts: pd.DataFrame, rows: list, colors: Mapping[int, Any], scale: float) -> None:
    """One bar per bout on its subject's row (pair bouts hatched); x in frames times ``scale``."""
    for r, subject in enumerate(rows):
        sub = bouts[bouts["id_a"] == subject]
        for lab, part in sub.groupby("label", sort=True):
            for is_pair, pp in part.groupby(part["id_b"] >= 0):
                spans = np.stack(
                    [pp["start"].to_numpy() * scale, (pp["stop"] - pp["start"]).to_numpy() * scale], axis=1
                )
                ax.broken_barh(
                    spans,
                    (r - 0.4, 0.8),
                    facecolors=colors[int(lab)],
                    hatch="//" if is_pair else None,
                    edgecolor="white" if is_pair else "none",
                    linewidth=0,
                )


def _ethogram_axes(ax: Any, rows: list, bouts: pd.DataFrame, n_frames: int | None, scale: float, xlabel: str) -> None:
    """One row per subject (``scene`` for -1) from the top; x from 0 to ``n_frames`` (default: the last bout's end)."""
    ax.set_yticks(range(len(rows)), ["scene" if s < 0 else f"id {s}" for s in rows])
    ax.set_ylim(len(rows) - 0.5 if rows else 0.5, -0.5)
    ax.set_xlabel(xlabel)
    if n_frames is not None:
        ax.set_xlim(0, n_frames * scale)
    elif len(bouts):
        ax.set_xlim(0, float(bouts["stop"].max()) * scale)


def _behaviour_legend(ax: Any, bouts: pd.DataFrame, colors: Mapping[int, Any], names: Mapping[int, str]) -> None:
    """A legend of the behaviours drawn, outside the axes on the right."""
    from matplotlib.patches import Patch

    present = sorted(pd.unique(bouts["label"]).tolist())
    handles = [Patch(facecolor=colors[int(i)], label=names[int(i)]) for i in present]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)


# --------------------------------------------------------------------------- features
def _plotted_columns(features: pd.DataFrame, columns: Sequence[str] | None, max_columns: int) -> list[str]:
    """``columns`` checked against ``features``, or the first ``max_columns`` numeric feature columns."""
    if columns is None:
        columns = [c for c in features.columns if c not in KEY_COLUMNS and pd.api.types.is_numeric_dtype(features[c])][
            :max_columns
        ]
        if not columns:
            raise FeatureError(
                "no numeric feature column to plot",
                expected="numeric columns besides frame/id",
                found=list(features.columns),
            )
    else:
        absent = [c for c in columns if c not in features.columns]
        if absent:
            raise FeatureError(
                "feature table lacks requested columns", expected=list(columns), found=f"missing {absent}"
            )
    return list(columns)


def _draw_histograms(
    ax: Any, v: np.ndarray, col: str, gcodes: np.ndarray, group_names: list[str], colors: Mapping[str, Any], bins: int
) -> None:
    """One panel: a density histogram of ``v`` per group over the central 99 % of its finite values."""
    finite = np.isfinite(v)
    if not finite.any():
        ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(col)
        return
    lo, hi = np.nanpercentile(v[finite], [0.5, 99.5])
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    for k, g in enumerate(group_names):
        sel = v[(gcodes == k) & finite]
        sel = sel[(sel >= lo) & (sel <= hi)]  # the central 99 % of all groups' values; outliers left out
        if len(sel) == 0:
            continue
        counts, _ = np.histogram(sel, bins=edges, density=True)
        ax.stairs(counts, edges, color=colors[g], label=str(g), lw=1.4)
    ax.set_title(col)
    ax.set_ylabel("density")


def plot_feature_distributions(
    features: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    group_column: str = "group",
    bins: int = 40,
    max_columns: int = 9,
    title: str | None = None,
) -> Figure:
    """Histograms of feature columns, one panel per column, one line per group.

    Parameters
    ----------
    features
        A feature table (rows per (frame, id)); every numeric column not in
        :data:`KEY_COLUMNS` is a candidate.
    columns
        Feature columns to draw (default: the first ``max_columns`` numeric ones).
    group_column
        Column whose values split the distributions (absent: one distribution, ``all``).
    bins
        Number of bins, shared by the groups of one panel, over the central 99 % (0.5th to 99.5th
        percentile) of the column's finite values; outliers beyond are left out.
    max_columns
        Upper bound on panels when ``columns`` is None.
    title
        Figure title.

    Raises
    ------
    FeatureError
        A requested column is missing, or there is no numeric feature column.
    """
    columns = _plotted_columns(features, columns, max_columns)
    if group_column in features.columns:
        groups = features[group_column].astype(str)
    else:
        groups = pd.Series("all", index=features.index)
    group_names = sorted(pd.unique(groups).tolist())
    colors = dict(zip(group_names, id_colors(len(group_names))))
    ncol = min(3, len(columns))
    nrow = int(np.ceil(len(columns) / ncol))
    fig = Figure(figsize=(4.0 * ncol, 3.0 * nrow), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    gcodes = pd.Categorical(groups, categories=group_names).codes
    for ax, col in zip(axes, columns):
        _draw_histograms(
            ax, features[col].to_numpy(dtype=np.float64, na_value=np.nan), col, gcodes, group_names, colors, bins
        )
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    if len(group_names) > 1:
        axes[0].legend(fontsize="small", title=group_column)
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- confusion matrix
def plot_confusion_matrix(
    matrix: Any,
    class_names: Sequence[str],
    *,
    normalize: bool = True,
    title: str | None = None,
    cmap: str = "Blues",
) -> Figure:
    """A confusion matrix (rows: true class, columns: predicted class) with cell values.

    Parameters
    ----------
    matrix
        Square array of counts (k, k).
    class_names
        k names, in the matrix order.
    normalize
        Colour and annotate each row as a fraction of its true-class total (counts otherwise).
    title
        Axes title.
    cmap
        Matplotlib colormap name.

    Raises
    ------
    ConfigError
        ``matrix`` is not square or does not match ``class_names``.
    """
    m = np.asarray(matrix, dtype=np.float64)
    names = [str(c) for c in class_names]
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(names):
        raise ConfigError(
            "confusion matrix must be square and match the class names",
            expected=f"({len(names)}, {len(names)})",
            found=str(m.shape),
        )
    shown = _row_fractions(m) if normalize else m
    k = len(names)
    fig = Figure(figsize=(1.2 + 0.8 * k, 1.0 + 0.7 * k), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=1.0 if normalize else max(1.0, float(shown.max())))
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    _annotate_cells(ax, shown, normalize)
    if title:
        ax.set_title(title)
    return fig


def _row_fractions(m: np.ndarray) -> np.ndarray:
    """Each row of ``m`` divided by its total (rows without any count stay 0)."""
    totals = m.sum(axis=1, keepdims=True)
    return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)


def _annotate_cells(ax: Any, shown: np.ndarray, normalize: bool) -> None:
    """Write each cell's value (fraction or count), white on dark cells."""
    vmax = shown.max() if shown.size else 1.0
    k = shown.shape[0]
    for i in range(k):
        for j in range(k):
            txt = f"{shown[i, j]:.2f}" if normalize else f"{int(round(shown[i, j]))}"
            ax.text(
                j,
                i,
                txt,
                ha="center",
                va="center",
                fontsize="small",
                color="white" if shown[i, j] > 0.6 * vmax else "black",
            )


__all__ = [
    "KEY_COLUMNS",
    "plot_confusion_matrix",
    "plot_ethogram",
    "plot_feature_distributions",
    "plot_trajectories",
    "save_figure",
]
