"""Readers refuse a file that records another recording (or run) than the one asked for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import IdentityError, MosaicError
from mosaic.core.indexes import read_index, write_index

from .synth import write_trex


@pytest.fixture
def two_recordings(dataset):
    root = dataset.folder / "tracks_raw" / "trex"
    write_trex(root / "gA", "vid1", {0: (0, 9), 1: (0, 9)}, seed=1)
    write_trex(root / "gA", "vid2", {0: (0, 19)}, seed=2)
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    dataset.convert_all_tracks()
    return dataset


def _point(index_path, schema, src: tuple[str, str], dst: tuple[str, str]) -> None:
    """Edit ``index_path`` so that the row of ``src`` lists the file of ``dst``."""
    idx = read_index(index_path, schema)
    other = idx.loc[(idx["group"] == dst[0]) & (idx["sequence"] == dst[1]), "abs_path"].iloc[0]
    idx.loc[(idx["group"] == src[0]) & (idx["sequence"] == src[1]), "abs_path"] = other
    write_index(index_path, idx, schema)


def test_load_tracks_refuses_another_recordings_file(two_recordings):
    from mosaic.core.indexes import TRACKS_INDEX

    ds = two_recordings
    good = ds.load_tracks("gA", "vid1")
    assert set(good["sequence"].astype(str)) == {"vid1"} and len(good) == 20
    _point(ds.get_root("tracks") / "index.csv", TRACKS_INDEX, ("gA", "vid1"), ("gA", "vid2"))
    with pytest.raises(IdentityError) as ei:
        ds.load_tracks("gA", "vid1")
    msg = str(ei.value)
    assert "gA__vid2.parquet" in msg and "'vid1'" in msg and "vid2" in msg
    assert isinstance(ei.value, MosaicError)


def test_read_tracks_checks_name_columns_when_metadata_is_absent(tmp_path):
    from mosaic.tracks import read_tracks

    df = pd.DataFrame(
        {
            "frame": np.arange(3),
            "time": np.arange(3) / 10.0,
            "id": 0,
            "X": 1.0,
            "Y": 2.0,
            "group": "g",
            "sequence": "other",
        }
    )
    p = tmp_path / "t.parquet"
    df.to_parquet(p, index=False)
    assert len(read_tracks(p, group="g", sequence="other")) == 3
    with pytest.raises(IdentityError, match="other"):
        read_tracks(p, group="g", sequence="s")


def test_load_labels_refuses_another_recordings_file(dataset):
    from mosaic.labels import LabelSet, load_labels
    from mosaic.labels.io import LABELS_INDEX, labels_index_path, save_label_sets

    sets = [
        LabelSet(
            group="g",
            sequence=s,
            frames=np.arange(4, dtype=np.int32),
            labels=np.array([0, 1, 1, 0], np.int32),
            individual_ids=np.full((4, 2), -1, np.int32),
            label_ids=np.array([0, 1], np.int32),
            label_names=np.array(["a", "b"]),
            fps=30.0,
        )
        for s in ("s1", "s2")
    ]
    save_label_sets(dataset, "behavior", sets)
    assert load_labels(dataset, "g", "s1")["sequence"] == "s1"
    _point(labels_index_path(dataset, "behavior"), LABELS_INDEX, ("g", "s1"), ("g", "s2"))
    with pytest.raises(IdentityError, match="s2"):
        load_labels(dataset, "g", "s1")


def test_load_feature_refuses_another_recordings_or_runs_file(two_recordings):
    from mosaic.features.engine import FEATURES_INDEX, feature_index_path, iter_feature

    ds = two_recordings
    res = ds.run_feature({"name": "kinematics", "params": {"outputs": ["speed"]}})
    df = ds.load_feature("kinematics", res.run_id)
    assert set(df["sequence"]) == {"vid1", "vid2"}
    # each file records its identity and what it was computed from
    import json

    import pyarrow.parquet as pq

    from mosaic.core.run_ids import file_fingerprint

    f = ds.get_root("features") / "kinematics" / res.run_id / "gA__vid1.parquet"
    info = json.loads(pq.read_schema(f).metadata[b"mosaic"])
    assert (info["feature"], info["run_id"], info["group"], info["sequence"]) == (
        "kinematics",
        res.run_id,
        "gA",
        "vid1",
    )
    assert info["inputs"] == [
        {"tracks": "tracks/gA__vid1.parquet", "fingerprint": file_fingerprint(ds.folder / "tracks/gA__vid1.parquet")}
    ]
    path = feature_index_path(ds, "kinematics")
    _point(path, FEATURES_INDEX, ("gA", "vid1"), ("gA", "vid2"))
    with pytest.raises(IdentityError) as ei:
        ds.load_feature("kinematics", res.run_id)
    assert "vid2" in str(ei.value) and "vid1" in str(ei.value)
    # a file of another run of the same recording is refused too
    idx = read_index(path, FEATURES_INDEX)
    idx.loc[:, "run_id"] = "0123456789ab"
    write_index(path, idx, FEATURES_INDEX)
    with pytest.raises(IdentityError, match="run_id"):
        next(iter_feature(ds, "kinematics", "0123456789ab", sequences=["vid2"]))


def test_features_refuse_to_compute_from_another_recordings_tracks(two_recordings):
    """A feature run reads its inputs through the tracks index: a misdirected row is refused, not relabelled."""
    from mosaic.core.indexes import TRACKS_INDEX

    ds = two_recordings
    _point(ds.get_root("tracks") / "index.csv", TRACKS_INDEX, ("gA", "vid1"), ("gA", "vid2"))
    with pytest.raises(MosaicError) as ei:
        ds.run_feature({"name": "kinematics", "params": {"outputs": ["speed"]}})
    assert "gA__vid2.parquet" in str(ei.value) and "vid1" in str(ei.value)
