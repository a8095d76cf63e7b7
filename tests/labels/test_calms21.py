"""CalMS21 annotations → individual_pair_v1 with per-frame equality to the source."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.labels import convert_all_labels, get_label_map, load_labels


def _calms(n_seq=2, T=120, seed=0, vocab=None, groups=("annotator-id_0",)):
    rng = np.random.default_rng(seed)
    out = {}
    for g in groups:
        out[g] = {}
        for k in range(n_seq):
            rec = {
                "keypoints": rng.normal(size=(T, 2, 2, 7)),
                "scores": rng.random((T, 2, 7)),
                "annotations": rng.integers(0, 4, T),
                "metadata": {"annotator-id": 0},
            }
            if vocab is not None:
                rec["metadata"]["vocab"] = vocab
            out[g][f"task1/train/mouse{k + 1:03d}_task1_annotator1"] = rec
    return out


def _check(ds, data, group_of=lambda g: g, kind="behavior"):
    for g, seqs in data.items():
        for s, rec in seqs.items():
            d = load_labels(ds, group_of(g), s, kind=kind)
            ann = np.asarray(rec["annotations"])
            for a, b in ((0, 1), (1, 0)):
                m = (d["individual_ids"][:, 0] == a) & (d["individual_ids"][:, 1] == b)
                assert np.array_equal(d["frames"][m], np.arange(len(ann)))
                assert np.array_equal(d["labels"][m], ann)
            assert len(d["frames"]) == 2 * len(ann)


def test_npy_with_vocab(dataset, tmp_path):
    vocab = {"attack": 0, "investigation": 1, "mount": 2, "other": 3}
    data = _calms(vocab=vocab)
    path = tmp_path / "calms21_task1_train.npy"
    np.save(path, data, allow_pickle=True)
    rep = convert_all_labels(dataset, params={"paths": [str(path)]})
    assert len(rep) == 2 and rep.source_format == "calms21_npy"
    _check(dataset, data)
    assert get_label_map(dataset) == {v: k for k, v in vocab.items()}
    d = load_labels(dataset, "annotator-id_0", "task1/train/mouse001_task1_annotator1")
    assert d["fps"] == 30.0


def test_json_without_vocab_uses_task1_and_group_from_filename(dataset, tmp_path):
    data = _calms(n_seq=1, T=50, seed=3)
    path = tmp_path / "calms21_task1_test.json"
    path.write_text(
        json.dumps(
            {
                g: {
                    s: {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in rec.items()}
                    for s, rec in seqs.items()
                }
                for g, seqs in data.items()
            }
        )
    )
    convert_all_labels(dataset, params={"paths": [str(path)], "group_from": "filename"})
    _check(dataset, data, group_of=lambda g: "calms21_task1_test")
    assert get_label_map(dataset) == {0: "attack", 1: "investigation", 2: "mount", 3: "other"}


def test_custom_vocab_and_unlabelled_sequences(dataset, tmp_path):
    data = _calms(n_seq=2, T=30, vocab={"other": 0, "approach": 1, "x": 2, "y": 3})
    del data["annotator-id_0"]["task1/train/mouse002_task1_annotator1"]["annotations"]
    path = tmp_path / "c.npy"
    np.save(path, data, allow_pickle=True)
    rep = convert_all_labels(dataset, params={"paths": [str(path)]})
    assert rep.written == [("annotator-id_0", "task1/train/mouse001_task1_annotator1")]
    assert [i["issue"] for i in rep.issues] == ["no_annotations"]
    assert get_label_map(dataset) == {0: "other", 1: "approach", 2: "x", 3: "y"}


def test_bad_calms21_files(dataset, tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(LabelFormatError, match="not a readable CalMS21") as e:
        convert_all_labels(dataset, params={"paths": [str(bad)]})
    assert str(bad) in str(e.value)
    data = _calms(n_seq=1, T=10)
    data["annotator-id_0"]["task1/train/mouse001_task1_annotator1"]["annotations"] = np.zeros((10, 2))
    p2 = tmp_path / "shape.npy"
    np.save(p2, data, allow_pickle=True)
    with pytest.raises(LabelFormatError, match="one integer per frame") as e:
        convert_all_labels(dataset, params={"paths": [str(p2)]})
    assert str(p2) in str(e.value)
    with pytest.raises(ConfigError, match="group_from"):
        convert_all_labels(dataset, params={"paths": [str(p2)], "group_from": "parent"})
    assert not (dataset.get_root("labels") / "behavior" / "index.csv").exists()


def test_default_paths_from_tracks_raw_index(dataset, tmp_path):
    from mosaic.core.indexes import TRACKS_RAW_INDEX, upsert_index

    data = _calms(n_seq=1, T=20)
    path = dataset.get_root("tracks_raw") / "calms21" / "demo.npy"
    path.parent.mkdir(parents=True)
    np.save(path, data, allow_pickle=True)
    upsert_index(
        dataset.get_root("tracks_raw") / "index.csv",
        [
            {
                "group": "demo",
                "sequence": "",
                "group_safe": "demo",
                "sequence_safe": "",
                "abs_path": dataset.relative_path(path),
                "src_format": "calms21_npy",
                "size_bytes": 1,
                "mtime_iso": "",
                "md5": "",
            }
        ],
        TRACKS_RAW_INDEX,
    )
    convert_all_labels(dataset, source_format="calms21_npy")
    _check(dataset, data)
    convert_all_labels(dataset, kind="byfile", source_format="calms21_npy", params={"group_from": "filename"})
    _check(
        dataset, data, group_of=lambda g: "demo", kind="byfile"
    )  # the index row's group, as the tracks converter does


@pytest.mark.parametrize("mode", ["infile", "filename", "both"])
def test_group_from_modes_keep_infile_group_and_collection(dataset, tmp_path, mode):
    data = _calms(n_seq=1, T=30, seed=5)
    path = tmp_path / "calms21_task1_val.npy"
    np.save(path, data, allow_pickle=True)
    convert_all_labels(dataset, params={"paths": [str(path)], "group_from": mode, "group": "cohort7"})
    group = "annotator-id_0" if mode == "infile" else "cohort7"
    _check(dataset, data, group_of=lambda g: group)
    d = load_labels(dataset, group, "task1/train/mouse001_task1_annotator1")
    assert str(d["source_group"]) == "annotator-id_0" and str(d["collection"]) == "cohort7"


def test_solo_labels(dataset, tmp_path):
    data = _calms(n_seq=1, T=40, vocab={"attack": 0, "investigation": 1, "mount": 2, "other": 3})
    path = tmp_path / "c.npy"
    np.save(path, data, allow_pickle=True)
    convert_all_labels(dataset, params={"paths": [str(path)], "solo_labels": ["other"]})
    rec = data["annotator-id_0"]["task1/train/mouse001_task1_annotator1"]
    ann = np.asarray(rec["annotations"])
    d = load_labels(dataset, "annotator-id_0", "task1/train/mouse001_task1_annotator1")
    resident = d["individual_ids"][:, 0] == 0
    assert np.array_equal(d["frames"][resident], np.arange(40)) and np.array_equal(d["labels"][resident], ann)
    other = ann == 3
    assert np.array_equal(d["individual_ids"][resident][:, 1], np.where(other, -1, 1))
    intr = d["individual_ids"][:, 0] == 1
    assert np.array_equal(d["frames"][intr], np.flatnonzero(~other))


class _MarkerPayload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_code_in_calms21_labels_is_refused(dataset, tmp_path):
    from mosaic.core.errors import UnsafePickleError

    marker = tmp_path / "MARKER"
    data = _calms(n_seq=1, T=10)
    data["annotator-id_0"]["task1/train/mouse001_task1_annotator1"]["metadata"]["evil"] = _MarkerPayload(marker)
    path = tmp_path / "calms21_task1_train.npy"
    np.save(path, data, allow_pickle=True)
    with pytest.raises(UnsafePickleError):
        convert_all_labels(dataset, params={"paths": [str(path)]})
    assert not marker.exists()
