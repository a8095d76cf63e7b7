"""Pose-labelling projects (DeepLabCut, SLEAP) from a frame run, and labelled frames back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sleap_io as sio

from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.interop.labelling import (
    FRAME_MAP,
    read_dlc_labels,
    read_sleap_labels,
    run_frames,
    write_dlc_project,
    write_sleap_project,
)

from ..conftest import realdata_file
from ..media.videos import add_raw_sequences, write_numbered

BODYPARTS = ["snout", "ear_l", "tail"]


@pytest.fixture
def frame_run(dataset):
    """A uniform frame run over two recordings of 120 and 80 frames."""
    media = dataset.get_root("media_raw")
    write_numbered(media / "g1" / "rec_a.mp4", 120)
    write_numbered(media / "g2" / "rec_b.mp4", 80)
    add_raw_sequences(dataset, [("g1", "rec_a"), ("g2", "rec_b")])
    dataset.index_media()
    run_id = dataset.extract_frames(5, "uniform")
    return dataset, dataset.get_frame_manifests("uniform", run_id)


def test_dlc_project_layout_and_dlc_readers(frame_run, tmp_path: Path):
    ds, manifests = frame_run
    frames = run_frames(manifests)
    cfg = write_dlc_project(
        manifests,
        tmp_path / "proj",
        bodyparts=BODYPARTS,
        scorer="alice",
        individuals=["m1", "m2"],
        unique_bodyparts=["corner"],
    )
    proj = cfg.parent
    for (g, _s), sub in frames.groupby(["group", "sequence"]):
        folder = proj / "labeled-data" / Path(sub["video"].iloc[0]).stem
        pngs = sorted(p.name for p in folder.glob("img*.png"))
        width = len(str(int(sub["video_n_frames"].iloc[0]) - 1))
        assert pngs == sorted(f"img{k:0{width}d}.png" for k in sub["video_frame"])
        for png, k in zip(sub["png"], sub["video_frame"], strict=True):  # same bytes as the run's frame
            assert (folder / f"img{k:0{width}d}.png").read_bytes() == Path(png).read_bytes()
        # pandas with DeepLabCut's multi-index header reads the CSV; the H5 holds the same table
        # (an all-empty first data row reads as pandas' index-names row, so the empty CSV is checked cell by cell)
        h5 = pd.read_hdf(folder / "CollectedData_alice.h5", key="df_with_missing")
        assert list(h5.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
        assert h5.shape == (len(sub), (2 * 3 + 1) * 2) and h5.isna().all().all()
        assert set(h5.columns.get_level_values("individuals")) == {"m1", "m2", "single"}
        assert [t[0] for t in h5.index] == ["labeled-data"] * len(sub)
        raw = pd.read_csv(folder / "CollectedData_alice.csv", header=None, dtype=str, keep_default_na=False)
        assert raw.iloc[:4, 0].tolist() == ["scorer", "individuals", "bodyparts", "coords"]
        assert raw.iloc[4:, :3].to_numpy().tolist() == [list(t) for t in h5.index]
        assert (raw.iloc[4:, 3:] == "").all().all() and raw.shape == (4 + len(sub), 3 + h5.shape[1])
        assert raw.iloc[0, 3:].tolist() == ["alice"] * h5.shape[1]
        fmap = pd.read_csv(folder / FRAME_MAP, dtype={"group": str, "sequence": str})
        assert fmap["frame"].tolist() == sub["frame"].tolist() and set(fmap["group"]) == {g}
    # sleap-io's own DeepLabCut reader accepts the project
    one = next((proj / "labeled-data").iterdir())
    labels = sio.load_dlc(str(one / "CollectedData_alice.csv"))
    nodes = {n for sk in labels.skeletons for n in sk.node_names}
    assert nodes == set(BODYPARTS + ["corner"])


def _label_dlc(folder: Path, scorer: str, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Fill a CollectedData like an annotator: random points, some left unlabelled, one image untouched."""
    h5 = pd.read_hdf(folder / f"CollectedData_{scorer}.h5")
    vals = rng.uniform(0, 90, h5.shape)
    vals[rng.random(h5.shape) < 0.2] = np.nan
    vals[-1] = np.nan
    h5.loc[:, :] = vals
    h5.to_csv(folder / f"CollectedData_{scorer}.csv")
    return h5, vals


