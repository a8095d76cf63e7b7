"""TRex per-individual exports (``<video>_<prefix><k>.npz`` or ``.csv``) → ``trex_v1``.

One file per individual; the files of one video are merged on ``frame`` (each file spans
the individual's first to last detection, so lengths differ). Decisions:

* Position: ``X#wcentroid``/``Y#wcentroid`` when present, else ``X``/``Y`` (param
  ``position_source``). TRex writes centimetres; values are divided by ``cm_per_pixel``
  to give pixels (``units='px'`` skips this for exports already in pixels).
* ``cm_per_pixel``/``fps`` come from the file (current TRex writes ``cm_per_pixel`` and
  ``frame_rate``), else from the export's TRex ``.settings`` file (``settings_file``:
  ``'auto'`` (default) finds ``<video>.settings`` or the folder's only ``.settings``; a
  path; None for none), else from params, else from the dataset's meta default;
  otherwise a named error. The 2021 exports have neither key. Where the sources disagree
  the table's metadata lists it (``calibration_conflicts``) and the conversion warns.
* ``inf`` (TRex's "not found") and rows flagged ``missing == 1`` become NaN in every
  kept measurement; ``missing`` is kept as a bool column. ``mask_missing=False`` keeps
  finite values of flagged rows (TRex's ``output_interpolate_positions``).
* ``time`` from the file when present, else ``frame / fps``. ``SPEED`` is converted from
  cm/s to px/s like the positions; ``ANGLE`` (radians) is kept; ``poseX<k>``/``poseY<k>``
  are converted like X/Y. ``timestamp`` is kept as is. More fields can be kept with
  ``keep_fields`` (raw units, names sanitised by replacing ``#`` with ``_``).
* ``id`` = the number in the file-name suffix ``_<prefix><k>`` (prefixes from
  ``individual_prefixes``, default ``fish``/``id``), else the file's ``id`` key.

Opening one file is :mod:`.trex_files`; this module resolves calibration and merges the files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param

from ..naming import DEFAULT_PREFIXES, individual_suffix
from ..table import (
    CALIBRATION_PARAMETERS,
    TrackTable,
    base_meta,
    build_table,
    calibration,
)
from .trex_files import DEFAULT_KEEP, POSE, read_file, wanted_keys

log = logging.getLogger(__name__)

PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "settings_file": Param(
        "auto",
        "The export's TRex `.settings` file (its `cm_per_pixel`/`frame_rate` rank just below values "
        "in the files): `'auto'` finds `<video>.settings` or the folder's only `.settings`; a path "
        "(relative to the files); `None` reads none.",
    ),
    "units": Param(
        "cm", "`'cm'`: positions/speeds are in cm and divided by `cm_per_pixel` to give pixels; `'px'`: already pixels."
    ),
    "position_source": Param(
        "wcentroid", "Which TRex position to use: `X#<source>`/`Y#<source>` when present, else `X`/`Y`."
    ),
    "require_xy": Param(True, "Refuse files lacking X or Y; `False` fills the missing axis with NaN."),
    "mask_missing": Param(
        True, "Set every measurement of rows flagged `missing` to NaN (`False` keeps TRex's interpolated values)."
    ),
    "keep_fields": Param(
        [], "More TRex fields to keep (raw units, `#` replaced by `_`), besides ANGLE, SPEED and timestamp."
    ),
    "individual_prefixes": Param(
        ["fish", "id"], "File-name prefixes of the individual number (`<video>_<prefix><k>`)."
    ),
}


def read_settings(path: Path) -> dict[str, float]:
    """``cm_per_pixel`` and ``frame_rate`` from a TRex ``.settings`` file (missing keys omitted)."""
    out: dict[str, float] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise TrackFormatError("TRex settings file unreadable", path=path, found=str(exc)) from exc
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and key in ("cm_per_pixel", "frame_rate"):
            try:
                out[key] = float(value.strip())
            except ValueError:
                continue
    return out


def _settings_for(paths: Sequence[Path], params: Mapping[str, Any]) -> dict[str, float]:
    """The export's own ``.settings`` (``settings_file``: a path, ``'auto'`` (default) or None/False for none)."""
    spec = params.get("settings_file", PARAMETERS["settings_file"].default)
    if not spec:
        return {}
    if spec != "auto":
        p = Path(spec)
        if not p.is_absolute():
            p = paths[0].parent / p
        if not p.exists():
            raise ConfigError("TRex settings_file not found", path=p)
        return read_settings(p)
    folder = paths[0].parent
    split = individual_suffix(paths[0].stem, params.get("individual_prefixes") or DEFAULT_PREFIXES)
    if split and (folder / f"{split[0]}.settings").exists():
        return read_settings(folder / f"{split[0]}.settings")
    found = sorted(folder.glob("*.settings"))
    if len(found) == 1:
        return read_settings(found[0])
    return {}


