"""Converted tracks record their raw files' fingerprints; edited raw files are converted again (or refused)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mosaic.core.errors import StaleOutputError
from mosaic.core.indexes import TRACKS_INDEX, read_index
from mosaic.tracks import read_tracks_meta

from .synth import calms21_dict, write_calms21_npy, write_trex


@pytest.fixture
def converted(dataset):
    root = dataset.folder / "tracks_raw" / "trex" / "g"
    write_trex(root, "v", {0: (0, 9), 1: (0, 9)}, seed=1)
    write_trex(root, "w", {0: (0, 4)}, seed=2)
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    dataset.convert_all_tracks()
    return dataset


def _edit_trex(path, seed):
    """Rewrite one TRex file with other positions (same size: only mtime and content differ)."""
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    rng = np.random.default_rng(seed)
    for k in ("X", "Y", "X#wcentroid", "Y#wcentroid"):
        d[k] = (d[k] + rng.uniform(1, 2, d[k].shape)).astype(d[k].dtype)
    with open(path, "wb") as fh:
        np.savez(fh, **d)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def _px(ds, name):
    """Expected X (px) of a TRex file written by ``write_trex``: centroid in cm / cm_per_pixel (0.5)."""
    with np.load(ds.folder / "tracks_raw/trex/g" / name) as z:
        return z["X#wcentroid"].astype(np.float64) / 0.5


def test_outputs_record_fingerprints_of_their_raw_files(converted):
    import hashlib

    ds = converted
    meta = read_tracks_meta(ds.folder / "tracks" / "g__v.parquet")
    fps = meta["source_fingerprints"]
    assert sorted(fps) == ["tracks_raw/trex/g/v_fish0.npz", "tracks_raw/trex/g/v_fish1.npz"]
    for rel, fp in fps.items():
        p = ds.folder / rel
        assert fp == {
            "size": p.stat().st_size,
            "mtime_ns": p.stat().st_mtime_ns,
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
        }
    idx = read_index(ds.folder / "tracks" / "index.csv", TRACKS_INDEX)
    assert json.loads(idx.set_index("sequence").loc["v", "source_fingerprints"]) == fps


def test_rerun_reconverts_only_what_changed(converted):
    ds = converted
    before_w = (ds.folder / "tracks" / "g__w.parquet").stat().st_mtime_ns
    old = ds.load_tracks("g", "v")
    _edit_trex(ds.folder / "tracks_raw/trex/g/v_fish1.npz", seed=9)
    rep = ds.convert_all_tracks()
    assert rep["converted"] == ["g__v"] and rep["skipped"] == ["g__w"]
    assert "v_fish1.npz" in rep["stale"]["g__v"] and "content changed" in rep["stale"]["g__v"]
    new = ds.load_tracks("g", "v")
    assert not np.allclose(old.loc[old["id"] == 1, "X"].to_numpy(), new.loc[new["id"] == 1, "X"].to_numpy())
    np.testing.assert_allclose(new.loc[new["id"] == 1, "X"].to_numpy(), _px(ds, "v_fish1.npz"), rtol=1e-6)
    np.testing.assert_allclose(new.loc[new["id"] == 0, "X"].to_numpy(), old.loc[old["id"] == 0, "X"].to_numpy())
    assert (ds.folder / "tracks" / "g__w.parquet").stat().st_mtime_ns == before_w
    assert ds.convert_all_tracks()["converted"] == []  # current again


def test_touched_but_identical_file_is_not_stale(converted):
    ds = converted
    p = ds.folder / "tracks_raw/trex/g/v_fish0.npz"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
    rep = ds.convert_all_tracks()
    assert rep["converted"] == [] and rep["stale"] == {}


def test_on_stale_raise_lists_stale_recordings_and_writes_nothing(converted):
    ds = converted
    _edit_trex(ds.folder / "tracks_raw/trex/g/v_fish0.npz", seed=3)
    out = ds.folder / "tracks" / "g__v.parquet"
    before = out.read_bytes()
    with pytest.raises(StaleOutputError) as ei:
        ds.convert_all_tracks(on_stale="raise")
    assert "g__v" in str(ei.value) and "v_fish0.npz" in str(ei.value) and "g__w" not in str(ei.value)
    assert out.read_bytes() == before


def test_a_new_individual_file_makes_the_recording_stale(converted):
    ds = converted
    write_trex(ds.folder / "tracks_raw" / "trex" / "g", "w", {0: (0, 4), 1: (0, 4)}, seed=2)  # adds w_fish1
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    rep = ds.convert_all_tracks()
    assert "g__w" in rep["converted"] and "added" in rep["stale"]["g__w"]
    assert sorted(ds.load_tracks("g", "w")["id"].unique().tolist()) == [0, 1]


def test_load_tracks_never_serves_stale_tracks(converted):
    ds = converted
    _edit_trex(ds.folder / "tracks_raw/trex/g/v_fish0.npz", seed=4)
    with pytest.raises(StaleOutputError, match="stale"):
        ds.load_tracks("g", "v", auto_convert=False)
    df = ds.load_tracks("g", "v")  # auto_convert: converted again
    np.testing.assert_allclose(df.loc[df["id"] == 0, "X"].to_numpy(), _px(ds, "v_fish0.npz"), rtol=1e-6)
    assert ds.convert_all_tracks()["stale"] == {}


def test_multi_sequence_file_edit_reconverts_its_recordings(dataset):
    p = write_calms21_npy(dataset.folder / "tracks_raw" / "calms" / "cm.npy", calms21_dict(2, 6, seed=0))
    dataset.index_tracks_raw("tracks_raw/calms", src_format="calms21_npy")
    rep = dataset.convert_all_tracks(params={"fps": 30})
    assert len(rep["converted"]) == 2
    assert dataset.convert_all_tracks(params={"fps": 30})["converted"] == []
    write_calms21_npy(p, calms21_dict(2, 6, seed=1))
    with pytest.raises(StaleOutputError):
        dataset.convert_all_tracks(params={"fps": 30}, on_stale="raise")
    rep = dataset.convert_all_tracks(params={"fps": 30})
    assert len(rep["converted"]) == 2 and len(rep["stale"]) == 2


def test_kedro_convert_node_uses_the_same_staleness_rules(converted):
    from mosaic.core.indexes import TRACKS_RAW_INDEX
    from mosaic.pipelines.convert.nodes import convert_tracks

    ds = converted
    _edit_trex(ds.folder / "tracks_raw/trex/g/w_fish0.npz", seed=5)
    raw = read_index(ds.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)
    with pytest.raises(StaleOutputError, match="g__w"):
        convert_tracks(raw, ds, {"on_stale": "raise"}).run()
    batch = convert_tracks(raw, ds, {})
    assert sorted(batch.partitions()) == ["g__w"]
    batch.run()  # what saving the node's output through the `tracks@parquet` dataset does
    assert ds.convert_all_tracks()["converted"] == []