def test_dlc_labels_come_back(frame_run, tmp_path: Path):
    ds, manifests = frame_run
    cfg = write_dlc_project(manifests, tmp_path / "proj", bodyparts=BODYPARTS, scorer="bob", individuals=["m1", "m2"])
    rng = np.random.default_rng(0)
    frames = run_frames(manifests)
    for folder in sorted((cfg.parent / "labeled-data").iterdir()):
        table, vals = _label_dlc(folder, "bob", rng)
        fmap = pd.read_csv(folder / FRAME_MAP, dtype={"group": str, "sequence": str})
        # pandas with DeepLabCut's multi-index header reads the labelled CSV back exactly
        back = pd.read_csv(folder / "CollectedData_bob.csv", header=[0, 1, 2, 3], index_col=[0, 1, 2])
        np.testing.assert_array_equal(back.to_numpy(), vals)
        assert back.columns.tolist() == table.columns.tolist()
        for suffix in (".csv", ".h5"):
            if suffix == ".h5":
                table.to_hdf(folder / "CollectedData_bob.h5", key="df_with_missing", mode="w")
            out = read_dlc_labels(folder / f"CollectedData_bob{suffix}", fps=25.0)
            if suffix == ".csv":  # exporting again keeps the annotator's labels
                write_dlc_project(
                    manifests, tmp_path / "proj", bodyparts=BODYPARTS, scorer="bob", individuals=["m1", "m2"]
                )
                kept = pd.read_csv(folder / "CollectedData_bob.csv", header=[0, 1, 2, 3], index_col=[0, 1, 2])
                np.testing.assert_array_equal(kept.to_numpy(), vals)
            (((g, s), (df, meta)),) = out.items()
            assert (g, s) == (fmap["group"][0], fmap["sequence"][0])
            assert meta["keypoint_names"] == BODYPARTS and meta["individual_names"] == {0: "m1", 1: "m2"}
            # independent expectation: row r, individual i, bodypart k → columns (i*3 + k)*2 + {0, 1}
            want = []
            for r in range(len(vals)):
                for i in range(2):
                    xy = vals[r, i * 6 : (i + 1) * 6]
                    if np.isfinite(xy).any():
                        want.append((int(fmap["frame"][r]), i, *xy))
            want.sort(key=lambda w: (w[0], w[1]))
            got = df[["frame", "id", "poseX0", "poseY0", "poseX1", "poseY1", "poseX2", "poseY2"]].to_numpy()
            np.testing.assert_array_equal(got, np.array(want, dtype=np.float64))
            assert set(df["frame"]) <= set(frames["frame"])


@pytest.mark.realdata
def test_real_dlc_collected_data(realdata):
    path = realdata_file(realdata, "dlc", "dlc-testscript-multimouse", "CollectedData_dlc_team.csv")
    out = read_dlc_labels(path, recording=("g", "m3v1mp4short"))
    ((df, meta),) = out.values()
    raw = pd.read_csv(path, header=[0, 1, 2, 3], index_col=[0, 1, 2])
    assert meta["individual_names"] == {0: "individual1", 1: "individual2", 2: "individual3", 3: "single"}
    row = raw.loc[("labeled-data", "m3v1mp4short", "img26.png")]
    r = df[(df["frame"] == 26) & (df["id"] == 1)].iloc[0]
    assert r["poseX0"] == row[("dlc_team", "individual2", "bodypart1", "x")]
    assert r["poseY2"] == row[("dlc_team", "individual2", "bodypart3", "y")]
    single = df[(df["frame"] == 26) & (df["id"] == 3)].iloc[0]
    k = meta["keypoint_names"].index("corner2")
    assert single[f"poseX{k}"] == row[("dlc_team", "single", "corner2", "x")]


