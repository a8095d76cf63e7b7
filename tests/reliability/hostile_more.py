"""Hostile inputs for the labels (BORIS, label npz) and media (videos) readers.

Registered into :data:`tests.reliability.hostile.CASE_BUILDERS` on import; each group is left
out when its domain cannot be imported.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.hostile import (
    BYTE_MUTATIONS,
    Case,
    bad_utf8,
    mutated,
    register_cases,
    replace_text,
    truncate,
    write_text,
)

BEHAVIORS = ["rest", "explore", "approach", "contact"]
PAIRS = ["approach", "contact"]
DEMO_AGG = "annotations/boris_aggregated/group_0_seq0.csv"
DEMO_TAB = "annotations/boris_tabular/group_0_seq0.csv"


def prepare_outputs(ds) -> None:
    """Outputs of the later stages that every hostile case must leave untouched: labels and a feature run."""
    ds.convert_all_labels(
        kind="behavior",
        source_format="boris_csv",
        params={"paths": ["annotations/boris_aggregated"], "behaviors": BEHAVIORS, "pair_behaviors": PAIRS},
    )
    ds.run_feature({"name": "kinematics", "params": {"outputs": ["speed"]}})


# ----------------------------------------------------------------------------- BORIS


def _demo_root(folder: Path) -> Path:
    """The dataset folder a case folder ``<ds>/hostile/<reader>/<case>`` lives in."""
    return folder.parents[2]


def boris(
    which: str = "agg",
    edit: Callable[[Any], Any] | None = None,
    name: str | None = None,
    sep: str | None = None,
    text_edit: Callable[[Path], Path] | None = None,
) -> Callable[[Path], Path]:
    """A copy of the demo's BORIS export of group_0_seq0, edited as a table or as text."""

    def build(folder: Path) -> Path:
        import pandas as pd

        folder.mkdir(parents=True, exist_ok=True)
        src = _demo_root(folder) / (DEMO_AGG if which == "agg" else DEMO_TAB)
        p = folder / (name or "group_0_seq0.csv")
        if edit is None and sep is None:
            shutil.copyfile(src, p)
        else:
            assert which == "agg", "table edits apply to the aggregated export"
            df = pd.read_csv(src)
            if edit is not None:
                df = edit(df)
            df.to_csv(p, index=False, sep=sep or ",")
        return text_edit(p) if text_edit is not None else p

    return build


def convert_boris(on_issue: str = "error", **extra: Any) -> Callable[[Any, Path], Any]:
    """``Dataset.convert_all_labels`` on the one bad file, into a kind of its own."""

    def call(ds, path: Path):
        kind = f"hostile_{path.parent.parent.name}_{path.parent.name}"
        params = {
            "paths": [ds.relative_path(path)],
            "behaviors": BEHAVIORS,
            "pair_behaviors": PAIRS,
            "on_issue": on_issue,
            **extra,
        }
        return ds.convert_all_labels(kind=kind, source_format="boris_csv", params=params)

    return call


def reported(ds, path: Path, report: Any) -> None:
    """An accepted odd export must have had its problem reported (``report.issues``) or be clean and valid."""
    from mosaic.labels import read_label_npz

    for g, s in report.written:
        from mosaic.labels import label_file_path

        read_label_npz(label_file_path(ds, report.kind, g, s))


def _rename_subjects(prefix: str):
    """Rename fish<k> to <prefix><k> in Subject and Modifiers (partners)."""

    def edit(df):
        df = df.copy()
        for c in ("Subject", "Modifiers"):
            df[c] = df[c].astype("string").str.replace("fish", prefix, regex=False)
        return df

    return edit


def must_report(ds, path: Path, report: Any) -> None:
    assert report.issues, "problem neither raised nor reported"
    reported(ds, path, report)


def _unmatched_tabular(p: Path) -> Path:
    """Drop the first STOP row of a tabular export (an unmatched START)."""
    lines = p.read_text().splitlines(keepends=True)
    for i, ln in enumerate(lines):
        if ",STOP," in ln or ",STOP\n" in ln or ln.rstrip().endswith("STOP") or ",STOP" in ln:
            del lines[i]
            break
    else:  # pragma: no cover - layout changed
        raise AssertionError("no STOP row in the tabular export")
    p.write_text("".join(lines))
    return p


