"""Label conversion on the core executor: one task per annotation file, the same files whatever the executor.

The annotations live in the dataset folder: ``multi.tsv`` (one BORIS export holding three
observations, i.e. three recordings), ``extra.tsv`` (a fourth observation of a recording of
``multi.tsv``, with a behaviour no other file has) and ``solo.tsv`` (one recording). Expected
frames are written out by hand from the bout times (10 fps, stop exclusive).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.labels import convert_all_labels, load_labels, plan_label_conversion, read_labels_index

from .helpers import write_aggregated

P = {"paths": ["annotations"], "default_group": "g", "fps": 10, "pair_behaviors": ["chase"]}
OBSERVATIONS = {  # export file -> [(observation id, media file, bouts)]
    "multi.tsv": [
        ("oA", "vidA.mp4", [("fish1", "walk", 1.0, 2.0, "", "STATE"), ("fish2", "rest", 0.0, 0.5, "", "STATE")]),
        ("oB", "vidB.mp4", [("fish1", "chase", 0.2, 0.4, "fish2", "STATE")]),
        ("oC", "vidC.mp4", [("fish3", "walk", 0.0, 0.3, "", "STATE")]),
    ],
    "extra.tsv": [("oC2", "vidC.mp4", [("fish3", "eat", 0.5, 0.7, "", "STATE")])],
    "solo.tsv": [("oD", "vidD.mp4", [("fish1", "rest", 0.1, 0.2, "", "STATE")])],
}
VOCAB = ["chase", "eat", "rest", "walk"]  # every file's behaviours, sorted: label id = position


def _write_export(path: Path, observations) -> Path:
    """One BORIS aggregated export holding several observations (one header)."""
    lines: list[str] = []
    for i, (obs, media, bouts) in enumerate(observations):
        part = write_aggregated(path, bouts, fps=10, media=media, obs=obs, total=10.0).read_text(encoding="utf-8")
        lines += part.splitlines()[(0 if i == 0 else 1) :]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _annotate(folder: Path, files: dict = OBSERVATIONS) -> None:
    (folder / "annotations").mkdir(exist_ok=True)
    for name, observations in files.items():
        _write_export(folder / "annotations" / name, observations)


@pytest.fixture
def annotated(dataset):
    _annotate(dataset.folder)
    return dataset


def _outputs(folder: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted((folder / "labels").rglob("*")):
        if not p.is_file() or p.name.startswith(".") or p.suffix == ".lock":
            continue
        rel = p.relative_to(folder).as_posix()
        if p.suffix == ".csv":
            out[rel] = pd.read_csv(p, dtype=str, keep_default_na=False).to_dict("split")
        elif p.suffix == ".json":
            out[rel] = json.loads(p.read_text(encoding="utf-8").replace(str(folder), "<ds>"))
        else:
            out[rel] = p.read_bytes()
    return out


def _rows(d, name: str) -> list[tuple[int, int, int]]:
    """(frame, subject, partner) rows of one behaviour."""
    sel = d["labels"] == VOCAB.index(name)
    return [(int(f), int(a), int(b)) for f, (a, b) in zip(d["frames"][sel], d["individual_ids"][sel], strict=True)]


def test_one_task_per_file_and_the_expected_labels(annotated):
    ds = annotated
    batch = plan_label_conversion(ds, params=P)
    assert [t.files for t in batch.tasks] == [
        ("annotations/extra.tsv",),
        ("annotations/multi.tsv",),
        ("annotations/solo.tsv",),
    ]
    assert all(set(t.params) == set(P) for t in batch.tasks)  # paths and parameters, no table
    rep = batch.run()
    assert sorted(rep.written) == [("g", "vidA"), ("g", "vidB"), ("g", "vidC"), ("g", "vidD")]
    # vidC is labelled by two files: converted together, its events merged and the fact reported
    assert [i["issue"] for i in rep.issues] == ["multiple_sources"]
    a = load_labels(ds, "g", "vidA")
    assert a["label_names"].tolist() == VOCAB and a["label_ids"].tolist() == [0, 1, 2, 3]
    assert _rows(a, "walk") == [(f, 1, -1) for f in range(10, 20)]
    assert _rows(a, "rest") == [(f, 2, -1) for f in range(0, 5)]
    b = load_labels(ds, "g", "vidB")  # a pair behaviour, stored in both directions
    assert _rows(b, "chase") == [(f, a_, b_) for f in (2, 3) for a_, b_ in ((1, 2), (2, 1))]
    c = load_labels(ds, "g", "vidC")
    assert _rows(c, "walk") == [(f, 3, -1) for f in range(0, 3)] and _rows(c, "eat") == [(5, 3, -1), (6, 3, -1)]
    idx = read_labels_index(ds, "behavior")
    fps_c = json.loads(idx.set_index("sequence").loc["vidC", "source_fingerprints"])
    assert sorted(fps_c) == ["annotations/extra.tsv", "annotations/multi.tsv"]  # tied to the files that hold it


def test_a_multi_recording_export_converts_as_one_export_per_recording(annotated, tmp_path):
    from mosaic import Dataset

    convert_all_labels(annotated, params=P)
    split = Dataset.create(tmp_path / "split", name="split")
    per_recording = {f"{obs}.tsv": [(obs, media, bouts)] for obs, media, bouts in OBSERVATIONS["multi.tsv"]}
    _annotate(
        split.folder, {**per_recording, "extra.tsv": OBSERVATIONS["extra.tsv"], "solo.tsv": OBSERVATIONS["solo.tsv"]}
    )
    rep = convert_all_labels(split, params=P, parallel_mode="thread", parallel_workers=2)
    assert len(rep.written) == 4
    for seq in ("vidA", "vidB", "vidC", "vidD"):
        x, y = load_labels(annotated, "g", seq), load_labels(split, "g", seq)
        for k in ("frames", "labels", "individual_ids", "label_ids", "label_names", "fps"):
            assert np.array_equal(x[k], y[k]), (seq, k)


def _convert_copies(template: Path, tmp_path: Path, modes, address=None, **params) -> dict[str, object]:
    got = {}
    for mode in modes:
        folder = tmp_path / mode
        shutil.copytree(template, folder)  # mtimes kept: the recorded fingerprints are the same
        from mosaic import Dataset

        ds = Dataset.open(folder)
        ex = {"parallel_mode": mode, "parallel_workers": 2, "dask_address": address if mode == "dask" else None}
        try:
            convert_all_labels(ds, params={**P, **params}, **ex)
            got[mode] = ("ok", _outputs(folder))
        except LabelFormatError as exc:
            got[mode] = (str(exc).replace(str(folder), "<ds>"), _outputs(folder))
    return got


def test_serial_and_worker_processes_write_identical_files(annotated, tmp_path):
    got = _convert_copies(annotated.folder, tmp_path, ("serial", "process"))
    assert got["serial"][0] == "ok" and any(k.endswith(".npz") for k in got["serial"][1])
    assert got["process"] == got["serial"]


def _bad_fps(folder: Path) -> Path:
    """An export whose FPS is no frame rate: readable (surveyed), refused while converting."""
    bad = _write_export(
        folder / "annotations" / "bad.tsv", [("oE", "vidE.mp4", [("fish1", "walk", 0, 1, "", "STATE")])]
    )
    bad.write_text(bad.read_text().replace("\t10\t", "\t-5\t"), encoding="utf-8")
    return bad


def test_a_failing_file_is_named_and_the_others_are_written(annotated, tmp_path):
    _bad_fps(annotated.folder)
    got = _convert_copies(annotated.folder, tmp_path, ("serial", "process"))
    msg, files = got["serial"]
    assert "invalid FPS" in msg and "annotations/bad.tsv" in msg
    assert files["labels/behavior/conversion_report.json"]["failed"].keys() == {"annotations/bad.tsv"}
    assert len(files["labels/behavior/index.csv"]["data"]) == 4  # the good files are written and indexed
    assert got["process"] == got["serial"]


def test_an_unreadable_file_stops_the_run_before_anything_is_written(annotated):
    bad = annotated.folder / "annotations" / "broken.tsv"
    write_aggregated(bad, [("fish1", "walk", 0, 1.0, "", "STATE")], drop_columns=("Stop (s)",))
    with pytest.raises(LabelFormatError, match="lacks required columns") as e:
        convert_all_labels(annotated, params=P, parallel_mode="process", parallel_workers=2)
    assert str(bad) in str(e.value)
    assert not [p for p in (annotated.folder / "labels").rglob("*") if p.is_file()]


def test_on_issue_error_writes_nothing_when_any_file_has_a_problem(annotated):
    (annotated.folder / "annotations" / "extra.tsv").unlink()  # no recording labelled by two files
    _write_export(  # an overlap in one file only
        annotated.folder / "annotations" / "solo.tsv",
        [("oD", "vidD.mp4", [("fish1", "rest", 0.1, 0.5, "", "STATE"), ("fish1", "walk", 0.3, 0.6, "", "STATE")])],
    )
    with pytest.raises(LabelFormatError, match="nothing was written") as e:
        convert_all_labels(annotated, params={**P, "on_issue": "error"}, parallel_mode="process", parallel_workers=2)
    assert "solo.tsv" in str(e.value) and "overlap" in str(e.value)
    assert not [p for p in (annotated.folder / "labels").rglob("*") if p.is_file()]


def test_two_calms21_files_holding_one_sequence_are_refused(dataset, tmp_path):
    from .test_calms21 import _calms

    p1, p2 = dataset.folder / "one.npy", dataset.folder / "two.npy"
    np.save(p1, _calms(n_seq=1, T=8, seed=0, groups=("ann1",)), allow_pickle=True)
    np.save(p2, _calms(n_seq=1, T=8, seed=1, groups=("ann1",)), allow_pickle=True)
    with pytest.raises(LabelFormatError, match="same \\(group, sequence\\)") as e:
        convert_all_labels(dataset, params={"paths": [str(p1), str(p2)]})
    assert "one.npy" in str(e.value) and "two.npy" in str(e.value)
    assert "ann1" not in set(read_labels_index(dataset, "behavior")["group"])  # the clashing recording is not indexed


def test_unknown_executor_is_refused(annotated):
    with pytest.raises(ConfigError, match="parallel_mode"):
        convert_all_labels(annotated, params=P, parallel_mode="gpu")


@pytest.mark.slow
def test_dask_local_cluster_writes_what_serial_writes_and_names_a_failing_file(annotated, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as c:
        ok = _convert_copies(annotated.folder, tmp_path / "ok", ("serial", "dask"), c.scheduler_address)
        assert ok["serial"][0] == "ok" and ok["dask"] == ok["serial"]
        _bad_fps(annotated.folder)
        bad = _convert_copies(annotated.folder, tmp_path / "bad", ("serial", "dask"), c.scheduler_address)
        assert "annotations/bad.tsv" in bad["serial"][0] and bad["dask"] == bad["serial"]
