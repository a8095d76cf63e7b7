"""BORIS project files (.boris): events of every observation, queued media, toggled state events."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mosaic.core.errors import LabelFormatError
from mosaic.labels import convert_all_labels, load_labels
from mosaic.labels.boris import read_boris_export, read_boris_project

from .helpers import got_rows, snapshot, write_aggregated

BORIS_DIR = ("boris", "boris-tests")


def _frame(t: float, fps: float) -> int:
    return math.floor(t * fps + 0.5)


def test_real_project_matches_its_own_exports(realdata):
    from tests.conftest import realdata_file

    proj = read_boris_project(realdata_file(realdata, *BORIS_DIR, "test.boris"))
    tab = read_boris_export(realdata_file(realdata, *BORIS_DIR, "test_export_events_tabular.tsv"))
    o1 = proj.bouts[proj.bouts["observation_id"] == "observation #1"]
    key = ["subject", "behavior", "start_s", "stop_s", "media_file"]
    assert sorted(map(tuple, o1[key].to_numpy().tolist())) == sorted(map(tuple, tab.bouts[key].to_numpy().tolist()))
    # observation #2 queues a 180 s and a 360 s video: the aggregated export gives observation times,
    # the project reader media times (observation time minus the first video's length)
    pj = json.loads(realdata_file(realdata, *BORIS_DIR, "test.boris").read_text())
    first_len = pj["observations"]["observation #2"]["media_info"]["length"]["video_test_25fps_180s.mp4"]
    agg = read_boris_export(realdata_file(realdata, *BORIS_DIR, "test_export_aggregated_events_test_full_1.tsv")).bouts
    o2 = proj.bouts[proj.bouts["observation_id"] == "observation #2"]
    for media, shift in (("video_test_25fps_180s.mp4", 0.0), ("video_test_25fps_360s.mp4", first_len)):
        a = agg[agg["media_file"] == media]
        p = o2[o2["media_file"] == media]
        assert np.allclose(np.sort(a["start_s"].to_numpy() - shift), np.sort(p["start_s"].to_numpy()))
        assert np.allclose(np.sort(a["stop_s"].to_numpy() - shift), np.sort(p["stop_s"].to_numpy()))
    # a state event left open is reported
    assert [(i["issue"], i["observation_id"]) for i in proj.issues] == [("unmatched_start", "live not paired")]


def test_real_project_converts(realdata, dataset):
    from tests.conftest import realdata_file

    path = realdata_file(realdata, *BORIS_DIR, "test.boris")
    rep = convert_all_labels(dataset, params={"paths": [str(path)], "default_group": "P", "fps": 25})
    assert rep.source_format == "boris_project" and len(rep) > 0
    assert "unmatched_start" in {i["issue"] for i in rep.issues}


def _media_index(dataset, lengths: dict[str, float], group: str = "P") -> None:
    """A media index as ``index_media`` writes it, for videos of the given lengths (no video files needed)."""
    import pandas as pd

    from mosaic.core.indexes import upsert_index
    from mosaic.media.index import MEDIA_INDEX

    rows = [
        {
            "name": m,
            "abs_path": f"media_raw/{group}/{m}",
            "group": group,
            "sequence": m.rsplit(".", 1)[0],
            "fps": 25.0,
            "n_frames": round(d * 25),
            "duration_s": d,
        }
        for m, d in lengths.items()
    ]
    upsert_index(dataset.get_root("media") / "index.csv", pd.DataFrame(rows), MEDIA_INDEX)


def test_queued_media_of_an_aggregated_export_without_lengths_are_refused(realdata, dataset):
    from tests.conftest import realdata_file

    agg = realdata_file(realdata, *BORIS_DIR, "test_export_aggregated_events_test_full_1.tsv")
    with pytest.raises(LabelFormatError) as ei:
        convert_all_labels(dataset, params={"paths": [str(agg)], "default_group": "P"})
    msg = str(ei.value)
    assert "observation #2" in msg and agg.name in msg and "video_test_25fps_360s.mp4" in msg and "media_offsets" in msg
    assert not (dataset.get_root("labels") / "behavior" / "index.csv").exists()


def test_queued_media_placed_from_the_video_lengths(realdata, dataset):
    """The real aggregated export of a 180 s + 360 s queue: events of the second video land at its own times."""
    from tests.conftest import realdata_file

    agg = realdata_file(realdata, *BORIS_DIR, "test_export_aggregated_events_test_full_1.tsv")
    pj = json.loads(realdata_file(realdata, *BORIS_DIR, "test.boris").read_text())
    lengths = pj["observations"]["observation #2"]["media_info"][
        "length"
    ]  # 179.96 and 359.96 s, as BORIS measured them
    _media_index(dataset, lengths)
    rep = convert_all_labels(dataset, params={"paths": [str(agg)]})
    assert [i["issue"] for i in rep.issues] == []
    idx = rep.index.set_index("sequence")
    assert idx.loc["video_test_25fps_180s", "n_frames"] == _frame(179.96, 25) == 4499  # not the observation's 539.92 s
    assert idx.loc["video_test_25fps_360s", "n_frames"] == _frame(359.96, 25)
    d = load_labels(dataset, "P", "video_test_25fps_360s")
    s_id = d["label_ids"][d["label_names"] == "s"][0]
    scene = (d["individual_ids"][:, 0] == -1) & (d["labels"] == s_id)
    assert d["frames"][scene].min() == _frame(227.765 - 179.96, 25) == 1195
    d180 = load_labels(dataset, "P", "video_test_25fps_180s")
    assert d180["frames"].max() < 4499 and d180["frames"].min() == _frame(1.8, 25)
    # lengths that cannot be the queue (they do not add up to the export's total length) are refused
    _media_index(dataset, {"video_test_25fps_180s.mp4": 100.0})
    with pytest.raises(LabelFormatError, match="do not add up"):
        convert_all_labels(dataset, kind="other", params={"paths": [str(agg)]})


def test_queued_media_placed_by_explicit_offsets(realdata, dataset):
    from tests.conftest import realdata_file

    agg = realdata_file(realdata, *BORIS_DIR, "test_export_aggregated_events_test_full_1.tsv")
    pj = json.loads(realdata_file(realdata, *BORIS_DIR, "test.boris").read_text())
    first_len = pj["observations"]["observation #2"]["media_info"]["length"]["video_test_25fps_180s.mp4"]
    rep = convert_all_labels(
        dataset,
        kind="fixed",
        params={"paths": [str(agg)], "default_group": "P", "media_offsets": {"video_test_25fps_360s.mp4": first_len}},
    )
    assert rep.issues == []
    assert (
        rep.index.set_index("sequence").loc["video_test_25fps_180s", "n_frames"] == 4499
    )  # from where the next file starts
    d = load_labels(dataset, "P", "video_test_25fps_360s", kind="fixed")
    scene = d["individual_ids"][:, 0] == -1
    s_id = d["label_ids"][d["label_names"] == "s"][0]
    first_bout = (227.765 - first_len, 253.490 - first_len)
    frames = d["frames"][scene & (d["labels"] == s_id)]
    assert frames.min() == _frame(first_bout[0], 25)


def test_current_boris_multi_media_cells_place_the_queue(dataset, tmp_path):
    """Current BORIS writes the queue (``Source``) and each file's length (``Media duration (s)``) in every row."""
    header = [
        "Observation id",
        "Observation type",
        "Source",
        "Time offset (s)",
        "Media duration (s)",
        "FPS",
        "Subject",
        "Behavior",
        "Behavioral category",
        "Media file name",
        "Behavior type",
        "Start (s)",
        "Stop (s)",
        "Duration (s)",
    ]
    src, dur = "player #1:/v/a.mp4;/v/b.mp4", "10.000;20.000"
    rows = [
        [
            "o1",
            "Media file",
            src,
            "0.000",
            dur,
            "10.000;10.000",
            "fish1",
            "walk",
            "",
            "/v/a.mp4",
            "STATE",
            "1.0",
            "2.0",
            "1.0",
        ],
        [
            "o1",
            "Media file",
            src,
            "0.000",
            dur,
            "10.000;10.000",
            "fish1",
            "walk",
            "",
            "/v/b.mp4",
            "STATE",
            "12.0",
            "13.5",
            "1.5",
        ],
    ]
    path = tmp_path / "agg.tsv"
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    rep = convert_all_labels(dataset, params={"paths": [str(path)], "default_group": "G"})
    assert rep.issues == []
    idx = rep.index.set_index("sequence")
    assert (idx.loc["a", "n_frames"], idx.loc["b", "n_frames"]) == (100, 200)
    assert set(load_labels(dataset, "G", "b")["frames"].tolist()) == set(range(20, 35))
    assert set(load_labels(dataset, "G", "a")["frames"].tolist()) == set(range(10, 20))