def _extra_stop_tabular(p: Path) -> Path:
    """Duplicate the first STOP row (a STOP without START)."""
    lines = p.read_text().splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if ",STOP" in ln)
    lines.insert(i, lines[i])
    p.write_text("".join(lines))
    return p


def _boris_cases() -> list[Case]:
    V = "error_or_valid"
    conv = convert_boris("error")
    warn = convert_boris("warn")
    cases = [Case("boris_csv", k, boris(text_edit=m), conv) for k, m in BYTE_MUTATIONS.items() if k != "truncated"]
    cases += [
        Case("boris_csv", "truncated_mid_row", boris(text_edit=lambda p: truncate(p, 0.5)), conv),
        Case("boris_csv", "truncated_mid_row_warn", boris(text_edit=lambda p: truncate(p, 0.5)), warn, V, must_report),
        # an observation without events: nothing to write (not an error by itself)
        Case("boris_csv", "header_only", boris(edit=lambda df: df.iloc[:0]), conv, V, reported),
        Case("boris_csv", "missing_behavior", boris(edit=lambda df: df.drop(columns=["Behavior"])), conv),
        Case("boris_csv", "missing_start", boris(edit=lambda df: df.drop(columns=["Start (s)"])), conv),
        Case("boris_csv", "missing_subject", boris(edit=lambda df: df.drop(columns=["Subject"])), conv, V, reported),
        Case("boris_csv", "start_strings", boris(edit=lambda df: df.assign(**{"Start (s)": "soon"})), conv),
        Case("boris_csv", "start_nan", boris(edit=lambda df: df.assign(**{"Start (s)": np.nan})), conv),
        Case("boris_csv", "start_inf", boris(edit=lambda df: df.assign(**{"Start (s)": np.inf})), conv),
        Case(
            "boris_csv",
            "negative_times",
            boris(edit=lambda df: df.assign(**{"Start (s)": df["Start (s)"] - 1e4, "Stop (s)": df["Stop (s)"] - 1e4})),
            conv,
        ),
        Case(
            "boris_csv",
            "negative_times_warn",
            boris(edit=lambda df: df.assign(**{"Start (s)": df["Start (s)"] - 5.0})),
            warn,
            V,
            must_report,
        ),
        Case(
            "boris_csv",
            "stop_before_start",
            boris(edit=lambda df: df.assign(**{"Stop (s)": df["Start (s)"] - 1.0})),
            conv,
        ),
        Case("boris_csv", "huge_times", boris(edit=lambda df: df.assign(**{"Stop (s)": 1e300})), conv),
        Case("boris_csv", "fps_zero", boris(edit=lambda df: df.assign(FPS=0.0)), conv, V, reported),
        Case("boris_csv", "fps_strings", boris(edit=lambda df: df.assign(FPS="fast")), conv, V, reported),
        Case("boris_csv", "unknown_behavior", boris(edit=lambda df: df.assign(Behavior="dancing")), conv),
        Case("boris_csv", "duplicated_rows", boris(edit=lambda df: __import__("pandas").concat([df, df])), conv),
        Case(
            "boris_csv",
            "duplicated_rows_warn",
            boris(edit=lambda df: __import__("pandas").concat([df, df])),
            warn,
            V,
            must_report,
        ),
        Case("boris_csv", "unsorted_rows", boris(edit=lambda df: df.iloc[::-1]), conv, V, reported),
        # ids are stored as int32: a name whose number does not fit must be refused, not wrapped or overflowed
        Case("boris_csv", "huge_subject_id", boris(edit=_rename_subjects("fish99999999999999999999")), conv),
        Case("boris_csv", "subject_id_over_int32", boris(edit=_rename_subjects("fish900000000")), conv),
        Case(
            "boris_csv",
            "unknown_observation",
            boris(
                edit=lambda df: df.assign(**{"Observation id": "nobody_knows", "Media file": "x/nobody.mp4"}),
                name="nobody_knows.csv",
            ),
            conv,
        ),
        Case("boris_csv", "semicolon_delimiter", boris(sep=";", edit=lambda df: df), conv, V, reported),
        Case(
            "boris_csv",
            "tab_delimiter_tsv",
            boris(sep="\t", edit=lambda df: df, name="group_0_seq0.tsv"),
            conv,
            V,
            reported,
        ),
        Case("boris_csv", "pipe_delimiter", boris(sep="|", edit=lambda df: df), conv),
        # BORIS exports are decoded with fallbacks (latin-1 decodes anything): a stray byte is not an error
        Case("boris_csv", "bad_utf8", boris(text_edit=bad_utf8), conv, V, reported),
        Case("boris_csv", "xlsx_not_xlsx", boris(name="group_0_seq0.xlsx"), conv),
        Case("boris_tabular", "unmatched_start", boris("tab", text_edit=_unmatched_tabular), conv),
        Case("boris_tabular", "unmatched_start_warn", boris("tab", text_edit=_unmatched_tabular), warn, V, must_report),
        Case("boris_tabular", "stop_without_start", boris("tab", text_edit=_extra_stop_tabular), conv),
        Case("boris_tabular", "truncated_header", boris("tab", text_edit=lambda p: truncate(p, 0.03)), conv),
        Case(
            "boris_tabular",
            "no_header_block",
            boris("tab", text_edit=lambda p: write_text(p, "".join(p.read_text().splitlines(keepends=True)[30:]))),
            conv,
        ),
    ]
    return cases


