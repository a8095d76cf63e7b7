"""Per-individual tags: save, CSV conversion (focal/category/multi), load, bad inputs."""
from __future__ import annotations

import json

import pytest

from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.labels import convert_id_tags_from_csv, load_id_labels, save_id_labels

from .helpers import snapshot


def test_save_and_load(dataset):
    p = save_id_labels(dataset, "id_tags", "G 1", "s/1", {0: {"sex": "F"}, "3": {"sex": "M", "weight": 2.5}}, metadata={"by": "me"})
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


@pytest.mark.parametrize("case", ["focal_without_all_ids", "missing_column", "bad_id", "focal_not_in_all", "conflict", "csv_type"])
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
