"""SLEAP ``.slp`` (``sleap_slp``) and analysis CSV (``sleap_csv``) converters.

Synthetic files are written here with h5py from a small per-instance description, so the
expected values are worked out by hand; real files are checked against independent reads
(per-instance Python loops over the raw records, and the matching analysis HDF5).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.tracks import list_converters, validate_trex_v1
from mosaic.tracks.converters import DEFAULT_PATTERNS, get_converter
from tests.conftest import realdata_file

NAN = math.nan
FRAME_DT = np.dtype(
    [
        ("frame_id", "<u8"),
        ("video", "<u4"),
        ("frame_idx", "<u8"),
        ("instance_id_start", "<u8"),
        ("instance_id_end", "<u8"),
    ]
)
INST_DT = np.dtype(
    [
        ("instance_id", "<i8"),
        ("instance_type", "u1"),
        ("frame_id", "<u8"),
        ("skeleton", "<u4"),
        ("track", "<i4"),
        ("from_predicted", "<i8"),
        ("score", "<f4"),
        ("point_id_start", "<u8"),
        ("point_id_end", "<u8"),
        ("tracking_score", "<f4"),
    ]
)
POINT_DT = np.dtype([("x", "<f8"), ("y", "<f8"), ("visible", "?"), ("complete", "?")])
PRED_DT = np.dtype([("x", "<f8"), ("y", "<f8"), ("visible", "?"), ("complete", "?"), ("score", "<f8")])

# global node list "tail, head, mid"; the skeleton orders them head, mid, tail
GLOBAL_NODES = ["tail", "head", "mid"]
SKELETON = {
    "directed": True,
    "graph": {"name": "Skeleton-0", "num_edges_inserted": 3},
    "multigraph": True,
    "links": [
        {
            "edge_insert_idx": 0,
            "key": 0,
            "source": 1,
            "target": 2,
            "type": {"py/reduce": [{"py/type": "sleap.skeleton.EdgeType"}, {"py/tuple": [1]}]},
        },
        {
            "edge_insert_idx": 1,
            "key": 0,
            "source": 1,
            "target": 0,
            "type": {"py/reduce": [{"py/type": "sleap.skeleton.EdgeType"}, {"py/tuple": [2]}]},
        },  # symmetry, not an edge
        {"edge_insert_idx": 2, "key": 0, "source": 2, "target": 0, "type": {"py/id": 1}},  # body edge by reference
    ],
    "nodes": [{"id": 1}, {"id": 2}, {"id": 0}],
}


def write_slp(
    path: Path,
    frames: list[tuple[int, int, list[dict]]],
    *,
    tracks=("A", "B"),
    videos=("cam/vid1.mp4",),
    format_id: float = 1.2,
    skeletons=(SKELETON,),
    nodes=GLOBAL_NODES,
    tweak=None,
) -> Path:
    """Write a small .slp: ``frames`` = [(video, frame_idx, [instance dict, ...])].

    An instance dict has ``pts`` = [(x, y, visible[, score]), ...], ``user`` (bool), ``track``
    (-1 none), ``score``, ``from_predicted`` (instance_id or -1), ``skeleton``.
    """
    fr, inst, pts, pred = [], [], [], []
    for fid, (video, fidx, instances) in enumerate(frames):
        start = len(inst)
        for d in instances:
            user = d.get("user", False)
            table = pts if user else pred
            p0 = len(table)
            for p in d["pts"]:
                table.append((p[0], p[1], p[2], False) if user else (p[0], p[1], p[2], False, p[3]))
            inst.append(
                (
                    len(inst),
                    0 if user else 1,
                    fid,
                    d.get("skeleton", 0),
                    d.get("track", -1),
                    d.get("from_predicted", -1),
                    d.get("score", 0.0),
                    p0,
                    len(table),
                    d.get("tracking_score", 0.0),
                )
            )
        fr.append((fid, video, fidx, start, len(inst)))
    arrays = {
        "frames": np.array(fr, dtype=FRAME_DT),
        "instances": np.array(inst, dtype=INST_DT),
        "points": np.array(pts, dtype=POINT_DT),
        "pred_points": np.array(pred, dtype=PRED_DT),
    }
    meta = {
        "version": "2.0.0",
        "skeletons": list(skeletons),
        "nodes": [{"name": n, "weight": 1.0} for n in nodes],
        "videos": [],
        "tracks": [],
        "suggestions": [],
        "negative_anchors": {},
        "provenance": {},
    }
    if tweak:
        tweak(arrays, meta)
    with h5py.File(path, "w") as f:
        g = f.create_group("metadata")
        g.attrs["format_id"] = format_id
        g.attrs["json"] = np.bytes_(json.dumps(meta))
        for k, v in arrays.items():
            if v is not None:
                f.create_dataset(k, data=v)
        f.create_dataset(
            "tracks_json",
            data=np.array([json.dumps([0, t]).encode() for t in tracks], dtype="S") if tracks else np.zeros(0),
        )
        f.create_dataset(
            "videos_json", data=np.array([json.dumps({"backend": {"filename": v}}).encode() for v in videos], dtype="S")
        )
    return path


def P(x, y, s=1.0, vis=True):
    return (x, y, vis, s)


def mixed_frames(video: int = 0) -> list:
    """Frame 10: predicted+user of track A (user made from it), predicted B; frame 11 empty; frame 12: 2 untracked + B."""
    return [
        (
            video,
            10,
            [
                {"track": 0, "score": 0.9, "pts": [P(1, 2, 0.5), P(3, 4, 0.6), P(5, 6, 0.7)]},
                {"user": True, "track": 0, "from_predicted": 0, "pts": [P(10, 20), P(30, 40), P(50, 60, vis=False)]},
                {"track": 1, "score": 0.8, "pts": [P(100, 200, 0.1), P(7, 7, 0.2, vis=False), P(300, 400, 0.3)]},
            ],
        ),
        (video, 11, []),
        (
            video,
            12,
            [
                {"score": 0.5, "pts": [P(1, 1, 0.1), P(2, 2, 0.2), P(3, 3, 0.3)]},
                {"score": 0.4, "pts": [P(4, 4), P(5, 5), P(6, 6)]},
                {"track": 1, "score": 0.7, "tracking_score": 0.25, "pts": [P(7, 7), P(8, 8), P(9, 9)]},
            ],
        ),
    ]


def conv(fmt, path, params=None, group="g", sequence="s"):
    tables = get_converter(fmt)([Path(path)], {"fps": 10, **(params or {})}, group=group, sequence=sequence)
    for t in tables:
        validate_trex_v1(t.df)
    return tables


def rows(df):
    return list(zip(df["frame"].tolist(), df["id"].tolist()))


# --------------------------------------------------------------------------------------------- registry


def test_registered_with_patterns_and_names():
    from mosaic.tracks.naming import sequence_name

    assert {"sleap_slp", "sleap_csv"} <= set(list_converters())
    assert DEFAULT_PATTERNS["sleap_slp"] == ("*.slp",)
    assert sequence_name(Path("x/clip.predictions.slp"), "sleap_slp") == "clip"
    assert sequence_name(Path("x/a.b.analysis.csv"), "sleap_csv") == "a.b"
    assert sequence_name(Path("x/plain.slp"), "sleap_slp") == "plain"


# --------------------------------------------------------------------------------------------- synthetic .slp


def test_slp_mixed_user_predicted_untracked(tmp_path):
    path = write_slp(tmp_path / "m.slp", mixed_frames())
    [t] = conv("sleap_slp", path)
    df = t.df
    assert t.meta["keypoint_names"] == ["head", "mid", "tail"]
    assert t.meta["skeleton_edges"] == [["head", "mid"], ["mid", "tail"]]
    assert t.meta["individual_names"] == {0: "A", 1: "B", 2: "untracked0", 3: "untracked1"}
    assert t.meta["video_path"] == "cam/vid1.mp4" and t.meta["shadowed_dropped"] == 1
    assert rows(df) == [(10, 0), (10, 1), (12, 1), (12, 2), (12, 3)]
    assert np.allclose(df["time"], [1.0, 1.0, 1.2, 1.2, 1.2])
    # user instance of A wins over its prediction; its tail is invisible
    np.testing.assert_array_equal(df[["X", "Y"]].to_numpy(), [[20, 30], [200, 300], [8, 8], [2, 2], [5, 5]])
    np.testing.assert_array_equal(df["poseX2"].to_numpy(), [NAN, 300, 9, 3, 6])
    np.testing.assert_array_equal(df["poseY1"].to_numpy(), [40, NAN, 8, 2, 5])
    np.testing.assert_allclose(df["poseP0"].to_numpy(), [1.0, 0.1, 1.0, 0.1, 1.0])
    np.testing.assert_array_equal(df["poseP2"].isna().to_numpy(), [True, False, False, False, False])
    assert df["poseP1"].isna().tolist() == [False, True, False, False, False]
    assert df["user_instance"].tolist() == [True, False, False, False, False]
    np.testing.assert_allclose(df["instance_score"].to_numpy(), [NAN, 0.8, 0.7, 0.5, 0.4], equal_nan=True)
    np.testing.assert_allclose(df["tracking_score"].to_numpy()[2], 0.25)


def test_slp_prefer_predicted_and_instance_filters(tmp_path):
    path = write_slp(tmp_path / "m.slp", mixed_frames())
    df = conv("sleap_slp", path, {"prefer": "predicted"})[0].df
    assert rows(df) == [(10, 0), (10, 1), (12, 1), (12, 2), (12, 3)]
    assert df.loc[0, ["X", "Y"]].tolist() == [3.0, 4.0] and df.loc[0, "poseP2"] == pytest.approx(0.7)
    user = conv("sleap_slp", path, {"instances": "user"})[0].df
    assert rows(user) == [(10, 0)] and user.loc[0, "X"] == 20
    pred = conv("sleap_slp", path, {"instances": "predicted"})[0].df
    assert pred.loc[0, "X"] == 3 and len(pred) == 5
    drop = conv("sleap_slp", path, {"untracked": "drop"})[0]
    assert rows(drop.df) == [(10, 0), (10, 1), (12, 1)] and drop.meta["untracked_dropped"] == 2
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_slp", path, {"untracked": "error"})
    assert "m.slp" in str(ei.value) and "untracked" in str(ei.value)
    with pytest.raises(ConfigError):
        conv("sleap_slp", path, {"prefer": "both"})


def test_slp_user_matched_by_track_without_from_predicted(tmp_path):
    frames = [
        (
            0,
            3,
            [
                {"user": True, "track": 1, "pts": [P(0, 0), P(2, 2), P(4, 4)]},
                {"track": 1, "score": 0.9, "pts": [P(9, 9), P(9, 9), P(9, 9)]},
            ],
        )
    ]
    df = conv("sleap_slp", write_slp(tmp_path / "u.slp", frames))[0].df
    assert rows(df) == [(3, 1)] and df.loc[0, "X"] == 2


def test_slp_duplicates_best_or_error(tmp_path):
    frames = [
        (
            0,
            0,
            [
                {"track": 0, "score": 0.3, "pts": [P(1, 1), P(1, 1), P(1, 1)]},
                {"track": 0, "score": 0.9, "pts": [P(5, 5), P(5, 5), P(5, 5)]},
            ],
        )
    ]
    path = write_slp(tmp_path / "d.slp", frames)
    t = conv("sleap_slp", path)[0]
    assert rows(t.df) == [(0, 0)] and t.df.loc[0, "X"] == 5 and t.meta["duplicates_dropped"] == 1
    with pytest.raises(TrackFormatError, match="d.slp"):
        conv("sleap_slp", path, {"duplicates": "error"})


def test_slp_legacy_format_shifts_half_pixel(tmp_path):
    frames = [(0, 0, [{"track": 0, "score": 1.0, "pts": [P(1, 2), P(3, 4), P(5, 6)]}])]
    df = conv("sleap_slp", write_slp(tmp_path / "old.slp", frames, format_id=1.0))[0].df
    assert df.loc[0, ["poseX0", "poseY0", "X", "Y"]].tolist() == [0.5, 1.5, 2.5, 3.5]


def test_slp_one_individual_untracked_project(tmp_path):
    frames = [(0, k, [{"score": 1.0, "pts": [P(k, 0), P(k, 2), P(k, 4)]}]) for k in (0, 1, 5)]
    t = conv("sleap_slp", write_slp(tmp_path / "one.slp", frames, tracks=()))[0]
    assert rows(t.df) == [(0, 0), (1, 0), (5, 0)]
    assert t.meta["individual_names"] == {0: "untracked0"} and t.meta["tracked"] is False
    assert t.df["Y"].tolist() == [2.0, 2.0, 2.0]


def test_slp_multi_video(tmp_path):
    frames = [
        (0, 0, [{"track": 0, "score": 1, "pts": [P(1, 1)] * 3}]),
        (1, 0, [{"track": 1, "score": 1, "pts": [P(2, 2)] * 3}]),
        (1, 4, [{"track": 1, "score": 1, "pts": [P(3, 3)] * 3}]),
    ]
    path = write_slp(tmp_path / "mv.slp", frames, videos=("a/left.mp4", "b/right.mp4"))
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_slp", path)
    assert "mv.slp" in str(ei.value) and "video" in str(ei.value)
    [t] = conv("sleap_slp", path, {"video": 1})
    assert rows(t.df) == [(0, 1), (4, 1)] and t.meta["video_path"] == "b/right.mp4"
    both = conv("sleap_slp", path, sequence="")
    assert [(x.sequence, rows(x.df)) for x in both] == [("left", [(0, 0)]), ("right", [(0, 1), (4, 1)])]
    with pytest.raises(ConfigError):
        conv("sleap_slp", path, {"video": 2})


def test_slp_needs_fps_and_one_skeleton(tmp_path):
    path = write_slp(tmp_path / "m.slp", mixed_frames())
    with pytest.raises(TrackFormatError, match="fps"):
        get_converter("sleap_slp")([path], {}, group="g", sequence="s")
    skel2 = dict(SKELETON, nodes=[{"id": 0}, {"id": 1}])
    frames = [
        (
            0,
            0,
            [
                {"track": 0, "score": 1, "pts": [P(1, 1)] * 3},
                {"track": 1, "score": 1, "skeleton": 1, "pts": [P(2, 2), P(4, 4)]},
            ],
        )
    ]
    two = write_slp(tmp_path / "two.slp", frames, skeletons=(SKELETON, skel2))
    with pytest.raises(TrackFormatError, match="skeleton"):
        conv("sleap_slp", two)
    t = conv("sleap_slp", two, {"skeleton": 1})[0]
    assert t.meta["keypoint_names"] == ["tail", "head"] and rows(t.df) == [(0, 1)] and t.df.loc[0, "X"] == 3


def _bad_point_range(arrays, meta):
    arrays["instances"]["point_id_end"][1] += 1


def _points_beyond(arrays, meta):
    arrays["instances"]["point_id_start"][0] += 100
    arrays["instances"]["point_id_end"][0] += 100


def _frames_beyond(arrays, meta):
    arrays["frames"]["instance_id_end"][-1] = 99


def _frames_overlap(arrays, meta):
    arrays["frames"]["instance_id_start"][-1] = 1


def _no_pred_points(arrays, meta):
    arrays["pred_points"] = None


def _bad_track(arrays, meta):
    arrays["instances"]["track"][0] = 7


@pytest.mark.parametrize(
    "tweak, words",
    [
        (_bad_point_range, "point ranges"),
        (_points_beyond, "pred_points"),
        (_frames_beyond, "out of range"),
        (_frames_overlap, "overlapping"),
        (_no_pred_points, "pred_points"),
        (_bad_track, "track"),
    ],
)
def test_slp_inconsistent_files_rejected(tmp_path, tweak, words):
    path = write_slp(tmp_path / "bad.slp", mixed_frames(), tweak=tweak)
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_slp", path)
    assert "bad.slp" in str(ei.value) and words in str(ei.value)


def test_slp_not_hdf5_or_missing_datasets(tmp_path):
    txt = tmp_path / "text.slp"
    txt.write_text("hello")
    with pytest.raises(TrackFormatError, match="text.slp"):
        conv("sleap_slp", txt)
    with h5py.File(tmp_path / "noinst.slp", "w") as f:
        f.create_group("metadata").attrs["json"] = "{}"
        f.create_dataset("frames", data=np.zeros(0, dtype=FRAME_DT))
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_slp", tmp_path / "noinst.slp")
    assert "noinst.slp" in str(ei.value) and "instances" in str(ei.value)
    path = write_slp(tmp_path / "badjson.slp", mixed_frames())
    with h5py.File(path, "a") as f:
        f["metadata"].attrs["json"] = "{not json"
    with pytest.raises(TrackFormatError, match="badjson.slp"):
        conv("sleap_slp", path)
    empty = write_slp(tmp_path / "empty.slp", [(0, 0, [])])
    with pytest.raises(TrackFormatError, match="empty.slp"):
        conv("sleap_slp", empty)


def test_slp_through_index_and_convert(dataset, tmp_path):
    raw = dataset.folder / "tracks_raw" / "sleap" / "gX"
    raw.mkdir(parents=True)
    write_slp(raw / "clipA.predictions.slp", mixed_frames())
    dataset.index_tracks_raw("tracks_raw/sleap", src_format="sleap_slp", group_from="parent")
    dataset.convert_all_tracks(params={"fps": 10})
    df = dataset.load_tracks("gX", "clipA")
    assert rows(df) == [(10, 0), (10, 1), (12, 1), (12, 2), (12, 3)]


# --------------------------------------------------------------------------------------------- analysis CSV


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_synthetic_tracks_untracked_and_dotted_nodes(tmp_path):
    path = write_csv(
        tmp_path / "a.analysis.csv",
        [
            "track,frame_idx,instance.score,left.ear.x,left.ear.y,left.ear.score,tail.x,tail.y,tail.score",
            "male,0,0.9,1,2,0.5,3,4,0.6",
            "female,0,0.8,10,20,0.1,nan,nan,nan",
            ",0,nan,7,7,,9,9,",
            "male,2,0.7,5,5,1,7,7,1",
            "male,2,0.2,0,0,1,0,0,1",
            ",3,0.4,1,1,1,3,3,1",
            ",3,0.3,5,5,1,7,7,1",
        ],
    )
    t = conv("sleap_csv", path)[0]
    df = t.df
    assert t.meta["keypoint_names"] == ["left.ear", "tail"]
    assert t.meta["individual_names"] == {0: "male", 1: "female", 2: "untracked0", 3: "untracked1"}
    assert t.meta["duplicates_dropped"] == 1
    assert rows(df) == [(0, 0), (0, 1), (0, 2), (2, 0), (3, 2), (3, 3)]
    np.testing.assert_array_equal(df["X"].to_numpy(), [2, 10, 8, 6, 2, 6])
    np.testing.assert_array_equal(df["poseY1"].to_numpy(), [4, NAN, 9, 7, 3, 7])
    np.testing.assert_allclose(df["poseP0"].to_numpy(), [0.5, 0.1, NAN, 1, 1, 1], equal_nan=True)
    np.testing.assert_allclose(df["instance_score"].to_numpy(), [0.9, 0.8, NAN, 0.7, 0.4, 0.3], equal_nan=True)
    assert rows(conv("sleap_csv", path, {"untracked": "drop"})[0].df) == [(0, 0), (0, 1), (2, 0)]
    with pytest.raises(TrackFormatError, match="a.analysis.csv"):
        conv("sleap_csv", path, {"duplicates": "error"})
    with pytest.raises(TrackFormatError, match="a.analysis.csv"):
        conv("sleap_csv", path, {"untracked": "error"})


@pytest.mark.parametrize(
    "lines, words",
    [
        ([], "empty"),
        (["frame,x,y", "0,1,2"], "not a SLEAP analysis CSV"),
        (["track,frame_idx,instance.score,A.x,A.y,A.score"], "no rows"),
        (["track,frame_idx,instance.score,A.x,A.y,A.score", "t,0.5,1,1,1,1"], "whole numbers"),
        (["track,frame_idx,instance.score,A.x,A.y,A.score", "t,0,1,abc,1,1"], "not numeric"),
        (["track,frame_idx,instance.score,A.x,B.y", "t,0,1,1,1"], "without its y"),
    ],
)
def test_csv_bad_inputs(tmp_path, lines, words):
    path = tmp_path / "bad.analysis.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_csv", path)
    assert "bad.analysis.csv" in str(ei.value) and words in str(ei.value)


# --------------------------------------------------------------------------------------------- real files

REAL_SLP = {
    # file: (frames with instances, instances, track names or their count, node count)
    ("sleap-docs-flies", "predictions.slp"): (3000, 6000, ["track_0", "track_1"], 13),
    ("sleap-tests", "clip.predictions.slp"): (1500, 2948, ["female", "male"], 2),
    ("sleap-tests", "centered_pair_predictions.slp"): (1100, 2274, 27, 24),
}


def independent_rows(path: Path) -> dict[tuple[int, int], tuple[list, list, list]]:
    """{(frame_idx, track): (xs, ys, scores) in node-name order} by a plain loop over the raw records."""
    with h5py.File(path, "r") as f:
        meta = json.loads(f["metadata"].attrs["json"])
        frames, inst, pred = f["frames"][()], f["instances"][()], f["pred_points"][()]
    gnames = [n["name"] for n in meta["nodes"]]
    order = [gnames[n["id"]] for n in meta["skeletons"][0]["nodes"]]
    out = {}
    for fr in frames:
        for i in range(int(fr["instance_id_start"]), int(fr["instance_id_end"])):
            r = inst[i]
            assert r["instance_type"] == 1 and r["track"] >= 0  # these files: predicted + tracked only
            pts = pred[int(r["point_id_start"]) : int(r["point_id_end"])]
            by = {order[k]: p for k, p in enumerate(pts)}
            seen = {n: bool(by[n]["visible"]) and not (math.isnan(by[n]["x"]) or math.isnan(by[n]["y"])) for n in order}
            xs = [float(by[n]["x"]) if seen[n] else NAN for n in order]
            ys = [float(by[n]["y"]) if seen[n] else NAN for n in order]
            ss = [float(by[n]["score"]) if seen[n] else NAN for n in order]  # no point, no score
            out[(int(fr["frame_idx"]), int(r["track"]))] = (xs, ys, ss)
    return out


@pytest.mark.realdata
@pytest.mark.parametrize("parts", list(REAL_SLP), ids=[p[1] for p in REAL_SLP])
def test_real_slp_counts_and_values(realdata, parts):
    path = realdata_file(realdata, "sleap", *parts)
    n_frames, n_inst, tracks, n_nodes = REAL_SLP[parts]
    [t] = conv("sleap_slp", path, {"fps": 25})
    df = t.df
    assert df["frame"].nunique() == n_frames and len(df) == n_inst
    names = list(t.meta["individual_names"].values())
    assert (names == tracks) if isinstance(tracks, list) else (len(names) == tracks)
    assert len(t.meta["keypoint_names"]) == n_nodes and t.meta["tracked"] is True
    ref = independent_rows(path)
    assert set(ref) == set(rows(df))
    exp = np.array([ref[k][0] for k in rows(df)])
    got = df[[f"poseX{k}" for k in range(n_nodes)]].to_numpy()
    np.testing.assert_array_equal(got, exp)
    np.testing.assert_array_equal(
        df[[f"poseY{k}" for k in range(n_nodes)]].to_numpy(), np.array([ref[k][1] for k in rows(df)])
    )
    np.testing.assert_array_equal(
        df[[f"poseP{k}" for k in range(n_nodes)]].to_numpy(), np.array([ref[k][2] for k in rows(df)])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        np.testing.assert_allclose(df["X"].to_numpy(), np.nanmean(exp, axis=1))


def _pose_grid(df: pd.DataFrame, shape: tuple[int, ...]) -> np.ndarray:
    """The converter's pose columns laid out as sleap-io's ``Labels.numpy``: (frame, track, node, x/y/score)."""
    grid = np.full(shape, np.nan)
    f, i = df["frame"].to_numpy(), df["id"].to_numpy()
    for k in range(shape[2]):
        for c, col in enumerate(("poseX", "poseY", "poseP")):
            grid[f, i, k, c] = df[f"{col}{k}"].to_numpy()
    return grid


def _assert_same_pose(got: np.ndarray, ref: np.ndarray) -> None:
    """Positions equal with the same NaN pattern; scores equal where a point exists.

    mosaic's one deliberate difference: a point that is missing inside an instance has score NaN
    (no point, no score), where sleap-io reports the stored placeholder score.
    """
    np.testing.assert_array_equal(got[..., :2], ref[..., :2])
    present = ~np.isnan(ref[..., 0])
    # sleap-io hands scores out as float32; mosaic keeps the file's float64
    np.testing.assert_array_equal(got[..., 2][present].astype(ref.dtype), ref[..., 2][present])
    assert np.isnan(got[..., 2][~present]).all()


@pytest.mark.realdata
@pytest.mark.parametrize("parts", list(REAL_SLP), ids=[p[1] for p in REAL_SLP])
def test_real_slp_equals_sleap_io(realdata, parts):
    """sleap-io (SLEAP's own I/O library) is the oracle: same tracks, nodes, points, scores, NaN pattern."""
    import sleap_io

    path = realdata_file(realdata, "sleap", *parts)
    labels = sleap_io.load_slp(str(path))
    ref = labels.numpy(return_confidence=True)
    [t] = conv("sleap_slp", path, {"fps": 25})
    assert list(t.meta["individual_names"].values()) == [tr.name for tr in labels.tracks]
    assert list(t.meta["keypoint_names"]) == [n.name for n in labels.skeletons[0].nodes]
    assert t.df["frame"].max() < ref.shape[0] and t.df["id"].max() < ref.shape[1]
    _assert_same_pose(_pose_grid(t.df, ref.shape), ref)


def test_generated_slp_equals_sleap_io(tmp_path):
    frames = [
        (
            0,
            k,
            [
                {"track": 0, "score": 0.9, "pts": [P(k, 1, s=0.5), P(k + 1, 2, s=0.6), P(k + 2, 3, s=0.7)]},
                {
                    "track": 1,
                    "score": 0.8,
                    "pts": [P(10 + k, 1, s=0.1), P(NAN, NAN, s=0.2, vis=False), P(12 + k, 3, s=0.3)],
                },
            ],
        )
        for k in (0, 1, 4)
    ]
    path = write_slp(tmp_path / "gen.slp", frames)
    import sleap_io

    ref = sleap_io.load_slp(str(path)).numpy(return_confidence=True)
    df = conv("sleap_slp", path)[0].df
    _assert_same_pose(_pose_grid(df, ref.shape), ref)


@pytest.mark.parametrize("format_id", [0.5, 3.0, 7.1])
def test_slp_unknown_format_version_refused(tmp_path, format_id):
    frames = [(0, 0, [{"track": 0, "score": 1.0, "pts": [P(1, 2), P(3, 4), P(5, 6)]}])]
    path = write_slp(tmp_path / "future.slp", frames, format_id=format_id)
    with pytest.raises(TrackFormatError, match="format version") as e:
        conv("sleap_slp", path)
    assert str(path) in str(e.value) and f"{format_id:g}" in str(e.value)


@pytest.mark.realdata
def test_real_flies_slp_matches_analysis_h5(realdata):
    slp = realdata_file(realdata, "sleap", "sleap-docs-flies", "predictions.slp")
    h5 = realdata_file(realdata, "sleap", "sleap-docs-flies", "predictions.analysis.h5")
    [t] = conv("sleap_slp", slp, {"fps": 30})
    with h5py.File(h5, "r") as f:
        tracks = np.transpose(f["tracks"][()])  # (frames, nodes, 2, tracks)
        occ = f["track_occupancy"][()].astype(bool)  # (frames, tracks)
        node_names = [n.decode() for n in f["node_names"][()]]
        track_names = [n.decode() for n in f["track_names"][()]]
    assert list(t.meta["individual_names"].values()) == track_names
    df = t.df
    fr, ids = df["frame"].to_numpy(), df["id"].to_numpy()
    present = np.zeros_like(occ)
    present[fr, ids] = True
    np.testing.assert_array_equal(present, occ)
    for k, name in enumerate(t.meta["keypoint_names"]):  # map nodes by name, not by position
        a = node_names.index(name)
        np.testing.assert_array_equal(df[f"poseX{k}"].to_numpy(), tracks[fr, a, 0, ids])
        np.testing.assert_array_equal(df[f"poseY{k}"].to_numpy(), tracks[fr, a, 1, ids])


@pytest.mark.realdata
def test_real_analysis_csv(realdata, tmp_path):
    path = realdata_file(
        realdata, "sleap", "sleap-tests", "minimal_instance.000_centered_pair_low_quality.analysis.csv"
    )
    with open(path, newline="") as fh:
        recs = list(csv.DictReader(fh))
    [t] = conv("sleap_csv", path)
    df = t.df
    assert len(df) == len(recs) == 1
    assert t.meta["keypoint_names"] == ["A", "B"] and t.meta["individual_names"] == {0: "untracked0"}
    r = recs[0]
    assert df.loc[0, "frame"] == int(r["frame_idx"]) and df.loc[0, "id"] == 0
    for k, n in enumerate(["A", "B"]):
        assert df.loc[0, f"poseX{k}"] == float(r[f"{n}.x"]) and df.loc[0, f"poseY{k}"] == float(r[f"{n}.y"])
        assert math.isnan(df.loc[0, f"poseP{k}"])
    assert df.loc[0, "X"] == pytest.approx((float(r["A.x"]) + float(r["B.x"])) / 2)
    assert math.isnan(df.loc[0, "instance_score"])
    # a copy converts identically (nothing depends on the file name)
    copy = tmp_path / "x.analysis.csv"
    shutil.copy(path, copy)
    assert conv("sleap_csv", copy)[0].df.equals(df)


@pytest.mark.realdata
def test_real_clip_slp_same_as_analysis_convention(realdata):
    """clip.predictions.slp converts through the registry with default params and names ids female/male."""
    path = realdata_file(realdata, "sleap", "sleap-tests", "clip.predictions.slp")
    t = conv("sleap_slp", path, {"fps": 25})[0]
    per_id = pd.Series(t.df["id"]).value_counts().sort_index()
    assert per_id.sum() == 2948 and set(per_id.index) == {0, 1}
    assert t.meta["individual_names"] == {0: "female", 1: "male"} and t.meta["format_id"] == 1.2
    assert "tracking_score" in t.df.columns and t.meta["video_path"].endswith("clip.mp4")


def test_slp_inline_node_objects_and_bad_node_reference(tmp_path):
    inline = dict(
        SKELETON,
        nodes=[
            {"id": {"py/object": "sleap.skeleton.Node", "py/state": {"py/tuple": [n, 1.0]}}}
            for n in ("nose", "neck", "tail")
        ],
        links=[],
    )
    frames = [(0, 0, [{"track": 0, "score": 1, "pts": [P(1, 1), P(2, 2), P(6, 6)]}])]
    t = conv("sleap_slp", write_slp(tmp_path / "inline.slp", frames, skeletons=(inline,)))[0]
    assert t.meta["keypoint_names"] == ["nose", "neck", "tail"] and t.df.loc[0, "X"] == 3
    broken = dict(SKELETON, nodes=[{"id": 0}, {"id": 1}, {"id": 9}])
    with pytest.raises(TrackFormatError) as ei:
        conv("sleap_slp", write_slp(tmp_path / "broken.slp", frames, skeletons=(broken,)))
    assert "broken.slp" in str(ei.value) and "skeleton" in str(ei.value)


@pytest.mark.realdata
def test_real_flies_slp_and_analysis_h5_convert_alike(realdata):
    """The two converters give the same trex_v1 values for the same data (rows where the flies are present)."""
    slp = realdata_file(realdata, "sleap", "sleap-docs-flies", "predictions.slp")
    h5 = realdata_file(realdata, "sleap", "sleap-docs-flies", "predictions.analysis.h5")
    a = conv("sleap_slp", slp, {"fps": 30})[0]
    b = conv("sleap_h5", h5, {"fps": 30, "drop_empty_rows": True})[0]
    assert rows(a.df) == rows(b.df)
    np.testing.assert_array_equal(
        a.df[["frame", "time", "id", "X", "Y"]].to_numpy(), b.df[["frame", "time", "id", "X", "Y"]].to_numpy()
    )
    for k, name in enumerate(a.meta["keypoint_names"]):
        j = b.meta["keypoint_names"].index(name)
        np.testing.assert_array_equal(a.df[f"poseX{k}"].to_numpy(), b.df[f"poseX{j}"].to_numpy())


def test_slp_multi_video_file_as_many_recordings(dataset):
    raw = dataset.folder / "tracks_raw" / "sleap"
    raw.mkdir(parents=True)
    frames = [
        (0, 0, [{"track": 0, "score": 1, "pts": [P(1, 1)] * 3}]),
        (1, 2, [{"track": 1, "score": 1, "pts": [P(2, 2)] * 3}]),
    ]
    write_slp(raw / "session.slp", frames, videos=("left.mp4", "right.mp4"))
    dataset.index_tracks_raw("tracks_raw/sleap", src_format="sleap_slp", multi_sequences_per_file=True)
    dataset.convert_all_tracks(params={"fps": 10})
    assert rows(dataset.load_tracks("session", "left")) == [(0, 0)]
    assert rows(dataset.load_tracks("session", "right")) == [(2, 1)]
