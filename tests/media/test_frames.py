"""Frame sampling: exact indices and pixels, k-means scenes, crops, split recordings, errors, runs."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mosaic.core.errors import BatchError
from mosaic.media import (
    CropError,
    FrameMethodError,
    NotEnoughFramesError,
    read_media_index,
)
from mosaic.media import decode as decode_mod
from mosaic.media import frames as frames_mod
from mosaic.media import plan as plan_mod
from mosaic.media import store as store_mod

from .videos import add_raw_sequences, decode_all, scene_video, write_numbered


def _index(ds, videos: dict, mode="exact"):
    """videos: {(group, file_name): (n_frames, fourcc)} written under media_raw/<group>/."""
    media = ds.get_root("media_raw")
    pairs = set()
    for (g, name), spec in videos.items():
        n, fourcc = spec[:2]
        size = spec[2] if len(spec) > 2 else (96, 64)
        write_numbered(media / g / name, n, fourcc, size=size)
        pairs.add((g, name.rsplit(".", 1)[0].split("_")[0] if mode == "prefix" else name.rsplit(".", 1)[0]))
    add_raw_sequences(ds, sorted(pairs))
    ds.index_media(sequence_match_mode=mode)


def _png(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


@pytest.mark.parametrize(("fourcc", "ext"), [("mp4v", ".mp4"), ("MJPG", ".avi")])
def test_uniform_exact_indices_and_pixels(dataset, fourcc, ext):
    _index(dataset, {("g", f"s{ext}"): (100, fourcc)})
    run_id = dataset.extract_frames(10, "uniform")
    paths = dataset.get_frame_paths("uniform", run_id)
    # independent expectation: floor(i * 100 / 10)
    assert [p.name for p in paths] == [f"frame_{i:06d}.png" for i in range(0, 100, 10)]
    decoded = decode_all(dataset.get_root("media_raw") / "g" / f"s{ext}")
    assert len(decoded) == 100
    for p in paths:
        idx = int(p.stem.split("_")[1])
        assert np.array_equal(_png(p), decoded[idx]), p.name
    assert paths[0].parent == dataset.get_root("frames") / "uniform" / run_id / "g__s"


def test_uniform_range_and_sequential_fallback_give_same_pixels(dataset, monkeypatch):
    _index(dataset, {("g", "s.mp4"): (90, "mp4v")})
    rid = dataset.extract_frames(4, start_frame=10, end_frame=50)
    names = [p.name for p in dataset.get_frame_paths("uniform", rid)]
    assert names == [f"frame_{i:06d}.png" for i in (10, 20, 30, 40)]
    # force the sequential path (as for a codec whose seeks are inexact): same pixels
    monkeypatch.setattr(decode_mod, "seek_is_exact", lambda path, n: False)
    rid2 = dataset.extract_frames(4, start_frame=10, end_frame=50, overwrite=True)
    assert rid2 == rid
    decoded = decode_all(dataset.get_root("media_raw") / "g" / "s.mp4")
    for p in dataset.get_frame_paths("uniform", rid):
        assert np.array_equal(_png(p), decoded[int(p.stem[6:])])
    info = dataset.get_frame_manifests("uniform", rid)[0]
    assert info["sources"][0]["read_mode"] == "sequential"


def test_kmeans_finds_one_frame_per_scene(dataset):
    k, per = 4, 30
    scene_video(dataset.get_root("media_raw") / "g" / "scenes.mp4", k, per)
    add_raw_sequences(dataset, [("g", "scenes")])
    dataset.index_media()
    rid = dataset.extract_frames(k, "kmeans")
    info = dataset.get_frame_manifests("kmeans", rid)[0]
    idx = info["frame_indices"]
    assert len(idx) == k
    assert sorted(i // per for i in idx) == list(range(k))  # one frame from each scene
    assert info["selection"]["n_candidates"] == k * per
    decoded = decode_all(dataset.get_root("media_raw") / "g" / "scenes.mp4")
    for p in dataset.get_frame_paths("kmeans", rid):
        assert np.array_equal(_png(p), decoded[int(p.stem[6:])])


def test_kmeans_candidates_capped_and_step(dataset):
    scene_video(dataset.get_root("media_raw") / "g" / "scenes.mp4", 3, 40)
    add_raw_sequences(dataset, [("g", "scenes")])
    dataset.index_media()
    rid = dataset.extract_frames(3, "kmeans", candidate_step=2, kmeans_max_candidates=30)
    info = dataset.get_frame_manifests("kmeans", rid)[0]
    assert info["selection"]["candidate_step"] == 4  # ceil(120 / 30)
    assert info["selection"]["n_candidates"] == 30
    assert all(i % 4 == 0 for i in info["frame_indices"])
    assert sorted(i // 40 for i in info["frame_indices"]) == [0, 1, 2]


def test_kmeans_max_candidates_none_means_no_cap(dataset):
    scene_video(dataset.get_root("media_raw") / "g" / "scenes.mp4", 3, 40)
    add_raw_sequences(dataset, [("g", "scenes")])
    dataset.index_media()
    rid = dataset.extract_frames(3, "kmeans", candidate_step=2, kmeans_max_candidates=None)
    info = dataset.get_frame_manifests("kmeans", rid)[0]
    assert info["selection"]["candidate_step"] == 2 and info["selection"]["n_candidates"] == 60  # every 2nd of 120
    assert info["params"]["kmeans_max_candidates"] is None
    assert sorted(i // 40 for i in info["frame_indices"]) == [0, 1, 2]
    assert rid != dataset.extract_frames(3, "kmeans", candidate_step=2, kmeans_max_candidates=30)


def test_kmeans_collapsed_clusters_filled_with_distinct_frames(dataset):
    # 2 distinct scenes but 5 frames asked: still 5 distinct frames
    scene_video(dataset.get_root("media_raw") / "g" / "two.mp4", 2, 20)
    add_raw_sequences(dataset, [("g", "two")])
    dataset.index_media()
    rid = dataset.extract_frames(5, "kmeans")
    idx = dataset.get_frame_manifests("kmeans", rid)[0]["frame_indices"]
    assert len(set(idx)) == 5 and {i // 20 for i in idx} == {0, 1}


def test_split_recording_uses_global_index(dataset):
    _index(dataset, {("g", "rec_001.avi"): (30, "MJPG"), ("g", "rec_002.avi"): (50, "MJPG")}, mode="prefix")
    assert [p.name for p in dataset.resolve_media_paths("g", "rec")] == ["rec_001.avi", "rec_002.avi"]
    rid = dataset.extract_frames(8)  # floor(i * 80 / 8) = 0, 10, ..., 70
    info = dataset.get_frame_manifests("uniform", rid)[0]
    assert info["frame_indices"] == list(range(0, 80, 10))
    assert [(f["video"], f["video_frame"]) for f in info["frames"]][2:5] == [
        ("rec_001.avi", 20),
        ("rec_002.avi", 0),
        ("rec_002.avi", 10),
    ]
    media = dataset.get_root("media_raw") / "g"
    decoded = decode_all(media / "rec_001.avi") + decode_all(media / "rec_002.avi")
    for p in dataset.get_frame_paths("uniform", rid):
        assert np.array_equal(_png(p), decoded[int(p.stem[6:])])


def test_crop_output_size_and_pixels(dataset):
    _index(dataset, {("g", "s.mp4"): (40, "mp4v")})
    rid = dataset.extract_frames(4, crop=(10, 5, 32, 24))
    decoded = decode_all(dataset.get_root("media_raw") / "g" / "s.mp4")
    for p in dataset.get_frame_paths("uniform", rid):
        img = _png(p)
        assert img.shape == (24, 32, 3)
        assert np.array_equal(img, decoded[int(p.stem[6:])][5:29, 10:42])
    rid_k = dataset.extract_frames(3, "kmeans", crop=(0, 0, 16, 16))
    assert all(_png(p).shape == (16, 16, 3) for p in dataset.get_frame_paths("kmeans", rid_k))


def test_bad_inputs_named_errors_and_batch_continues(dataset):
    _index(dataset, {("g", "big.mp4"): (40, "mp4v", (96, 64)), ("g", "small.mp4"): (10, "mp4v", (48, 32))})
    # crop fits big, not small → small fails with CropError naming its file, big completes
    with pytest.raises(BatchError) as ei:
        dataset.extract_frames(3, crop=(40, 20, 50, 40))
    assert list(ei.value.failures) == ["g/small"]
    assert ei.value.failures["g/small"].startswith("CropError: crop lies outside the frame")
    assert "small.mp4" in ei.value.failures["g/small"]
    assert len(dataset.get_frame_paths("uniform", group="g", sequence="big")) == 3
    # more frames than available in small
    with pytest.raises(BatchError) as ei:
        dataset.extract_frames(20)
    assert list(ei.value.failures) == ["g/small"] and "n_frames <= 10" in ei.value.failures["g/small"]
    assert ei.value.failures["g/small"].startswith("NotEnoughFramesError")
    assert len(dataset.get_frame_paths("uniform", group="g", sequence="big")) == 20
    # direct errors: named classes
    run = plan_mod.plan_frame_run(dataset, 20, "uniform")
    small = next(j for j in run.jobs if j.sequence == "small")
    with pytest.raises(NotEnoughFramesError):
        frames_mod.select_sequence_frames(small, run.params)
    with pytest.raises(CropError):
        frames_mod.check_crop(small, (40, 20, 50, 40))
    with pytest.raises(BatchError) as ei:
        dataset.extract_frames(5, "kmeans", sequences=["small"], candidate_step=3)  # 4 candidates
    assert ei.value.failures["g/small"].startswith(
        "NotEnoughFramesError: more frames requested than k-means candidates"
    )


def test_unreadable_video_in_batch(dataset):
    _index(dataset, {("g", "a.mp4"): (20, "mp4v"), ("g", "b.mp4"): (20, "mp4v")})
    b = dataset.get_root("media_raw") / "g" / "b.mp4"
    data = b.read_bytes()
    b.write_bytes(data[: len(data) // 2])  # truncated after indexing
    with pytest.raises(BatchError) as ei:
        dataset.extract_frames(2)
    assert list(ei.value.failures) == ["g/b"] and "b.mp4" in ei.value.failures["g/b"]
    assert ei.value.failures["g/b"].startswith("VideoReadError")
    assert len(dataset.get_frame_paths("uniform", sequence="a")) == 2
    # same size but unreadable content → VideoReadError from OpenCV, still named
    b.write_bytes(b"\x00" * len(data))
    with pytest.raises(BatchError) as ei:
        dataset.extract_frames(2)
    assert "b.mp4" in ei.value.failures["g/b"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "random"},
        {"n_frames": 0},
        {"n_frames": 2.5},
        {"kmeans_resize": (0, 4)},
        {"start_frame": 5, "end_frame": 5},
        {"kmeans_n_init": 0},
        {"candidate_step": "2"},
        {"kmeans_max_candidates": 0},
        {"kmeans_max_candidates": "all"},
    ],
)
def test_invalid_parameters(dataset, kwargs):
    _index(dataset, {("g", "s.mp4"): (10, "mp4v")})
    args = {"n_frames": 2, **kwargs}
    with pytest.raises(FrameMethodError):
        frames_mod.extract_frames(dataset, **args)


def test_unknown_parameter_in_params_dict():
    with pytest.raises(FrameMethodError) as ei:
        plan_mod.validate_frame_params(3, "uniform", nonsense=1)
    assert "nonsense" in str(ei.value)


@pytest.mark.parametrize("crop", [(0, 0, 0, 5), (-1, 0, 5, 5), (1, 2, 3), "abc"])
def test_malformed_crop(dataset, crop):
    _index(dataset, {("g", "s.mp4"): (10, "mp4v")})
    with pytest.raises(CropError):
        dataset.extract_frames(2, crop=crop)


def test_range_beyond_video(dataset):
    _index(dataset, {("g", "s.mp4"): (10, "mp4v")})
    with pytest.raises(BatchError) as ei:
        dataset.extract_frames(2, end_frame=50)
    assert ei.value.failures["g/s"].startswith("NotEnoughFramesError: frame range lies beyond the end")


def test_run_reuse_overwrite_and_queries(dataset):
    _index(dataset, {("g", "a.mp4"): (30, "mp4v"), ("h", "b.mp4"): (30, "mp4v")})
    rid = dataset.extract_frames(3)
    first = dataset.get_frame_paths("uniform", rid)
    assert len(first) == 6
    mtimes = [p.stat().st_mtime_ns for p in first]
    assert dataset.extract_frames(3) == rid  # same params + videos → same run, reused
    assert [p.stat().st_mtime_ns for p in first] == mtimes
    assert dataset.extract_frames(3, overwrite=True) == rid
    rid2 = dataset.extract_frames(5)
    assert rid2 != rid
    runs = dataset.list_frame_runs()
    assert len(runs) == 4 and set(runs["run_id"]) == {rid, rid2}
    assert list(runs.columns[:10]) == list(store_mod.FRAMES_INDEX.columns)
    assert set(runs["frames_dir_path"]) >= {f"frames/uniform/{rid}/g__a", f"frames/uniform/{rid}/h__b"}
    assert len(dataset.get_frame_paths("uniform")) == 10  # latest run (rid2)
    assert len(dataset.get_frame_paths("uniform", rid, group="h")) == 3
    man = dataset.get_frame_manifests("uniform", rid, sequence="a")
    assert len(man) == 1
    info = json.loads((dataset.get_root("frames") / "uniform" / rid / "g__a" / "run_info.json").read_text())
    assert info["params"]["n_frames"] == 3 and info["method"] == "uniform" and info["run_id"] == rid
    assert info["sources"][0]["name"] == "a.mp4" and len(info["sources"][0]["fingerprint"]) == 16
    assert set(info["timing"]) >= {"select_s", "decode_write_s"}
    assert dataset.list_frame_runs("kmeans").empty
    # a changed video changes the run id
    write_numbered(dataset.get_root("media_raw") / "g" / "a.mp4", 31)
    dataset.index_media()
    assert dataset.extract_frames(3) != rid


def test_incomplete_run_is_redone(dataset):
    _index(dataset, {("g", "a.mp4"): (30, "mp4v")})
    rid = dataset.extract_frames(3)
    p = dataset.get_frame_paths("uniform", rid)[1]
    p.unlink()
    assert dataset.extract_frames(3) == rid
    assert p.exists()


def test_process_mode_and_groups_filter(dataset):
    _index(dataset, {("g", "a.mp4"): (20, "mp4v"), ("h", "b.mp4"): (20, "mp4v"), ("h", "c.mp4"): (20, "mp4v")})
    rid = dataset.extract_frames(2, groups=["h"], parallel_mode="process", parallel_workers=2)
    runs = dataset.list_frame_runs()
    assert sorted(runs["sequence"]) == ["b", "c"]
    assert len(dataset.get_frame_paths("uniform", rid)) == 4
    assert len(read_media_index(dataset)) == 3


def test_luma_reads_match_gray_and_threads_do_not_change_pixels(tmp_path):
    from mosaic.media.reader import iter_frames

    for fourcc, ext in (("mp4v", ".mp4"), ("MJPG", ".avi")):
        p = write_numbered(tmp_path / f"l{ext}", 30, fourcc, size=(98, 66))  # width not a multiple of 16/32
        idx = [2, 9, 25]
        luma = [f for _, f in iter_frames(p, idx, seek=True, luma=True)]
        bgr = [f for _, f in iter_frames(p, idx, seek=True)]
        one = [f for _, f in iter_frames(p, idx, seek=True, threads=1)]
        decoded = decode_all(p)
        for i, y, c, o in zip(idx, luma, bgr, one):
            assert y.shape == (66, 98) and y.dtype == np.uint8
            gray = cv2.cvtColor(c, cv2.COLOR_BGR2GRAY).astype(float)
            assert np.corrcoef(y.ravel().astype(float), gray.ravel())[0, 1] > 0.99
            assert np.array_equal(c, decoded[i]) and np.array_equal(o, decoded[i])


def test_parallel_pieces_equal_single_pass(dataset):
    _index(dataset, {("g", "s.mp4"): (120, "mp4v")})
    run = plan_mod.plan_frame_run(dataset, 40, "uniform")
    job = run.jobs[0]
    idx = frames_mod.uniform_indices(0, 120, 40)
    got = {}
    decode_mod.for_each_frame(job, idx, lambda g, f: got.__setitem__(g, f), workers=3)
    assert len(decode_mod.frame_chunks(job, idx, 3)) == 3
    single = dict(decode_mod.read_sequence_frames(job, idx))
    assert sorted(got) == sorted(single) == idx.tolist()
    assert all(np.array_equal(got[i], single[i]) for i in got)
    lazy = decode_mod.LazySequenceFrames(job, idx[:3], crop=(0, 0, 10, 8))
    assert lazy.frame(idx[1]).shape == (8, 10, 3) and lazy.frame(idx[0]).shape == (8, 10, 3)


def test_unusual_names_stay_inside_the_frames_root(dataset):
    write_numbered(dataset.get_root("media_raw") / "grp 1" / "séq.1.mp4", 20)
    add_raw_sequences(dataset, [("grp 1", "séq.1")])
    dataset.index_media()
    rid = dataset.extract_frames(2)
    paths = dataset.get_frame_paths("uniform", rid, group="grp 1", sequence="séq.1")
    assert [p.parent.name for p in paths] == ["grp%201__s%C3%A9q.1"] * 2
    assert all(dataset.get_root("frames") in p.parents for p in paths)
