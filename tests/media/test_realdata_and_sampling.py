"""Real H.264 videos (skipped when absent) and the pure selection functions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mosaic.media import probe_video, read_media_index
from mosaic.media.sampling import (
    candidate_indices,
    farthest_point_fill,
    kmeans_select,
    reduce_dims,
    uniform_indices,
)
from tests.conftest import realdata_file

from .videos import add_raw_sequences


@pytest.mark.parametrize(
    ("folder", "name", "n", "size"),
    [
        ("sleap-tests", "centered_pair_low_quality.mp4", 1100, (384, 384)),
        ("dlc-openfield", "m3v1mp4short.mp4", 31, (640, 480)),
    ],
)
def test_real_h264_uniform_and_kmeans_equal_sequential_decode(dataset, realdata, folder, name, n, size):
    video = realdata_file(realdata, "video", folder, name)
    info = probe_video(video)
    assert (info.n_frames, (info.width, info.height), info.fourcc.lower()) == (n, size, "h264")
    stem = video.stem
    add_raw_sequences(dataset, [("real", stem)])
    dataset.index_media(search_dirs=[video], extensions=(".mp4",))
    row = read_media_index(dataset).query("sequence == @stem").iloc[0]
    assert row["group"] == "real" and row["abs_path"] == str(video)  # outside the dataset: absolute
    rid_u = dataset.extract_frames(5, sequences=[stem])
    rid_k = dataset.extract_frames(3, "kmeans", sequences=[stem], kmeans_max_candidates=200)
    want = {
        int(p.stem[6:]): p for m, r in (("uniform", rid_u), ("kmeans", rid_k)) for p in dataset.get_frame_paths(m, r)
    }
    assert set(uniform_indices(0, n, 5).tolist()) <= set(want)
    cap = cv2.VideoCapture(str(video))
    for i in range(max(want) + 1):
        ok, frame = cap.read()
        assert ok
        if i in want:
            assert np.array_equal(cv2.imread(str(want[i])), frame), f"frame {i} of {name}"
    cap.release()


def test_uniform_indices_formula():
    assert uniform_indices(0, 100, 10).tolist() == list(range(0, 100, 10))
    assert uniform_indices(5, 12, 7).tolist() == [5, 6, 7, 8, 9, 10, 11]
    assert uniform_indices(0, 10, 3).tolist() == [0, 3, 6]  # floor(i * 10 / 3)
    assert uniform_indices(0, 9000, 50)[-1] == 8820


def test_candidate_indices_cap_widens_step():
    idx, step = candidate_indices(0, 9000, 1, 5000)
    assert step == 2 and len(idx) == 4500 and idx[1] == 2
    idx, step = candidate_indices(10, 40, 3, 5000)
    assert step == 3 and idx.tolist() == list(range(10, 40, 3))
    idx, step = candidate_indices(0, 9000, 1, None)
    assert step == 1 and len(idx) == 9000


def test_farthest_point_fill_and_collapse():
    X = np.array([[0.0, 0], [0, 0], [1, 0], [0, 5], [0, 5]], dtype=np.float32)
    assert farthest_point_fill(X, [0], 3) == [0, 3, 2]
    assert farthest_point_fill(X, [0], 5) == [0, 3, 2]  # only 3 distinct rows
    pos = kmeans_select(X, 4)
    assert len(set(pos.tolist())) == 4


def test_identical_thumbnails_are_never_picked_twice():
    # large float32 values: the expanded |x|^2 - 2x.y + |y|^2 leaves residue where x == y
    rng = np.random.default_rng(3)
    base = rng.uniform(100, 255, size=(3, 4096)).astype(np.float32)
    X = base[[0, 0, 1, 0, 2, 1, 0, 0, 2, 0, 1, 0]]
    picks = farthest_point_fill(X, [1], 12)
    assert len(picks) == len(set(picks)) == 3  # one per distinct thumbnail, no repeats
    assert sorted({tuple(X[i][:3]) for i in picks}) == sorted({tuple(r[:3]) for r in base})
    pos = kmeans_select(X, 4)
    assert len(pos) == 4 and len(set(pos.tolist())) == 4  # distinct frames even with 3 distinct pictures


def test_kmeans_select_blobs_and_reduce_dims():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (5, 300))
    X = np.concatenate([c + rng.normal(0, 0.5, (40, 300)) for c in centres]).astype(np.float32)
    pos = kmeans_select(X, 5)
    assert sorted(p // 40 for p in pos) == [0, 1, 2, 3, 4]
    Z = reduce_dims(X, 8)
    assert Z.shape == (200, 8)
    # the projection keeps the cluster structure: within-blob spread << between-blob distance
    within = np.linalg.norm(Z[:40] - Z[:40].mean(0), axis=1).mean()
    between = np.linalg.norm(Z[:40].mean(0) - Z[40:80].mean(0))
    assert between > 10 * within
