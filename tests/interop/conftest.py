"""A small dataset for the interop facade and pipeline tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mosaic import Dataset
from mosaic.interop.movement import to_movement, write_movement_netcdf
from mosaic.labels import LabelSet, save_label_sets

from ..media.videos import write_numbered
from .helpers import synthetic_tracks

RECS = [("g1", "rec a", 0), ("g2", "rec_b", 1)]


def build_dataset(folder: Path) -> Dataset:
    """Two recordings converted from movement netCDF files, behaviour labels for one, a video each."""
    ds = Dataset.create(folder, name="interop")
    raw = ds.get_root("tracks_raw")
    for g, s, seed in RECS:
        write_movement_netcdf(to_movement(synthetic_tracks(seed=seed, group=g, sequence=s)), raw / g / f"{s}.nc")
        write_numbered(ds.get_root("media_raw") / g / f"{s}.mp4", 60)
    ds.index_tracks_raw(raw, src_format="movement_netcdf", group_from="parent")
    ds.convert_all_tracks()
    ds.index_media()
    frames = np.array([10, 11, 12, 13, 30, 31, 20, 21], np.int32)
    ids = np.array([[2, -1]] * 4 + [[5, -1]] * 2 + [[9, -1]] * 2, np.int32)
    lab = LabelSet(
        "g1",
        "rec a",
        frames,
        np.array([1, 1, 1, 1, 0, 0, 2, 2], np.int32),
        ids,
        np.array([0, 1, 2], np.int32),
        np.array(["other", "groom", "rear"]),
        fps=25.0,
    )
    save_label_sets(ds, "behavior", [lab], overwrite=True)
    return ds


@pytest.fixture
def ds(tmp_path: Path) -> Dataset:
    """The dataset of :func:`build_dataset` in a temporary folder."""
    return build_dataset(tmp_path / "ds")
