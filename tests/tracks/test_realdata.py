"""Every real file in ../shared/realdata of each supported format, values checked against the source arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import TrackFormatError
from mosaic.tracks import read_tracks, read_tracks_meta, validate_trex_v1, write_tracks
from mosaic.tracks.converters import get_converter
from tests.conftest import realdata_file

pytestmark = pytest.mark.realdata

TREX_NPZ = [f"test_fish{k}.npz" for k in range(8)]
TREX_CSV = [f"test_fish{k}.csv" for k in range(8)]
DLC_PREDICTIONS = [
    ("bsoid-openfield", "raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.csv"),
    ("bsoid-openfield", "raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"),
    ("dlc-testscript-3d", "vid1_camera-1DLC_resnet50_TESTNov4shuffle1_10.h5"),
    ("dlc-testscript-3d", "vid1_camera-1DLC_resnet50_TESTNov4shuffle1_10filtered.csv"),
    ("dlc-testscript-multimouse", "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el.h5"),
    ("dlc-testscript-multimouse", "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered.h5"),
    ("dlc-testscript-multimouse", "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered.csv"),
]
DLC_REJECTED = [
    ("dlc-testscript-3d", "vid1_DLC_3D.csv", "3D"),
    ("dlc-testscript-3d", "vid1_DLC_3D.h5", "3D"),
    ("dlc-openfield-labels", "CollectedData_Pranav.csv", "labelled-data"),
    ("dlc-openfield-labels", "CollectedData_Pranav.h5", "labelled-data"),
    ("dlc-testscript-multimouse", "CollectedData_dlc_team.csv", "labelled-data"),
    ("dlc-testscript-multimouse", "CollectedData_dlc_team.h5", "labelled-data"),
]
SLEAP = [
    ("sleap-docs-flies", "predictions.analysis.h5"),
    ("sleap-tests", "small_robot.000_small_robot_3_frame.analysis.h5"),
]


def _conv(fmt, paths, params):
    tables = get_converter(fmt)([Path(p) for p in paths], params, group="g", sequence="s")
    for t in tables:
        validate_trex_v1(t.df)
    return tables


def test_trex_2021_npz_all_files(realdata, tmp_path):
    paths = [realdata_file(realdata, "trex", "trex-2021-compare-raw", n) for n in TREX_NPZ]
    with pytest.raises(TrackFormatError) as ei:  # old TRex: no cm_per_pixel / frame_rate in the file
        _conv("trex_npz", paths, {"fps": 25})
    assert "cm_per_pixel" in str(ei.value) and "test_fish0.npz" in str(ei.value)
    cpp = 0.0213
    t = _conv("trex_npz", paths, {"fps": 25, "cm_per_pixel": cpp})[0]
    df = t.df
    n_inf_fish3 = None
    for k, p in enumerate(paths):
        src = np.load(p)
        sub = df[df["id"] == k]
        np.testing.assert_array_equal(sub["frame"].to_numpy(), src["frame"].astype(np.int64))
        xw = src["X#wcentroid"].astype(np.float64)
        bad = ~np.isfinite(xw) | (src["missing"] > 0)
        exp = np.where(bad, np.nan, xw / cpp)
        np.testing.assert_allclose(sub["X"].to_numpy(), exp, rtol=1e-12)
        assert np.array_equal(np.isnan(sub["X"].to_numpy()), bad)
        yw = src["Y#wcentroid"].astype(np.float64)
        np.testing.assert_allclose(sub["Y"].to_numpy(), np.where(bad, np.nan, yw / cpp), rtol=1e-12)
        np.testing.assert_allclose(sub["time"].to_numpy(), src["time"].astype(np.float64))
        np.testing.assert_array_equal(sub["missing"].to_numpy(), src["missing"] > 0)
        if k == 3:
            n_inf_fish3 = int(np.isinf(src["X#wcentroid"]).sum())
            assert int(sub["X"].isna().sum()) == n_inf_fish3
    assert n_inf_fish3 == 54
    assert t.meta["cm_per_pixel_source"] == "params"
    out = write_tracks(df, tmp_path / "t.parquet", t.meta)
    pd.testing.assert_frame_equal(read_tracks(out), df)
    assert read_tracks_meta(out)["cm_per_pixel"] == cpp


def test_trex_2026_csv_all_files(realdata):
    paths = [realdata_file(realdata, "trex", "trex-2026-compare-csv", n) for n in TREX_CSV]
    with pytest.raises(TrackFormatError) as ei:  # this export has X but no Y column
        _conv("trex_csv", paths, {"fps": 25, "settings_file": "auto"})
    assert "test_fish0.csv" in str(ei.value) and "position" in str(ei.value)
    t = _conv("trex_csv", paths, {"fps": 25, "settings_file": "auto", "require_xy": False})[0]
    assert t.meta["cm_per_pixel"] == 1.0 and t.meta["cm_per_pixel_source"] == "settings"
    for k, p in enumerate(paths):
        src = pd.read_csv(p)
        sub = t.df[t.df["id"] == k]
        np.testing.assert_array_equal(sub["frame"].to_numpy(), src["frame"].to_numpy())
        x = np.array(pd.to_numeric(src["X#wcentroid (cm)"], errors="coerce"), dtype=float)
        x[~np.isfinite(x)] = np.nan
        np.testing.assert_allclose(sub["X"].to_numpy(), x / 1.0)
        assert sub["Y"].isna().all()


@pytest.mark.parametrize("folder,name", SLEAP)
def test_sleap_analysis_h5(realdata, folder, name):
    import h5py

    p = realdata_file(realdata, "sleap", folder, name)
    t = _conv("sleap_h5", [p], {"fps": 30})[0]
    with h5py.File(p, "r") as f:
        tracks = np.transpose(f["tracks"][:])  # (frames, nodes, 2, tracks)
        nodes = [n.decode() for n in f["node_names"][:]]
        scores = np.transpose(f["point_scores"][:]) if "point_scores" in f else None
    T, K, _, J = tracks.shape
    df = t.df
    assert len(df) == T * J and t.meta["keypoint_names"] == nodes
    for j in range(J):
        sub = df[df["id"] == j]
        np.testing.assert_array_equal(sub["frame"].to_numpy(), np.arange(T))
        for k in range(K):
            np.testing.assert_array_equal(sub[f"poseX{k}"].to_numpy(), tracks[:, k, 0, j])
            np.testing.assert_array_equal(sub[f"poseY{k}"].to_numpy(), tracks[:, k, 1, j])
            if scores is not None:
                np.testing.assert_array_equal(sub[f"poseP{k}"].to_numpy(), scores[:, k, j])
        with np.errstate(all="ignore"):
            exp = np.nanmean(tracks[:, :, 0, j], axis=1)
        np.testing.assert_allclose(sub["X"].to_numpy(), exp)
    if folder == "sleap-tests":
        assert t.meta["tracked"] is False and t.meta["individual_names"] == {0: "instance0"}
    else:
        assert t.meta["individual_names"] == {0: "track_0", 1: "track_1"}


@pytest.mark.parametrize("folder,name", DLC_PREDICTIONS)
def test_dlc_predictions(realdata, folder, name):
    p = realdata_file(realdata, "dlc", folder, name)
    t = _conv("dlc", [p], {"fps": 30})[0]
    ref = pd.read_hdf(p.with_suffix(".h5")) if p.suffix == ".csv" and p.with_suffix(".h5").exists() else None
    if p.suffix == ".h5":
        ref = pd.read_hdf(p)
    if ref is None:  # CSV without a twin H5: read it with the 4/3-row header (first row is not empty here)
        nh = 4 if "multimouse" in folder else 3
        ref = pd.read_csv(p, header=list(range(nh)), index_col=0)
    df = t.df
    levels = list(ref.columns.names)
    multi = "individuals" in levels
    inds = (
        [i for i in dict.fromkeys(ref.columns.get_level_values("individuals")) if i != "single"]
        if multi
        else ["animal0"]
    )
    kps = t.meta["keypoint_names"]
    assert len(df) == len(ref) * len(inds)
    np.testing.assert_array_equal(df["frame"].unique(), ref.index.to_numpy().astype(np.int64))
    for i, ind in enumerate(inds):
        sub = df[df["id"] == i]
        cols = ref.droplevel("scorer", axis=1)
        if multi:
            cols = cols.xs(ind, level="individuals", axis=1)
        for bp in dict.fromkeys(cols.columns.get_level_values("bodyparts")):
            k = kps.index(bp)
            np.testing.assert_array_equal(sub[f"poseX{k}"].to_numpy(), cols[(bp, "x")].to_numpy())
            np.testing.assert_array_equal(sub[f"poseY{k}"].to_numpy(), cols[(bp, "y")].to_numpy())
            np.testing.assert_array_equal(sub[f"poseP{k}"].to_numpy(), cols[(bp, "likelihood")].to_numpy())
    if folder == "bsoid-openfield":
        assert "Butt/Proximal Tail" in kps and len(df) == 7200
        thr = _conv("dlc", [p], {"fps": 30, "likelihood_threshold": 0.9})[0].df
        low = thr["poseP0"].to_numpy() < 0.9
        assert low.any() and np.array_equal(np.isnan(thr["poseX0"].to_numpy()), low)
    if "multimouse" in folder:
        # unique body parts (DLC's pseudo-individual 'single') are scene landmarks, never an animal
        assert t.meta["individual_names"] == {0: "individual1", 1: "individual2", 2: "individual3"}
        assert set(df["id"]) == {0, 1, 2} and t.meta["landmark_names"] == ["corner1", "corner2"]
        assert t.meta["keypoint_names"] == ["bodypart1", "bodypart2", "bodypart3"]
        single = ref.droplevel("scorer", axis=1).xs("single", level="individuals", axis=1)
        for k, bp in enumerate(t.meta["landmark_names"]):
            for i in range(3):  # the same scene values on every animal's row of the frame
                sub = df[df["id"] == i]
                np.testing.assert_array_equal(sub[f"landmarkX{k}"].to_numpy(), single[(bp, "x")].to_numpy())
                np.testing.assert_array_equal(sub[f"landmarkY{k}"].to_numpy(), single[(bp, "y")].to_numpy())
                np.testing.assert_array_equal(sub[f"landmarkP{k}"].to_numpy(), single[(bp, "likelihood")].to_numpy())


def test_dlc_csv_equals_h5_twin(realdata):
    base = "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered"
    c = realdata_file(realdata, "dlc", "dlc-testscript-multimouse", base + ".csv")
    h = realdata_file(realdata, "dlc", "dlc-testscript-multimouse", base + ".h5")
    a, b = _conv("dlc", [c], {"fps": 30})[0].df, _conv("dlc", [h], {"fps": 30})[0].df
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)


@pytest.mark.parametrize("folder,name,why", DLC_REJECTED)
def test_dlc_non_prediction_files_rejected(realdata, folder, name, why):
    p = realdata_file(realdata, "dlc", folder, name)
    with pytest.raises(TrackFormatError) as ei:
        _conv("dlc", [p], {"fps": 30})
    assert name in str(ei.value) and why in str(ei.value)
    if why == "labelled-data":  # the hint names a step that exists
        assert "exclude_patterns=['CollectedData_*']" in str(ei.value) and "analyze_videos" in str(ei.value)


def test_dlc_labelled_data_hint_is_a_real_next_step(realdata, dataset):
    """Following the hint (exclude_patterns) indexes and converts the predictions beside the labelled data."""
    import shutil

    folder = dataset.folder / "tracks_raw" / "dlc" / "g"
    folder.mkdir(parents=True)
    for name in ("CollectedData_dlc_team.h5", "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered.h5"):
        shutil.copy(realdata_file(realdata, "dlc", "dlc-testscript-multimouse", name), folder / name)
    dataset.index_tracks_raw("tracks_raw/dlc", src_format="dlc", exclude_patterns=["CollectedData_*"])
    report = dataset.convert_all_tracks(params={"fps": 30})
    assert len(report["converted"]) == 1 and "m3v1mp4short" in report["converted"][0] and report["failed"] == {}


def test_dlc_3d_h5_frame0_kept_by_reader(realdata):
    """The 3D CSV's empty frame 0 would be swallowed by read_csv(header=[0,1,2]); our reader keeps 12 rows."""
    from mosaic.tracks.converters.dlc import read_dlc

    p = realdata_file(realdata, "dlc", "dlc-testscript-3d", "vid1_DLC_3D.csv")
    cols, index, values, levels = read_dlc(p)
    assert len(index) == 12 and int(index[0]) == 0 and np.isnan(values[0]).all()


