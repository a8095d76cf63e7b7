"""The quality report of a whole dataset: one row per recording x individual, plots per recording.

Written under ``<dataset>/reporting/quality/``: ``individuals.csv`` (the dataset table),
``points.csv`` (per individual and keypoint), ``events.csv`` (jump and swap frames), and per
recording ``<group_safe>__<sequence_safe>__missing.png`` and ``__trajectory.png``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.atomic import atomic_write_text
from mosaic.core.dataset import DatasetCore
from mosaic.core.safe_names import sequence_key

from .cleaned import track_paths
from .report import quality_report, report_params
from .store import tracks_in_scope

log = logging.getLogger(__name__)
QUALITY_DIR = ("reporting", "quality")


def quality_dir(ds: DatasetCore) -> Path:
    """``<dataset>/reporting/quality``."""
    return ds.folder.joinpath(*QUALITY_DIR)


def _csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def track_quality(
    ds: DatasetCore,
    groups: Any = None,
    sequences: Any = None,
    params: Mapping[str, Any] | None = None,
    tracks_source: str = "standardized",
    write: bool = True,
    plots: bool = True,
) -> dict[str, pd.DataFrame]:
    """Measure the tracks in scope, one recording in memory at a time.

    Parameters
    ----------
    ds
        The dataset.
    groups, sequences
        Restrict the scope.
    params
        Report parameters (:data:`~mosaic.quality.report.DEFAULT_REPORT_PARAMS`).
    tracks_source
        ``'standardized'`` or ``'clean[:<run_id>]'``.
    write, plots
        Write the tables (and the plots) under ``reporting/quality/``.

    Returns
    -------
    dict
        ``{'individuals', 'points', 'events'}`` tables over the scope.
    """
    from mosaic.tracks.io import read_tracks, read_tracks_meta

    p = report_params(params)
    scope = tracks_in_scope(ds, groups, sequences)
    keys = list(zip(scope["group"], scope["sequence"]))
    paths = track_paths(ds, tracks_source, keys)
    out_dir = quality_dir(ds)
    parts: dict[str, list[pd.DataFrame]] = {"individuals": [], "points": [], "events": []}
    for g, s in keys:
        path = paths[(g, s)]
        df = read_tracks(path)
        rep = quality_report(df, read_tracks_meta(path), p, path=path)
        parts["individuals"].append(rep.individuals)
        parts["points"].append(rep.points)
        parts["events"].append(rep.events)
        if write and plots:
            from mosaic.reporting.plots import save_figure

            from .plots import plot_missingness, plot_quality_trajectory

            key = sequence_key(g, s)
            save_figure(plot_missingness(rep, title=f"{g} / {s}"), out_dir / f"{key}__missing.png")
            save_figure(plot_quality_trajectory(df, rep, title=f"{g} / {s}"), out_dir / f"{key}__trajectory.png")
        del df
    tables = {k: pd.concat(v, ignore_index=True) if v else pd.DataFrame() for k, v in parts.items()}
    if write:
        for k, t in tables.items():
            atomic_write_text(out_dir / f"{k}.csv", _csv(t))
        log.info("track quality of %d recording(s) written to %s", len(keys), out_dir)
    return tables
