"""movement poses dataset / netCDF ↔ mosaic tracks."""

from __future__ import annotations

from pathlib import Path

import movement.io.load_poses as movement_io  # the test extra installs movement: never skipped
import numpy as np
import pytest
import xarray as xr

from mosaic.core.errors import TrackFormatError
from mosaic.interop.movement import convert, from_movement, to_movement, write_movement_netcdf
from mosaic.tracks.converters import get_converter

from ..conftest import realdata_file
from .helpers import IDS, KEYPOINTS, NAMES, assert_same_tracks, synthetic_tracks


def test_layout_matches_independent_scatter():
    df = synthetic_tracks()
    ds = to_movement(df)
    assert ds["position"].dims == ("time", "space", "keypoints", "individuals")
    assert ds["confidence"].dims == ("time", "keypoints", "individuals")
    assert list(ds["keypoints"].values) == KEYPOINTS + ["centroid"]
    assert list(ds["individuals"].values) == [NAMES[i] for i in IDS]
    assert ds.attrs["fps"] == 25.0 and ds.attrs["time_unit"] == "seconds" and ds.attrs["ds_type"] == "poses"
    np.testing.assert_array_equal(ds["time"].values, np.arange(10, 50) / 25.0)
    # independent check: every row of the table lands in its (frame, keypoint, individual) cell
    for row in df.sample(30, random_state=1).itertuples():
        cell = ds["position"].sel(time=row.frame / 25.0, individuals=NAMES[row.id])
        for k, name in enumerate(KEYPOINTS):
            want = (getattr(row, f"poseX{k}"), getattr(row, f"poseY{k}"))
            np.testing.assert_array_equal(cell.sel(keypoints=name).values, want)
            np.testing.assert_array_equal(
                ds["confidence"].sel(time=row.frame / 25.0, individuals=NAMES[row.id], keypoints=name).values,
                getattr(row, f"poseP{k}"),
            )
        np.testing.assert_array_equal(cell.sel(keypoints="centroid").values, (row.X, row.Y))


def test_movement_validators_accept_what_mosaic_writes(tmp_path: Path):
    from movement.validators.datasets import ValidPosesInputs

    ds = to_movement(synthetic_tracks())
    ValidPosesInputs.validate(ds)
    # rebuilding through movement's own constructor gives the same arrays and coordinates
    ref = movement_io.from_numpy(
        ds["position"].values,
        ds["confidence"].values,
        individual_names=list(ds["individuals"].values),
        keypoint_names=list(ds["keypoints"].values),
        fps=25.0,
    )
    np.testing.assert_array_equal(ref["position"].values, ds["position"].values)
    assert list(ref["individuals"].values) == list(ds["individuals"].values)
    path = write_movement_netcdf(ds, tmp_path / "rec.nc")
    loaded = xr.load_dataset(path)
    ValidPosesInputs.validate(loaded)
    from movement.kinematics import compute_velocity

    vel = compute_velocity(loaded["position"])  # movement computes on it
    assert vel.shape == loaded["position"].shape


@pytest.mark.parametrize("with_scores", [True, False])
def test_round_trip_memory_and_netcdf(tmp_path: Path, with_scores: bool):
    df = synthetic_tracks(with_scores=with_scores)
    ds = to_movement(df)
    back, meta = from_movement(ds, group="cage 1", sequence="day/1")
    assert_same_tracks(back, df)
    assert [c for c in back.columns if c.startswith("pose")] == [c for c in df.columns if c.startswith("pose")]
    assert meta["individual_names"] == NAMES and meta["keypoint_names"] == KEYPOINTS
    path = write_movement_netcdf(ds, tmp_path / "rec.nc")
    (table,) = get_converter("movement_netcdf")([path], {}, group="cage 1", sequence="day/1")
    assert_same_tracks(table.df, df)
    assert table.meta["src_format"] == "movement_netcdf" and table.meta["fps"] == 25.0
    assert table.meta["individual_names"] == NAMES


