"""Hostile cases about the environment: links out of the dataset, FIFOs, size bombs, long names, file-system faults, roots.

Registered into :data:`tests.reliability.hostile.CASE_BUILDERS` on import (see
:func:`tests.reliability.hostile.all_cases`). Cases that aim at a folder outside the dataset
(a link inside a root pointing out) guard that folder: if any file or folder in it is created,
changed or removed, the case fails with an ``AssertionError`` and is counted in
:data:`OUTSIDE_TOUCHED`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.hostile import Case, register_cases, trex_arrays

V = "error_or_valid"
#: case id -> what changed outside the dataset (must stay empty)
OUTSIDE_TOUCHED: dict[str, list[str]] = {}


# ----------------------------------------------------------------------------- helpers
def _tree(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def linked_out(root: str, rel: str) -> Callable[[Path], Path]:
    """Build: make ``<root>/<rel>`` of the hostile dataset a link to an outside folder holding files."""

    def build(folder: Path) -> Path:
        from mosaic import Dataset

        folder.mkdir(parents=True, exist_ok=True)
        ds = Dataset.open(folder.parents[2])
        link = ds.get_root(root) / rel
        outside = ds.folder.parent / f"outside-{root}-{rel.replace('/', '_')}"
        shutil.rmtree(outside, ignore_errors=True)
        (outside / "sub").mkdir(parents=True)
        (outside / "precious.txt").write_text("not mosaic's")
        (outside / "sub" / "frame_000001.png").write_bytes(b"\x89PNG not ours")
        (outside / "index.csv").write_text('"abs_path"\n"/elsewhere/x"\n')
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        elif link.is_dir() and not any(link.iterdir()):
            link.rmdir()  # an empty folder an earlier case left
        link.symlink_to(outside, target_is_directory=True)
        (folder / "link.txt").write_text(f"{link}\n{outside}\n")
        return link

    return build


def guarded(action: Callable[[Any, Path], Any]) -> Callable[[Any, Path], Any]:
    """Call: run ``action``; then the outside folder must be unchanged and the link is removed."""

    def call(ds, link: Path):
        outside = Path(os.path.realpath(link))
        before = _tree(outside)
        try:
            return action(ds, link)
        finally:
            after = _tree(outside)
            link.unlink()
            if after != before:
                changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
                OUTSIDE_TOUCHED[str(link)] = changed
                raise AssertionError(f"files outside the dataset were touched: {changed}")

    return call


def unwrap_kedro(fn: Callable[[], Any]) -> Any:
    """Run a Kedro dataset call; re-raise the mosaic error Kedro's ``DatasetError`` wraps (what the user reads)."""
    from kedro.io.core import DatasetError

    from mosaic.core.errors import MosaicError

    try:
        return fn()
    except DatasetError as exc:
        cause = exc.__cause__
        while cause is not None and not isinstance(cause, MosaicError):
            cause = cause.__cause__
        if cause is None:
            raise
        raise cause from exc


def mini_dataset(folder: Path, recordings: dict[str, str], fifo: str | None = None) -> Path:
    """A dataset in ``folder/ds`` with one good TRex file per ``{group: sequence}``; returns its folder."""
    from mosaic import Dataset

    ds = Dataset.create(folder / "ds", name="trust")
    for group, seq in recordings.items():
        d = ds.get_root("tracks_raw") / group
        d.mkdir(parents=True, exist_ok=True)
        np.savez(d / f"{seq}_fish0.npz", **trex_arrays())
    return ds.folder


@contextlib.contextmanager
def os_fault(func: str, code: int, when: Callable[..., bool]) -> Iterator[None]:
    """Make ``os.<func>`` fail with ``code`` when ``when(*args)`` holds (a full disk, a read-only mount...)."""
    real = getattr(os, func)

    def fake(*args, **kwargs):
        if when(*args):
            raise OSError(code, os.strerror(code), str(args[-1] if func == "replace" else args[0]))
        return real(*args, **kwargs)

    setattr(os, func, fake)
    try:
        yield
    finally:
        setattr(os, func, real)


