"""individual_pair_v1 npz: writing, reading, validation, bouts <-> events, index bookkeeping."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mosaic.core.errors import LabelFormatError
from mosaic.labels import (
    LABELS_INDEX,
    NPZ_KEYS,
    LabelSet,
    bouts_to_events,
    dense_to_events,
    events_to_bouts,
    label_file_path,
    read_label_npz,
    read_labels_index,
    save_label_sets,
    write_label_npz,
)


def _ls(group="g", sequence="s"):
    frames, labels, ids = bouts_to_events([0, 5, 2], [3, 7, 4], [1, 2, 0], [0, 1, -1], [-1, 2, -1])
    return LabelSet(
        group, sequence, frames, labels, ids, np.array([0, 1, 2]), np.array(["none", "walk", "chase"]), fps=30.0
    )


def test_bouts_to_events_expands_per_frame_and_mirrors_pairs():
    frames, labels, ids = bouts_to_events([0, 5, 2], [3, 7, 4], [1, 2, 0], [0, 1, -1], [-1, 2, -1])
    # independent expectation: bout 0 → frames 0,1,2 of [0,-1]; bout 1 → 5,6 of [1,2] and [2,1]; scene 2,3
    exp = sorted(
        [(f, 0, -1, 1) for f in (0, 1, 2)]
        + [(f, 1, 2, 2) for f in (5, 6)]
        + [(f, 2, 1, 2) for f in (5, 6)]
        + [(f, -1, -1, 0) for f in (2, 3)]
    )
    got = list(zip(frames.tolist(), ids[:, 0].tolist(), ids[:, 1].tolist(), labels.tolist()))
    assert got == exp
    assert frames.dtype == np.int32 and labels.dtype == np.int32 and ids.dtype == np.int32 and ids.shape == (9, 2)


def test_bouts_to_events_empty_and_zero_length():
    f, _lab, ids = bouts_to_events([], [], [])
    assert f.shape == (0,) and ids.shape == (0, 2)
    f, _lab, ids = bouts_to_events([4], [4], [1], [0])
    assert len(f) == 0


def test_events_to_bouts_round_trip():
    starts, stops = np.array([0, 10, 3, 3]), np.array([5, 12, 8, 4])
    labels, a, b = np.array([1, 1, 2, 0]), np.array([0, 0, 1, -1]), np.array([-1, -1, 0, -1])
    f, lab, ids = bouts_to_events(starts, stops, labels, a, b)
    got = events_to_bouts(f, lab, ids)
    exp = {(0, 5, 1, 0, -1), (10, 12, 1, 0, -1), (3, 8, 2, 1, 0), (3, 8, 2, 0, 1), (3, 4, 0, -1, -1)}
    assert set(map(tuple, got[["start", "stop", "label", "id_a", "id_b"]].to_numpy().tolist())) == exp


def test_write_read_exact_keys_and_dtypes(tmp_path):
    path = write_label_npz(tmp_path / "a.npz", _ls())
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == sorted(NPZ_KEYS)
        assert z["frames"].dtype == np.int32 and z["labels"].dtype == np.int32
        assert z["individual_ids"].dtype == np.int32 and z["individual_ids"].shape == (len(z["frames"]), 2)
        assert str(z["label_format"]) == "individual_pair_v1" and str(z["group"]) == "g"
    d = read_label_npz(path)
    assert d["fps"] == 30.0 and d["label_names"].tolist() == ["none", "walk", "chase"]
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda d: d.pop("label_ids"), "lacks required keys"),
        (lambda d: d.pop("sequence"), "lacks required keys"),
        (lambda d: d.update(individual_ids=np.zeros((3, 3), np.int32)), "individual_ids"),
        (lambda d: d.update(frames=d["frames"].astype(np.float32)), "'frames'"),
        (lambda d: d.update(labels=d["labels"][:-1]), "differ in length"),
        (lambda d: d.update(labels=np.full_like(d["labels"], 9)), "not in 'label_ids'"),
        (lambda d: d.update(label_format=np.array("v0")), "label_format"),
    ],
)
def test_read_rejects_bad_files(tmp_path, mutate, needle):
    d = _ls().to_arrays()
    mutate(d)
    path = tmp_path / "bad.npz"
    np.savez(path, **d)
    with pytest.raises(LabelFormatError) as e:
        read_label_npz(path)
    assert needle in str(e.value) and str(path) in str(e.value)


def test_read_refuses_pickles_and_garbage(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, frames=np.array([{"a": 1}], dtype=object))
    with pytest.raises(LabelFormatError, match="pickled") as e:
        read_label_npz(p)
    assert str(p) in str(e.value)
    g = tmp_path / "garbage.npz"
    g.write_bytes(b"not a zip")
    with pytest.raises(LabelFormatError, match="not a readable"):
        read_label_npz(g)


def test_dense_file_with_bad_labels_is_refused(tmp_path):
    p = tmp_path / "dense_bad.npz"
    np.savez(p, labels=np.array([0.5, 1.0]))
    with pytest.raises(LabelFormatError, match="dense") as e:
        read_label_npz(p)
    assert str(p) in str(e.value)


def test_old_dense_file_loads_as_scene_events(tmp_path):
    p = tmp_path / "dense.npz"
    np.savez(p, labels=np.array([0, 0, 2, 2, 1], np.int64))
    d = read_label_npz(p, group="g", sequence="s")
    assert d["frames"].tolist() == [0, 1, 2, 3, 4]
    assert (d["individual_ids"] == -1).all() and d["labels"].tolist() == [0, 0, 2, 2, 1]
    assert d["label_ids"].tolist() == [0, 1, 2] and d["group"] == "g"


def test_old_dense_per_individual_file(tmp_path):
    p = tmp_path / "dense2.npz"
    np.savez(
        p,
        labels=np.array([[0, 1], [2, 1], [2, 0]]),
        ids=np.array([3, 5]),
        label_names=np.array(["a", "b", "c"]),
        label_ids=np.array([0, 1, 2]),
    )
    d = read_label_npz(p)
    got = sorted(
        zip(
            d["frames"].tolist(),
            d["individual_ids"][:, 0].tolist(),
            d["individual_ids"][:, 1].tolist(),
            d["labels"].tolist(),
        )
    )
    assert got == [(0, 3, -1, 0), (0, 5, -1, 1), (1, 3, -1, 2), (1, 5, -1, 1), (2, 3, -1, 2), (2, 5, -1, 0)]
    bad = tmp_path / "dense3.npz"
    np.savez(bad, labels=np.array([[0, 1]]), ids=np.array([1, 2, 3]))
    with pytest.raises(LabelFormatError, match="'ids'") as e:
        read_label_npz(bad)
    assert str(bad) in str(e.value)


def test_dense_to_events():
    f, lab, ids = dense_to_events([2, 2, 0], individual_id=4)
    assert f.tolist() == [0, 1, 2] and lab.tolist() == [2, 2, 0] and ids.tolist() == [[4, -1]] * 3


def test_save_label_sets_index_and_skip(dataset):
    rows, skipped = save_label_sets(dataset, "behavior", [_ls("g 1", "a/b"), _ls("g2", "s")])
    assert len(rows) == 2 and skipped == []
    df = read_labels_index(dataset, "behavior")
    assert list(df.columns[: len(LABELS_INDEX.columns)]) == list(LABELS_INDEX.columns)
    r = df[df["group"] == "g 1"].iloc[0]
    assert r["abs_path"] == "labels/behavior/g%201__a%2Fb.npz"
    assert (dataset.folder / r["abs_path"]).exists()
    assert r["n_events"] == 9 and r["n_frames"] == 7 and json.loads(r["label_names"]) == ["none", "walk", "chase"]
    before = (dataset.folder / r["abs_path"]).read_bytes()
    rows, skipped = save_label_sets(dataset, "behavior", [_ls("g 1", "a/b")])
    assert rows == [] and skipped == [("g 1", "a/b")]
    assert (dataset.folder / r["abs_path"]).read_bytes() == before
    assert label_file_path(dataset, "behavior", "g 1", "a/b") == dataset.folder / r["abs_path"]


def test_write_validates_before_touching_the_file(tmp_path):
    good = write_label_npz(tmp_path / "x.npz", _ls())
    before = good.read_bytes()
    bad = _ls()
    bad.labels = np.full(len(bad.frames), 7)
    with pytest.raises(LabelFormatError) as e:
        write_label_npz(good, bad)
    assert str(good) in str(e.value)
    assert good.read_bytes() == before


def test_rows_are_written_in_canonical_order(tmp_path):
    from mosaic.labels.io import _is_sorted

    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(0, 25))
        f, ids, lab = rng.integers(0, 4, n), rng.integers(-1, 3, (n, 2)), rng.integers(0, 3, n)
        by_tuples = all(
            tuple(r) <= tuple(s)
            for r, s in zip(np.column_stack([f, ids, lab])[:-1].tolist(), np.column_stack([f, ids, lab])[1:].tolist())
        )
        assert _is_sorted(f, ids, lab) == by_tuples
    ls = LabelSet("g", "s", [3, 1, 1], [0, 1, 0], [[0, -1], [2, -1], [2, -1]], [0, 1], ["a", "b"])
    d = read_label_npz(write_label_npz(tmp_path / "o.npz", ls))
    assert d["frames"].tolist() == [1, 1, 3] and d["labels"].tolist() == [0, 1, 0]
