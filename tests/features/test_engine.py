"""The engine: run ids, reuse, chaining, filters, overlap, errors, registry, laziness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, FeatureError, SequenceNotFoundError
from mosaic.features import (
    Feature,
    Inputs,
    Result,
    list_feature_runs,
    list_features,
    load_feature,
    register_feature,
    run_feature,
)
from mosaic.features.engine import (
    FEATURES_INDEX,
    feature_index_path,
    read_feature_index,
)

from .helpers import add_sequence, circle, long_table

FPS = 30.0


def _two_groups(ds, T=60):
    for g, seqs in (("g1", ("a", "b")), ("g2", ("c",))):
        for k, s in enumerate(seqs):
            X, Y, _ = circle(T, 10.0 + k, 1.0, FPS)
            X = np.concatenate([X, X + 30.0], axis=1)
            Y = np.concatenate([Y, Y], axis=1)
            add_sequence(ds, long_table(g, s, X, Y, FPS))


def _mtimes(ds):
    root = ds.get_root("features")
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_outputs_layout_index_and_rerun_writes_nothing(dataset):
    _two_groups(dataset)
    res = run_feature(dataset, "speed")
    assert isinstance(res, Result) and res.feature == "speed" and len(res.run_id) == 12
    assert [p.name for p in res.paths] == ["g1__a.parquet", "g1__b.parquet", "g2__c.parquet"]
    assert all(p.parent == dataset.get_root("features") / "speed" / res.run_id for p in res.paths)
    idx = read_feature_index(dataset, "speed", missing_ok=False)
    assert list(idx.columns[: len(FEATURES_INDEX.columns)]) == list(FEATURES_INDEX.columns)
    assert set(idx["run_id"]) == {res.run_id} and len(idx) == 3
    assert not os.path.isabs(idx["abs_path"].iloc[0])  # portable
    assert idx["n_rows"].tolist() == [120, 120, 120]
    before = _mtimes(dataset)
    res2 = run_feature(dataset, "speed")
    assert res2 == res
    assert _mtimes(dataset) == before  # nothing rewritten
    res3 = run_feature(dataset, "speed", overwrite=True)
    assert res3.run_id == res.run_id
    after = _mtimes(dataset)
    assert all(after[p] != before[p] for p in res.paths)


def test_param_change_changes_run_id_and_latest_is_loaded(dataset):
    _two_groups(dataset)
    r1 = run_feature(dataset, "speed")
    r2 = run_feature(dataset, {"name": "speed", "params": {"method": "backward"}})
    assert r1.run_id != r2.run_id
    df = load_feature(dataset, "speed")  # latest
    assert df["speed_px_s"].isna().sum() == 6  # backward: first frame of each animal
    df1 = load_feature(dataset, "speed", run_id=r1.run_id, groups="g1")
    assert set(df1["group"]) == {"g1"} and df1["speed_px_s"].notna().all()
    assert list(df1.columns[:4]) == ["group", "sequence", "frame", "id"]
    runs = list_feature_runs(dataset, "speed")
    assert runs["run_id"].tolist() == [r1.run_id, r2.run_id]
    assert runs["n_sequences"].tolist() == [3, 3]
    assert json.loads(runs["params_json"].iloc[1])["method"] == "backward"


def test_scope_selection_and_unknown_names(dataset):
    _two_groups(dataset)
    r = run_feature(dataset, "speed", groups=["g1"], sequences="b")
    assert [p.name for p in r.paths] == ["g1__b.parquet"]
    with pytest.raises(SequenceNotFoundError, match="nope"):
        run_feature(dataset, "speed", groups="nope")
    with pytest.raises(SequenceNotFoundError, match="zz"):
        run_feature(dataset, "speed", sequences=["zz"])


def test_chaining_on_a_result_rolling_and_lags(dataset):
    _two_groups(dataset)
    sp = run_feature(dataset, "speed", groups="g2")
    roll = run_feature(
        dataset,
        {
            "name": "rolling",
            "params": {"windows": [3], "stats": ["mean", "max"], "columns": ["speed_px_s"]},
            "inputs": [sp],
        },
        groups="g2",
    )
    run_feature(
        dataset,
        {"name": "lags", "params": {"lags": [2, -1], "columns": ["vx_px_s"]}, "inputs": [Result("speed")]},
        groups="g2",
    )
    s = load_feature(dataset, "speed").sort_values(["id", "frame"])
    r = load_feature(dataset, "rolling").sort_values(["id", "frame"])
    lg = load_feature(dataset, "lags").sort_values(["id", "frame"])
    for i in (0, 1):
        v = s[s["id"] == i]["speed_px_s"].to_numpy()
        m = r[r["id"] == i]["speed_px_s_roll3_mean"].to_numpy()
        np.testing.assert_allclose(m[1:-1], (v[:-2] + v[1:-1] + v[2:]) / 3)
        np.testing.assert_allclose(m[0], v[:2].mean())  # min_periods=1 at the edge
        vx = s[s["id"] == i]["vx_px_s"].to_numpy()
        np.testing.assert_allclose(lg[lg["id"] == i]["vx_px_s_lag2"].to_numpy()[2:], vx[:-2])
        np.testing.assert_allclose(lg[lg["id"] == i]["vx_px_s_lead1"].to_numpy()[:-1], vx[1:])
        assert np.isnan(lg[lg["id"] == i]["vx_px_s_lag2"].to_numpy()[:2]).all()
    # the downstream run id depends on the upstream run id
    sp2 = run_feature(dataset, {"name": "speed", "params": {"method": "backward"}}, groups="g2")
    roll2 = run_feature(
        dataset,
        {
            "name": "rolling",
            "params": {"windows": [3], "stats": ["mean", "max"], "columns": ["speed_px_s"]},
            "inputs": [sp2],
        },
        groups="g2",
    )
    assert roll2.run_id != roll.run_id
    info = json.loads((dataset.get_root("features") / "rolling" / roll.run_id / "run.json").read_text())
    assert info["inputs"] == [{"feature": "speed", "run_id": sp.run_id}]


def test_rolling_over_pair_features_keeps_pair_key(dataset):
    _two_groups(dataset)
    pd_res = run_feature(dataset, "pair_distance", groups="g2")
    r = run_feature(
        dataset, {"name": "rolling", "params": {"windows": [5], "stats": ["mean"]}, "inputs": pd_res}, groups="g2"
    )
    df = load_feature(dataset, "rolling", r.run_id)
    assert {"frame", "id", "id2", "distance_px_roll5_mean"} <= set(df.columns)
    np.testing.assert_allclose(df["distance_px_roll5_mean"], 30.0, rtol=1e-12)  # constant 30 px apart


def test_multiple_inputs_are_joined(dataset):
    _two_groups(dataset)
    a = run_feature(dataset, "speed", groups="g2")
    b = run_feature(dataset, "centroid_distance", groups="g2")

    class Ratio(Feature):
        name = "ratio_test"

        def apply(self, data):
            self.check_columns(data, ["speed_px_s", "centroid_dist_px"])
            return pd.DataFrame(
                {"frame": data["frame"], "id": data["id"], "ratio": data["speed_px_s"] / data["centroid_dist_px"]}
            )

    register_feature(Ratio)
    res = run_feature(dataset, Ratio(inputs=Inputs((a, b))), groups="g2")
    df = load_feature(dataset, "ratio_test", res.run_id)
    np.testing.assert_allclose(df["ratio"].iloc[5], (10.0 * np.sin(1 / FPS) * FPS) / 15.0, rtol=1e-9)
    assert "ratio_test" in list_features()


def test_frame_and_time_filters(dataset):
    _two_groups(dataset)
    r = run_feature(dataset, "speed", filter_start_frame=10, filter_end_frame=20)
    df = load_feature(dataset, "speed", r.run_id)
    assert df["frame"].min() == 10 and df["frame"].max() == 19
    # the filter is applied before apply: frame 10 is an edge (one-sided), 11..18 central
    g = df[(df["group"] == "g2") & (df["id"] == 0)].set_index("frame")["speed_px_s"]
    assert g.loc[11] == pytest.approx(10.0 * np.sin(1 / FPS) * FPS)
    assert g.loc[10] == pytest.approx(2 * 10.0 * np.sin(0.5 / FPS) * FPS)
    with pytest.raises(ConfigError, match="fps_default"):
        run_feature(dataset, "speed", filter_start_time=0.5)
    dataset.meta["fps_default"] = FPS
    rt = run_feature(dataset, "speed", filter_start_time=10 / FPS, filter_end_time=20 / FPS)
    assert rt.run_id == r.run_id  # same frames → same run
    with pytest.raises(ConfigError, match="not both"):
        run_feature(dataset, "speed", filter_start_frame=1, filter_start_time=1.0)
    with pytest.raises(ConfigError, match="empty frame filter"):
        run_feature(dataset, "speed", filter_start_frame=5, filter_end_frame=5)
    with pytest.raises(ConfigError, match="cannot be combined"):
        run_feature(dataset, "speed", filter_start_frame=5, overlap_frames=2)
    with pytest.raises(ConfigError, match="continuous"):
        run_feature(dataset, "speed", overlap_frames=2)


def _continuous(ds, n_seg=3, L=40):
    ds.dataset_type, ds.segment_duration, ds.time_column = "continuous", 40 / FPS, "time"
    ds.save()
    T = n_seg * L
    X, Y, _ = circle(T, 15.0, 2.0, FPS)
    for k in range(n_seg):
        sl = slice(k * L, (k + 1) * L)
        add_sequence(ds, long_table("g", f"seg{k + 1}", X[sl], Y[sl], FPS))  # local frames 0..L-1
    add_sequence(ds, long_table("whole", "all", X, Y, FPS))
    return L


def test_overlap_frames_match_the_unsegmented_recording(dataset):
    L = _continuous(dataset)
    whole = run_feature(dataset, "kinematics", groups="whole")
    ref = load_feature(dataset, "kinematics", whole.run_id).set_index("frame")
    cols = ["speed_px_s", "angvel_rad_s", "acc_px_s2", "tortuosity"]
    plain = run_feature(dataset, "kinematics", groups="g")
    ov = run_feature(dataset, "kinematics", groups="g", overlap_frames=8)
    assert ov.run_id != plain.run_id
    for k, seq in enumerate(("seg1", "seg2", "seg3")):
        o = load_feature(dataset, "kinematics", ov.run_id, sequences=seq).set_index("frame")
        assert o.index.tolist() == list(range(L))  # trimmed back to the segment
        expect = ref.loc[k * L : (k + 1) * L - 1, cols].to_numpy()
        np.testing.assert_allclose(o[cols].to_numpy(), expect, rtol=1e-9, equal_nan=True)
        if k > 0:  # without overlap the segment start is an edge and differs
            p = load_feature(dataset, "kinematics", plain.run_id, sequences=seq).set_index("frame")
            assert p.loc[0, "acc_px_s2"] != pytest.approx(ref.loc[k * L, "acc_px_s2"])


def test_bad_inputs_give_named_errors(dataset):
    _two_groups(dataset)
    with pytest.raises(FeatureError, match="allowed keys") as ei:
        run_feature(dataset, {"name": "speed", "params": {"bogus": 1}})
    assert "method" in str(ei.value)
    with pytest.raises(FeatureError, match="unknown feature 'nope'"):
        run_feature(dataset, "nope")
    with pytest.raises(FeatureError, match="has no run") as ei:
        run_feature(dataset, {"name": "rolling", "inputs": [Result("speed")]})
    assert str(feature_index_path(dataset, "speed")) in str(ei.value)
    run_feature(dataset, "speed", groups="g1")
    with pytest.raises(FeatureError, match="not found"):
        run_feature(dataset, {"name": "rolling", "inputs": [Result("speed", run_id="deadbeef0000")]})
    with pytest.raises(FeatureError, match="lacks sequences"):
        run_feature(dataset, {"name": "rolling", "inputs": [Result("speed")]})  # g2 not computed upstream
    with pytest.raises(FeatureError, match="lacks input columns"):
        run_feature(
            dataset, {"name": "rolling", "params": {"columns": ["nope"]}, "inputs": [Result("speed")]}, groups="g1"
        )
    with pytest.raises(ConfigError, match="parallel_mode"):
        run_feature(dataset, "speed", parallel_mode="mpi")
    with pytest.raises(FeatureError, match="has no run"):
        load_feature(dataset, "pair")


def test_missing_track_column_names_the_file(dataset):
    X = np.arange(10.0)[:, None]
    path = add_sequence(dataset, long_table("g", "s", X, X, FPS))

    class NeedsSpeedCol(Feature):
        name = "needs_speed_col"
        required_columns = ("frame", "id", "SPEED")

        def apply(self, data):
            return data[["frame", "id", "SPEED"]]

    with pytest.raises(FeatureError, match="lacks columns") as ei:
        run_feature(dataset, NeedsSpeedCol(), registry={"needs_speed_col": NeedsSpeedCol})
    assert str(path) in str(ei.value) and "SPEED" in str(ei.value)


def test_registry_param_and_lazy_table():
    with pytest.raises(FeatureError, match="already registered"):
        register_feature(name="speed", target="x:y")
    register_feature(name="speed2", target="mosaic.features.kinematics:Speed")
    assert "speed2" in list_features() and "speed2" not in list_features({"speed": "mosaic.features.kinematics:Speed"})


def test_running_one_feature_does_not_import_the_library(tmp_path):
    code = f"""
