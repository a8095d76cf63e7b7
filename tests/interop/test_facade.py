"""The interop facade methods over one dataset: tracks in from movement, out to every tool and back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mosaic import Dataset
from mosaic.core.errors import ConfigError, SequenceNotFoundError
from mosaic.interop.labelling import FRAME_MAP
from mosaic.interop.nwb import read_nwb_intervals, read_nwb_pose
from mosaic.labels import load_labels

from .conftest import RECS
from .helpers import NAMES, assert_same_tracks, synthetic_tracks


def test_tracks_in_from_movement_and_out_again(ds: Dataset):
    for g, s, seed in RECS:
        want = synthetic_tracks(seed=seed, group=g, sequence=s)
        got = ds.load_tracks(g, s)
        assert_same_tracks(got, want)
    m = ds.to_movement("g1", "rec a")
    assert isinstance(m, xr.Dataset) and list(m["individuals"].values) == [NAMES[i] for i in (2, 5, 9)]
    paths = ds.export_movement()
    assert [p.name for p in paths] == ["g1__rec%20a.nc", "g2__rec_b.nc"] and all(
        p.parent == ds.folder / "exports" / "movement" for p in paths
    )
    back = xr.load_dataset(paths[0])
    np.testing.assert_array_equal(back["position"].values, m["position"].values)
    assert ds.export_movement(groups="g2")[0].name == "g2__rec_b.nc"
    with pytest.raises(SequenceNotFoundError):
        ds.export_movement(groups="nope")


def test_nwb_with_labels(ds: Dataset):
    paths = ds.export_nwb()
    df, meta = read_nwb_pose(paths[0], group="g1", sequence="rec a")
    assert_same_tracks(df, synthetic_tracks(seed=0, group="g1", sequence="rec a"))
    ti = read_nwb_intervals(paths[0], "behavior_behavior")
    got = sorted(
        (round(a * 25), round(b * 25), c, int(d))
        for a, b, c, d in zip(ti["start_time"], ti["stop_time"], ti["behavior"], ti["subject_id"], strict=True)
    )
    assert got == [(10, 14, "groom", 2), (20, 22, "rear", 9), (30, 32, "other", 5)]


def test_boris_review_round_trip(ds: Dataset):
    path = ds.export_boris(kind="behavior", skip=["other"])
    assert path == ds.folder / "exports" / "boris" / "behavior.boris"
    import json

    obs = json.loads(path.read_text())["observations"]
    assert list(obs) == ["g1/rec a"] and obs["g1/rec a"]["file"]["1"] == ["../../media_raw/g1/rec a.mp4"]
    assert (path.parent / obs["g1/rec a"]["file"]["1"][0]).resolve() == (
        ds.get_root("media_raw") / "g1" / "rec a.mp4"
    ).resolve()
    ds.import_boris(path, kind="reviewed")
    got = load_labels(ds, "g1", "rec a", kind="reviewed")
    names = np.asarray(got["label_names"])[np.searchsorted(got["label_ids"], got["labels"])]
    assert sorted(
        zip(got["frames"].tolist(), got["individual_ids"][:, 0].tolist(), names.tolist(), strict=True)
    ) == sorted([(f, 2, "groom") for f in range(10, 14)] + [(20, 9, "rear"), (21, 9, "rear")])


def test_labelling_projects_and_labels_back(ds: Dataset):
    ds.extract_frames(4, "uniform")
    cfg = ds.export_labelling_project("dlc", ["snout", "tail"], scorer="ann")
    assert cfg.name == "config.yaml" and cfg.is_relative_to(ds.folder / "exports" / "dlc")
    folder = cfg.parent / "labeled-data" / "rec a"
    table = pd.read_hdf(folder / "CollectedData_ann.h5")
    table.iloc[0, :] = [1.0, 2.0, np.nan, np.nan]
    table.iloc[2, :] = [5.0, 6.0, 7.0, 8.0]
    table.to_csv(folder / "CollectedData_ann.csv")
    idx = ds.import_pose_labels(folder / "CollectedData_ann.csv")
    assert idx[["name", "group", "sequence"]].values.tolist() == [["dlc", "g1", "rec a"]]
    kp = ds.load_keypoint_labels("g1", "rec a")
    fmap = pd.read_csv(folder / FRAME_MAP)
    assert kp["frame"].tolist() == [fmap["frame"][0], fmap["frame"][2]]
    np.testing.assert_array_equal(
        kp[["poseX0", "poseY0", "poseX1", "poseY1"]].to_numpy(), [[1, 2, np.nan, np.nan], [5, 6, 7, 8]]
    )
    np.testing.assert_array_equal(kp["time"].to_numpy(), kp["frame"].to_numpy() / 25.0)
    assert kp.attrs["mosaic"]["keypoint_names"] == ["snout", "tail"]
    slp = ds.export_labelling_project("sleap", ["snout", "tail"])
    assert slp.suffix == ".slp" and slp.parent == ds.folder / "exports" / "sleap"
    with pytest.raises(ConfigError, match="tool"):
        ds.export_labelling_project("labelme", ["a"])
