"""Crash safety: SIGKILL a stage at seeded random moments, then check the folder and a rerun.

CI settings: a few kills per stage (about 10 in all). ``benchmarks/soak.py`` runs 50+.
"""

from __future__ import annotations

import pytest

from tests.reliability.crash import STAGES, _load_optional_stages, crash_stage

pytestmark = pytest.mark.slow  # end-to-end: the fast suite is `pytest -m "not slow"`

_load_optional_stages()

# stage -> kills in CI (11 in all; benchmarks/soak.py does 50+ over every stage incl. the resume variants)
# train: 1 kill (its 3 subprocess runs cost ~10 s; soak.py kills it more, and `kedro run --pipelines train`)
CI_KILLS = {"convert": 3, "convert_resume": 1, "label": 2, "featurize": 2, "sample_frames": 2, "train": 1}
REPORTS: list = []


@pytest.mark.parametrize("stage", list(CI_KILLS))
def test_kill_stage_then_rerun(stage, request, tmp_path):
    assert stage in STAGES, f"the crash harness has no stage {stage!r}"
    template = request.getfixturevalue("demo_template_videos" if STAGES[stage].videos else "demo_template")
    rep = crash_stage(stage, template, tmp_path, n_kills=CI_KILLS[stage], seed=1)
    REPORTS.append(rep)
    print(f"{stage}: {rep}")
    assert rep.kills >= 1, f"no kill landed (the stage finished before every kill moment): {rep}"
    assert rep.problems == []
    assert rep.kills_survived == rep.kills
    assert rep.diff == [], "rerun after kills differs from an uninterrupted run"
    assert rep.rows_lost == 0


def test_checker_detects_damage(demo_template, tmp_path):
    """The folder check is not vacuous: a torn file, an index row to a temp/missing file are found."""
    import shutil

    import pandas as pd

    from mosaic import Dataset
    from mosaic.core.atomic import temp_path_for
    from mosaic.core.indexes import TRACKS_INDEX, read_index, write_index
    from tests.reliability.crash import check_folder, snapshot

    folder = tmp_path / "ds"
    shutil.copytree(demo_template, folder)
    ds = Dataset.open(folder)
    ds.convert_all_tracks()
    stage = STAGES["convert"]
    assert check_folder(folder, stage) == []
    ref = snapshot(folder, stage.roots)

    # a stray temp file beside the outputs is tolerated (not an output) ...
    files = sorted(ds.get_root("tracks").glob("*.parquet"))
    tmp = temp_path_for(files[0])
    tmp.write_bytes(files[0].read_bytes()[:100])
    assert check_folder(folder, stage) == []
    assert snapshot(folder, stage.roots) == ref
    # ... but not when an index lists it
    idx_path = ds.get_root("tracks") / "index.csv"
    idx = read_index(idx_path, TRACKS_INDEX)
    good = idx.copy()
    idx.loc[0, "abs_path"] = ds.relative_path(tmp)
    idx.loc[1, "abs_path"] = "tracks/gone.parquet"
    write_index(idx_path, idx, TRACKS_INDEX)
    found = check_folder(folder, stage)
    assert any("temporary file" in f for f in found) and any("missing file" in f for f in found), found
    write_index(idx_path, good, TRACKS_INDEX)
    # a torn output is found, and the snapshot sees a changed value
    files[1].write_bytes(files[1].read_bytes()[: files[1].stat().st_size // 2])
    found = check_folder(folder, stage)
    assert any("unreadable file" in f and files[1].name in f for f in found), found
    df = pd.read_parquet(files[2])
    df.loc[0, "X"] = df.loc[0, "X"] + 1.0 if df["X"].notna().iloc[0] else 1.0
    df.to_parquet(files[2])
    files[1].unlink()  # (a torn file makes the snapshot itself raise)
    snap = snapshot(folder, stage.roots)
    assert snap[files[2].relative_to(folder).as_posix()] != ref[files[2].relative_to(folder).as_posix()]


def test_train_clusters_killed_before_predictions_rerun_completes(demo_template, tmp_path):
    """A death between ``record_run`` and ``predict`` inside ``train_model(kind='kmeans')``.

    The run is already listed and counts as complete; the rerun without overwrite must still write
    its ``<model>__pred`` feature.
    """
    import shutil
    from unittest import mock

    from mosaic import Dataset
    from mosaic.features.engine import read_feature_index
    from mosaic.models import api
    from tests.reliability.stages_train import _features, _train_prepare

    class Killed(BaseException):
        pass

    folder = tmp_path / "ds"
    shutil.copytree(demo_template, folder)
    ds = Dataset.open(folder)
    _train_prepare(ds)
    cfg = {"kind": "kmeans", "n_clusters": 3, "features": _features(ds), "n_threads": 1, "seed": 0}
    with mock.patch.object(api, "predict", side_effect=Killed), pytest.raises(Killed):
        ds.train_model("crash_km", cfg)  # dies right after its index row
    run_id = ds.train_model("crash_km", cfg)  # the rerun a user makes
    scope = ds.load_model(("crash_km", run_id))["config"]["scope"]
    idx = read_feature_index(ds, "crash_km__pred")
    assert len(idx[idx["run_id"] == run_id]) == len(scope), "rerun left the run without its <model>__pred feature"
