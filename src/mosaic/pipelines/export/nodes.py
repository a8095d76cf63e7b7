"""Nodes of the `export` pipeline: tracks and labels → movement netCDF, NWB and a BORIS project.

Each node maps catalog partitions (``tracks``, ``labels``) to lazy output partitions (one callable
per recording, so one recording sits in memory at a time); the catalog datasets of
:mod:`mosaic.datasets.interop` write the files with the ``mosaic.interop`` writers, the same the
facade's ``export_*`` methods use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.core.safe_names import split_sequence_key
from mosaic.interop import api
from mosaic.interop._pose import individual_name_map
from mosaic.interop.boris import bouts_from_labels
from mosaic.interop.movement import to_movement


def _selected(keys: Any, params: Mapping[str, Any]) -> list[str]:
    groups, sequences = params.get("groups"), params.get("sequences")
    out = []
    for key in sorted(keys):
        g, s = split_sequence_key(key)
        if (not groups or g in groups) and (not sequences or s in sequences):
            out.append(key)
    if not out:
        raise ConfigError(
            "no recording selected for export",
            expected="groups/sequences present in tracks",
            found={"groups": groups, "sequences": sequences},
        )
    return out


def _movement(load: Callable[[], pd.DataFrame], include_centroid: bool) -> Any:
    df = load()
    g, s = str(df["group"].iloc[0]), str(df["sequence"].iloc[0])
    return to_movement(df, include_centroid=include_centroid, source_file=f"{g}/{s}")


def export_movement(
    tracks: Mapping[str, Callable[[], pd.DataFrame]], params: Mapping[str, Any]
) -> dict[str, Callable[[], Any]]:
    """``{key: () -> movement xarray.Dataset}`` for the selected recordings."""
    inc = bool(params.get("include_centroid", True))
    return {k: partial(_movement, tracks[k], inc) for k in _selected(tracks, params)}


def _nwb_payload(load: Callable[[], pd.DataFrame], label_loads: dict[str, Callable[[], dict]]) -> dict[str, Any]:
    return {"tracks": load(), "labels": {kind: f() for kind, f in label_loads.items()}}


def export_nwb(
    tracks: Mapping[str, Callable[[], pd.DataFrame]],
    labels: Mapping[str, Callable[[], dict]],
    params: Mapping[str, Any],
) -> dict[str, Callable[[], dict[str, Any]]]:
    """``{key: () -> {'tracks': df, 'labels': {kind: labels}}}`` for the NWB dataset (labels where the recording has them)."""
    kind = str(params.get("label_kind", "behavior"))
    with_labels = bool(params.get("include_labels", True))
    return {
        k: partial(_nwb_payload, tracks[k], {kind: labels[k]} if with_labels and k in labels else {})
        for k in _selected(tracks, params)
    }


def export_boris(
    labels: Mapping[str, Callable[[], dict]],
    tracks_index: pd.DataFrame,
    params: Mapping[str, Any],
    dataset: DatasetCore,
) -> dict[str, Any]:
    """The BORIS project of the selected recordings' labels (media linked from the dataset's media index)."""
    ds = dataset
    keys = _selected(labels, params)
    skip = list(params.get("skip") or [])
    bouts = {split_sequence_key(k): bouts_from_labels(labels[k](), skip=skip) for k in keys}
    names = {k: individual_name_map(api.recording_meta(ds, *k)) for k in bouts}
    media = {k: api._video(ds, *k) for k in bouts}
    path = ds.folder / api.EXPORTS_DIR / "boris" / str(params.get("filename", "review.boris"))
    return api.boris_project_for(
        bouts, tracks_index, names, media, path, project_name=str(params.get("project_name", "mosaic review"))
    )