def test_sleap_project_suggestions_and_labels_back(frame_run, tmp_path: Path):
    ds, manifests = frame_run
    frames = run_frames(manifests)
    path = write_sleap_project(
        manifests,
        tmp_path / "label.slp",
        bodyparts=BODYPARTS,
        edges=[("snout", "ear_l")],
        resolve_video=ds.resolve_path,
    )
    labels = sio.load_slp(str(path), open_videos=False)  # sleap-io's own reader
    assert labels.skeletons[0].node_names == BODYPARTS
    assert [(e.source.name, e.destination.name) for e in labels.skeletons[0].edges] == [("snout", "ear_l")]
    got = sorted((Path(s.video.filename).name, s.frame_idx) for s in labels.suggestions)
    assert got == sorted(zip(frames["video"], frames["video_frame"], strict=True))
    assert not labels.labeled_frames
    # an annotator labels two suggestions (one with two tracked animals, one point invisible)
    tracks = [sio.Track("m1"), sio.Track("m2")]
    sk = labels.skeletons[0]
    s0, s1 = labels.suggestions[1], labels.suggestions[-1]
    p_a = np.array([[1.5, 2.5], [3.0, 4.0], [np.nan, np.nan]])
    p_b = np.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]])
    labels.tracks.extend(tracks)
    labels.append(
        sio.LabeledFrame(
            video=s0.video,
            frame_idx=s0.frame_idx,
            instances=[
                sio.Instance.from_numpy(p_a, skeleton=sk, track=tracks[0]),
                sio.Instance.from_numpy(p_b, skeleton=sk, track=tracks[1]),
            ],
        )
    )
    labels.append(
        sio.LabeledFrame(
            video=s1.video,
            frame_idx=s1.frame_idx,
            instances=[
                sio.PredictedInstance.from_numpy(
                    p_b, skeleton=sk, point_scores=np.ones(3)
                ),  # predictions are not labels
                sio.Instance.from_numpy(p_b + 1, skeleton=sk, track=tracks[1]),
            ],
        )
    )
    labelled = tmp_path / "labelled.slp"
    sio.save_slp(labels, str(labelled), verbose=False)
    out = read_sleap_labels(labelled, fps=25.0)
    vid0 = frames[(frames["video"] == Path(s0.video.filename).name) & (frames["video_frame"] == s0.frame_idx)].iloc[0]
    vid1 = frames[(frames["video"] == Path(s1.video.filename).name) & (frames["video_frame"] == s1.frame_idx)].iloc[0]
    df0, meta = out[(vid0["group"], vid0["sequence"])]
    assert meta["keypoint_names"] == BODYPARTS and meta["individual_names"] == {0: "m1", 1: "m2"}
    r = df0[df0["frame"] == vid0["frame"]]
    assert r["id"].tolist() == [0, 1]
    np.testing.assert_array_equal(
        r[["poseX0", "poseY0", "poseX1", "poseY1", "poseX2", "poseY2"]].to_numpy(),
        np.vstack([p_a.ravel(), p_b.ravel()]),
    )
    assert r["X"].iloc[0] == (1.5 + 3.0) / 2
    df1, _ = out[(vid1["group"], vid1["sequence"])]
    r1 = df1[df1["frame"] == vid1["frame"]]
    assert r1["id"].tolist() == [1] and r1["poseX2"].iloc[0] == 51.0


def test_sleap_project_falls_back_to_images(frame_run, tmp_path: Path):
    ds, manifests = frame_run
    path = write_sleap_project(manifests, tmp_path / "img.slp", bodyparts=BODYPARTS, use_images=True)
    labels = sio.load_slp(str(path), open_videos=False)
    assert len(labels.videos) == 2
    assert all(isinstance(v.filename, list) and v.filename[0].endswith(".png") for v in labels.videos)
    assert sorted(s.frame_idx for s in labels.suggestions if s.video is labels.videos[0]) == list(range(5))


def test_bad_inputs(frame_run, tmp_path: Path):
    ds, manifests = frame_run
    with pytest.raises(ConfigError, match="bodyparts"):
        write_dlc_project(manifests, tmp_path / "p", bodyparts=["a", "a"])
    with pytest.raises(ConfigError, match="multi-animal"):
        write_dlc_project(manifests, tmp_path / "p", bodyparts=["a"], unique_bodyparts=["b"])
    with pytest.raises(ConfigError, match="no frames"):
        run_frames([])
    with pytest.raises(ConfigError, match="edges"):
        write_sleap_project(manifests, tmp_path / "x.slp", bodyparts=["a", "b"], edges=[("a", "c")])
    with pytest.raises(ConfigError, match=".slp"):
        write_sleap_project(manifests, tmp_path / "x.h5", bodyparts=["a"])
    write_sleap_project(manifests, tmp_path / "y.slp", bodyparts=["a"])
    with pytest.raises(ConfigError, match="exists"):
        write_sleap_project(manifests, tmp_path / "y.slp", bodyparts=["a"])
    write_sleap_project(manifests, tmp_path / "y.slp", bodyparts=["a", "b"], overwrite=True)
    assert sio.load_slp(str(tmp_path / "y.slp"), open_videos=False).skeletons[0].node_names == ["a", "b"]
    bad = tmp_path / "CollectedData_x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(LabelFormatError, match="CollectedData"):
        read_dlc_labels(bad)
    cfg = write_dlc_project(manifests, tmp_path / "p2", bodyparts=["a"])
    folder = next((cfg.parent / "labeled-data").iterdir())
    single = pd.read_hdf(folder / "CollectedData_mosaic.h5")  # single animal: 3 header levels
    assert list(single.columns.names) == ["scorer", "bodyparts", "coords"] and single.columns.tolist() == [
        ("mosaic", "a", "x"),
        ("mosaic", "a", "y"),
    ]
    (folder / FRAME_MAP).unlink()
    with pytest.raises(LabelFormatError, match="which recording"):
        read_dlc_labels(folder / "CollectedData_mosaic.csv")
    notslp = tmp_path / "n.slp"
    notslp.write_text("x")
    with pytest.raises(LabelFormatError, match="SLEAP"):
        read_sleap_labels(notslp)