def test_sparse_table_comes_back_dense_or_without_empty_rows():
    df = synthetic_tracks()
    gone = df.index[(df["frame"] == 12) & (df["id"] == 5)]
    sparse = df.drop(gone).reset_index(drop=True)
    back, _ = from_movement(to_movement(sparse, meta=df.attrs["mosaic"]), group="g", sequence="s", drop_empty_rows=True)
    allnan = (
        df.drop(gone)[["X", "Y"] + [c for c in df if c.startswith("poseX") or c.startswith("poseY")]].isna().all(axis=1)
    )
    assert_same_tracks(back, sparse[~allnan.to_numpy()].reset_index(drop=True))


def test_mosaic_reads_what_movement_writes(tmp_path: Path):
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 100, (20, 2, 4, 2))
    pos[5, :, 1, 0] = np.nan
    conf = rng.random((20, 4, 2))
    mds = movement_io.from_numpy(
        pos, conf, individual_names=["m1", "m2"], keypoint_names=["a", "b", "c", "d"], fps=30.0, source_software="SLEAP"
    )
    path = tmp_path / "from_movement.nc"
    mds.to_netcdf(path)
    (table,) = convert([path], {}, group="g", sequence="s")
    df = table.df
    assert len(df) == 40 and df["id"].tolist()[:2] == [0, 1]
    assert table.meta["individual_names"] == {0: "m1", 1: "m2"}
    np.testing.assert_array_equal(df["poseX1"].to_numpy().reshape(20, 2), pos[:, 0, 1, :])
    np.testing.assert_array_equal(df["poseP3"].to_numpy().reshape(20, 2), conf[:, 3, :])
    want_x = np.nanmean(pos[:, 0, :, :], axis=1)  # X = NaN-mean over keypoints
    np.testing.assert_allclose(df["X"].to_numpy().reshape(20, 2), want_x, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(df["frame"].to_numpy(), np.repeat(np.arange(20), 2))


@pytest.mark.realdata
def test_movement_loaded_dlc_file_matches_mosaic_dlc_converter(tmp_path: Path, realdata: Path):
    src = realdata_file(
        realdata, "dlc", "bsoid-openfield", "raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"
    )
    mds = movement_io.from_dlc_file(src, fps=30)
    path = tmp_path / "dlc.nc"
    mds.to_netcdf(path)
    (mine,) = convert([path], {}, group="g", sequence="s")
    (ref,) = get_converter("dlc")([src], {"fps": 30}, group="g", sequence="s")
    ref_df = ref.df.sort_values(["frame", "id"]).reset_index(drop=True)
    assert mine.meta["keypoint_names"] == ref.meta["keypoint_names"]
    assert_same_tracks(mine.df, ref_df, ["frame", "id"] + [c for c in ref_df if c.startswith("pose")])


def test_bad_inputs_raise_named_errors(tmp_path: Path):
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(TrackFormatError, match="netCDF"):
        convert([bad], {}, group="g", sequence="s")
    ds = to_movement(synthetic_tracks())
    with pytest.raises(TrackFormatError, match="2-D"):
        three = xr.concat([ds["position"], ds["position"].isel(space=[0])], dim="space").assign_coords(
            space=["x", "y", "z"]
        )
        from_movement(ds.drop_vars(["position", "space"]).assign(position=three), group="g", sequence="s")
    nofps = ds.copy()
    nofps.attrs = {k: v for k, v in ds.attrs.items() if k != "fps"}
    with pytest.raises(TrackFormatError, match="fps"):
        from_movement(nofps, group="g", sequence="s")
    back, _ = from_movement(nofps, group="g", sequence="s", fps=25.0)
    assert back["frame"].iloc[0] == 10
    with pytest.raises(TrackFormatError, match="poses"):
        from_movement(ds.rename({"keypoints": "parts"}), group="g", sequence="s")
    with pytest.raises(TrackFormatError, match="no rows"):
        to_movement(synthetic_tracks().iloc[:0])
