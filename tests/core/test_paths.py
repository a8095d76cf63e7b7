"""Output paths never leave the dataset: links pointing out are refused before any write or delete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mosaic.core.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import InvalidNameError, MosaicError, UnsafePathError
from mosaic.core.paths import check_output_path, owning_root, safe_output_path, safe_rmtree, safe_unlink


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} | {
        p.relative_to(folder).as_posix() + "/": b"" for p in sorted(folder.rglob("*")) if p.is_dir()
    }


@pytest.fixture
def linked(tmp_path):
    """A dataset whose ``frames/uniform`` and ``models/_pipeline`` are links to an outside folder with files."""
    ds = DatasetCore.create(tmp_path / "ds", name="t")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (outside / "sub").mkdir()
    (outside / "sub" / "more.png").write_bytes(b"png")
    (ds.get_root("frames") / "uniform").symlink_to(outside, target_is_directory=True)
    (ds.get_root("models") / "_pipeline").symlink_to(outside, target_is_directory=True)
    return ds, outside, _tree(outside)


def test_safe_output_path_joins_and_refuses(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    assert safe_output_path(root, "a", "b.txt") == root / "a" / "b.txt"
    for bad in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(UnsafePathError):
            safe_output_path(root, bad)
    (root / "inner").mkdir()
    (root / "ok").symlink_to(root / "inner")  # a link that stays inside is fine
    assert safe_output_path(root, "ok", "f") == root / "ok" / "f"
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError) as ei:
        safe_output_path(root, "out", "f")
    assert "out" in str(ei.value) and issubclass(UnsafePathError, InvalidNameError)
    (root / "dangling").symlink_to(tmp_path / "nowhere" / "deeper")  # dangling, pointing out
    with pytest.raises(UnsafePathError):
        safe_output_path(root, "dangling", "f")


def test_owning_root_is_the_longest_declared_root(tmp_path):
    ds = DatasetCore.create(tmp_path / "ds", roots={"features": "derived/feat", "tracks": "tracks"})
    assert owning_root(ds.folder / "derived" / "feat" / "k" / "x.parquet") == ds.folder / "derived" / "feat"
    assert owning_root(ds.folder / "reporting" / "a.png") == ds.folder
    assert owning_root(tmp_path / "elsewhere" / "x") is None


def test_root_itself_may_be_a_link(tmp_path):
    """A user may keep a whole root on another disk: only links *below* a root are refused."""
    big = tmp_path / "bigdisk"
    big.mkdir()
    ds = DatasetCore.create(tmp_path / "ds")
    os.rmdir(ds.get_root("features"))
    ds.get_root("features").symlink_to(big, target_is_directory=True)
    atomic_write_text(ds.get_root("features") / "k" / "index.csv", "a\n")
    assert (big / "k" / "index.csv").read_text() == "a\n"


def test_atomic_write_through_link_refused_before_anything_is_created(linked):
    ds, outside, before = linked
    for target in (
        ds.get_root("frames") / "uniform" / "run" / "g__s" / "frame_000001.png",
        ds.get_root("models") / "_pipeline" / "model.pkl",
        ds.get_root("models") / "_pipeline" / "precious.txt",
    ):
        with pytest.raises(UnsafePathError) as ei:
            atomic_write_bytes(target, b"evil")
        assert str(target) in str(ei.value)
        with pytest.raises(UnsafePathError), atomic_path(target) as tmp:
            tmp.write_bytes(b"evil")
    assert _tree(outside) == before  # no file, no folder, no temp file outside


def test_safe_unlink_and_rmtree_never_follow_links(linked, tmp_path):
    ds, outside, before = linked
    with pytest.raises(UnsafePathError):
        safe_unlink(ds.get_root("frames") / "uniform" / "precious.txt")
    with pytest.raises(UnsafePathError):
        safe_rmtree(ds.get_root("frames") / "uniform")
    # a real folder holding a link to the outside: the link goes, its target stays
    inner = ds.get_root("frames") / "real"
    (inner / "d").mkdir(parents=True)
    (inner / "d" / "f.png").write_bytes(b"x")
    (inner / "d" / "link").symlink_to(outside, target_is_directory=True)
    (inner / "flink").symlink_to(outside / "precious.txt")
    safe_rmtree(inner)
    assert not inner.exists() and _tree(outside) == before
    assert safe_unlink(ds.get_root("frames") / "nothing-here") is False


def test_check_output_path_outside_any_dataset_is_unchecked(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    assert check_output_path(tmp_path / "a" / "x") == tmp_path / "a" / "x"


def test_kedro_matplotlib_overwrite_does_not_delete_through_link(linked):
    """The catalog's plot folder (``overwrite: true``) linked out: refused, the outside folder untouched."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from kedro.io.core import DatasetError

    from mosaic.datasets.atomic import AtomicMatplotlibDataset

    ds, outside, before = linked
    fig = plt.figure()
    dset = AtomicMatplotlibDataset(filepath=str(ds.get_root("models") / "_pipeline" / "ethograms"), overwrite=True)
    with pytest.raises((MosaicError, DatasetError)) as ei:
        dset.save({"a.png": fig})
    assert "_pipeline" in str(ei.value)
    dset = AtomicMatplotlibDataset(filepath=str(ds.get_root("models") / "_pipeline"), overwrite=True)
    with pytest.raises((MosaicError, DatasetError)):
        dset.save([fig])
    plt.close("all")
    assert _tree(outside) == before


