"""Naming rules never merge two recordings' files nor split one recording's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mosaic.core.errors import ConfigError, NameCollisionError
from mosaic.core.indexes import TRACKS_RAW_INDEX, read_index
from mosaic.tracks.naming import individual_suffix, sequence_name

from .synth import write_trex


def test_newline_in_a_name_keeps_one_recording(dataset):
    root = dataset.folder / "tracks_raw" / "trex" / "g"
    write_trex(root, "s\nq", {0: (0, 9), 1: (0, 9)}, seed=4)
    assert sorted(p.name for p in root.iterdir()) == ["s\nq_fish0.npz", "s\nq_fish1.npz"]
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    idx = read_index(dataset.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)
    assert set(idx["sequence"]) == {"s\nq"}
    dataset.convert_all_tracks()
    df = dataset.load_tracks("g", "s\nq")
    assert sorted(df["id"].unique().tolist()) == [0, 1] and len(df) == 20


@pytest.mark.parametrize(
    "stem, expected",
    [
        ("s\nq_fish3", ("s\nq", 3)),
        ("a_fish12", ("a", 12)),
        ("a_fish1\n", None),
        ("a_fish", None),
        ("a\n_id2", ("a\n", 2)),
    ],
)
def test_individual_suffix_is_total(stem, expected):
    assert individual_suffix(stem) == expected


def test_dlc_scorer_cut_spans_newlines():
    assert sequence_name(Path("clip\nxDLC_resnet\n50.h5"), "dlc_h5") == "clip\nx"


def test_same_folder_name_in_two_parents_is_a_named_collision(dataset):
    root = dataset.folder / "tracks_raw" / "trex"
    write_trex(root / "dayA" / "session1", "arena", {0: (0, 9)}, seed=1)
    write_trex(root / "dayB" / "session1", "arena", {1: (0, 9)}, seed=2)
    with pytest.raises(NameCollisionError) as ei:
        dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    msg = str(ei.value)
    assert "dayA/session1/arena_fish0.npz" in msg and "dayB/session1/arena_fish1.npz" in msg
    assert "'session1'" in msg and "'arena'" in msg
    assert isinstance(ei.value, ConfigError)
    assert not (dataset.folder / "tracks_raw" / "index.csv").exists()  # nothing indexed
    # telling them apart by a pattern works
    dataset.index_tracks_raw("tracks_raw/trex/dayA", src_format="trex_npz", group_from="parent")
    with pytest.raises(NameCollisionError):  # adding the other folder later collides with the rows already indexed
        dataset.index_tracks_raw("tracks_raw/trex/dayB", src_format="trex_npz", group_from="parent")
    assert len(read_index(dataset.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)) == 1


def test_two_files_for_one_individual_is_a_named_collision(dataset):
    root = dataset.folder / "tracks_raw" / "trex" / "g"
    write_trex(root, "v", {0: (0, 9)}, seed=1)
    write_trex(root, "v", {0: (0, 9)}, seed=2, prefix="id")
    with pytest.raises(NameCollisionError) as ei:
        dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    assert "v_fish0.npz" in str(ei.value) and "v_id0.npz" in str(ei.value)


def test_hand_edited_index_never_merges_across_folders(dataset):
    """An index listing files of two folders under one name: converted as two sources, the clash reported."""
    import pandas as pd

    from mosaic.core.errors import BatchError
    from mosaic.core.indexes import write_index

    root = dataset.folder / "tracks_raw" / "trex"
    write_trex(root / "a", "v", {0: (0, 9)}, seed=1)
    write_trex(root / "b", "v", {1: (0, 9)}, seed=2)
    rows = [
        {
            "group": "g",
            "sequence": "v",
            "group_safe": "g",
            "sequence_safe": "v",
            "abs_path": f"tracks_raw/trex/{d}/v_fish{k}.npz",
            "src_format": "trex_npz",
            "size_bytes": 1,
            "mtime_iso": "",
            "md5": "",
        }
        for d, k in (("a", 0), ("b", 1))
    ]
    write_index(dataset.folder / "tracks_raw" / "index.csv", pd.DataFrame(rows), TRACKS_RAW_INDEX)
    with pytest.raises(BatchError, match="same recording"):
        dataset.convert_all_tracks()
    df = dataset.load_tracks("g", "v")
    assert df["id"].unique().tolist() == [0]  # one folder's file, not a merge of both