def test_lightning_pose_labels_rejected_as_labels(realdata):
    """Lightning Pose uses the DLC layout; its CollectedData.csv holds labels (image index), not predictions."""
    p = realdata_file(realdata, "lightning-pose", "lp-mirror-mouse", "CollectedData.csv")
    with pytest.raises(TrackFormatError) as ei:
        _conv("dlc", [p], {"fps": 250})
    assert "CollectedData.csv" in str(ei.value) and "labelled-data" in str(ei.value)


def test_real_dlc_folder_through_the_dataset(realdata, dataset):
    """Index the real DLC folder; labels excluded, 3D files and the csv/h5 twins are reported, the rest converted."""
    import json
    import shutil

    from mosaic.core.errors import BatchError

    src = realdata_file(realdata, "dlc")
    shutil.copytree(src, dataset.folder / "tracks_raw" / "dlc")
    dataset.index_tracks_raw("tracks_raw/dlc", src_format="dlc", exclude_patterns=["CollectedData_*"])
    with pytest.warns(UserWarning, match="failed to convert"):
        report = dataset.convert_all_tracks(params={"fps": 30}, on_error="skip")
    failed = " ".join(report["failed"].values())
    assert "vid1_DLC_3D" in failed and "3D" in failed
    assert "same recording" in failed  # e.g. raw_clip1 from both .csv and .h5
    pairs = dataset.list_pairs()
    assert ("bsoid-openfield", "raw_clip1") in pairs and ("dlc-testscript-multimouse", "m3v1mp4short") in pairs
    rep = json.loads((dataset.folder / "tracks" / "conversion_report.json").read_text())
    assert rep["failed"] == report["failed"]
    with pytest.raises(BatchError):
        dataset.convert_all_tracks(params={"fps": 30})


