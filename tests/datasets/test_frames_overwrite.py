"""Re-extracting frames with overwrite=True keeps the old outputs until the new ones are complete.

A kill is simulated deterministically: writing the n-th PNG raises a ``BaseException`` that no
library code catches (as a SIGKILL would stop everything there).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mosaic.media import frames as frames_mod
from mosaic.media import store as store_mod
from mosaic.media.plan import plan_frame_run, sequence_frames_dir
from tests.media.videos import add_raw_sequences, write_numbered


class _Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so no handler on the way swallows it."""


@pytest.fixture
def frames_ds(dataset):
    write_numbered(dataset.get_root("media_raw") / "g" / "s.mp4", 60)
    add_raw_sequences(dataset, [("g", "s")])
    dataset.index_media()
    return dataset


def _check_consistent(ds) -> list[str]:
    """Every index row points to a run_info whose PNGs all exist and decode (independent of store's code)."""
    problems = []
    rows = store_mod.list_frame_runs(ds)
    for r in rows.itertuples(index=False):
        info_p = ds.resolve_path(r.run_info_path)
        if not info_p.is_file():
            problems.append(f"missing {info_p}")
            continue
        info = json.loads(info_p.read_text())
        if len(info["frames"]) != int(r.n_frames):
            problems.append(f"n_frames {r.n_frames} != {len(info['frames'])}")
        for f in info["frames"]:
            if cv2.imread(str(ds.resolve_path(r.frames_dir_path) / f["file"])) is None:
                problems.append(f"unreadable {f['file']}")
    return problems


def _kill_after(monkeypatch, n_ok: int) -> None:
    real = frames_mod.write_frame_png
    calls = {"n": 0}

    def write(path, frame):
        if calls["n"] >= n_ok:
            raise _Killed()
        calls["n"] += 1
        return real(path, frame)

    monkeypatch.setattr(frames_mod, "write_frame_png", write)


@pytest.mark.parametrize("n_ok", [0, 2, 4])
def test_overwrite_killed_midway_keeps_old_outputs(frames_ds, monkeypatch, n_ok):
    ds = frames_ds
    run_id = ds.extract_frames(5, "uniform")
    before = [p.name for p in ds.get_frame_paths("uniform", run_id)]
    assert len(before) == 5 and _check_consistent(ds) == []
    _kill_after(monkeypatch, n_ok)
    with pytest.raises(_Killed):
        ds.extract_frames(5, "uniform", overwrite=True, parallel_workers=1)
    assert _check_consistent(ds) == []
    assert [p.name for p in ds.get_frame_paths("uniform", run_id)] == before
    monkeypatch.undo()
    assert ds.extract_frames(5, "uniform", overwrite=True) == run_id
    assert _check_consistent(ds) == []


@pytest.mark.parametrize("where", ["atomic_write_json", "remove_stale_frames"])
def test_overwrite_killed_around_run_info_keeps_a_complete_run(frames_ds, monkeypatch, where):
    """Killed just before run_info.json is replaced, or just after (before stale PNGs go)."""
    ds = frames_ds
    run_id = ds.extract_frames(5, "uniform")
    before = [p.name for p in ds.get_frame_paths("uniform", run_id)]

    def killed(*args, **kwargs):
        raise _Killed()

    monkeypatch.setattr(store_mod, where, killed)
    with pytest.raises(_Killed):
        ds.extract_frames(5, "uniform", overwrite=True, parallel_workers=1)
    monkeypatch.undo()
    assert _check_consistent(ds) == []
    assert [p.name for p in ds.get_frame_paths("uniform", run_id)] == before


def test_overwrite_removes_stale_pngs_only_after_run_info(frames_ds):
    ds = frames_ds
    run_id = ds.extract_frames(4, "uniform")
    out = ds.get_frame_paths("uniform", run_id)[0].parent
    stale = out / "frame_000059.png"  # a frame an earlier selection chose, not listed any more
    stale.write_bytes(out.joinpath("frame_000000.png").read_bytes())
    ds.extract_frames(4, "uniform", overwrite=True)
    assert not stale.exists()
    assert sorted(p.name for p in out.glob("frame_*.png")) == [
        "frame_000000.png",
        "frame_000015.png",
        "frame_000030.png",
        "frame_000045.png",
    ]


def test_kedro_selection_step_removes_nothing(frames_ds):
    """The Kedro path's selection step (select_or_reuse) leaves the old run intact; the record step prunes."""
    ds = frames_ds
    run_id = ds.extract_frames(4, "uniform")
    run = plan_frame_run(ds, 4, "uniform")
    assert run.run_id == run_id
    job = run.jobs[0]
    out = sequence_frames_dir(ds, "uniform", run_id, job.group, job.sequence)
    stale = out / "frame_000059.png"
    stale.write_bytes(out.joinpath("frame_000000.png").read_bytes())
    files_before = sorted(p.name for p in out.iterdir())
    sel = frames_mod.select_or_reuse(ds, run, job, overwrite=True)
    assert sel["reused"] is False and sel["indices"] == [0, 15, 30, 45]
    assert sorted(p.name for p in out.iterdir()) == files_before  # nothing deleted yet
    assert _check_consistent(ds) == []
    store_mod.record_sequence_run(ds, run, job, store_mod.Selection(np.asarray(sel["indices"]), sel["info"]), {})
    assert not stale.exists() and (out / "run_info.json").is_file()
    assert _check_consistent(ds) == []
