"""Cleaning filters against independent pandas / scipy / loop implementations (and movement's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.interpolate import CubicSpline
from scipy.signal import savgol_filter

from mosaic.core.errors import ConfigError
from mosaic.quality import filters
from mosaic.quality.runs import interior_runs, run_length_map, true_runs


def _series_with_gaps(seed=0, T=200, n=3, P=2):
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.normal(0, 1, (T, n, P, 2)), axis=0)
    miss = rng.random((T, n, P)) < 0.15
    miss[:3, 0, 0] = True  # leading gap
    miss[-4:, 1, 1] = True  # trailing gap
    miss[50:70, 2, 0] = True  # a long gap
    pos[miss] = np.nan
    return pos, miss


def _loop_interp(pos, max_gap, kind="linear"):
    """Reference: per series, fill interior NaN runs of length <= max_gap (loops, no vectorization)."""
    out = pos.copy()
    T = pos.shape[0]
    flat = out.reshape(T, -1, 2)
    for c in range(flat.shape[1]):
        ok = ~np.isnan(flat[:, c, 0])
        t_ok = np.flatnonzero(ok)
        t = 0
        while t < T:
            if ok[t]:
                t += 1
                continue
            s = t
            while t < T and not ok[t]:
                t += 1
            interior = s > 0 and t < T
            if interior and (max_gap is None or t - s <= max_gap):
                for d in range(2):
                    if kind == "linear":
                        flat[s:t, c, d] = np.interp(np.arange(s, t), t_ok, pos.reshape(T, -1, 2)[t_ok, c, d])
                    else:
                        flat[s:t, c, d] = CubicSpline(t_ok, pos.reshape(T, -1, 2)[t_ok, c, d], bc_type="natural")(
                            np.arange(s, t)
                        )
    return out


def test_run_length_utilities():
    m = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [1, 1]], dtype=bool)
    cols, s, e = true_runs(m)
    assert list(zip(cols, s, e)) == [(0, 1, 3), (0, 4, 5), (1, 0, 2), (1, 4, 5)]
    np.testing.assert_array_equal(run_length_map(m), [[0, 2], [2, 2], [2, 0], [0, 0], [1, 1]])
    np.testing.assert_array_equal(interior_runs(m), [[0, 0], [1, 0], [1, 0], [0, 0], [0, 0]])


def test_confidence_filter():
    pos, _ = _series_with_gaps()
    conf = np.random.default_rng(1).random(pos.shape[:3])
    conf[:, 0, 0] = np.nan  # no confidence: never filtered
    out, n = filters.filter_by_confidence(pos, conf, 0.3)
    expected = np.where((conf < 0.3)[..., None], np.nan, pos)
    np.testing.assert_array_equal(out, expected)
    assert n == int(((conf < 0.3) & ~np.isnan(pos[..., 0])).sum())
    assert not np.shares_memory(out, pos)


@pytest.mark.parametrize("max_gap", [None, 1, 3, 10])
def test_linear_interpolation_matches_loop_reference(max_gap):
    pos, miss = _series_with_gaps()
    out, filled = filters.interpolate_gaps(pos, max_gap)
    ref = _loop_interp(pos, max_gap)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(filled, miss & ~np.isnan(ref[..., 0]))
    assert np.isnan(out[:3, 0, 0]).all() and np.isnan(out[-4:, 1, 1]).all()  # edges stay missing
    if max_gap is not None and max_gap < 20:
        assert np.isnan(out[50:70, 2, 0]).all()  # the long gap stays missing


def test_spline_interpolation_matches_scipy():
    pos, _ = _series_with_gaps(3)
    out, _ = filters.interpolate_gaps(pos, 5, "spline")
    np.testing.assert_allclose(out, _loop_interp(pos, 5, "spline"), atol=1e-9, equal_nan=True)


def test_linear_interpolation_pandas_equivalent():
    """pandas' interpolate(limit_area='inside') fills the same values when every gap is fillable."""
    pos, _ = _series_with_gaps(4)
    out, _ = filters.interpolate_gaps(pos, None)
    flat = pd.DataFrame(pos.reshape(pos.shape[0], -1))
    ref = flat.interpolate(limit_area="inside").to_numpy().reshape(pos.shape)
    np.testing.assert_allclose(out, ref, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("window,min_periods", [(5, None), (5, 1), (4, 2), (7, 3), (1, None)])
def test_rolling_median_matches_pandas(window, min_periods):
    pos, _ = _series_with_gaps(5)
    out = filters.rolling_median(pos, window, min_periods)
    T, h = pos.shape[0], window // 2
    flat = pd.DataFrame(np.pad(pos.reshape(T, -1), ((h, h), (0, 0)), mode="reflect"))  # edges reflected
    # pandas (like xarray) puts w // 2 frames before t, the rest after, for even windows too
    ref = flat.rolling(window, center=True, min_periods=min_periods or window).median().to_numpy()[h : h + T]
    np.testing.assert_allclose(out, ref.reshape(pos.shape), equal_nan=True)


def test_rolling_median_chunking(monkeypatch):
    pos, _ = _series_with_gaps(6, T=300)
    whole = filters.rolling_median(pos, 5, 2)
    monkeypatch.setattr(filters, "_CHUNK_ELEMENTS", 50)
    np.testing.assert_array_equal(filters.rolling_median(pos, 5, 2), whole)


def test_savgol_equals_scipy_on_complete_data():
    rng = np.random.default_rng(7)
    pos = np.cumsum(rng.normal(0, 1, (120, 2, 3, 2)), axis=0)
    np.testing.assert_allclose(filters.savgol(pos, 7, 2), savgol_filter(pos, 7, 2, axis=0, mode="interp"), atol=1e-12)


def test_savgol_bridges_gaps_and_keeps_them_missing():
    rng = np.random.default_rng(8)
    x = np.cumsum(rng.normal(0, 1, 100))
    x[40:43] = np.nan
    x[:2] = np.nan
    out = filters.savgol(x[:, None], 9, 3)[:, 0]
    assert np.isnan(out[40:43]).all() and np.isnan(out[:2]).all()
    filled = x.copy()
    t = np.arange(100)
    ok = ~np.isnan(x)
    filled[40:43] = np.interp(t[40:43], t[ok], x[ok])
    filled[:2] = x[2]
    ref = savgol_filter(filled, 9, 3, mode="interp")
    np.testing.assert_allclose(out[ok], ref[ok], atol=1e-12)
    assert np.isfinite(out[ok]).all()


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda p: filters.rolling_median(p, 0), "window"),
        (lambda p: filters.rolling_median(p, 3, 4), "min_periods"),
        (lambda p: filters.savgol(p, 5, 5), "polyorder"),
        (lambda p: filters.savgol(p, 500, 2), "longer than the recording"),
        (lambda p: filters.interpolate_gaps(p, 3, "cubic"), "interpolation method"),
        (lambda p: filters.interpolate_gaps(p, -1), "max_gap"),
        (lambda p: filters.filter_by_confidence(p, np.ones(p.shape[:-1]), np.nan), "threshold"),
    ],
)
def test_bad_parameters(call, match):
    pos, _ = _series_with_gaps()
    with pytest.raises(ConfigError, match=match):
        call(pos)


