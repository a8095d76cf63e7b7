"""Where frame runs live on disk: PNGs, ``run_info.json``, ``frames/index.csv``, and queries.

Layout::

    frames/<method>/<run_id>/<group_safe>__<sequence_safe>/frame_000123.png
    frames/<method>/<run_id>/<group_safe>__<sequence_safe>/run_info.json
    frames/index.csv          one row per (method, run_id, group, sequence)

One index row per recording (not per frame): the frame list lives in ``run_info.json``.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_bytes, atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import IndexFileError
from mosaic.core.indexes import NAME_COLUMNS, IndexSchema, read_index, upsert_index
from mosaic.core.paths import check_output_path
from mosaic.core.safe_names import to_safe_name

from .decode import video_read_mode
from .errors import VideoReadError
from .plan import (
    FRAME_PREFIX,
    FrameRun,
    SequenceJob,
    frame_file_stem,
    sequence_frames_dir,
)

RUN_INFO = "run_info.json"
#: PNG zlib level: 1 is ~4x faster to write than OpenCV's default 3, for slightly larger files.
PNG_COMPRESSION = 1
#: PNG encoder settings: fast zlib level with the 'up' filter and RLE strategy (~2.5x faster than
#: OpenCV's defaults for camera frames, similar size; PNG stays lossless).
PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION,
    PNG_COMPRESSION,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_UP,
    cv2.IMWRITE_PNG_STRATEGY,
    cv2.IMWRITE_PNG_STRATEGY_RLE,
]

try:  # optional (pip install isal): ISA-L deflate level 1 is ~5x faster than zlib level 1, files ~3 % smaller
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - depends on the environment
    _fast_zlib = None

#: ISA-L deflate level used by :func:`encode_png` (1: its fast level; files are about the size
#: OpenCV's zlib level 1 + 'up' filter gives).
ISAL_LEVEL = 1
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_FILTER_UP = 2

FRAMES_INDEX = IndexSchema(
    name="frames",
    columns=(
        "method",
        "run_id",
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "frames_dir_path",
        "run_info_path",
        "n_frames",
        "created_iso",
    ),
    key=("method", "run_id", "group", "sequence"),
    text_columns=NAME_COLUMNS + ("method", "run_id", "frames_dir_path", "run_info_path", "created_iso"),
)


@dataclass
class Selection:
    """Chosen global frame indices of one recording, with how they were chosen."""

    indices: np.ndarray
    info: dict[str, Any]


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(tag)))


def _encode_png_isal(frame: np.ndarray) -> bytes:
    """Lossless 8-bit PNG (RGB from BGR, or gray) with the 'up' filter on every row, deflated by ISA-L."""
    h, w = frame.shape[:2]
    c = 1 if frame.ndim == 2 else frame.shape[2]
    src = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if c == 3 else frame
    rows = np.empty((h, 1 + w * c), dtype=np.uint8)  # each scanline: filter byte, filtered bytes
    rows[:, 0] = _PNG_FILTER_UP
    body = rows[:, 1:].reshape(h, w, c) if c > 1 else rows[:, 1:]
    body[0] = src[0]  # first row: the row above counts as zeros
    np.subtract(src[1:], src[:-1], out=body[1:])  # uint8 arithmetic wraps modulo 256, as PNG wants
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if c == 3 else 0, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", ihdr),
            _png_chunk(b"IDAT", _fast_zlib.compress(rows, ISAL_LEVEL)),
            _png_chunk(b"IEND", b""),
        )
    )


def encode_png(frame: np.ndarray) -> bytes:
    """PNG bytes of a BGR (or grayscale) uint8 frame; decoding them gives back exactly ``frame``.

    With the optional ``isal`` package (8-bit gray or BGR frames): 'up' filter + ISA-L deflate
    level 1, ~2 ms for a 640×480 camera frame with files ~3 % smaller than OpenCV's; otherwise
    OpenCV's encoder with :data:`PNG_PARAMS` (~5.5 ms). Both are lossless: only the bytes differ.
    """
    if (
        _fast_zlib is not None
        and frame.dtype == np.uint8
        and (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3))
        and frame.size
    ):
        return _encode_png_isal(frame)
    ok, buf = cv2.imencode(".png", frame, PNG_PARAMS)
    if not ok:
        raise ValueError("OpenCV could not encode the frame as PNG")
    return buf.tobytes()


def write_frame_png(path: str | os.PathLike, frame: np.ndarray) -> Path:
    """Write a BGR frame as PNG (:func:`encode_png`) atomically (temporary file in the same folder, then rename).

    The file is not fsync'd one by one (``durable=False``): two
    fsyncs per PNG cost ~12 ms here, more than encoding it. Durability comes from the
    recording's ``run_info.json``, written (and fsync'd) after all its PNGs: a recording
    without it, or with a PNG missing, is not reused and is extracted again.
    """
    path = Path(path)
    try:
        data = encode_png(frame)
    except (ValueError, cv2.error) as exc:
        raise VideoReadError("could not encode frame as PNG", path=path, found=str(exc)) from exc
    return atomic_write_bytes(path, data, durable=False)


def build_run_info(
    ds: DatasetCore, run: FrameRun, job: SequenceJob, selection: Selection, timing: dict[str, float]
) -> dict[str, Any]:
    """The ``run_info.json`` content of one recording of a run."""
    total = job.total_frames
    frames = []
    for g in selection.indices.tolist():
        v, local = job.locate(int(g))
        frames.append(
            {
                "index": int(g),
                "file": frame_file_stem(g, total) + ".png",
                "video": v.name,
                "video_frame": int(local),
                "time_s": (local / v.fps) if v.fps > 0 else None,
            }
        )
    return {
        "method": run.method,
        "run_id": run.run_id,
        "group": job.group,
        "sequence": job.sequence,
        "group_safe": to_safe_name(job.group),
        "sequence_safe": to_safe_name(job.sequence),
        "params": run.params.to_dict(),
        "sources": [
            {
                **v.identity(),
                "abs_path": v.rel_path,
                "n_frames": v.n_frames,
                "fps": v.fps,
                "width": v.width,
                "height": v.height,
                "global_offset": v.offset,
                "read_mode": video_read_mode(v),
            }
            for v in job.videos
        ],
        "total_frames": total,
        "frame_indices": [int(i) for i in selection.indices],
        "frames": frames,
        "selection": selection.info,
        "timing": timing,
        "created_iso": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
    }


def record_sequence_run(
    ds: DatasetCore, run: FrameRun, job: SequenceJob, selection: Selection, timing: dict[str, float]
) -> dict[str, Any]:
    """Write ``run_info.json`` for one recording, drop its stale PNGs, return its ``frames/index.csv`` row.

    Call it once the recording's new PNGs are all written (atomically, over the old ones of
    the same name). Order is what makes an overwrite crash-safe: new PNGs, then
    ``run_info.json`` (atomic), then removal of the PNGs it does not list. A kill at any point
    leaves a ``run_info.json`` (old or new) whose frames all exist, so an index row pointing
    at it stays valid.
    """
    out_dir = sequence_frames_dir(ds, run.method, run.run_id, job.group, job.sequence)
    info = build_run_info(ds, run, job, selection, timing)
    info_path = atomic_write_json(out_dir / RUN_INFO, info)
    remove_stale_frames(out_dir, [f["file"] for f in info["frames"]])
    return index_row(ds, info, out_dir, info_path)


def index_row(ds: DatasetCore, info: dict[str, Any], out_dir: Path, info_path: Path) -> dict[str, Any]:
    """A ``frames/index.csv`` row from a run_info dict."""
    return {
        "method": info["method"],
        "run_id": info["run_id"],
        "group": info["group"],
        "sequence": info["sequence"],
        "group_safe": info["group_safe"],
        "sequence_safe": info["sequence_safe"],
        "frames_dir_path": ds.relative_path(out_dir),
        "run_info_path": ds.relative_path(info_path),
        "n_frames": len(info["frame_indices"]),
        "created_iso": info["created_iso"],
    }


def frames_index_path(ds: DatasetCore) -> Path:
    """``frames/index.csv``."""
    return ds.get_root("frames") / "index.csv"


def upsert_frame_rows(ds: DatasetCore, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Merge rows into ``frames/index.csv`` (locked, atomic)."""
    return upsert_index(frames_index_path(ds), list(rows), FRAMES_INDEX)