# ----------------------------------------------------------------------------- label npz


def _good_labels(folder: Path) -> dict[str, np.ndarray]:
    from mosaic.labels import label_file_path

    ds_folder = _demo_root(folder)
    from mosaic import Dataset

    src = label_file_path(Dataset.open(ds_folder), "behavior", "group_0", "group_0_seq0")
    with np.load(src, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def label_npz(edit: Callable[[dict], dict] | None = None, pickle: bool = False) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        d = _good_labels(folder)
        if edit is not None:
            d = edit(dict(d))
        p = folder / "group_0__group_0_seq0.npz"
        np.savez(p, **d) if not pickle else np.savez(p, **d, extra=np.array([{"a": 1}], dtype=object))
        return p

    return build


def _read_labels(ds, path: Path):
    from mosaic.labels import read_label_npz

    return read_label_npz(path, group="group_0", sequence="group_0_seq0")


def _labels_valid(ds, path: Path, result: Any) -> None:
    fr = np.asarray(result["frames"])
    assert (fr >= 0).all(), "negative frames accepted"
    assert len(fr) == len(result["labels"]) == len(result["individual_ids"])


def _label_cases() -> list[Case]:
    E, V = "error", "error_or_valid"
    cases = [Case("label_npz", k, mutated(label_npz(), m), _read_labels) for k, m in BYTE_MUTATIONS.items()]

    def drop(k):
        return lambda d: {a: b for a, b in d.items() if a != k}

    def setk(**kv):
        def e(d):
            for k, v in kv.items():
                d[k] = v(d) if callable(v) else v
            return d

        return e

    spec = [
        ("missing_labels", drop("labels"), E),
        ("missing_individual_ids", drop("individual_ids"), V),  # read as an old dense file, or refused
        ("labels_float", setk(labels=lambda d: d["labels"].astype(float) + 0.5), E),
        ("labels_strings", setk(labels=lambda d: d["labels"].astype(str)), E),
        ("frames_shorter", setk(frames=lambda d: d["frames"][:-3]), E),
        ("ids_wrong_shape", setk(individual_ids=lambda d: np.zeros((len(d["frames"]), 3), np.int32)), E),
        ("ids_1d", setk(individual_ids=lambda d: np.zeros(len(d["frames"]), np.int32)), E),
        (
            "frames_nan",
            setk(frames=lambda d: np.where(np.arange(len(d["frames"])) == 2, np.nan, d["frames"].astype(float))),
            E,
        ),
        ("negative_frames", setk(frames=lambda d: d["frames"] - 10_000), V),
        (
            "unsorted_frames",
            setk(
                frames=lambda d: d["frames"][::-1].copy(),
                labels=lambda d: d["labels"][::-1].copy(),
                individual_ids=lambda d: d["individual_ids"][::-1].copy(),
            ),
            V,
        ),
        ("huge_ids", setk(individual_ids=lambda d: np.full(d["individual_ids"].shape, 2**62, np.int64)), V),
        ("label_id_not_in_vocab", setk(labels=lambda d: np.full(d["labels"].shape, 999, d["labels"].dtype)), E),
        ("label_names_mismatch", setk(label_names=lambda d: d["label_names"][:1]), E),
        ("fps_string", setk(fps=np.array("fast")), E),
        ("fps_negative", setk(fps=np.array(-30.0)), V),  # accepted today (noted in the report)
    ]
    cases += [
        Case("label_npz", n, label_npz(e), _read_labels, x, _labels_valid if x == V else None) for n, e, x in spec
    ]
    cases.append(Case("label_npz", "pickled_member", label_npz(pickle=True), _read_labels))
    return cases


# ----------------------------------------------------------------------------- videos


def _write_video(path: Path, n: int = 20, size: tuple[int, int] = (64, 48)) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, size)
    rng = np.random.default_rng(0)
    for _ in range(n):
        vw.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    vw.release()
    return path


