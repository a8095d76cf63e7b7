"""Per-individual tags: save, CSV conversion (focal/category/multi), load, bad inputs."""

from __future__ import annotations

import json

import pytest

from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.labels import convert_id_tags_from_csv, load_id_labels, save_id_labels

from .helpers import snapshot


def test_save_and_load(dataset):
    p = save_id_labels(
        dataset, "id_tags", "G 1", "s/1", {0: {"sex": "F"}, "3": {"sex": "M", "weight": 2.5}}, metadata={"by": "me"}
    )
    assert p == dataset.get_root("labels") / "id_tags" / "G%201__s%2F1.json"
    doc = json.loads(p.read_text())
    assert doc["labels"] == {"0": {"sex": "F"}, "3": {"sex": "M", "weight": 2.5}}
    got = load_id_labels(dataset)
    assert set(got) == {("G 1", "s/1")}
    rec = got[("G 1", "s/1")]
    assert rec["labels"] == {0: {"sex": "F"}, 3: {"sex": "M", "weight": 2.5}} and rec["metadata"] == {"by": "me"}
    assert rec["sequence_safe"] == "s%2F1" and rec["path"] == p


def test_merge_conflict_and_overwrite(dataset):
    save_id_labels(dataset, "id_tags", "G", "S", {0: {"sex": "F"}})
    save_id_labels(dataset, "id_tags", "G", "S", {0: {"strain": "wt"}, 1: {"sex": "M"}})
    assert load_id_labels(dataset)[("G", "S")]["labels"] == {0: {"sex": "F", "strain": "wt"}, 1: {"sex": "M"}}
    before = snapshot(dataset.get_root("labels"))
    with pytest.raises(LabelFormatError, match="conflicts") as e:
        save_id_labels(dataset, "id_tags", "G", "S", {0: {"sex": "M"}})
    assert "G__S.json" in str(e.value)
    assert snapshot(dataset.get_root("labels")) == before
    save_id_labels(dataset, "id_tags", "G", "S", {0: {"sex": "M"}}, overwrite=True)
    assert load_id_labels(dataset)[("G", "S")]["labels"] == {0: {"sex": "M"}}


def test_focal_csv(dataset, tmp_path):
    csv = tmp_path / "focal.csv"
    csv.write_text("group,sequence,focal_id\nG,s1,2\nG,s2,0\nG,s2,1\n")
    paths = convert_id_tags_from_csv(dataset, csv, "focal", all_ids=[0, 1, 2])
    assert len(paths) == 2
    got = load_id_labels(dataset)
    assert got[("G", "s1")]["labels"] == {0: {"focal": False}, 1: {"focal": False}, 2: {"focal": True}}
    assert got[("G", "s2")]["labels"] == {0: {"focal": True}, 1: {"focal": True}, 2: {"focal": False}}
    assert set(load_id_labels(dataset, sequences=["s2"])) == {("G", "s2")}
    assert load_id_labels(dataset, groups="other") == {}


def test_category_and_multi_csv(dataset, tmp_path):
    cat = tmp_path / "cat.tsv"
    cat.write_text("group\tsequence\tid\tstrain\nG\ts1\t0\twt\nG\ts1\t4\tko\n")
    convert_id_tags_from_csv(dataset, cat, "category", category_column="strain", kind="strain")
    assert load_id_labels(dataset, kind="strain")[("G", "s1")]["labels"] == {0: {"strain": "wt"}, 4: {"strain": "ko"}}
    multi = tmp_path / "multi.csv"
    multi.write_text("group,sequence,animal,sex,treatment\nG,s1,0,F,drug\nG,s1,1,M,\n")
    convert_id_tags_from_csv(dataset, multi, "multi", id_column="animal")
    assert load_id_labels(dataset)[("G", "s1")]["labels"] == {0: {"sex": "F", "treatment": "drug"}, 1: {"sex": "M"}}
    convert_id_tags_from_csv(dataset, multi, "multi", id_column="animal", field_columns=["sex"], kind="sex_only")
    assert load_id_labels(dataset, kind="sex_only")[("G", "s1")]["labels"] == {0: {"sex": "F"}, 1: {"sex": "M"}}


@pytest.mark.parametrize(
    "case", ["focal_without_all_ids", "missing_column", "bad_id", "focal_not_in_all", "conflict", "csv_type"]
)
def test_bad_csv_writes_nothing(dataset, tmp_path, case):
    save_id_labels(dataset, "id_tags", "G", "s1", {0: {"sex": "F"}})
    before = snapshot(dataset.get_root("labels"))
    csv = tmp_path / "t.csv"
    kw = {}
    if case == "focal_without_all_ids":
        csv.write_text("group,sequence,focal_id\nG,s1,0\n")
        kw = {"csv_type": "focal"}
        err = ConfigError
    elif case == "missing_column":
        csv.write_text("group,focal_id\nG,0\n")
        kw = {"csv_type": "focal", "all_ids": [0]}
        err = LabelFormatError
    elif case == "bad_id":
        csv.write_text("group,sequence,id,category\nG,s2,0,a\nG,s2,x,b\n")
        kw = {"csv_type": "category"}
        err = LabelFormatError
    elif case == "focal_not_in_all":
        csv.write_text("group,sequence,focal_id\nG,s2,0\nG,s3,7\n")
        kw = {"csv_type": "focal", "all_ids": [0, 1]}
        err = LabelFormatError
    elif case == "conflict":
        csv.write_text("group,sequence,id,sex\nG,s2,0,M\nG,s1,0,M\n")
        kw = {"csv_type": "multi"}
        err = LabelFormatError
    else:
        csv.write_text("group,sequence,id\n")
        kw = {"csv_type": "table"}
        err = ConfigError
    with pytest.raises(err) as e:
        convert_id_tags_from_csv(dataset, csv, **kw)
    assert str(csv) in str(e.value) or "G__s1.json" in str(e.value)
    assert snapshot(dataset.get_root("labels")) == before


