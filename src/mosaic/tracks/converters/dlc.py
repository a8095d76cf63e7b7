"""DeepLabCut predictions (CSV or H5; single- or multi-animal) → ``trex_v1``.

* Header: 3 rows ``scorer / bodyparts / coords`` (single animal) or 4 rows
  ``scorer / individuals / bodyparts / coords`` (multi-animal), detected from the first
  cell of row 2. CSV headers are parsed separately from the data so an all-empty frame 0
  is kept (``read_csv(header=[0,1,2])`` would swallow it as an index-name row).
* H5: the pandas table under ``df_with_missing`` or ``tracks`` (``_el.h5``), else the only key.
* Individuals in column order become ids 0..n-1 (names in the metadata). The multi-animal
  pseudo-individual ``single`` holds DLC's *unique body parts* (arena corners, objects): scene
  landmarks, never an animal. They are kept as per-frame scene columns ``landmarkX<k>``,
  ``landmarkY<k>`` (``landmarkP<k>`` with likelihood) repeated on every animal's row of the
  frame, named by ``landmark_names`` in the metadata (``single='landmarks'``, default), or
  dropped (``single='drop'``).
* Keypoints are the union of body parts in column order → ``poseX<k>``/``poseY<k>``,
  ``likelihood`` → ``poseP<k>``. With ``likelihood_threshold``, x/y below it become NaN.
  ``X``/``Y`` = NaN-mean of the (thresholded) keypoints.
* The row index must be frame numbers: labelled-data tables (``CollectedData_*``, image
  paths as index, x/y only) and 3D output (coords x, y, z) are rejected with a named error.
* fps is not in DLC files: it must come from params.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param

from ..table import (
    CALIBRATION_PARAMETERS,
    TrackTable,
    base_meta,
    calibration,
    check_increasing,
    frames_as_int,
    pose_table,
)
from ._numeric import read_csv_table

SINGLE_MODES = ("landmarks", "drop")
#: the pseudo-individual under which multi-animal DeepLabCut writes unique body parts
UNIQUE_BODYPARTS = "single"
PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "single": Param(
        "landmarks",
        "Multi-animal unique body parts (DLC's `single`): `'landmarks'` keeps them as scene columns "
        "`landmarkX<k>`/`landmarkY<k>`/`landmarkP<k>` (names in `landmark_names`), `'drop'` leaves them out. "
        "Never an animal id.",
    ),
    "likelihood_threshold": Param(None, "Keypoints with a likelihood below it become NaN (x and y)."),
    "drop_empty_rows": Param(False, "Remove rows where every keypoint of the individual is NaN."),
}


def _header_levels(head: pd.DataFrame, path: Path) -> tuple[int, list[str]]:
    """Return (number of header rows, level names) from the first cells of a DLC CSV's rows."""
    first = [str(v).strip().lower() for v in head.iloc[:, 0]]
    if len(first) < 3 or first[0] != "scorer":
        raise TrackFormatError(
            "not a DeepLabCut CSV (first header cell is not 'scorer')",
            path=path,
            expected="rows scorer / [individuals /] bodyparts / coords",
            found=first[:4],
        )
    n_header = 4 if first[1] == "individuals" else 3
    if len(first) < n_header:
        raise TrackFormatError(
            "DeepLabCut CSV header is truncated", path=path, expected=f"{n_header} header rows", found=len(first)
        )
    levels = ["scorer", "individuals", "bodyparts", "coords"] if n_header == 4 else ["scorer", "bodyparts", "coords"]
    if first[n_header - 1] != "coords":
        raise TrackFormatError(
            "DeepLabCut CSV header rows are not as expected", path=path, expected=levels, found=first[:n_header]
        )
    return n_header, levels


def _row_index(data: pd.DataFrame, n_index: int) -> np.ndarray:
    """Return the row index: the first column, or the leading index columns joined by '/'."""
    if n_index > 1:
        return data.iloc[:, :n_index].astype(str).agg("/".join, axis=1).to_numpy()
    return data.iloc[:, 0].to_numpy()