import sys, numpy as np
import mosaic.features
from mosaic.core.dataset import DatasetCore
sys.path.insert(0, {str(os.getcwd())!r})
from tests.features.helpers import add_sequence, long_table
ds = DatasetCore.create({str(tmp_path / "d")!r})
add_sequence(ds, long_table('g', 's', np.ones((5, 2)), np.ones((5, 2)), 30.0))
mosaic.features.run_feature(ds, 'speed')
bad = sorted(m for m in ('sklearn', 'mosaic.features.globalfit', 'mosaic.features.pair', 'mosaic.features.social',
                         'mosaic.features.temporal', 'dask', 'distributed', 'joblib') if m in sys.modules)
print('LOADED', bad)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout


@pytest.mark.parametrize("name", ["kinematics", "pair", "nearest_neighbor", "centroid_distance", "polarization"])
def test_empty_recording_and_single_individual(dataset, name):
    empty = long_table("g", "empty", np.zeros((0, 2)), np.zeros((0, 2)), FPS)
    add_sequence(dataset, empty, group="g", sequence="empty")
    X = np.arange(6.0)[:, None]
    add_sequence(dataset, long_table("g", "one", X, X, FPS))
    res = run_feature(dataset, name)
    df = load_feature(dataset, name, res.run_id)
    assert set(df["sequence"]) <= {"one"}
    n_one = len(df[df["sequence"] == "one"])
    assert n_one == (0 if name == "pair" else 6)
    idx = read_feature_index(dataset, name)
    assert dict(zip(idx["sequence"], idx["n_rows"])) == {"empty": 0, "one": n_one}


def test_chunked_output_is_streamed_into_one_file(dataset, monkeypatch):
    import pyarrow.parquet as pq

    import mosaic.features.engine.writer as writer_mod
    import mosaic.features.pair as pair_mod

    _two_groups(dataset, T=50)
    whole = run_feature(dataset, "pair", groups="g2")
    ref = load_feature(dataset, "pair", whole.run_id)
    ref_bytes = Path(whole.paths[0]).read_bytes()
    monkeypatch.setattr(pair_mod, "CHUNK_FRAMES", 8)  # 7 chunks: the file does not change
    res = run_feature(dataset, "pair", groups="g2", overwrite=True)
    assert Path(res.paths[0]).read_bytes() == ref_bytes
    monkeypatch.setattr(writer_mod, "ROW_GROUP_ROWS", 64)  # row groups follow rows, not chunks
    res = run_feature(dataset, "pair", groups="g2", overwrite=True)
    meta = pq.ParquetFile(res.paths[0]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == len(ref) > 64 and all(s == 64 for s in sizes[:-1]) and 0 < sizes[-1] <= 64
    pd.testing.assert_frame_equal(load_feature(dataset, "pair", res.run_id), ref)