def _project(
    tmp_path, events, obs_type="MEDIA", media=("a.mp4",), lengths=(10.0,), fps=10.0, offset=0.0, name="p.boris"
):
    pj = {
        "project_format_version": "7.0",
        "subjects_conf": {"0": {"key": "1", "name": "fish1"}, "1": {"key": "2", "name": "fish2"}},
        "behaviors_conf": {
            "0": {"type": "State event", "code": "chase"},
            "1": {"type": "Point event", "code": "bite"},
            "2": {"type": "State event", "code": "rest"},
        },
        "observations": {
            "obs1": {
                "type": obs_type,
                "time offset": offset,
                "events": events,
                "file": {"1": list(media), "2": []},
                "media_info": {"length": dict(zip(media, lengths)), "fps": {m: fps for m in media}},
            }
        },
    }
    path = tmp_path / name
    path.write_text(json.dumps(pj))
    return path


def test_hand_built_project(dataset, tmp_path):
    events = [
        [1.0, "fish1", "chase", "fish2", ""],
        [1.5, "fish1", "bite", "", ""],
        [2.0, "fish1", "chase", "fish2", ""],
        [11.0, "fish2", "rest", "", ""],
        [12.0, "fish2", "rest", "", ""],
        [3.0, "", "rest", "", ""],
        [3.2, "", "rest", "", ""],
    ]
    path = _project(tmp_path, events, media=("a.mp4", "b.mp4"), lengths=(10.0, 10.0))
    rep = convert_all_labels(
        dataset,
        params={
            "paths": [str(path)],
            "default_group": "G",
            "pair_behaviors": ["chase"],
            "behaviors": ["chase", "bite", "rest"],
        },
    )
    assert rep.issues == [] and sorted(rep.written) == [("G", "a"), ("G", "b")]
    a = set(map(tuple, got_rows(load_labels(dataset, "G", "a")).tolist()))
    exp_a = (
        {(f, 1, 2, 0) for f in range(10, 20)}
        | {(f, 2, 1, 0) for f in range(10, 20)}
        | {(15, 1, -1, 1)}
        | {(30, -1, -1, 2), (31, -1, -1, 2)}
    )
    assert a == exp_a
    b = set(map(tuple, got_rows(load_labels(dataset, "G", "b")).tolist()))
    assert b == {(f, 2, -1, 2) for f in range(10, 20)}  # queued file: 11 s - 10 s → frame 10


