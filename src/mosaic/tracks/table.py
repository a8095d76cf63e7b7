"""Building ``trex_v1`` tables from arrays: shared by every converter.

Converters are pure: they read source arrays and hand them to :func:`build_table`, which
assembles one long table (one row per (frame, id)), sorted, with NaN for missing values
and ``group``/``sequence`` as categorical columns (cheap in memory and in parquet).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param
from mosaic.core.validate import positive_number

from .schema import TREX_V1


@dataclass
class TrackTable:
    """One converted recording: a ``trex_v1`` table plus its metadata.

    Attributes
    ----------
    group, sequence
        The recording's names (also in the table's ``group``/``sequence`` columns).
    df
        The ``trex_v1`` table.
    meta
        Dataset-level facts: ``fps``, ``cm_per_pixel``, ``keypoint_names``, ``individual_names``,
        ``src_format``, ``source_files``, ... (stored in the parquet metadata).
    """

    group: str
    sequence: str
    df: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def constant_category(value: str, n: int) -> pd.Categorical:
    """A categorical column of ``n`` copies of ``value`` (no per-row Python objects)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[str(value)])


def as_float(a: Any) -> np.ndarray:
    """``a`` as float64 with every non-finite value (inf, -inf, NaN) turned into NaN."""
    out = np.asarray(a, dtype=np.float64)
    if out.size:
        bad = ~np.isfinite(out)
        if bad.any():
            out = np.where(bad, np.nan, out)  # a new array: never writes into the caller's data
    return out