def _read_csv(path: Path) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray, list[str]]:
    """Return (column tuples, index values, data values, level names) of a DLC CSV."""
    head = read_csv_table(
        path, "DeepLabCut CSV", "3 or 4 header rows and data", header=None, nrows=4, dtype=str, keep_default_na=False
    )
    n_header, levels = _header_levels(head, path)
    hdr = head.iloc[:n_header]
    # leading index columns have an empty scorer cell (3 of them in newer labelled-data files)
    n_index = 1
    while n_index < hdr.shape[1] and hdr.iloc[0, n_index] == "":
        n_index += 1
    try:
        data = pd.read_csv(path, header=None, skiprows=n_header, keep_default_na=True, low_memory=False)
    except pd.errors.EmptyDataError:
        data = pd.DataFrame(columns=range(hdr.shape[1]))
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise TrackFormatError(
            "DeepLabCut CSV data rows are malformed", path=path, found=str(exc).splitlines()[0]
        ) from exc
    if data.shape[1] != hdr.shape[1]:
        raise TrackFormatError(
            "DeepLabCut CSV rows have a different number of cells than the header",
            path=path,
            expected=hdr.shape[1],
            found=data.shape[1],
        )
    cols = [tuple(str(hdr.iloc[r, c]) for r in range(n_header)) for c in range(n_index, hdr.shape[1])]
    index = _row_index(data, n_index)
    try:
        values = data.iloc[:, n_index:].apply(pd.to_numeric, errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise TrackFormatError(
            "DeepLabCut CSV holds non-numeric values",
            path=path,
            expected="numbers or empty cells",
            found=str(exc).splitlines()[0],
        ) from exc
    return cols, index, values, levels


def _read_h5(path: Path) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray, list[str]]:
    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = [k.lstrip("/") for k in store.keys()]
            key = next((k for k in ("df_with_missing", "tracks") if k in keys), keys[0] if len(keys) == 1 else None)
            if key is None:
                raise TrackFormatError(
                    "DeepLabCut H5 holds no single pandas table",
                    path=path,
                    expected="key 'df_with_missing' or 'tracks'",
                    found=keys,
                )
            df = store[key]
    except TrackFormatError:
        raise
    except ImportError as exc:  # pragma: no cover - tables missing
        raise TrackFormatError("reading DeepLabCut H5 needs PyTables ('pip install tables')", path=path) from exc
    except Exception as exc:
        raise TrackFormatError(
            "not a readable DeepLabCut H5 file", path=path, found=f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(df, pd.DataFrame) or not isinstance(df.columns, pd.MultiIndex):
        raise TrackFormatError(
            "DeepLabCut H5 table lacks the scorer/bodyparts/coords column levels",
            path=path,
            expected="MultiIndex columns",
            found=type(df.columns).__name__ if isinstance(df, pd.DataFrame) else type(df).__name__,
        )
    levels = [str(n) for n in df.columns.names]
    if isinstance(df.index, pd.MultiIndex):
        index = np.array(["/".join(map(str, t)) for t in df.index], dtype=object)
    else:
        index = df.index.to_numpy()
    return [tuple(str(v) for v in c) for c in df.columns], index, df.to_numpy(dtype=np.float64), levels


def read_dlc(path: Path) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray, list[str]]:
    """Read a DLC table (CSV or H5) as (column tuples, index, float values, level names)."""
    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5", ".hdf"):
        return _read_h5(path)
    return _read_csv(path)


def _single_mode(params: Mapping[str, Any], path: Path) -> str:
    """Return the validated ``single`` mode (how unique body parts are kept)."""
    single = params.get("single", PARAMETERS["single"].default)
    if single not in SINGLE_MODES:
        raise ConfigError(
            "unknown DeepLabCut 'single' mode",
            path=path,
            expected=list(SINGLE_MODES),
            found=single,
            hint="unique body parts ('single') are scene landmarks, never an animal: use 'landmarks' or 'drop'",
        )
    return single


