"""Cleaning a dataset (facade and `clean` pipeline), and features computed from cleaned tracks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import BatchError, ConfigError, SequenceNotFoundError
from mosaic.quality import clean_table, parse_tracks_source
from mosaic.tracks.io import read_tracks, read_tracks_meta

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A corrupted tiny demo (no videos), converted."""
    from mosaic import Dataset
    from mosaic.demo import make_demo_dataset

    folder = tmp_path_factory.mktemp("qdemo") / "ds"
    make_demo_dataset(folder, size="tiny", seed=0, videos=False, corruption=True)
    ds = Dataset.open(folder)
    ds.index_tracks_raw(
        ds.get_root("tracks_raw") / "trex", src_format="trex_npz", patterns="*.npz", group_from="parent"
    )
    ds.convert_all_tracks()
    return ds


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*")) if p.is_file()}


def test_clean_tracks_writes_a_run_and_leaves_standardized_tracks(demo):
    before = _hashes(demo.get_root("tracks"))
    res = demo.clean_tracks()
    assert _hashes(demo.get_root("tracks")) == before
    idx = demo.tracks_index()
    assert set(res["paths"]) == set(zip(idx["group"], idx["sequence"]))
    report = json.loads(res["report"].read_text())
    assert report["run_id"] == res["run_id"] and len(report["recordings"]) == len(idx)
    for (g, s), p in res["paths"].items():
        assert p.parent == demo.folder / "tracks_clean" / res["run_id"]
        out = read_tracks(p)
        src = demo.get_root("tracks") / p.name
        exp, rep = clean_table(read_tracks(src), None, read_tracks_meta(src))
        pd.testing.assert_frame_equal(out, exp)  # the same as the domain function on the loaded table
        assert out["interpolated"].dtype == bool
        rec = next(r for r in report["recordings"] if (r["group"], r["sequence"]) == (g, s))
        assert [st["n_changed"] for st in rec["steps"]] == [st["n_changed"] for st in rep["steps"]]
        meta = read_tracks_meta(p)
        assert meta["clean_run_id"] == res["run_id"] and meta["fps"] == read_tracks_meta(src)["fps"]
    total = {
        op: sum(st["n_changed"] for r in report["recordings"] for st in r["steps"] if st["op"] == op)
        for op in report["n_changed_total"]
    }
    assert total == report["n_changed_total"] and total["jumps"] > 0 and total["swaps"] > 0


def test_cleaned_demo_is_closer_to_the_truth(demo):
    res = demo.clean_tracks()
    gains = []
    for (g, s), p in res["paths"].items():
        from mosaic.core.safe_names import sequence_key

        truth = np.load(demo.folder / "ground_truth" / f"{sequence_key(g, s)}.npz")["pos"]
        raw = read_tracks(demo.get_root("tracks") / p.name)
        cln = read_tracks(p)

        def rmse(df, truth=truth, raw=raw):
            f, i = df["frame"].to_numpy(), df["id"].to_numpy()
            e = (df["X"].to_numpy() - truth[f, i, 0]) ** 2 + (df["Y"].to_numpy() - truth[f, i, 1]) ** 2
            seen = ~np.isnan(raw["X"].to_numpy())
            return np.sqrt(np.nanmean(e[seen]))

        gains.append(rmse(cln) / rmse(raw))
    assert np.mean(gains) < 0.5  # swaps, jumps and jitter repaired against the simulator's truth


def test_rerun_is_a_noop_and_params_change_the_run(demo):
    a = demo.clean_tracks()
    p = next(iter(a["paths"].values()))
    mtime = p.stat().st_mtime_ns
    b = demo.clean_tracks()
    assert b["skipped"] and b["run_id"] == a["run_id"] and p.stat().st_mtime_ns == mtime
    c = demo.clean_tracks(operations=[{"op": "interpolate", "max_gap": 3}], groups="group_0", parallel_mode="serial")
    assert c["run_id"] != a["run_id"] and {k[0] for k in c["paths"]} == {"group_0"}
    d = demo.clean_tracks(operations=[{"op": "interpolate", "max_gap": 3}], groups="group_0", overwrite=True)
    assert d["run_id"] == c["run_id"] and not d["skipped"]
    df = demo.load_clean_tracks("group_0", "group_0_seq0", run_id=c["run_id"])
    assert df["interpolated"].any()
    assert demo.clean_run_report(c["run_id"])["operations"] == [{"op": "interpolate", "max_gap": 3}]


def test_process_mode_gives_the_same_files(demo, tmp_path):
    ops = [{"op": "jumps"}, {"op": "interpolate", "max_gap": 5}]
    a = demo.clean_tracks(operations=ops, parallel_mode="thread", parallel_workers=2)
    files = {k: read_tracks(p) for k, p in a["paths"].items()}
    b = demo.clean_tracks(operations=ops, parallel_mode="process", parallel_workers=2, overwrite=True)
    for k, p in b["paths"].items():
        pd.testing.assert_frame_equal(read_tracks(p), files[k])


