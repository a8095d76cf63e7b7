"""Frames and plots through a folder linked out of the dataset: refused, the outside folder untouched (both doors)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from mosaic.core.errors import MosaicError, UnsafePathError


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture
def video_ds(demo_template_videos, tmp_path):
    from mosaic import Dataset

    folder = tmp_path / "ds"
    shutil.copytree(demo_template_videos, folder)
    ds = Dataset.open(folder)
    ds.convert_all_tracks()
    ds.index_media()
    outside = tmp_path / "outside"
    (outside / "r1" / "g__s").mkdir(parents=True)
    (outside / "precious.txt").write_text("not mosaic's")
    (outside / "r1" / "g__s" / "frame_000001.png").write_bytes(b"not ours either")
    return ds, outside


def test_facade_frames_overwrite_through_link(video_ds):
    ds, outside = video_ds
    before = _tree(outside)
    ds.get_root("frames").mkdir(parents=True, exist_ok=True)
    (ds.get_root("frames") / "uniform").symlink_to(outside, target_is_directory=True)
    with pytest.raises(MosaicError) as ei:
        ds.extract_frames(4, "uniform", overwrite=True)
    assert "uniform" in str(ei.value)
    assert _tree(outside) == before


def test_facade_frames_without_link_are_written_inside(video_ds):
    """Control: without the link the same call writes its frames inside the dataset."""
    ds, outside = video_ds
    ds.extract_frames(2, "uniform", overwrite=True)
    pngs = list((ds.get_root("frames") / "uniform").rglob("*.png"))
    assert pngs and all(ds.folder in p.resolve().parents for p in pngs)


def test_kedro_ethograms_overwrite_through_link(video_ds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mosaic.datasets.atomic import AtomicMatplotlibDataset

    ds, outside = video_ds
    before = _tree(outside)
    folder = ds.get_root("models") / "_pipeline" / "ethograms"
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(outside, target_is_directory=True)
    plots = AtomicMatplotlibDataset(filepath=str(folder), overwrite=True, save_args={"format": "png"})
    from kedro.io.core import DatasetError

    with pytest.raises(DatasetError) as ei:  # Kedro wraps the dataset's error; the named one is its cause
        plots.save({"g__s.png": plt.figure()})
    assert isinstance(ei.value.__cause__, UnsafePathError)
    plt.close("all")
    assert _tree(outside) == before
