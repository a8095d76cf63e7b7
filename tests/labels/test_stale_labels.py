"""Labels record their annotation files' fingerprints: an edited export is converted again, and a
recording an edited export no longer holds loses its labels (never left looking current)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import SequenceNotFoundError
from mosaic.labels import convert_all_labels, load_labels, read_labels_index

from .helpers import write_aggregated

P = {"default_group": "g", "fps": 10}


def _bump(path):
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


@pytest.fixture
def exports(dataset, tmp_path):
    a = write_aggregated(tmp_path / "a.tsv", [("s1", "walk", 1.0, 2.0, "", "STATE")], obs="obsA", media="vidA.mp4")
    b = write_aggregated(tmp_path / "b.tsv", [("s1", "rest", 3.0, 4.0, "", "STATE")], obs="obsB", media="vidB.mp4")
    rep = convert_all_labels(dataset, params={"paths": [str(a), str(b)], **P})
    assert sorted(rep.written) == [("g", "vidA"), ("g", "vidB")]
    return dataset, a, b


def test_index_records_fingerprints(exports):
    ds, a, b = exports
    idx = read_labels_index(ds, "behavior")
    fps = json.loads(idx.set_index("sequence").loc["vidA", "source_fingerprints"])
    # a recording is tied to the export that holds it
    assert list(fps) == [ds.relative_path(a)] and all(set(v) == {"size", "mtime_ns", "sha256"} for v in fps.values())
    assert fps[ds.relative_path(a)]["size"] == a.stat().st_size


def test_editing_one_export_rewrites_only_its_recordings(exports):
    ds, a, b = exports
    before = (ds.get_root("labels") / "behavior" / "g__vidB.npz").read_bytes()
    write_aggregated(a, [("s1", "walk", 1.0, 3.0, "", "STATE")], obs="obsA", media="vidA.mp4")
    _bump(a)
    rep = convert_all_labels(ds, params={"paths": [str(a), str(b)], **P})
    assert rep.written == [("g", "vidA")] and rep.skipped == [("g", "vidB")] and list(rep.stale) == ["g/vidA"]
    assert (ds.get_root("labels") / "behavior" / "g__vidB.npz").read_bytes() == before


def test_unchanged_exports_are_skipped(exports):
    ds, a, b = exports
    _bump(a)  # touched, same content
    rep = convert_all_labels(ds, params={"paths": [str(a), str(b)], **P})
    assert rep.written == [] and sorted(rep.skipped) == [("g", "vidA"), ("g", "vidB")] and rep.stale == {}


def test_edited_export_is_converted_again(exports):
    ds, a, b = exports
    write_aggregated(a, [("s1", "walk", 1.0, 3.0, "", "STATE")], obs="obsA", media="vidA.mp4")
    _bump(a)
    rep = convert_all_labels(ds, params={"paths": [str(a), str(b)], **P})
    assert ("g", "vidA") in rep.written and "g/vidA" in rep.stale
    d = load_labels(ds, "g", "vidA")
    walk = int(d["label_ids"][d["label_names"].tolist().index("walk")])
    # 1.0-3.0 s at the file's 25 fps, stop exclusive (it was 1.0-2.0 s: frames 25-49)
    assert d["frames"][d["labels"] == walk].tolist() == list(range(25, 75))


def test_export_cut_to_its_header_removes_its_labels(exports):
    ds, a, b = exports
    a.write_text(a.read_text().splitlines()[0] + "\r\n", encoding="utf-8")
    _bump(a)
    rep = convert_all_labels(ds, params={"paths": [str(a), str(b)], **P})
    assert rep.removed == [("g", "vidA")] and "no longer hold" in rep.stale["g/vidA"]
    with pytest.raises(SequenceNotFoundError):
        load_labels(ds, "g", "vidA")
    assert not (ds.get_root("labels") / "behavior" / "g__vidA.npz").exists()
    assert load_labels(ds, "g", "vidB")["sequence"] == "vidB"
    assert set(read_labels_index(ds, "behavior")["sequence"]) == {"vidB"}
    saved = json.loads((ds.get_root("labels") / "behavior" / "conversion_report.json").read_text())
    assert saved["removed"] == [["g", "vidA"]]


def test_kedro_label_node_removes_and_rewrites_the_same_way(exports):
    from mosaic.datasets.npz_labels import LabelsIndexDataset, LabelsPartitionsDataset
    from mosaic.pipelines.label.nodes import convert_labels

    ds, a, b = exports
    a.write_text(a.read_text().splitlines()[0] + "\r\n", encoding="utf-8")
    _bump(a)
    tracks_index = pd.DataFrame(columns=["group", "sequence", "n_frames"])  # no tracks: lengths from the exports
    batch, same, also = convert_labels(tracks_index, None, ds, {"params": {"paths": [str(a), str(b)], **P}})
    assert same is batch and also is batch and len(batch.tasks) == 2
    assert set(read_labels_index(ds, "behavior")["sequence"]) == {"vidA", "vidB"}  # the node removes nothing
    root = ds.get_root("labels") / "behavior"
    LabelsPartitionsDataset(path=str(root)).save(batch)  # saving runs the batch: vidA removed, vidB current
    assert set(read_labels_index(ds, "behavior")["sequence"]) == {"vidB"}
    assert not (root / "g__vidA.npz").exists()
    saved = json.loads((root / "conversion_report.json").read_text())
    assert saved["removed"] == [["g", "vidA"]] and saved["skipped"] == [["g", "vidB"]] and saved["written"] == []
    # saving the index entry too finds the batch done: nothing runs twice
    (root / "conversion_report.json").unlink()
    LabelsIndexDataset(filepath=str(root / "index.csv"), dataset_dir=str(ds.folder)).save(batch)
    assert not (root / "conversion_report.json").exists()


def test_calms21_labels_tied_to_their_own_file(dataset, tmp_path):
    from .test_calms21 import _calms

    p1, p2 = tmp_path / "one.npy", tmp_path / "two.npy"
    np.save(p1, _calms(n_seq=1, T=8, seed=0, groups=("ann1",)), allow_pickle=True)
    np.save(p2, _calms(n_seq=1, T=8, seed=1, groups=("ann2",)), allow_pickle=True)
    convert_all_labels(dataset, params={"paths": [str(p1), str(p2)]})
    np.save(p2, _calms(n_seq=1, T=8, seed=2, groups=("ann2",)), allow_pickle=True)
    _bump(p2)
    rep = convert_all_labels(dataset, params={"paths": [str(p1), str(p2)]})
    assert [g for g, _ in rep.written] == ["ann2"] and [g for g, _ in rep.skipped] == ["ann1"]
