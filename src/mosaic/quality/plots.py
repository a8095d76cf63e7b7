"""Quality plots as pure functions: report in, ``matplotlib.figure.Figure`` out."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mosaic.reporting.plots import id_colors

from .report import QualityReport


def plot_missingness(rep: QualityReport, title: str = "", max_columns: int = 2000) -> Figure:
    """One row per (individual, point), dark where the point is missing, over time.

    Long recordings are binned to at most ``max_columns`` time bins (fraction missing per bin).
    """
    T, n, P = rep.missing.shape
    m = rep.missing.reshape(T, n * P).astype(np.float64)
    if T > max_columns:
        edges = np.linspace(0, T, max_columns + 1).astype(np.int64)
        m = np.add.reduceat(m, edges[:-1], axis=0) / np.diff(edges)[:, None]
    fig = Figure(figsize=(10, 1.0 + 0.25 * n * P))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(
        m.T,
        aspect="auto",
        interpolation="nearest",
        cmap="Greys",
        vmin=0,
        vmax=1,
        extent=(rep.frames[0], rep.frames[-1] + 1, n * P, 0),
    )
    pts = rep.points["point"].tolist()[:P]
    ax.set_yticks(np.arange(n * P) + 0.5)
    ax.set_yticklabels([f"{rep.ids[i]} {pts[p]}" for i in range(n) for p in range(P)], fontsize=7)
    ax.set_xlabel("frame")
    frac = rep.individuals["frac_missing"].mean() if len(rep.individuals) else 0.0
    ax.set_title(f"{title} missing (dark) - mean {100 * frac:.1f} %".strip())
    fig.tight_layout()
    return fig


def plot_quality_trajectory(
    df: pd.DataFrame, rep: QualityReport, title: str = "", max_points_per_id: int = 20000
) -> Figure:
    """Centre trajectories per individual with suspected jumps (x) and identity swaps (star) marked."""
    fig = Figure(figsize=(7, 6))
    ax = fig.add_subplot(1, 1, 1)
    ids = list(rep.ids)
    colors = id_colors(len(ids))
    for k, i in enumerate(ids):
        sub = df[df["id"] == i]
        step = max(1, len(sub) // max_points_per_id)
        ax.plot(sub["X"].to_numpy()[::step], sub["Y"].to_numpy()[::step], lw=0.6, color=colors[k], label=str(i))
    ev = rep.events
    if len(ev):
        j = (
            ev[(ev["kind"] == "jump") & (ev["point"] == ev["point"].iloc[0])]
            if "point" in ev
            else ev[ev["kind"] == "jump"]
        )
        if len(j):
            ax.scatter(j["X"], j["Y"], marker="x", s=30, color="red", label=f"jump ({len(j)})", zorder=3)
        s = ev[ev["kind"] == "swap"]
        if len(s):
            ax.scatter(s["X"], s["Y"], marker="*", s=120, color="black", label=f"swap ({len(s)})", zorder=4)
    ax.invert_yaxis()
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("X (px)")
    ax.set_ylabel("Y (px)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title)
    fig.tight_layout()
    return fig