def test_kedro_matplotlib_overwrite_removes_links_not_targets(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mosaic.datasets.atomic import AtomicMatplotlibDataset

    ds = DatasetCore.create(tmp_path / "ds")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.png").write_bytes(b"keep")
    folder = ds.get_root("models") / "plots"
    folder.mkdir()
    (folder / "old.png").write_bytes(b"stale")
    (folder / "linkdir").symlink_to(outside, target_is_directory=True)
    (folder / "linkfile.png").symlink_to(outside / "precious.png")
    AtomicMatplotlibDataset(filepath=str(folder), overwrite=True).save({"new.png": plt.figure()})
    plt.close("all")
    assert sorted(p.name for p in folder.iterdir()) == ["new.png"]
    assert (outside / "precious.png").read_bytes() == b"keep"


def test_kedro_partitioned_frames_through_link_write_nothing_outside(linked):
    """``frame_images`` (a partitioned dataset of PNGs) with ``frames/uniform`` linked out."""
    from kedro.io.core import DatasetError
    from kedro_datasets.partitions import PartitionedDataset
    from PIL import Image

    ds, outside, before = linked
    pd_ = PartitionedDataset(
        path=str(ds.get_root("frames")),
        dataset={"type": "mosaic.datasets.atomic.AtomicImageDataset"},
        filename_suffix=".png",
    )
    img = Image.new("L", (4, 4))
    with pytest.raises((MosaicError, DatasetError)):
        pd_.save({f"uniform/run/g__s/frame_{i:06d}": img for i in range(32)})
    assert _tree(outside) == before


def test_root_outside_the_dataset_is_checked_once_registered(tmp_path):
    """A root kept elsewhere (absolute in the manifest): the catalog's resolver registers it."""
    from mosaic.kedro_config import mosaic_root

    elsewhere = tmp_path / "bigdisk" / "models"
    ds = DatasetCore.create(tmp_path / "ds", roots={"models": str(elsewhere), "tracks": "tracks"})
    outside = tmp_path / "outside"
    outside.mkdir()
    elsewhere.mkdir(parents=True, exist_ok=True)
    (elsewhere / "_pipeline").symlink_to(outside, target_is_directory=True)
    assert mosaic_root(str(ds.folder), "models") == elsewhere.as_posix()
    with pytest.raises(UnsafePathError):
        atomic_write_bytes(elsewhere / "_pipeline" / "model.pkl", b"x")
    assert list(outside.iterdir()) == []
    atomic_write_bytes(elsewhere / "real" / "model.pkl", b"x")
    assert (elsewhere / "real" / "model.pkl").read_bytes() == b"x"