def record_frame_selection(ds: DatasetCore, frame_selection: dict[str, Any]) -> list[dict[str, Any]]:
    """Record a sampled run once its PNGs are written: ``run_info.json`` per recording, then the index rows.

    ``frame_selection`` is the ``sample_frames`` pipeline's selection (``run``: the
    :class:`~mosaic.media.plan.FrameRun` as a dict, ``selections``: per recording ``group``,
    ``sequence``, ``indices``, ``info``, ``reused``). Reused recordings keep their earlier run's row.
    Returns the rows upserted into ``frames/index.csv`` (once).
    """
    run = FrameRun.from_dict(frame_selection["run"])
    rows = []
    for sel in frame_selection["selections"]:
        job = run.job(sel["group"], sel["sequence"])
        if sel["reused"]:
            row = existing_run_row(ds, run, job)
        else:
            selection = Selection(indices=np.asarray(sel["indices"], dtype=np.int64), info=sel["info"])
            timing = {"select_s": sel["info"].get("select_s"), "decode_write_s": None}  # PNGs saved lazily by Kedro
            row = record_sequence_run(ds, run, job, selection, timing)
        if row is not None:
            rows.append(row)
    if rows:
        upsert_frame_rows(ds, rows)
    return rows


def existing_run_row(ds: DatasetCore, run: FrameRun, job: SequenceJob) -> dict[str, Any] | None:
    """The index row of a finished earlier run of this recording (run_info + every PNG present), else None."""
    out_dir = sequence_frames_dir(ds, run.method, run.run_id, job.group, job.sequence)
    info_path = out_dir / RUN_INFO
    if not info_path.is_file():
        return None
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        files = [f["file"] for f in info["frames"]]
    except (ValueError, KeyError, TypeError):
        return None
    if not all((out_dir / f).is_file() for f in files):
        return None
    return index_row(ds, info, out_dir, info_path)


