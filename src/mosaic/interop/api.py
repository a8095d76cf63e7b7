"""Dataset-level interop: pick recordings, load their tracks/labels/frames, write the other tools' files.

The facade (``Dataset.export_movement`` ...) and the Kedro ``export`` pipeline call these.
Exports go to ``<dataset>/exports/<format>/`` unless another folder is given; file names are the
recordings' safe keys (``<group_safe>__<sequence_safe>``). Imported pose labels are written as
``trex_v1`` tables under ``labels/keypoints/<name>/`` with their own ``index.csv`` (see
:mod:`mosaic.interop.keypoint_labels`; its public names are importable from here too).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, FeatureError, MosaicError, SequenceNotFoundError
from mosaic.core.safe_names import sequence_key, to_safe_name

from .keypoint_labels import (
    KEYPOINT_LABELS_DIR,
    KEYPOINT_LABELS_INDEX,
    import_pose_labels,
    keypoint_labels_dir,
    load_keypoint_labels,
    save_keypoint_labels,
)

__all__ = [
    "EXPORTS_DIR",
    "KEYPOINT_LABELS_DIR",
    "KEYPOINT_LABELS_INDEX",
    "boris_project_for",
    "export_boris",
    "export_dir",
    "export_labelling_project",
    "export_movement",
    "export_nwb",
    "import_boris",
    "import_pose_labels",
    "keypoint_labels_dir",
    "load_keypoint_labels",
    "recording_meta",
    "recording_tracks",
    "save_keypoint_labels",
    "select_recordings",
    "to_movement",
]

EXPORTS_DIR = "exports"


def export_dir(ds: DatasetCore, fmt: str, out_dir: str | os.PathLike | None = None) -> Path:
    """``out_dir`` or ``<dataset>/exports/<fmt>`` (created)."""
    d = Path(out_dir) if out_dir is not None else ds.folder / EXPORTS_DIR / fmt
    d.mkdir(parents=True, exist_ok=True)
    return d


def select_recordings(
    ds: DatasetCore, groups: Iterable[str] | str | None = None, sequences: Iterable[str] | str | None = None
) -> list[tuple[str, str]]:
    """The (group, sequence) pairs of ``tracks/index.csv`` filtered by ``groups`` / ``sequences``."""
    pairs = ds.list_pairs()
    gs = {groups} if isinstance(groups, str) else (None if groups is None else set(map(str, groups)))
    ss = {sequences} if isinstance(sequences, str) else (None if sequences is None else set(map(str, sequences)))
    out = [(g, s) for g, s in pairs if (gs is None or g in gs) and (ss is None or s in ss)]
    if not out:
        raise SequenceNotFoundError(
            "no recording matches",
            path=ds.get_root("tracks") / "index.csv",
            expected="groups/sequences in tracks/index.csv",
            found={"groups": sorted(gs) if gs else None, "sequences": sorted(ss) if ss else None},
        )
    return out


def recording_meta(ds: DatasetCore, group: str, sequence: str) -> dict[str, Any]:
    """The metadata stored with a recording's standardized tracks (``{}`` when not converted yet)."""
    from mosaic.tracks import read_tracks_meta
    from mosaic.tracks.convert import output_path

    idx = ds.tracks_index()
    hit = idx[(idx["group"] == group) & (idx["sequence"] == sequence)]
    path = ds.resolve_path(hit["abs_path"].iloc[0]) if len(hit) else output_path(ds, group, sequence)
    return read_tracks_meta(path) if path.exists() else {}


def recording_tracks(ds: DatasetCore, group: str, sequence: str) -> pd.DataFrame:
    """The standardized tracks of a recording with their metadata in ``df.attrs['mosaic']``."""
    from mosaic.tracks import load_tracks

    df = load_tracks(ds, group, sequence)
    df.attrs["mosaic"] = recording_meta(ds, group, sequence)
    return df


def _video(ds: DatasetCore, group: str, sequence: str) -> Path | None:
    from mosaic.media.index import resolve_media_paths

    try:
        paths = resolve_media_paths(ds, group, sequence)
    except MosaicError:
        return None
    return paths[0] if paths else None


def _relpath(p: Path | None, start: Path) -> str | None:
    if p is None:
        return None
    try:
        return Path(os.path.relpath(p, start)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(p)


def to_movement(ds: DatasetCore, group: str, sequence: str, include_centroid: bool = True) -> Any:
    """One recording as a movement poses ``xarray.Dataset`` (in memory)."""
    from .movement import to_movement as _to

    return _to(
        recording_tracks(ds, group, sequence), include_centroid=include_centroid, source_file=f"{group}/{sequence}"
    )


def export_movement(
    ds: DatasetCore,
    groups: Any = None,
    sequences: Any = None,
    out_dir: str | os.PathLike | None = None,
    include_centroid: bool = True,
) -> list[Path]:
    """Write each selected recording as a movement netCDF ``<key>.nc``; return the paths."""
    from .movement import write_movement_netcdf

    d = export_dir(ds, "movement", out_dir)
    return [
        write_movement_netcdf(to_movement(ds, g, s, include_centroid), d / f"{sequence_key(g, s)}.nc")
        for g, s in select_recordings(ds, groups, sequences)
    ]


def _label_kinds(ds: DatasetCore) -> list[str]:
    root = ds.get_root("labels") if ds.has_root("labels") else None
    if root is None or not root.is_dir():
        return []
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and (p / "index.csv").is_file() and p.name != KEYPOINT_LABELS_DIR
    )