def _mini_dataset(folder: Path, damage: Callable[[Path], Path] | None, *, damage_after_index: bool) -> Path:
    """A dataset with one tracked recording g0/s000 and its video media_raw/g0/s000.mp4."""
    from mosaic import Dataset
    from tests.reliability.concurrency import make_many_recordings

    ds = Dataset.create(folder / "mini", name="mini")
    rows = make_many_recordings(ds, n_groups=1, n_per_group=1, n_frames=20)
    ds.convert_one_track(rows[0], params={"fps": 10.0})
    video = _write_video(ds.folder / "media_raw" / "g0" / "s000.mp4")
    if damage_after_index:
        ds.index_media(["media_raw"])
    if damage is not None:
        damage(video)
    return video


def _video_probe(mutate: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        return mutate(_write_video(folder / "clip.mp4"))

    return build


def _probe(ds, path: Path):
    from mosaic.media.probe import probe_video

    return probe_video(path)


def _index_then_fail(ds_unused, path: Path):
    from mosaic import Dataset

    return Dataset.open(path.parents[2]).index_media(["media_raw"], on_error="raise")


def _extract(ds_unused, path: Path):
    from mosaic import Dataset

    return Dataset.open(path.parents[2]).extract_frames(4, "uniform", parallel_workers=1)


def _video_cases() -> list[Case]:
    import cv2  # noqa: F401 - media needs OpenCV

    muts = dict(BYTE_MUTATIONS)
    muts["text"] = lambda p: write_text(p, "#EXTM3U\nnot a video\n")
    muts["png_named_mp4"] = lambda p: (p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200), p)[1]
    cases = [Case("video_probe", k, _video_probe(m), _probe) for k, m in muts.items() if k != "truncated"]
    cases.append(Case("video_probe", "truncated", _video_probe(lambda p: truncate(p, 0.5)), _probe, "error_or_valid"))
    cases.append(
        Case("video_probe", "directory", lambda f: (f / "clip.mp4").mkdir(parents=True) or f / "clip.mp4", _probe)
    )
    cases.append(Case("video_probe", "missing", lambda f: f / "nope.mp4", _probe))
    for k in ("zero_byte", "random_bytes", "text", "truncated_tiny"):
        cases.append(
            Case("video_index", k, lambda f, m=muts[k]: _mini_dataset(f, m, damage_after_index=False), _index_then_fail)
        )
        cases.append(
            Case("video_extract", k, lambda f, m=muts[k]: _mini_dataset(f, m, damage_after_index=True), _extract)
        )
    cases.append(
        Case(
            "video_extract",
            "deleted_after_index",
            lambda f: _mini_dataset(f, lambda p: (p.unlink(), p)[1], damage_after_index=True),
            _extract,
        )
    )
    return cases


register_cases("labels_boris", _boris_cases)
register_cases("labels_npz", _label_cases)
register_cases("videos", _video_cases)
_ = replace_text


# ----------------------------------------------------------------------------- downstream readers of damaged outputs


