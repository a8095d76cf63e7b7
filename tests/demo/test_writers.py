"""Writers: TRex npz, BORIS exports, CalMS21 npy/json, video — against the ground truth
and against the layout of the real files in ``shared/realdata``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from mosaic.demo import (
    CALMS21_VOCAB,
    render_video,
    simulate,
    simulate_calms21,
    trex_arrays,
    write_boris_aggregated,
    write_boris_tabular,
    write_calms21_json,
    write_calms21_npy,
    write_trex_npz,
)
from mosaic.demo.boris import AGGREGATED_COLUMNS, TABULAR_COLUMNS
from mosaic.demo.trex import TREX_FIELDS, TREX_METADATA
from tests.conftest import realdata_file


@pytest.fixture(scope="module")
def sim():
    (s,) = simulate(n_groups=1, n_sequences=1, n_animals=3, n_frames=400, seed=11)
    return s


# ---------------------------------------------------------------------------------- TRex
def test_trex_files_match_truth(sim, tmp_path):
    paths = write_trex_npz(sim, tmp_path)
    assert [p.name for p in paths] == [f"{sim.sequence}_fish{k}.npz" for k in range(sim.n_animals)]
    cpp = sim.cm_per_pixel
    for k, p in enumerate(paths):
        d = np.load(p)
        assert set(d.files) == set(TREX_FIELDS) | set(TREX_METADATA)
        assert all(d[f].dtype == np.float32 and d[f].ndim == 1 for f in TREX_FIELDS)
        frames = d["frame"].astype(int)
        det = np.flatnonzero(~sim.missing[:, k])
        assert frames[0] == det[0] and frames[-1] == det[-1]  # first to last detection
        assert np.array_equal(frames, np.arange(det[0], det[-1] + 1))
        miss = sim.missing[frames, k]
        assert np.array_equal(d["missing"] == 1, miss)
        np.testing.assert_allclose(d["time"], frames / sim.fps, rtol=1e-6)
        np.testing.assert_allclose(d["timestamp"], frames / sim.fps * 1e6, rtol=1e-6)
        ok = ~miss
        np.testing.assert_allclose(d["X#wcentroid"][ok] / cpp, sim.pos[frames[ok], k, 0], atol=1e-3)
        np.testing.assert_allclose(d["Y#wcentroid"][ok] / cpp, sim.pos[frames[ok], k, 1], atol=1e-3)
        np.testing.assert_allclose(d["ANGLE"][ok], sim.heading[frames[ok], k], atol=1e-5)
        for f in TREX_FIELDS[4:]:
            assert np.isinf(d[f][miss]).all() and np.isfinite(d[f][ok]).all(), f
        for f in ("frame", "time", "timestamp", "missing"):
            assert np.isfinite(d[f]).all()
        np.testing.assert_allclose(d["SPEED"][ok], np.hypot(d["VX"][ok], d["VY"][ok]), rtol=1e-5, atol=1e-5)
        assert d["cm_per_pixel"].shape == (1,) and d["cm_per_pixel"][0] == np.float32(cpp)
        assert d["frame_rate"][0] == sim.fps and d["id"][0] == k
        assert tuple(d["video_size"]) == sim.arena_size


def test_trex_centroid_speed_is_backward_difference(sim):
    a = trex_arrays(sim, 0)
    frames = a["frame"].astype(int)
    ok = a["missing"] == 0
    x = sim.pos[frames, 0] * sim.cm_per_pixel
    both = ok[1:] & ok[:-1]
    expected = np.hypot(*(x[1:] - x[:-1]).T) * sim.fps
    np.testing.assert_allclose(a["SPEED#wcentroid"][1:][both], expected[both], rtol=1e-4, atol=1e-4)
    assert a["SPEED#wcentroid"][0] == 0


def test_trex_layout_matches_real_export(realdata, sim):
    real = np.load(realdata_file(realdata, "trex", "trex-2021-compare-raw", "test_fish3.npz"))
    ours = trex_arrays(sim, 1)
    for f in TREX_FIELDS:
        assert f in real.files and real[f].dtype == ours[f].dtype, f
    # TRex marks missing metrics with inf, not NaN, and keeps frame/time finite
    m = real["missing"] == 1
    assert np.isinf(real["X"][m]).all() and np.isfinite(real["frame"][m]).all()


# ---------------------------------------------------------------------------------- BORIS
def _read_aggregated(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, dtype=str)


def test_boris_aggregated_rows_equal_bouts(sim, tmp_path):
    p = write_boris_aggregated(sim, tmp_path / "agg.csv")
    assert b"\r\n" in p.read_bytes()
    df = _read_aggregated(p)
    assert tuple(df.columns) == AGGREGATED_COLUMNS
    bouts = sim.bouts()
    assert len(df) == len(bouts)
    got = (
        pd.DataFrame(
            {
                "subject_id": df["Subject"].str.removeprefix("fish").astype(int),
                "target_id": df["Modifiers"].map(lambda m: int(m.removeprefix("fish")) if m else -1),
                "behavior": df["Behavior"],
                "start_frame": np.round(df["Start (s)"].astype(float) * sim.fps).astype(int),
                "stop_frame": np.round(df["Stop (s)"].astype(float) * sim.fps).astype(int),
            }
        )
        .sort_values(["subject_id", "start_frame"])
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        got, bouts.sort_values(["subject_id", "start_frame"]).reset_index(drop=True), check_dtype=False
    )
    assert (df["Behavior type"] == "STATE").all()
    assert (df["Observation id"] == sim.sequence).all()
    assert (df["Media file"] == f"media_raw/{sim.group}/{sim.sequence}.mp4").all()
    assert (df["FPS"] == "30.0").all() and (df["Total length"] == f"{sim.n_frames / sim.fps:.3f}").all()
    dur = df["Duration (s)"].astype(float)
    stop, start = df["Stop (s)"].astype(float), df["Start (s)"].astype(float)
    np.testing.assert_allclose(dur, stop - start, atol=2e-3)
    assert (dur > 0).all()


def test_boris_aggregated_header_matches_real_export(realdata, sim, tmp_path):
    real = realdata_file(realdata, "boris", "boris-tests", "test_export_aggregated_events_test_full_1.tsv")
    header = real.read_text().splitlines()[0].split("\t")
    independent_vars = ["a", "b", "c"]  # that observation's independent variables
    assert tuple(h for h in header if h not in independent_vars) == AGGREGATED_COLUMNS


def _read_tabular(path):
    rows = list(csv.reader(path.read_text().splitlines()))
    i = next(n for n, r in enumerate(rows) if r and r[0] == "Time")
    return rows[:i], rows[i], rows[i + 1 :]


def test_boris_tabular_pairs_equal_bouts(sim, tmp_path):
    p = write_boris_tabular(sim, tmp_path / "tab.csv")
    head, columns, events = _read_tabular(p)
    assert tuple(columns) == TABULAR_COLUMNS
    keys = {r[0]: r[1] for r in head if r and r[0]}
    assert keys["Observation id"] == sim.sequence and keys["Time offset (s)"] == "0.0"
    assert keys["Player #1"] == f"media_raw/{sim.group}/{sim.sequence}.mp4"
    times = [float(r[0]) for r in events]
    assert times == sorted(times)
    open_, bouts = {}, []
    for r in events:  # pair START/STOP per (subject, behaviour) in order, as BORIS does
        key = (r[4], r[5])
        if r[8] == "START":
            assert key not in open_
            open_[key] = r
        else:
            s = open_.pop(key)
            assert s[7] == r[7]
            bouts.append(
                (
                    int(r[4][4:]),
                    int(s[7][4:]) if s[7] else -1,
                    r[5],
                    round(float(s[0]) * sim.fps),
                    round(float(r[0]) * sim.fps),
                )
            )
    assert not open_
    expected = sorted(map(tuple, sim.bouts().itertuples(index=False, name=None)))
    assert sorted(bouts) == [(int(a), int(b), c, int(d), int(e)) for a, b, c, d, e in expected]


def test_boris_tabular_layout_matches_real_export(realdata, sim, tmp_path):
    real = realdata_file(realdata, "boris", "boris-tests", "test_export_events_tabular.csv")
    r_head, r_cols, _ = _read_tabular(real)
    o_head, o_cols, _ = _read_tabular(write_boris_tabular(sim, tmp_path / "tab.csv"))
    assert o_cols == r_cols
    assert len(o_cols) == len(o_head[0])  # rows padded to the table width, like BORIS
    real_keys = [r[0] for r in r_head if r and r[0] and r[0] not in ("a", "b", "c")]
    assert [r[0] for r in o_head if r and r[0]] == real_keys


# ---------------------------------------------------------------------------------- CalMS21
def test_calms21_npy_structure_and_geometry(tmp_path):
    seqs = simulate_calms21(n_sequences=2, n_frames=900, seed=4)
    p = write_calms21_npy(seqs, tmp_path / "c.npy")
    d = np.load(p, allow_pickle=True).item()
    assert list(d) == ["annotator-id_0"]
    assert list(d["annotator-id_0"]) == [
        "task1/train/mouse001_task1_annotator1",
        "task1/train/mouse002_task1_annotator1",
    ]
    dist = {name: [] for name in CALMS21_VOCAB}
    for entry in d["annotator-id_0"].values():
        kp, sc, ann = entry["keypoints"], entry["scores"], entry["annotations"]
        assert kp.shape == (900, 2, 2, 7) and sc.shape == (900, 2, 7) and ann.shape == (900,)
        assert entry["metadata"] == {
            "annotator-id": 0,
            "vocab": {"attack": 0, "investigation": 1, "mount": 2, "other": 3},
        }
        assert np.isfinite(kp).all() and ((sc > 0) & (sc <= 1)).all()
        assert set(np.unique(ann)) == set(CALMS21_VOCAB.values())
        # body axis: nose - tail base ~ one body length, neck between them
        nose, neck, tail = kp[..., 0], kp[..., 3], kp[..., 6]
        length = np.hypot(*(nose - tail).transpose(2, 0, 1))
        assert 70 < np.median(length) < 110
        assert np.median(np.hypot(*(neck - (0.7 * nose + 0.3 * tail)).transpose(2, 0, 1))) < 10
        centre = kp.mean(axis=3)  # (T, 2 mice, 2)
        dd = np.hypot(*(centre[:, 0] - centre[:, 1]).T)
        for name, code in CALMS21_VOCAB.items():
            dist[name].append(dd[ann == code])
    med = {k: np.median(np.concatenate(v)) for k, v in dist.items()}
    assert med["mount"] < med["investigation"] < med["other"]
    assert med["attack"] < 0.5 * med["other"]


def test_calms21_json_equals_npy(tmp_path):
    seqs = simulate_calms21(n_sequences=1, n_frames=60, seed=1)
    a = np.load(write_calms21_npy(seqs, tmp_path / "c.npy"), allow_pickle=True).item()
    b = json.loads(write_calms21_json(seqs, tmp_path / "c.json").read_text())
    (key,) = a["annotator-id_0"]
    ea, eb = a["annotator-id_0"][key], b["annotator-id_0"][key]
    for f in ("keypoints", "scores", "annotations"):
        np.testing.assert_array_equal(np.asarray(eb[f]), ea[f])
    assert eb["metadata"] == ea["metadata"]


def test_calms21_deterministic():
    a, b = simulate_calms21(1, 200, seed=5), simulate_calms21(1, 200, seed=5)
    c = simulate_calms21(1, 200, seed=6)
    assert np.array_equal(a[0].keypoints, b[0].keypoints) and np.array_equal(a[0].annotations, b[0].annotations)
    assert not np.array_equal(a[0].keypoints, c[0].keypoints)


# ---------------------------------------------------------------------------------- video
def test_video_frames_show_the_animals(sim, tmp_path):
    import cv2

    from mosaic.demo.video import BACKGROUND, PALETTE

    p = render_video(sim, tmp_path / "v.mp4")
    cap = cv2.VideoCapture(str(p))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == sim.n_frames
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == sim.arena_size
    n_read, checked = 0, 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        t = n_read
        n_read += 1
        if t % 50:
            continue
        for k in range(sim.n_animals):
            # a point 0.2 body lengths behind the centre (away from the dark head dot)
            h = sim.heading[t, k]
            x, y = sim.pos[t, k] - 0.2 * sim.body_length * np.array([np.cos(h), np.sin(h)])
            px = img[int(round(y)), int(round(x))].astype(int)
            near = (np.hypot(*(sim.pos[t] - sim.pos[t, k]).T) < sim.body_length) & ~sim.missing[t]
            near[k] = False
            if near.any():  # another animal drawn over this spot
                continue
            if sim.missing[t, k]:
                assert np.abs(px - BACKGROUND).max() < 40
            else:
                assert np.abs(px - PALETTE[k]).max() < 60, (t, k, px)
            checked += 1
    cap.release()
    assert n_read == sim.n_frames and checked > 10
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]  # no temp files left


# ---------------------------------------------------------------------------------- bad input
def test_writers_reject_inconsistent_sequences(sim, tmp_path):
    from dataclasses import replace

    from mosaic.core.errors import ConfigError

    bad = replace(sim, heading=sim.heading[:-1])
    for write in (write_trex_npz, write_boris_aggregated, write_boris_tabular, render_video):
        with pytest.raises(ConfigError) as err:
            write(bad, tmp_path / "out.csv")
        assert sim.sequence in str(err.value) and "heading" in str(err.value)
    bad = replace(sim, targets=np.full_like(sim.targets, 7))
    with pytest.raises(ConfigError, match="targets"):
        write_trex_npz(bad, tmp_path)


def test_trex_skips_never_detected_animal(sim, tmp_path):
    from dataclasses import replace

    miss = sim.missing.copy()
    miss[:, 1] = True
    paths = write_trex_npz(replace(sim, missing=miss), tmp_path)
    assert [p.name for p in paths] == [f"{sim.sequence}_fish0.npz", f"{sim.sequence}_fish2.npz"]


def test_video_writer_failure_names_the_file(sim, tmp_path):
    pytest.importorskip("cv2")
    from mosaic.core.errors import MediaError

    with pytest.raises(MediaError) as err:
        render_video(sim, tmp_path / "video.unknownext")
    assert "video.unknownext" in str(err.value)
    assert not list(tmp_path.iterdir())  # nothing left behind
