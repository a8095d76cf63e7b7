"""NWB + ndx-pose ↔ mosaic tracks; labels as time intervals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import ndx_pose
import numpy as np
import pynwb
import pytest

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.interop.nwb import read_nwb_intervals, read_nwb_pose, write_nwb
from mosaic.tracks.converters import get_converter

from .helpers import IDS, KEYPOINTS, NAMES, assert_same_tracks, synthetic_tracks


@pytest.mark.parametrize("with_scores", [True, False])
def test_round_trip(tmp_path: Path, with_scores: bool):
    df = synthetic_tracks(with_scores=with_scores)
    path = write_nwb(df, tmp_path / "rec.nwb")
    (table,) = get_converter("nwb_pose")([path], {}, group="cage 1", sequence="day/1")
    assert_same_tracks(table.df, df)
    assert [c for c in table.df if c.startswith("pose")] == [c for c in df if c.startswith("pose")]
    assert table.meta["individual_names"] == NAMES and table.meta["keypoint_names"] == KEYPOINTS
    assert table.meta["fps"] == 25.0 and table.meta["src_format"] == "nwb_pose"


def test_pynwb_and_ndx_pose_read_the_file(tmp_path: Path):
    df = synthetic_tracks()
    path = write_nwb(df, tmp_path / "rec.nwb", video="videos/rec.mp4")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        beh = nwb.processing["behavior"]
        assert set(beh.data_interfaces) == {"Skeletons", "alice", "bob", "carol"}
        for i in IDS:
            pe = beh[NAMES[i]]
            assert isinstance(pe, ndx_pose.PoseEstimation) and list(pe.source_video.external_file[()]) == [
                "videos/rec.mp4"
            ]
            assert list(pe.skeleton.nodes[()]) == KEYPOINTS + ["centroid"]
            assert json.loads(pe.description)["mosaic_id"] == int(i)
            rows = df[df["id"] == i].set_index("frame")
            for k, name in enumerate(KEYPOINTS):
                s = pe.pose_estimation_series[name]
                assert s.unit == "pixels" and s.rate == 25.0 and s.starting_time == 10 / 25.0
                np.testing.assert_array_equal(s.data[()], rows[[f"poseX{k}", f"poseY{k}"]].to_numpy())
                np.testing.assert_array_equal(s.confidence[()], rows[f"poseP{k}"].to_numpy())
            np.testing.assert_array_equal(pe.pose_estimation_series["centroid"].data[()], rows[["X", "Y"]].to_numpy())


def test_movement_reads_the_file(tmp_path: Path):
    from movement.io import load_poses

    df = synthetic_tracks()
    path = write_nwb(df, tmp_path / "rec.nwb")
    m = load_poses.from_nwb_file(path, pose_estimation_key="bob")
    rows = df[df["id"] == 5]
    np.testing.assert_array_equal(
        m["position"].sel(keypoints="snout", individuals=m["individuals"].values[0]).values,
        rows[["poseX0", "poseY0"]].to_numpy(),
    )


def test_labels_as_intervals(tmp_path: Path):
    df = synthetic_tracks()
    frames = np.array([10, 11, 12, 20, 10, 11], np.int32)
    labels = {
        "frames": frames,
        "labels": np.array([1, 1, 1, 0, 0, 0], np.int32),
        "individual_ids": np.array([[2, -1]] * 4 + [[5, 9], [5, 9]], np.int32),
        "label_ids": np.array([0, 1], np.int32),
        "label_names": np.array(["chase", "rear"]),
    }
    path = write_nwb(df, tmp_path / "rec.nwb", labels={"behavior": labels})
    ti = read_nwb_intervals(path, "behavior_behavior")
    got = sorted(
        zip(
            ti["start_time"] * 25, ti["stop_time"] * 25, ti["behavior"], ti["subject_id"], ti["partner_id"], strict=True
        )
    )
    got = [(round(a), round(b), c, int(d), int(e)) for a, b, c, d, e in got]
    assert got == [(10, 12, "chase", 5, 9), (10, 13, "rear", 2, -1), (20, 21, "chase", 2, -1)]
    assert set(ti["subject"]) == {"alice", "bob"}
    with pytest.raises(TrackFormatError, match="interval"):
        read_nwb_intervals(path, "nope")


def test_foreign_file_with_timestamps(tmp_path: Path):
    """A file written with ndx-pose directly: timestamps, no mosaic description, no confidence."""
    nwb = pynwb.NWBFile(
        session_description="s", identifier="x", session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    )
    mod = nwb.create_processing_module("behavior", "b")
    skel = ndx_pose.Skeleton(name="sk", nodes=["nose", "tail"], edges=np.array([[0, 1]], dtype=np.uint8))
    rng = np.random.default_rng(1)
    t = np.arange(5, 25) / 50.0
    data = {n: rng.uniform(0, 10, (20, 2)) for n in ("nose", "tail")}
    data["tail"][3] = np.nan
    series = [
        ndx_pose.PoseEstimationSeries(name=n, data=data[n], unit="px", reference_frame="top-left", timestamps=t)
        for n in ("nose", "tail")
    ]
    mod.add(ndx_pose.Skeletons(skeletons=[skel]))
    mod.add(
        ndx_pose.PoseEstimation(
            name="mouse", pose_estimation_series=series, skeleton=skel, description="from a tracker"
        )
    )
    path = tmp_path / "foreign.nwb"
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    df, meta = read_nwb_pose(path, group="g", sequence="s")
    assert (
        meta["fps"] == pytest.approx(50.0)
        and meta["keypoint_names"] == ["nose", "tail"]
        and meta["individual_names"] == {0: "mouse"}
    )
    assert df["frame"].tolist() == list(range(5, 25)) and (df["id"] == 0).all()
    np.testing.assert_array_equal(df[["poseX1", "poseY1"]].to_numpy(), data["tail"])
    np.testing.assert_allclose(
        df["X"].to_numpy(), np.nanmean([data["nose"][:, 0], data["tail"][:, 0]], axis=0), rtol=0, atol=1e-12
    )
    assert "poseP0" not in df


def test_bad_inputs(tmp_path: Path):
    bad = tmp_path / "bad.nwb"
    bad.write_text("no")
    with pytest.raises(TrackFormatError, match="NWB"):
        read_nwb_pose(bad, group="g", sequence="s")
    empty = tmp_path / "empty.nwb"
    with pynwb.NWBHDF5IO(str(empty), "w") as io:
        io.write(
            pynwb.NWBFile(
                session_description="s",
                identifier="x",
                session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
            )
        )
    with pytest.raises(TrackFormatError, match="PoseEstimation"):
        read_nwb_pose(empty, group="g", sequence="s")
    df = synthetic_tracks()
    df.attrs["mosaic"] = {**df.attrs["mosaic"], "fps": None}
    with pytest.raises(ConfigError, match="fps"):
        write_nwb(df, tmp_path / "x.nwb")
    assert not (tmp_path / "x.nwb").exists()


@pytest.mark.parametrize("fmt", ["nwb_pose", "movement_netcdf"])
def test_pose_converters_take_cm_per_pixel_from_params(tmp_path: Path, fmt: str):
    from mosaic.interop.movement import to_movement, write_movement_netcdf

    df = synthetic_tracks()
    if fmt == "nwb_pose":
        path = write_nwb(df, tmp_path / "rec.nwb")
    else:
        path = write_movement_netcdf(to_movement(df), tmp_path / "rec.nc")
    (plain,) = get_converter(fmt)([path], {}, group="g", sequence="s")
    assert (plain.meta["cm_per_pixel"], plain.meta["cm_per_pixel_source"]) == (None, "missing")
    assert plain.meta["fps"] == 25.0 and plain.meta["fps_source"] == "file"
    assert plain.meta["source_files"] == [path.name]
    (cal,) = get_converter(fmt)([path], {"cm_per_pixel": 0.5}, group="g", sequence="s")
    assert (cal.meta["cm_per_pixel"], cal.meta["cm_per_pixel_source"]) == (0.5, "params")
    assert cal.meta["keypoint_names"] == KEYPOINTS and cal.meta["src_format"] == fmt