def _labels_of(ds: DatasetCore, group: str, sequence: str, kinds: Sequence[str]) -> dict[str, dict[str, Any]]:
    from mosaic.labels import load_labels

    out = {}
    for kind in kinds:
        try:
            out[kind] = load_labels(ds, group, sequence, kind=kind)
        except SequenceNotFoundError:
            continue
    return out


def export_nwb(
    ds: DatasetCore,
    groups: Any = None,
    sequences: Any = None,
    out_dir: str | os.PathLike | None = None,
    label_kinds: Sequence[str] | None = None,
    session_start_time: Any = None,
) -> list[Path]:
    """Write each selected recording as an NWB file ``<key>.nwb`` (pose + labels of ``label_kinds``, default every kind)."""
    from .nwb import write_nwb

    d = export_dir(ds, "nwb", out_dir)
    kinds = _label_kinds(ds) if label_kinds is None else list(label_kinds)
    out = []
    for g, s in select_recordings(ds, groups, sequences):
        path = d / f"{sequence_key(g, s)}.nwb"
        out.append(
            write_nwb(
                recording_tracks(ds, g, s),
                path,
                labels=_labels_of(ds, g, s, kinds),
                session_start_time=session_start_time,
                video=_relpath(_video(ds, g, s), d),
            )
        )
    return out


def export_boris(
    ds: DatasetCore,
    path: str | os.PathLike | None = None,
    *,
    model: str | None = None,
    run_id: str | None = None,
    kind: str = "behavior",
    groups: Any = None,
    sequences: Any = None,
    skip: Sequence[str] = (),
    project_name: str | None = None,
) -> Path:
    """Write a BORIS project with one observation per recording.

    The bouts come from a model's predictions (feature ``<model>__pred``, column ``pred``) when ``model``
    is given, else from the labels of ``kind``. Behaviours in ``skip`` (a background class) are left out.
    """
    from ._pose import individual_name_map
    from .boris import write_boris_project

    path = Path(path) if path is not None else export_dir(ds, "boris") / f"{to_safe_name(model or kind)}.boris"
    pairs = select_recordings(ds, groups, sequences)
    if model is not None:
        bouts = _prediction_bouts(ds, model, run_id, pairs, skip)
    else:
        bouts = _label_bouts(ds, kind, pairs, skip)
    names = {k: individual_name_map(recording_meta(ds, *k)) for k in bouts}
    media = {k: _video(ds, *k) for k in bouts}
    project = boris_project_for(
        bouts, ds.tracks_index(), names, media, path, project_name=project_name or f"mosaic {model or kind}"
    )
    return write_boris_project(project, path)


def _prediction_bouts(
    ds: DatasetCore, model: str, run_id: str | None, pairs: list[tuple[str, str]], skip: Sequence[str]
) -> dict[tuple[str, str], pd.DataFrame]:
    """Bouts of the model's predictions per recording of ``pairs`` (an error when there are none)."""
    from mosaic.features.engine import iter_feature
    from mosaic.models.api import prediction_feature_name

    from .boris import bouts_from_predictions

    wanted = set(pairs)
    try:
        source = {
            (g, s): df for g, s, df in iter_feature(ds, prediction_feature_name(model), run_id) if (g, s) in wanted
        }
    except FeatureError as exc:
        raise SequenceNotFoundError(
            "the model has no predictions",
            path=exc.path,
            expected=f"predict() output of {model!r}",
            found=exc.problem,
            hint="run ds.predict(model) first",
        ) from exc
    if not source:
        raise SequenceNotFoundError(
            "the model has no predictions for these recordings",
            expected=f"predict() output of {model!r}",
            found=sorted(wanted)[:5],
            hint="run ds.predict(model) first",
        )
    return {k: bouts_from_predictions(v, skip=skip) for k, v in source.items()}


def _label_bouts(
    ds: DatasetCore, kind: str, pairs: list[tuple[str, str]], skip: Sequence[str]
) -> dict[tuple[str, str], pd.DataFrame]:
    """Bouts of the labels of ``kind`` per recording of ``pairs`` that has them (an error when none has)."""
    from mosaic.labels import load_labels

    from .boris import bouts_from_labels

    bouts = {}
    for g, s in pairs:
        try:
            bouts[(g, s)] = bouts_from_labels(load_labels(ds, g, s, kind=kind), skip=skip)
        except SequenceNotFoundError:
            continue
    if not bouts:
        raise SequenceNotFoundError(
            f"no {kind!r} labels for these recordings", expected="converted labels", found=pairs[:5]
        )
    return bouts


