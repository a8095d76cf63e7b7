"""Index writers under one lock, only the dataset's own indexes rewritten, roots kept apart."""

from __future__ import annotations

import multiprocessing as mp
import threading

import pandas as pd
import pytest

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ManifestError
from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, index_lock, read_index, upsert_index, write_index

N_ROWS = 12


def _track_row(i: int, prefix: str) -> dict:
    return {
        "group": f"g{prefix}",
        "sequence": f"s{i:03d}",
        "group_safe": f"g{prefix}",
        "sequence_safe": f"s{i:03d}",
        "abs_path": f"/old/place/tracks/g{prefix}__s{i:03d}.parquet",
        "schema": "trex_v1",
        "src_format": "csv",
        "n_rows": 1,
        "n_frames": 1,
        "n_ids": 1,
        "fps": 30.0,
    }


def _raw_row(i: int, prefix: str) -> dict:
    return {
        "group": f"g{prefix}",
        "sequence": f"s{i:03d}",
        "group_safe": f"g{prefix}",
        "sequence_safe": f"s{i:03d}",
        "abs_path": f"/old/place/raw/{prefix}{i}.npz",
        "src_format": "trex_npz",
        "size_bytes": 1,
        "mtime_iso": "t",
        "md5": "",
    }


def _writer(kind: str, folder: str, prefix: str) -> None:
    """One writer of the race: upserts one row at a time, or rewrites/portables repeatedly."""
    ds = DatasetCore.open(folder)
    if kind == "upsert_tracks":
        for i in range(N_ROWS):
            upsert_index(ds.get_root("tracks") / "index.csv", [_track_row(i, prefix)], TRACKS_INDEX)
    elif kind == "index_tracks_raw":  # the raw-index writer's own read-merge-write under the lock
        from mosaic.core.indexes import TRACKS_RAW_INDEX as schema

        path = ds.get_root("tracks_raw") / "index.csv"
        for i in range(N_ROWS):
            with index_lock(path):
                old = read_index(path, schema, missing_ok=True)
                write_index(path, pd.concat([old, pd.DataFrame([_raw_row(i, prefix)])], ignore_index=True), schema)
    elif kind == "rewrite":
        for _ in range(N_ROWS):
            ds.rewrite_index_paths({"/old/place": "/new/place"})
    elif kind == "portable":
        for _ in range(N_ROWS):
            ds.make_portable()


def _dataset(tmp_path) -> DatasetCore:
    ds = DatasetCore.create(tmp_path / "d")
    write_index(ds.get_root("tracks") / "index.csv", pd.DataFrame([_track_row(999, "seed")]), TRACKS_INDEX)
    write_index(ds.get_root("tracks_raw") / "index.csv", pd.DataFrame([_raw_row(999, "seed")]), TRACKS_RAW_INDEX)
    return ds


WRITERS = ["upsert_tracks", "index_tracks_raw", "rewrite", "portable"]
PAIRS = [(a, b) for i, a in enumerate(WRITERS) for b in WRITERS[i:]]


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=[f"{a}-vs-{b}" for a, b in PAIRS])
def test_index_writers_race_without_losing_rows(tmp_path, a, b):
    """Each writer against each other writer, in two processes and two threads: no row is lost."""
    ds = _dataset(tmp_path)
    ctx = mp.get_context("fork")
    procs = [
        ctx.Process(target=_writer, args=(a, str(ds.folder), "p1")),
        ctx.Process(target=_writer, args=(b, str(ds.folder), "p2")),
    ]
    threads = [
        threading.Thread(target=_writer, args=(a, str(ds.folder), "t1")),
        threading.Thread(target=_writer, args=(b, str(ds.folder), "t2")),
    ]
    for w in procs + threads:
        w.start()
    for w in procs + threads:
        w.join(120)
    assert all(p.exitcode == 0 for p in procs)
    tracks = read_index(ds.get_root("tracks") / "index.csv", TRACKS_INDEX)
    raw = read_index(ds.get_root("tracks_raw") / "index.csv", TRACKS_RAW_INDEX)
    expected_tracks = {("gseed", "s999")}
    expected_raw = {("gseed", "s999")}
    for kind, prefix in ((a, "p1"), (b, "p2"), (a, "t1"), (b, "t2")):
        if kind == "upsert_tracks":
            expected_tracks |= {(f"g{prefix}", f"s{i:03d}") for i in range(N_ROWS)}
        if kind == "index_tracks_raw":
            expected_raw |= {(f"g{prefix}", f"s{i:03d}") for i in range(N_ROWS)}
    assert set(zip(tracks["group"], tracks["sequence"], strict=True)) == expected_tracks
    assert set(zip(raw["group"], raw["sequence"], strict=True)) == expected_raw
    if "rewrite" in (a, b):  # rows added after the last rewrite may keep the old prefix; the seed row was rewritten
        assert tracks.loc[tracks["group"] == "gseed", "abs_path"].iloc[0].startswith("/new/place/")


