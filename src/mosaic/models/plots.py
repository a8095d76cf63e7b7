"""Ethogram of a model run: true vs predicted labels per track, one recording per figure.

The confusion matrix and atomic figure saving come from :mod:`mosaic.reporting.plots`.

Functions return :class:`matplotlib.figure.Figure` objects built without pyplot's global
state (``Figure()`` + Agg canvas), so they are safe in threads, in tests and as Kedro
``matplotlib.MatplotlibDataset`` outputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


# class colours in class order (the first, grey, is usually the background); repeated past 11 classes
_PALETTE = (
    "#d9d9d9",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)


def plot_prediction_ethogram(
    pred: pd.DataFrame,
    classes: Sequence[str],
    title: str = "",
    true_col: str = "label",
    pred_col: str = "pred",
    track_cols: Sequence[str] = ("id",),
):
    """Ethogram of one recording: for each track (id, or id→id2), a row of true and a row of predicted labels.

    ``pred`` holds ``frame``, the track columns, ``true_col`` (optional) and ``pred_col``.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    classes = list(classes)
    kinds = [c for c in (true_col, pred_col) if c in pred.columns]
    grid, tracks, (f0, f1) = _label_grid(pred, classes, kinds, list(track_cols))
    fig = _figure(10, 0.6 + 0.35 * max(grid.shape[0], 2))
    ax = fig.add_subplot(1, 1, 1)
    cmap = ListedColormap([_PALETTE[i % len(_PALETTE)] for i in range(max(len(classes), 1))])
    ax.imshow(
        np.ma.masked_invalid(grid),
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        vmin=-0.5,
        vmax=len(classes) - 0.5,
        extent=(f0 - 0.5, f1 + 0.5, grid.shape[0] - 0.5, -0.5),
    )
    ylabels = [f"{'→'.join(str(x) for x in t)} {'true' if k == true_col else 'pred'}" for t in tracks for k in kinds]
    ax.set_yticks(range(len(ylabels)), labels=ylabels, fontsize=7)
    ax.set_xlabel("frame")
    ax.set_title(title)
    ax.legend(
        handles=[Patch(color=cmap(i), label=c) for i, c in enumerate(classes)],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=7,
        frameon=False,
    )
    fig.tight_layout()
    return fig


def _label_grid(
    pred: pd.DataFrame, classes: list[str], kinds: list[str], track_cols: list[str]
) -> tuple[np.ndarray, list[tuple], tuple[int, int]]:
    """Class codes ``(tracks × kinds, frames)`` (NaN: no row or unknown class), the sorted tracks and the frame range.

    Row ``t * len(kinds) + j`` holds column ``kinds[j]`` of track ``t``; column ``c`` is frame ``f0 + c``.
    """
    code = {c: i for i, c in enumerate(classes)}
    tracks = list(pred[track_cols].drop_duplicates().sort_values(track_cols).itertuples(index=False, name=None))
    f0, f1 = int(pred["frame"].min()), int(pred["frame"].max())
    grid = np.full((len(tracks) * len(kinds), f1 - f0 + 1), np.nan)
    tkey = pd.MultiIndex.from_frame(pred[track_cols])
    tpos = pd.Index(pd.MultiIndex.from_tuples(tracks, names=track_cols)).get_indexer(tkey)
    cols = pred["frame"].to_numpy(dtype=np.int64) - f0
    for j, kcol in enumerate(kinds):
        vals = pred[kcol].astype(str).map(code).to_numpy(dtype=np.float64, na_value=np.nan)
        grid[tpos * len(kinds) + j, cols] = vals
    return grid, tracks, (f0, f1)