def boris_project_for(
    bouts: Mapping[tuple[str, str], pd.DataFrame],
    tracks_index: pd.DataFrame,
    names: Mapping[tuple[str, str], dict[int, str]],
    media: Mapping[tuple[str, str], Path | None],
    path: str | os.PathLike,
    project_name: str,
) -> dict[str, Any]:
    """The BORIS project of per-recording bouts: fps and length from ``tracks/index.csv``, media linked relative to ``path``."""
    from .boris import Observation, build_boris_project, relative_media_path

    idx = tracks_index.set_index(["group", "sequence"])
    obs = []
    for (g, s), b in sorted(bouts.items()):
        row = idx.loc[(g, s)] if (g, s) in idx.index else None
        fps = float(row["fps"]) if row is not None else float("nan")
        n = int(row["n_frames"]) if row is not None and pd.notna(row["n_frames"]) else None
        video = media.get((g, s))
        obs.append(
            Observation(g, s, b, fps, relative_media_path(video, path) if video else "", n, dict(names.get((g, s), {})))
        )
    return build_boris_project(obs, project_name=project_name)


def import_boris(
    ds: DatasetCore, path: str | os.PathLike, kind: str = "behavior_reviewed", overwrite: bool = False, **params: Any
) -> Any:
    """Read a (corrected) BORIS project written by :func:`export_boris` back as labels of ``kind``.

    Recordings come from the observations' ``mosaic_group``/``mosaic_sequence`` variables and pair
    behaviours from the ``partner`` modifier sets; ``params`` go to the ``boris_project`` converter.
    """
    from mosaic.labels import convert_all_labels

    from .boris import pair_behaviors_from_project, sequence_map_from_project

    p = {
        "paths": [str(path)],
        "sequence_map": sequence_map_from_project(path),
        "pair_behaviors": pair_behaviors_from_project(path),
        **params,
    }
    return convert_all_labels(ds, kind=kind, overwrite=overwrite, params=p, source_format="boris_project")


def _frame_manifests(
    ds: DatasetCore, method: str | None, run_id: str | None, groups: Any, sequences: Any
) -> list[dict[str, Any]]:
    from mosaic.media.store import get_frame_manifests

    man = get_frame_manifests(ds, method, run_id)
    gs = None if groups is None else ({groups} if isinstance(groups, str) else set(groups))
    ss = None if sequences is None else ({sequences} if isinstance(sequences, str) else set(sequences))
    man = [m for m in man if (gs is None or m["group"] in gs) and (ss is None or m["sequence"] in ss)]
    if not man:
        raise SequenceNotFoundError(
            "no frame run matches",
            path=ds.get_root("frames") / "index.csv",
            expected="a run of extract_frames",
            found={"method": method, "run_id": run_id},
        )
    return man


def export_labelling_project(
    ds: DatasetCore,
    tool: str,
    bodyparts: Sequence[str],
    *,
    method: str | None = None,
    run_id: str | None = None,
    out_dir: str | os.PathLike | None = None,
    groups: Any = None,
    sequences: Any = None,
    scorer: str = "mosaic",
    individuals: Sequence[str] | None = None,
    unique_bodyparts: Sequence[str] = (),
    edges: Sequence[tuple[str, str]] = (),
    use_images: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a DeepLabCut (``tool='dlc'``) or SLEAP (``'sleap'``) labelling project from a frame run (latest by default).

    Returns the DLC ``config.yaml`` or the ``.slp`` file. Labels already made are kept: existing DLC
    ``CollectedData`` files are left alone and an existing ``.slp`` is an error, unless ``overwrite``.
    """
    from .labelling import write_dlc_project, write_sleap_project

    man = _frame_manifests(ds, method, run_id, groups, sequences)
    rid = str(man[0]["run_id"])
    if tool == "dlc":
        d = Path(out_dir) if out_dir is not None else ds.folder / EXPORTS_DIR / "dlc" / rid
        return write_dlc_project(
            man,
            d,
            bodyparts=bodyparts,
            scorer=scorer,
            individuals=individuals,
            unique_bodyparts=unique_bodyparts,
            video_root=ds.folder,
            overwrite=overwrite,
        )
    if tool == "sleap":
        d = export_dir(ds, "sleap", out_dir)
        return write_sleap_project(
            man,
            d / f"{rid}.slp",
            bodyparts=bodyparts,
            edges=edges,
            resolve_video=ds.resolve_path,
            use_images=use_images,
            overwrite=overwrite,
        )
    raise ConfigError("unknown labelling tool", expected=["dlc", "sleap"], found=tool)