def _destinations(frames: list[np.ndarray], ranks: list[int], n_ids: int) -> tuple[list[np.ndarray], int]:
    """Row positions in the (frame, id)-sorted output of each file's rows (no general sort).

    A dense (frame × id) occupancy grid when it is not much larger than the data, else a
    lexsort. Each file's frames are strictly increasing, so (frame, id) pairs are unique.
    """
    total = sum(len(f) for f in frames)
    fmin = min(int(f[0]) for f in frames)
    fmax = max(int(f[-1]) for f in frames)
    span = fmax - fmin + 1
    if span * n_ids <= 4 * total + 1024:
        slots = [(f - fmin) * n_ids + r for f, r in zip(frames, ranks)]
        occupied = np.zeros(span * n_ids, dtype=bool)
        for sl in slots:
            occupied[sl] = True
        dest_of_slot = np.cumsum(occupied, dtype=np.int64) - 1
        return [dest_of_slot[sl] for sl in slots], total
    frame_all = np.concatenate(frames)
    id_all = np.concatenate([np.full(len(f), r, dtype=np.int64) for f, r in zip(frames, ranks)])
    order = np.lexsort((id_all, frame_all))
    dest = np.empty(total, dtype=np.int64)
    dest[order] = np.arange(total, dtype=np.int64)
    bounds = np.cumsum([0] + [len(f) for f in frames])
    return [dest[a:b] for a, b in zip(bounds[:-1], bounds[1:])], total


def _convert(
    paths: Sequence[Path], params: Mapping[str, Any], group: str, sequence: str, kind: str
) -> list[TrackTable]:
    paths = [Path(p) for p in paths]
    if not paths:
        raise ConfigError("no TRex files to convert", group=group, sequence=sequence)
    prefixes = tuple(params.get("individual_prefixes") or DEFAULT_PREFIXES)
    units = params.get("units", "cm")
    if units not in ("cm", "px"):
        raise ConfigError("TRex 'units' must be 'cm' or 'px'", expected="cm or px", found=units)
    require_xy = bool(params.get("require_xy", True))
    keep = tuple(dict.fromkeys(tuple(DEFAULT_KEEP) + tuple(params.get("keep_fields") or ())))
    wanted = wanted_keys(params)
    settings = _settings_for(paths, params)

    recs: list[dict[str, Any]] = []
    try:
        return _merge(paths, params, group, sequence, kind, prefixes, units, keep, wanted, settings, require_xy, recs)
    finally:
        for r in recs:  # every opened file is closed, whatever happened
            r["_src"].close()


def _file_individual(path: Path, rec: dict[str, Any], prefixes: tuple[str, ...], n_paths: int) -> tuple[int, str]:
    """Return (id, name) of the individual of one TRex file: name suffix, else its 'id' key."""
    split = individual_suffix(path.stem, prefixes)
    name = path.stem[len(split[0]) + 1 :] if split is not None else path.stem
    file_id = rec["_meta"].get("id")
    if split is not None:
        return split[1], name
    if file_id is not None and np.size(file_id):
        return int(np.asarray(file_id).ravel()[0]), name
    if n_paths == 1:
        return 0, name
    raise TrackFormatError(
        "cannot tell the individual of a TRex file",
        path=path,
        expected=f"a '_<prefix><k>' suffix with prefix in {list(prefixes)} or an 'id' key",
        found=path.stem,
    )


def _check_unique_ids(ids: list[int], paths: Sequence[Path], group: str, sequence: str) -> None:
    """Reject several files claiming the same individual."""
    if len(set(ids)) != len(ids):
        dup = sorted({x for x in ids if ids.count(x) > 1})
        raise TrackFormatError(
            "several TRex files claim the same individual",
            path=paths[0],
            group=group,
            sequence=sequence,
            expected="one file per individual",
            found=f"id(s) {dup} in {[p.name for p in paths]}",
        )


def _trex_calibration(
    recs: list[dict[str, Any]], params: Mapping[str, Any], path: Path, settings: Mapping[str, Any], units: str
) -> dict[str, Any]:
    """Resolve fps and cm_per_pixel from params, the files and the settings file."""
    hint_cm = (
        "TRex exports are in cm: pass params {'cm_per_pixel': ...} (or units='px', or settings_file='<video>.settings')"
    )
    cm_file = next((r["_meta"]["cm_per_pixel"] for r in recs if r["_meta"].get("cm_per_pixel") is not None), None)
    fps_file = next((r["_meta"]["frame_rate"] for r in recs if r["_meta"].get("frame_rate") is not None), None)
    calib = calibration(
        params,
        path=path,
        fps_file=fps_file,
        cm_file=cm_file,
        settings={"fps": settings.get("frame_rate"), "cm_per_pixel": settings.get("cm_per_pixel")},
        cm_required=units == "cm",
        cm_hint=hint_cm,
    )
    if calib["cm_per_pixel"] is None:
        calib["cm_per_pixel_source"] = "not needed"
    return calib


