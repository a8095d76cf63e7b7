"""Hostile inputs that try to make mosaic run code, serve another recording's data or stale data.

Registered into :data:`tests.reliability.hostile.CASE_BUILDERS` on import.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.hostile import Case, calms_dict, convert_row, register_cases

MARKER = "MARKER_CODE_RAN"


class _MarkerPayload:
    """Unpickles as ``open(<marker>, 'w')``: the marker file appears only if code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickled_npy(where: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / MARKER
        rec = calms_dict()["annotator-id_0"]["task1/train/mouse001"]
        if where == "metadata":
            rec = {**rec, "metadata": {**rec.get("metadata", {}), "x": _MarkerPayload(marker)}}
            obj: Any = {"hostile_calms21_npy": {folder.name: rec}}
        elif where == "record":
            obj = {"hostile_calms21_npy": {folder.name: _MarkerPayload(marker)}}
        else:  # the whole file
            obj = _MarkerPayload(marker)
        p = folder / "calms21.npy"
        np.save(p, np.array(obj, dtype=object), allow_pickle=True)
        return p

    return build


def _no_code_ran(call: Callable[[Any, Path], Any]) -> Callable[[Any, Path], Any]:
    def wrapped(ds, path: Path):
        try:
            return call(ds, path)
        finally:
            if (path.parent / MARKER).exists():
                raise AssertionError(f"code from {path} ran: {path.parent / MARKER} was created")

    return wrapped


def _pickle_cases() -> list[Case]:
    out = []
    for where in ("metadata", "record", "file"):
        out.append(
            Case(
                "calms21_npy", f"pickled_code_in_{where}", _pickled_npy(where), _no_code_ran(convert_row("calms21_npy"))
            )
        )
    return out


register_cases("trust_pickle", _pickle_cases)


# ----------------------------------------------------------------------------- a small dataset per case


def _mini(folder: Path, n: int = 2):
    """A dataset in ``folder/mini`` with ``n`` converted generic-CSV recordings g0/s000.. (10 fps)."""
    from mosaic import Dataset
    from tests.reliability.concurrency import make_many_recordings

    ds = Dataset.create(folder / "mini", name="mini")
    ds.meta["fps_default"] = 10.0
    ds.save()
    make_many_recordings(ds, n_groups=1, n_per_group=n, n_frames=20)
    ds.convert_all_tracks(params={"fps": 10.0})
    return ds


def _root(path: Path) -> Path:
    return next(p for p in [path, *path.parents] if (p / "dataset.yaml").exists())


def _open(path: Path):
    from mosaic import Dataset

    return Dataset.open(_root(path))


def _repoint(index: Path, schema, src: str, dst: str) -> None:
    from mosaic.core.indexes import read_index, write_index

    idx = read_index(index, schema)
    other = idx.loc[idx["sequence"] == dst, "abs_path"].iloc[0]
    idx.loc[idx["sequence"] == src, "abs_path"] = other
    write_index(index, idx, schema)


def _misdirected(what: str) -> Callable[[Path], Path]:
    """The index row of g0/s000 lists the file of g0/s001; returns that file."""

    def build(folder: Path) -> Path:
        from mosaic.core.indexes import TRACKS_INDEX

        ds = _mini(folder)
        if what == "tracks":
            _repoint(ds.get_root("tracks") / "index.csv", TRACKS_INDEX, "s000", "s001")
            return ds.get_root("tracks") / "g0__s001.parquet"
        if what == "labels":
            from mosaic.labels import LabelSet
            from mosaic.labels.io import LABELS_INDEX, labels_index_path, save_label_sets

            sets = [
                LabelSet(
                    group="g0",
                    sequence=s,
                    frames=np.arange(3, dtype=np.int32),
                    labels=np.zeros(3, np.int32),
                    individual_ids=np.full((3, 2), -1, np.int32),
                    label_ids=np.array([0], np.int32),
                    label_names=np.array(["a"]),
                    fps=10.0,
                )
                for s in ("s000", "s001")
            ]
            save_label_sets(ds, "behavior", sets)
            _repoint(labels_index_path(ds, "behavior"), LABELS_INDEX, "s000", "s001")
            return ds.get_root("labels") / "behavior" / "g0__s001.npz"
        from mosaic.features.engine import FEATURES_INDEX, feature_index_path

        res = ds.run_feature({"name": "kinematics", "params": {"outputs": ["speed"]}})
        _repoint(feature_index_path(ds, "kinematics"), FEATURES_INDEX, "s000", "s001")
        return ds.get_root("features") / "kinematics" / res.run_id / "g0__s001.parquet"

    return build


def _load(what: str) -> Callable[[Any, Path], Any]:
    def call(ds_unused, path: Path):
        ds = _open(path)
        if what == "tracks":
            return ds.load_tracks("g0", "s000", auto_convert=False)
        if what == "labels":
            return ds.load_labels("g0", "s000")
        return ds.load_feature("kinematics", sequences=["s000"])

    return call


def _identity_cases() -> list[Case]:
    return [
        Case(f"identity_{w}", "index_row_points_at_another_recording", _misdirected(w), _load(w))
        for w in ("tracks", "labels", "feature")
    ]


# ----------------------------------------------------------------------------- names that merge or split recordings


def _trex_names(layout: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        from mosaic import Dataset
        from tests.tracks.synth import write_trex

        ds = Dataset.create(folder / "mini", name="mini")
        root = ds.get_root("tracks_raw") / "trex"
        if layout == "newline":
            write_trex(root / "g", "s\nq", {0: (0, 9), 1: (0, 9)}, seed=1)
        else:
            write_trex(root / "dayA" / "session1", "arena", {0: (0, 9)}, seed=1)
            write_trex(root / "dayB" / "session1", "arena", {1: (0, 9)}, seed=2)
        return root

    return build


def _index_convert(ds_unused, path: Path):
    ds = _open(path)
    ds.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    return ds.convert_all_tracks()


def _one_recording_two_animals(ds_unused, path: Path, result: Any) -> None:
    ds = _open(path)
    assert ds.list_pairs() == [("g", "s\nq")], ds.list_pairs()
    assert sorted(ds.load_tracks("g", "s\nq")["id"].unique().tolist()) == [0, 1]


def _naming_cases() -> list[Case]:
    return [
        Case(
            "naming_trex",
            "newline_in_name",
            _trex_names("newline"),
            _index_convert,
            "error_or_valid",
            _one_recording_two_animals,
        ),
        Case(
            "naming_trex",
            "same_folder_name_under_two_parents",
            _trex_names("collide"),
            _index_convert,
            names=("dayA/session1/arena_fish0.npz",),
        ),
    ]


# ----------------------------------------------------------------------------- stale outputs


def _edited_raw(folder: Path) -> Path:
    import pandas as pd

    ds = _mini(folder)
    raw = ds.get_root("tracks_raw") / "csv" / "g0" / "s000.csv"
    df = pd.read_csv(raw)
    df["x"] = df["x"] + 1000.0
    df.to_csv(raw, index=False)
    return raw


def _convert_refusing_stale(ds_unused, path: Path):
    return _open(path).convert_all_tracks(params={"fps": 10.0}, on_stale="raise")


def _load_without_convert(ds_unused, path: Path):
    return _open(path).load_tracks("g0", "s000", auto_convert=False)


def _reconverted(ds_unused, path: Path, result: Any) -> None:
    import pandas as pd

    ds = _open(path)
    got = ds.load_tracks("g0", "s000")
    want = pd.read_csv(path)
    assert np.allclose(
        got.sort_values(["frame", "id"])["X"].to_numpy(), want.sort_values(["frame", "id"])["x"].to_numpy()
    )


def _convert_default(ds_unused, path: Path):
    return _open(path).convert_all_tracks(params={"fps": 10.0})


def _header_only_export(folder: Path) -> Path:
    from tests.labels.helpers import write_aggregated

    ds = _mini(folder, n=1)
    p = write_aggregated(
        folder / "mini" / "export.tsv", [("s1", "walk", 0.1, 0.5, "", "STATE")], fps=10.0, media="s000.mp4"
    )
    ds.convert_all_labels(params={"paths": [str(p)], "default_group": "g0"})
    p.write_text(p.read_text().splitlines()[0] + "\r\n", encoding="utf-8")
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    return p


def _relabel(ds_unused, path: Path):
    return _open(path).convert_all_labels(params={"paths": [str(path)], "default_group": "g0"})


def _old_labels_gone(ds_unused, path: Path, result: Any) -> None:
    from mosaic.core.errors import SequenceNotFoundError

    ds = _open(path)
    assert result.removed == [("g0", "s000")], result.removed
    try:
        ds.load_labels("g0", "s000")
    except SequenceNotFoundError:
        return
    raise AssertionError("labels of an export cut to its header still load")


def _stale_cases() -> list[Case]:
    return [
        Case("stale_tracks", "raw_edited_on_stale_raise", _edited_raw, _convert_refusing_stale),
        Case("stale_tracks", "raw_edited_load_without_convert", _edited_raw, _load_without_convert),
        Case(
            "stale_tracks", "raw_edited_rerun_reconverts", _edited_raw, _convert_default, "error_or_valid", _reconverted
        ),
        Case("stale_labels", "export_cut_to_header", _header_only_export, _relabel, "error_or_valid", _old_labels_gone),
    ]


# ----------------------------------------------------------------------------- physical parameters


def _params_file(text: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        _mini(folder, n=1)
        p = folder / "mini" / "parameters_featurize.yml"
        p.write_text(text, encoding="utf-8")
        return p

    return build


def _featurize_from_yaml(ds_unused, path: Path):
    import yaml

    from mosaic.features.plan import run_feature_plan

    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    return run_feature_plan(_open(path), params)


def _boris_fps(folder: Path) -> Path:
    from tests.labels.helpers import write_aggregated

    _mini(folder, n=1)
    return write_aggregated(
        folder / "mini" / "export.tsv", [("s1", "walk", 0.1, 0.5, "", "STATE")], fps=-30, media="s000.mp4"
    )


def _param_cases() -> list[Case]:
    out = []
    for name, val in (("negative", "-30"), ("nan", ".nan"), ("text", "fast"), ("zero", "0"), ("inf", ".inf")):
        for feat in ("kinematics", "pair"):
            text = f"steps:\n  - key: k\n    feature: {feat}\n    params: {{fps: {val}}}\n"
            # the culprit is a parameter, not a file: the error must name it
            out.append(
                Case(
                    f"params_{feat}",
                    f"fps_{name}",
                    _params_file(text),
                    _featurize_from_yaml,
                    names=("parameter 'fps'",),
                )
            )
    out.append(
        Case(
            "params_nearest_neighbor",
            "k_1e9",
            _params_file("steps:\n  - key: k\n    feature: nearest_neighbor\n    params: {k: 1000000000}\n"),
            _featurize_from_yaml,
            names=("parameter 'k'",),
        )
    )
    out.append(Case("params_boris", "file_fps_negative", _boris_fps, _relabel))
    return out


# ----------------------------------------------------------------------------- damaged model runs


def _trained(damage: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        from mosaic import Dataset
        from mosaic.models import train_model
        from mosaic.models.store import run_dir
        from tests.models.synth import make_synthetic

        ds = Dataset.create(folder / "mini", name="mini")
        make_synthetic(ds, n_groups=2, n_sequences=1, T=60, seed=2)
        rid = train_model(
            ds, "m", {"features": ["speed", "pair"], "cv_folds": 2, "estimator_params": {"max_iter": 5}, "plots": False}
        )
        p = run_dir(ds, "m", rid) / damage
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])
        return p

    return build


def _predict(ds_unused, path: Path):
    from mosaic.models import predict

    return predict(_open(path), "m", overwrite=True)


def _model_cases() -> list[Case]:
    return [
        Case("model_run", f"truncated_{f.replace('.', '_')}", _trained(f), _predict)
        for f in ("model.joblib", "config.json", "metrics.json")
    ]


register_cases("trust_identity", _identity_cases)
register_cases("trust_naming", _naming_cases)
register_cases("trust_stale", _stale_cases)
register_cases("trust_params", _param_cases)
register_cases("trust_models", _model_cases)
