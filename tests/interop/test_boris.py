"""Labels / predictions → BORIS project → mosaic's own BORIS readers give the same bouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError
from mosaic.interop.boris import (
    Observation,
    bouts_from_labels,
    bouts_from_predictions,
    build_boris_project,
    pair_behaviors_from_project,
    relative_media_path,
    sequence_map_from_project,
    subject_name,
    write_boris_project,
)
from mosaic.labels import convert_all_labels, load_labels
from mosaic.labels.boris import read_boris_project

FPS = 30.0


def _labels(group: str, sequence: str, bouts: list[tuple[int, int, str, int]]) -> dict:
    """Label arrays from (start, stop, behaviour, id) bouts, expanded frame by frame (independent of the exporter)."""
    names = sorted({b[2] for b in bouts})
    rows = [(f, names.index(beh), i) for a, z, beh, i in bouts for f in range(a, z)]
    rows.sort(key=lambda r: (r[0], r[2], r[1]))
    return {
        "frames": np.array([r[0] for r in rows], np.int32),
        "labels": np.array([r[1] for r in rows], np.int32),
        "individual_ids": np.array([[r[2], -1] for r in rows], np.int32),
        "label_ids": np.arange(len(names), dtype=np.int32),
        "label_names": np.array(names),
        "group": group,
        "sequence": sequence,
        "fps": FPS,
    }


BOUTS_A = [
    (0, 45, "groom", 0),
    (45, 90, "walk", 0),
    (10, 11, "rear", 3),
    (200, 260, "walk", 3),
    (261, 300, "walk", 3),
    (5, 50, "huddle", -1),
]
BOUTS_B = [(17, 33, "walk", 1), (100, 101, "groom", 2)]


def _project(tmp_path: Path) -> Path:
    obs = [
        Observation(
            "cage 1",
            "day 1",
            bouts_from_labels(_labels("cage 1", "day 1", BOUTS_A)),
            FPS,
            "videos/cage1_day1.mp4",
            400,
            {0: "alice", 3: "bob"},
        ),
        Observation(
            "cage 2", "day/2", bouts_from_labels(_labels("cage 2", "day/2", BOUTS_B)), FPS, "videos/c2.mp4", 150
        ),
    ]
    return write_boris_project(build_boris_project(obs), tmp_path / "review.boris")


def test_project_layout_boris_expects(tmp_path: Path):
    pj = json.loads(_project(tmp_path).read_text())
    for key in (
        "time_format",
        "project_format_version",
        "subjects_conf",
        "behaviors_conf",
        "observations",
        "independent_variables",
    ):
        assert key in pj
    obs = pj["observations"]["cage 1/day 1"]
    assert obs["type"] == "MEDIA" and obs["file"]["1"] == ["videos/cage1_day1.mp4"]
    assert obs["media_info"]["fps"] == {"videos/cage1_day1.mp4": FPS}
    assert obs["media_info"]["length"] == {"videos/cage1_day1.mp4": round(400 / FPS, 6)}
    # events: [time, subject, code, modifier, comment, frame index], sorted by time; state events only
    times = [e[0] for e in obs["events"]]
    assert times == sorted(times) and all(len(e) == 6 for e in obs["events"])
    assert {b["type"] for b in pj["behaviors_conf"].values()} == {"State event"}
    assert sorted(b["code"] for b in pj["behaviors_conf"].values()) == ["groom", "huddle", "rear", "walk"]
    assert {s["name"] for s in pj["subjects_conf"].values()} == {"alice_0", "bob_3", "id1", "id2"}
    assert sum(1 for e in obs["events"] if e[1] == "alice_0") == 4  # groom + walk: two toggles each


def test_same_bouts_through_the_project_reader(tmp_path: Path):
    bouts = read_boris_project(_project(tmp_path)).bouts
    assert not read_boris_project(tmp_path / "review.boris").issues
    got = sorted(
        (o, s, b, round(a * FPS), round(z * FPS))
        for o, s, b, a, z in bouts[["observation_id", "subject", "behavior", "start_s", "stop_s"]].itertuples(
            index=False
        )
    )
    names = {0: "alice_0", 3: "bob_3", 1: "id1", 2: "id2", -1: ""}
    want = sorted(
        [("cage 1/day 1", names[i], beh, a, z) for a, z, beh, i in BOUTS_A]
        + [("cage 2/day/2", names[i], beh, a, z) for a, z, beh, i in BOUTS_B]
    )
    assert got == want


def test_round_trip_through_the_label_converter(tmp_path: Path, dataset):
    path = _project(tmp_path)
    seq_map = sequence_map_from_project(path)
    assert seq_map == {"cage 1/day 1": ["cage 1", "day 1"], "cage 2/day/2": ["cage 2", "day/2"]}
    convert_all_labels(
        dataset, kind="review", params={"paths": [str(path)], "sequence_map": seq_map}, source_format="boris_project"
    )
    for g, s, bouts in (("cage 1", "day 1", BOUTS_A), ("cage 2", "day/2", BOUTS_B)):
        got = load_labels(dataset, g, s, kind="review")
        want = _labels(g, s, bouts)
        gn = np.asarray(got["label_names"])[np.searchsorted(got["label_ids"], got["labels"])]
        wn = np.asarray(want["label_names"])[want["labels"]]
        key_got = sorted(zip(got["frames"].tolist(), got["individual_ids"][:, 0].tolist(), gn.tolist(), strict=True))
        key_want = sorted(zip(want["frames"].tolist(), want["individual_ids"][:, 0].tolist(), wn.tolist(), strict=True))
        assert key_got == key_want


def test_predictions_become_bouts():
    frames = np.repeat(np.arange(10), 2)
    ids = np.tile([4, 7], 10)
    pred = np.array(["rest"] * 6 + ["run"] * 8 + ["rest"] * 6)  # per (frame, id) row
    df = pd.DataFrame({"frame": frames, "id": ids, "pred": pred})
    b = bouts_from_predictions(df, skip=["rest"])
    # independent: id 4 runs at frames 3..6 (rows 6,8,10,12), id 7 at frames 3..6 (rows 7,9,11,13)
    assert sorted(map(tuple, b[["start", "stop", "behavior", "id_a"]].to_numpy().tolist())) == [
        (3, 7, "run", 4),
        (3, 7, "run", 7),
    ]


def test_overlapping_pair_bouts_with_two_partners(tmp_path: Path, dataset):
    # 1 contacts 2 (frames 0-20) while it contacts 3 (10-30): one BORIS state per partner (modifier)
    b = pd.DataFrame(
        {"start": [0, 10], "stop": [20, 30], "behavior": ["contact", "contact"], "id_a": [1, 1], "id_b": [2, 3]}
    )
    path = write_boris_project(build_boris_project([Observation("g", "s", b, FPS, "v.mp4", 40)]), tmp_path / "p.boris")
    pj = json.loads(path.read_text())
    assert pj["behaviors_conf"]["0"]["modifiers"] == {
        "0": {"name": "partner", "type": 0, "values": ["id1", "id2", "id3"]}
    }
    assert [e[3] for e in pj["observations"]["g/s"]["events"]] == ["id2", "id3", "id2", "id3"]
    bouts = read_boris_project(path).bouts
    got = sorted(
        zip(
            bouts["subject"],
            bouts["modifiers"],
            (bouts["start_s"] * FPS).round().astype(int),
            (bouts["stop_s"] * FPS).round().astype(int),
            strict=True,
        )
    )
    assert got == [("id1", "id2", 0, 20), ("id1", "id3", 10, 30)]
    assert pair_behaviors_from_project(path) == ["contact"]
    convert_all_labels(
        dataset,
        kind="pairs",
        params={"paths": [str(path)], "sequence_map": {"g/s": ["g", "s"]}, "pair_behaviors": ["contact"]},
        source_format="boris_project",
    )
    got = load_labels(dataset, "g", "s", kind="pairs")
    rows = sorted(
        zip(
            got["frames"].tolist(),
            got["individual_ids"][:, 0].tolist(),
            got["individual_ids"][:, 1].tolist(),
            strict=True,
        )
    )
    want = sorted(
        [(f, 1, 2) for f in range(0, 20)]
        + [(f, 2, 1) for f in range(0, 20)]
        + [(f, 1, 3) for f in range(10, 30)]
        + [(f, 3, 1) for f in range(10, 30)]
    )
    assert rows == want


def test_names_and_paths():
    assert subject_name(3, {3: "fish3"}) == "fish3"
    assert subject_name(3, {3: "fish1"}) == "fish1_3"
    assert subject_name(-1) == ""
    assert relative_media_path("/a/b/v.mp4", "/a/p.boris") == "b/v.mp4"
    assert relative_media_path("/x/v.mp4", "/a/p.boris") == "../x/v.mp4"


def test_bad_inputs(tmp_path: Path):
    b = pd.DataFrame(
        {"start": [0, 5], "stop": [10, 12], "behavior": ["walk", "walk"], "id_a": [1, 1], "id_b": [-1, -1]}
    )
    with pytest.raises(ConfigError, match="overlapping"):
        build_boris_project([Observation("g", "s", b, FPS)])
    with pytest.raises(ConfigError, match="fps"):
        build_boris_project([Observation("g", "s", b.iloc[:1], float("nan"))])
    with pytest.raises(ConfigError, match="ethogram"):
        build_boris_project([Observation("g", "s", b.iloc[:1], FPS)], behaviors=["run"])
    with pytest.raises(ConfigError, match="at least one"):
        build_boris_project([])
    with pytest.raises(ConfigError, match=".boris"):
        write_boris_project({}, tmp_path / "x.json")
