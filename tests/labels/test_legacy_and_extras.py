"""Labels of older datasets (comma-separated index lists, pickled npz) and extra index columns / npz keys."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import LabelFormatError
from mosaic.labels import (
    LabelSet,
    convert_labels_custom,
    get_label_map,
    load_labels,
    read_label_npz,
    read_labels_index,
    save_label_sets,
    write_label_npz,
)


def _legacy_index(dataset, rows):
    folder = dataset.get_root("labels") / "behavior"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "index.csv", index=False)
    return folder / "index.csv"


def _write(dataset, g, s, names=("attack", "investigation", "mount", "other")):
    path = dataset.get_root("labels") / "behavior" / f"{g}__{s}.npz"
    write_label_npz(
        path,
        LabelSet(
            g,
            s,
            np.arange(3),
            np.array([0, 1, 3]),
            np.tile([[0, 1]], (3, 1)),
            np.arange(len(names)),
            np.array(names),
            fps=30.0,
        ),
    )
    return path


def test_comma_separated_index_lists_read(dataset):
    p = _write(dataset, "task1", "seq 1")
    idx = _legacy_index(
        dataset,
        [
            {  # the columns an older dataset wrote: no n_events, absolute path, source columns
                "kind": "behavior",
                "label_format": "calms21_behavior_v1",
                "group": "task1",
                "sequence": "seq 1",
                "group_safe": "task1",
                "sequence_safe": "seq%201",
                "abs_path": str(p),
                "source_abs_path": "/old/calms21.npy",
                "source_md5": "",
                "n_frames": 3,
                "label_ids": "0,1,2,3",
                "label_names": "attack,investigation,mount,other",
            }
        ],
    )
    df = read_labels_index(dataset, "behavior")
    assert json.loads(df["label_ids"].iloc[0]) == [0, 1, 2, 3]
    assert json.loads(df["label_names"].iloc[0]) == ["attack", "investigation", "mount", "other"]
    assert df["source_abs_path"].iloc[0] == "/old/calms21.npy" and pd.isna(df["n_events"].iloc[0])
    assert get_label_map(dataset, "behavior") == {0: "attack", 1: "investigation", 2: "mount", 3: "other"}
    assert load_labels(dataset, "task1", "seq 1")["labels"].tolist() == [0, 1, 3]
    # writing into the old index upgrades it in place and keeps its rows and extra columns
    save_label_sets(
        dataset,
        "behavior",
        [
            LabelSet(
                "task1",
                "seq 2",
                [0],
                [2],
                [[0, 1]],
                np.arange(4),
                np.array(["attack", "investigation", "mount", "other"]),
                fps=30.0,
            )
        ],
    )
    raw = pd.read_csv(idx, dtype=str, keep_default_na=False)
    assert sorted(raw["sequence"]) == ["seq 1", "seq 2"] and "source_abs_path" in raw.columns
    assert set(raw["label_names"]) == {json.dumps(["attack", "investigation", "mount", "other"])}
    assert get_label_map(dataset, "behavior")[2] == "mount"


def test_bad_list_cell_is_named(dataset):
    _legacy_index(
        dataset, [{"group": "g", "sequence": "s", "abs_path": "x.npz", "label_ids": "[0, 1", "label_names": "a,b"}]
    )
    with pytest.raises(LabelFormatError, match="label_ids in the labels index is not a list") as ei:
        read_labels_index(dataset, "behavior")
    assert "index.csv" in str(ei.value) and "'g'" in str(ei.value)


def _extras_converter(dataset, labels_root, existing_pairs, overwrite):
    ls = LabelSet(
        "G",
        "a",
        np.array([2, 0, 1]),
        np.zeros(3),
        np.tile([[1, -1]], (3, 1)),
        [0],
        ["walk"],
        fps=25.0,
        extra={
            "confidence": np.array([0.2, 0.9, 0.5]),
            "annotator": "kim",
            "codes": np.array(["x", "y", "z"], dtype=object),
        },
    )
    write_label_npz(labels_root / "G__a.npz", ls)
    return [
        {
            "group": "G",
            "sequence": "a",
            "abs_path": "G__a.npz",
            "annotator": "kim",
            "session": 3,
            "tags": ["night", "pilot"],
        }
    ]


def test_custom_converter_keeps_extra_columns_and_npz_keys(dataset):
    assert convert_labels_custom(dataset, _extras_converter) == 1
    row = read_labels_index(dataset, "behavior").iloc[0]
    assert row["annotator"] == "kim" and int(row["session"]) == 3 and json.loads(row["tags"]) == ["night", "pilot"]
    assert row["n_events"] == 3
    d = load_labels(dataset, "G", "a")
    assert d["frames"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(d["confidence"], [0.9, 0.5, 0.2])  # per-row extras follow the row order
    assert str(d["annotator"]) == "kim" and d["codes"].tolist() == ["y", "z", "x"] and d["codes"].dtype.kind == "U"
    # extras never clash with the format or hold objects
    with pytest.raises(LabelFormatError, match="clashes"):
        write_label_npz(dataset.folder / "x.npz", LabelSet("G", "b", [0], [0], [[0, -1]], [0], ["w"], extra={"fps": 3}))
    with pytest.raises(LabelFormatError, match="Python objects"):
        write_label_npz(
            dataset.folder / "x.npz", LabelSet("G", "b", [0], [0], [[0, -1]], [0], ["w"], extra={"m": np.array([{}])})
        )


def test_pickled_label_npz_refused_with_resave_hint(dataset, tmp_path):
    # how older datasets wrote label names: an object array, i.e. a pickle inside the npz
    p = tmp_path / "G__old.npz"
    np.savez_compressed(
        p,
        group="G",
        sequence="old",
        frames=np.arange(3, dtype=np.int32),
        labels=np.array([0, 1, 0]),
        label_ids=np.array([0, 1]),
        label_names=np.array(["rest", "walk"], dtype=object),
    )
    with pytest.raises(LabelFormatError) as ei:
        read_label_npz(p)
    msg = str(ei.value)
    assert "pickled" in msg and "label_names" in msg and str(p) in msg
    assert "np.asarray(d['label_names'], dtype=str)" in msg and "np.savez(path, **d)" in msg
    # the hint works: re-saved with string arrays, the (dense) file reads
    d = dict(np.load(p, allow_pickle=True))
    d["label_names"] = np.asarray(d["label_names"], dtype=str)
    np.savez(p, **d)
    back = read_label_npz(p)
    assert back["label_names"].tolist() == ["rest", "walk"] and back["individual_ids"].tolist() == [[-1, -1]] * 3
