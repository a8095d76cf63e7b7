"""index_tracks_raw, convert_one_track / convert_all_tracks / load_tracks through the facade."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import BatchError, ConfigError, NameCollisionError, SequenceNotFoundError, TrackFormatError
from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, read_index
from mosaic.tracks import read_tracks, read_tracks_meta
from tests.conftest import realdata_file

from .synth import calms21_dict, write_calms21_npy, write_dlc_csv, write_trex


@pytest.fixture
def trex_ds(dataset):
    """Two groups of TRex exports under tracks_raw/trex/<group>/ (cm_per_pixel 0.5, 25 fps in the files)."""
    root = dataset.folder / "tracks_raw" / "trex"
    write_trex(root / "gA", "vid1", {0: (0, 9), 1: (2, 9)}, seed=1)
    write_trex(root / "gA", "vid2", {0: (0, 4)}, seed=2)
    write_trex(root / "gB", "vid1", {0: (0, 5), 1: (0, 5), 2: (1, 3)}, seed=3)
    return dataset


def test_index_tracks_raw_trex(trex_ds):
    ds = trex_ds
    path = ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    assert path == ds.folder / "tracks_raw" / "index.csv"
    idx = read_index(path, TRACKS_RAW_INDEX)
    assert len(idx) == 6
    assert sorted(set(zip(idx["group"], idx["sequence"]))) == [("gA", "vid1"), ("gA", "vid2"), ("gB", "vid1")]
    assert all(not p.startswith("/") for p in idx["abs_path"])  # relative to the dataset
    assert (idx["md5"] == "").all() and (idx["src_format"] == "trex_npz").all()
    assert (idx["size_bytes"] > 0).all()
    before = path.read_text()
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    assert path.read_text() == before  # idempotent


def test_index_keeps_other_formats_md5_exclude_and_pattern(trex_ds):
    ds = trex_ds
    write_calms21_npy(ds.folder / "tracks_raw" / "calms" / "cm.npy", calms21_dict(1, 5))
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", exclude_patterns=["*vid2*"], compute_md5=True)
    ds.index_tracks_raw(
        ["tracks_raw/calms"], src_format="calms21_npy", multi_sequences_per_file=True, group_from="filename"
    )
    idx = read_index(ds.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)
    assert len(idx) == 5 + 1
    trex = idx[idx["src_format"] == "trex_npz"]
    assert not trex["abs_path"].str.contains("vid2").any()
    import hashlib

    p0 = ds.resolve_path(trex["abs_path"].iloc[0])
    assert trex["md5"].iloc[0] == hashlib.md5(p0.read_bytes()).hexdigest()
    cm = idx[idx["src_format"] == "calms21_npy"].iloc[0]
    assert cm["group"] == "cm" and cm["sequence"] == ""
    # group_pattern on the stripped sequence name; replaces the rows of those files. Over both
    # folders it would name gA/vid1 and gB/vid1 alike (one recording of five files): refused
    with pytest.raises(NameCollisionError):
        ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_pattern=r"^(vid)\d")
    ds.index_tracks_raw("tracks_raw/trex/gA", src_format="trex_npz", group_pattern=r"^(vid)\d")
    idx = read_index(ds.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)
    trex = idx[idx["src_format"] == "trex_npz"]
    assert set(trex["group"]) == {"vid", "gB"} and len(trex) == 6 and (idx["src_format"] == "calms21_npy").sum() == 1


def test_index_errors(trex_ds):
    with pytest.raises(ConfigError):
        trex_ds.index_tracks_raw("tracks_raw/trex", src_format="nope")
    with pytest.raises(ConfigError) as ei:
        trex_ds.index_tracks_raw("no/such/dir", src_format="trex_npz")
    assert "no/such/dir" in str(ei.value)
    with pytest.raises(ConfigError) as ei:
        trex_ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_pattern=r"^(zzz)")
    assert ".npz" in str(ei.value)


def test_convert_all_load_skip_overwrite(trex_ds):
    ds = trex_ds
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    report = ds.convert_all_tracks()
    assert sorted(report["converted"]) == ["gA__vid1", "gA__vid2", "gB__vid1"] and not report["failed"]
    idx = read_index(ds.folder / "tracks" / "index.csv", TRACKS_INDEX)
    row = idx[(idx["group"] == "gB") & (idx["sequence"] == "vid1")].iloc[0]
    assert row["n_rows"] == 6 + 6 + 3 and row["n_ids"] == 3 and row["n_frames"] == 6 and row["fps"] == 25.0
    assert row["schema"] == "trex_v1" and row["src_format"] == "trex_npz" and row["cm_per_pixel"] == 0.5
    assert json.loads(row["source_files"]) == [f"tracks_raw/trex/gB/vid1_fish{k}.npz" for k in range(3)]
    out = ds.resolve_path(row["abs_path"])
    meta = read_tracks_meta(out)
    assert meta["fps"] == 25.0 and meta["src_format"] == "trex_npz" and meta["schema"] == "trex_v1"
    df = ds.load_tracks("gB", "vid1")
    assert len(df) == 15 and list(df.columns[:7]) == ["frame", "time", "id", "X", "Y", "group", "sequence"]
    assert ds.list_pairs() == [("gA", "vid1"), ("gA", "vid2"), ("gB", "vid1")]
    mtime = out.stat().st_mtime_ns
    again = ds.convert_all_tracks()
    assert again["converted"] == [] and len(again["skipped"]) == 3 and out.stat().st_mtime_ns == mtime
    assert ds.convert_all_tracks(overwrite=True)["converted"] == ["gA__vid1", "gA__vid2", "gB__vid1"]
    report_file = ds.folder / "tracks" / "conversion_report.json"
    assert json.loads(report_file.read_text())["converted"] == ["gA__vid1", "gA__vid2", "gB__vid1"]


def test_convert_one_track_merges_siblings(trex_ds):
    ds = trex_ds
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    raw = read_index(ds.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)
    row = raw[(raw["group"] == "gA") & (raw["sequence"] == "vid1")].iloc[0]
    path = ds.convert_one_track(row)
    assert path.name == "gA__vid1.parquet"
    assert set(read_tracks(path)["id"]) == {0, 1}
    assert ds.convert_one_track(row) == path  # exists → returned untouched


def test_batch_errors_good_files_written_bad_listed(trex_ds):
    ds = trex_ds
    bad = ds.folder / "tracks_raw" / "trex" / "gA" / "vid2_fish0.npz"
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    bad.write_bytes(b"corrupt")
    with pytest.raises(BatchError) as ei:
        ds.convert_all_tracks()
    assert "vid2_fish0.npz" in str(ei.value) and "conversion_report.json" in str(ei.value)
    assert (ds.folder / "tracks" / "gA__vid1.parquet").exists() and (ds.folder / "tracks" / "gB__vid1.parquet").exists()
    assert not (ds.folder / "tracks" / "gA__vid2.parquet").exists()
    rep = json.loads((ds.folder / "tracks" / "conversion_report.json").read_text())
    assert len(rep["failed"]) == 1 and "vid2_fish0.npz" in next(iter(rep["failed"].values()))
    assert ds.list_pairs() == [("gA", "vid1"), ("gB", "vid1")]
    with pytest.warns(UserWarning, match="failed to convert"):
        rep = ds.convert_all_tracks(on_error="skip")
    assert len(rep["failed"]) == 1


def test_failed_overwrite_keeps_old_file(trex_ds):
    ds = trex_ds
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    ds.convert_all_tracks()
    out = ds.folder / "tracks" / "gA__vid2.parquet"
    before = out.read_bytes()
    (ds.folder / "tracks_raw" / "trex" / "gA" / "vid2_fish0.npz").write_bytes(b"x")
    with pytest.raises(BatchError):
        ds.convert_all_tracks(overwrite=True)
    assert out.read_bytes() == before
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".") and ".tmp-" in p.name]


def test_unknown_src_format_in_index_fails_named(dataset):
    dataset.get_root("tracks_raw").mkdir(parents=True, exist_ok=True)
    f = dataset.folder / "tracks_raw" / "x.dat"
    f.write_text("x")
    pd.DataFrame(
        [
            {
                "group": "g",
                "sequence": "s",
                "group_safe": "g",
                "sequence_safe": "s",
                "abs_path": "tracks_raw/x.dat",
                "src_format": "weird",
                "size_bytes": 1,
                "mtime_iso": "",
                "md5": "",
            }
        ]
    ).to_csv(dataset.folder / "tracks_raw" / "index.csv", index=False)
    with pytest.raises(BatchError) as ei:
        dataset.convert_all_tracks()
    assert "x.dat" in str(ei.value) and "weird" in str(ei.value)


def test_duplicate_recording_from_two_sources_is_an_error(dataset):
    xyl = np.random.default_rng(0).uniform(0, 1, (4, 1, 2, 3))
    d = dataset.folder / "tracks_raw" / "dlc" / "g"
    write_dlc_csv(d / "vDLC_a.csv", xyl)
    write_dlc_csv(d / "vDLC_b.csv", xyl)
    dataset.index_tracks_raw("tracks_raw/dlc", src_format="dlc")
    with pytest.raises(BatchError) as ei:
        dataset.convert_all_tracks(params={"fps": 30})
    assert "same recording" in str(ei.value)
    assert (dataset.folder / "tracks" / "g__v.parquet").exists()


def test_load_tracks_auto_convert_raw_and_missing(trex_ds):
    ds = trex_ds
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    with pytest.raises(SequenceNotFoundError) as ei:
        ds.load_tracks("gA", "vid1", auto_convert=False)
    assert "gA__vid1.parquet" in str(ei.value)
    raw_df = ds.load_tracks("gA", "vid1", prefer="raw")
    assert not (ds.folder / "tracks" / "gA__vid1.parquet").exists()  # prefer='raw' writes nothing
    df = ds.load_tracks("gA", "vid1")
    assert (ds.folder / "tracks" / "gA__vid1.parquet").exists()
    pd.testing.assert_frame_equal(df.drop(columns=["group", "sequence"]), raw_df.drop(columns=["group", "sequence"]))
    with pytest.raises(SequenceNotFoundError):
        ds.load_tracks("nope", "nothing")


def test_calms21_multi_sequence_convert_and_skip(dataset):
    write_calms21_npy(dataset.folder / "tracks_raw" / "calms21" / "c.npy", calms21_dict(3, 6))
    dataset.index_tracks_raw("tracks_raw/calms21", src_format="calms21_npy", multi_sequences_per_file=True)
    raw = read_index(dataset.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)
    paths = dataset.convert_one_track(raw.iloc[0], params={"fps": 30})
    assert len(paths) == 3 and all(p.exists() for p in paths)
    rep = dataset.convert_all_tracks(params={"fps": 30})
    assert rep["converted"] == [] and len(rep["skipped"]) == 3
    df = dataset.load_tracks("annotator-id_0", "task1/train/mouse002_task1_annotator1")
    assert len(df) == 12


def test_dataset_meta_supplies_fps(dataset):
    dataset.meta["fps_default"] = 50.0
    dataset.save()
    xyl = np.random.default_rng(0).uniform(0, 1, (4, 1, 2, 3))
    write_dlc_csv(dataset.folder / "tracks_raw" / "dlc" / "g" / "vDLC_a.csv", xyl)
    dataset.index_tracks_raw("tracks_raw/dlc", src_format="dlc")
    dataset.convert_all_tracks()
    df = dataset.load_tracks("g", "v")
    np.testing.assert_allclose(df["time"], np.arange(4) / 50.0)
    # a per-format block wins over the dataset meta
    dataset.convert_all_tracks(params={"dlc": {"fps": 10}}, overwrite=True)
    np.testing.assert_allclose(dataset.load_tracks("g", "v")["time"], np.arange(4) / 10.0)


def test_trex_missing_params_fail_named_in_batch(dataset):
    write_trex(dataset.folder / "tracks_raw" / "trex" / "g", "v", {0: (0, 3)}, cm_per_pixel=None, fps=None)
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz")
    with pytest.raises(BatchError) as ei:
        dataset.convert_all_tracks()
    assert "cm_per_pixel" in str(ei.value) and "v_fish0.npz" in str(ei.value)
    with pytest.raises(TrackFormatError):
        raw = read_index(dataset.folder / "tracks_raw" / "index.csv", TRACKS_RAW_INDEX)
        dataset.convert_one_track(raw.iloc[0])


# ---------------------------------------------------------------------------- value sources
def test_trex_csv_settings_calibration_beats_dataset_default(dataset, realdata):
    """The real TRex CSV export (cm_per_pixel = 1 in its settings) stays 635 px under a dataset default of 0.05."""
    import shutil
    import warnings

    src = realdata_file(realdata, "trex", "trex-2026-compare-csv")
    dst = dataset.folder / "tracks_raw" / "trex" / "g"
    shutil.copytree(src, dst)
    dataset.meta.update(cm_per_pixel=0.05, fps_default=25.0)
    dataset.save()
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_csv", patterns=["*.csv"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = dataset.convert_all_tracks(params={"trex_csv": {"require_xy": False}})
    df = dataset.load_tracks("g", "test")
    first = pd.read_csv(dst / "test_fish0.csv")
    assert first["X#wcentroid (cm)"][0] == 635
    sub = df[df["id"] == 0]
    np.testing.assert_allclose(sub["X"].to_numpy()[:5], first["X#wcentroid (cm)"].to_numpy()[:5] / 1.0)
    idx = pd.read_csv(dataset.folder / "tracks" / "index.csv")
    assert list(idx["cm_per_pixel"]) == [1.0] and list(idx["cm_per_pixel_source"]) == ["settings"]
    assert list(idx["fps_source"]) == ["dataset"]
    msgs = [str(w.message) for w in caught if "cm_per_pixel" in str(w.message)]
    assert len(msgs) == 1 and "settings" in msgs[0] and "0.05" in msgs[0] and "dataset" in msgs[0]
    assert report["calibration_conflicts"]["g__test"][0] == {
        "name": "cm_per_pixel",
        "used": 1.0,
        "used_source": "settings",
        "other": 0.05,
        "other_source": "dataset",
    }


def test_value_source_rule_is_one_rule_and_warns_once_per_run(dataset):
    """File beats explicit params beats dataset meta; one warning for many recordings that disagree alike."""
    import warnings

    for video in ("a", "b", "c"):
        write_trex(dataset.folder / "tracks_raw" / "trex" / "g", video, {0: (0, 4)}, cm_per_pixel=0.5, fps=30.0)
    dataset.meta.update(cm_per_pixel=0.05, fps_default=30.0)
    dataset.save()
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset.convert_all_tracks()
    msgs = [str(w.message) for w in caught if "cm_per_pixel" in str(w.message)]
    assert len(msgs) == 1 and "3 recording(s)" in msgs[0]
    assert not [w for w in caught if str(w.message).startswith("fps")]  # equal values are no conflict
    idx = pd.read_csv(dataset.folder / "tracks" / "index.csv")
    assert set(idx["cm_per_pixel_source"]) == {"file"} and set(idx["cm_per_pixel"]) == {0.5}
    assert set(idx["fps_source"]) == {"file"}
    # a DLC file carries no calibration: explicit params beat the dataset default, and the index says which
    xyl = np.random.default_rng(0).uniform(0, 1, (4, 1, 2, 3))
    write_dlc_csv(dataset.folder / "tracks_raw" / "dlc" / "g" / "vDLC_a.csv", xyl)
    dataset.index_tracks_raw("tracks_raw/dlc", src_format="dlc")
    dataset.convert_all_tracks(params={"dlc": {"cm_per_pixel": 0.2}})
    row = pd.read_csv(dataset.folder / "tracks" / "index.csv").set_index("sequence").loc["v"]
    assert (row["cm_per_pixel"], row["cm_per_pixel_source"], row["fps_source"]) == (0.2, "params", "dataset")


def test_dlc_unique_bodyparts_never_enter_pair_features(dataset, realdata):
    """The real multi-animal DLC file: 'single' (corner1/corner2) is no animal, so no animal's nearest neighbour."""
    import shutil

    src = realdata_file(
        realdata, "dlc", "dlc-testscript-multimouse", "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el.h5"
    )
    dst = dataset.folder / "tracks_raw" / "dlc" / "g"
    dst.mkdir(parents=True)
    shutil.copy(src, dst / "m3v1mp4short.h5")
    dataset.index_tracks_raw("tracks_raw/dlc", src_format="dlc", patterns=["*.h5"])
    dataset.convert_all_tracks(params={"fps": 30})
    idx = pd.read_csv(dataset.folder / "tracks" / "index.csv")
    assert list(idx["n_ids"]) == [3]
    dataset.run_feature("nearest_neighbor")
    out = dataset.load_feature("nearest_neighbor")
    assert set(out["id"]) == {0, 1, 2}
    nn = pd.to_numeric(out["nn1_id"], errors="coerce").dropna()
    assert len(nn) and set(nn.astype(int)) <= {0, 1, 2}