def _level_positions(
    cols: list[tuple[str, ...]], levels: list[str], ctx: dict[str, Any]
) -> tuple[list[str], int, int, int | None, set[str]]:
    """Return (lower-cased levels, coords/bodyparts/individuals positions, coords seen); reject 3D."""
    lv = [n.lower() for n in levels]
    if "coords" not in lv or "bodyparts" not in lv:
        raise TrackFormatError(
            "DeepLabCut table lacks bodyparts/coords levels",
            expected=["scorer", "bodyparts", "coords"],
            found=levels,
            **ctx,
        )
    ci, bi = lv.index("coords"), lv.index("bodyparts")
    ii = lv.index("individuals") if "individuals" in lv else None
    coords_seen = {c[ci] for c in cols}
    if "z" in coords_seen:
        raise TrackFormatError(
            "DeepLabCut 3D (triangulated) output is not supported",
            expected="2D predictions with coords x, y, likelihood",
            found=f"coords {sorted(coords_seen)}",
            hint="convert each camera's 2D predictions instead",
            **ctx,
        )
    if not {"x", "y"} <= coords_seen:
        raise TrackFormatError(
            "DeepLabCut table lacks x/y coords", expected="coords x, y[, likelihood]", found=sorted(coords_seen), **ctx
        )
    return lv, ci, bi, ii, coords_seen


def _frame_index(index: np.ndarray, path: Path, ctx: dict[str, Any]) -> np.ndarray:
    """Return the row index as increasing int frame numbers; reject labelled-data (image) indexes."""
    try:
        frame = frames_as_int(pd.to_numeric(pd.Series(index), errors="raise").to_numpy(), path=path)
    except (ValueError, TypeError, TrackFormatError) as exc:
        raise TrackFormatError(
            "DeepLabCut table is indexed by images, not frame numbers: this is a labelled-data file (CollectedData_*), not predictions",
            expected="0-based frame numbers as row index",
            found=f"{str(index[0])!r} ..." if len(index) else "no rows",
            hint="CollectedData_* files are DeepLabCut's training labels; convert the predictions DeepLabCut writes for a video "
            "('<video>DLC_<scorer>.h5' or '.csv', from deeplabcut.analyze_videos) and keep labelled-data out of the index: "
            "index_tracks_raw(..., src_format='dlc', exclude_patterns=['CollectedData_*'])",
            **ctx,
        ) from exc
    if len(frame) == 0:
        raise TrackFormatError("DeepLabCut table has no rows", expected="one row per frame", found="0 rows", **ctx)
    check_increasing(frame, path=path)
    return frame