def nan_centroid(xs: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean over ``axis`` ignoring NaN; NaN where every value is NaN (no RuntimeWarning)."""
    finite = np.isfinite(xs)
    total = np.where(finite, xs, 0.0).sum(axis=axis)
    count = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    out[count == 0] = np.nan
    return out


def frames_as_int(values: Any, *, path: str | os.PathLike | None = None, what: str = "frame") -> np.ndarray:
    """Convert a frame column (often float32 in TRex) to int64, rejecting non-integers."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    try:
        f = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TrackFormatError(
            f"{what} values are not numbers", path=path, expected="integer frame numbers", found=str(arr.dtype)
        ) from exc
    bad = ~np.isfinite(f) | (f != np.round(f))
    if bad.any():
        raise TrackFormatError(
            f"{what} values are not whole numbers",
            path=path,
            expected="finite integer frame numbers",
            found=f"{int(bad.sum())} bad value(s), first {f[bad][0]!r}",
        )
    return f.astype(np.int64)


def check_increasing(frames: np.ndarray, *, path: str | os.PathLike | None = None, what: str = "frame") -> None:
    """Raise :class:`TrackFormatError` unless ``frames`` is strictly increasing."""
    if len(frames) > 1:
        d = np.diff(frames)
        if (d <= 0).any():
            i = int(np.argmax(d <= 0))
            kind = "duplicate" if d[i] == 0 else "non-monotonic (decreasing)"
            raise TrackFormatError(
                f"{kind} {what} values",
                path=path,
                expected=f"strictly increasing {what}",
                found=f"row {i + 1}: {frames[i + 1]} after {frames[i]}",
            )


#: the parameters every built-in converter reads through :func:`calibration`
CALIBRATION_PARAMETERS: dict[str, Param] = {
    "fps": Param(
        None,
        "Frames per second. A value in the file (or the export's settings) wins; then this parameter; "
        "then the dataset's `meta.fps_default`; then the format's own rate (CalMS21: 30). "
        "`tracks/index.csv` records the source used (`fps_source`).",
    ),
    "cm_per_pixel": Param(
        None,
        "Spatial calibration, same priority as `fps` (file, export settings, parameter, dataset "
        "`meta.cm_per_pixel`); recorded with its source (`cm_per_pixel_source`). Sources that "
        "disagree are warned about once per run and listed in the conversion report.",
    ),
}

#: where a scalar (fps, cm_per_pixel) may come from, highest priority first
VALUE_SOURCES = ("file", "settings", "params", "dataset", "format")
#: reserved params key: ``{name: source}`` for values filled in below explicit params
#: (``'dataset'`` for dataset.yaml meta defaults); set by ``effective_params``
PARAM_SOURCES_KEY = "_param_sources"


def param_source(params: Mapping[str, Any], name: str) -> str:
    """Where the parameter ``name`` came from: ``'dataset'`` (a dataset default) or ``'params'``."""
    origin = (params.get(PARAM_SOURCES_KEY) or {}).get(name, "params")
    return origin if origin in VALUE_SOURCES else "params"


def _positive(name: str, value: Any, path: str | os.PathLike | None, *, strict: bool) -> float | None:
    if value is None:
        return None
    if strict:  # a parameter: the one rule for physical parameters
        return positive_number(value, name, path=path)
    try:
        arr = np.asarray(value).ravel()
        # float32 file values (TRex) read as their shortest decimal: 0.1, not 0.10000000149
        v = float(str(arr[0])) if arr.dtype == np.float32 else float(arr[0])
    except (TypeError, ValueError, IndexError) as exc:
        if strict:
            raise ConfigError(
                f"parameter {name!r} is not a number", path=path, expected="positive number", found=repr(value)
            ) from exc
        return None
    if not (math.isfinite(v) and v > 0):
        if strict:
            raise ConfigError(f"parameter {name!r} must be positive", path=path, expected="positive number", found=v)
        return None
    return v


def _candidates(
    name: str,
    from_file: Any,
    settings: Any,
    params: Mapping[str, Any],
    format_default: float | None,
    path: str | os.PathLike | None,
) -> list[tuple[str, float]]:
    """``(source, value)`` of every source that gives ``name``, highest priority first (see :func:`resolve_number`)."""
    candidates: list[tuple[str, float]] = []
    for source, raw in (("file", from_file), ("settings", settings)):
        v = _positive(name, raw, path, strict=False)
        if v is not None:
            candidates.append((source, v))
    value = _positive(name, params.get(name), path, strict=True)
    if value is not None:
        candidates.append((param_source(params, name), value))
    if format_default is not None:
        candidates.append(("format", float(format_default)))
    candidates.sort(key=lambda c: VALUE_SOURCES.index(c[0]))
    return candidates


def resolve_number(
    name: str,
    from_file: Any,
    params: Mapping[str, Any],
    *,
    path: str | os.PathLike | None = None,
    required: bool = True,
    hint: str | None = None,
    settings: Any = None,
    format_default: float | None = None,
    conflicts: list[dict[str, Any]] | None = None,
) -> tuple[float | None, str]:
    """Pick a scalar (fps, cm_per_pixel) by the one rule every converter follows; say which.

    Highest priority first: a value in the tracking file itself (``'file'``), in the
    export's own settings beside it (``'settings'``, e.g. a TRex ``.settings``), an explicit
    converter parameter (``'params'``), a dataset default from ``dataset.yaml`` meta
    (``'dataset'``, marked by ``effective_params``), the format's own definition
    (``'format'``, e.g. CalMS21 is 30 Hz). A file value that is not a positive number is
    ignored; a parameter that is not one is an error.

    Returns ``(value, source)``; source is ``'missing'`` when nothing gives the value.
    When ``conflicts`` is a list, every lower-priority source whose value differs from the
    one used is appended to it as ``{'name', 'used', 'used_source', 'other', 'other_source'}``.

    Raises
    ------
    TrackFormatError
        ``required`` and no source gives the value.
    ConfigError
        The parameter is not a positive number.
    """
    candidates = _candidates(name, from_file, settings, params, format_default, path)
    if not candidates:
        if required:
            raise TrackFormatError(
                f"{name} is neither in the file nor given as a parameter",
                path=path,
                expected=f"a '{name}' entry in the file or params {{'{name}': ...}}",
                found="neither",
                hint=hint or f"pass convert params {{'{name}': <value>}} (or set it in dataset.yaml meta)",
            )
        return None, "missing"
    source, v = candidates[0]
    if conflicts is not None:
        for other_source, other in candidates[1:]:
            if other_source != "format" and not math.isclose(other, v, rel_tol=1e-9):
                conflicts.append(
                    {"name": name, "used": v, "used_source": source, "other": other, "other_source": other_source}
                )
    return v, source


def calibration(
    params: Mapping[str, Any],
    *,
    path: str | os.PathLike | None = None,
    fps_file: Any = None,
    cm_file: Any = None,
    settings: Mapping[str, Any] | None = None,
    fps_required: bool = True,
    cm_required: bool = False,
    fps_default: float | None = None,
    fps_hint: str | None = None,
    cm_hint: str | None = None,
) -> dict[str, Any]:
    """``fps``/``cm_per_pixel`` of a recording and where each came from (see :func:`resolve_number`).

    Returns the metadata entries ``fps``, ``fps_source``, ``cm_per_pixel``,
    ``cm_per_pixel_source`` and, when sources disagree, ``calibration_conflicts``.
    """
    settings = settings or {}
    conflicts: list[dict[str, Any]] = []
    cm, cm_src = resolve_number(
        "cm_per_pixel",
        cm_file,
        params,
        path=path,
        required=cm_required,
        hint=cm_hint,
        settings=settings.get("cm_per_pixel"),
        conflicts=conflicts,
    )
    fps, fps_src = resolve_number(
        "fps",
        fps_file,
        params,
        path=path,
        required=fps_required,
        hint=fps_hint,
        settings=settings.get("fps"),
        format_default=fps_default,
        conflicts=conflicts,
    )
    out: dict[str, Any] = {"fps": fps, "fps_source": fps_src, "cm_per_pixel": cm, "cm_per_pixel_source": cm_src}
    if conflicts:
        out["calibration_conflicts"] = conflicts
    return out


def build_table(
    frame: np.ndarray,
    ids: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    group: str,
    sequence: str,
    fps: float | None,
    time: np.ndarray | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    sort: bool = True,
    clean: bool = False,
) -> pd.DataFrame:
    """Assemble a ``trex_v1`` table from flat arrays of equal length.

    ``time`` defaults to ``frame / fps``. Rows are sorted by (frame, id) with a stable sort
    when ``sort`` and they are not already in order. ``clean=True`` promises that float
    arrays are float64 with NaN (never inf) already, skipping that pass. Extra columns keep their names
    (pose columns ``poseX<k>``/``poseY<k>``/``poseP<k>`` are ordered by k after the rest).
    """
    n = len(frame)
    frame = np.asarray(frame, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    if time is None:
        if fps is None:
            raise ConfigError("cannot compute time without fps", expected="fps", found=None)
        time = frame / float(fps)
    fl = (lambda a: np.asarray(a, dtype=np.float64)) if clean else as_float
    cols: dict[str, Any] = {
        "frame": frame,
        "time": fl(time),
        "id": ids,
        "X": fl(x),
        "Y": fl(y),
    }
    extra = dict(extra or {})
    for k, v in extra.items():
        v = np.asarray(v)
        if len(v) != n:
            raise TrackFormatError(f"column {k!r} has {len(v)} values for {n} rows", expected=n, found=len(v))
        cols[k] = fl(v) if v.dtype.kind == "f" else v
    if sort and n > 1:
        fo, io_ = frame, ids
        in_order = bool(np.all((fo[1:] > fo[:-1]) | ((fo[1:] == fo[:-1]) & (io_[1:] > io_[:-1]))))
        if not in_order:
            order = np.lexsort((ids, frame))
            cols = {k: v[order] for k, v in cols.items()}
    cols["group"] = constant_category(group, n)
    cols["sequence"] = constant_category(sequence, n)
    ordered = ["frame", "time", "id", "X", "Y", "group", "sequence"]
    rest = [k for k in cols if k not in ordered]
    pose = sorted(
        [k for k in rest if k.startswith("pose") and k[5:].isdigit()], key=lambda c: (int(c[5:]), "XYP".find(c[4]))
    )
    other = [k for k in rest if k not in pose]
    return pd.DataFrame({k: cols[k] for k in ordered + other + pose}, copy=False)


def pose_columns(
    coords: np.ndarray,
    scores: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Flatten keypoints ``(rows, n_kp, 2)`` (+ scores ``(rows, n_kp)``) into pose columns."""
    out: dict[str, np.ndarray] = {}
    for k in range(coords.shape[1]):
        out[f"poseX{k}"] = as_float(coords[:, k, 0])
        out[f"poseY{k}"] = as_float(coords[:, k, 1])
        if scores is not None:
            out[f"poseP{k}"] = as_float(scores[:, k])
    return out


def pose_table(
    frame: np.ndarray,
    ids: np.ndarray,
    coords: np.ndarray,
    *,
    group: str,
    sequence: str,
    fps: float | None,
    scores: np.ndarray | None = None,
    time: np.ndarray | None = None,
    extra: Mapping[str, np.ndarray] | None = None,
    sort: bool = True,
    drop_empty: bool = False,
) -> pd.DataFrame:
    """A ``trex_v1`` table of keypoints ``coords`` ``(rows, n_kp, 2)`` (+ ``scores`` ``(rows, n_kp)``).

    ``X``/``Y`` are the keypoints' NaN-mean, the keypoints go to :func:`pose_columns`, the rest as in
    :func:`build_table`. ``drop_empty`` removes the rows where no keypoint has an x coordinate.
    """
    cols = {**(extra or {}), **pose_columns(coords, scores)}
    x, y = nan_centroid(coords[:, :, 0]), nan_centroid(coords[:, :, 1])
    df = build_table(frame, ids, x, y, group=group, sequence=sequence, fps=fps, time=time, extra=cols, sort=sort)
    if drop_empty:
        pose_x = [f"poseX{k}" for k in range(coords.shape[1])]
        df = df[df[pose_x].notna().any(axis=1).to_numpy()].reset_index(drop=True)
    return df


def base_meta(src_format: str, paths: Sequence[str | os.PathLike], **kw: Any) -> dict[str, Any]:
    """Common metadata of a converted recording."""
    meta: dict[str, Any] = {"schema": TREX_V1, "src_format": src_format, "source_files": [Path(p).name for p in paths]}
    meta.update(kw)
    return meta
