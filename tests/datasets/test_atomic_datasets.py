"""Atomic kedro-datasets subclasses (mosaic.datasets.atomic): saves that fail half-way keep the old file."""

from __future__ import annotations

import io
import json
import pickle

import numpy as np
import pytest
from kedro.io.core import DatasetError
from PIL import Image

from mosaic.core.atomic import is_temp_file
from mosaic.datasets.atomic import (
    AtomicImageDataset,
    AtomicJSONDataset,
    AtomicMatplotlibDataset,
    AtomicPickleDataset,
)


class _Interrupted(RuntimeError):
    """Stands for the process dying in the middle of a write."""


class _HalfImage:
    """Duck-types ``PIL.Image.save``: writes half of a real PNG into the handle, then fails."""

    def save(self, fh, *args, **kwargs) -> None:
        buf = io.BytesIO()
        Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(buf, format="PNG")
        fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        raise _Interrupted("killed while writing")


class _BoomPickle:
    def __reduce__(self):
        raise _Interrupted("killed while pickling")


def _leftovers(folder):
    """Files other than the expected outputs: temporary files, partial files."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and is_temp_file(p))


def _rgb(seed: int, shape=(24, 40, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


# ----------------------------------------------------------------------------- images


def test_image_roundtrip_pixels_equal(tmp_path):
    arr = _rgb(0)
    ds = AtomicImageDataset(filepath=str(tmp_path / "a" / "frame_000001.png"), save_args={"compress_level": 1})
    ds.save(Image.fromarray(arr))
    assert ds.exists()
    with ds.load() as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), arr)
    # the bytes on disk are a PNG (format from the suffix, not from the temporary name)
    assert (tmp_path / "a" / "frame_000001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _leftovers(tmp_path) == []


def test_image_format_from_suffix_jpeg(tmp_path):
    ds = AtomicImageDataset(filepath=str(tmp_path / "x.jpg"))
    ds.save(Image.fromarray(_rgb(1)))
    assert (tmp_path / "x.jpg").read_bytes()[:2] == b"\xff\xd8"  # JPEG SOI marker


def test_image_failed_save_keeps_old_file(tmp_path):
    target = tmp_path / "f.png"
    ds = AtomicImageDataset(filepath=str(target))
    old = _rgb(2)
    ds.save(Image.fromarray(old))
    before = target.read_bytes()
    with pytest.raises(DatasetError, match="killed while"):
        ds.save(_HalfImage())
    assert target.read_bytes() == before
    with Image.open(target) as im:
        np.testing.assert_array_equal(np.asarray(im), old)
    assert _leftovers(tmp_path) == []


def test_image_failed_first_save_leaves_no_file(tmp_path):
    ds = AtomicImageDataset(filepath=str(tmp_path / "new.png"))
    with pytest.raises(DatasetError, match="killed while"):
        ds.save(_HalfImage())
    assert list(tmp_path.iterdir()) == []
    assert not ds.exists()


def test_image_unknown_suffix_is_an_error(tmp_path):
    ds = AtomicImageDataset(filepath=str(tmp_path / "f.notanimage"))
    with pytest.raises(DatasetError, match="f.notanimage"):
        ds.save(Image.fromarray(_rgb(3)))


def test_partitioned_png_listing_ignores_temp_files(tmp_path):
    """A temporary file left by a killed save is not listed as a partition."""
    from kedro_datasets.partitions import PartitionedDataset

    from mosaic.core.atomic import temp_path_for

    pds = PartitionedDataset(
        path=str(tmp_path), dataset={"type": "mosaic.datasets.atomic.AtomicImageDataset"}, filename_suffix=".png"
    )
    img = Image.fromarray(_rgb(4))
    pds.save({"m/r/g__s/frame_000001": lambda: img})
    temp_path_for(tmp_path / "m/r/g__s/frame_000002.png").write_bytes(b"\x89PNG partial")
    parts = pds.load()
    assert sorted(parts) == ["m/r/g__s/frame_000001"]
    with parts["m/r/g__s/frame_000001"]() as im:
        np.testing.assert_array_equal(np.asarray(im), np.asarray(img))


# ----------------------------------------------------------------------------- json


def test_json_roundtrip_uses_save_args(tmp_path):
    target = tmp_path / "r" / "report.json"
    ds = AtomicJSONDataset(filepath=str(target), save_args={"indent": 4, "sort_keys": True})
    data = {"b": [1, 2.5, None], "a": {"ü": "x"}}
    ds.save(data)
    assert ds.load() == data
    text = target.read_text(encoding="utf-8")
    assert text == json.dumps(data, indent=4, sort_keys=True)


def test_json_failed_save_keeps_old_file(tmp_path):
    target = tmp_path / "report.json"
    ds = AtomicJSONDataset(filepath=str(target))
    ds.save({"ok": True})
    before = target.read_bytes()
    with pytest.raises(DatasetError, match="not JSON serializable"):
        ds.save({"a": "x" * 100_000, "z": object()})
    assert target.read_bytes() == before
    assert ds.load() == {"ok": True}
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- pickle


@pytest.mark.parametrize("backend", ["pickle", "joblib"])
def test_pickle_roundtrip(tmp_path, backend):
    ds = AtomicPickleDataset(filepath=str(tmp_path / "m" / "model.pkl"), backend=backend)
    obj = {"w": np.arange(10.0), "name": "m"}
    ds.save(obj)
    out = ds.load()
    np.testing.assert_array_equal(out["w"], obj["w"])
    assert out["name"] == "m"


def test_pickle_plain_bytes_readable_by_pickle(tmp_path):
    target = tmp_path / "model.pkl"
    AtomicPickleDataset(filepath=str(target), backend="pickle").save([1, 2, 3])
    assert pickle.loads(target.read_bytes()) == [1, 2, 3]


def test_joblib_explicit_compression(tmp_path):
    """Compression comes from save_args, never from the (temporary) file name."""
    import joblib

    target = tmp_path / "model.pkl"
    ds = AtomicPickleDataset(filepath=str(target), backend="joblib", save_args={"compress": ("zlib", 3)})
    obj = np.zeros(100_000)
    ds.save(obj)
    assert target.stat().st_size < obj.nbytes // 10
    np.testing.assert_array_equal(joblib.load(target), obj)


@pytest.mark.parametrize("backend", ["pickle", "joblib"])
def test_pickle_failed_save_keeps_old_file(tmp_path, backend):
    target = tmp_path / "model.pkl"
    ds = AtomicPickleDataset(filepath=str(target), backend=backend)
    ds.save({"model": "old"})
    before = target.read_bytes()
    with pytest.raises(DatasetError, match="not serialised"):
        ds.save([b"x" * 300_000, _BoomPickle()])
    assert target.read_bytes() == before
    assert ds.load() == {"model": "old"}
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- matplotlib


@pytest.fixture
def figs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def make(n):
        out = []
        for i in range(n):
            fig, ax = plt.subplots(figsize=(1, 1))
            ax.plot([0, 1], [0, i])
            out.append(fig)
        return out

    yield make
    plt.close("all")


def _is_png(p):
    return p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_matplotlib_single_figure(tmp_path, figs):
    target = tmp_path / "plot.png"
    AtomicMatplotlibDataset(filepath=str(target), save_args={"dpi": 20}).save(figs(1)[0])
    assert _is_png(target)
    AtomicMatplotlibDataset(filepath=str(tmp_path / "plot.pdf")).save(figs(1)[0])
    assert (tmp_path / "plot.pdf").read_bytes()[:4] == b"%PDF"


def test_matplotlib_list_and_dict(tmp_path, figs):
    d = tmp_path / "list"
    AtomicMatplotlibDataset(filepath=str(d), save_args={"format": "png", "dpi": 20}).save(figs(3))
    assert sorted(p.name for p in d.iterdir()) == ["0.png", "1.png", "2.png"]
    assert all(_is_png(p) for p in d.iterdir())
    d2 = tmp_path / "dict"
    f = figs(2)
    AtomicMatplotlibDataset(filepath=str(d2), save_args={"dpi": 20}).save({"a.png": f[0], "sub/b.png": f[1]})
    assert _is_png(d2 / "a.png") and _is_png(d2 / "sub" / "b.png")


def test_matplotlib_overwrite_removes_stale_plots_after_writing(tmp_path, figs):
    d = tmp_path / "eth"
    ds = AtomicMatplotlibDataset(filepath=str(d), save_args={"format": "png", "dpi": 20}, overwrite=True)
    ds.save({"x.png": figs(1)[0], "y.png": figs(1)[0]})
    ds.save({"x.png": figs(1)[0]})
    assert sorted(p.name for p in d.iterdir()) == ["x.png"]


def test_matplotlib_failed_save_keeps_old_file(tmp_path, figs):
    target = tmp_path / "plot.png"
    ds = AtomicMatplotlibDataset(filepath=str(target), save_args={"dpi": 20})
    ds.save(figs(1)[0])
    before = target.read_bytes()

    class _HalfFig:
        def savefig(self, fh, **kwargs):
            fh.write(before[: len(before) // 2])
            raise _Interrupted("killed while rendering")

    with pytest.raises(DatasetError, match="killed while"):
        ds.save(_HalfFig())
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- catalog

NON_ATOMIC_TYPES = {"json.JSONDataset", "pillow.ImageDataset", "pickle.PickleDataset", "matplotlib.MatplotlibDataset"}


def _types(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "type" and isinstance(v, str):
                yield v
            else:
                yield from _types(v)
    elif isinstance(node, list):
        for v in node:
            yield from _types(v)


def test_project_catalog_uses_atomic_file_datasets():
    """No catalog entry (or partition dataset) writes through a streaming kedro-datasets class."""
    import yaml

    from tests.conftest import PROJECT_DIR

    found = {}
    for f in sorted((PROJECT_DIR / "conf" / "base").glob("catalog*.yml")):
        for t in _types(yaml.safe_load(f.read_text()) or {}):
            if t in NON_ATOMIC_TYPES or t.startswith("kedro_datasets.") and t.split(".", 1)[1] in NON_ATOMIC_TYPES:
                found.setdefault(f.name, []).append(t)
    assert found == {}, f"use mosaic.datasets.atomic.Atomic* instead: {found}"
