"""One TRex per-individual export file (``.npz`` or ``.csv``), opened for :mod:`.trex` to merge.

A file is opened lazily: its member list and ``frame``/``missing`` now, every other kept field
only when the merge scatters it (one array in memory at a time). CSV column names lose their
unit suffix (``X (cm)`` → ``X``).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import TrackFormatError

from ..table import check_increasing, frames_as_int
from ._numeric import numeric_column, read_csv_table

#: TRex fields kept besides positions, time, pose and ``keep_fields``
DEFAULT_KEEP = ("ANGLE", "SPEED", "timestamp")
#: a pose column ``poseX<k>``/``poseY<k>``
POSE = re.compile(r"^pose([XY])(\d+)$")
_UNIT = re.compile(r"\s*\([^)]*\)\s*$")


class TrexFile:
    """Columns of one per-individual file, read on demand (one array in memory at a time)."""

    def __init__(
        self, path: Path, shapes: dict[str, tuple[int, ...]], getter: Callable[[str], np.ndarray], close=None
    ) -> None:
        self.path = path
        self.shapes = shapes
        self._get = getter
        self._close = close

    def __contains__(self, key: str) -> bool:
        return key in self.shapes

    def keys(self) -> list[str]:
        return list(self.shapes)

    def get(self, key: str, n: int | None = None) -> np.ndarray:
        """The array ``key``; with ``n``, it must be 1-D of length ``n`` (like ``frame``)."""
        try:
            arr = np.asarray(self._get(key))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
            raise TrackFormatError(
                f"TRex field {key!r} unreadable", path=self.path, found=f"{type(exc).__name__}: {exc}"
            ) from exc
        if n is not None and (arr.ndim != 1 or len(arr) != n):
            raise TrackFormatError(
                f"TRex field {key!r} length differs from 'frame'",
                path=self.path,
                expected=f"{n} values (like 'frame')",
                found=f"shape {arr.shape}",
            )
        return arr

    def close(self) -> None:
        if self._close is not None:
            self._close()


def open_npz(path: Path, wanted: Callable[[list[str]], list[str]]) -> TrexFile:
    """Open a TRex ``.npz`` lazily: the member list now, each array only when asked for."""
    try:
        z = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise TrackFormatError(
            "not a readable TRex .npz file",
            path=path,
            expected="numpy .npz archive",
            found=f"{type(exc).__name__}: {exc}",
        ) from exc
    if not hasattr(z, "files"):
        raise TrackFormatError(
            "not a TRex .npz archive", path=path, expected="numpy .npz archive", found=f"a single array {np.shape(z)}"
        )
    shapes: dict[str, tuple[int, ...] | None] = {k: None for k in wanted(list(z.files))}  # known once read
    return TrexFile(path, shapes, z.__getitem__, z.close)


def load_csv(path: Path) -> TrexFile:
    df = read_csv_table(path, "TRex .csv file", "a header row and data rows")
    out: dict[str, np.ndarray] = {}
    for c in df.columns:
        name = _UNIT.sub("", str(c)).strip()
        col = df[c]
        text_only = col.dtype == object and pd.to_numeric(col, errors="coerce").isna().all()
        # a wholly textual column (e.g. a category name) is kept as it is; a numeric column
        # with text in some cells is an error rather than silently NaN
        out[name] = col.to_numpy() if text_only else numeric_column(col, str(c), path=path)
    return TrexFile(path, {k: np.shape(v) for k, v in out.items()}, out.__getitem__)


def wanted_keys(params: Mapping[str, Any]):
    keep = set(params.get("keep_fields") or ()) | set(DEFAULT_KEEP)

    src = params.get("position_source", "wcentroid")

    def wanted(keys: list[str]) -> list[str]:
        base = {"frame", "time", "missing", "cm_per_pixel", "frame_rate", "id"}
        for axis in ("X", "Y"):  # read only the position source that will be used
            base.add(f"{axis}#{src}" if src and src != "head" and f"{axis}#{src}" in keys else axis)
        return [k for k in keys if k in base or k in keep or POSE.match(k)]

    return wanted


def _position_keys(
    data: TrexFile, params: Mapping[str, Any], path: Path, require_xy: bool
) -> tuple[str | None, str | None]:
    src = params.get("position_source", "wcentroid")
    chosen = []
    for axis in ("X", "Y"):
        options = ([f"{axis}#{src}"] if src and src != "head" else []) + [axis]
        chosen.append(next((k for k in options if k in data), None))
    if chosen[0] is None and chosen[1] is None or (require_xy and None in chosen):
        raise TrackFormatError(
            "TRex file lacks position columns",
            path=path,
            expected=f"X#{src}/Y#{src} or X/Y",
            found=sorted(data.keys())[:20],
            hint="add X/Y to TRex output_fields, or pass require_xy=False to fill the missing axis with NaN",
        )
    return chosen[0], chosen[1]


def read_file(
    path: Path, kind: str, params: Mapping[str, Any], wanted, keep: Sequence[str], require_xy: bool
) -> dict[str, Any]:
    """Open one per-individual file: frames, missing flags and metadata now, the rest lazily.

    Returns ``{'_src': source, '_n': rows, '_meta': {...}, 'frame', 'missing', '_cols': {out name: key}}``.
    """
    src = open_npz(path, wanted) if kind == "trex_npz" else load_csv(path)
    try:
        if "frame" not in src:
            raise TrackFormatError(
                "TRex file has no 'frame' column", path=path, expected="'frame'", found=sorted(src.keys())[:20]
            )
        frame_raw = src.get("frame")
        if frame_raw.ndim != 1:
            raise TrackFormatError(
                "TRex 'frame' is not 1-D", path=path, expected="(n,)", found=f"shape {frame_raw.shape}"
            )
        n = len(frame_raw)
        rec: dict[str, Any] = {
            "_src": src,
            "_n": n,
            "_meta": {k: src.get(k).copy() for k in ("cm_per_pixel", "frame_rate", "id") if k in src},
        }
        if n == 0:
            src.close()
            return rec
        frame = frames_as_int(frame_raw, path=path)
        check_increasing(frame, path=path)
        xk, yk = _position_keys(src, params, path, require_xy)
        cols: dict[str, str] = {}
        if xk:
            cols["X"] = xk
        if yk:
            cols["Y"] = yk
        if "time" in src:
            cols["time"] = "time"
        for k in keep:
            if k in src:
                cols[k.replace("#", "_")] = k
        for k in src.keys():
            if POSE.match(k):
                cols[k] = k
        rec["frame"] = frame
        rec["missing"] = (src.get("missing", n) > 0) if "missing" in src else None
        rec["_cols"] = cols
        return rec
    except BaseException:
        src.close()
        raise