def _mini_outputs(folder: Path, damage: str, mutate: Callable[[Path], Path]) -> Path:
    """A one-recording dataset with tracks, a kinematics run and labels; then one output damaged."""
    from mosaic import Dataset
    from mosaic.labels import LabelSet, label_file_path, save_label_sets  # noqa: F401
    from tests.reliability.concurrency import make_many_recordings

    ds = Dataset.create(folder / "mini", name="mini")
    rows = make_many_recordings(ds, n_groups=1, n_per_group=1, n_frames=20)
    track = Path(ds.convert_one_track(rows[0], params={"fps": 10.0}))
    if damage == "tracks":
        return mutate(track)
    ds.run_feature({"name": "kinematics", "params": {"outputs": ["speed"]}})
    if damage == "feature_index":
        return mutate(ds.get_root("features") / "kinematics" / "index.csv")
    if damage == "feature_parquet":
        return mutate(next((ds.get_root("features") / "kinematics").glob("*/*.parquet")))
    raise ValueError(damage)


def _run_kinematics(ds_unused, path: Path):
    from mosaic import Dataset

    return Dataset.open(_mini_root(path)).run_feature(
        {"name": "kinematics", "params": {"outputs": ["speed"]}}, overwrite=True
    )


def _load_tracks_g0(ds_unused, path: Path):
    from mosaic import Dataset

    return Dataset.open(_mini_root(path)).load_tracks("g0", "s000")


def _load_kinematics(ds_unused, path: Path):
    from mosaic import Dataset

    return Dataset.open(_mini_root(path)).load_feature("kinematics")


def _mini_root(path: Path) -> Path:
    return next(p for p in path.parents if (p / "dataset.yaml").exists())


def _downstream_cases() -> list[Case]:
    cases = []
    for k in ("zero_byte", "truncated", "random_bytes", "text"):
        m = BYTE_MUTATIONS[k]
        cases.append(
            Case(
                "downstream_featurize_damaged_tracks", k, lambda f, m=m: _mini_outputs(f, "tracks", m), _run_kinematics
            )
        )
        cases.append(
            Case("downstream_load_damaged_tracks", k, lambda f, m=m: _mini_outputs(f, "tracks", m), _load_tracks_g0)
        )
        cases.append(
            Case(
                "downstream_load_damaged_feature_index",
                k,
                lambda f, m=m: _mini_outputs(f, "feature_index", m),
                _load_kinematics,
            )
        )
        cases.append(
            Case(
                "downstream_load_damaged_feature_parquet",
                k,
                lambda f, m=m: _mini_outputs(f, "feature_parquet", m),
                _load_kinematics,
            )
        )
    return cases


register_cases("downstream", _downstream_cases)


# ----------------------------------------------------------------------------- BORIS project files, CalMS21 labels


def _realdata_boris() -> Path | None:
    from tests.conftest import REALDATA_DIR

    p = REALDATA_DIR / "boris" / "boris-tests" / "test.boris"
    return p if p.is_file() else None


def boris_project(edit: Callable[[dict], Any] | None = None) -> Callable[[Path], Path]:
    """A copy of a real BORIS project (realdata), optionally edited as JSON."""

    def build(folder: Path) -> Path:
        import json

        folder.mkdir(parents=True, exist_ok=True)
        p = folder / "project.boris"
        data = json.loads(_realdata_boris().read_text(encoding="utf-8"))
        if edit is not None:
            data = edit(data)
        p.write_text(json.dumps(data))
        return p

    return build


def convert_project(ds, path: Path):
    kind = f"hostile_{path.parent.parent.name}_{path.parent.name}"
    return ds.convert_all_labels(
        kind=kind,
        source_format="boris_project",
        params={"paths": [ds.relative_path(path)], "default_group": "P", "fps": 25, "on_issue": "error"},
    )


def _events(fn):
    def edit(d):
        for obs in d["observations"].values():
            obs["events"] = fn(obs["events"])
        return d

    return edit


