"""Recording length of labels against the tracks: the tracks' frame count is the truth.

Labels converted while the tracks exist take the tracks' length (``frame_max + 1`` of
``tracks/index.csv``); labels converted before any tracks take the export's own length (e.g.
BORIS ``Total length`` × FPS). When tracks are converted later, :func:`labels_past_tracks_end`
lists the label files whose length or events run past the tracks' last frame, so the
conversion can say so instead of leaving labels that describe frames no track has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import MosaicError

from .io import read_label_npz, read_labels_index

__all__ = ["label_kinds", "labels_past_tracks_end"]


def label_kinds(ds: DatasetCore) -> list[str]:
    """Label kinds of the dataset: the folders of the ``labels`` root holding an ``index.csv``."""
    try:
        root = ds.get_root("labels")
    except KeyError:
        return []
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "index.csv").is_file())


def labels_past_tracks_end(ds: DatasetCore, tracks_lengths: Mapping[tuple[str, str], int]) -> list[dict[str, Any]]:
    """Label files (of every kind) that run past the end of their recording's tracks.

    Parameters
    ----------
    ds
        The dataset.
    tracks_lengths
        ``{(group, sequence): number of frames}`` of the tracks (``frame_max + 1``).

    Returns
    -------
    list of dict
        One report entry per label file whose declared length (``n_frames`` of its index) is
        larger than the tracks' or whose events reach past the last track frame: ``issue``
        ``'labels_past_end'``, ``kind``, ``group``, ``sequence``, ``file``, ``label_n_frames``,
        ``tracks_n_frames``, ``n_events_past_end``, ``message``. Label files are only read
        when their index says they are longer than the tracks.
    """
    out: list[dict[str, Any]] = []
    if not tracks_lengths:
        return out
    for kind in label_kinds(ds):
        try:
            idx = read_labels_index(ds, kind)
        except MosaicError:
            continue
        if not len(idx):
            continue
        n_lab = pd.to_numeric(idx["n_frames"], errors="coerce").to_numpy(float)
        for (g, s, path), n in zip(
            idx[["group", "sequence", "abs_path"]].itertuples(index=False, name=None), n_lab, strict=False
        ):
            n_trk = tracks_lengths.get((str(g), str(s)))
            if n_trk is None or not (np.isfinite(n) and n > n_trk):
                continue
            out.append(_past_end_entry(ds, kind, str(g), str(s), path, n, n_trk))
    return out


def _past_end_entry(ds: DatasetCore, kind: str, g: str, s: str, path: Any, n: float, n_trk: int) -> dict[str, Any]:
    """Report entry of one label file longer than its tracks (its events past the end counted)."""
    file = ds.resolve_path(path)
    try:
        frames = read_label_npz(file, group=g, sequence=s)["frames"]
        past = int(np.count_nonzero(np.asarray(frames) >= n_trk))
    except (MosaicError, OSError):
        past = -1  # unreadable: the length alone is reported
    what = (
        f"{past} event row(s) at or after frame {n_trk}"
        if past > 0
        else "no event past the end"
        if past == 0
        else "its events could not be read"
    )
    return {
        "issue": "labels_past_end",
        "kind": kind,
        "group": g,
        "sequence": s,
        "file": str(path),
        "label_n_frames": int(n),
        "tracks_n_frames": int(n_trk),
        "n_events_past_end": past,
        "message": f"labels '{kind}' span {int(n)} frames but the tracks have {int(n_trk)} ({what}); "
        "convert the labels again (overwrite=True) to take the tracks' length",
    }