def test_bad_projects(dataset, tmp_path):
    write_aggregated(tmp_path / "ok.tsv", [("fish1", "walk", 0, 1.0, "", "STATE")], fps=10, media="ok.mp4")
    convert_all_labels(dataset, params={"paths": [str(tmp_path / "ok.tsv")], "default_group": "G"})
    snap = snapshot(dataset.get_root("labels"))
    bad = tmp_path / "bad.boris"
    bad.write_text("{not json")
    with pytest.raises(LabelFormatError, match="not valid JSON") as e:
        convert_all_labels(dataset, params={"paths": [str(bad)], "default_group": "G"})
    assert str(bad) in str(e.value)
    bad.write_text(json.dumps({"observations": {}}))
    with pytest.raises(LabelFormatError, match="not a BORIS project"):
        convert_all_labels(dataset, params={"paths": [str(bad)], "default_group": "G"})
    p = _project(tmp_path, [[1.0, "fish1", "dance", "", ""]], name="unk.boris")
    with pytest.raises(LabelFormatError, match="not in its ethogram") as e:
        convert_all_labels(dataset, params={"paths": [str(p)], "default_group": "G"})
    assert "dance" in str(e.value)
    assert snapshot(dataset.get_root("labels")) == snap


def test_real_project_observations_sharing_a_recording_are_reported(realdata, dataset):
    """test.boris codes the 360 s video in four observations: merging them is reported, never silent."""
    from tests.conftest import realdata_file

    path = realdata_file(realdata, *BORIS_DIR, "test.boris")
    pj = json.loads(path.read_text())
    on_360 = sorted(
        k
        for k, o in pj["observations"].items()
        if o.get("type") == "MEDIA"
        and o.get("events")
        and "video_test_25fps_360s.mp4" in (o.get("file") or {}).get("1", [])
    )
    assert len(on_360) == 4
    rep = convert_all_labels(dataset, params={"paths": [str(path)], "default_group": "P", "fps": 25})
    multi = [i for i in rep.issues if i["issue"] == "multiple_sources" and i["sequence"] == "video_test_25fps_360s"]
    assert len(multi) == 1 and multi[0]["observation_id"] == on_360
    for obs in on_360:
        assert obs in multi[0]["message"]
    with pytest.raises(LabelFormatError, match="multiple_sources"):
        convert_all_labels(
            dataset, kind="strict", params={"paths": [str(path)], "default_group": "P", "fps": 25, "on_issue": "error"}
        )


def test_project_queue_without_lengths_is_refused(dataset, tmp_path):
    path = _project(
        tmp_path,
        [[1.0, "fish1", "bite", "", ""], [15.0, "fish1", "bite", "", ""]],
        media=("a.mp4", "b.mp4"),
        lengths=(float("nan"), 10.0),
    )
    pj = json.loads(path.read_text())
    del pj["observations"]["obs1"]["media_info"]["length"]["a.mp4"]
    path.write_text(json.dumps(pj))
    with pytest.raises(LabelFormatError, match="lacks their lengths") as ei:
        convert_all_labels(dataset, params={"paths": [str(path)], "default_group": "G"})
    assert "obs1" in str(ei.value) and "p.boris" in str(ei.value)