def test_bad_operations_and_sources(demo):
    with pytest.raises(ConfigError, match="unknown cleaning operation"):
        demo.clean_tracks(operations=[{"op": "smooth"}])
    with pytest.raises(ConfigError, match="unknown parameter"):
        demo.clean_tracks(operations=[{"op": "savgol", "window_length": 7}])
    with pytest.raises(ConfigError, match="mapping with 'op'"):
        demo.clean_tracks(operations=["jumps"])
    with pytest.raises(ConfigError, match="parallel_mode"):
        demo.clean_tracks(parallel_mode="gpu")
    with pytest.raises(SequenceNotFoundError, match="unknown group"):
        demo.clean_tracks(groups="nope")
    with pytest.raises(SequenceNotFoundError, match="unknown cleaning run"):
        demo.load_clean_tracks("group_0", "group_0_seq0", run_id="000000000000")
    with pytest.raises(ConfigError, match="tracks_source"):
        parse_tracks_source("cleaned")
    assert parse_tracks_source("clean:abc") == ("clean", "abc") and parse_tracks_source(None) == ("standardized", None)


def test_a_failing_recording_is_named(demo, tmp_path):
    from mosaic import Dataset

    copy = Dataset.open(demo.folder)
    res = copy.clean_tracks(operations=[{"op": "savgol", "window": 5000}], groups="group_0")  # longer than a recording
    rec = json.loads(res["report"].read_text())["recordings"][0]
    assert rec["steps"][0]["n_changed"] == 0 and "shorter than the window" in rec["steps"][0]["skipped"]
    bad = demo.folder / "tracks" / "group_1__group_1_seq1.parquet"
    saved = bad.read_bytes()
    try:
        bad.write_bytes(b"not parquet")
        with pytest.raises(BatchError) as ei:
            copy.clean_tracks(operations=[{"op": "jumps"}], overwrite=True)
        assert "group_1/group_1_seq1" in str(ei.value)
    finally:
        bad.write_bytes(saved)


def test_features_read_cleaned_tracks(demo):
    from mosaic.features import load_feature

    run = demo.clean_tracks()
    std = demo.run_feature("speed", groups="group_0")
    cln = demo.run_feature("speed", groups="group_0", tracks_source=f"clean:{run['run_id']}")
    latest = demo.run_feature("speed", groups="group_0", tracks_source="clean")
    assert cln.run_id != std.run_id and latest.run_id != std.run_id
    a = load_feature(demo, "speed", std.run_id)
    b = load_feature(demo, "speed", cln.run_id)
    # cleaning removed the jumps: the fastest speeds are gone
    assert np.nanquantile(b["speed_px_s"], 0.999) < 0.5 * np.nanquantile(a["speed_px_s"], 0.999)
    exp = read_tracks(run["paths"][("group_0", "group_0_seq0")])
    sub = b[b["sequence"] == "group_0_seq0"] if "sequence" in b else b
    assert len(sub) == len(exp)
    with pytest.raises(SequenceNotFoundError):
        demo.run_feature("speed", tracks_source="clean:ffffffffffff")


def test_quality_tables_and_plots(demo):
    tabs = demo.track_quality()
    ind = tabs["individuals"]
    idx = demo.tracks_index()
    assert len(ind) == int(idx["n_ids"].sum())
    assert ind["n_swaps"].sum() > 0 and ind["n_jumps"].sum() > 0
    out = demo.folder / "reporting" / "quality"
    assert (out / "individuals.csv").exists() and len(list(out.glob("*__missing.png"))) == len(idx)
    pd.testing.assert_frame_equal(pd.read_csv(out / "individuals.csv"), ind, check_dtype=False)
    # after cleaning: no swaps or jumps left, fewer gaps
    run = demo.clean_tracks()
    after = demo.track_quality(tracks_source=f"clean:{run['run_id']}", write=False)["individuals"]
    assert after["n_swaps"].sum() <= 0.2 * ind["n_swaps"].sum()
    assert after["n_jumps"].sum() <= 0.2 * ind["n_jumps"].sum()
    assert after["n_missing"].sum() < ind["n_missing"].sum()
    one = demo.quality_report("group_0", "group_0_seq0")
    pd.testing.assert_frame_equal(one.individuals, ind[ind["sequence"] == "group_0_seq0"].reset_index(drop=True))


def test_clean_pipeline_matches_the_facade(demo):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from mosaic.pipeline_registry import register_pipelines

    assert "clean" in register_pipelines() and not any(
        n.name == "clean_tracks" for n in register_pipelines()["__default__"].nodes
    )
    res = demo.clean_tracks()
    want = {k: read_tracks(p) for k, p in res["paths"].items()}
    want_meta = {k: read_tracks_meta(p) for k, p in res["paths"].items()}
    for p in res["paths"].values():
        p.unlink()
    bootstrap_project(PROJECT_DIR)
    with KedroSession.create(project_path=PROJECT_DIR, runtime_params={"dataset_dir": str(demo.folder)}) as session:
        session.run(pipeline_names=["clean"])
    report = json.loads((demo.folder / "tracks_clean" / "clean_report.json").read_text())
    assert report["run_id"] == res["run_id"]
    for k, p in res["paths"].items():
        pd.testing.assert_frame_equal(read_tracks(p), want[k])
        assert read_tracks_meta(p) == want_meta[k]
    facade = json.loads(res["report"].read_text())
    assert report["n_changed_total"] == facade["n_changed_total"]
    q = json.loads((demo.folder / "reporting" / "quality" / "track_quality_report.json").read_text())
    ind = demo.track_quality(write=False)["individuals"]
    got = pd.DataFrame(q["individuals"])
    assert len(got) == len(ind)
    np.testing.assert_allclose(got["frac_missing"].astype(float), ind["frac_missing"])
    assert got["n_swaps"].tolist() == ind["n_swaps"].tolist()
