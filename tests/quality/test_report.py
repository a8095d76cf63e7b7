"""The quality report of one table, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, SchemaError
from mosaic.quality import quality_report
from mosaic.quality.arrays import arrays_to_table, table_to_arrays


def _table(T=100):
    rng = np.random.default_rng(0)
    frames = np.repeat(np.arange(T), 2)
    ids = np.tile([3, 7], T)
    X = np.where(ids == 3, np.arange(T).repeat(2) * 1.0, 50.0)
    Y = np.where(ids == 3, 10.0, np.arange(T).repeat(2) * 0.5)
    df = pd.DataFrame(
        {
            "frame": frames,
            "time": frames / 10.0,
            "id": ids,
            "X": X,
            "Y": Y,
            "group": "g",
            "sequence": "s",
            "poseX0": X + 1,
            "poseY0": Y,
            "poseP0": rng.random(2 * T),
        }
    )
    # id 3: gaps of 1 (frame 10), 3 (frames 20-22) and 12 (frames 40-51); id 7: no gap
    for f in [10, 20, 21, 22, *range(40, 52)]:
        df.loc[(df["frame"] == f) & (df["id"] == 3), ["X", "Y"]] = np.nan
    df.loc[(df["frame"] == 60) & (df["id"] == 7), "Y"] = 500.0  # a one-frame jump of id 7
    return df


def test_report_values():
    df = _table()
    rep = quality_report(df, {"fps": 10.0, "keypoint_names": ["nose"]}, {"quantile": 0.5, "factor": 3.0})
    ind = rep.individuals.set_index("id")
    assert ind.loc[3, "n_missing"] == 16 and ind.loc[3, "frac_missing"] == pytest.approx(0.16)
    assert (ind.loc[3, "n_gaps"], ind.loc[3, "gap_max"], ind.loc[3, "gap_median"]) == (3, 12, 3.0)
    assert ind.loc[3, "gap_mean"] == pytest.approx(16 / 3)
    assert (ind.loc[3, "gaps_1"], ind.loc[3, "gaps_2_5"], ind.loc[3, "gaps_11_30"]) == (1, 1, 1)
    assert ind.loc[7, "n_missing"] == 0 and ind.loc[7, "n_gaps"] == 0
    assert ind.loc[7, "n_jumps"] == 1 and ind.loc[3, "n_jumps"] == 0
    assert ind.loc[7, "n_fast_steps"] == 2  # into the jump and back
    pts = rep.points.set_index(["id", "point"])
    conf = df.loc[df["id"] == 3, "poseP0"].to_numpy()
    assert pts.loc[(3, "nose"), "conf_mean"] == pytest.approx(conf.mean())
    assert pts.loc[(3, "nose"), "conf_q05"] == pytest.approx(np.quantile(conf, 0.05))
    assert pts.loc[(3, "nose"), "frac_conf_below"] == pytest.approx((conf < 0.6).mean())
    assert np.isnan(pts.loc[(3, "centre"), "conf_mean"])
    ev = rep.events
    assert ev[["kind", "frame", "id"]].values.tolist() == [["jump", 60, 7]]
    assert list(rep.individuals.columns[:3]) == ["group", "sequence", "id"]


def test_missing_rows_count_as_missing_and_write_back_keeps_rows():
    df = _table()
    df = df[~((df["id"] == 7) & df["frame"].between(30, 34))].reset_index(drop=True)
    arr = table_to_arrays(df)
    assert arr.shape == (100, 2, 2)
    assert np.isnan(arr.pos[30:35, 1]).all()
    back = arrays_to_table(df, arr)
    pd.testing.assert_frame_equal(back, df)


def test_bad_input():
    with pytest.raises(SchemaError, match="lacks columns"):
        quality_report(pd.DataFrame({"frame": [0], "id": [0], "X": [1.0]}))
    with pytest.raises(SchemaError, match="empty"):
        quality_report(_table().iloc[:0])
    dup = pd.concat([_table().iloc[:2], _table().iloc[:1]])
    with pytest.raises(SchemaError, match="duplicate"):
        quality_report(dup)
    with pytest.raises(ConfigError, match="unknown track-quality"):
        quality_report(_table(), params={"treshold": 1})


@pytest.mark.parametrize("T", [1, 2, 3])
def test_very_short_recordings(T):
    from mosaic.quality import clean_table

    df = pd.DataFrame(
        {
            "frame": np.arange(T, dtype=np.int64),
            "time": np.arange(T) / 30,
            "id": 0,
            "X": np.arange(T) * 1.0,
            "Y": 0.0,
            "group": "g",
            "sequence": "s",
        }
    )
    ops = [{"op": "jumps"}, {"op": "swaps"}, {"op": "interpolate"}, {"op": "median", "window": 5}, {"op": "savgol"}]
    out, rep = clean_table(df, ops)
    assert len(out) == T and not out["interpolated"].any()
    by = {s["op"]: s for s in rep["steps"]}
    assert by["savgol"]["n_changed"] == 0 and ("skipped" in by["savgol"]) == (T < 7)
    # the median of 3 frames with reflected edges: [2 1 | 0 1 2 | 1 0] -> 1 everywhere
    if T == 3:
        np.testing.assert_array_equal(out["X"], [1.0, 1.0, 1.0])
    assert quality_report(df).individuals["n_missing"].tolist() == [0]


def test_individual_never_seen():
    from mosaic.quality import clean_table

    df = pd.DataFrame(
        {
            "frame": np.repeat(np.arange(10, dtype=np.int64), 2),
            "time": 0.0,
            "id": np.tile([0, 1], 10),
            "X": np.where(np.tile([0, 1], 10) == 0, 1.0, np.nan),
            "Y": 1.0,
            "group": "g",
            "sequence": "s",
        }
    )
    out, rep = clean_table(df)
    np.testing.assert_allclose(out["X"].to_numpy(), df["X"].to_numpy(), atol=1e-12)  # nothing invented
    assert {s["op"]: s["n_changed"] for s in rep["steps"]}["savgol"] == 0  # rounding is not a change
    ind = quality_report(df).individuals.set_index("id")
    assert ind.loc[1, "frac_missing"] == 1.0 and ind.loc[1, "n_gaps"] == 1 and ind.loc[1, "gap_max"] == 10