def _entity_names(
    cols: list[tuple[str, ...]], ii: int | None, bi: int, single: str, ctx: dict[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """Return (individuals, keypoints, landmarks) in column order."""
    inds: list[str] = []
    kps: list[str] = []
    marks: list[str] = []
    for c in cols:
        ind = c[ii] if ii is not None else "animal0"
        if ind == UNIQUE_BODYPARTS and ii is not None:
            if single == "landmarks" and c[bi] not in marks:
                marks.append(c[bi])
            continue
        if ind not in inds:
            inds.append(ind)
        if c[bi] not in kps:
            kps.append(c[bi])
    if not inds:
        raise TrackFormatError(
            "DeepLabCut table has no animals",
            expected="at least one individual besides the unique body parts ('single')",
            found=f"only unique body parts {marks}",
            **ctx,
        )
    return inds, kps, marks


_COORD_POS = {"x": 0, "y": 1, "likelihood": 2}


def _mask_low_likelihood(xyp: np.ndarray, thr: Any) -> None:
    """Set x/y to NaN in place where the likelihood (last axis, slot 2) is below ``thr``."""
    if thr is not None:
        low = xyp[..., 2] < float(thr)
        xyp[..., 0][low] = np.nan
        xyp[..., 1][low] = np.nan


def _keypoint_array(
    cols: list[tuple[str, ...]],
    values: np.ndarray,
    positions: tuple[int, int, int | None],
    inds: list[str],
    kps: list[str],
    thr: Any,
) -> np.ndarray:
    """Return the (frames, individuals, keypoints, x/y/likelihood) array, thresholded."""
    ci, bi, ii = positions
    xyp = np.full((values.shape[0], len(inds), len(kps), 3), np.nan)
    ind_pos = {n: i for i, n in enumerate(inds)}
    kp_pos = {n: k for k, n in enumerate(kps)}
    for j, c in enumerate(cols):
        ind = c[ii] if ii is not None else "animal0"
        if ind not in ind_pos or c[ci] not in _COORD_POS:
            continue
        xyp[:, ind_pos[ind], kp_pos[c[bi]], _COORD_POS[c[ci]]] = values[:, j]
    _mask_low_likelihood(xyp, thr)
    return xyp


def _landmark_columns(
    cols: list[tuple[str, ...]],
    values: np.ndarray,
    positions: tuple[int, int, int | None],
    marks: list[str],
    n_i: int,
    thr: Any,
    has_p: bool,
) -> dict[str, np.ndarray]:
    """Return the per-frame landmark columns, repeated on each of the ``n_i`` animal rows of a frame."""
    ci, bi, ii = positions
    lm = np.full((values.shape[0], len(marks), 3), np.nan)
    mark_pos = {n: k for k, n in enumerate(marks)}
    for j, c in enumerate(cols):
        if c[ii] == UNIQUE_BODYPARTS and c[bi] in mark_pos and c[ci] in _COORD_POS:
            lm[:, mark_pos[c[bi]], _COORD_POS[c[ci]]] = values[:, j]
    _mask_low_likelihood(lm, thr)
    extra: dict[str, np.ndarray] = {}
    for k in range(len(marks)):  # per-frame scene values, repeated on each animal's row of the frame
        extra[f"landmarkX{k}"] = np.repeat(lm[:, k, 0], n_i)
        extra[f"landmarkY{k}"] = np.repeat(lm[:, k, 1], n_i)
        if has_p:
            extra[f"landmarkP{k}"] = np.repeat(lm[:, k, 2], n_i)
    return extra


def convert(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert one DeepLabCut prediction file (CSV or H5) into one recording."""
    if len(paths) != 1:
        raise ConfigError("a DeepLabCut conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    ctx = dict(path=path, group=group, sequence=sequence)
    single = _single_mode(params, path)
    thr = params.get("likelihood_threshold")
    calib = calibration(params, path=path, fps_hint="DeepLabCut files carry no fps: pass {'fps': <video fps>}")
    cols, index, values, levels = read_dlc(path)
    lv, ci, bi, ii, coords_seen = _level_positions(cols, levels, ctx)
    frame = _frame_index(index, path, ctx)
    inds, kps, marks = _entity_names(cols, ii, bi, single, ctx)
    T, n_i, n_k = len(frame), len(inds), len(kps)
    has_p = "likelihood" in coords_seen
    xyp = _keypoint_array(cols, values, (ci, bi, ii), inds, kps, thr)
    flat = xyp.reshape(T * n_i, n_k, 3)
    extra = _landmark_columns(cols, values, (ci, bi, ii), marks, n_i, thr, has_p) if marks else {}
    df = pose_table(
        np.repeat(frame, n_i),
        np.tile(np.arange(n_i, dtype=np.int64), T),
        flat[:, :, :2],
        group=group,
        sequence=sequence,
        fps=calib["fps"],
        scores=flat[:, :, 2] if has_p else None,
        extra=extra,
        sort=False,
        drop_empty=bool(params.get("drop_empty_rows")),
    )
    meta = base_meta(
        "dlc",
        [path],
        **calib,
        keypoint_names=kps,
        individual_names=dict(enumerate(inds)),
        landmark_names=marks,
        multi_animal=ii is not None,
        scorer=cols[0][lv.index("scorer")] if "scorer" in lv else None,
        likelihood_threshold=thr,
        position="centroid (nan-mean) of keypoints",
    )
    return [TrackTable(group, sequence, df, meta)]