def remove_stale_frames(out_dir: Path, keep: Sequence[str]) -> list[Path]:
    """Delete frame PNGs of a recording's folder that are not in ``keep`` (file names); return them.

    Run only after the ``run_info.json`` listing ``keep`` has been written: until then the
    old PNGs are what the old ``run_info.json`` (and the index row) refer to.
    """
    keep_set = set(keep)
    removed = []
    check_output_path(out_dir)  # never delete through a link that leaves the frames root
    if out_dir.is_dir():
        for p in out_dir.glob(f"{FRAME_PREFIX}*.png"):
            if p.name not in keep_set:
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def list_frame_runs(ds: DatasetCore, method: str | None = None) -> pd.DataFrame:
    """Rows of ``frames/index.csv`` (one per method, run id and recording), oldest first."""
    df = read_index(frames_index_path(ds), FRAMES_INDEX, missing_ok=True)
    if method is not None:
        df = df[df["method"] == method]
    return df.sort_values(["created_iso", "method", "run_id", "group", "sequence"], kind="stable").reset_index(
        drop=True
    )


def _select_runs(
    ds: DatasetCore, method: str | None, run_id: str | None, group: str | None, sequence: str | None
) -> pd.DataFrame:
    df = list_frame_runs(ds, method)
    if group is not None:
        df = df[df["group"] == str(group)]
    if sequence is not None:
        df = df[df["sequence"] == str(sequence)]
    if run_id is not None:
        df = df[df["run_id"] == str(run_id)]
    elif len(df):
        latest = df.iloc[-1]
        df = df[(df["run_id"] == latest["run_id"]) & (df["method"] == latest["method"])]
    return df


def get_frame_manifests(
    ds: DatasetCore,
    method: str | None = None,
    run_id: str | None = None,
    group: str | None = None,
    sequence: str | None = None,
) -> list[dict[str, Any]]:
    """The ``run_info.json`` contents of matching recordings (latest run when ``run_id`` is None).

    Each dict gains ``frames_dir`` and ``run_info_path`` (absolute paths).
    """
    out = []
    for r in _select_runs(ds, method, run_id, group, sequence).itertuples(index=False):
        info_path = ds.resolve_path(r.run_info_path)
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFileError(
                "run_info.json listed in the frames index is missing or unreadable",
                path=info_path,
                group=r.group,
                sequence=r.sequence,
                found=str(exc),
            ) from exc
        info["frames_dir"] = str(ds.resolve_path(r.frames_dir_path))
        info["run_info_path"] = str(info_path)
        out.append(info)
    return out


def get_frame_paths(
    ds: DatasetCore,
    method: str,
    run_id: str | None = None,
    group: str | None = None,
    sequence: str | None = None,
) -> list[Path]:
    """PNG paths of a frame run (latest run of ``method`` when ``run_id`` is None), by recording then frame index."""
    paths = []
    for info in get_frame_manifests(ds, method, run_id, group, sequence):
        d = Path(info["frames_dir"])
        paths.extend(d / f["file"] for f in info["frames"])
    return paths
