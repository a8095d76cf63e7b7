"""make_demo_dataset: layout, ground truth vs. written files, idempotence, determinism, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.core.safe_names import sequence_key
from mosaic.demo import BEHAVIORS, make_demo_dataset
from mosaic.demo.__main__ import main

DATA_SUFFIXES = (".npz", ".csv", ".npy", ".json", ".yaml")


def _files(folder, suffixes=DATA_SUFFIXES):
    return {
        p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in suffixes
    }


def test_layout_and_manifest(demo_dir, tiny_sims):
    ds = DatasetCore.open(demo_dir)
    assert ds.name == "mosaic-demo"
    assert ds.meta["fps_default"] == 30.0 and ds.meta["cm_per_pixel"] == tiny_sims[0].cm_per_pixel
    for sim in tiny_sims:
        g, s = sim.group, sim.sequence
        for k in range(sim.n_animals):
            assert (demo_dir / "tracks_raw" / "trex" / g / f"{s}_fish{k}.npz").is_file()
        assert not (demo_dir / "tracks_raw" / "trex" / g / f"{s}_fish{sim.n_animals}.npz").exists()
        assert (demo_dir / "media_raw" / g / f"{s}.mp4").is_file()
        assert (demo_dir / "annotations" / "boris_aggregated" / f"{s}.csv").is_file()
        assert (demo_dir / "annotations" / "boris_tabular" / f"{s}.csv").is_file()
        assert (demo_dir / "ground_truth" / f"{sequence_key(g, s)}.npz").is_file()
    assert (demo_dir / "tracks_raw" / "calms21" / "calms21_demo.npy").is_file()
    for name in ("bouts.csv", "calms21_bouts.csv", "sequences.csv", "demo.json"):
        assert (demo_dir / "ground_truth" / name).is_file()
    assert not [p for p in demo_dir.rglob(".*")]  # no temp files


def test_ground_truth_files_equal_simulation(demo_dir, tiny_sims):
    bouts = pd.read_csv(demo_dir / "ground_truth" / "bouts.csv")
    assert list(bouts.columns) == [
        "group",
        "sequence",
        "subject_id",
        "target_id",
        "behavior",
        "start_frame",
        "stop_frame",
    ]
    for sim in tiny_sims:
        z = np.load(demo_dir / "ground_truth" / f"{sequence_key(sim.group, sim.sequence)}.npz")
        for f in ("pos", "heading", "states", "targets", "missing"):
            np.testing.assert_array_equal(z[f], getattr(sim, f))
        assert tuple(z["behaviors"]) == BEHAVIORS and float(z["fps"]) == sim.fps
        assert float(z["cm_per_pixel"]) == sim.cm_per_pixel
        b = bouts[(bouts.group == sim.group) & (bouts.sequence == sim.sequence)]
        # bouts tile each animal's frames and reproduce the per-frame states
        for k in range(sim.n_animals):
            bk = b[b.subject_id == k].sort_values("start_frame")
            lengths = (bk.stop_frame - bk.start_frame).to_numpy()
            assert bk.start_frame.iloc[0] == 0 and lengths.sum() == sim.n_frames
            np.testing.assert_array_equal(
                np.repeat([BEHAVIORS.index(x) for x in bk.behavior], lengths), z["states"][:, k]
            )
            np.testing.assert_array_equal(np.repeat(bk.target_id.to_numpy(), lengths), z["targets"][:, k])


def test_trex_and_boris_agree_with_ground_truth(demo_dir, tiny_sims):
    bouts = pd.read_csv(demo_dir / "ground_truth" / "bouts.csv")
    for sim in tiny_sims:
        z = np.load(demo_dir / "ground_truth" / f"{sequence_key(sim.group, sim.sequence)}.npz")
        cpp = float(z["cm_per_pixel"])
        for k in range(sim.n_animals):
            d = np.load(demo_dir / "tracks_raw" / "trex" / sim.group / f"{sim.sequence}_fish{k}.npz")
            f = d["frame"].astype(int)
            miss = z["missing"][f, k]
            np.testing.assert_array_equal(d["missing"] == 1, miss)
            np.testing.assert_allclose(d["X#wcentroid"][~miss] / cpp, z["pos"][f[~miss], k, 0], atol=1e-3)
            assert np.isinf(d["X#wcentroid"][miss]).all() and np.isfinite(d["X#wcentroid"][~miss]).all()
            assert z["missing"][: f[0], k].all() and z["missing"][f[-1] + 1 :, k].all()
        agg = pd.read_csv(demo_dir / "annotations" / "boris_aggregated" / f"{sim.sequence}.csv", keep_default_na=False)
        got = sorted(
            zip(
                agg["Subject"].str.removeprefix("fish").astype(int),
                agg["Modifiers"].map(lambda m: int(m.removeprefix("fish")) if m else -1),
                agg["Behavior"],
                np.round(agg["Start (s)"] * sim.fps).astype(int),
                np.round(agg["Stop (s)"] * sim.fps).astype(int),
            )
        )
        b = bouts[(bouts.group == sim.group) & (bouts.sequence == sim.sequence)]
        want = sorted(zip(b.subject_id, b.target_id, b.behavior, b.start_frame, b.stop_frame))
        assert got == want
        assert (agg["Media file"] == f"media_raw/{sim.group}/{sim.sequence}.mp4").all()


def test_videos_have_the_right_frames(demo_dir, tiny_sims):
    import cv2

    for sim in tiny_sims:
        cap = cv2.VideoCapture(str(demo_dir / "media_raw" / sim.group / f"{sim.sequence}.mp4"))
        assert cap.isOpened()
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == sim.n_frames
        assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == sim.arena_size
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(sim.fps)
        cap.release()


def test_calms21_truth_matches_annotations(demo_dir):
    d = np.load(demo_dir / "tracks_raw" / "calms21" / "calms21_demo.npy", allow_pickle=True).item()
    truth = pd.read_csv(demo_dir / "ground_truth" / "calms21_bouts.csv")
    entries = d["annotator-id_0"]
    assert set(truth.sequence_key) == set(entries)
    for key, e in entries.items():
        t = truth[truth.sequence_key == key].sort_values("start_frame")
        vocab = e["metadata"]["vocab"]
        lengths = (t.stop_frame - t.start_frame).to_numpy()
        np.testing.assert_array_equal(np.repeat([vocab[b] for b in t.behavior], lengths), e["annotations"])
        assert ((t.target_id == -1) == (t.behavior == "other")).all()


def test_existing_demo_is_returned_as_is(demo_dir):
    before = {k: p.stat().st_mtime_ns for k, p in _files(demo_dir, DATA_SUFFIXES + (".mp4",)).items()}
    ds = make_demo_dataset(demo_dir, size="tiny", seed=0)
    assert ds.folder == demo_dir.absolute()
    after = {k: p.stat().st_mtime_ns for k, p in _files(demo_dir, DATA_SUFFIXES + (".mp4",)).items()}
    assert before == after


def test_other_parameters_need_overwrite(demo_dir):
    with pytest.raises(ConfigError) as err:
        make_demo_dataset(demo_dir, size="tiny", seed=1)
    assert "demo.json" in str(err.value) and "overwrite" in str(err.value)


def test_deterministic_and_overwrite(tmp_path, demo_dir):
    a = tmp_path / "a"
    make_demo_dataset(a, size="tiny", seed=0, videos=False)
    fa, fd = _files(a), _files(demo_dir)
    fa.pop("ground_truth/demo.json"), fd.pop("ground_truth/demo.json")  # records videos=False
    fa.pop("ground_truth/sequences.csv"), fd.pop("ground_truth/sequences.csv")  # lists the videos
    assert set(fa) == set(fd)
    for rel in fa:
        assert fa[rel].read_bytes() == fd[rel].read_bytes(), rel
    assert not (a / "media_raw" / "group_0").exists()
    # a different seed gives different data (after overwrite)
    make_demo_dataset(a, size="tiny", seed=1, videos=False, overwrite=True)
    assert json.loads((a / "ground_truth" / "demo.json").read_text())["seed"] == 1
    assert (a / "ground_truth" / "bouts.csv").read_bytes() != (demo_dir / "ground_truth" / "bouts.csv").read_bytes()


def test_foreign_dataset_is_not_touched(tmp_path):
    DatasetCore.create(tmp_path / "mine", name="mine")
    with pytest.raises(ConfigError) as err:
        make_demo_dataset(tmp_path / "mine")
    assert "dataset.yaml" in str(err.value)
    assert not (tmp_path / "mine" / "ground_truth").exists()


def test_unknown_size(tmp_path):
    with pytest.raises(ConfigError, match="unknown demo size"):
        make_demo_dataset(tmp_path / "x", size="huge")
    assert not (tmp_path / "x").exists()


def test_interrupted_build_has_no_manifest_and_is_rebuilt(tmp_path, monkeypatch):
    import mosaic.demo.dataset as dsmod

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(dsmod, "write_ground_truth", boom)
    with pytest.raises(RuntimeError):
        make_demo_dataset(tmp_path / "d", videos=False)
    assert not (tmp_path / "d" / "dataset.yaml").exists()
    monkeypatch.undo()
    ds = make_demo_dataset(tmp_path / "d", videos=False)
    assert (ds.folder / "dataset.yaml").exists() and (ds.folder / "ground_truth" / "bouts.csv").exists()


def test_cli(tmp_path, capsys):
    assert main([str(tmp_path / "cli"), "--size", "tiny", "--seed", "2", "--no-videos"]) == 0
    assert "demo dataset ready" in capsys.readouterr().out
    assert json.loads((tmp_path / "cli" / "ground_truth" / "demo.json").read_text())["seed"] == 2


def test_interrupted_overwrite_does_not_look_complete(tmp_path, monkeypatch):
    import mosaic.demo.dataset as dsmod

    make_demo_dataset(tmp_path / "d", videos=False)

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(dsmod, "write_calms21_npy", boom)
    with pytest.raises(RuntimeError):
        make_demo_dataset(tmp_path / "d", videos=False, overwrite=True)
    assert not (tmp_path / "d" / "dataset.yaml").exists()
    assert not (tmp_path / "d" / "ground_truth" / "demo.json").exists()


def test_videos_are_added_to_a_demo_built_without(tmp_path):
    folder = tmp_path / "nv"
    make_demo_dataset(folder, videos=False)
    assert not (folder / "media_raw" / "group_0").exists()
    make_demo_dataset(folder, videos=False)  # as is
    assert not (folder / "media_raw" / "group_0").exists()
    make_demo_dataset(folder, videos=True)
    assert len(list((folder / "media_raw").rglob("*.mp4"))) == 4
    assert json.loads((folder / "ground_truth" / "demo.json").read_text())["videos"] is True


def test_other_config_needs_overwrite(demo_dir):
    from mosaic.demo import SimConfig

    with pytest.raises(ConfigError, match="other parameters"):
        make_demo_dataset(demo_dir, config=SimConfig(cm_per_pixel=0.05))
