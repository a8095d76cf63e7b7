"""Probing videos and the media index (matching, ordering, unreadable files, resolution)."""

from __future__ import annotations

import json
import logging

import cv2
import pytest

from mosaic.core.errors import BatchError, ConfigError, MediaError
from mosaic.media import (
    AmbiguousMediaError,
    MediaNotFoundError,
    VideoReadError,
    probe_video,
    read_media_index,
)
from mosaic.media.reader import seek_is_exact

from .videos import add_raw_sequences, add_tracks_sequences, write_numbered


@pytest.mark.parametrize(("fourcc", "ext"), [("mp4v", ".mp4"), ("MJPG", ".avi")])
def test_probe_reads_properties(tmp_path, fourcc, ext):
    p = write_numbered(tmp_path / f"v{ext}", 40, fourcc, size=(96, 64), fps=20.0)
    info = probe_video(p)
    assert (info.n_frames, info.width, info.height) == (40, 96, 64)
    assert info.fps == pytest.approx(20.0)
    assert info.duration_s == pytest.approx(2.0)
    assert info.count_method in ("header+seek", "counted")
    assert probe_video(p, count=True).n_frames == 40


def test_probe_garbage_empty_and_truncated(tmp_path):
    bad = tmp_path / "garbage.mp4"
    bad.write_bytes(b"not a video" * 50)
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    good = write_numbered(tmp_path / "good.mp4", 30)
    trunc = tmp_path / "trunc.mp4"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    for p in (bad, empty, trunc, tmp_path / "missing.mp4"):
        with pytest.raises(VideoReadError) as ei:
            probe_video(p)
        assert p.name in str(ei.value)


def test_probe_zero_frames(tmp_path):
    p = tmp_path / "zero.avi"
    wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 32))
    wr.release()
    with pytest.raises(VideoReadError) as ei:
        probe_video(p)
    assert "zero.avi" in str(ei.value)


def test_seek_is_exact_for_mp4v_and_mjpg(tmp_path):
    for fourcc, ext in (("mp4v", ".mp4"), ("MJPG", ".avi")):
        p = write_numbered(tmp_path / f"s{ext}", 60, fourcc)
        assert seek_is_exact(p, 60) is True


