"""Model runs: published all at once, loaded only when their files are the ones saved."""

from __future__ import annotations

import json
import os

import joblib
import pytest

from mosaic import Dataset
from mosaic.core.errors import ModelError
from mosaic.models import load_run, predict, read_models_index, store, train_model

from .synth import make_synthetic

FAST = {"features": ["speed", "pair"], "cv_folds": 2, "estimator_params": {"max_iter": 20}, "plots": False}


@pytest.fixture()
def trained(tmp_path):
    ds = Dataset.create(tmp_path / "ds", name="synth")
    make_synthetic(ds, n_groups=2, n_sequences=2, T=120, seed=5)
    rid = train_model(ds, "clf", FAST)
    return ds, rid


def test_index_records_sha256_of_saved_files(trained):
    import hashlib

    ds, rid = trained
    row = read_models_index(ds).set_index("run_id").loc[rid]
    digests = json.loads(row[store.DIGEST_COLUMN])
    d = ds.get_root("models") / "clf" / rid
    assert set(digests) == {"model.joblib", "config.json", "metrics.json"}
    for name, digest in digests.items():
        assert digest == hashlib.sha256((d / name).read_bytes()).hexdigest()
    # no staging or retired folder is left behind
    assert [p.name for p in (ds.get_root("models") / "clf").iterdir()] == [rid]


@pytest.mark.parametrize("name", ["model.joblib", "config.json", "metrics.json"])
def test_truncated_run_file_is_a_named_model_error(trained, name):
    ds, rid = trained
    p = ds.get_root("models") / "clf" / rid / name
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="changed since it was saved") as ei:
        load_run(ds, ("clf", rid))
    assert name in str(ei.value)
    with pytest.raises(ModelError):
        predict(ds, ("clf", rid))
    assert not store.run_is_complete(ds, "clf", rid)


def test_replaced_model_file_is_never_unpickled(trained, tmp_path):
    ds, rid = trained
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    p = ds.get_root("models") / "clf" / rid / "model.joblib"
    joblib.dump(Payload(), p)
    with pytest.raises(ModelError, match="changed since it was saved"):
        load_run(ds, "clf")
    assert not marker.exists()


def test_run_without_recorded_digest_is_refused(trained):
    ds, rid = trained
    idx_path = store.models_index_path(ds)
    lines = idx_path.read_text().splitlines()
    header = lines[0].split(",")
    col = header.index(f'"{store.DIGEST_COLUMN}"')
    import csv
    import io

    rows = list(csv.reader(io.StringIO(idx_path.read_text())))
    for r in rows[1:]:
        r[col] = ""
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    idx_path.write_text(buf.getvalue())
    with pytest.raises(ModelError, match="no recorded digests"):
        load_run(ds, ("clf", rid))


def test_unpublished_run_is_invisible_and_swept(trained):
    ds, rid = trained
    staging = store.begin_run(ds, "clf", "deadbeef0000")
    (staging / "model.joblib").write_bytes(b"half")
    with pytest.raises(ModelError, match="no run"):
        load_run(ds, ("clf", "deadbeef0000"))
    assert read_models_index(ds)["run_id"].tolist() == [rid]
    # a live writer's staging folder survives a sweep; once it is released (writer died) it goes
    assert store.sweep_staging(ds, "clf") == []
    store._release(staging)
    assert store.sweep_staging(ds, "clf") == [staging]
    assert not staging.exists()


def test_publish_refuses_incomplete_staging(trained):
    ds, _ = trained
    staging = store.begin_run(ds, "clf", "feedface0000")
    (staging / "model.joblib").write_bytes(b"x")
    with pytest.raises(ModelError, match="incomplete"):
        store.publish_run(ds, "clf", "feedface0000", staging, {"kind": "classifier"})
    store.abort_run(staging)
    assert not staging.exists()
    assert not (ds.get_root("models") / "clf" / "feedface0000").exists()


def test_failed_training_leaves_no_run_folder(trained, monkeypatch):
    ds, rid = trained

    def boom(*a, **k):
        raise RuntimeError("killed mid-run")

    monkeypatch.setattr(store, "save_joblib", boom)  # storing fails after the predictions were staged
    with pytest.raises(RuntimeError):
        train_model(ds, "clf2", {**FAST, "plots": True})
    folder = ds.get_root("models") / "clf2"
    assert list(folder.iterdir()) == []  # no run folder, no staging left by this process
    assert "clf2" not in set(read_models_index(ds)["model"])


def test_overwrite_replaces_the_whole_run(trained):
    ds, rid = trained
    d = ds.get_root("models") / "clf" / rid
    (d / "stray_from_old_run.txt").write_text("old")
    assert train_model(ds, "clf", FAST, overwrite=True) == rid
    assert not (d / "stray_from_old_run.txt").exists()  # nothing of the old run mixes into the new one
    assert load_run(ds, ("clf", rid))["run_id"] == rid
    assert sorted(p.name for p in d.parent.iterdir()) == [rid]
    assert os.path.isdir(d)