IDTRACKER = [
    "test_trajectories.npy",
    "test_trajectories_idtrackerai.npy",
    "test_trajectories_idtrackerai_with_border.npy",
    "trajectories_with_points.npy",
]


@pytest.mark.parametrize("name", IDTRACKER)
def test_idtracker_trajectories(realdata, name):
    p = realdata_file(realdata, "idtrackerai", "trajectorytools", name)
    obj = np.load(p, allow_pickle=True)
    info = obj.item() if obj.dtype == object else {"trajectories": obj}
    tr = info["trajectories"]
    if "frames_per_second" not in info:
        with pytest.raises(TrackFormatError) as ei:
            _conv("idtracker_npy", [p], {})
        assert name in str(ei.value) and "fps" in str(ei.value)
    t = _conv("idtracker_npy", [p], {"fps": 30})[0]
    assert t.meta["fps"] == float(info.get("frames_per_second", 30))
    T, n, _ = tr.shape
    for j in (0, n - 1):
        sub = t.df[t.df["id"] == j]
        np.testing.assert_array_equal(sub["X"].to_numpy(), tr[:, j, 0])
        np.testing.assert_array_equal(sub["Y"].to_numpy(), tr[:, j, 1])
        np.testing.assert_array_equal(sub["frame"].to_numpy(), np.arange(T))
        if "id_probabilities" in info:
            np.testing.assert_array_equal(sub["id_probability"].to_numpy(), info["id_probabilities"][:, j, 0])