def test_rewrite_touches_only_own_indexes(tmp_path):
    """A raw root pointing at a shared folder with another project's index.csv: that file is never rewritten."""
    shared = tmp_path / "shared"
    (shared / "videos").mkdir(parents=True)
    foreign = shared / "index.csv"
    foreign.write_text('"abs_path","note"\n"/old/place/x.mp4","theirs"\n')
    foreign_tracks_like = shared / "videos" / "index.csv"  # a foreign index deeper down, even with our columns
    foreign_tracks_like.write_text(",".join(f'"{c}"' for c in TRACKS_INDEX.columns) + "\n")
    ds = _dataset(tmp_path)
    ds.set_root("media_raw", shared)
    ds.save()
    (ds.get_root("features") / "speed").mkdir()
    stray = ds.get_root("features") / "speed" / "notes" / "index.csv"
    stray.parent.mkdir()
    stray.write_text('"abs_path"\n"/old/place/y"\n')  # not at an index's place: not ours
    before = {p: p.read_bytes() for p in (foreign, foreign_tracks_like, stray)}
    own = ds.index_files()
    assert sorted(p.name + ":" + p.parent.name for p in own) == ["index.csv:tracks", "index.csv:tracks_raw"]
    report = ds.rewrite_index_paths({"/old/place": "/new/place"})
    assert set(report) == {str(p) for p in own}
    ds.make_portable()
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize(
    "roots",
    [
        {"tracks": ".", "features": "."},
        {"tracks": "out", "features": "out"},
        {"tracks": "out", "features": "out/feat"},
        {"tracks": ".", "features": "feat"},
        {"tracks_raw": "tracks", "tracks": "tracks"},
        {"media_raw": "shared", "media": "shared"},
    ],
)
def test_overlapping_roots_refused_at_load(tmp_path, roots):
    folder = tmp_path / "d"
    folder.mkdir()
    lines = "".join(f"  {k}: '{v}'\n" for k, v in roots.items())
    (folder / "dataset.yaml").write_text(f"name: x\nroots:\n{lines}")
    with pytest.raises(ManifestError, match="overlap") as ei:
        DatasetCore.open(folder)
    assert "dataset.yaml" in str(ei.value)


def test_overlapping_roots_through_a_link_refused(tmp_path):
    folder = tmp_path / "d"
    (folder / "features").mkdir(parents=True)
    (folder / "tracks").symlink_to(folder / "features", target_is_directory=True)
    (folder / "dataset.yaml").write_text("name: x\n")
    with pytest.raises(ManifestError, match="overlap"):
        DatasetCore.open(folder)


def test_raw_roots_may_share_a_folder(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "dataset.yaml").write_text("name: x\nroots:\n  media_raw: raw\n  tracks_raw: raw\n")
    ds = DatasetCore.open(folder)
    assert ds.get_root("media_raw") == ds.get_root("tracks_raw")
