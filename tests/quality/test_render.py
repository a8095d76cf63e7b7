"""Clips with the tracks drawn: codec, frame count, colours at the tracked positions, captions."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import MediaError
from mosaic.quality.plots import id_colors
from mosaic.quality.render import caption_per_frame, render_clip, writable_fourcc
from tests.media.videos import write_video


def _scene(tmp_path, T=40, size=(160, 120)):
    w, h = size
    video = write_video(tmp_path / "v.mp4", [np.full((h, w, 3), 128, np.uint8)] * T, fps=20.0)
    frames = np.repeat(np.arange(T), 2)
    ids = np.tile([0, 1], T)
    X = np.where(ids == 0, 20.0 + np.repeat(np.arange(T), 2) * 2, 120.0)
    Y = np.where(ids == 0, 30.0, 90.0)
    df = pd.DataFrame(
        {
            "frame": frames,
            "time": frames / 20.0,
            "id": ids,
            "X": X,
            "Y": Y,
            "group": "g",
            "sequence": "s",
            "interpolated": (ids == 1) & (frames >= 30),
        }
    )
    return video, df


def test_render_clip_draws_ids_in_their_colours(tmp_path):
    video, df = _scene(tmp_path)
    events = pd.DataFrame({"kind": ["jump", "swap"], "frame": [12, 15], "id": [0, 0], "other_id": [None, 1]})
    labels = pd.DataFrame({"frame": [10, 11], "id": [0, 0], "label": ["approach", "approach"]})
    out = render_clip(
        video, df, tmp_path / "clips" / "c.mp4", start_frame=5, end_frame=25, events=events, labels=labels
    )
    assert out["n_frames"] == 20 and out["fourcc"] == writable_fourcc()
    cap = cv2.VideoCapture(str(out["path"]))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    ok, img = cap.read()  # clip frame 0 = video frame 5
    cap.release()
    assert ok
    col0, col1 = (np.array([c[2], c[1], c[0]]) * 255 for c in id_colors(2)[:2])
    x0 = int(20 + 5 * 2)
    assert np.abs(img[30, x0].astype(float) - col0).max() < 60  # id 0's dot at its position, in its colour
    assert np.abs(img[90, 120].astype(float) - col1).max() < 60
    assert np.abs(img[60, 80].astype(float) - 128).max() < 20  # background untouched
    assert not list((tmp_path / "clips").glob(".*"))  # no temporary file left


def test_captions_from_tables_and_label_sets():
    frames = np.arange(10, 15)
    cap = caption_per_frame(frames, pd.DataFrame({"frame": [11, 11, 13], "id": [0, 1, 0], "label": ["a", "b", "a"]}))
    assert cap == ["", "0: a  1: b", "", "0: a", ""]
    ls = {
        "frames": np.array([12]),
        "labels": np.array([2]),
        "individual_ids": np.array([[0, 1]]),
        "label_ids": np.array([1, 2]),
        "label_names": np.array(["x", "contact"]),
    }
    assert caption_per_frame(frames, ls)[2] == "0>1: contact"
    assert caption_per_frame(frames, None) == [""] * 5


def test_render_errors(tmp_path):
    video, df = _scene(tmp_path)
    with pytest.raises(MediaError, match="cannot open"):
        render_clip(tmp_path / "missing.mp4", df, tmp_path / "x.mp4")
    with pytest.raises(MediaError, match="empty frame range"):
        render_clip(video, df, tmp_path / "x.mp4", start_frame=30, end_frame=10)
    with pytest.raises(MediaError, match="cannot write"):
        writable_fourcc(("zzzz",))
    assert not (tmp_path / "x.mp4").exists()


def test_facade_renders_a_demo_clip(tmp_path):
    from mosaic import Dataset
    from mosaic.demo import make_demo_dataset

    make_demo_dataset(tmp_path / "ds", size="tiny", seed=1, corruption=True)
    ds = Dataset.open(tmp_path / "ds")
    ds.index_tracks_raw(
        ds.get_root("tracks_raw") / "trex", src_format="trex_npz", patterns="*.npz", group_from="parent"
    )
    ds.convert_all_tracks()
    ds.index_media()
    out = ds.render_tracks_clip("group_0", "group_0_seq0", start_frame=100, end_frame=130)
    assert out["path"] == tmp_path / "ds" / "reporting" / "clips" / "group_0__group_0_seq0__100-130.mp4"
    assert out["n_frames"] == 30


def test_keypoints_and_skeleton_are_drawn(tmp_path):
    video, df = _scene(tmp_path, T=10)
    df["poseX0"], df["poseY0"] = df["X"], df["Y"] - 15.0  # a keypoint above the centre
    df["poseX1"], df["poseY1"] = df["X"], df["Y"] + 15.0  # and one below
    out = render_clip(video, df, tmp_path / "k.mp4", 0, 5, skeleton=[(0, 1)])
    cap = cv2.VideoCapture(str(out["path"]))
    ok, img = cap.read()
    cap.release()
    col0 = np.array([c * 255 for c in id_colors(2)[0][2::-1]])
    assert np.abs(img[15, 20].astype(float) - col0).max() < 60  # keypoint 0 of id 0 at (20, 15)
    assert np.abs(img[22, 20].astype(float) - col0).max() < 60  # on the skeleton line between the keypoints