def test_category_csv_honours_all_ids(dataset, tmp_path):
    cat = tmp_path / "cat.csv"
    cat.write_text("group,sequence,id,strain\nG,s1,0,wt\nG,s1,4,ko\nG,s2,1,wt\n")
    convert_id_tags_from_csv(dataset, cat, "category", all_ids=[0, 1, 4], category_column="strain", kind="strain")
    got = load_id_labels(dataset, kind="strain")
    assert got[("G", "s1")]["labels"] == {0: {"strain": "wt"}, 1: {"strain": None}, 4: {"strain": "ko"}}
    assert got[("G", "s2")]["labels"] == {0: {"strain": None}, 1: {"strain": "wt"}, 4: {"strain": None}}
    # per-recording all_ids, and multi fills every field with None
    multi = tmp_path / "multi.csv"
    multi.write_text("group,sequence,id,sex,age\nG,s1,2,F,3\n")
    convert_id_tags_from_csv(dataset, multi, "multi", all_ids={"G/s1": [1, 2]}, kind="m")
    assert load_id_labels(dataset, kind="m")[("G", "s1")]["labels"] == {
        1: {"sex": None, "age": None},
        2: {"sex": "F", "age": "3"},
    }
    with pytest.raises(LabelFormatError, match="not among all_ids"):
        convert_id_tags_from_csv(dataset, cat, "category", all_ids=[0, 1], category_column="strain", kind="strain2")


def _legacy_tags_npz(path, ids, fields, meta):
    """An id-tags file as older datasets wrote it: object arrays (pickled inside the npz)."""
    import numpy as np

    payload = {"ids": np.asarray(ids, dtype=object)}
    payload.update({k: np.asarray(v, dtype=object) for k, v in fields.items()})
    payload.update({f"meta__{k}": np.asarray([v], dtype=object) for k, v in meta.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **payload)


def test_legacy_npz_id_tags_load(dataset):
    import numpy as np
    import pandas as pd

    folder = dataset.get_root("labels") / "id_tags"
    # indexed under an absolute path with a group name the file name would not give back
    a = folder / "old_name.npz"
    _legacy_tags_npz(
        a,
        [np.int64(0), 1, 2],
        {"focal": [True, False, False], "strain": ["wt", None, np.str_("ko")]},
        {"source_csv": "focal.csv"},
    )
    pd.DataFrame(
        [
            {
                "kind": "id_tags",
                "label_format": "id_tags_v1",
                "group": "cohort A",
                "sequence": "trial/1",
                "group_safe": "x",
                "sequence_safe": "y",
                "abs_path": str(a),
                "source_abs_path": "",
                "source_md5": "",
                "n_frames": 3,
                "label_ids": "0,1,2",
                "label_names": "focal,strain",
            }
        ]
    ).to_csv(folder / "index.csv", index=False)
    # not indexed: named <group>__<sequence>
    _legacy_tags_npz(folder / "G__S.npz", ["5"], {"sex": ["F"]}, {})
    got = load_id_labels(dataset)
    assert got[("cohort A", "trial/1")]["labels"] == {
        0: {"focal": True, "strain": "wt"},
        1: {"focal": False, "strain": None},
        2: {"focal": False, "strain": "ko"},
    }
    assert got[("cohort A", "trial/1")]["metadata"] == {"source_csv": "focal.csv"}
    assert got[("G", "S")]["labels"] == {5: {"sex": "F"}} and got[("G", "S")]["path"] == folder / "G__S.npz"
    # a JSON file of the same recording wins over the old npz
    save_id_labels(dataset, "id_tags", "G", "S", {5: {"sex": "M"}})
    assert load_id_labels(dataset)[("G", "S")]["labels"] == {5: {"sex": "M"}}


class _Boom:
    def __reduce__(self):
        return (print, ("code ran",))


def test_legacy_npz_with_code_is_refused(dataset, capsys):
    import numpy as np

    folder = dataset.get_root("labels") / "id_tags"
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "G__S.npz", ids=np.asarray([0], dtype=object), evil=np.asarray([_Boom()], dtype=object))
    with pytest.raises(LabelFormatError, match="not a readable id tags") as ei:
        load_id_labels(dataset)
    assert "G__S.npz" in str(ei.value) and "builtins.print is not allowed" in str(ei.value)
    assert "code ran" not in capsys.readouterr().out