@contextlib.contextmanager
def env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ----------------------------------------------------------------------------- links out of the dataset
def _symlink_cases() -> list[Case]:
    import matplotlib

    matplotlib.use("Agg")

    def feature_overwrite(ds, link):
        return ds.run_feature({"name": "speed"}, overwrite=True)

    def frames_partitioned(ds, link):
        from kedro_datasets.partitions import PartitionedDataset
        from PIL import Image

        part = PartitionedDataset(
            path=str(ds.get_root("frames")),
            dataset={"type": "mosaic.datasets.atomic.AtomicImageDataset", "durable": False},
            filename_suffix=".png",
        )
        img = Image.new("L", (8, 8))
        return unwrap_kedro(lambda: part.save({f"uniform/r1/g__s/frame_{i:06d}": img for i in range(32)}))

    def ethograms_overwrite(ds, link):
        import matplotlib.pyplot as plt

        from mosaic.datasets.atomic import AtomicMatplotlibDataset

        plot = AtomicMatplotlibDataset(filepath=str(link), overwrite=True, save_args={"format": "png"})
        try:
            return unwrap_kedro(lambda: plot.save({"g__s.png": plt.figure()}))
        finally:
            plt.close("all")

    def pipeline_model(ds, link):
        from mosaic.datasets.atomic import AtomicJSONDataset

        return unwrap_kedro(lambda: AtomicJSONDataset(filepath=str(link / "metrics.json")).save({"f1": 1.0}))

    def labels_kind(ds, link):
        from tests.reliability.hostile_more import BEHAVIORS, PAIRS

        return ds.convert_all_labels(
            kind=link.name,
            source_format="boris_csv",
            params={"paths": ["annotations/boris_aggregated"], "behaviors": BEHAVIORS, "pair_behaviors": PAIRS},
        )

    def write_into(ds, link):
        from mosaic.core.atomic import atomic_write_text

        return atomic_write_text(link / "precious.txt", "overwritten")

    def clean_sub(ds, link):
        from mosaic.core.paths import safe_rmtree

        return safe_rmtree(link / "sub")

    return [
        Case("env_symlink", "feature_overwrite", linked_out("features", "speed"), guarded(feature_overwrite)),
        Case("env_symlink", "kedro_frames_partitioned", linked_out("frames", "uniform"), guarded(frames_partitioned)),
        Case(
            "env_symlink",
            "kedro_ethograms_overwrite",
            linked_out("models", "_pipeline/ethograms"),
            guarded(ethograms_overwrite),
        ),
        Case("env_symlink", "kedro_pipeline_folder", linked_out("models", "_pipeline"), guarded(pipeline_model)),
        Case("env_symlink", "labels_kind_folder", linked_out("labels", "linked"), guarded(labels_kind)),
        Case("env_symlink", "overwrite_outside_file", linked_out("tracks", "linked"), guarded(write_into)),
        Case("env_symlink", "delete_tree_through_link", linked_out("media", "linked"), guarded(clean_sub)),
    ]


# ----------------------------------------------------------------------------- FIFOs where files are expected
def _fifo_cases() -> list[Case]:
    def tracks_index_fifo(folder: Path) -> Path:
        import pandas as pd

        from mosaic import Dataset
        from mosaic.core.indexes import TRACKS_INDEX, write_index

        ds = Dataset.create(folder / "ds", name="trust")
        fifo = ds.get_root("tracks") / "g__s.parquet"
        os.mkfifo(fifo)
        row = {
            "group": "g",
            "sequence": "s",
            "group_safe": "g",
            "sequence_safe": "s",
            "abs_path": "tracks/g__s.parquet",
            "schema": "trex_v1",
            "src_format": "trex_npz",
            "n_rows": 1,
            "n_frames": 1,
            "n_ids": 1,
            "fps": 25.0,
        }
        write_index(ds.get_root("tracks") / "index.csv", pd.DataFrame([row]), TRACKS_INDEX)
        return fifo

    def raw_fifo(folder: Path) -> Path:
        from mosaic import Dataset

        ds_folder = mini_dataset(folder, {"g": "good"})
        fifo = ds_folder / "tracks_raw" / "g" / "pipe_fish0.npz"
        np.savez(fifo, **trex_arrays())
        Dataset.open(ds_folder).index_tracks_raw(["tracks_raw"], src_format="trex_npz")
        fifo.unlink()  # indexed as a file, replaced by a FIFO since
        os.mkfifo(fifo)
        return fifo

    def labels_fifo(folder: Path) -> Path:
        import pandas as pd

        from mosaic import Dataset
        from mosaic.core.indexes import write_index
        from mosaic.labels.schema import LABELS_INDEX

        ds = Dataset.create(folder / "ds", name="trust")
        d = ds.get_root("labels") / "behavior"
        d.mkdir(parents=True)
        fifo = d / "g__s.npz"
        os.mkfifo(fifo)
        row = {
            "kind": "behavior",
            "label_format": "events_v1",
            "group": "g",
            "sequence": "s",
            "group_safe": "g",
            "sequence_safe": "s",
            "abs_path": "labels/behavior/g__s.npz",
            "n_frames": 1,
            "n_events": 1,
            "label_ids": "[0]",
            "label_names": '["a"]',
        }
        write_index(d / "index.csv", pd.DataFrame([row]), LABELS_INDEX)
        return fifo

    def manifest_fifo(folder: Path) -> Path:
        (folder / "mds").mkdir(parents=True)
        os.mkfifo(folder / "mds" / "dataset.yaml")
        return folder / "mds" / "dataset.yaml"

    def index_fifo(folder: Path) -> Path:
        folder.mkdir(parents=True)
        os.mkfifo(folder / "index.csv")
        return folder / "index.csv"

    def open_ds(p: Path):
        from mosaic import Dataset

        return Dataset.open(next(q for q in p.parents if (q / "dataset.yaml").exists()))

    def read_idx(ds, p):
        from mosaic.core.indexes import TRACKS_INDEX, read_index

        return read_index(p, TRACKS_INDEX)

    return [
        Case("env_fifo", "load_tracks", tracks_index_fifo, lambda ds, p: open_ds(p).load_tracks("g", "s")),
        Case("env_fifo", "convert_all_tracks", raw_fifo, lambda ds, p: open_ds(p).convert_all_tracks()),
        Case("env_fifo", "load_labels", labels_fifo, lambda ds, p: open_ds(p).load_labels("g", "s")),
        Case("env_fifo", "manifest", manifest_fifo, lambda ds, p: __import__("mosaic").Dataset.open(p.parent)),
        Case("env_fifo", "index_csv", index_fifo, read_idx),
    ]


