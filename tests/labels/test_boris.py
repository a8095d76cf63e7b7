"""BORIS exports (tabular and aggregated; real files, synthetic round trips, bad inputs)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.labels import (
    convert_all_labels,
    get_label_map,
    load_labels,
    read_labels_index,
)
from mosaic.labels.boris import read_boris_export

from .helpers import expected_rows, got_rows, snapshot, write_aggregated, write_tabular

BORIS_DIR = ("boris", "boris-tests")


def _frame(t: float, fps: float) -> int:
    return math.floor(t * fps + 0.5)


def _real_files(realdata: Path) -> list[Path]:
    files = sorted(p for p in realdata.joinpath(*BORIS_DIR).glob("*") if p.suffix in (".tsv", ".csv"))
    assert files, f"no BORIS exports under {realdata.joinpath(*BORIS_DIR)}"
    return files


# ----------------------------------------------------------------------------- real files
def test_every_real_export_parses_with_values_from_the_file(realdata):
    for path in _real_files(realdata):
        text = path.read_text(encoding="utf-8-sig")
        sep = "\t" if path.suffix == ".tsv" else ","
        lines = [ln.split(sep) for ln in text.splitlines() if ln.strip(sep + " ")]
        exp = read_boris_export(path)
        if "aggregated" in path.name:
            data = [ln for ln in lines if ln[-6] in ("STATE", "POINT")]
            starts = [float(ln[-5]) for ln in data]
            stops = [float(ln[-4]) for ln in data]
            subjects = [ln[-10] for ln in data]
            assert exp.bouts["start_s"].tolist() == starts, path.name
            assert exp.bouts["stop_s"].tolist() == stops, path.name
            assert exp.bouts["subject"].tolist() == subjects, path.name
        else:
            hi = next(i for i, ln in enumerate(lines) if ln[0] == "Time")
            ev = lines[hi + 1 :]
            opened: dict[tuple[str, str], float] = {}
            pairs = []
            for ln in ev:
                key = (ln[4], ln[5])
                if ln[8] == "START":
                    opened[key] = float(ln[0])
                elif ln[8] == "STOP":
                    pairs.append((key[0], opened.pop(key), float(ln[0])))
            got = sorted(zip(exp.bouts["subject"], exp.bouts["start_s"], exp.bouts["stop_s"]))
            assert got == sorted(pairs), path.name
            assert exp.issues == []


def test_headerless_layouts_are_told_apart(realdata):
    files = {p.name: p for p in _real_files(realdata)}
    with_desc = read_boris_export(files["test_export_aggregated_events_test_full_5.tsv"])
    no_desc = read_boris_export(files["test_export_aggregated_events_test_full_3.tsv"])
    live = read_boris_export(files["test_export_aggregated_events_test_full_with_trailing_spaces_in_modifiers.tsv"])
    assert with_desc.layout == no_desc.layout == "aggregated_headerless"
    assert set(with_desc.bouts["media_file"]) == {"video_test_25fps_180s.mp4"}
    assert set(no_desc.bouts["media_file"]) == {"video_test_25fps_180s.mp4", "video_test_25fps_360s.mp4"}
    assert (no_desc.bouts["fps"] == 25.0).all()
    assert set(live.bouts["media_file"]) == {"LIVE"} and live.bouts["fps"].isna().all()
    assert (live.bouts["type"] == "POINT").all()


def test_real_tabular_converts_to_exact_frames(realdata, dataset):
    path = realdata.joinpath(*BORIS_DIR, "test_export_events_tabular.csv")
    assert path.exists(), f"real tabular export missing: {path}"
    rep = convert_all_labels(dataset, params={"paths": [str(path)], "default_group": "g"})
    assert rep.written == [("g", "video_test_25fps_360s")] and rep.issues == []
    d = load_labels(dataset, "g", "video_test_25fps_360s")
    # bouts written in the file (seconds) → frames by round(t * 25), stop exclusive
    bouts = [("subject1", 3.3, 7.75), ("subject1", 9.9, 16.2), ("subject1", 18.35, 24.475), ("subject2", 38.425, 46.1)]
    exp = sorted((f, int(s[-1]), -1, 0) for s, a, b in bouts for f in range(_frame(a, 25), _frame(b, 25)))
    assert got_rows(d).tolist() == [list(r) for r in exp]
    assert d["fps"] == 25.0 and d["label_names"].tolist() == ["s"]


def test_real_live_export_needs_fps_then_converts_points(realdata, dataset):
    path = realdata.joinpath(
        *BORIS_DIR, "test_export_aggregated_events_test_full_with_trailing_spaces_in_modifiers.tsv"
    )
    assert path.exists(), f"real LIVE export missing: {path}"
    with pytest.raises(LabelFormatError, match="no FPS") as e:
        convert_all_labels(dataset, params={"paths": [str(path)], "default_group": "live"})
    assert str(path) in str(e.value)
    rep = convert_all_labels(dataset, params={"paths": [str(path)], "default_group": "live", "fps": 10})
    d = load_labels(dataset, "live", "test1 live")
    # the point at 26.007 s is frame 260 of a 26.007 s (260-frame) observation: past the end, reported
    assert sorted(d["frames"].tolist()) == sorted(_frame(t, 10) for t in (20.135, 12.663, 4.151))
    assert [i["issue"] for i in rep.issues] == ["past_end"] and rep.issues[0]["line"] == 2
    assert (d["individual_ids"] == -1).all()
    assert rep.written == [("live", "test1 live")]


# ----------------------------------------------------------------------------- synthetic round trip
BEHAVIORS = ["rest", "explore", "approach", "contact"]
PAIR = {2, 3}


def _truth(seed=1, T=400, n=3):
    rng = np.random.default_rng(seed)
    states = np.zeros((T, n), np.int64)
    targets = np.full((T, n), -1, np.int64)
    for i in range(n):
        t = 0
        while t < T:
            d = int(rng.integers(1, 40))
            s = int(rng.integers(0, 4))
            states[t : t + d, i] = s
            if s in PAIR:
                targets[t : t + d, i] = int(rng.choice([j for j in range(n) if j != i]))
            t += d
    return states, targets


def _bouts(states, targets):
    """Maximal runs of (state, target) per animal — computed with a plain loop."""
    out = []
    T, n = states.shape
    for i in range(n):
        start = 0
        for t in range(1, T + 1):
            if t == T or states[t, i] != states[start, i] or targets[t, i] != targets[start, i]:
                out.append((i, int(states[start, i]), int(targets[start, i]), start, t))
                start = t
    return out


@pytest.mark.parametrize("fps", [25.0, 30.0, 29.97])
def test_round_trip_both_export_kinds(dataset, tmp_path, fps):
    states, targets = _truth()
    bouts = _bouts(states, targets)
    agg = [
        (f"fish{i}", BEHAVIORS[s], a / fps, b / fps, f"fish{j}" if j >= 0 else "", "STATE") for i, s, j, a, b in bouts
    ]
    (tmp_path / "agg").mkdir()
    write_aggregated(tmp_path / "agg" / "rec1.tsv", agg, fps=fps, media="rec1.mp4")
    events = []
    for i, s, j, a, b in bouts:
        c = f"fish{j}" if j >= 0 else ""
        events += [
            (a, 1, i, (a / fps, f"fish{i}", BEHAVIORS[s], "START", c)),
            (b, 0, i, (b / fps, f"fish{i}", BEHAVIORS[s], "STOP", c)),
        ]
    events.sort(key=lambda e: e[:3])
    (tmp_path / "tab").mkdir()
    write_tabular(tmp_path / "tab" / "rec1.csv", [e[3] for e in events], fps=fps, media="rec1.mp4")
    exp = expected_rows(states, targets, PAIR)
    for kind, folder in (("agg", "agg"), ("tab", "tab")):
        rep = convert_all_labels(
            dataset,
            kind=kind,
            params={
                "paths": [str(tmp_path / folder)],
                "default_group": "G",
                "pair_behaviors": ["approach", "contact"],
                "behaviors": BEHAVIORS,
            },
        )
        assert rep.issues == [] and rep.written == [("G", "rec1")]
        d = load_labels(dataset, "G", "rec1", kind=kind)
        assert np.array_equal(got_rows(d), exp), kind
        assert d["label_names"].tolist() == BEHAVIORS


def test_scene_points_and_background(dataset, tmp_path):
    bouts = [
        ("fish1", "walk", 0.0, 1.0, "", "STATE"),
        ("No focal subject", "light", 0.5, 0.7, "", "STATE"),
        ("fish2", "jump", 0.4, 0.4, "", "POINT"),
    ]
    write_aggregated(tmp_path / "x.tsv", bouts, fps=10, media="x.mp4")
    convert_all_labels(
        dataset, params={"paths": [str(tmp_path / "x.tsv")], "default_group": "G", "background": "none", "n_frames": 12}
    )
    d = load_labels(dataset, "G", "x")
    vocab = dict(zip(d["label_names"].tolist(), d["label_ids"].tolist()))
    assert vocab["none"] == 0  # background first
    rows = set(map(tuple, got_rows(d).tolist()))
    walk, light, jump, none = vocab["walk"], vocab["light"], vocab["jump"], vocab["none"]
    exp = {(f, 1, -1, walk) for f in range(10)} | {(f, 1, -1, none) for f in (10, 11)}
    exp |= {(f, -1, -1, light) for f in (5, 6)}
    exp |= {(4, 2, -1, jump)} | {(f, 2, -1, none) for f in range(12) if f != 4}
    assert rows == exp
    # points can be switched off
    convert_all_labels(
        dataset,
        kind="nopoints",
        params={"paths": [str(tmp_path / "x.tsv")], "default_group": "G", "point_events": False},
    )
    d2 = load_labels(dataset, "G", "x", kind="nopoints")
    assert "jump" not in d2["label_names"].tolist() and not (d2["individual_ids"][:, 0] == 2).any()


def test_subject_map_and_pair_partner_from_modifiers(dataset, tmp_path):
    bouts = [("Alice", "chase", 0.0, 0.3, "x|Bob", "STATE"), ("Bob", "sit", 0.0, 0.2, "", "STATE")]
    write_aggregated(tmp_path / "m.tsv", bouts, fps=10, media="m.mp4")
    convert_all_labels(
        dataset,
        params={
            "paths": [str(tmp_path / "m.tsv")],
            "default_group": "G",
            "subject_map": {"Alice": 7, "Bob": 9},
            "pair_behaviors": ["chase"],
        },
    )
    d = load_labels(dataset, "G", "m")
    v = dict(zip(d["label_names"].tolist(), d["label_ids"].tolist()))
    exp = (
        {(f, 7, 9, v["chase"]) for f in range(3)}
        | {(f, 9, 7, v["chase"]) for f in range(3)}
        | {(f, 9, -1, v["sit"]) for f in range(2)}
    )
    assert set(map(tuple, got_rows(d).tolist())) == exp


def test_problems_are_reported_not_dropped(dataset, tmp_path):
    bouts = [
        ("fish1", "a", 0.0, 1.0, "", "STATE"),
        ("fish1", "b", 0.5, 1.5, "", "STATE"),  # overlap
        ("fish2", "a", 1.8, 2.5, "", "STATE"),  # past the end (20 frames)
        ("fish3", "chase", 0.0, 0.2, "", "STATE"),
    ]  # pair without partner
    write_aggregated(tmp_path / "p.tsv", bouts, fps=10, media="p.mp4")
    rep = convert_all_labels(
        dataset,
        params={"paths": [str(tmp_path / "p.tsv")], "default_group": "G", "n_frames": 20, "pair_behaviors": ["chase"]},
    )
    kinds = sorted(i["issue"] for i in rep.issues)
    assert kinds == ["overlap", "pair_without_partner", "past_end"]
    assert all(i["file"] == str(tmp_path / "p.tsv") for i in rep.issues)
    d = load_labels(dataset, "G", "p")
    assert d["frames"][d["individual_ids"][:, 0] == 2].max() == 19  # clipped, not dropped
    assert (d["individual_ids"][:, 0] == 3).sum() == 2  # kept as individual events
    report = json.loads((dataset.folder / "labels" / "behavior" / "conversion_report.json").read_text())
    assert len(report["issues"]) == 3
    # on_issue='error' refuses and writes nothing new
    with pytest.raises(LabelFormatError, match="annotation problem"):
        convert_all_labels(
            dataset,
            kind="strict",
            params={"paths": [str(tmp_path / "p.tsv")], "default_group": "G", "n_frames": 20, "on_issue": "error"},
        )
    assert not (dataset.folder / "labels" / "strict" / "index.csv").exists()


def test_vocabulary_is_kept_across_runs(dataset, tmp_path):
    write_aggregated(tmp_path / "r1.tsv", [("fish1", "walk", 0, 0.5, "", "STATE")], fps=10, media="r1.mp4")
    write_aggregated(
        tmp_path / "r2.tsv",
        [("fish1", "eat", 0, 0.5, "", "STATE"), ("fish1", "walk", 0.5, 0.9, "", "STATE")],
        fps=10,
        media="r2.mp4",
    )
    convert_all_labels(dataset, params={"paths": [str(tmp_path / "r1.tsv")], "default_group": "G"})
    convert_all_labels(dataset, params={"paths": [str(tmp_path / "r2.tsv")], "default_group": "G"})
    assert get_label_map(dataset) == {0: "walk", 1: "eat"}


def test_sequence_resolution_from_map_and_tracks_index(dataset, tmp_path):
    write_aggregated(
        tmp_path / "v.tsv",
        [("fish0", "walk", 0, 0.5, "", "STATE")],
        fps=10,
        media="C:\\videos\\trial 3.mp4",
        obs="obsA",
    )
    rep = convert_all_labels(
        dataset, params={"paths": [str(tmp_path / "v.tsv")], "sequence_map": {"obsA": ["grp", "trial/3"]}}
    )
    assert rep.written == [("grp", "trial/3")]
    # through tracks/index.csv: a sequence named like the media stem
    from mosaic.core.indexes import TRACKS_INDEX, upsert_index

    upsert_index(
        dataset.get_root("tracks") / "index.csv",
        [
            {
                "group": "gT",
                "sequence": "trial 3",
                "group_safe": "gT",
                "sequence_safe": "trial%203",
                "abs_path": "tracks/x.parquet",
                "schema": "trex_v1",
                "src_format": "x",
                "n_rows": 1,
                "n_frames": 50,
                "n_ids": 1,
                "fps": 10.0,
                "frame_max": 59,
            }
        ],
        TRACKS_INDEX,
    )
    rep = convert_all_labels(dataset, kind="k2", params={"paths": [str(tmp_path / "v.tsv")]})
    assert rep.written == [("gT", "trial 3")]
    # recording length from the tracks index: last frame + 1 (n_frames counts frames with detections)
    assert int(read_labels_index(dataset, "k2")["n_frames"].iloc[0]) == 60
    with pytest.raises(LabelFormatError, match="which \\(group, sequence\\)") as e:
        write_aggregated(tmp_path / "w.tsv", [("fish0", "walk", 0, 0.5, "", "STATE")], fps=10, media="zzz.mp4", obs="o")
        convert_all_labels(dataset, kind="k3", params={"paths": [str(tmp_path / "w.tsv")]})
    assert str(tmp_path / "w.tsv") in str(e.value)


# ----------------------------------------------------------------------------- bad inputs
@pytest.fixture
def converted(dataset, tmp_path):
    """A dataset with one recording already converted, and a snapshot of its labels root."""
    write_aggregated(tmp_path / "ok.tsv", [("fish1", "walk", 0, 1.0, "", "STATE")], fps=10, media="ok.mp4")
    convert_all_labels(dataset, params={"paths": [str(tmp_path / "ok.tsv")], "default_group": "G"})
    return dataset, snapshot(dataset.get_root("labels"))


def _assert_untouched(ds, snap):
    assert snapshot(ds.get_root("labels")) == snap
    assert load_labels(ds, "G", "ok")["frames"].tolist() == list(range(10))


def test_missing_columns(converted, tmp_path):
    ds, snap = converted
    bad = write_aggregated(tmp_path / "bad.tsv", [("fish1", "walk", 0, 1.0, "", "STATE")], drop_columns=("Stop (s)",))
    with pytest.raises(LabelFormatError, match="lacks required columns") as e:
        convert_all_labels(ds, params={"paths": [str(bad)], "default_group": "G"}, overwrite=True)
    assert str(bad) in str(e.value) and "Stop (s)" in str(e.value)
    bad2 = write_tabular(tmp_path / "bad2.csv", [(0.0, "fish1", "walk", "START", "")], drop_columns=("Subject",))
    with pytest.raises(LabelFormatError, match="lacks required columns") as e:
        convert_all_labels(ds, params={"paths": [str(bad2)], "default_group": "G"}, overwrite=True)
    assert str(bad2) in str(e.value) and "Subject" in str(e.value)
    _assert_untouched(ds, snap)


def test_unknown_subject(converted, tmp_path):
    ds, snap = converted
    bad = write_aggregated(tmp_path / "ok.tsv", [("Bob", "walk", 0, 1.0, "", "STATE")], fps=10, media="ok.mp4")
    with pytest.raises(LabelFormatError, match="unknown subject") as e:
        convert_all_labels(ds, params={"paths": [str(bad)], "default_group": "G"}, overwrite=True)
    assert str(bad) in str(e.value) and "Bob" in str(e.value)
    with pytest.raises(LabelFormatError, match="not in subject_map") as e:
        convert_all_labels(
            ds, params={"paths": [str(bad)], "default_group": "G", "subject_map": {"Alice": 1}}, overwrite=True
        )
    assert str(bad) in str(e.value)
    clash = write_aggregated(
        tmp_path / "ok.tsv",
        [("fish1", "walk", 0, 1.0, "", "STATE"), ("rat1", "walk", 0, 1.0, "", "STATE")],
        fps=10,
        media="ok.mp4",
    )
    with pytest.raises(LabelFormatError, match="same individual id") as e:
        convert_all_labels(ds, params={"paths": [str(clash)], "default_group": "G"}, overwrite=True)
    assert str(clash) in str(e.value) and "rat1" in str(e.value)
    _assert_untouched(ds, snap)


def test_stop_without_start(converted, tmp_path):
    ds, snap = converted
    bad = write_tabular(
        tmp_path / "ok.csv",
        [
            (0.1, "fish1", "walk", "STOP", ""),
            (0.2, "fish1", "walk", "START", ""),
            (0.5, "fish1", "walk", "STOP", ""),
            (0.7, "fish2", "walk", "START", ""),
        ],
        fps=10,
        media="ok.mp4",
    )
    with pytest.raises(LabelFormatError, match="annotation problem") as e:
        convert_all_labels(ds, params={"paths": [str(bad)], "default_group": "G", "on_issue": "error"}, overwrite=True)
    assert str(bad) in str(e.value) and "unmatched_stop" in str(e.value)
    _assert_untouched(ds, snap)
    # default: reported, the matched bout is kept
    rep = convert_all_labels(ds, kind="lenient", params={"paths": [str(bad)], "default_group": "G"})
    assert sorted(i["issue"] for i in rep.issues) == ["unmatched_start", "unmatched_stop"]
    assert load_labels(ds, "G", "ok", kind="lenient")["frames"].tolist() == [2, 3, 4]


def test_wrong_delimiter(converted, tmp_path):
    ds, snap = converted
    tsv = write_aggregated(
        tmp_path / "ok.tsv", [("fish1", "walk", 0, 1.0, "", "STATE")], fps=10, media="ok.mp4", sep="\t"
    )
    with pytest.raises(LabelFormatError, match="comma delimiter") as e:
        convert_all_labels(ds, params={"paths": [str(tsv)], "default_group": "G", "delimiter": ","}, overwrite=True)
    assert str(tsv) in str(e.value) and "tab-separated" in str(e.value)
    piped = write_aggregated(
        tmp_path / "piped.csv", [("fish1", "walk", 0, 1.0, "", "STATE")], fps=10, media="ok.mp4", sep="|"
    )
    with pytest.raises(LabelFormatError, match="not a BORIS events export") as e:
        convert_all_labels(ds, params={"paths": [str(piped)], "default_group": "G"}, overwrite=True)
    assert str(piped) in str(e.value)
    _assert_untouched(ds, snap)


def test_empty_file_and_unknown_format(converted, tmp_path):
    ds, snap = converted
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(LabelFormatError, match="empty") as e:
        convert_all_labels(ds, params={"paths": [str(empty)], "default_group": "G"})
    assert str(empty) in str(e.value)
    with pytest.raises(ConfigError, match="no label converter") as e:
        convert_all_labels(ds, source_format="elan_eaf", params={"paths": [str(empty)]})
    assert "boris_csv" in str(e.value) and "calms21_npy" in str(e.value)
    with pytest.raises(ConfigError, match="unknown boris_csv parameters"):
        convert_all_labels(ds, source_format="boris_csv", params={"paths": [str(empty)], "pair_behaviours": ["x"]})
    _assert_untouched(ds, snap)


# ----------------------------------------------------------------------------- current BORIS (8.x) layouts
NEW_TAB = [
    "Observation id",
    "Observation date",
    "Description",
    "Observation duration",
    "Observation type",
    "Source",
    "Time offset (s)",
    "Media duration (s)",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Modifier #1",
    "Behavior type",
    "Time",
    "Media file name",
    "Image index",
    "Image file path",
    "Comment",
]
NEW_AGG = [
    "Observation id",
    "Observation date",
    "Description",
    "Observation type",
    "Source",
    "Time offset (s)",
    "Coding duration",
    "Media duration (s)",
    "FPS",
    "Subject",
    "Observation duration by subject by observation",
    "Behavior",
    "Behavioral category",
    "Modifier #1",
    "Modifier #2",
    "Behavior type",
    "Start (s)",
    "Stop (s)",
    "Duration (s)",
    "Media file name",
    "Image index start",
    "Image index stop",
    "Image file path start",
    "Image file path stop",
    "Comment start",
    "Comment stop",
]


def test_current_boris_layouts(dataset, tmp_path):
    # fish1 chases fish2 over [1.0, 1.6) s and sniffs once at 2.0 s, at 25 fps, with a 0.4 s time offset in the times
    tab = [NEW_TAB]
    for t, typ, beh, mod in (
        (1.4, "START", "chase", "fish2"),
        (2.0, "STOP", "chase", "fish2"),
        (2.4, "POINT", "sniff", ""),
    ):
        tab.append(
            [
                "o1",
                "2025-01-01 10:00:00",
                "",
                "12.0",
                "Media file",
                "player #1:/v/rec 2.mp4",
                "0.4",
                "12.000",
                "25.000",
                "fish1",
                beh,
                "",
                mod,
                typ,
                f"{t:.3f}",
                "/v/rec 2.mp4",
                "NA",
                "NA",
                "",
            ]
        )
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "new_tab.tsv").write_text("\r\n".join("\t".join(r) for r in tab) + "\r\n")
    agg = [
        NEW_AGG,
        [
            "o1",
            "2025-01-01 10:00:00",
            "",
            "Media file",
            "player #1:/v/rec 2.mp4",
            "0.4",
            "12.0",
            "12.000",
            "25.000",
            "fish1",
            "1.0",
            "chase",
            "",
            "fish2",
            "",
            "STATE",
            "1.400",
            "2.000",
            "0.600",
            "/v/rec 2.mp4",
            "NA",
            "NA",
            "NA",
            "NA",
            "",
            "",
        ],
        [
            "o1",
            "2025-01-01 10:00:00",
            "",
            "Media file",
            "player #1:/v/rec 2.mp4",
            "0.4",
            "12.0",
            "12.000",
            "25.000",
            "fish1",
            "1.0",
            "sniff",
            "",
            "",
            "",
            "POINT",
            "2.400",
            "2.400",
            "NA",
            "/v/rec 2.mp4",
            "NA",
            "NA",
            "NA",
            "NA",
            "",
            "",
        ],
    ]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "new_agg.csv").write_text("\r\n".join(",".join(r) for r in agg) + "\r\n")
    for kind in ("t", "a"):
        rep = convert_all_labels(
            dataset,
            kind=kind,
            params={
                "paths": [str(tmp_path / kind)],
                "default_group": "G",
                "pair_behaviors": ["chase"],
                "behaviors": ["chase", "sniff"],
            },
        )
        assert rep.written == [("G", "rec 2")] and rep.issues == []
        d = load_labels(dataset, "G", "rec 2", kind=kind)
        exp = {(f, 1, 2, 0) for f in range(25, 40)} | {(f, 2, 1, 0) for f in range(25, 40)} | {(50, 1, -1, 1)}
        assert set(map(tuple, got_rows(d).tolist())) == exp and len(d["frames"]) == len(exp)
        assert d["fps"] == 25.0


def test_sequence_resolution_from_media_index(dataset, tmp_path):
    media = dataset.get_root("media")
    media.mkdir(parents=True, exist_ok=True)
    (media / "index.csv").write_text(
        "name,abs_path,group,sequence\n"
        "trial 3.mp4,media_raw/A/trial 3.mp4,gA,seqA\n"
        "trial 3.mp4,media_raw/B/trial 3.mp4,gB,seqB\n"
        "other.mp4,media_raw/A/other.mp4,gA,other\n"
    )
    write_aggregated(
        tmp_path / "v.tsv", [("fish0", "walk", 0, 0.5, "", "STATE")], fps=10, media="D:\\data\\B\\trial 3.mp4", obs="o"
    )
    rep = convert_all_labels(dataset, params={"paths": [str(tmp_path / "v.tsv")]})
    assert rep.written == [("gB", "seqB")]  # same file name twice: the longest common path tail wins
    write_aggregated(
        tmp_path / "w.tsv", [("fish0", "walk", 0, 0.5, "", "STATE")], fps=10, media="/x/other.mp4", obs="o"
    )
    assert convert_all_labels(dataset, kind="k", params={"paths": [str(tmp_path / "w.tsv")]}).written == [
        ("gA", "other")
    ]


def test_real_xlsx_equals_tsv(realdata):
    from tests.conftest import realdata_file

    x = read_boris_export(realdata_file(realdata, *BORIS_DIR, "test_export_events_tabular.xlsx"))
    t = read_boris_export(realdata_file(realdata, *BORIS_DIR, "test_export_events_tabular.tsv"))
    cols = ["observation_id", "media_file", "fps", "total_length", "subject", "behavior", "type", "start_s", "stop_s"]
    assert x.bouts[cols].to_dict("records") == t.bouts[cols].to_dict("records")


def test_every_real_boris_file_is_read(realdata):
    from mosaic.labels.boris import read_boris_project

    files = sorted(p for p in realdata.joinpath(*BORIS_DIR).iterdir() if p.is_file())
    assert {p.suffix for p in files} >= {".tsv", ".csv", ".boris"}
    for p in files:
        e = read_boris_project(p) if p.suffix == ".boris" else read_boris_export(p)
        assert len(e.bouts) > 0, p.name
        assert np.isfinite(e.bouts["start_s"]).all() and (e.bouts["stop_s"] >= e.bouts["start_s"]).all(), p.name


def test_issue_warnings_are_summarised_once_per_kind(caplog):
    """Many problems of one kind give one log line with the count, not one line per event."""
    import logging

    from mosaic.labels.report import log_issue_summary

    issues = [{"issue": "overlap", "message": f"overlap {k}", "file": "a.csv", "line": k} for k in range(50)]
    issues += [{"issue": "past_end", "message": "late", "file": "b.csv", "line": 3}]
    with caplog.at_level(logging.WARNING, logger="mosaic.labels.report"):
        log_issue_summary(issues)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert (
        lines[0].startswith("labels: 50 x overlap in 1 file(s)")
        and "overlap 0" in lines[0]
        and "overlap 49" not in lines[0]
    )
    assert lines[1].startswith("labels: 1 x past_end")
