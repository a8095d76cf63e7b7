"""The Dataset facade exposes the labels API with the library's signatures."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from mosaic import Dataset
from mosaic import labels as L

DATASET_LEVEL = [
    "convert_all_labels",
    "convert_labels_custom",
    "load_labels",
    "get_label_map",
    "get_labels_for_individual",
    "get_labels_at_frame",
    "get_labels_table",
    "save_id_labels",
    "convert_id_tags_from_csv",
    "load_id_labels",
]


@pytest.mark.parametrize("name", DATASET_LEVEL)
def test_facade_signature_matches_library(name):
    lib = list(inspect.signature(getattr(L, name)).parameters.values())[1:]  # drop ds
    fac = list(inspect.signature(getattr(Dataset, name)).parameters.values())[1:]  # drop self
    if name == "convert_id_tags_from_csv":
        lib = [p for p in lib if p.name != "kind"]
    assert [(p.name, p.default) for p in fac] == [(p.name, p.default) for p in lib]


def test_facade_delegates(dataset, tmp_path):
    assert isinstance(dataset, Dataset)
    rows = [(0, 1, -1, 0), (1, 1, -1, 0), (1, 2, -1, 1)]
    a = np.array(rows)
    L.save_label_sets(dataset, "behavior", [L.LabelSet("G", "S", a[:, 0], a[:, 3], a[:, 1:3], [0, 1], ["a", "b"])])
    assert dataset.get_label_map() == {0: "a", 1: "b"}
    d = dataset.load_labels("G", "S")
    assert dataset.get_labels_for_individual("G", "S", 2)["labels"].tolist() == [1]
    assert len(dataset.get_labels_at_frame("G", "S", 1)["frames"]) == 2
    assert dataset.get_labels_table("G", "S", individual_id=2)["label_name"].tolist() == ["b"]
    assert dataset.labels_to_dense(d, ids=[1, 2])["label"].tolist() == [0, -1, 0, 1]
    p = dataset.save_id_labels("id_tags", "G", "S", {1: {"sex": "F"}})
    assert dataset.load_id_labels()[("G", "S")]["path"] == p
    assert ("boris_csv", "*") in dataset.list_label_converters()
