"""The quality report of one recording: missingness, gaps, confidence, jumps, swaps, duplicates.

:func:`quality_report` measures a ``trex_v1`` table (one recording in memory) and returns
three tables:

``points``
    one row per (individual, point) — point ``centre`` (``X``/``Y``) and every keypoint:
    ``n_frames`` (the recording's frame range), ``n_missing``, ``frac_missing``, gap-length
    distribution (``n_gaps``, ``gap_mean``, ``gap_median``, ``gap_max`` and counts of gaps of
    ``1``, ``2-5``, ``6-10``, ``11-30`` and ``>30`` frames), confidence distribution where the
    format has one (``conf_mean``, ``conf_q05``, ``conf_median``, ``frac_conf_below``), the
    jump threshold (``jump_threshold_px``), ``n_fast_steps`` (frame-to-frame displacements
    above it) and ``n_jumps`` (points inside short excursions, see
    :func:`~mosaic.quality.detect.detect_jumps`);
``individuals``
    one row per individual: the centre's measures plus ``n_swaps`` (suspected identity swaps
    involving it), ``n_duplicate_frames`` (frames at the position of another individual) and
    the keypoints' mean ``kp_frac_missing`` / ``kp_frac_conf_below``;
``events``
    ``kind`` (``jump`` | ``swap``), ``frame``, ``id``, ``other_id`` (swaps), ``point``, ``X``, ``Y``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError
from mosaic.core.validate import positive_or_none

from .arrays import TrackArrays, table_to_arrays
from .detect import detect_jumps, detect_swaps, duplicate_frames, jump_threshold, step_displacement
from .runs import true_runs

GAP_BINS: tuple[tuple[str, int, float], ...] = (
    ("gaps_1", 1, 1),
    ("gaps_2_5", 2, 5),
    ("gaps_6_10", 6, 10),
    ("gaps_11_30", 11, 30),
    ("gaps_gt_30", 31, np.inf),
)
DEFAULT_REPORT_PARAMS: dict[str, Any] = {
    "confidence_threshold": 0.6,
    "quantile": 0.95,
    "factor": 4.0,
    "min_px": 1.0,
    "cm_per_s": None,
    "max_jump_frames": 3,
    "swap_ratio": 0.6,
    "swap_max_lookback": 30,
    "swap_min_cost_factor": 0.5,
    "duplicate_px": 0.5,
}


@dataclass
class QualityReport:
    """The three tables of one recording's report (see the module docstring) plus the missing mask."""

    points: pd.DataFrame
    individuals: pd.DataFrame
    events: pd.DataFrame
    missing: np.ndarray  # (T, n, P) bool
    frames: np.ndarray
    ids: np.ndarray


def report_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults updated with ``params`` (unknown keys raise :class:`ConfigError`)."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(DEFAULT_REPORT_PARAMS))
    if unknown:
        raise ConfigError("unknown track-quality parameter(s)", expected=sorted(DEFAULT_REPORT_PARAMS), found=unknown)
    return {**DEFAULT_REPORT_PARAMS, **params}


def _gap_stats(missing: np.ndarray) -> dict[str, np.ndarray]:
    """Per column of ``missing`` ``(T, m)``: gap count, mean, median, max and binned counts."""
    m = missing.shape[1]
    cols, starts, stops = true_runs(missing)
    lengths = (stops - starts).astype(np.float64)
    out = {"n_gaps": np.bincount(cols, minlength=m).astype(np.int64)}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["gap_mean"] = np.bincount(cols, lengths, minlength=m) / out["n_gaps"]
    out["gap_max"] = np.zeros(m)
    np.maximum.at(out["gap_max"], cols, lengths)
    out["gap_median"] = np.full(m, np.nan)
    if len(lengths):
        order = np.lexsort((lengths, cols))
        c_sorted, l_sorted = cols[order], lengths[order]
        first = np.searchsorted(c_sorted, np.arange(m))
        cnt = out["n_gaps"]
        has = cnt > 0
        lo = first + (cnt - 1) // 2
        hi = first + cnt // 2
        out["gap_median"][has] = 0.5 * (l_sorted[lo[has]] + l_sorted[hi[has]])
    for name, a, b in GAP_BINS:
        sel = (lengths >= a) & (lengths <= b)
        out[name] = np.bincount(cols[sel], minlength=m).astype(np.int64)
    out["gap_max"] = np.where(out["n_gaps"] > 0, out["gap_max"], 0).astype(np.int64)
    return out