def test_index_exact_unmatched_and_unreadable(dataset, caplog):
    media = dataset.get_root("media_raw")
    write_numbered(media / "g1" / "s1.mp4", 30, fps=25.0)
    write_numbered(media / "g1" / "s2.avi", 20, "MJPG", fps=10.0)
    write_numbered(media / "g1" / "other.mp4", 10)
    (media / "g1" / "broken.mp4").write_bytes(b"\x00" * 1000)
    zero = cv2.VideoWriter(str(media / "g1" / "zero.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 32))
    zero.release()
    good = (media / "g1" / "s1.mp4").read_bytes()
    (media / "g1" / "cut.mp4").write_bytes(good[: len(good) // 2])
    (media / "g1" / "notes.txt").write_text("x")
    add_raw_sequences(dataset, [("g1", "s1"), ("g1", "s2")])
    with caplog.at_level(logging.WARNING), pytest.raises(BatchError) as ei:
        dataset.index_media()
    assert "broken.mp4" in str(ei.value)
    assert sorted(ei.value.failures) == ["media_raw/g1/broken.mp4", "media_raw/g1/cut.mp4", "media_raw/g1/zero.avi"]
    assert all(v.startswith("VideoReadError") and k.rsplit("/", 1)[1] in v for k, v in ei.value.failures.items())
    assert "other.mp4" in caplog.text  # a video without tracks is reported (and indexed as its own recording)
    df = read_media_index(dataset).set_index("name")
    assert sorted(df.index) == ["other.mp4", "s1.mp4", "s2.avi"]  # broken one not indexed with zeros
    assert list(df.columns[:14]) == [
        "abs_path",
        "size_bytes",
        "mtime_iso",
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "video_order",
        "fps",
        "n_frames",
        "width",
        "height",
        "duration_s",
        "fourcc",
    ]
    s1 = df.loc["s1.mp4"]
    assert (s1.group, s1.sequence, s1.abs_path) == ("g1", "s1", "media_raw/g1/s1.mp4")
    assert (int(s1.n_frames), int(s1.width), int(s1.height), float(s1.fps)) == (30, 96, 64, 25.0)
    assert int(s1.size_bytes) == (media / "g1" / "s1.mp4").stat().st_size
    s2 = df.loc["s2.avi"]
    assert (s2.sequence, int(s2.n_frames), s2.fourcc, float(s2.duration_s)) == ("s2", 20, "MJPG", 2.0)
    assert (df.loc["other.mp4", "group"], df.loc["other.mp4", "sequence"], df.loc["other.mp4", "recording_from"]) == (
        "g1",
        "other",
        "video",
    )
    assert df.loc["s1.mp4", "recording_from"] == "tracks"
    # on_error='warn' still writes the index and returns its path
    assert dataset.index_media(on_error="warn") == dataset.get_root("media") / "index.csv"


def test_index_prefers_tracks_index_and_disambiguates_groups_by_folder(dataset):
    media = dataset.get_root("media_raw")
    write_numbered(media / "ga" / "trial.mp4", 12)
    write_numbered(media / "gb" / "trial.mp4", 14)
    write_numbered(media / "elsewhere" / "trial.mp4", 16)
    add_raw_sequences(dataset, [("raw_only", "trial")])  # ignored: tracks/index.csv exists
    add_tracks_sequences(dataset, [("ga", "trial"), ("gb", "trial")])
    dataset.index_media()
    df = read_media_index(dataset).set_index("abs_path")
    assert df.loc["media_raw/ga/trial.mp4", "group"] == "ga"
    assert df.loc["media_raw/gb/trial.mp4", "group"] == "gb"
    assert df.loc["media_raw/elsewhere/trial.mp4", "sequence"] == ""  # ambiguous → unmatched
    assert [p.name for p in dataset.resolve_media_paths("gb", "trial")] == ["trial.mp4"]
    assert int(df.loc["media_raw/gb/trial.mp4", "n_frames"]) == 14


def test_index_prefix_split_recording_order_and_resolution(dataset):
    media = dataset.get_root("media_raw")
    for name, n in (
        ("session01_010.mp4", 5),
        ("session01_002.mp4", 6),
        ("session01_001.mp4", 7),
        ("session1_001.mp4", 8),
    ):
        write_numbered(media / "g" / name, n)
    add_raw_sequences(dataset, [("g", "session01"), ("g", "session1")])
    dataset.index_media(sequence_match_mode="prefix")
    paths = dataset.resolve_media_paths("g", "session01")
    assert [p.name for p in paths] == ["session01_001.mp4", "session01_002.mp4", "session01_010.mp4"]
    assert all(p.is_absolute() and p.exists() for p in paths)
    df = read_media_index(dataset).set_index("name")
    assert [int(df.loc[n, "video_order"]) for n in ("session01_001.mp4", "session01_002.mp4", "session01_010.mp4")] == [
        0,
        1,
        2,
    ]
    assert dataset.resolve_media_path("g", "session1").name == "session1_001.mp4"
    with pytest.raises(AmbiguousMediaError) as ei:
        dataset.resolve_media_path("g", "session01")
    assert "resolve_media_paths" in str(ei.value)
    with pytest.raises(RuntimeError):  # callers catching the builtin keep working
        dataset.resolve_media_path("g", "session01")
    with pytest.raises(MediaNotFoundError) as ei:
        dataset.resolve_media_paths("g", "nope")
    assert "nope" in str(ei.value) and "index.csv" in str(ei.value)
    # exact mode leaves split parts unmatched
    dataset.index_media(sequence_match_mode="exact")
    assert read_media_index(dataset).query("sequence == 'session01'").empty


def test_videos_without_tracks_are_their_own_recordings_until_tracks_arrive(dataset):
    """Before any tracking, each video is a recording (group = folder, sequence = stem) that frames can be sampled from."""
    from mosaic.core.safe_names import to_safe_name

    media = dataset.get_root("media_raw")
    write_numbered(media / "g" / "a.mp4", 5)
    write_numbered(media / to_safe_name("cage 2/left") / f"{to_safe_name('day.1')}.mp4", 6)  # safe-named folders decode
    from mosaic.media.index import index_media_report

    report = index_media_report(dataset)
    df = read_media_index(dataset).set_index("name")
    assert (df.loc["a.mp4", "group"], df.loc["a.mp4", "sequence"], int(df.loc["a.mp4", "n_frames"])) == ("g", "a", 5)
    other = df.drop("a.mp4").iloc[0]
    assert (other["group"], other["sequence"]) == ("cage 2/left", "day.1")
    assert set(df["recording_from"]) == {"video"} and report["n_matched"] == 2 and report["unmatched"] == []
    assert sorted((u["group"], u["sequence"]) for u in report["own_recordings"]) == [
        ("cage 2/left", "day.1"),
        ("g", "a"),
    ]
    assert dataset.resolve_media_path("g", "a") == media / "g" / "a.mp4"
    res = dataset.extract_frames(method="uniform", n_frames=3)
    chosen = json.loads(
        next(p for p in dataset.get_root("frames").rglob("run_info.json") if "g__a" in str(p)).read_text()
    )
    assert len(chosen["frame_indices"]) == 3 and res is not None
    # tracks arrive later (another group name for the same video): indexing again matches them as usual
    add_tracks_sequences(dataset, [("fish", "a")])
    dataset.index_media()
    df = read_media_index(dataset).set_index("name")
    assert (df.loc["a.mp4", "group"], df.loc["a.mp4", "sequence"], df.loc["a.mp4", "recording_from"]) == (
        "fish",
        "a",
        "tracks",
    )
    assert len(df) == 2


def test_index_bad_arguments(dataset):
    with pytest.raises(ConfigError):
        dataset.index_media(sequence_match_mode="fuzzy")
    with pytest.raises(ConfigError) as ei:
        dataset.index_media(search_dirs=["no_such_folder"])
    assert "no_such_folder" in str(ei.value)
    assert issubclass(VideoReadError, MediaError)


def test_index_removes_deleted_videos(dataset):
    media = dataset.get_root("media_raw")
    a = write_numbered(media / "g" / "a.mp4", 5)
    write_numbered(media / "g" / "b.mp4", 5)
    dataset.index_media()
    a.unlink()
    dataset.index_media()
    assert list(read_media_index(dataset)["name"]) == ["b.mp4"]