def _boris_project_cases() -> list[Case]:
    if _realdata_boris() is None:
        return []
    V = "error_or_valid"
    cases = [Case("boris_project", k, mutated(boris_project(), m), convert_project) for k, m in BYTE_MUTATIONS.items()]
    cases += [
        Case("boris_project", "json_list", boris_project(lambda d: [1, 2, 3]), convert_project),
        Case(
            "boris_project",
            "no_observations",
            boris_project(lambda d: {k: v for k, v in d.items() if k != "observations"}),
            convert_project,
            V,
            reported,
        ),
        Case(
            "boris_project",
            "observations_list",
            boris_project(lambda d: {**d, "observations": [1, 2]}),
            convert_project,
        ),
        Case("boris_project", "events_not_lists", boris_project(_events(lambda ev: ["x"] * len(ev))), convert_project),
        Case(
            "boris_project",
            "events_short_rows",
            boris_project(_events(lambda ev: [e[:2] for e in ev])),
            convert_project,
        ),
        Case(
            "boris_project",
            "event_time_strings",
            boris_project(_events(lambda ev: [["soon", *e[1:]] for e in ev])),
            convert_project,
        ),
        Case(
            "boris_project",
            "event_time_nan",
            boris_project(_events(lambda ev: [[float("nan"), *e[1:]] for e in ev])),
            convert_project,
        ),
        Case(
            "boris_project",
            "event_time_negative",
            boris_project(_events(lambda ev: [[-1e6, *e[1:]] for e in ev])),
            convert_project,
        ),
        Case(
            "boris_project",
            "events_unsorted",
            boris_project(_events(lambda ev: ev[::-1])),
            convert_project,
            V,
            reported,
        ),
        Case(
            "boris_project",
            "unmatched_state_start",
            boris_project(_events(lambda ev: ev[:-1])),
            convert_project,
            V,
            reported,
        ),
        Case(
            "boris_project",
            "no_behaviors_conf",
            boris_project(lambda d: {**d, "behaviors_conf": {}}),
            convert_project,
            V,
            reported,
        ),
    ]
    return cases


def _calms_labels_file(kind: str, edit: Callable | None = None) -> Callable[[Path], Path]:
    from tests.reliability.hostile import calms_file

    return calms_file(kind, edit)


def convert_calms_labels(fmt: str):
    def call(ds, path: Path):
        kind = f"hostile_{path.parent.parent.name}_{path.parent.name}"
        return ds.convert_all_labels(
            kind=kind, source_format=fmt, params={"paths": [ds.relative_path(path)], "on_issue": "error"}
        )

    return call


def _calms_label_cases() -> list[Case]:
    from tests.reliability.hostile import _rec_edit

    V = "error_or_valid"
    cases = []
    for kind in ("npy", "json"):
        fmt = f"calms21_{kind}"
        conv = convert_calms_labels(fmt)
        reader = f"labels_{fmt}"
        cases += [Case(reader, k, mutated(_calms_labels_file(kind), m), conv) for k, m in BYTE_MUTATIONS.items()]
        cases += [
            Case(
                reader,
                "missing_annotations",
                _calms_labels_file(kind, _rec_edit(lambda r: {k: v for k, v in r.items() if k != "annotations"})),
                conv,
            ),
            Case(
                reader,
                "annotations_shorter",
                _calms_labels_file(kind, _rec_edit(lambda r: {**r, "annotations": r["annotations"][:-5]})),
                conv,
            ),
            Case(
                reader,
                "annotations_strings",
                _calms_labels_file(
                    kind, _rec_edit(lambda r: {**r, "annotations": np.full(len(r["annotations"]), "x")})
                ),
                conv,
            ),
            Case(
                reader,
                "annotations_float",
                _calms_labels_file(kind, _rec_edit(lambda r: {**r, "annotations": r["annotations"] + 0.5})),
                conv,
            ),
            Case(
                reader,
                "annotations_2d",
                _calms_labels_file(
                    kind, _rec_edit(lambda r: {**r, "annotations": np.stack([r["annotations"]] * 2, 1)})
                ),
                conv,
            ),
            Case(
                reader,
                "annotation_not_in_vocab",
                _calms_labels_file(kind, _rec_edit(lambda r: {**r, "annotations": r["annotations"] * 0 + 99})),
                conv,
                V,
                reported,
            ),
            # a vocab that is not a mapping is ignored (default task-1 vocabulary): accepted today, noted in the report
            Case(
                reader,
                "vocab_not_mapping",
                _calms_labels_file(kind, _rec_edit(lambda r: {**r, "metadata": {"vocab": [1, 2]}})),
                conv,
                V,
                reported,
            ),
            Case(
                reader,
                "negative_annotations",
                _calms_labels_file(kind, _rec_edit(lambda r: {**r, "annotations": r["annotations"] * 0 - 3})),
                conv,
                V,
                reported,
            ),
        ]
    return cases


register_cases("labels_boris_project", _boris_project_cases)
register_cases("labels_calms21", _calms_label_cases)
