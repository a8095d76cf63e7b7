"""kedro-datasets classes whose ``save`` is atomic (temporary file, then rename).

kedro-datasets' ``pillow.ImageDataset``, ``json.JSONDataset``, ``pickle.PickleDataset`` and
``matplotlib.MatplotlibDataset`` open the target path and stream into it: a kill half-way
leaves a torn file under the final name. The subclasses here serialise the same way (same
``save_args``) but write through :mod:`mosaic.core.atomic`, so an interrupted save leaves the
old file or none. ``load``, ``exists`` and ``describe`` are the parents'.

Temporary files are hidden and never end with the output suffix (``.name.png.tmp-<pid>-<hex>``),
so a ``PartitionedDataset`` listing ``*.png`` never sees them. Formats are always explicit
(taken from the target's suffix or ``save_args``), never inferred from a temporary name.

Only local paths (protocol ``file``) are written atomically; other protocols fall back to the
parent's ``save`` (object stores replace whole objects anyway).

Catalog use::

    media_index_report:
      type: mosaic.datasets.atomic.AtomicJSONDataset
      filepath: ...
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError, get_filepath_str
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pickle import PickleDataset
from kedro_datasets.pillow import ImageDataset

from mosaic.core.atomic import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    is_temp_file,
)
from mosaic.core.paths import check_output_path, safe_unlink, walk_files_nofollow

log = logging.getLogger(__name__)

LOCAL_PROTOCOLS = ("file", "local")

__all__ = [
    "AtomicImageDataset",
    "AtomicJSONDataset",
    "AtomicMatplotlibDataset",
    "AtomicPickleDataset",
    "FramePngDataset",
]


def _local_target(ds: Any, path: PurePosixPath) -> Path | None:
    """The local file path of ``path`` for ``ds``, or None when its protocol is not local."""
    if getattr(ds, "_protocol", "file") not in LOCAL_PROTOCOLS:
        return None
    return Path(get_filepath_str(path, ds._protocol))


class AtomicImageDataset(ImageDataset):
    """``pillow.ImageDataset`` with an atomic ``save``.

    The image is encoded into memory (format from the target suffix, e.g. ``.png``, with the
    dataset's ``save_args``), then written with
    :func:`~mosaic.core.atomic.atomic_write_bytes`. ``durable=False`` skips the fsyncs (the
    rename stays atomic) for many small files whose completeness a later marker records.
    """

    def __init__(self, *, durable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._durable = bool(durable)

    def save(self, data: Any) -> None:
        save_path = self._get_save_path()
        target = _local_target(self, save_path)
        if target is None:
            return super().save(data)
        fmt = self._get_format(save_path)
        if fmt is None:
            raise DatasetError(f"cannot tell the image format from the file name {target} (unknown suffix)")
        buf = io.BytesIO()
        data.save(buf, format=fmt, **self._save_args)
        atomic_write_bytes(target, buf.getvalue(), durable=self._durable)
        self._invalidate_cache()
        return None


class AtomicJSONDataset(JSONDataset):
    """``json.JSONDataset`` with an atomic ``save``: ``json.dumps(data, **save_args)``, then
    :func:`~mosaic.core.atomic.atomic_write_text` (UTF-8). Nothing touches the file unless the
    whole document serialised."""

    def save(self, data: Any) -> None:
        target = _local_target(self, self._get_save_path())
        if target is None:
            return super().save(data)
        text = json.dumps(data, **self._save_args)
        atomic_write_text(target, text, encoding=self._fs_open_args_save.get("encoding") or "utf-8")
        self._invalidate_cache()
        return None


class AtomicPickleDataset(PickleDataset):
    """``pickle.PickleDataset`` with an atomic ``save``.

    The backend (``pickle``, ``joblib``, ...) dumps into an open handle on a temporary file
    (:func:`~mosaic.core.atomic.atomic_path`), so no backend infers a format or compression
    from the temporary name; pass any compression explicitly in ``save_args``.
    """

    def save(self, data: Any) -> None:
        target = _local_target(self, self._get_save_path())
        if target is None:
            return super().save(data)
        backend = importlib.import_module(self._backend)
        try:
            with atomic_path(target) as tmp, open(tmp, "wb") as fh:
                backend.dump(data, fh, **self._save_args)  # type: ignore[attr-defined]
                fh.flush()
                os.fsync(fh.fileno())
        except Exception as exc:  # the parent's contract: serialisation failures are DatasetErrors
            raise DatasetError(f"{data.__class__} was not serialised due to: {exc}") from exc
        self._invalidate_cache()
        return None


class AtomicMatplotlibDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` with atomic ``save`` of each figure.

    Accepts what the parent does: one figure (saved to ``filepath``), a list (``0.png``,
    ``1.png``, ... inside ``filepath``) or a dict ``{name: figure}`` (``filepath/name``).
    Each figure is rendered into memory with an explicit format (``save_args['format']``,
    else the file's suffix, else PNG) and written atomically. With ``overwrite=True`` and a
    list/dict, files of the folder that the new save did not write are removed *after* the new
    ones are in place (the parent removes the folder first).
    """

    def save(self, data: Any) -> None:
        save_path = self._get_save_path()
        folder = _local_target(self, save_path)
        if folder is None:
            return super().save(data)
        import matplotlib.pyplot as plt
        from kedro_datasets._utils import validate_sub_path

        if isinstance(data, list):
            items = [(folder / f"{i}.png", fig) for i, fig in enumerate(data)]
        elif isinstance(data, dict):
            items = []
            for name, fig in data.items():
                validate_sub_path(name, str(save_path))
                items.append((Path(get_filepath_str(save_path / name, self._protocol)), fig))
        else:
            items = [(folder, data)]
        written = set()
        for target, fig in items:
            self._save_figure(target, fig)
            written.add(target.resolve())
        if isinstance(data, (list, dict)) and self._overwrite:
            self._remove_others(folder, written)
        plt.close("all")
        self._invalidate_cache()
        return None

    def _save_figure(self, target: Path, fig: Any) -> None:
        args = dict(self._save_args)
        if not args.get("format"):
            args["format"] = target.suffix.lstrip(".").lower() or "png"
        buf = io.BytesIO()
        fig.savefig(buf, **args)
        atomic_write_bytes(target, buf.getvalue())

    @staticmethod
    def _remove_others(folder: Path, keep: set[Path]) -> None:
        """Delete files under ``folder`` not in ``keep`` (stale plots of an earlier save), then empty sub-folders.

        Never through a link: a ``folder`` resolving outside its dataset root is refused, links
        inside are removed as links and never descended into.
        """
        check_output_path(folder)
        if folder.is_symlink() or not folder.is_dir():
            return
        for p in walk_files_nofollow(folder):
            if is_temp_file(p):
                continue  # possibly another writer's file in flight
            if p.is_symlink() or p.resolve() not in keep:
                safe_unlink(p)
        dirs = sorted((Path(d) for d, _, _ in os.walk(folder)), key=lambda q: len(q.parts), reverse=True)
        for d in dirs:
            if d != folder and not d.is_symlink() and not any(d.iterdir()):
                d.rmdir()


class FramePngDataset(AbstractDataset):
    """One sampled frame as a PNG, encoded and written by the media domain's own writer.

    ``save`` takes a BGR (or grayscale) ``uint8`` array and calls
    :func:`mosaic.media.store.write_frame_png` — the function ``Dataset.extract_frames`` uses —
    so both doors write the same bytes (atomic rename; not fsync'd one by one: the recording's
    ``run_info.json``, written last, marks it complete). ``load`` returns the BGR array. Use it as
    the ``dataset`` of a ``partitions.PartitionedDataset`` with ``filename_suffix: .png``.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> Any:
        import cv2

        img = cv2.imread(str(self._filepath), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise DatasetError(f"cannot read the PNG frame {self._filepath}")
        return img

    def save(self, data: Any) -> None:
        import numpy as np

        from mosaic.media.store import write_frame_png

        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise DatasetError(f"FramePngDataset saves uint8 BGR/gray arrays, got {type(data).__name__}")
        write_frame_png(Path(self._filepath), data)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
