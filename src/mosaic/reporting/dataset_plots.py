"""Plots of one recording of a dataset: load its data through the domains, then draw.

These are the functions behind ``Dataset.plot_trajectories`` and ``Dataset.plot_ethogram``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import MosaicError

from .plots import plot_ethogram, plot_trajectories


def plot_sequence_trajectories(ds: DatasetCore, group: str, sequence: str, **kwargs: Any) -> Figure:
    """Trajectories of one recording coloured by id (see :func:`~mosaic.reporting.plots.plot_trajectories`).

    The tracks come from :func:`mosaic.tracks.load_tracks` (the standardized file; converted
    from raw first when only the raw file exists).
    """
    from mosaic.tracks import load_tracks

    kwargs.setdefault("title", f"{group} / {sequence}")
    return plot_trajectories(load_tracks(ds, group, sequence), **kwargs)


def plot_sequence_ethogram(ds: DatasetCore, group: str, sequence: str, kind: str = "behavior", **kwargs: Any) -> Figure:
    """Ethogram of one recording's labels of ``kind`` (see :func:`~mosaic.reporting.plots.plot_ethogram`).

    The x range covers the recording (``n_frames`` from ``tracks/index.csv`` when known).
    """
    from mosaic.labels import load_labels

    labels = load_labels(ds, group, sequence, kind=kind)
    if "n_frames" not in kwargs:
        try:
            idx = ds.tracks_index()
            n = idx.loc[(idx["group"] == str(group)) & (idx["sequence"] == str(sequence)), "n_frames"]
            if len(n) and np.isfinite(float(n.iloc[0])):
                kwargs["n_frames"] = int(n.iloc[0])
        except (MosaicError, KeyError, TypeError, ValueError):  # the x range is a nicety; labels alone still plot
            pass
    return plot_ethogram(labels, **kwargs)
