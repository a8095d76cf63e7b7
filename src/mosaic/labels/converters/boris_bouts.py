"""BORIS bout tables (media times) → label sets: ids, partners, frames, reports, vocabulary.

Shared by the ``boris_csv`` and ``boris_project`` converters (see
:mod:`mosaic.labels.converters.boris_csv` for the parameters and what is reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.core.validate import positive_number

from ..events import bouts_to_events
from ..io import LabelSet
from ..matching import SequenceMatcher
from ..registry import ConverterOutput
from ..vocab import build_vocabulary, get_label_map
from .boris_subjects import partner_id, subject_ids

__all__ = ["bout_table", "convert_bouts"]


def _n_frames_param(value, group: str, sequence: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        v = value.get(f"{group}/{sequence}", value.get(sequence))
        return None if v is None else int(v)
    return int(value)


def _event_issue(r, issue: str, message: str, group=None, sequence=None) -> dict[str, Any]:
    """One reported problem of a bout row (``itertuples`` row)."""
    return {
        "file": r.source_file,
        "issue": issue,
        "line": int(r.line),
        "subject": r.subject,
        "behavior": r.behavior,
        "group": r.group if group is None else group,
        "sequence": r.sequence if sequence is None else sequence,
        "message": message,
    }


def _assign_sequences(b: pd.DataFrame, matcher: SequenceMatcher, issues: list[dict[str, Any]]) -> None:
    """Set ``group``/``sequence`` per observation/media; report recordings labelled by several observations."""
    obs = b[["source_file", "observation_id", "media_file"]].drop_duplicates()
    pairs = {}
    for sf, oid, mf in obs.itertuples(index=False):
        pairs[(sf, oid, mf)] = matcher.resolve(observation_id=oid, media_file=mf, source_file=sf)
    gs = [pairs[k] for k in zip(b["source_file"], b["observation_id"], b["media_file"], strict=False)]
    b["group"] = [g for g, _ in gs]
    b["sequence"] = [s for _, s in gs]
    # one recording labelled by several observations (of one file or of several) is reported: their events are merged
    sources = b[["group", "sequence", "source_file", "observation_id"]].drop_duplicates()
    for (g, s), src in sources.groupby(["group", "sequence"], sort=True):
        if len(src) > 1:
            named = [
                f"{Path(f).name}:{o}" if o else Path(f).name
                for f, o in zip(src["source_file"], src["observation_id"], strict=False)
            ]
            issues.append(
                {
                    "issue": "multiple_sources",
                    "group": g,
                    "sequence": s,
                    "message": f"{len(src)} observations label this recording ({', '.join(named)}); their events are merged",
                    "file": sorted(set(src["source_file"])),
                    "observation_id": sorted(set(src["observation_id"])),
                }
            )


def _assign_ids(
    b: pd.DataFrame, p: Mapping[str, Any], files_arr, issues: list[dict[str, Any]], known: set[str] | None = None
) -> np.ndarray:
    """Set ``id_a``/``id_b``; return which rows are pair events (with a usable partner).

    ``known``: the subject names a partner token may name (default: the subjects of ``b``).
    """
    b["id_a"] = subject_ids(b["subject"].to_numpy(), p["subject_map"], files_arr)
    pair_set = {str(x) for x in (p["pair_behaviors"] or [])}
    is_pair = b["behavior"].isin(pair_set).to_numpy().copy()
    id_b = np.full(len(b), -1, np.int64)
    known = set(b["subject"].astype(str)) if known is None else set(known)
    # resolve partners once per distinct (subject, modifiers, comment)
    cand = b.loc[is_pair, ["subject", "modifiers", "comment"]].astype(str).drop_duplicates()
    partner_of = {}
    for subj, mods, com in cand.itertuples(index=False):
        pt = partner_id(mods, subj, known, p["subject_map"])
        partner_of[(subj, mods, com)] = pt if pt is not None else partner_id(com, subj, known, p["subject_map"])
    if is_pair.any():
        sub = b.loc[is_pair, ["subject", "modifiers", "comment"]].astype(str)
        found = np.array(
            [
                partner_of[k] if partner_of[k] is not None else -2
                for k in zip(sub["subject"], sub["modifiers"], sub["comment"], strict=False)
            ],
            np.int64,
        )
        ida = b["id_a"].to_numpy()[is_pair]
        usable = (found >= 0) & (found != ida) & (ida >= 0)
        rows = np.flatnonzero(is_pair)
        id_b[rows[usable]] = found[usable]
        for i in rows[~usable]:
            r = b.iloc[i]
            issues.append(
                _event_issue(
                    r,
                    "pair_without_partner",
                    f"pair behaviour without a usable partner in Modifiers {r['modifiers']!r} or Comment {r['comment']!r}; stored as an individual event",
                )
            )
        is_pair[rows[~usable]] = False
    b["id_b"] = id_b
    return is_pair


def _frame_rates(ds: DatasetCore, b: pd.DataFrame, p: Mapping[str, Any], files_arr) -> np.ndarray:
    """Frame rate of every row: ``fps_override``, else the export's, else params ``fps`` / ``fps_default``."""
    fps = b["fps"].to_numpy(dtype=float).copy()
    if p["fps_override"] is not None:
        return np.full(len(b), positive_number(p["fps_override"], "fps_override"))
    fallback = (
        p["fps"]
        if p["fps"] is not None
        else positive_number(ds.meta.get("fps_default"), "fps_default", allow_none=True, path=ds.manifest_path)
    )
    invalid = ~np.isnan(fps) & ~(np.isfinite(fps) & (fps > 0))  # a value is there, and it is no frame rate
    if invalid.any():
        i = int(np.argmax(invalid))
        raise LabelFormatError(
            "BORIS export has an invalid FPS",
            path=files_arr[i],
            expected="a finite number > 0 (or an empty cell)",
            found=float(fps[i]),
            hint="fix the export, or set params fps_override to replace it",
        )
    bad = np.isnan(fps)
    if bad.any():
        if fallback is None:
            raise LabelFormatError(
                "BORIS export has no FPS and no fps parameter was given",
                path=files_arr[int(np.argmax(bad))],
                expected="an FPS column or params fps / dataset meta fps_default",
                found="FPS missing/NA",
            )
        fps[bad] = float(fallback)
    return fps


