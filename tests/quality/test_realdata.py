"""Quality report and cleaning on every real tracking file of ../shared/realdata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mosaic.quality import clean_table, quality_report
from mosaic.tracks import validate_trex_v1
from mosaic.tracks.converters import get_converter
from tests.conftest import realdata_file
from tests.tracks.test_realdata import DLC_PREDICTIONS, IDTRACKER, SLEAP, TREX_CSV, TREX_NPZ

pytestmark = pytest.mark.realdata

CASES = (
    [("trex_npz", ("trex", "trex-2021-compare-raw", n), {"fps": 25, "cm_per_pixel": 0.0213}) for n in TREX_NPZ[:1]]
    + [
        ("trex_csv", ("trex", "trex-2026-compare-csv", n), {"fps": 25, "settings_file": "auto", "require_xy": False})
        for n in TREX_CSV[:1]
    ]
    + [("sleap_h5", ("sleap", f, n), {"fps": 30}) for f, n in SLEAP]
    + [("dlc", ("dlc", f, n), {"fps": 30}) for f, n in DLC_PREDICTIONS]
    + [("idtracker_npy", ("idtrackerai", "trajectorytools", n), {"fps": 30}) for n in IDTRACKER]
)


def _tables(realdata, fmt, parts, params):
    p = realdata_file(realdata, *parts)
    paths = [p]
    if fmt in ("trex_npz", "trex_csv"):  # one file per individual: the whole recording
        names = TREX_NPZ if fmt == "trex_npz" else TREX_CSV
        paths = [realdata_file(realdata, *parts[:-1], n) for n in names]
    return get_converter(fmt)([Path(x) for x in paths], params, group="g", sequence="s")


@pytest.mark.parametrize("fmt,parts,params", CASES, ids=[c[1][-1] for c in CASES])
def test_report_and_clean_every_real_file(realdata, fmt, parts, params):
    for t in _tables(realdata, fmt, parts, params):
        rep = quality_report(t.df, t.meta)
        n_ids = t.df["id"].nunique()
        assert len(rep.individuals) == n_ids
        assert ((rep.points["frac_missing"] >= 0) & (rep.points["frac_missing"] <= 1)).all()
        out, info = clean_table(t.df, None, t.meta)
        validate_trex_v1(out)
        assert len(out) == len(t.df) and out["interpolated"].dtype == bool
        assert [s["op"] for s in info["steps"]] == ["confidence", "jumps", "swaps", "interpolate", "savgol"]
        # cleaning only removes or fills within gaps up to 10 frames: never more missing than the confidence
        # filter and jump removal took away
        removed = info["steps"][0]["n_changed"] + info["steps"][1]["n_changed"]
        miss_before = int(np.isnan(t.df["X"].to_numpy()).sum())
        assert np.isnan(out["X"].to_numpy()).sum() <= miss_before + removed


def test_sleap_flies_report_checked_independently(realdata):
    """Report numbers of the SLEAP flies file recomputed straight from the HDF5 arrays."""
    import h5py

    p = realdata_file(realdata, "sleap", "sleap-docs-flies", "predictions.analysis.h5")
    t = get_converter("sleap_h5")([p], {"fps": 30}, group="g", sequence="s")[0]
    rep = quality_report(t.df, t.meta)
    with h5py.File(p, "r") as f:
        tracks = np.transpose(f["tracks"][:])  # (frames, nodes, 2, tracks)
        scores = np.transpose(f["point_scores"][:]) if "point_scores" in f else None  # (frames, nodes, tracks)
        nodes = [n.decode() for n in f["node_names"][:]]
    T, K, _, J = tracks.shape
    pts = rep.points.set_index(["id", "point"])
    for j in range(J):
        for k in range(K):
            miss = np.isnan(tracks[:, k, 0, j]) | np.isnan(tracks[:, k, 1, j])
            row = pts.loc[(j, nodes[k])]
            assert row["n_missing"] == miss.sum()
            # gaps: runs of missing frames, counted by hand
            starts = np.flatnonzero(miss & ~np.concatenate([[False], miss[:-1]]))
            ends = np.flatnonzero(miss & ~np.concatenate([miss[1:], [False]]))
            lengths = ends - starts + 1
            assert row["n_gaps"] == len(lengths)
            assert row["gap_max"] == (lengths.max() if len(lengths) else 0)
            s = scores[:, k, j] if scores is not None else np.array([])
            s = s[np.isfinite(s)]
            if len(s):
                assert row["conf_mean"] == pytest.approx(s.mean())
                assert row["conf_median"] == pytest.approx(np.median(s))
                assert row["frac_conf_below"] == pytest.approx((s < 0.6).mean())
        centre_miss = np.isnan(np.nanmean(tracks[:, :, 0, j], axis=1)) if K else None
        assert rep.individuals.set_index("id").loc[j, "n_missing"] == centre_miss.sum()


def test_dlc_openfield_report_checked_independently(realdata):
    """Confidence, missingness and fast steps of the B-SOiD open-field DLC file, straight from the H5."""
    import pandas as pd

    p = realdata_file(
        realdata, "dlc", "bsoid-openfield", "raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"
    )
    t = get_converter("dlc")([p], {"fps": 30}, group="g", sequence="s")[0]
    rep = quality_report(t.df, t.meta, {"confidence_threshold": 0.9})
    ref = pd.read_hdf(p).droplevel("scorer", axis=1)
    pts = rep.points.set_index(["id", "point"])
    for bp in dict.fromkeys(ref.columns.get_level_values("bodyparts")):
        x, y, lk = (ref[(bp, c)].to_numpy(dtype=float) for c in ("x", "y", "likelihood"))
        row = pts.loc[(0, bp)]
        assert row["n_missing"] == int((np.isnan(x) | np.isnan(y)).sum())
        assert row["conf_mean"] == pytest.approx(lk.mean())
        assert row["conf_q05"] == pytest.approx(np.quantile(lk, 0.05))
        assert row["frac_conf_below"] == pytest.approx((lk < 0.9).mean())
        step = np.hypot(np.diff(x), np.diff(y))
        step = step[np.isfinite(step)]
        thr = max(1.0, 4.0 * np.quantile(step, 0.95))
        assert row["jump_threshold_px"] == pytest.approx(thr)
        assert row["n_fast_steps"] == int((step > thr).sum())