def _merged_keys(
    rows: list[tuple[dict[str, Any], int]], dests: list[np.ndarray], total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the merged (frame, id, missing) columns."""
    frame = np.empty(total, dtype=np.int64)
    id_arr = np.empty(total, dtype=np.int64)
    missing = np.zeros(total, dtype=bool)
    for (r, k), d in zip(rows, dests):
        frame[d] = r["frame"]
        id_arr[d] = k
        if r["missing"] is not None:
            missing[d] = r["missing"]
    return frame, id_arr, missing


def _scatter_columns(
    rows: list[tuple[dict[str, Any], int]], dests: list[np.ndarray], total: int
) -> dict[str, np.ndarray]:
    """Scatter every file's float columns into the merged rows (NaN where a file lacks one); close the files."""
    float_keys = list(dict.fromkeys(k for r, _ in rows for k in r["_cols"]))
    cols: dict[str, np.ndarray] = {}
    try:
        for key in float_keys:
            present = [(r, d) for (r, _), d in zip(rows, dests) if key in r["_cols"]]
            out = np.empty(total, dtype=np.float64) if len(present) == len(rows) else np.full(total, np.nan)
            for r, d in present:
                v = r["_src"].get(r["_cols"][key], r["_n"])
                if v.dtype.kind not in "fiub":
                    raise TrackFormatError(
                        f"TRex field {r['_cols'][key]!r} is not numeric", path=r["_src"].path, found=str(v.dtype)
                    )
                out[d] = v  # scatter with the cast to float64; one source column in memory at a time
                del v
            np.copyto(out, np.nan, where=np.isinf(out))
            cols[key] = out
    finally:
        for r, _ in rows:
            r["_src"].close()
    return cols


def _mask_and_scale(cols: dict[str, np.ndarray], missing: np.ndarray, masked: bool, scale: float) -> None:
    """In place: NaN the rows TRex marks missing (if ``masked``) and scale positions/speeds to px."""
    for key, out in cols.items():
        if key in ("time", "timestamp"):
            continue
        if masked:
            np.copyto(out, np.nan, where=missing)
        if scale != 1.0 and (key in ("X", "Y", "SPEED") or POSE.match(key)):
            out *= scale


def _merge(
    paths, params, group, sequence, kind, prefixes, units, keep, wanted, settings, require_xy, recs
) -> list[TrackTable]:
    """Read the per-individual files (appending to ``recs``) and merge them on frame."""
    ids: list[int] = []
    names: list[str] = []
    for path in paths:
        rec = read_file(path, kind, params, wanted, keep, require_xy)
        recs.append(rec)
        k, name = _file_individual(path, rec, prefixes, len(paths))
        ids.append(k)
        names.append(name)
        if rec["_n"] == 0:
            log.warning("TRex file %s has no rows; skipped", path)
    _check_unique_ids(ids, paths, group, sequence)
    names_by_id = dict(zip(ids, names))
    rows = sorted(((r, k) for r, k in zip(recs, ids) if r["_n"]), key=lambda t: t[1])
    if not rows:
        raise TrackFormatError(
            "TRex files hold no rows",
            path=paths[0],
            group=group,
            sequence=sequence,
            expected="at least one row",
            found="empty",
        )
    calib = _trex_calibration(recs, params, paths[0], settings, units)
    fps, cm_per_pixel = calib["fps"], calib["cm_per_pixel"]

    # vectorized merge on frame: scatter every file's columns straight into the sorted output
    dests, total = _destinations([r["frame"] for r, _ in rows], list(range(len(rows))), len(rows))
    frame, id_arr, missing = _merged_keys(rows, dests, total)
    cols = _scatter_columns(rows, dests, total)
    scale = 1.0 / float(cm_per_pixel) if units == "cm" else 1.0
    _mask_and_scale(cols, missing, missing.any() and params.get("mask_missing", True), scale)
    x = cols.pop("X", None)
    y = cols.pop("Y", None)
    x = np.full(total, np.nan) if x is None else x
    y = np.full(total, np.nan) if y is None else y
    time = cols.pop("time", None)
    cols["missing"] = missing
    pose_ks = sorted({int(m.group(2)) for k in cols if (m := POSE.match(k))})
    if time is None:
        time = frame / float(fps)
    df = build_table(
        frame, id_arr, x, y, group=group, sequence=sequence, fps=fps, time=time, extra=cols, sort=False, clean=True
    )
    meta = base_meta(
        kind,
        paths,
        **calib,
        units_in_source=units,
        position_source=params.get("position_source", "wcentroid"),
        keypoint_names=[f"kp{k}" for k in pose_ks],
        individual_names={int(k): names_by_id[k] for _, k in rows},
        speed_units="px/s" if units == "cm" else "source units",
    )
    return [TrackTable(group, sequence, df, meta)]


def convert_npz(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert the TRex ``.npz`` files of one video (one per individual) into one recording."""
    return _convert(paths, params, group, sequence, "trex_npz")


def convert_csv(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert the TRex ``.csv`` exports (units in column names) of one video into one recording."""
    return _convert(paths, params, group, sequence, "trex_csv")