# ----------------------------------------------------------------------------- size bombs
def _bomb_cases() -> list[Case]:
    def alias_bomb(folder: Path) -> Path:
        lines = ["name: x", "meta:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
        (folder / "mds").mkdir(parents=True)
        p = folder / "mds" / "dataset.yaml"
        p.write_text("\n".join(lines) + "\n")
        return p

    def huge_shape(folder: Path) -> Path:
        import io
        import zipfile

        folder.mkdir(parents=True)
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": "<i4", "fortran_order": False, "shape": (10**10,)})
        p = folder / "g__s.npz"
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
            for k in ("frames", "labels", "individual_ids"):
                zf.writestr(f"{k}.npy", buf.getvalue() + b"\x00" * 1000)
        return p

    def zip_bomb(folder: Path) -> Path:
        folder.mkdir(parents=True)
        p = folder / "g__s.npz"
        np.savez_compressed(p, frames=np.zeros(4 * 1024**2, np.int32), labels=np.zeros(4 * 1024**2, np.int32))
        return p

    def read_labels(ds, p):
        from mosaic.labels.io import read_label_npz

        with env(MOSAIC_MAX_ALLOC_BYTES=str(8 * 1024**2)):
            return read_label_npz(p, group="g", sequence="s")

    def sparse_frames(folder: Path) -> Path:
        import pandas as pd

        from mosaic import Dataset
        from mosaic.core.indexes import TRACKS_INDEX, write_index
        from mosaic.tracks import write_tracks

        ds = Dataset.create(folder / "ds", name="trust", meta={"fps_default": 25.0})
        df = pd.DataFrame(
            {
                "frame": np.array([0, 0, 10**9, 10**9], np.int64),
                "time": [0.0, 0.0, 4e7, 4e7],
                "id": np.array([0, 1, 0, 1], np.int64),
                "X": [0.0, 1.0, 2.0, 3.0],
                "Y": [0.0, 1.0, 2.0, 3.0],
                "group": "g",
                "sequence": "s",
            }
        )
        p = write_tracks(df, ds.get_root("tracks") / "g__s.parquet", {"fps": 25.0, "group": "g", "sequence": "s"})
        row = {
            "group": "g",
            "sequence": "s",
            "group_safe": "g",
            "sequence_safe": "s",
            "abs_path": "tracks/g__s.parquet",
            "schema": "trex_v1",
            "src_format": "trex_npz",
            "n_rows": 4,
            "n_frames": 2,
            "n_ids": 2,
            "fps": 25.0,
        }
        write_index(ds.get_root("tracks") / "index.csv", pd.DataFrame([row]), TRACKS_INDEX)
        return p

    def featurize(ds, p):
        from mosaic import Dataset

        return Dataset.open(p.parents[1]).run_feature({"name": "speed"})

    def big_index(folder: Path) -> Path:
        from mosaic.core.indexes import TRACKS_INDEX

        folder.mkdir(parents=True)
        p = folder / "index.csv"
        p.write_text(",".join(TRACKS_INDEX.columns) + "\n" + ",".join(["y" * 4000] * len(TRACKS_INDEX.columns)) + "\n")
        return p

    def read_big(ds, p):
        from mosaic.core.indexes import TRACKS_INDEX, read_index

        with env(MOSAIC_MAX_INDEX_BYTES="20000"):
            return read_index(p, TRACKS_INDEX)

    def long_field(folder: Path) -> Path:
        from mosaic.core.indexes import TRACKS_INDEX

        folder.mkdir(parents=True)
        p = folder / "index.csv"
        cols = TRACKS_INDEX.columns
        p.write_text(",".join(cols) + "\n" + ",".join(['"' + "z" * 300_000 + '"'] + ["1"] * (len(cols) - 1)) + "\n")
        return p

    def read_idx(ds, p):
        from mosaic.core.indexes import TRACKS_INDEX, read_index

        return read_index(p, TRACKS_INDEX)

    def demo_tracks(folder: Path) -> Path:
        folder.mkdir(parents=True)
        return sorted((folder.parents[2] / "tracks").glob("*.parquet"))[0]

    def nn_huge_k(ds, p):
        return ds.run_feature({"name": "nearest_neighbor", "params": {"k": 10**9}})

    return [
        Case("env_bomb", "nearest_neighbor_k_1e9", demo_tracks, nn_huge_k),
        Case("env_bomb", "yaml_alias_bomb", alias_bomb, lambda ds, p: __import__("mosaic").Dataset.open(p.parent)),
        Case("env_bomb", "label_npz_huge_shape", huge_shape, read_labels),
        Case("env_bomb", "label_npz_zip_bomb", zip_bomb, read_labels),
        Case("env_bomb", "sparse_frames_0_and_1e9", sparse_frames, featurize),
        Case("env_bomb", "index_too_large", big_index, read_big),
        Case(
            "env_bomb",
            "index_field_300k",
            long_field,
            read_idx,
            V,
            lambda ds, p, df: None if len(df) == 1 and len(df["group"].iloc[0]) == 300_000 else 1 / 0,
        ),
    ]


# ----------------------------------------------------------------------------- long CSV records
LONG_RECORD_LIMIT = 64 * 1024  # MOSAIC_MAX_RECORD_BYTES in these cases; the files hold a record 4x longer


def _long_record_cases() -> list[Case]:
    from tests.reliability.hostile import convert_row, dlc_csv, generic_csv, sleap_csv, trex_csv

    def appended(make_good: Callable[[Path], Path], quoted: bool) -> Callable[[Path], Path]:
        def build(folder: Path) -> Path:
            folder.mkdir(parents=True, exist_ok=True)
            p = make_good(folder)
            tail = (
                b'1,"' + b"x\n" * (2 * LONG_RECORD_LIMIT) + b'"\n'
                if quoted
                else b"1," + b"9" * (4 * LONG_RECORD_LIMIT) + b"\n"
            )
            with open(p, "ab") as fh:
                fh.write(tail)
            return p

        return build

    def limited(call: Callable[[Any, Path], Any]) -> Callable[[Any, Path], Any]:
        def run(ds, p: Path):
            with env(MOSAIC_MAX_RECORD_BYTES=str(LONG_RECORD_LIMIT)):
                return call(ds, p)

        return run

    readers: dict[str, tuple[Callable[[Path], Path], Callable[[Any, Path], Any]]] = {
        "trex_csv": (trex_csv(), convert_row("trex_csv")),
        "generic_csv": (generic_csv(), convert_row("csv", {"fps": 25.0})),
        "sleap_csv": (sleap_csv(), convert_row("sleap_csv", {"fps": 30.0})),
        "dlc_csv": (dlc_csv(), convert_row("dlc", {"fps": 30.0})),
    }
    try:
        from tests.reliability.hostile_more import boris, convert_boris

        readers["boris_csv"] = (boris(), convert_boris("error"))
    except ImportError:  # pragma: no cover - the labels domain is always there today
        pass
    return [
        Case("env_long_record", f"{name}_{kind}", appended(make, kind == "quoted_cell"), limited(call))
        for name, (make, call) in readers.items()
        for kind in ("line", "quoted_cell")
    ]


# ----------------------------------------------------------------------------- long names
def _long_name_cases() -> list[Case]:
    def build(group: str, seq: str) -> Callable[[Path], Path]:
        def b(folder: Path) -> Path:
            from mosaic import Dataset

            ds_folder = mini_dataset(folder, {group: seq, "short": "ok"})
            Dataset.open(ds_folder).index_tracks_raw(["tracks_raw"], src_format="trex_npz")
            return ds_folder / "tracks"

        return b

    def convert(ds, p):
        from mosaic import Dataset

        return Dataset.open(p.parent).convert_all_tracks(on_error="skip")

    def both_converted(ds, p, report):
        files = sorted(q.name for q in p.glob("*.parquet"))
        assert len(files) == 2 and not report["failed"], (files, report["failed"])

    return [
        Case("env_names", "ascii_120_120", build("g" * 120, "s" * 120), convert, V, both_converted),
        Case("env_names", "cjk_36_36", build("鱼" * 36, "实验" * 18), convert, V, both_converted),
    ]


# ----------------------------------------------------------------------------- file-system faults
def _fault_cases() -> list[Case]:
    def two_recordings(folder: Path) -> Path:
        from mosaic import Dataset

        ds_folder = mini_dataset(folder, {"full": "disk", "fine": "rec"})
        Dataset.open(ds_folder).index_tracks_raw(["tracks_raw"], src_format="trex_npz")
        return ds_folder / "tracks"

    def enospc_skip(ds, p):
        from mosaic import Dataset

        with os_fault("replace", errno.ENOSPC, lambda src, dst: "full__disk" in str(dst)):
            return Dataset.open(p.parent).convert_all_tracks(on_error="skip")

    def skipped_one(ds, p, report):
        assert [q.name for q in p.glob("*.parquet")] == ["fine__rec.parquet"], report
        assert list(report["failed"]) and "ENOSPC" in str(report["failed"]), report["failed"]

    def erofs_all(ds, p):
        from mosaic import Dataset

        with os_fault(
            "open", errno.EROFS, lambda path, *a: str(path).startswith(str(p.parent)) and a and a[0] & os.O_CREAT
        ):
            return Dataset.open(p.parent).convert_all_tracks(on_error="skip")

    def lock_denied(ds, p):
        from mosaic import Dataset

        with os_fault("open", errno.EACCES, lambda path, *a: str(path).endswith(".lock")):
            return Dataset.open(p.parent).convert_all_tracks()

    def manifest_unreadable(ds, p):
        from mosaic import Dataset

        real = Path.read_text

        def fake(self, *a, **k):
            if self.name == "dataset.yaml":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self, *a, **k)

        Path.read_text = fake
        try:
            return Dataset.open(p.parent)
        finally:
            Path.read_text = real

    return [
        Case("env_fault", "enospc_one_recording_skip", two_recordings, enospc_skip, V, skipped_one),
        Case("env_fault", "erofs_every_write", two_recordings, erofs_all),
        Case("env_fault", "index_lock_denied", two_recordings, lock_denied, names=(".lock",)),
        Case("env_fault", "manifest_unreadable", two_recordings, manifest_unreadable, names=("dataset.yaml",)),
    ]


# ----------------------------------------------------------------------------- overlapping roots
def _roots_cases() -> list[Case]:
    from tests.reliability.hostile import manifest_file

    def open_ds(ds, p):
        from mosaic import Dataset

        return Dataset.open(p.parent)

    spec = {
        "all_dot": "name: x\nroots:\n"
        + "".join(f"  {k}: .\n" for k in ("media", "tracks_raw", "tracks", "features", "labels", "models", "frames")),
        "tracks_is_features": "name: x\nroots:\n  tracks: out\n  features: out\n",
        "features_inside_tracks": "name: x\nroots:\n  features: tracks/features\n",
        "raw_is_standard": "name: x\nroots:\n  tracks_raw: tracks\n",
        "media_is_media_raw": "name: x\nroots:\n  media: shared\n  media_raw: shared\n",
    }
    return [Case("env_roots", k, manifest_file(v), open_ds) for k, v in spec.items()]


register_cases("env_symlink", _symlink_cases)
register_cases("env_fifo", _fifo_cases)
register_cases("env_bomb", _bomb_cases)
register_cases("env_names", _long_name_cases)
register_cases("env_long_record", _long_record_cases)
register_cases("env_fault", _fault_cases)
register_cases("env_roots", _roots_cases)
