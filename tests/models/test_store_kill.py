"""A model run killed at any point: readers see the previous run whole (or a named error), never a
mix of two runs, and the rerun completes it."""

from __future__ import annotations

import hashlib
import os
from unittest import mock

import pytest

from mosaic import Dataset
from mosaic.core.errors import ModelError
from mosaic.models import load_run, read_models_index, store, train_model
from mosaic.reporting import plots

from .synth import make_synthetic

CFG = {
    "features": ["speed", "pair"],
    "cv_folds": 2,
    "estimator_params": {"max_iter": 10},
    "plots": True,
    "max_ethograms": 1,
}


class Killed(BaseException):
    """Stands for SIGKILL: no except/finally cleanup of ours runs past it (abort_run is disabled too)."""


def _tree(d):
    """``{file: sha256}`` of a run folder (config.json without its creation time)."""
    import json

    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "config.json":
                cfg = json.loads(data)
                cfg.pop("created_iso", None)
                data = json.dumps(cfg, sort_keys=True).encode()
            out[p.relative_to(d).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    ds = Dataset.create(tmp_path_factory.mktemp("kill") / "ds", name="synth")
    make_synthetic(ds, n_groups=2, n_sequences=2, T=120, seed=7)
    rid = train_model(ds, "m", CFG)
    return ds, rid, _tree(store.run_dir(ds, "m", rid))


def _copy(reference, tmp_path):
    import shutil

    ds, rid, tree = reference
    shutil.copytree(ds.folder, tmp_path / "ds")
    return Dataset.open(tmp_path / "ds"), rid, tree


# (module, attribute, which call dies): every write of a run, the publishing step and the index row
KILL_POINTS = [
    (store, "save_parquet", 1),
    (store, "save_parquet", 3),
    (store, "save_joblib", 1),
    (plots, "save_figure", 1),
    (store, "atomic_write_json", 1),
    (store, "atomic_write_json", 2),
    (store, "record_run", 1),
    (store, "record_run", 2),
]
# publishing: a first run renames its staging folder into place; a retrain swaps the two folders in one
# step (renameat2 exchange) or, where the filesystem lacks it, moves the old one aside, then the new one in
PUBLISH_POINTS = [(store.os, "rename", 1, False), (store, "_exchange", 1, True)]


def _dying(real, n):
    calls = {"n": 0}

    def f(*a, **k):
        calls["n"] += 1
        if calls["n"] == n:
            raise Killed(f"killed at call {n}")
        return real(*a, **k)

    return f


# record_run is called once by a first run, twice by a retrain (the row accepting both runs, then the new one)
CASES = [
    (t, a, n, ow) for ow in (False, True) for t, a, n in KILL_POINTS if not (a == "record_run" and n == 2 and not ow)
]
CASES += PUBLISH_POINTS


@pytest.mark.parametrize(
    "target, name, n, overwrite",
    CASES,
    ids=[f"{t.__name__.split('.')[-1]}.{a}#{n}-{'retrain' if ow else 'first'}" for t, a, n, ow in CASES],
)
def test_killed_run_is_never_seen_half_and_rerun_completes(reference, tmp_path, target, name, n, overwrite):
    ds, rid, tree = _copy(reference, tmp_path)
    final = store.run_dir(ds, "m", rid)
    if not overwrite:  # from nothing: remove the finished run and its index row
        import shutil

        shutil.rmtree(final)
        store.models_index_path(ds).unlink()
    with (
        mock.patch.object(store, "abort_run", lambda *_: None),
        mock.patch.object(target, name, _dying(getattr(target, name), n)),
        pytest.raises(Killed),
    ):
        train_model(ds, "m", CFG, overwrite=overwrite)
    store._HELD.clear()  # the killed process' lock dies with it
    # what a reader sees now: the whole previous run, or a named error; never a mix
    try:
        run = load_run(ds, ("m", rid))
    except ModelError:
        assert not overwrite, "a retrain's kill hid the previous, complete run"
    else:
        assert run["run_id"] == rid
        assert {k: v for k, v in _tree(final).items() if k in tree} == tree
    visible = [p.name for p in final.parent.iterdir() if not p.name.startswith(".")]
    assert visible in ([], [rid])
    # the rerun (a user's, or kedro's) completes the run; leftovers of the killed one are swept
    assert train_model(ds, "m", CFG, overwrite=overwrite) == rid
    assert _tree(final) == tree  # the same files as an uninterrupted run (seeded fit: same bytes)
    assert sorted(p.name for p in final.parent.iterdir()) == [rid]
    assert read_models_index(ds)["run_id"].tolist() == [rid]
    load_run(ds, ("m", rid))


def test_pid_recycling_cannot_make_a_live_staging_folder_look_dead(reference, tmp_path):
    """Liveness is the writer's lock, not its PID: a staging folder named after a dead PID but still
    locked survives a sweep."""
    ds, rid, _ = _copy(reference, tmp_path)
    staging = store.begin_run(ds, "m", "abc")
    fake = staging.with_name(staging.name.replace(f"-{os.getpid()}-", "-999999-"))
    os.rename(staging, fake)
    store._HELD[str(fake)] = store._HELD.pop(str(staging))
    held = store._HELD.pop(str(fake))  # another process holding it: not in this one's table
    try:
        assert store.sweep_staging(ds, "m") == []
        assert fake.exists()
    finally:
        held.close()
    assert store.sweep_staging(ds, "m") == [fake]


def test_retrain_without_atomic_exchange_still_never_mixes(reference, tmp_path):
    """Where the filesystem cannot swap two folders in one step: old aside, new in (two renames)."""
    ds, rid, tree = _copy(reference, tmp_path)
    final = store.run_dir(ds, "m", rid)
    with (
        mock.patch.object(store, "_exchange", lambda a, b: False),
        mock.patch.object(store, "abort_run", lambda *_: None),
        mock.patch.object(store.os, "rename", _dying(os.rename, 2)),
        pytest.raises(Killed),
    ):
        train_model(ds, "m", CFG, overwrite=True)
    store._HELD.clear()
    with pytest.raises(ModelError):  # the instant between the two renames: no folder, refused by name
        load_run(ds, ("m", rid))
    assert not final.exists()
    assert train_model(ds, "m", CFG, overwrite=True) == rid
    assert _tree(final) == tree and sorted(p.name for p in final.parent.iterdir()) == [rid]