def _assign_frames(b: pd.DataFrame, fps: np.ndarray, issues: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Set ``fps_used``/``start_f``/``stop_f``; report zero-length and negative bouts; return (point, zero) masks."""
    b["fps_used"] = fps
    start_f = np.floor(b["start_s"].to_numpy(float) * fps + 0.5).astype(np.int64)
    stop_f = np.floor(b["stop_s"].to_numpy(float) * fps + 0.5).astype(np.int64)
    point = (b["type"] == "POINT").to_numpy()
    stop_f[point] = start_f[point] + 1
    b["start_f"], b["stop_f"] = start_f, stop_f
    zero = (~point) & (stop_f <= start_f)
    for r in b[zero].itertuples():
        issues.append(
            _event_issue(r, "zero_length", f"state event {r.start_s}-{r.stop_s} s is shorter than one frame; dropped")
        )
    neg = start_f < 0
    for r in b[neg].itertuples():
        issues.append(_event_issue(r, "before_start", f"event starts before 0 s ({r.start_s}); clipped"))
    b.loc[neg, "start_f"] = 0
    return point, zero


def _report_overlaps(st: pd.DataFrame, issues: list[dict[str, Any]]) -> None:
    """Report state events overlapping an earlier state event of the same subject."""
    st = st.sort_values(["group", "sequence", "id_a", "start_f"], kind="stable")
    if not len(st):
        return
    prev_max = st.groupby(["group", "sequence", "id_a"])["stop_f"].transform(lambda s: s.cummax().shift(1)).to_numpy()
    ov = st[np.nan_to_num(prev_max, nan=-1) > st["start_f"].to_numpy()]
    for r in ov.itertuples():
        issues.append(
            _event_issue(
                r,
                "overlap",
                f"state event {r.start_s}-{r.stop_s} s overlaps an earlier state event of the same subject; both kept",
            )
        )


def _label_vocabulary(
    ds: DatasetCore, kind: str, b: pd.DataFrame, p: Mapping[str, Any], files_arr, vocab: Mapping[str, int] | None = None
) -> dict[str, int]:
    """The behaviour → label id map (``vocab`` when given); refuse behaviours outside a fixed vocabulary."""
    if vocab is None:
        existing = None if p["behaviors"] is not None else get_label_map(ds, kind)
        vocab = build_vocabulary(b["behavior"].astype(str), p["behaviors"], p["background"], existing)
    vocab = dict(vocab)
    unknown_beh = sorted(set(b["behavior"].astype(str)) - set(vocab))
    if unknown_beh:
        f = files_arr[b["behavior"].isin(unknown_beh).to_numpy()][0]
        raise LabelFormatError(
            "behaviour not in the fixed vocabulary (params 'behaviors')",
            path=f,
            expected=sorted(vocab),
            found=unknown_beh,
        )
    return vocab


def _sequence_n_frames(sub: pd.DataFrame, p: Mapping[str, Any], matcher: SequenceMatcher, g, s, fps_seq: float):
    """Recording length: params ``n_frames``, else the matcher's, else the export's media length (one file)."""
    n_frames = _n_frames_param(p["n_frames"], g, s)
    if n_frames is None:
        n_frames = matcher.n_frames(g, s)
    if n_frames is None:
        tl = sub["total_length"].to_numpy(float)
        one_media = sub["media_file"].nunique() == 1
        if one_media and np.isfinite(tl).any():
            n_frames = int(np.floor(np.nanmin(tl[np.isfinite(tl)]) * fps_seq + 0.5))
    return n_frames


def _clip_past_end(sub: pd.DataFrame, n_frames: int, g, s, issues: list[dict[str, Any]]) -> None:
    """Report events past the recording end and clip their stops to ``n_frames``."""
    past = sub["stop_f"].to_numpy() > n_frames
    for r in sub[past].itertuples():
        what = (
            "starts after the recording end; dropped" if r.start_f >= n_frames else "ends after the recording; clipped"
        )
        issues.append(
            _event_issue(
                r, "past_end", f"event {r.start_s}-{r.stop_s} s {what} ({n_frames} frames)", group=g, sequence=s
            )
        )
    sub["stop_f"] = np.minimum(sub["stop_f"].to_numpy(), n_frames)


def _sequence_label_set(
    sub: pd.DataFrame,
    g,
    s,
    p: Mapping[str, Any],
    matcher: SequenceMatcher,
    vocab: dict[str, int],
    issues: list[dict[str, Any]],
) -> LabelSet:
    """The label set of one (group, sequence) from its kept bouts."""
    background = p["background"]
    label_ids = np.array(sorted(vocab.values()), np.int32)
    id_to_name = {v: k for k, v in vocab.items()}
    label_names = np.array([id_to_name[i] for i in label_ids])
    fps_seq = float(sub["fps_used"].iloc[0])
    n_frames = _sequence_n_frames(sub, p, matcher, g, s, fps_seq)
    sub = sub.copy()
    if n_frames is not None:
        _clip_past_end(sub, n_frames, g, s, issues)
    frames, labels, ids = bouts_to_events(
        sub["start_f"],
        sub["stop_f"],
        sub["label"],
        sub["id_a"],
        sub["id_b"],
        both_directions=sub["is_pair"].to_numpy(),
    )
    if background is not None:
        if n_frames is None:
            raise ConfigError(
                "background fill needs the recording length",
                group=g,
                sequence=s,
                expected="params n_frames, a tracks/index.csv row or a media length in the export",
            )
        fill_ids = sorted(
            {int(i) for i in sub["id_a"] if i >= 0}
            | {int(i) for i in sub["id_b"] if i >= 0}
            | {int(i) for i in (p["ids"] or [])}
        )
        frames, labels, ids = _fill_background(frames, labels, ids, fill_ids, n_frames, vocab[background])
    return LabelSet(
        group=g,
        sequence=s,
        frames=frames,
        labels=labels,
        individual_ids=ids,
        label_ids=label_ids,
        label_names=label_names,
        fps=fps_seq,
        n_frames=n_frames,
    )


def bout_table(exports, p: Mapping[str, Any]) -> pd.DataFrame | None:
    """The bouts of every export in one table (POINT events dropped unless ``point_events``); None when empty."""
    tables = [e.bouts for e in exports if len(e.bouts)]
    if not tables:
        return None
    b = pd.concat(tables, ignore_index=True)
    if not p["point_events"]:
        b = b[b["type"] != "POINT"].reset_index(drop=True)
    return b


def convert_bouts(
    ds: DatasetCore,
    kind: str,
    exports,
    p: Mapping[str, Any],
    issues: list[dict[str, Any]] | None = None,
    matcher: SequenceMatcher | None = None,
    context: Mapping[str, Any] | None = None,
) -> ConverterOutput:
    """Shared second half of the BORIS converters: bout tables of parsed exports (media times) → label sets.

    ``context`` holds what other exports of the same conversion decide (see :func:`join_surveys`):
    ``vocabulary`` (``{behaviour: label id}``) and ``known_subjects``; by default both come from ``exports``.
    """
    context = context or {}
    issues = list(issues or []) + [i for e in exports for i in e.issues]
    b = bout_table(exports, p)
    if b is None:
        return ConverterOutput([], issues)
    files_arr = b["source_file"].to_numpy()
    matcher = matcher or SequenceMatcher(ds, p["sequence_map"], p["default_group"])
    _assign_sequences(b, matcher, issues)
    is_pair = _assign_ids(b, p, files_arr, issues, context.get("known_subjects"))
    point, zero = _assign_frames(b, _frame_rates(ds, b, p, files_arr), issues)
    _report_overlaps(b[(~point) & (~zero)], issues)
    vocab = _label_vocabulary(ds, kind, b, p, files_arr, context.get("vocabulary"))
    b["label"] = b["behavior"].astype(str).map(vocab).to_numpy(np.int64)
    b["is_pair"] = is_pair
    sets = [
        _sequence_label_set(sub, g, s, p, matcher, vocab, issues)
        for (g, s), sub in b[~zero].groupby(["group", "sequence"], sort=True)
    ]
    return ConverterOutput(sets, issues)


def _fill_background(frames, labels, ids, fill_ids: list[int], n_frames: int, bg: int):
    """Add ``[id, -1]`` background rows where an individual (as subject) has no event."""
    if not fill_ids:
        return frames, labels, ids
    fid = np.asarray(fill_ids, np.int64)
    covered = np.zeros((len(fid), n_frames), bool)
    a = ids[:, 0]
    sel = np.isin(a, fid) & (frames < n_frames)
    rows = np.searchsorted(fid, a[sel])
    covered[rows, frames[sel]] = True
    k, f = np.nonzero(~covered)
    new_ids = np.stack([fid[k], np.full(len(k), -1)], axis=1)
    frames = np.concatenate([frames, f.astype(np.int32)])
    labels = np.concatenate([labels, np.full(len(f), bg, np.int32)])
    ids = np.concatenate([ids, new_ids.astype(np.int32)])
    order = np.lexsort((labels, ids[:, 1], ids[:, 0], frames))
    return frames[order], labels[order], ids[order]
