"""Every per-recording stage gives the same outputs serially, in worker processes and on a Dask LocalCluster.

Stages: track conversion, cleaning, the feature plan, frame sampling and prediction, each run with
``parallel_mode`` = ``'serial'``, ``'process'`` and ``'dask'`` (one 2-worker loopback
``LocalCluster`` for the whole module) on copies of the demo dataset. Data files (parquet,
PNG) must be byte-identical, index files equal row by row (order included) up to their
timestamp columns, JSON files equal up to timings and timestamps.

A worker killed in the middle of writing a feature file leaves no partial output: Dask runs
the task again on a live worker, and with worker processes the run fails and a rerun completes.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mosaic.features.base import KEY_PAIR, Feature

pytestmark = pytest.mark.slow

MODES = ("serial", "process", "dask")
# timestamps, and the models index's digests of files that hold their creation time (config.json,
# compared itself without its timestamps)
TIME_COLUMNS = {"created_iso", "finished_at", "mtime_iso", "files_sha256"}
VOLATILE = {"created_iso", "finished_at", "stats", "timing", "select_s", "seconds", "report_path"}
ROOTS = ("tracks", "tracks_clean", "features", "frames", "models")


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as c:
        yield c


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def outputs(folder: Path) -> dict[str, object]:
    """``{relative path: comparable content}`` of every output file (hidden temp and lock files excluded)."""
    out: dict[str, object] = {}
    for root in ROOTS:
        for p in sorted((folder / root).rglob("*")):
            if not p.is_file() or p.name.startswith(".") or p.suffix == ".lock":
                continue
            rel = p.relative_to(folder).as_posix()
            if p.suffix == ".csv":
                df = pd.read_csv(p, dtype=str, keep_default_na=False)
                out[rel] = df.drop(columns=[c for c in df.columns if c in TIME_COLUMNS]).to_dict("split")
            elif p.suffix == ".json":
                out[rel] = _strip(json.loads(p.read_text(encoding="utf-8")))
            else:  # parquet, png, joblib: the bytes
                out[rel] = p.read_bytes()
    return out


def _run_stages(folder: Path, mode: str, address: str | None) -> None:
    from mosaic import Dataset
    from mosaic.features.plan import run_feature_plan
    from tests.reliability.stages_more import FEATURE_PLAN, _label
    from tests.reliability.stages_train import TRAIN_CONFIG

    ex = {"parallel_mode": mode, "parallel_workers": 2, "dask_address": address}
    ds = Dataset.open(folder)
    report = ds.convert_all_tracks(**ex)
    assert len(report["converted"]) >= 6 and not report["failed"]
    cleaned = ds.clean_tracks(**ex)
    assert len(cleaned["recordings"]) >= 6
    summary = run_feature_plan(ds, {**FEATURE_PLAN, **ex})
    ds.index_media(["media_raw"])
    ds.extract_frames(4, "uniform", **ex)
    _label(ds)
    feats = [{"feature": r["feature"], "run_id": r["run_id"], "as": r["key"]} for r in summary["results"]]
    run_id = ds.train_model("clf", {**TRAIN_CONFIG, "features": feats})
    ds.predict(("clf", run_id), **ex)


def test_every_stage_identical_under_serial_process_and_dask(demo_template_videos, tmp_path, cluster):
    got = {}
    for mode in MODES:
        folder = tmp_path / mode
        shutil.copytree(demo_template_videos, folder)
        _run_stages(folder, mode, cluster.scheduler_address if mode == "dask" else None)
        got[mode] = outputs(folder)
    ref = got["serial"]
    kinds = {Path(k).suffix for k in ref}
    assert {".parquet", ".png", ".csv", ".json"} <= kinds, kinds
    assert any(k.startswith("frames/") and k.endswith(".png") for k in ref)
    assert any("pred" in k and k.endswith(".parquet") for k in ref)
    assert any(k.startswith("tracks_clean/") and k.endswith(".parquet") for k in ref)
    for mode in ("process", "dask"):
        diff = sorted(k for k in ref.keys() | got[mode].keys() if ref.get(k) != got[mode].get(k))
        assert not diff, (mode, diff[:10])
    info = [
        json.loads((tmp_path / "dask" / k).read_text())
        for k in ref
        if k.startswith("features/") and k.endswith("run.json")
    ]
    stats = [i["stats"] for i in info if "stats" in i]  # feature runs (prediction runs record no stats)
    assert len(stats) == 3 and all(s["parallel_mode"] == "dask" and s["max_worker_peak_rss_mb"] > 0 for s in stats)


# ------------------------------------------------------------------ a worker killed mid-write
class DieOnce(Feature):
    """Pair distances written in two chunks; the first attempt on recording ``victim`` kills its process
    between the chunks (the first chunk is already in the temporary output file)."""

    name = "die_once"
    version = "1"
    defaults = {"marker": "", "victim": ""}
    required_columns = ("frame", "id", "X", "Y")
    output_key = KEY_PAIR

    def apply_chunks(self, data):
        from mosaic.features.pair import PairDistance

        full = PairDistance(neighbors="all").apply(data)
        half = len(full) // 2
        yield full.iloc[:half]
        marker = Path(self.params["marker"])
        if data.attrs.get("sequence") == self.params["victim"] and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # the worker dies with a half-written temporary file
        yield full.iloc[half:]

    def apply(self, data):
        return pd.concat(list(self.apply_chunks(data)), ignore_index=True)


def _converted_copy(template: Path, dest: Path):
    from mosaic import Dataset

    shutil.copytree(template, dest)
    ds = Dataset.open(dest)
    ds.convert_all_tracks()
    return ds


def _feature_files(folder: Path) -> dict[str, bytes]:
    root = folder / "features" / "die_once"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def _victim(ds) -> str:
    return str(ds.tracks_index()["sequence"].iloc[0])


@pytest.mark.parametrize("mode", ["dask", "process"])
def test_worker_killed_mid_write_leaves_no_partial_file_and_rerun_completes(demo_template, tmp_path, cluster, mode):
    from mosaic.core.atomic import is_temp_file
    from mosaic.features.engine import read_feature_index, run_feature

    ref_ds = _converted_copy(demo_template, tmp_path / "ref")
    victim = _victim(ref_ds)
    spec = {"marker": str(tmp_path / "ref.marker"), "victim": victim}
    Path(spec["marker"]).write_text("already died")  # the reference never dies
    ref = run_feature(ref_ds, DieOnce(**spec), parallel_mode="serial")

    ds = _converted_copy(demo_template, tmp_path / mode)
    feat = DieOnce(**spec)  # same params, hence the same run id, as the reference
    marker = Path(spec["marker"])
    marker.unlink()
    ex = {"parallel_mode": mode, "parallel_workers": 2}
    if mode == "dask":
        # the scheduler runs the task again on a live worker: the run completes
        res = run_feature(ds, feat, dask_address=cluster.scheduler_address, **ex)
    else:
        with pytest.raises(Exception, match="(?i)terminated|worker|exit"):
            run_feature(ds, feat, **ex)
        assert marker.exists()
        out_dir = tmp_path / mode / "features" / "die_once"
        victims = [p for p in out_dir.rglob("*.parquet") if victim in p.name]
        assert victims == []  # no output file of the killed recording
        res = run_feature(ds, feat, **ex)  # the rerun completes
    assert marker.exists() and res.run_id == ref.run_id
    leftovers = [
        p
        for p in (tmp_path / mode / "features").rglob("*")
        if p.is_file() and p.name.startswith(".") and not p.name.endswith(".lock")
    ]
    # the dead writer left its hidden temporary file (never a partial output), which the sweep removes
    assert leftovers and all(is_temp_file(p) for p in leftovers)
    assert sorted(ds.clean_temp_files()) == sorted(leftovers)
    assert _feature_files(tmp_path / mode) == _feature_files(tmp_path / "ref")
    a = read_feature_index(ds, "die_once").drop(columns=["created_iso"])
    b = read_feature_index(ref_ds, "die_once").drop(columns=["created_iso"])
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.mark.parametrize("mode", ["process", "dask"])
def test_a_bad_recording_is_named_as_serially(demo_template, tmp_path, cluster, mode):
    from mosaic import Dataset
    from mosaic.core.errors import BatchError

    failed = {}
    for m in ("serial", mode):
        folder = tmp_path / m
        shutil.copytree(demo_template, folder)
        bad = sorted((folder / "tracks_raw" / "trex").rglob("*.npz"))[0]
        bad.write_bytes(b"not an npz archive")
        ds = Dataset.open(folder)
        addr = cluster.scheduler_address if m == "dask" else None
        with pytest.raises(BatchError) as exc:
            ds.convert_all_tracks(parallel_mode=m, parallel_workers=2, dask_address=addr)
        failed[m] = exc.value
        assert bad.name in str(exc.value)  # the file is named
        report = json.loads((folder / "tracks" / "conversion_report.json").read_text())
        assert len(report["converted"]) >= 5 and len(report["failed"]) == 1
        messages = {k: v.replace(str(folder), "<ds>") for k, v in report["failed"].items()}
        failed[m] = (report["converted"], messages)
    assert failed["serial"] == failed[mode]
