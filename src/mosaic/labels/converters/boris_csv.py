"""``boris_csv``: BORIS tabular / aggregated event exports → ``individual_pair_v1``.

Parameters (``params`` of :func:`mosaic.labels.convert_all_labels`): see :data:`PARAMETERS` (also
rendered in the documentation's format reference).

Frames: ``start = round(Start(s) * fps)``, ``stop = round(Stop(s) * fps)`` (exclusive); a POINT is
the one frame ``start``. Reported (not dropped silently): unmatched START/STOP, overlapping state
events of one subject, zero-length bouts, times before 0 or past the recording end (clipped),
pair events without a partner (stored as individual events), several observations for one
recording. Observations spanning several queued media files are placed file by file (see
:func:`place_queued_media`) or refused when the files' starts cannot be known.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.core.params import Param, defaults
from mosaic.core.validate import check_physical, positive_number

from ..boris import NO_FOCAL, read_boris_export
from ..events import bouts_to_events
from ..io import LabelSet
from ..matching import SequenceMatcher
from ..registry import ConverterOutput
from ..vocab import build_vocabulary, get_label_map

log = logging.getLogger(__name__)

PARAMETERS: dict[str, Param] = {
    "paths": Param(
        ["annotations/boris_aggregated"], "Export files or folders (relative to the dataset folder, or absolute)."
    ),
    "patterns": Param(
        ["*.csv", "*.tsv", "*.txt", "*.xlsx"], "File patterns searched in folders (XLSX needs `openpyxl`)."
    ),
    "delimiter": Param(None, "Force a delimiter (`'\\t'`, `','`, `';'`); default: detected per file."),
    "fps": Param(None, "Frame rate where the export has no `FPS` (then the dataset's `meta.fps_default`)."),
    "fps_override": Param(None, "Frame rate for every row, whatever the export says."),
    "sequence_map": Param(
        None,
        "`{key: [group, sequence]}` (or `'group/sequence'`): key = observation id, media file "
        "(path, name or stem) or export file stem. Tried first; then the media index, the tracks "
        "index, a media file lying in `media_raw/<group>/<sequence>.<ext>`, then `default_group`.",
    ),
    "default_group": Param(
        None, "Group of observations nothing else maps; the sequence is the media file stem (or the observation id)."
    ),
    "subject_map": Param(
        None,
        "`{subject name: individual id}`; default: the trailing integer of the name (`fish3` -> 3). "
        "`No focal subject` (or empty) is scene-level (`[-1, -1]`).",
    ),
    "point_events": Param(True, "Keep POINT events (one frame each)."),
    "pair_behaviors": Param(
        [],
        "Behaviours stored as pairs (both directions, each directed event once); the partner is the "
        "first token of `Modifiers`, else of the start `Comment` (split on `|`, `,`, `;`), naming a subject.",
    ),
    "background": Param(
        None, "Label filling the frames where an individual has no event (needs the recording length)."
    ),
    "ids": Param(None, "Individuals filled with `background` besides those named in the export."),
    "n_frames": Param(
        None,
        "Recording length (or `{'group/sequence': n}`); default: the tracks' length (`tracks/index.csv`), "
        "else the media file's length x fps from the export.",
    ),
    "media_offsets": Param(
        None,
        "`{media file (path, name or stem): start seconds}` of queued media files within their "
        "observation. Usually not needed: the starts are derived from the export (queue and lengths "
        "of current BORIS), the indexed videos' durations (`index_media`) or the tracks; an observation "
        "whose starts cannot be known is refused with an error.",
    ),
    "behaviors": Param(
        None,
        "Fixed vocabulary (label id = position; unknown behaviours are an error). Default: the kind's "
        "existing vocabulary extended by new names, sorted; `background` gets id 0.",
    ),
}
DEFAULTS: dict[str, Any] = defaults(PARAMETERS)
_TRAILING_INT = re.compile(r"(\d+)\s*$")
_SUBJECT_LIKE = re.compile(r"^[A-Za-z][A-Za-z _\-]*\d+$")


def collect_files(ds: DatasetCore, paths, patterns) -> list[Path]:
    """Export files named by ``paths`` (files, or folders searched with ``patterns``), sorted."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        path = ds.resolve_path(p)
        if path.is_dir():
            for pat in patterns:
                files.extend(f for f in path.glob(pat) if f.is_file() and not f.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(
                "annotation path not found", path=path, expected="an existing file or folder", hint="params 'paths'"
            )
    files = sorted(set(files))
    if not files:
        raise ConfigError(
            "no annotation files found",
            path=", ".join(str(ds.resolve_path(p)) for p in paths),
            expected=f"files matching {list(patterns)}",
        )
    return files


_ID_MAX = int(np.iinfo(np.int32).max)


def _checked_id(value: Any, name: str, path: Any) -> int:
    """An individual id that fits the int32 label format, else a named error (never a silent wrap)."""
    try:
        v = int(value)
    except (TypeError, ValueError) as exc:
        raise LabelFormatError(
            "subject id is not an integer", path=path, expected="integer id", found=f"{name!r} -> {value!r}"
        ) from exc
    if not 0 <= v <= _ID_MAX:
        raise LabelFormatError(
            "subject id out of range",
            path=path,
            expected=f"0..{_ID_MAX}",
            found=f"{name!r} -> {v}",
            hint="pass params subject_map={name: id}",
        )
    return v


def _subject_ids(subjects: np.ndarray, subject_map: Mapping[str, int] | None, files: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(subjects.astype(str), return_inverse=True)
    out = np.empty(len(uniq), np.int64)
    for i, name in enumerate(uniq):
        if name.strip().lower() in NO_FOCAL:
            out[i] = -1
        elif subject_map is not None:
            if name not in subject_map:
                f = files[inv == i][0]
                raise LabelFormatError(
                    "unknown subject (not in subject_map)",
                    path=f,
                    expected=sorted(subject_map),
                    found=name,
                    hint="add it to params subject_map",
                )
            out[i] = _checked_id(subject_map[name], name, files[inv == i][0])
        else:
            m = _TRAILING_INT.search(name)
            if m is None:
                f = files[inv == i][0]
                raise LabelFormatError(
                    "unknown subject: no trailing integer id in its name",
                    path=f,
                    expected="names like 'fish3' or a subject_map",
                    found=name,
                    hint="pass params subject_map={name: id}",
                )
            out[i] = _checked_id(m.group(1), name, files[inv == i][0])
    ids = out[inv]
    # two subject names of one file must not share an id
    pairs = pd.DataFrame({"file": files, "subject": subjects.astype(str), "id": ids}).drop_duplicates()
    pairs = pairs[pairs["id"] >= 0]
    clash = pairs[pairs.duplicated(["file", "id"], keep=False)]
    if len(clash):
        first = clash.iloc[0]
        names = sorted(clash[(clash["file"] == first["file"]) & (clash["id"] == first["id"])]["subject"])
        raise LabelFormatError(
            "two subjects map to the same individual id",
            path=first["file"],
            expected="one id per subject",
            found=f"{names} -> {int(first['id'])}",
            hint="pass params subject_map={name: id}",
        )
    return ids


def _partner(modifiers: str, subject: str, known: set[str], subject_map: Mapping[str, int] | None) -> int | None:
    for tok in re.split(r"[|,;]", modifiers or ""):
        tok = tok.strip()
        if not tok or tok == subject:
            continue
        if subject_map is not None:
            if tok in subject_map:
                return _checked_id(subject_map[tok], tok, None)
            continue
        if tok in known or _SUBJECT_LIKE.match(tok):
            m = _TRAILING_INT.search(tok)
            if m:
                return _checked_id(m.group(1), tok, None)
    return None


def _n_frames_param(value, group: str, sequence: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        v = value.get(f"{group}/{sequence}", value.get(sequence))
        return None if v is None else int(v)
    return int(value)


def resolve_params(params: Mapping[str, Any], defaults: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``defaults`` updated by ``params``; unknown keys are a :class:`ConfigError` listing the known ones."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown {name} parameters", expected=sorted(defaults), found=unknown)
    check_physical(params, where=f"the {name} converter")  # fps > 0 and finite, ...
    return {**defaults, **dict(params)}


def convert(ds: DatasetCore, kind: str, params: Mapping[str, Any]) -> ConverterOutput:
    """Convert BORIS exports named by ``params`` (see module docstring) into label sets."""
    p = resolve_params(params, DEFAULTS, "boris_csv")
    files = collect_files(ds, p["paths"], p["patterns"])
    exports = [read_boris_export(f, delimiter=p["delimiter"]) for f in files]
    matcher = SequenceMatcher(ds, p["sequence_map"], p["default_group"])
    lengths = _KnownLengths(matcher)
    for e in exports:
        e.bouts = place_queued_media(e.bouts, p["media_offsets"], lengths)
    out = convert_bouts(ds, kind, exports, p, matcher=matcher)
    out.sources = [str(f) for f in files]
    return out


def _keys(media: str) -> tuple[str, ...]:
    name = PurePath(media.replace("\\", "/")).name
    return (media, name, PurePath(name).stem)


class _KnownLengths:
    """Lengths (s) of media files the dataset knows: ``media/index.csv`` durations, else tracks."""

    def __init__(self, matcher: SequenceMatcher) -> None:
        self.matcher = matcher

    def __call__(self, media: str, fps: float, *, observation_id: str, source_file: str) -> float:
        m = self.matcher.media
        keys = _keys(media)
        if m is not None and "duration_s" in m.columns:
            hit = m[m["_name"].isin(keys) | m["_file"].isin(keys)]
            d = pd.to_numeric(hit["duration_s"], errors="coerce").dropna().unique()
            if len(d) == 1 and d[0] > 0:
                return float(d[0])
        if np.isfinite(fps) and fps > 0:
            try:
                g, s = self.matcher.resolve(observation_id=observation_id, media_file=media, source_file=source_file)
            except LabelFormatError:
                return np.nan
            n = self.matcher.n_frames(g, s)
            if n:
                return n / fps
        return np.nan


def _queue_and_lengths(g: pd.DataFrame, media: list[str]) -> tuple[list[str], bool, dict[str, float]]:
    """The queue order of one observation, whether the export gave it, and the lengths its cell gives."""
    explicit = next((q for q in g["media_queue"] if len(q) > 1 and set(media) <= set(q)), None)
    queue = list(explicit) if explicit is not None else media
    lengths: dict[str, float] = {}
    if explicit is not None:
        cell = next((t for t in g["media_lengths"] if len(t) == len(queue)), ())
        lengths = {m: float(x) for m, x in zip(queue, cell, strict=False) if np.isfinite(x) and x > 0}
    return queue, explicit is not None, lengths


def _queue_offsets(
    queue: list[str],
    lengths: dict[str, float],
    given: dict[str, float],
    explicit: bool,
    obs_total: float,
) -> dict[str, float | None]:
    """Start (s) of each queued file (None = unknown); fills ``lengths`` derivable from the starts."""
    offsets: dict[str, float | None] = {}
    running: float | None = 0.0
    for m in queue:
        own = next((given[k] for k in _keys(m) if k in given), None)
        offsets[m] = own if own is not None else running
        running = offsets[m] + lengths[m] if offsets[m] is not None and m in lengths else None
    for a, nxt in zip(queue[:-1], queue[1:], strict=False):  # a file's length from where the next one starts
        if a not in lengths and offsets[a] is not None and offsets[nxt] is not None and offsets[nxt] > offsets[a]:
            lengths[a] = offsets[nxt] - offsets[a]
    last = queue[-1]
    if (
        last not in lengths
        and not explicit
        and offsets[last] is not None
        and np.isfinite(obs_total)
        and obs_total > offsets[last]
    ):
        lengths[last] = obs_total - offsets[last]  # older exports give the observation's total length
    return offsets


def _check_queue_known(
    oid, media, queue, offsets, lengths, given, explicit: bool, obs_total: float, fps: float, ctx: dict[str, Any]
) -> None:
    """Refuse an observation whose queued files' starts are unknown or whose lengths miss its total."""
    unknown = [m for m in media if offsets[m] is None]
    if unknown:
        raise LabelFormatError(
            f"observation {oid!r} spans {len(queue)} queued media files and the start of {unknown} within it is unknown; "
            "nothing of it was written",
            found=f"queue {queue}, known lengths {lengths}",
            hint="index the videos first (index_media: their durations place the queue), convert the tracks first, "
            "pass params media_offsets={file: start seconds}, or convert the .boris project (source_format='boris_project')",
            **ctx,
        )
    if (
        not explicit
        and len(lengths) == len(queue)
        and np.isfinite(obs_total)
        and not any(k in given for m in queue for k in _keys(m))
    ):
        if abs(sum(lengths.values()) - obs_total) > 0.5 + 2.0 / (fps if np.isfinite(fps) and fps > 0 else 25.0):
            raise LabelFormatError(
                f"observation {oid!r}: the lengths of its media files do not add up to its total length "
                "(the queue holds files without events); nothing of it was written",
                found=f"{lengths} sum to {sum(lengths.values()):.3f} s, total length {obs_total:.3f} s",
                hint="pass params media_offsets={file: start seconds}, or convert the .boris project",
                **ctx,
            )


def place_queued_media(b: pd.DataFrame, media_offsets: Mapping[str, float] | None, known_length=None) -> pd.DataFrame:
    """Make the times of queued media files relative to their own file.

    BORIS plays the media files of player #1 one after the other and writes observation times
    (running across the queue). For an observation whose events name several media files, the
    queue order comes from the export's multi-media cell (``Source``), else from the order of
    the first event of each file; the start of each file is the sum of the lengths of the files
    before it: from the export's multi-value length cell, else ``known_length(media, fps, ...)``
    (the dataset's media index or tracks). ``media_offsets`` (file → start seconds) wins over
    what is derived. ``total_length`` of each bout becomes the length of its own file (NaN when
    unknown), so a recording's length is its video's, not the observation's.

    Raises
    ------
    LabelFormatError
        The start of a queued file cannot be known, or the events do not fit the files' lengths
        (the observation is refused rather than written with wrong frames).
    """
    if not len(b) or "media_queue" not in b.columns:
        return b
    b = b.reset_index(drop=True)
    given = {str(k): float(v) for k, v in (media_offsets or {}).items()}
    start = b["start_s"].to_numpy(float).copy()
    stop = b["stop_s"].to_numpy(float).copy()
    total = b["total_length"].to_numpy(float).copy()
    for (sf, oid), g in b.groupby(["source_file", "observation_id"], sort=False):
        media = list(dict.fromkeys(m for m in g.sort_values("start_s", kind="stable")["media_file"].astype(str) if m))
        queue, explicit, lengths = _queue_and_lengths(g, media)
        obs_total = float(np.nanmax(total[g.index])) if np.isfinite(total[g.index]).any() else np.nan
        if len(queue) <= 1:
            continue
        fps = float(np.nanmedian(g["fps"].to_numpy(float))) if np.isfinite(g["fps"].to_numpy(float)).any() else np.nan
        for m in queue:
            if m not in lengths and known_length is not None:
                v = known_length(m, fps, observation_id=str(oid), source_file=str(sf))
                if np.isfinite(v) and v > 0:
                    lengths[m] = float(v)
        offsets = _queue_offsets(queue, lengths, given, explicit, obs_total)
        ctx = {"path": sf, "expected": "the start of every queued media file (their lengths)"}
        _check_queue_known(oid, media, queue, offsets, lengths, given, explicit, obs_total, fps, ctx)
        for m in media:
            r = g.index[g["media_file"].astype(str) == m].to_numpy()
            start[r] -= offsets[m]
            stop[r] -= offsets[m]
            total[r] = lengths.get(m, np.nan)
            slack = 1.0 / fps if np.isfinite(fps) and fps > 0 else 0.05
            if m in lengths and ((start[r] < -slack).any() or (stop[r] > lengths[m] + slack).any()):
                raise LabelFormatError(
                    f"observation {oid!r}: events of {m!r} fall outside that file once the queue is placed; nothing of it was written",
                    found=f"start {offsets[m]:.3f} s, length {lengths[m]:.3f} s, events {start[r].min():.3f}..{stop[r].max():.3f} s (file time)",
                    hint="check params media_offsets, or convert the .boris project",
                    **ctx,
                )
    return b.assign(start_s=start, stop_s=stop, total_length=total)


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


def _assign_ids(b: pd.DataFrame, p: Mapping[str, Any], files_arr, issues: list[dict[str, Any]]) -> np.ndarray:
    """Set ``id_a``/``id_b``; return which rows are pair events (with a usable partner)."""
    b["id_a"] = _subject_ids(b["subject"].to_numpy(), p["subject_map"], files_arr)
    pair_set = {str(x) for x in (p["pair_behaviors"] or [])}
    is_pair = b["behavior"].isin(pair_set).to_numpy().copy()
    id_b = np.full(len(b), -1, np.int64)
    known = set(b["subject"].astype(str))
    # resolve partners once per distinct (subject, modifiers, comment)
    cand = b.loc[is_pair, ["subject", "modifiers", "comment"]].astype(str).drop_duplicates()
    partner_of = {}
    for subj, mods, com in cand.itertuples(index=False):
        pt = _partner(mods, subj, known, p["subject_map"])
        partner_of[(subj, mods, com)] = pt if pt is not None else _partner(com, subj, known, p["subject_map"])
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


def _label_vocabulary(ds: DatasetCore, kind: str, b: pd.DataFrame, p: Mapping[str, Any], files_arr) -> dict[str, int]:
    """The behaviour → label id map; refuse behaviours outside a fixed vocabulary."""
    existing = None if p["behaviors"] is not None else get_label_map(ds, kind)
    vocab = build_vocabulary(b["behavior"].astype(str), p["behaviors"], p["background"], existing)
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


def convert_bouts(
    ds: DatasetCore,
    kind: str,
    exports,
    p: Mapping[str, Any],
    issues: list[dict[str, Any]] | None = None,
    matcher: SequenceMatcher | None = None,
) -> ConverterOutput:
    """Shared second half of the BORIS converters: bout tables of parsed exports (media times) → label sets."""
    issues = list(issues or []) + [i for e in exports for i in e.issues]
    tables = [e.bouts for e in exports if len(e.bouts)]
    if not tables:
        return ConverterOutput([], issues)
    b = pd.concat(tables, ignore_index=True)
    if not p["point_events"]:
        b = b[b["type"] != "POINT"].reset_index(drop=True)
    files_arr = b["source_file"].to_numpy()
    matcher = matcher or SequenceMatcher(ds, p["sequence_map"], p["default_group"])
    _assign_sequences(b, matcher, issues)
    is_pair = _assign_ids(b, p, files_arr, issues)
    point, zero = _assign_frames(b, _frame_rates(ds, b, p, files_arr), issues)
    _report_overlaps(b[(~point) & (~zero)], issues)
    vocab = _label_vocabulary(ds, kind, b, p, files_arr)
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
