"""convert_labels_custom: user converters, row/file validation, index bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

from mosaic.core.errors import LabelFormatError
from mosaic.labels import (
    LabelSet,
    convert_labels_custom,
    load_labels,
    read_labels_index,
    write_label_npz,
)

from .helpers import snapshot


def _set(g, s, n=4):
    return LabelSet(
        g, s, np.arange(n), np.zeros(n), np.column_stack([np.zeros(n), np.full(n, -1)]), [0], ["walk"], fps=25.0
    )


def good_converter(dataset, labels_root, existing_pairs, overwrite, recordings=(("G", "a"), ("G", "b"))):
    rows = []
    for g, s in recordings:
        if (g, s) in existing_pairs and not overwrite:
            continue
        name = f"{g}__{s}.npz"
        write_label_npz(labels_root / name, _set(g, s))
        rows.append({"group": g, "sequence": s, "abs_path": name, "n_frames": 10})
    return rows


def test_custom_converter_indexes_its_files(dataset):
    n = convert_labels_custom(dataset, good_converter)
    assert n == 2
    df = read_labels_index(dataset, "behavior")
    assert sorted(df["sequence"]) == ["a", "b"] and set(df["abs_path"]) == {
        "labels/behavior/G__a.npz",
        "labels/behavior/G__b.npz",
    }
    assert df["n_frames"].tolist() == [10, 10] and df["n_events"].tolist() == [4, 4]
    assert load_labels(dataset, "G", "a")["label_names"].tolist() == ["walk"]
    seen = {}

    def spy(dataset, labels_root, existing_pairs, overwrite, **kw):
        seen.update(existing=set(existing_pairs), overwrite=overwrite, kw=kw, root=labels_root)
        return []

    assert convert_labels_custom(dataset, spy, overwrite=True, flavour="x") == 0
    assert seen["existing"] == {("G", "a"), ("G", "b")} and seen["overwrite"] is True and seen["kw"] == {"flavour": "x"}
    assert seen["root"] == dataset.get_root("labels") / "behavior"


@pytest.mark.parametrize(
    "case",
    ["no_sequence", "missing_file", "bad_npz_keys", "bad_dtype", "not_a_mapping", "wrong_recording", "duplicate"],
)
def test_bad_rows_are_named_and_nothing_is_lost(dataset, case):
    convert_labels_custom(dataset, good_converter)
    snap = snapshot(dataset.get_root("labels"))

    def bad(dataset, labels_root, existing_pairs, overwrite):
        if case == "no_sequence":
            return [{"group": "G", "abs_path": "G__a.npz"}]
        if case == "missing_file":
            return [{"group": "G", "sequence": "c", "abs_path": "nowhere.npz"}]
        if case == "bad_npz_keys":
            np.savez(
                labels_root / "G__c.npz",
                frames=np.arange(3, dtype=np.int32),
                labels=np.zeros(3, np.int32),
                individual_ids=np.zeros((3, 2), np.int32),
            )
            return [{"group": "G", "sequence": "c", "abs_path": "G__c.npz"}]
        if case == "bad_dtype":
            d = _set("G", "c").to_arrays()
            d["individual_ids"] = d["individual_ids"].astype(np.float64)
            np.savez(labels_root / "G__c.npz", **d)
            return [{"group": "G", "sequence": "c", "abs_path": "G__c.npz"}]
        if case == "not_a_mapping":
            return ["G__a.npz"]
        if case == "wrong_recording":
            write_label_npz(labels_root / "G__c.npz", _set("G", "zzz"))
            return [{"group": "G", "sequence": "c", "abs_path": "G__c.npz"}]
        return [
            {"group": "G", "sequence": "a", "abs_path": "G__a.npz"},
            {"group": "G", "sequence": "a", "abs_path": "G__a.npz"},
        ]

    with pytest.raises(LabelFormatError) as e:
        convert_labels_custom(dataset, bad)
    msg = str(e.value)
    if case in ("bad_npz_keys", "bad_dtype", "wrong_recording"):
        assert "G__c.npz" in msg
    if case == "no_sequence":
        assert "lacks required fields" in msg and "sequence" in msg
    if case == "missing_file":
        assert "nowhere.npz" in msg
    after = snapshot(dataset.get_root("labels"))
    after.pop("behavior/G__c.npz", None)  # the user's own (bad) file may exist; ours are untouched
    assert after == snap
    assert sorted(read_labels_index(dataset, "behavior")["sequence"]) == ["a", "b"]