def test_same_numbers_as_movement():
    """movement's filters (optional 'bench' extra) on the same array give the same values."""
    xr = pytest.importorskip("xarray")
    mf = pytest.importorskip("movement.filtering")
    pos, _ = _series_with_gaps(9, T=150, n=3, P=3)
    conf = np.random.default_rng(2).random(pos.shape[:3])
    T, n, P = pos.shape[:3]
    da = xr.DataArray(
        np.moveaxis(pos, -1, 1),
        dims=("time", "space", "individuals", "keypoints"),
        coords={"time": np.arange(T), "space": ["x", "y"]},
    )
    cf = xr.DataArray(conf, dims=("time", "individuals", "keypoints"), coords={"time": np.arange(T)})
    back = lambda d: np.moveaxis(d.values, 1, -1)  # noqa: E731
    ours, _ = filters.filter_by_confidence(pos, conf, 0.6)
    np.testing.assert_array_equal(ours, back(mf.filter_by_confidence(da, cf, threshold=0.6, print_report=False)))
    for gap in (1, 3, None):
        ours, _ = filters.interpolate_gaps(pos, gap)
        np.testing.assert_allclose(
            ours, back(mf.interpolate_over_time(da, max_gap=gap, print_report=False)), atol=1e-12, equal_nan=True
        )
    for w, mp in ((5, None), (5, 2), (4, 1)):
        np.testing.assert_allclose(
            filters.rolling_median(pos, w, mp),
            back(mf.rolling_filter(da, w, statistic="median", min_periods=mp, print_report=False)),
            atol=1e-12,
            equal_nan=True,
        )
    full = np.nan_to_num(pos, nan=1.0)
    dfull = da.copy(data=np.moveaxis(full, -1, 1))
    np.testing.assert_allclose(
        filters.savgol(full, 7, 2), back(mf.savgol_filter(dfull, 7, polyorder=2, print_report=False)), atol=1e-12
    )
