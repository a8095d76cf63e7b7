"""Labels or a model's predictions → a BORIS project (``.boris``) for review and correction.

One observation per recording (type ``MEDIA``, the recording's video on player #1, its length
and fps in ``media_info``), one subject per individual, one *state event* per behaviour. Each
bout ``[start, stop)`` (frames) becomes two toggling events at ``start / fps`` and
``stop / fps`` seconds, so that BORIS's frame rounding (and mosaic's ``boris_project`` reader,
``round(t * fps)``) gives back the same frames. Scene-level bouts use the empty subject (``No
focal subject``); pair bouts are written once per pair (lower id as subject) with the partner's
subject name as the event's modifier (the behaviour gets a modifier set ``partner`` listing the
subjects) and comment. BORIS keeps one state per (subject, behaviour, modifier), so an animal may
interact with two partners at once; the converters read them back as pairs with ``pair_behaviors``. The recording's group and sequence are stored as the observation's
independent variables ``mosaic_group``/``mosaic_sequence``, which :func:`sequence_map_from_project`
reads back to route the corrected project to the right recordings.

Subject names end in the individual id (``alice_2``; ``id2`` without a name) so that the
default subject → id rule of the BORIS converters (trailing integer) recovers the ids.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_text
from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.labels.events import events_to_bouts

PROJECT_FORMAT_VERSION = "7.0"
GROUP_VAR, SEQUENCE_VAR = "mosaic_group", "mosaic_sequence"
_TRAILING_INT = re.compile(r"(\d+)\s*$")


@dataclass
class Observation:
    """The bouts of one recording to write as a BORIS observation.

    Attributes
    ----------
    bouts
        Columns ``start``, ``stop`` (frames, stop exclusive), ``behavior`` (name), ``id_a``, ``id_b``
        (``-1`` for none; ``id_a = -1`` is a scene-level bout).
    fps
        Frame rate of the recording (converts frames to seconds).
    media_file
        Path of the video as BORIS should find it (absolute, or relative to the project file).
    n_frames
        Recording length in frames (media length in ``media_info``); default: the last bout end.
    individual_names
        ``{id: name}`` used to name subjects.
    """

    group: str
    sequence: str
    bouts: pd.DataFrame
    fps: float
    media_file: str = ""
    n_frames: int | None = None
    individual_names: dict[int, str] = field(default_factory=dict)
    observation_id: str | None = None


def subject_name(i: int, names: Mapping[int, str] | None = None) -> str:
    """BORIS subject name of individual ``i``: its name when that ends in ``i``, else ``<name>_<i>`` / ``id<i>``."""
    if i < 0:
        return ""
    name = (names or {}).get(int(i))
    if not name:
        return f"id{i}"
    m = _TRAILING_INT.search(name)
    return name if m is not None and int(m.group(1)) == int(i) else f"{name}_{i}"


def label_name_map(labels: Mapping[str, Any]) -> dict[int, str]:
    """``{label id: behaviour name}`` of a label dict as :func:`mosaic.labels.load_labels` returns."""
    ids = np.asarray(labels["label_ids"]).astype(int).tolist()
    return dict(zip(ids, [str(n) for n in np.asarray(labels["label_names"]).ravel()], strict=True))


def bouts_from_labels(labels: Mapping[str, Any], *, skip: Sequence[str] = ()) -> pd.DataFrame:
    """Bouts (``start, stop, behavior, id_a, id_b``) of a label dict as :func:`mosaic.labels.load_labels` returns.

    Behaviours named in ``skip`` (e.g. a background class) are left out. Pair bouts keep one direction
    (``id_a < id_b``).
    """
    b = events_to_bouts(labels["frames"], labels["labels"], labels["individual_ids"])
    names = label_name_map(labels)
    unknown = sorted(set(b["label"].astype(int)) - set(names))
    if unknown:
        raise LabelFormatError(
            "labels use ids missing from label_ids",
            group=labels.get("group"),
            sequence=labels.get("sequence"),
            expected=sorted(names),
            found=unknown,
        )
    b["behavior"] = b["label"].map(names)
    b = b[~b["behavior"].isin(list(skip))]
    b = b[(b["id_b"] < 0) | (b["id_a"] < b["id_b"])]
    return b[["start", "stop", "behavior", "id_a", "id_b"]].reset_index(drop=True)


def bouts_from_predictions(pred: pd.DataFrame, *, column: str = "pred", skip: Sequence[str] = ()) -> pd.DataFrame:
    """Bouts of a prediction table (``frame, id[, id2], <column>``: one predicted behaviour per row)."""
    for c in ("frame", "id", column):
        if c not in pred.columns:
            raise ConfigError(
                "prediction table lacks a column", expected=["frame", "id", column], found=list(pred.columns)
            )
    names, codes = np.unique(pred[column].astype(str).to_numpy(), return_inverse=True)
    ids = np.column_stack(
        [pred["id"].to_numpy(np.int64), pred["id2"].to_numpy(np.int64) if "id2" in pred else np.full(len(pred), -1)]
    )
    b = events_to_bouts(pred["frame"].to_numpy(np.int64), codes, ids)
    b["behavior"] = names[b["label"].to_numpy()]
    b = b[~b["behavior"].isin(list(skip))]
    b = b[(b["id_b"] < 0) | (b["id_a"] < b["id_b"])]
    return b[["start", "stop", "behavior", "id_a", "id_b"]].reset_index(drop=True)


def _events(obs: Observation) -> list[list[Any]]:
    b = obs.bouts
    if not len(b):
        return []
    fps = float(obs.fps)
    if (b["stop"].to_numpy(np.int64) <= b["start"].to_numpy(np.int64)).any():
        bad = b[b["stop"] <= b["start"]]
        raise ConfigError(
            "a bout ends before it starts",
            group=obs.group,
            sequence=obs.sequence,
            expected="stop > start",
            found=bad.head(3).to_dict("records"),
        )
    subj = {
        i: subject_name(i, obs.individual_names) for i in np.unique(np.concatenate([b["id_a"], b["id_b"]])).astype(int)
    }
    start = b["start"].to_numpy(np.int64)
    stop = b["stop"].to_numpy(np.int64)
    subject = [subj[int(a)] for a in b["id_a"]]
    comment = [subj[int(x)] if x >= 0 else "" for x in b["id_b"]]
    behavior = b["behavior"].astype(str).tolist()
    # BORIS toggles a state per (subject, behaviour, modifier): the partner is the modifier, so bouts with
    # two partners may overlap; bouts of one state may not
    chk = pd.DataFrame({"s": subject, "b": behavior, "m": comment, "start": start, "stop": stop}).sort_values(
        ["s", "b", "m", "start"]
    )
    same = (chk[["s", "b", "m"]].shift() == chk[["s", "b", "m"]]).all(axis=1).to_numpy()
    overlap = same[1:] & (chk["start"].to_numpy()[1:] < chk["stop"].to_numpy()[:-1])
    if overlap.any():
        raise ConfigError(
            "overlapping bouts of one subject and behaviour cannot be written as BORIS state events",
            group=obs.group,
            sequence=obs.sequence,
            expected="disjoint bouts per (subject, behaviour, partner)",
            found=int(overlap.sum()),
        )
    rows = []
    for t, f, opens in ((start / fps, start, 1), (stop / fps, stop, 0)):
        rows.append(
            pd.DataFrame(
                {
                    "time": t,
                    "opens": opens,
                    "subject": subject,
                    "code": behavior,
                    "modifier": comment,
                    "comment": comment,
                    "frame": f,
                }
            )
        )
    # at equal times a bout's end comes before the next bout's start
    ev = pd.concat(rows, ignore_index=True).sort_values(["time", "opens", "subject", "code"], kind="stable")
    return [[round(float(r.time), 6), r.subject, r.code, r.modifier, r.comment, int(r.frame)] for r in ev.itertuples()]


def _observation(obs: Observation, events: list, now: str) -> dict[str, Any]:
    """One BORIS observation (a media observation of the recording's video, with its events)."""
    n = obs.n_frames if obs.n_frames is not None else (int(obs.bouts["stop"].max()) if len(obs.bouts) else 0)
    media = str(obs.media_file or "")
    info = {"length": {}, "fps": {}, "hasVideo": {}, "hasAudio": {}, "offset": {"1": 0.0}}
    if media:
        info["length"][media] = round(n / float(obs.fps), 6)
        info["fps"][media] = float(obs.fps)
        info["hasVideo"][media] = True
        info["hasAudio"][media] = False
    return {
        "file": {"1": [media] if media else [], **{str(k): [] for k in range(2, 9)}},
        "type": "MEDIA",
        "date": now,
        "description": f"exported by mosaic from {obs.group}/{obs.sequence}",
        "time offset": 0.0,
        "events": events,
        "observation time interval": [0, 0],
        "independent_variables": {GROUP_VAR: obs.group, SEQUENCE_VAR: obs.sequence},
        "visualize_spectrogram": False,
        "visualize_waveform": False,
        "media_creation_date_as_offset": False,
        "media_scan_sampling_duration": 0,
        "image_display_duration": 1,
        "close_behaviors_between_videos": False,
        "media_info": info,
    }


def _check_fps(obs: Observation) -> None:
    """Refuse a recording without a usable frame rate (bout frames cannot become seconds)."""
    if not (np.isfinite(obs.fps) and obs.fps > 0):
        raise ConfigError(
            "BORIS export needs the recording's fps",
            group=obs.group,
            sequence=obs.sequence,
            expected="fps > 0",
            found=obs.fps,
        )


def _add_behaviors(obs: Observation, seen: list[str], behaviors: Sequence[str] | None) -> None:
    """Append the recording's new behaviour names to ``seen``; refuse names outside a given ethogram."""
    for name in obs.bouts["behavior"].astype(str) if len(obs.bouts) else []:
        if name not in seen:
            if behaviors is not None:
                raise ConfigError(
                    "behaviour not in the given ethogram",
                    group=obs.group,
                    sequence=obs.sequence,
                    expected=list(behaviors),
                    found=name,
                )
            seen.append(name)


def _add_subjects(events: list, subjects: dict[str, None], paired: set[str]) -> None:
    """Record the subjects (focal and partner) of ``events`` and the behaviours that have a partner."""
    for e in events:
        if e[1]:
            subjects[e[1]] = None
        if e[4]:
            subjects[e[4]] = None
            paired.add(e[2])


def _ethogram(behaviors: list[str], paired: set[str], subjects: Iterable[str]) -> dict[str, Any]:
    """``behaviors_conf``: one state event per behaviour, paired ones with the ``partner`` modifier set."""
    keys = "abcdefghijklmnopqrstuvwxyz"
    partner_set = {"0": {"name": "partner", "type": 0, "values": list(subjects)}}
    return {
        str(i): {
            "type": "State event",
            "key": keys[i] if i < len(keys) else "",
            "code": name,
            "description": "",
            "color": "",
            "category": "",
            "modifiers": partner_set if name in paired else {},
            "excluded": "",
            "coding map": "",
        }
        for i, name in enumerate(behaviors)
    }


def _independent_variables() -> dict[str, Any]:
    """The project's independent variables: the recording's mosaic group and sequence."""

    def text_var(label: str, description: str) -> dict[str, str]:
        return {"label": label, "description": description, "type": "text", "default value": "", "possible values": ""}

    return {"0": text_var(GROUP_VAR, "mosaic group"), "1": text_var(SEQUENCE_VAR, "mosaic sequence")}


def build_boris_project(
    observations: Iterable[Observation],
    *,
    project_name: str = "mosaic predictions",
    behaviors: Sequence[str] | None = None,
    description: str = "",
) -> dict[str, Any]:
    """The BORIS project (a JSON-ready dict) holding one observation per recording."""
    obs_list = list(observations)
    if not obs_list:
        raise ConfigError("nothing to write to a BORIS project", expected="at least one recording", found=0)
    seen_behaviors: list[str] = list(behaviors or [])
    subjects: dict[str, None] = {}
    paired: set[str] = set()
    observations_out: dict[str, Any] = {}
    now = _dt.datetime.now().replace(microsecond=0).isoformat()
    for obs in obs_list:
        _check_fps(obs)
        _add_behaviors(obs, seen_behaviors, behaviors)
        events = _events(obs)
        _add_subjects(events, subjects, paired)
        oid = obs.observation_id or f"{obs.group}/{obs.sequence}"
        if oid in observations_out:
            raise ConfigError("two recordings share one observation id", expected="unique observation ids", found=oid)
        observations_out[oid] = _observation(obs, events, now)
    subj = {
        str(i): {"key": str(i) if i < 10 else "", "name": name, "description": ""} for i, name in enumerate(subjects)
    }
    return {
        "time_format": "hh:mm:ss",
        "project_date": now,
        "project_name": project_name,
        "project_description": description,
        "project_format_version": PROJECT_FORMAT_VERSION,
        "subjects_conf": subj,
        "behaviors_conf": _ethogram(seen_behaviors, paired, subjects),
        "observations": observations_out,
        "behavioral_categories": [],
        "behavioral_categories_config": {},
        "independent_variables": _independent_variables(),
        "coding_map": {},
        "behaviors_coding_map": [],
        "converters": {},
    }


def write_boris_project(project: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a project dict as a ``.boris`` file (JSON, atomic)."""
    path = Path(path)
    if path.suffix.lower() != ".boris":
        raise ConfigError(
            "a BORIS project file must end in .boris", path=path, expected=".boris", found=path.suffix or "no suffix"
        )
    return atomic_write_text(path, json.dumps(project, indent=1, ensure_ascii=False))


def relative_media_path(media: str | os.PathLike, project_path: str | os.PathLike) -> str:
    """``media`` relative to the project's folder (BORIS joins such paths to the project folder), else absolute.

    Paths stay relative while both lie in one folder tree (``../../media_raw/...`` inside a dataset), so
    the dataset can move; only on another drive the absolute path is written.
    """
    media = Path(media).resolve()
    try:
        return Path(os.path.relpath(media, Path(project_path).resolve().parent)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(media)


def sequence_map_from_project(path: str | os.PathLike) -> dict[str, list[str]]:
    """``{observation id: [group, sequence]}`` from the ``mosaic_group``/``mosaic_sequence`` variables of a project."""
    path = Path(path)
    try:
        pj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LabelFormatError("not a readable BORIS project", path=path, found=str(exc)) from exc
    out: dict[str, list[str]] = {}
    for oid, obs in (pj.get("observations") or {}).items():
        iv = (obs or {}).get("independent_variables") or {}
        if iv.get(GROUP_VAR) not in (None, "") and iv.get(SEQUENCE_VAR) not in (None, ""):
            out[str(oid)] = [str(iv[GROUP_VAR]), str(iv[SEQUENCE_VAR])]
    return out


def pair_behaviors_from_project(path: str | os.PathLike) -> list[str]:
    """Behaviours of a project that carry the ``partner`` modifier set (pair behaviours written by :func:`build_boris_project`)."""
    path = Path(path)
    try:
        pj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LabelFormatError("not a readable BORIS project", path=path, found=str(exc)) from exc
    out = []
    for b in (pj.get("behaviors_conf") or {}).values():
        mods = (b or {}).get("modifiers") or {}
        if isinstance(mods, dict) and any(isinstance(m, dict) and m.get("name") == "partner" for m in mods.values()):
            out.append(str(b.get("code")))
    return sorted(out)