def _conf_stats(conf: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    """Per column of ``conf`` ``(T, m)``: mean, 5 % quantile, median, fraction below ``threshold``."""
    m = conf.shape[1]
    has = np.isfinite(conf)
    out = {k: np.full(m, np.nan) for k in ("conf_mean", "conf_q05", "conf_median", "frac_conf_below")}
    cols = np.flatnonzero(has.any(axis=0))
    if len(cols):
        c = conf[:, cols]
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["conf_mean"][cols] = np.nanmean(c, axis=0)
            q = np.nanquantile(c, [0.05, 0.5], axis=0)
            out["conf_q05"][cols], out["conf_median"][cols] = q[0], q[1]
            with np.errstate(invalid="ignore"):
                out["frac_conf_below"][cols] = (c < threshold).sum(axis=0) / has[:, cols].sum(axis=0)
    return out


def report_arrays(
    arr: TrackArrays,
    params: Mapping[str, Any] | None = None,
    fps: float | None = None,
    cm_per_pixel: float | None = None,
) -> QualityReport:
    """The quality report of one recording given as :class:`TrackArrays`."""
    p = report_params(params)
    missing = np.isnan(arr.pos).any(axis=-1)
    thr = jump_threshold(arr.pos, p["quantile"], p["factor"], p["min_px"], p["cm_per_s"], fps, cm_per_pixel)
    jumps = detect_jumps(arr.pos, thr, int(p["max_jump_frames"]))
    points = _point_table(arr, missing, thr, jumps, float(p["confidence_threshold"]))
    swaps = detect_swaps(
        arr.pos[:, :, 0], float(p["swap_min_cost_factor"]) * thr[0], float(p["swap_ratio"]), int(p["swap_max_lookback"])
    )
    dup = duplicate_frames(arr.pos[:, :, 0], float(p["duplicate_px"]))
    individuals = _individual_table(arr, points, swaps, dup)
    return QualityReport(points, individuals, _event_table(arr, jumps, swaps), missing, arr.frames, arr.ids)


def _point_table(
    arr: TrackArrays, missing: np.ndarray, thr: np.ndarray, jumps: np.ndarray, conf_threshold: float
) -> pd.DataFrame:
    """The ``points`` table: one row per (individual, point) (see the module docstring)."""
    T, n, P = arr.shape
    with np.errstate(invalid="ignore"):
        fast = (step_displacement(arr.pos) > thr[None, None, :]).sum(axis=0) if T > 1 else np.zeros((n, P), np.int64)
    gaps = _gap_stats(missing.reshape(T, n * P))
    conf = _conf_stats(arr.conf.reshape(T, n * P), conf_threshold)
    ii, pp = np.divmod(np.arange(n * P), P)
    return pd.DataFrame(
        {
            "id": arr.ids[ii],
            "point": np.asarray(arr.points, dtype=object)[pp],
            "n_frames": T,
            "n_missing": missing.reshape(T, -1).sum(axis=0),
            "frac_missing": missing.reshape(T, -1).mean(axis=0),
            **gaps,
            **conf,
            "jump_threshold_px": thr[pp],
            "n_fast_steps": np.asarray(fast).reshape(-1),
            "n_jumps": jumps.reshape(T, -1).sum(axis=0),
        }
    )


def _individual_table(arr: TrackArrays, points: pd.DataFrame, swaps: pd.DataFrame, dup: np.ndarray) -> pd.DataFrame:
    """The ``individuals`` table: the centre's row of ``points`` plus swaps, duplicates and keypoint means."""
    n = arr.shape[1]
    ind = points[points["point"] == arr.points[0]].drop(columns="point").reset_index(drop=True)
    n_sw = np.bincount(np.concatenate([swaps["i"].to_numpy(), swaps["j"].to_numpy()]).astype(np.int64), minlength=n)
    ind["n_swaps"] = n_sw[:n]
    ind["n_duplicate_frames"] = dup.sum(axis=0)
    kp = points[points["point"] != arr.points[0]]
    if len(kp):
        agg = kp.groupby("id", sort=False)[["frac_missing", "frac_conf_below"]].mean()
        ind["kp_frac_missing"] = ind["id"].map(agg["frac_missing"]).to_numpy()
        ind["kp_frac_conf_below"] = ind["id"].map(agg["frac_conf_below"]).to_numpy()
    return ind


def _event_table(arr: TrackArrays, jumps: np.ndarray, swaps: pd.DataFrame) -> pd.DataFrame:
    """The ``events`` table: jumps (every point) and swaps (centre), by frame then kind."""
    tj, ij, pj = np.nonzero(jumps)
    ev_j = pd.DataFrame(
        {
            "kind": "jump",
            "frame": arr.frames[tj],
            "id": arr.ids[ij],
            "other_id": None,
            "point": np.asarray(arr.points, dtype=object)[pj],
            "X": arr.pos[tj, ij, pj, 0],
            "Y": arr.pos[tj, ij, pj, 1],
        }
    )
    t_s = swaps["frame_index"].to_numpy()
    i_s, j_s = swaps["i"].to_numpy(), swaps["j"].to_numpy()
    c = np.nan_to_num(arr.pos[:, :, 0]) if len(t_s) else None
    ev_s = pd.DataFrame(
        {
            "kind": "swap",
            "frame": arr.frames[t_s],
            "id": arr.ids[i_s],
            "other_id": arr.ids[j_s],
            "point": arr.points[0],
            "X": c[t_s, i_s, 0] if c is not None else [],
            "Y": c[t_s, i_s, 1] if c is not None else [],
        }
    )
    events = pd.concat([e for e in (ev_j, ev_s) if len(e)], ignore_index=True) if len(ev_j) or len(ev_s) else ev_j
    return events.sort_values(["frame", "kind"], kind="stable").reset_index(drop=True)


def quality_report(
    df: pd.DataFrame, meta: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None, path: Any = None
) -> QualityReport:
    """The quality report of one ``trex_v1`` table (``meta``: the file's fps, cm_per_pixel, keypoint names)."""
    meta = dict(meta or {})
    arr = table_to_arrays(df, meta.get("keypoint_names"), path=path)
    rep = report_arrays(arr, params, positive_or_none(meta.get("fps")), positive_or_none(meta.get("cm_per_pixel")))
    g = str(df["group"].iloc[0]) if "group" in df.columns else ""
    s = str(df["sequence"].iloc[0]) if "sequence" in df.columns else ""
    for t in (rep.points, rep.individuals, rep.events):
        t.insert(0, "sequence", s)
        t.insert(0, "group", g)
    return rep
