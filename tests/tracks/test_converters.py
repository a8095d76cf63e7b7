"""Converters on synthetic files in each tool's layout, values checked against the written arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, MosaicError, TrackFormatError
from mosaic.tracks import list_converters, list_schemas, register_converter, validate_trex_v1
from mosaic.tracks.converters import get_converter
from mosaic.tracks.table import TrackTable

from .synth import calms21_dict, write_calms21_json, write_calms21_npy, write_dlc_csv, write_sleap_h5, write_trex


def conv(fmt, paths, params, group="g", sequence="s"):
    return get_converter(fmt)([Path(p) for p in paths], params, group=group, sequence=sequence)


# ------------------------------------------------------------------ registry
def test_registry_lists_builtins_and_registers(tmp_path):
    names = list_converters()
    for n in ("trex_npz", "trex_csv", "calms21_npy", "calms21_json", "sleap_h5", "dlc", "csv"):
        assert n in names
    assert list_schemas() == ["trex_v1"]

    def fake(paths, params, *, group, sequence):
        df = pd.DataFrame(
            {
                "frame": np.array([0], np.int64),
                "time": [0.0],
                "id": np.array([0], np.int64),
                "X": [1.0],
                "Y": [2.0],
                "group": [group],
                "sequence": [sequence],
            }
        )
        return [TrackTable(group, sequence, df, {"fps": 1.0})]

    register_converter("fake_fmt_test", fake)
    try:
        assert "fake_fmt_test" in list_converters()
        assert conv("fake_fmt_test", [tmp_path / "x"], {})[0].df["X"].iloc[0] == 1.0
    finally:
        from mosaic.tracks.converters import REGISTRY

        REGISTRY._entries.pop("fake_fmt_test", None)


def test_unknown_src_format_is_named(tmp_path):
    with pytest.raises(ConfigError) as ei:
        get_converter("no_such_format", path=tmp_path / "f.xyz")
    assert "f.xyz" in str(ei.value) and "no_such_format" in str(ei.value)


# ------------------------------------------------------------------ TRex
def test_trex_merge_on_frame_units_and_missing(tmp_path):
    truth = write_trex(
        tmp_path, "vid", {0: (0, 9), 1: (3, 12), 2: (5, 6)}, cm_per_pixel=0.5, fps=25.0, missing={0: [2, 7], 1: [3]}
    )
    t = conv("trex_npz", sorted(tmp_path.glob("*.npz")), {})[0]
    df = t.df
    validate_trex_v1(df)
    assert df["frame"].dtype == np.int64 and df["time"].dtype == np.float64
    assert len(df) == 10 + 10 + 2
    assert t.meta["fps"] == 25.0 and t.meta["cm_per_pixel"] == 0.5 and t.meta["fps_source"] == "file"
    for k, d in truth.items():
        sub = df[df["id"] == k]
        np.testing.assert_array_equal(sub["frame"].to_numpy(), d["frame"].astype(np.int64))
        miss = d["missing"] > 0
        exp_x = d["X#wcentroid"].astype(np.float64) / 0.5
        exp_x[miss] = np.nan
        np.testing.assert_allclose(sub["X"].to_numpy(), exp_x, rtol=1e-12)
        assert np.array_equal(np.isnan(sub["X"].to_numpy()), miss)  # NaN exactly where TRex marked missing
        assert np.array_equal(np.isnan(sub["ANGLE"].to_numpy()), miss)
        np.testing.assert_array_equal(sub["missing"].to_numpy(), miss)
        np.testing.assert_allclose(sub["time"].to_numpy(), d["time"].astype(np.float64))
        exp_speed = d["SPEED"].astype(np.float64) / 0.5
        exp_speed[miss] = np.nan
        np.testing.assert_allclose(sub["SPEED"].to_numpy(), exp_speed)
    # rows sorted by (frame, id): frame 5 has ids 0, 1, 2
    f5 = df[df["frame"] == 5]["id"].tolist()
    assert f5 == [0, 1, 2]
    assert t.meta["individual_names"] == {0: "fish0", 1: "fish1", 2: "fish2"}


def test_trex_falls_back_to_plain_x_and_pose(tmp_path):
    truth = write_trex(tmp_path, "v", {0: (0, 4)}, pose=2)
    for f in tmp_path.glob("*.npz"):
        d = dict(np.load(f))
        del d["X#wcentroid"], d["Y#wcentroid"]
        np.savez(f, **d)
    t = conv("trex_npz", sorted(tmp_path.glob("*.npz")), {})[0]
    np.testing.assert_allclose(t.df["X"], truth[0]["X"].astype(np.float64) / 0.5)
    np.testing.assert_allclose(t.df["poseX1"], truth[0]["poseX1"].astype(np.float64) / 0.5)
    assert t.meta["keypoint_names"] == ["kp0", "kp1"]


def test_trex_id_prefix_configurable_and_units_px(tmp_path):
    truth = write_trex(tmp_path, "v", {3: (0, 2), 7: (1, 3)}, prefix="id", cm_per_pixel=None)
    t = conv("trex_npz", sorted(tmp_path.glob("*.npz")), {"units": "px", "individual_prefixes": ["id"]})[0]
    assert sorted(t.df["id"].unique()) == [3, 7]
    np.testing.assert_allclose(t.df[t.df["id"] == 7]["X"], truth[7]["X#wcentroid"].astype(np.float64))


def test_trex_without_cm_per_pixel_or_fps_names_the_file(tmp_path):
    write_trex(tmp_path, "v", {0: (0, 3)}, cm_per_pixel=None, fps=None)
    paths = sorted(tmp_path.glob("*.npz"))
    with pytest.raises(TrackFormatError) as ei:
        conv("trex_npz", paths, {"fps": 30})
    assert "cm_per_pixel" in str(ei.value) and "v_fish0.npz" in str(ei.value)
    with pytest.raises(TrackFormatError) as ei:
        conv("trex_npz", paths, {"cm_per_pixel": 0.1})
    assert "fps" in str(ei.value) and "v_fish0.npz" in str(ei.value)
    t = conv("trex_npz", paths, {"cm_per_pixel": 0.1, "fps": 30})[0]
    assert t.meta["cm_per_pixel_source"] == "params"


def test_trex_settings_file(tmp_path):
    write_trex(tmp_path, "v", {0: (0, 3)}, cm_per_pixel=None, fps=None)
    (tmp_path / "v.settings").write_text("cm_per_pixel = 0.25\nframe_rate = 40\n")
    t = conv("trex_npz", sorted(tmp_path.glob("*.npz")), {"settings_file": "auto"})[0]
    assert t.meta["cm_per_pixel"] == 0.25 and t.meta["fps"] == 40.0 and t.meta["cm_per_pixel_source"] == "settings"


@pytest.mark.parametrize(
    "case",
    ["truncated", "empty_bytes", "not_zip", "no_frame", "no_position", "lengths", "nonmono", "dupframe", "fraction"],
)
def test_trex_bad_input(tmp_path, case):
    write_trex(tmp_path, "v", {0: (0, 9)})
    f = tmp_path / "v_fish0.npz"
    d = dict(np.load(f))
    if case == "truncated":
        f.write_bytes(f.read_bytes()[:300])
    elif case == "empty_bytes":
        f.write_bytes(b"")
    elif case == "not_zip":
        f.write_text("hello")
    elif case == "no_frame":
        del d["frame"]
    elif case == "no_position":
        for k in ("X", "Y", "X#wcentroid", "Y#wcentroid"):
            del d[k]
    elif case == "lengths":
        d["ANGLE"] = d["ANGLE"][:5]
    elif case == "nonmono":
        d["frame"] = d["frame"][::-1].copy()
    elif case == "dupframe":
        d["frame"][3] = d["frame"][2]
    elif case == "fraction":
        d["frame"] = d["frame"] + 0.5
    if case not in ("truncated", "empty_bytes", "not_zip"):
        np.savez(f, **d)
    with pytest.raises(TrackFormatError) as ei:
        conv("trex_npz", [f], {})
    assert "v_fish0.npz" in str(ei.value)


def test_trex_empty_individual_is_skipped_but_all_empty_fails(tmp_path):
    write_trex(tmp_path, "v", {0: (0, 4), 1: (0, 4)})
    f1 = tmp_path / "v_fish1.npz"
    d = {k: v[:0] if v.ndim == 1 and len(v) == 5 else v for k, v in np.load(f1).items()}
    np.savez(f1, **d)
    t = conv("trex_npz", sorted(tmp_path.glob("*.npz")), {})[0]
    assert set(t.df["id"]) == {0}
    np.savez(tmp_path / "v_fish0.npz", **d)
    with pytest.raises(TrackFormatError) as ei:
        conv("trex_npz", sorted(tmp_path.glob("*.npz")), {})
    assert "v_fish0.npz" in str(ei.value)


def test_trex_csv_units_in_header(tmp_path):
    (tmp_path / "v_fish0.csv").write_text(
        "frame,X#wcentroid (cm),Y#wcentroid (cm),SPEED (cm/s)\n0,10,20,1\n1,inf,inf,inf\n2,12,22,3\n"
    )
    t = conv("trex_csv", [tmp_path / "v_fish0.csv"], {"cm_per_pixel": 2.0, "fps": 10})[0]
    np.testing.assert_allclose(t.df["X"], [5.0, np.nan, 6.0])
    np.testing.assert_allclose(t.df["Y"], [10.0, np.nan, 11.0])
    np.testing.assert_allclose(t.df["time"], [0.0, 0.1, 0.2])


# ------------------------------------------------------------------ CalMS21
@pytest.mark.parametrize("kind", ["npy", "json"])
def test_calms21_values(tmp_path, kind):
    data = calms21_dict(n_seq=2, T=15)
    path = (write_calms21_npy if kind == "npy" else write_calms21_json)(tmp_path / f"f.{kind}", data)
    tables = conv(f"calms21_{kind}", [path], {"fps": 30}, group="f", sequence="")
    assert len(tables) == 2
    for t in tables:
        rec = data["annotator-id_0"][t.sequence]
        kp, sc = rec["keypoints"], rec["scores"]
        df = t.df
        assert t.group == "annotator-id_0"
        validate_trex_v1(df)
        for m in (0, 1):
            sub = df[df["id"] == m]
            for k in range(7):
                np.testing.assert_allclose(sub[f"poseX{k}"], kp[:, m, 0, k])
                np.testing.assert_allclose(sub[f"poseY{k}"], kp[:, m, 1, k])
                np.testing.assert_allclose(sub[f"poseP{k}"], sc[:, m, k])
            np.testing.assert_allclose(sub["X"], kp[:, m, 0, :].mean(axis=1))
            np.testing.assert_allclose(sub["time"], np.arange(15) / 30)
        assert t.meta["keypoint_names"][0] == "nose" and t.meta["individual_names"] == {0: "resident", 1: "intruder"}


def test_calms21_group_from_modes(tmp_path):
    path = write_calms21_npy(tmp_path / "f.npy", calms21_dict(n_seq=1, T=5))
    expected_group = {"infile": "annotator-id_0", "filename": "myfile", "both": "myfile"}
    for mode, group in expected_group.items():
        t = conv("calms21_npy", [path], {"fps": 30, "group_from": mode}, group="myfile", sequence="")[0]
        assert t.group == group and set(t.df["group"]) == {group}, mode
        # in every mode: the file-level group as collection, the in-file group kept in the data
        assert set(t.df["collection"]) == {"myfile"} and set(t.df["source_group"]) == {"annotator-id_0"}, mode
    # without an index group, the file-level group is the file stem
    t = conv("calms21_npy", [path], {"fps": 30, "group_from": "both"}, group="", sequence="")[0]
    assert t.group == "f" and set(t.df["collection"]) == {"f"}


def test_calms21_both_refuses_two_infile_groups_on_one_name(tmp_path):
    data = calms21_dict(n_seq=1, T=5)
    data["annotator-id_1"] = dict(data["annotator-id_0"])
    path = write_calms21_npy(tmp_path / "f.npy", data)
    with pytest.raises(TrackFormatError, match="same \\(group, sequence\\)") as ei:
        conv("calms21_npy", [path], {"fps": 30, "group_from": "both"}, group="myfile", sequence="")
    assert "group_from='infile'" in str(ei.value)
    assert {t.group for t in conv("calms21_npy", [path], {"fps": 30}, group="myfile", sequence="")} == {
        "annotator-id_0",
        "annotator-id_1",
    }


@pytest.mark.parametrize("case", ["corrupt", "not_dict", "no_keypoints", "bad_shape", "scores_mismatch"])
def test_calms21_bad_input(tmp_path, case):
    path = tmp_path / "c.npy"
    data = calms21_dict(n_seq=1, T=5)
    rec = data["annotator-id_0"]["task1/train/mouse001_task1_annotator1"]
    params = {"fps": 30}
    if case == "corrupt":
        path.write_bytes(b"\x93NUMPY garbage")
    else:
        if case == "not_dict":
            data = np.zeros(3)
        elif case == "no_keypoints":
            del rec["keypoints"]
        elif case == "bad_shape":
            rec["keypoints"] = rec["keypoints"][:, :, 0]
        elif case == "scores_mismatch":
            rec["scores"] = rec["scores"][:3]
        np.save(path, data, allow_pickle=True)
    with pytest.raises(TrackFormatError) as ei:
        conv("calms21_npy", [path], params, group="c", sequence="")
    assert "c.npy" in str(ei.value)


def test_calms21_fps_is_30_by_definition(tmp_path):
    """CalMS21 is 30 Hz: without any fps the tracks get 30 (source 'format'); a param still wins."""
    path = write_calms21_npy(tmp_path / "f.npy", calms21_dict(n_seq=1, T=5))
    t = conv("calms21_npy", [path], {}, group="c", sequence="")[0]
    assert t.meta["fps"] == 30.0 and t.meta["fps_source"] == "format"
    np.testing.assert_allclose(t.df["time"].to_numpy(), t.df["frame"].to_numpy() / 30.0)
    t = conv("calms21_npy", [path], {"fps": 25}, group="c", sequence="")[0]
    assert t.meta["fps"] == 25.0 and t.meta["fps_source"] == "params"


def test_calms21_tracks_and_labels_share_the_fps_rule(tmp_path):
    from mosaic import Dataset

    ds = Dataset.create(tmp_path / "ds", name="c21")
    raw = ds.get_root("tracks_raw") / "calms21"
    raw.mkdir(parents=True)
    write_calms21_npy(raw / "f.npy", calms21_dict(n_seq=1, T=5))
    ds.index_tracks_raw(search_dirs=[raw], patterns=["*.npy"], src_format="calms21_npy", multi_sequences_per_file=True)
    ds.convert_all_tracks()
    ds.convert_all_labels(source_format="calms21_npy")
    idx = pd.read_csv(ds.get_root("tracks") / "index.csv")
    assert list(idx["fps"]) == [30.0] and list(idx["fps_source"]) == ["format"]
    lab_idx = pd.read_csv(ds.get_root("labels") / "behavior" / "index.csv")
    g, s = idx["group"][0], idx["sequence"][0]
    assert (lab_idx["group"][0], lab_idx["sequence"][0]) == (g, s)
    assert float(ds.load_labels(g, s)["fps"]) == 30.0


# ------------------------------------------------------------------ SLEAP
def test_sleap_transposed_layout_and_scores(tmp_path):
    rng = np.random.default_rng(1)
    tr = rng.uniform(0, 100, (6, 3, 2, 2))  # frames, nodes, xy, tracks
    tr[2, :, :, 1] = np.nan  # track 1 absent at frame 2
    tr[4, 0, :, 0] = np.nan  # one node missing
    ps = rng.uniform(0, 1, (6, 3, 2))
    path = write_sleap_h5(tmp_path / "v.analysis.h5", tr, point_scores=ps)
    t = conv("sleap_h5", [path], {"fps": 10})[0]
    df = t.df
    assert len(df) == 12
    for j in (0, 1):
        sub = df[df["id"] == j]
        for k in range(3):
            np.testing.assert_allclose(sub[f"poseX{k}"], tr[:, k, 0, j])
            np.testing.assert_allclose(sub[f"poseY{k}"], tr[:, k, 1, j])
            np.testing.assert_allclose(sub[f"poseP{k}"], ps[:, k, j])
    np.testing.assert_allclose(df[df["id"] == 0]["X"].iloc[4], tr[4, 1:, 0, 0].mean())
    assert np.isnan(df[(df["id"] == 1) & (df["frame"] == 2)]["X"]).all()
    assert t.meta["keypoint_names"] == ["a", "b", "c"] and t.meta["individual_names"] == {0: "t0", 1: "t1"}
    dropped = conv("sleap_h5", [path], {"fps": 10, "drop_empty_rows": True})[0].df
    assert len(dropped) == 11


def test_sleap_untracked_and_errors(tmp_path):
    tr = np.ones((4, 3, 2, 1))
    path = write_sleap_h5(tmp_path / "u.h5", tr, track_names=None)
    t = conv("sleap_h5", [path], {"fps": 10})[0]
    assert t.meta["individual_names"] == {0: "instance0"} and t.meta["tracked"] is False
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_h5", [path], {})
    assert "fps" in str(ei.value) and "u.h5" in str(ei.value)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_h5", [bad], {"fps": 10})
    assert "bad.h5" in str(ei.value)
    import h5py

    with h5py.File(tmp_path / "nokey.h5", "w") as f:
        f["node_names"] = np.array([b"a"])
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_h5", [tmp_path / "nokey.h5"], {"fps": 10})
    assert "nokey.h5" in str(ei.value) and "tracks" in str(ei.value)
    with h5py.File(tmp_path / "names.h5", "w") as f:
        f["tracks"] = np.transpose(np.ones((4, 3, 2, 1)))
        f["node_names"] = np.array([b"a", b"b"])
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_h5", [tmp_path / "names.h5"], {"fps": 10})
    assert "names.h5" in str(ei.value)


# ------------------------------------------------------------------ DLC
def test_dlc_single_animal_csv_likelihood_and_threshold(tmp_path):
    rng = np.random.default_rng(2)
    xyl = rng.uniform(0, 1, (8, 1, 2, 3)) * [100, 100, 1]
    path = write_dlc_csv(tmp_path / "vidDLC_resnet50_x.csv", xyl)
    t = conv("dlc", [path], {"fps": 30})[0]
    np.testing.assert_allclose(t.df["poseX1"], xyl[:, 0, 1, 0])
    np.testing.assert_allclose(t.df["poseP0"], xyl[:, 0, 0, 2])
    np.testing.assert_allclose(t.df["X"], xyl[:, 0, :, 0].mean(axis=1))
    assert t.meta["keypoint_names"] == ["nose", "tail"] and t.meta["multi_animal"] is False
    t = conv("dlc", [path], {"fps": 30, "likelihood_threshold": 0.5})[0]
    low = xyl[:, 0, 0, 2] < 0.5
    assert np.array_equal(np.isnan(t.df["poseX0"].to_numpy()), low)
    np.testing.assert_allclose(t.df["poseP0"], xyl[:, 0, 0, 2])  # likelihood itself is kept


def test_dlc_multi_animal_empty_frame0_and_single(tmp_path):
    rng = np.random.default_rng(3)
    xyl = rng.uniform(0, 1, (5, 3, 2, 3)) * [100, 100, 1]
    xyl[0] = np.nan  # frame 0 all empty: must not be swallowed as a header row
    xyl[3, 1] = np.nan
    path = write_dlc_csv(tmp_path / "m.csv", xyl, individuals=["mouse1", "mouse2", "single"])
    t = conv("dlc", [path], {"fps": 30})[0]
    df = t.df
    assert df["frame"].min() == 0 and df["frame"].nunique() == 5
    assert t.meta["individual_names"] == {0: "mouse1", 1: "mouse2"} and set(df["id"]) == {0, 1}
    assert t.meta["landmark_names"] == ["nose", "tail"]  # the unique body parts of 'single'
    np.testing.assert_allclose(df[df["id"] == 1]["poseY0"], xyl[:, 1, 0, 1])
    for i in (0, 1):
        np.testing.assert_array_equal(df[df["id"] == i]["landmarkX1"], xyl[:, 2, 1, 0])
        np.testing.assert_array_equal(df[df["id"] == i]["landmarkP0"], xyl[:, 2, 0, 2])
    assert df[df["frame"] == 0][["X", "Y"]].isna().all().all()
    t2 = conv("dlc", [path], {"fps": 30, "single": "drop"})[0]
    assert set(t2.df["id"]) == {0, 1} and not [c for c in t2.df.columns if c.startswith("landmark")]
    with pytest.raises(ConfigError, match="never an animal"):
        conv("dlc", [path], {"fps": 30, "single": "individual"})
    only = write_dlc_csv(tmp_path / "o.csv", xyl[:, 2:], individuals=["single"])
    with pytest.raises(TrackFormatError, match="no animals"):
        conv("dlc", [only], {"fps": 30})


def test_dlc_h5_equals_csv(tmp_path):
    rng = np.random.default_rng(4)
    xyl = rng.uniform(0, 1, (6, 2, 2, 3)) * [100, 100, 1]
    cols = pd.MultiIndex.from_tuples(
        [("sc", ind, bp, c) for ind in ("a", "b") for bp in ("nose", "tail") for c in ("x", "y", "likelihood")],
        names=["scorer", "individuals", "bodyparts", "coords"],
    )
    pd.DataFrame(xyl.reshape(6, -1), columns=cols).to_hdf(tmp_path / "v.h5", key="tracks", format="table")
    csv = write_dlc_csv(tmp_path / "v.csv", xyl, individuals=["a", "b"], scorer="sc")
    a = conv("dlc", [tmp_path / "v.h5"], {"fps": 30})[0].df
    b = conv("dlc", [csv], {"fps": 30})[0].df
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("case", ["empty", "header_only_garbage", "labels", "3d", "nonmono", "text_values"])
def test_dlc_bad_input(tmp_path, case):
    p = tmp_path / "d.csv"
    if case == "empty":
        p.write_text("")
    elif case == "header_only_garbage":
        p.write_text("a,b,c\n1,2,3\n")
    elif case == "labels":
        p.write_text("scorer,s,s\nbodyparts,nose,nose\ncoords,x,y\nlabeled-data/v/img0.png,1,2\n")
    elif case == "3d":
        p.write_text("scorer,s,s,s\nbodyparts,n,n,n\ncoords,x,y,z\n0,1,2,3\n")
    elif case == "nonmono":
        p.write_text("scorer,s,s,s\nbodyparts,n,n,n\ncoords,x,y,likelihood\n1,1,2,0.5\n0,1,2,0.5\n")
    elif case == "text_values":
        p.write_text("scorer,s,s,s\nbodyparts,n,n,n\ncoords,x,y,likelihood\n0,abc,2,0.5\n")
    with pytest.raises(TrackFormatError) as ei:
        conv("dlc", [p], {"fps": 30})
    assert "d.csv" in str(ei.value)


# ------------------------------------------------------------------ generic CSV
def test_generic_csv_mapping(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("fi,who,cx,cy,extra\n1,b,3,4,9\n0,a,1,2,8\n1,a,5,6,7\n")
    t = conv("csv", [p], {"fps": 10, "columns": {"frame": "fi", "id": "who", "x": "cx", "y": "cy"}})[0]
    df = t.df
    assert df[["frame", "id"]].values.tolist() == [[0, 0], [1, 0], [1, 1]]
    np.testing.assert_allclose(df["X"], [1, 5, 3])
    np.testing.assert_allclose(df["extra"], [8, 7, 9])
    assert t.meta["individual_names"] == {0: "a", 1: "b"}


@pytest.mark.parametrize("case", ["missing_col", "dup", "empty"])
def test_generic_csv_bad_input(tmp_path, case):
    p = tmp_path / "g.csv"
    p.write_text({"missing_col": "frame,x\n0,1\n", "dup": "frame,id,x,y\n0,1,1,1\n0,1,2,2\n", "empty": ""}[case])
    with pytest.raises(MosaicError) as ei:
        conv("csv", [p], {"fps": 10, "columns": {"id": "id"}})
    assert "g.csv" in str(ei.value)


@pytest.mark.parametrize(
    ("fmt", "what"),
    [
        ("dlc", "DeepLabCut CSV"),
        ("csv", "CSV file"),
        ("trex_csv", "TRex .csv file"),
        ("sleap_csv", "SLEAP analysis CSV"),
    ],
)
@pytest.mark.parametrize("content", [b"", b"a,b\n\xff\xfe,1\n"])
def test_csv_converters_name_an_empty_or_unreadable_file(tmp_path, fmt, what, content):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(TrackFormatError) as ei:
        conv(fmt, [p], {"fps": 10}, group="G", sequence="S")
    problem = f"empty {what}" if not content else f"not a readable {what}"
    assert ei.value.problem == problem
    assert ei.value.path == str(p)


@pytest.mark.parametrize("fmt", ["sleap_h5", "dlc"])
def test_truncated_h5_is_named(tmp_path, fmt):
    p = tmp_path / "cut.h5"
    if fmt == "sleap_h5":
        write_sleap_h5(p, np.ones((50, 3, 2, 2)))
    else:
        cols = pd.MultiIndex.from_tuples(
            [("sc", "n", c) for c in ("x", "y", "likelihood")], names=["scorer", "bodyparts", "coords"]
        )
        pd.DataFrame(np.ones((50, 3)), columns=cols).to_hdf(p, key="df_with_missing", format="table")
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(TrackFormatError) as ei:
        conv(fmt, [p], {"fps": 30})
    assert "cut.h5" in str(ei.value)


# ------------------------------------------------------------------ writing validates, atomically
@pytest.mark.parametrize("case", ["inf", "unsorted", "duplicate", "float_frame", "missing_col", "text_x", "id_missing"])
def test_write_tracks_validates_and_writes_nothing(tmp_path, case):
    from mosaic.core.errors import SchemaError
    from mosaic.tracks import write_tracks

    df = pd.DataFrame(
        {
            "frame": np.array([0, 0, 1], np.int64),
            "time": [0.0, 0.0, 0.1],
            "id": np.array([0, 1, 0], np.int64),
            "X": [1.0, 2.0, np.nan],
            "Y": [1.0, 2.0, 3.0],
            "group": "g",
            "sequence": "s",
        }
    )
    if case == "inf":
        df.loc[1, "X"] = np.inf
    elif case == "unsorted":
        df = df.iloc[[2, 0, 1]].reset_index(drop=True)
    elif case == "duplicate":
        df.loc[1, "id"] = 0
    elif case == "float_frame":
        df["frame"] = df["frame"].astype(float)
    elif case == "missing_col":
        df = df.drop(columns=["Y"])
    elif case == "text_x":
        df["X"] = ["a", "b", "c"]
    elif case == "id_missing":
        df["id"] = [0.0, np.nan, 0.0]
    out = tmp_path / "t.parquet"
    with pytest.raises(SchemaError) as ei:
        write_tracks(df, out)
    assert "t.parquet" in str(ei.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name,fmt,expected",
    [
        ("vid_fish3.npz", "trex_npz", "vid"),
        ("a_b_id12.npz", "trex_npz", "a_b"),
        ("vid.npz", "trex_npz", "vid"),
        ("raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5", "dlc", "raw_clip1"),
        ("m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered.csv", "dlc", "m3v1mp4short"),
        ("predictions.analysis.h5", "sleap_h5", "predictions"),
        ("table.csv", "csv", "table"),
    ],
)
def test_sequence_names_from_file_names(name, fmt, expected):
    from mosaic.tracks.naming import sequence_name

    assert sequence_name(Path(name), fmt) == expected


def test_trex_mask_missing_off_keeps_interpolated_values(tmp_path):
    truth = write_trex(tmp_path, "v", {0: (0, 5)}, missing={0: [2]})
    f = tmp_path / "v_fish0.npz"
    d = dict(np.load(f))
    d["X#wcentroid"][2] = 7.0  # interpolated position while missing == 1
    np.savez(f, **d)
    df = conv("trex_npz", [f], {"mask_missing": False})[0].df
    assert df["X"].iloc[2] == 7.0 / 0.5 and bool(df["missing"].iloc[2])
    assert np.isnan(df["ANGLE"].iloc[2])  # still inf in the file → NaN
    assert np.isnan(conv("trex_npz", [f], {})[0].df["X"].iloc[2])
    assert truth[0]["missing"][2] == 1


def test_trex_compressed_npz_reads_like_stored(tmp_path):
    write_trex(tmp_path / "a", "v", {0: (0, 6), 1: (2, 8)}, missing={1: [4]})
    for f in (tmp_path / "a").glob("*.npz"):
        (tmp_path / "b").mkdir(exist_ok=True)
        np.savez_compressed(tmp_path / "b" / f.name, **dict(np.load(f)))
    a = conv("trex_npz", sorted((tmp_path / "a").glob("*.npz")), {})[0].df
    b = conv("trex_npz", sorted((tmp_path / "b").glob("*.npz")), {})[0].df
    pd.testing.assert_frame_equal(a, b)


def test_trex_npz_with_corrupt_member_data_is_named(tmp_path):
    write_trex(tmp_path, "v", {0: (0, 200)})
    f = tmp_path / "v_fish0.npz"
    raw = bytearray(f.read_bytes())
    i = raw.find(b"ANGLE.npy")
    raw[i + 200 : i + 260] = b"\xff" * 60  # clobber the member's header/data, keep the zip directory
    f.write_bytes(bytes(raw))
    try:
        df = conv("trex_npz", [f], {})[0].df  # a corrupt payload may still decode to numbers...
        assert len(df) == 201
    except TrackFormatError as exc:  # ...or be detected; either way no raw exception escapes
        assert "v_fish0.npz" in str(exc)


# ------------------------------------------------------------------ idtracker.ai
def test_idtracker_dict_values_and_bad_input(tmp_path):
    rng = np.random.default_rng(5)
    tr = rng.uniform(0, 100, (7, 3, 2))
    tr[2, 1] = np.nan
    np.save(
        tmp_path / "trajectories.npy",
        {"trajectories": tr, "frames_per_second": 28, "id_probabilities": rng.random((7, 3, 1))},
        allow_pickle=True,
    )
    t = conv("idtracker_npy", [tmp_path / "trajectories.npy"], {})[0]
    assert t.meta["fps"] == 28.0
    np.testing.assert_array_equal(t.df[t.df["id"] == 1]["Y"], tr[:, 1, 1])
    np.testing.assert_allclose(t.df["time"].iloc[-1], 6 / 28)
    np.save(tmp_path / "bad.npy", {"trajectories": np.zeros((7, 3))}, allow_pickle=True)
    (tmp_path / "corrupt.npy").write_bytes(b"\x93NUMPYxx")
    for name in ("bad.npy", "corrupt.npy"):
        with pytest.raises(TrackFormatError) as ei:
            conv("idtracker_npy", [tmp_path / name], {"fps": 30})
        assert name in str(ei.value)


class _MarkerPayload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("fmt", ["calms21_npy", "idtracker_npy"])
def test_pickled_code_in_npy_is_refused_and_not_run(tmp_path, fmt):
    from mosaic.core.errors import UnsafePickleError

    marker = tmp_path / "MARKER"
    if fmt == "calms21_npy":
        data = calms21_dict(n_seq=1, T=5)
        next(iter(data["annotator-id_0"].values()))["metadata"]["evil"] = _MarkerPayload(marker)
    else:
        data = {"trajectories": np.zeros((5, 2, 2)), "frames_per_second": _MarkerPayload(marker)}
    path = tmp_path / "f.npy"
    np.save(path, np.array(data, dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePickleError) as ei:
        conv(fmt, [path], {"fps": 30}, group="g", sequence="" if fmt == "calms21_npy" else "s")
    assert str(path) in str(ei.value)
    assert not marker.exists()


# ------------------------------------------------------------------ shared table builder
@pytest.mark.parametrize("drop_empty", [False, True])
def test_pose_table_centroid_pose_columns_and_empty_rows(drop_empty):
    from mosaic.tracks.table import pose_table

    coords = np.array(
        [
            [[1.0, 2.0], [3.0, np.nan]],  # x mean 2, y from the only finite y
            [[np.nan, np.nan], [np.nan, np.nan]],  # empty row
            [[np.inf, 4.0], [5.0, 6.0]],  # inf is missing
        ]
    )
    scores = np.array([[0.9, 0.8], [0.1, 0.2], [0.5, 0.4]])
    df = pose_table(
        np.array([0, 0, 1]),
        np.array([0, 1, 0]),
        coords,
        group="g",
        sequence="s",
        fps=10.0,
        scores=scores,
        extra={"note": np.array([7, 8, 9])},
        drop_empty=drop_empty,
    )
    keep = [0, 2] if drop_empty else [0, 1, 2]
    assert list(df.columns) == [
        "frame", "time", "id", "X", "Y", "group", "sequence", "note", "poseX0", "poseY0", "poseP0", "poseX1", "poseY1", "poseP1"
    ]  # fmt: skip
    np.testing.assert_allclose(df["X"], np.array([2.0, np.nan, 5.0])[keep])
    np.testing.assert_allclose(df["Y"], np.array([2.0, np.nan, 5.0])[keep])
    np.testing.assert_allclose(df["poseX0"], np.array([1.0, np.nan, np.nan])[keep])
    np.testing.assert_allclose(df["poseP1"], scores[keep, 1])
    np.testing.assert_allclose(df["time"], np.array([0.0, 0.0, 0.1])[keep])
    assert df["note"].tolist() == np.array([7, 8, 9])[keep].tolist()


@pytest.mark.parametrize(
    ("fmt", "name", "problem", "expected"),
    [
        ("sleap_h5", "a.h5", "not a readable SLEAP analysis HDF5 file", "HDF5 written by SLEAP 'Export Analysis HDF5'"),
        ("sleap_slp", "a.slp", "not a readable SLEAP .slp file", "HDF5 labels file written by SLEAP"),
    ],
)
def test_sleap_files_that_are_not_hdf5_are_named(tmp_path, fmt, name, problem, expected):
    p = tmp_path / name
    p.write_bytes(b"this is not HDF5\n" * 10)
    with pytest.raises(TrackFormatError) as ei:
        conv(fmt, [p], {"fps": 30})
    assert (ei.value.problem, ei.value.expected, ei.value.path) == (problem, expected, str(p))
    assert ei.value.found.startswith("OSError")
