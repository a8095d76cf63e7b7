"""The Kedro door writes its outputs atomically too: a save that fails half-way keeps the old file.

A kill in the middle of a write is simulated deterministically: the value being saved writes part
of its bytes, then raises. The catalog entries are taken from the project's own configuration
(``conf/base/catalog*.yml``) for a dataset folder in ``tmp_path``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.reliability.crash import PROJECT_DIR


class _Interrupted(RuntimeError):
    """Stands for the process dying in the middle of a write."""


class _Boom:
    """Not JSON-serialisable: json.dump has written the keys before it when it fails."""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from mosaic import Dataset

    folder = tmp_path_factory.mktemp("kedro_atomic") / "ds"
    Dataset.create(folder, name="atomic")
    bootstrap_project(PROJECT_DIR)
    with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(folder)}) as session:
        yield session.load_context().catalog, folder


def test_frame_png_partition_write_is_atomic(catalog, monkeypatch):
    import cv2

    import mosaic.media.store as store
    from mosaic.core.atomic import atomic_path

    cat, folder = catalog
    key = "uniform/run0/g__s/frame_000001"
    target = folder / "frames" / f"{key}.png"
    cat.save("frame_images", {key: lambda: np.full((64, 64, 3), 7, np.uint8)})
    assert target.is_file()

    def half_write(path, data, durable=True):  # the process dies after half of the PNG's bytes
        with atomic_path(path, durable=durable) as tmp:
            tmp.write_bytes(data[: len(data) // 2])
            raise _Interrupted("killed while writing the PNG")

    monkeypatch.setattr(store, "atomic_write_bytes", half_write)
    with pytest.raises(Exception):
        cat.save("frame_images", {key: lambda: np.full((64, 64, 3), 200, np.uint8)})
    assert cv2.imread(str(target), cv2.IMREAD_UNCHANGED).max() == 7  # the old, complete PNG is still there


class _BoomPickle:
    def __reduce__(self):
        raise _Interrupted("killed while pickling")


JSON_ENTRIES = [
    "media_index@report",
    "labels_conversion_report",
    "tracks@report",
    "model_metrics",
    "model_run",
    "behavior_predictions",
]


def test_model_pickle_write_is_atomic(catalog):
    cat, _folder = catalog
    assert "trained_model" in cat, "the catalog has no trained_model entry"
    cat.save("trained_model", {"model": "old"})
    with pytest.raises(Exception):
        cat.save("trained_model", [b"x" * 300_000, _BoomPickle()])
    assert cat.load("trained_model") == {"model": "old"}


@pytest.mark.parametrize("entry", JSON_ENTRIES)
def test_json_outputs_write_is_atomic(catalog, entry):
    cat, _folder = catalog
    assert entry in cat, f"the catalog has no {entry} entry"
    good = {"ok": True, "n": 1}
    cat.save(entry, good)
    with pytest.raises(Exception):
        cat.save(entry, {"a": "x" * 100_000, "z": _Boom()})
    path = cat._get_dataset(entry)._filepath if hasattr(cat, "_get_dataset") else None
    if entry == "model_run":  # loading it gives the stored run its pointer names: read the pointer itself
        data = json.loads(Path(str(cat.get(entry)._filepath)).read_text(encoding="utf-8"))
    else:
        data = cat.load(entry)  # still the complete old content
    assert data == good, f"{entry}: a failed save left {str(data)[:80]!r} ({path})"


def test_partitioned_datasets_never_list_temporary_files(catalog):
    """Temp files of interrupted writes (hidden, '.tmp-') are never partitions of the Kedro datasets."""
    from mosaic.core.atomic import is_temp_file, temp_path_for

    cat, folder = catalog
    planted = []
    for entry, rel in [
        ("tracks@parquet", "tracks/g__s.parquet"),
        ("labels", "labels/behavior/g__s.npz"),
        ("frame_images", "frames/uniform/run0/g__s/frame_000002.png"),
    ]:
        if entry not in cat:
            continue
        real = folder / rel
        real.parent.mkdir(parents=True, exist_ok=True)
        if not real.exists():
            real.write_bytes(b"stands for a finished output (partitions load lazily)")
        tmp = temp_path_for(real)
        tmp.write_bytes(b"half a file")
        assert is_temp_file(tmp)
        planted.append((entry, tmp))
    assert planted
    for entry, tmp in planted:
        parts = cat.load(entry)
        assert len(parts) >= 1
        assert not [k for k in parts if ".tmp-" in k], (
            f"{entry} lists temporary files: {[k for k in parts if '.tmp-' in k]}"
        )
        tmp.unlink()
