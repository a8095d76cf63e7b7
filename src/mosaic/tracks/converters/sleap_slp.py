"""SLEAP labels/predictions files (``*.slp``) → ``trex_v1``, read with h5py (no sleap-io).

Long for a reason: one format reader whose layout and mapping rules (below) stay together.

Layout (``format_id`` 1.x): ``metadata`` attrs ``format_id`` and ``json`` (skeletons, global
``nodes`` list); compound datasets ``frames`` (frame_id, video, frame_idx, instance_id_start,
instance_id_end), ``instances`` (instance_id, instance_type 0=user 1=predicted, frame_id,
skeleton, track −1=none, from_predicted, score, point_id_start, point_id_end,
[tracking_score]), ``points`` (user: x, y, visible, complete), ``pred_points`` (+ score),
``tracks_json`` (``[spawned_on, "name"]`` per track) and ``videos_json``.

Rules of the conversion
-----------------------
* **Keypoints**: node k of the skeleton is ``nodes[skeleton.nodes[k].id].name`` (the
  skeleton lists indices into the global node list; its order is the order of each
  instance's points). Node k → ``poseX<k>``/``poseY<k>``/``poseP<k>``; ``P`` is the point
  score for predicted points and 1.0 for visible user points. Invisible points (and points
  with a NaN coordinate) are NaN in X, Y and P. ``X``/``Y`` = NaN-mean of the keypoints.
  Files older than ``format_id`` 1.1 used the pixel-corner convention: their coordinates are
  shifted by −0.5 px, as SLEAP/sleap-io do on reading.
* **Rows**: one per (frame, id), ``frame`` = the video's frame index (``frame_idx``); frames
  without instances have no rows (the table is sparse, not padded).
* **Ids**: tracked instances get the track's index in ``tracks_json`` (names in
  ``meta['individual_names']``, every track listed even when unused). Untracked instances
  (track −1), per ``untracked``: ``'order'`` (default) ids ``n_tracks + r`` for the r-th
  untracked instance of the frame in file order (named ``untracked<r>``; a per-frame rank,
  *not* an identity), ``'drop'``, or ``'error'`` (reject the file).
* **User vs predicted**: ``instances='all'`` (default), ``'user'`` or ``'predicted'``. With
  both, ``prefer='user'`` (default) drops a predicted instance that a user instance of the
  same frame was made from (``from_predicted``) or that has the same track in that frame;
  ``prefer='predicted'`` drops such user instances instead (SLEAP's "unused predictions" rule).
* **Duplicates**: two remaining instances with the same (frame, id): ``duplicates='best'``
  (default) keeps the higher instance score (user instances count as best), ``'error'`` rejects.
* **Videos**: rows of one video. ``video=<index>`` picks one; a one-video file needs nothing;
  a many-video file converted as one recording without ``video`` is rejected. Indexed with
  ``multi_sequences_per_file=True`` (sequence ``""``), every video with instances becomes a
  recording named by its video file stem.
* **Skeletons**: one per recording; files with several need ``skeleton=<index>``.
* ``fps`` is not in ``.slp`` files: it comes from params (dataset meta ``fps_default`` fills in).

Extra columns: ``instance_score`` (NaN for user instances), ``tracking_score`` (format ≥1.2),
``user_instance`` (bool).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mosaic.core.errors import ConfigError, TrackFormatError
from mosaic.core.params import Param

from ..table import (
    CALIBRATION_PARAMETERS,
    TrackTable,
    base_meta,
    build_table,
    calibration,
    nan_centroid,
    pose_columns,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

USER, PREDICTED = 0, 1
INSTANCE_MODES = ("all", "user", "predicted")
PREFER_MODES = ("user", "predicted")
UNTRACKED_MODES = ("order", "drop", "error")
DUPLICATE_MODES = ("best", "error")
PARAMETERS: dict[str, Param] = {
    **CALIBRATION_PARAMETERS,
    "instances": Param("all", "Which instances: `'all'`, `'user'` (hand-labelled) or `'predicted'`."),
    "prefer": Param(
        "user",
        "With both kinds, which one wins where a user instance was made from a prediction (or shares "
        "its track in the frame): `'user'` or `'predicted'`.",
    ),
    "untracked": Param(
        "order",
        "Untracked instances: `'order'` (ids after the tracks, by rank in the frame -- not an "
        "identity), `'drop'` or `'error'`.",
    ),
    "duplicates": Param(
        "best", "Two instances with the same (frame, id): `'best'` keeps the higher score, `'error'` refuses."
    ),
    "video": Param(
        None,
        "Index of the video to convert in a many-video file (or index the file with "
        "`multi_sequences_per_file=True`: one recording per video).",
    ),
    "skeleton": Param(None, "Index of the skeleton in a file with several."),
}
#: ``format_id`` range whose pose tables (frames/instances/points/pred_points) this reader knows;
#: versions 1.x–2.x only add tables (ROIs, masks, identities) beside them, 3.0 is columnar
KNOWN_FORMAT_IDS = (1.0, 3.0)
_REQUIRED = ("metadata", "frames", "instances")
_FRAME_FIELDS = ("video", "frame_idx", "instance_id_start", "instance_id_end")
_INST_FIELDS = (
    "instance_id",
    "instance_type",
    "skeleton",
    "track",
    "from_predicted",
    "score",
    "point_id_start",
    "point_id_end",
)


@dataclass
class SlpContent:
    """The arrays and metadata of one ``.slp`` file (what the conversion needs)."""

    path: Path
    format_id: float
    skeletons: list[tuple[list[str], list[tuple[str, str]]]]  # (node names, edges as name pairs)
    track_names: list[str]
    video_files: list[str]
    frames: np.ndarray
    instances: np.ndarray
    points: np.ndarray | None
    pred_points: np.ndarray | None
    extra: dict[str, Any] = field(default_factory=dict)


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return _text(v.item() if v.size == 1 else v.tobytes())
    return str(v)


def _json_list(ds: Any, what: str, ctx: dict) -> list[Any]:
    out = []
    for v in np.asarray(ds[()]).ravel():
        try:
            out.append(json.loads(_text(v)))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrackFormatError(
                f"SLEAP '{what}' holds invalid JSON", expected="one JSON document per entry", found=_text(v)[:80], **ctx
            ) from exc
    return out


def _edge_type(link: Mapping[str, Any], seen: dict[int, int]) -> int | None:
    """Edge type (1 body, 2 symmetry) of a jsonpickle'd skeleton link (py/reduce, then py/id refs)."""
    t = link.get("type")
    if not isinstance(t, Mapping):
        return None
    if "py/reduce" in t:
        try:
            value = int(t["py/reduce"][1]["py/tuple"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            return None
        seen[len(seen) + 1] = value
        return value
    if "py/id" in t:
        ref = t["py/id"]
        return seen.get(ref, ref) if isinstance(ref, int) else None
    return None


def parse_skeletons(meta: Mapping[str, Any], ctx: dict) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """``[(node names in point order, body edges as name pairs)]`` of every skeleton in the metadata JSON.

    Skeleton nodes are ``{"id": i}`` indices into the global ``nodes`` list (SLEAP ≥1.0); an
    inline jsonpickle'd node (``{"id": {"py/state": ...}}``) is read by its name too.
    """
    try:
        global_names = [str(n["name"]) if isinstance(n, Mapping) else str(n) for n in meta.get("nodes", [])]
        skeletons = meta["skeletons"]
    except (KeyError, TypeError) as exc:
        raise TrackFormatError(
            "SLEAP metadata JSON lacks skeletons/nodes",
            expected="keys 'skeletons' and 'nodes'",
            found=sorted(meta)[:10] if isinstance(meta, Mapping) else type(meta).__name__,
            **ctx,
        ) from exc
    out = []
    for s, skel in enumerate(skeletons):
        ids: list[Any] = []
        names: list[str] = []
        try:
            for node in skel["nodes"]:
                nid = node["id"] if isinstance(node, Mapping) else node
                if isinstance(nid, (int, np.integer)) and not isinstance(nid, bool):
                    names.append(global_names[int(nid)])
                elif isinstance(nid, Mapping) and "py/state" in nid:
                    st = nid["py/state"]
                    names.append(str(st["py/tuple"][0] if isinstance(st, Mapping) and "py/tuple" in st else st["name"]))
                else:
                    raise TypeError(f"unsupported node reference {nid!r}")
                ids.append(nid if not isinstance(nid, Mapping) else len(ids))
        except (KeyError, IndexError, TypeError) as exc:
            raise TrackFormatError(
                f"SLEAP skeleton {s} has unreadable nodes",
                expected="nodes [{'id': <index into metadata nodes>}]",
                found=str(exc)[:120],
                **ctx,
            ) from exc
        edges: list[tuple[str, str]] = []
        seen: dict[int, int] = {}
        for link in skel.get("links", []) if isinstance(skel, Mapping) else []:
            if not isinstance(link, Mapping):
                continue
            kind = _edge_type(link, seen)
            src, dst = link.get("source"), link.get("target")
            if kind == 1 and src in ids and dst in ids:
                edges.append((names[ids.index(src)], names[ids.index(dst)]))
        out.append((names, edges))
    return out


def _slp_metadata(f: Any, ctx: dict[str, Any]) -> tuple[Any, float]:
    """Return (parsed metadata JSON, format id) of an open ``.slp`` file; reject unknown versions."""
    attrs = f["metadata"].attrs
    if "json" not in attrs:
        raise TrackFormatError(
            "SLEAP metadata has no 'json' attribute",
            expected="metadata attrs format_id, json",
            found=sorted(attrs.keys()),
            **ctx,
        )
    try:
        meta = json.loads(_text(attrs["json"]))
    except json.JSONDecodeError as exc:
        raise TrackFormatError("SLEAP metadata 'json' is not valid JSON", found=str(exc), **ctx) from exc
    format_id = float(np.asarray(attrs.get("format_id", 1.0)).ravel()[0])
    if not KNOWN_FORMAT_IDS[0] <= format_id < KNOWN_FORMAT_IDS[1]:
        raise TrackFormatError(
            "SLEAP .slp format version not known to this reader",
            found=f"format_id {format_id:g}",
            expected=f"format_id {KNOWN_FORMAT_IDS[0]:g} <= id < {KNOWN_FORMAT_IDS[1]:g} (per-instance pose tables)",
            hint="re-save the project with a SLEAP/sleap-io version that writes the classic layout",
            **ctx,
        )
    return meta, format_id


def _check_fields(frames: np.ndarray, instances: np.ndarray, ctx: dict[str, Any]) -> None:
    """Reject ``frames``/``instances`` tables lacking a field this reader uses."""
    for name, arr, need in (("frames", frames, _FRAME_FIELDS), ("instances", instances, _INST_FIELDS)):
        have = arr.dtype.names or ()
        lack = [c for c in need if c not in have]
        if lack:
            raise TrackFormatError(
                f"SLEAP '{name}' lacks fields",
                expected=list(need),
                found=f"missing {lack}; has {list(have)}",
                **ctx,
            )


def _track_names(tracks: list[Any]) -> list[str]:
    """Return the name of each track entry (``[spawned, name]`` list, ``{'name': ...}`` or a plain value)."""
    track_names = []
    for t in tracks:
        if isinstance(t, list) and len(t) >= 2:
            track_names.append(str(t[1]))
        elif isinstance(t, Mapping) and "name" in t:
            track_names.append(str(t["name"]))
        else:
            track_names.append(str(t))
    return track_names


def _video_files(videos: list[Any]) -> list[str]:
    """Return the file name of each video entry (backend filename, else its own, else '')."""
    video_files = []
    for v in videos:
        backend = v.get("backend", {}) if isinstance(v, Mapping) else {}
        fname = backend.get("filename") if isinstance(backend, Mapping) else None
        video_files.append(
            str(fname if fname is not None else (v.get("filename", "") if isinstance(v, Mapping) else ""))
        )
    return video_files


@contextlib.contextmanager
def open_sleap_hdf5(path: Path, problem: str, expected: str, ctx: Mapping[str, Any]) -> Iterator[Any]:
    """Open a SLEAP HDF5 file (``.slp`` or analysis) with h5py; a low-level read error becomes a
    :class:`TrackFormatError` saying ``problem`` and ``expected`` (errors the reader raises pass as they are)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            yield f
    except TrackFormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise TrackFormatError(problem, expected=expected, found=f"{type(exc).__name__}: {exc}", **ctx) from exc


def read_slp(path: str | Path) -> SlpContent:
    """Read the arrays and metadata of a SLEAP ``.slp`` file (raises :class:`TrackFormatError`)."""
    path = Path(path)
    ctx: dict[str, Any] = {"path": path}
    with open_sleap_hdf5(path, "not a readable SLEAP .slp file", "HDF5 labels file written by SLEAP", ctx) as f:
        missing = [k for k in _REQUIRED if k not in f]
        if missing:
            raise TrackFormatError(
                "not a SLEAP .slp file: datasets missing",
                expected=list(_REQUIRED),
                found=f"missing {missing}; has {sorted(f.keys())}",
                **ctx,
            )
        meta, format_id = _slp_metadata(f, ctx)
        frames, instances = f["frames"][()], f["instances"][()]
        _check_fields(frames, instances, ctx)
        points = f["points"][()] if "points" in f else None
        pred_points = f["pred_points"][()] if "pred_points" in f else None
        if "tracks_json" in f:
            tracks = _json_list(f["tracks_json"], "tracks_json", ctx)
        else:
            tracks = list(meta.get("tracks", []))
        videos = (
            _json_list(f["videos_json"], "videos_json", ctx) if "videos_json" in f else list(meta.get("videos", []))
        )
    return SlpContent(
        path,
        format_id,
        parse_skeletons(meta, ctx),
        _track_names(tracks),
        _video_files(videos),
        frames,
        instances,
        points,
        pred_points,
        extra={"sleap_version": meta.get("version")} if isinstance(meta, Mapping) else {},
    )


def _choice(params: Mapping[str, Any], name: str, allowed: Sequence[str], path: Path) -> str:
    v = params.get(name, allowed[0])
    if v not in allowed:
        raise ConfigError(
            f"parameter {name!r} is not valid for sleap_slp", path=path, expected=list(allowed), found=repr(v)
        )
    return str(v)


def _opt_index(params: Mapping[str, Any], name: str, n: int, path: Path) -> int | None:
    v = params.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= int(v) < n:
        raise ConfigError(
            f"parameter {name!r} is not a valid index", path=path, expected=f"integer in [0, {n})", found=repr(v)
        )
    return int(v)


def _instance_rows(c: SlpContent, ctx: dict) -> tuple[np.ndarray, np.ndarray]:
    """(instance index, frame row) of every instance listed by a frame, vectorized over frames."""
    fr = c.frames
    start = fr["instance_id_start"].astype(np.int64)
    end = fr["instance_id_end"].astype(np.int64)
    n_inst = len(c.instances)
    bad = (end < start) | (start < 0) | (end > n_inst)
    if bad.any():
        i = int(np.argmax(bad))
        raise TrackFormatError(
            "SLEAP frames reference instances out of range",
            expected=f"0 <= instance_id_start <= instance_id_end <= {n_inst}",
            found=f"frame row {i}: [{start[i]}, {end[i]})",
            **ctx,
        )
    lens = end - start
    total = int(lens.sum())
    offsets = np.cumsum(lens) - lens
    inst = np.repeat(start - offsets, lens) + np.arange(total, dtype=np.int64)
    rows = np.repeat(np.arange(len(fr), dtype=np.int64), lens)
    nonempty = lens > 0
    s_, e_ = start[nonempty], end[nonempty]
    o = np.argsort(s_, kind="stable")
    if len(o) > 1 and (s_[o][1:] < e_[o][:-1]).any():
        raise TrackFormatError(
            "SLEAP frames share instances (overlapping instance ranges)",
            expected="disjoint instance ranges",
            found=f"{int((s_[o][1:] < e_[o][:-1]).sum())} overlap(s)",
            **ctx,
        )
    return inst, rows


def check_instances(c: SlpContent, ctx: dict) -> None:
    """Validate every instance (vectorized): skeleton, type and point range against its points table."""
    ins = c.instances
    if not len(ins):
        return
    skel = ins["skeleton"].astype(np.int64)
    if (skel >= len(c.skeletons)).any():
        raise TrackFormatError(
            "SLEAP instances reference a missing skeleton",
            expected=f"skeleton < {len(c.skeletons)}",
            found=int(skel.max()),
            **ctx,
        )
    typ = ins["instance_type"].astype(np.int64)
    if not np.isin(typ, (USER, PREDICTED)).all():
        raise TrackFormatError(
            "SLEAP instances have an unknown instance_type",
            expected="0 (user) or 1 (predicted)",
            found=sorted(set(typ.tolist()) - {USER, PREDICTED}),
            **ctx,
        )
    ps = ins["point_id_start"].astype(np.int64)
    pe = ins["point_id_end"].astype(np.int64)
    n_nodes = np.array([len(s[0]) for s in c.skeletons], dtype=np.int64)[skel]
    wrong = (pe - ps) != n_nodes
    if wrong.any():
        i = int(np.argmax(wrong))
        raise TrackFormatError(
            "SLEAP instance point ranges do not match the skeleton",
            expected=f"{n_nodes[i]} points per instance",
            found=f"instance {i}: [{ps[i]}, {pe[i]}) = {pe[i] - ps[i]} points",
            **ctx,
        )
    for kind, table, name in ((USER, c.points, "points"), (PREDICTED, c.pred_points, "pred_points")):
        sel = typ == kind
        if not sel.any():
            continue
        if table is None:
            raise TrackFormatError(
                f"SLEAP '{name}' dataset is missing",
                expected=f"'{name}' for {int(sel.sum())} instance(s)",
                found=None,
                **ctx,
            )
        out = sel & ((ps < 0) | (pe > len(table)))
        if out.any():
            i = int(np.argmax(out))
            raise TrackFormatError(
                f"SLEAP instance point ranges exceed '{name}'",
                expected=f"point ids in [0, {len(table)}]",
                found=f"instance {i}: [{ps[i]}, {pe[i]})",
                **ctx,
            )


def _gather_points(
    c: SlpContent, inst: np.ndarray, is_user: np.ndarray, n_nodes: int, ctx: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, p) arrays (n, n_nodes) of the instances, NaN where a point is invisible or missing.

    Point ranges were validated by :func:`check_instances`; each field is gathered on its own
    (no copy of whole point records).
    """
    ps = c.instances["point_id_start"][inst].astype(np.int64)
    n = len(inst)
    k = np.arange(n_nodes, dtype=np.int64)
    out = None
    for user, table, name in ((True, c.points, "points"), (False, c.pred_points, "pred_points")):
        sel = is_user if user else ~is_user
        if not sel.any():
            continue
        need = ("x", "y", "visible") if user else ("x", "y", "visible", "score")
        if table is None or any(f not in (table.dtype.names or ()) for f in need):
            raise TrackFormatError(
                f"SLEAP '{name}' dataset is missing or lacks fields",
                expected=list(need),
                found=None if table is None else list(table.dtype.names or ()),
                **ctx,
            )
        every = bool(sel.all())
        idx = (ps if every else ps[sel])[:, None] + k
        px = table["x"][idx].astype(np.float64, copy=False)
        py = table["y"][idx].astype(np.float64, copy=False)
        pp = np.ones(px.shape) if user else table["score"][idx].astype(np.float64, copy=False)
        gone = (
            ~table["visible"][idx].astype(bool, copy=False) | np.isnan(px) | np.isnan(py) | np.isinf(px) | np.isinf(py)
        )
        if gone.any():
            px[gone] = np.nan
            py[gone] = np.nan
            pp[gone] = np.nan
        if every:
            out = (px, py, pp)
            break
        if out is None:
            out = (np.full((n, n_nodes), np.nan), np.full((n, n_nodes), np.nan), np.full((n, n_nodes), np.nan))
        out[0][sel], out[1][sel], out[2][sel] = px, py, pp
    x, y, p = out if out is not None else (np.full((n, n_nodes), np.nan),) * 3
    if c.format_id < 1.1:  # legacy pixel-corner convention (SLEAP shifts on read)
        x = x - 0.5
        y = y - 0.5
    return x, y, p


def _resolve_user_predicted(inst_recs: np.ndarray, frame: np.ndarray, prefer: str, n_tracks: int) -> np.ndarray:
    """Keep-mask over instances: drop the non-preferred twin of a (user, predicted) pair."""
    is_user = inst_recs["instance_type"] == USER
    track = inst_recs["track"].astype(np.int64)
    if not is_user.any() or is_user.all():
        return np.ones(len(inst_recs), dtype=bool)
    key = frame * (n_tracks + 1) + track  # (frame, track) code; untracked never pair by track
    tracked = track >= 0
    from_pred = inst_recs["from_predicted"].astype(np.int64)
    ids = inst_recs["instance_id"].astype(np.int64)
    keep = np.ones(len(inst_recs), dtype=bool)
    if prefer == "user":
        ref = from_pred[is_user & (from_pred >= 0)]
        shadow = ~is_user & (np.isin(ids, ref) | (tracked & np.isin(key, key[is_user & tracked])))
        keep &= ~shadow
    else:
        pred_ids = ids[~is_user]
        shadow = is_user & (
            (from_pred >= 0) & np.isin(from_pred, pred_ids) | (tracked & np.isin(key, key[~is_user & tracked]))
        )
        keep &= ~shadow
    return keep


def _per_frame_rank(frame: np.ndarray) -> np.ndarray:
    """Rank of each element among the elements with the same frame, in array order (stable)."""
    order = np.argsort(frame, kind="stable")
    f = frame[order]
    starts = np.r_[0, np.flatnonzero(np.diff(f)) + 1] if len(f) else np.zeros(0, dtype=np.int64)
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(f)]))
    rank = np.empty(len(frame), dtype=np.int64)
    rank[order] = np.arange(len(f)) - group_start
    return rank


def assign_ids(
    frame: np.ndarray,
    track: np.ndarray,
    score: np.ndarray,
    n_tracks: int,
    *,
    untracked: str,
    duplicates: str,
    ctx: dict,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Ids per instance and the sorted row order (untracked/duplicate policies); shared with ``sleap_csv``.

    Returns ``(ids, order, counts)``: ``order`` indexes the kept instances sorted by (frame, id).
    """
    counts = {"untracked_dropped": 0, "duplicates_dropped": 0}
    keep = np.ones(len(frame), dtype=bool)
    untr = track < 0
    if untr.any():
        if untracked == "error":
            raise TrackFormatError(
                "SLEAP file has untracked instances",
                expected="every instance assigned to a track (untracked='error')",
                found=f"{int(untr.sum())} untracked instance(s), first at frame {int(frame[untr][0])}",
                hint="run SLEAP tracking, or pass untracked='order' or 'drop'",
                **ctx,
            )
        if untracked == "drop":
            keep &= ~untr
            counts["untracked_dropped"] = int(untr.sum())
    ids = track.astype(np.int64).copy()
    if untracked == "order" and untr.any():
        ids[untr] = n_tracks + _per_frame_rank(frame[untr])
    cand = np.flatnonzero(keep)
    rank_score = np.where(np.isnan(score[cand]), -np.inf, score[cand])
    order = cand[np.lexsort((-rank_score, ids[cand], frame[cand]))]
    if len(order) > 1:
        dup = np.r_[False, (frame[order][1:] == frame[order][:-1]) & (ids[order][1:] == ids[order][:-1])]
        if dup.any():
            j = int(np.argmax(dup))
            if duplicates == "error":
                raise TrackFormatError(
                    "two instances share a (frame, track)",
                    expected="at most one instance per track and frame (duplicates='error')",
                    found=f"{int(dup.sum())} duplicate(s), first frame {int(frame[order][j])} id {int(ids[order][j])}",
                    hint="pass duplicates='best' to keep the higher-scoring instance",
                    **ctx,
                )
            counts["duplicates_dropped"] = int(dup.sum())
            order = order[~dup]
    return ids, order, counts


def _video_stems(files: list[str]) -> list[str]:
    stems = [Path(f.replace("\\", "/")).stem or f"video{i}" for i, f in enumerate(files)]
    return [s if stems.count(s) == 1 else f"{s}_video{i}" for i, s in enumerate(stems)]


def convert_slp(paths: Sequence[Path], params: Mapping[str, Any], *, group: str, sequence: str) -> list[TrackTable]:
    """Convert one SLEAP ``.slp`` file into one recording (or one per video when ``sequence`` is ``""``)."""
    if len(paths) != 1:
        raise ConfigError("a SLEAP .slp conversion takes exactly one file", expected=1, found=len(paths))
    path = Path(paths[0])
    ctx: dict[str, Any] = {"path": path, "group": group, "sequence": sequence or None}
    modes = {
        name: _choice(params, name, allowed, path)
        for name, allowed in (
            ("instances", INSTANCE_MODES),
            ("prefer", PREFER_MODES),
            ("untracked", UNTRACKED_MODES),
            ("duplicates", DUPLICATE_MODES),
        )
    }
    calib = calibration(params, path=path, fps_hint="SLEAP .slp files carry no fps: pass {'fps': <video fps>}")
    c = read_slp(path)
    n_videos = max(len(c.video_files), int(c.frames["video"].max()) + 1 if len(c.frames) else 0)
    video = _opt_index(params, "video", max(n_videos, 1), path)
    if video is not None:
        videos = [video]
    elif n_videos <= 1:
        videos = [0]
    elif sequence == "":
        videos = list(range(n_videos))
    else:
        raise TrackFormatError(
            "SLEAP file holds several videos",
            expected="one video per recording",
            found=f"{n_videos} videos: {c.video_files}",
            hint="pass {'video': <index>} or index the file with multi_sequences_per_file=True (one recording per video)",
            **ctx,
        )
    names = _video_stems(c.video_files + [f"video{i}" for i in range(len(c.video_files), n_videos)])
    check_instances(c, ctx)
    inst_all, rows_all = _instance_rows(c, ctx)
    out = []
    for v in videos:
        seq = sequence if sequence != "" else names[v]
        table = _convert_video(
            c, inst_all, rows_all, v, params, modes, calib, group=group, sequence=seq, allow_empty=len(videos) > 1
        )
        if table is not None:
            out.append(table)
    if not out:
        raise TrackFormatError(
            "SLEAP file has no instances in any video", expected="at least one instance", found=0, **ctx
        )
    return out


def _video_instances(
    c: SlpContent, inst_all: np.ndarray, rows_all: np.ndarray, v: int, instances: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (instance indices, frame rows, instance records, instance types) of video ``v``."""
    in_video = c.frames["video"][rows_all].astype(np.int64) == v
    inst, rows = inst_all[in_video], rows_all[in_video]
    recs = c.instances[inst]
    typ = recs["instance_type"].astype(np.int64)
    if instances != "all":
        want = typ == (USER if instances == "user" else PREDICTED)
        inst, rows, recs, typ = inst[want], rows[want], recs[want], typ[want]
    return inst, rows, recs, typ


def _choose_skeleton(
    c: SlpContent, skel_ids: np.ndarray, params: Mapping[str, Any], ctx: dict[str, Any]
) -> tuple[int, bool]:
    """Return (skeleton index, whether it was asked for in params) of the instances ``skel_ids``."""
    if not len(c.skeletons):
        raise TrackFormatError(
            "SLEAP file has no skeleton", expected="at least one skeleton in metadata", found=0, **ctx
        )
    skel = _opt_index(params, "skeleton", len(c.skeletons), c.path)
    if skel is not None:
        return skel, True
    used = np.unique(skel_ids)
    if len(used) > 1:
        raise TrackFormatError(
            "SLEAP file uses several skeletons",
            expected="one skeleton per recording",
            found=f"skeletons {used.tolist()}",
            hint="pass {'skeleton': <index>}",
            **ctx,
        )
    skel = int(used[0]) if len(used) else 0
    if not 0 <= skel < len(c.skeletons):
        raise TrackFormatError(
            "SLEAP instances reference a missing skeleton",
            expected=f"index < {len(c.skeletons)}",
            found=skel,
            **ctx,
        )
    return skel, False


def _instance_tracks(recs: np.ndarray, n_tracks: int, ctx: dict[str, Any]) -> np.ndarray:
    """Return the track index of each instance; reject references past the track list."""
    track = recs["track"].astype(np.int64)
    if (track >= n_tracks).any():
        raise TrackFormatError(
            "SLEAP instances reference a missing track",
            expected=f"track < {n_tracks} (tracks_json)",
            found=int(track.max()),
            **ctx,
        )
    return track


def _no_instances(c: SlpContent, v: int, instances: str, allow_empty: bool, ctx: dict[str, Any]) -> None:
    """Log that video ``v`` has no instances when that is allowed, else raise."""
    if allow_empty:
        log.info("%s: video %d has no instances; skipped", c.path.name, v)
        return
    raise TrackFormatError(
        "SLEAP file has no instances to convert",
        expected="at least one instance",
        found=0,
        hint=f"instances={instances!r}",
        **ctx,
    )


def _video_table(
    c: SlpContent,
    inst: np.ndarray,
    recs: np.ndarray,
    frame: np.ndarray,
    ids: np.ndarray,
    is_user: np.ndarray,
    score: np.ndarray,
    n_nodes: int,
    calib: Mapping[str, Any],
    ctx: dict[str, Any],
) -> pd.DataFrame:
    """Build the table of the selected instances (all arrays in output row order)."""
    x, y, p = _gather_points(c, inst, is_user, n_nodes, ctx)
    extra = pose_columns(np.stack([x, y], axis=-1), p)
    extra["instance_score"] = score
    if "tracking_score" in (recs.dtype.names or ()):
        extra["tracking_score"] = recs["tracking_score"].astype(np.float64)
    extra["user_instance"] = is_user
    return build_table(
        frame,
        ids,
        nan_centroid(x),
        nan_centroid(y),
        group=ctx["group"],
        sequence=ctx["sequence"],
        fps=calib["fps"],
        extra=extra,
        sort=False,
    )


def _convert_video(
    c: SlpContent,
    inst_all: np.ndarray,
    rows_all: np.ndarray,
    v: int,
    params: Mapping[str, Any],
    modes: dict[str, str],
    calib: Mapping[str, Any],
    *,
    group: str,
    sequence: str,
    allow_empty: bool,
) -> TrackTable | None:
    ctx: dict[str, Any] = {"path": c.path, "group": group, "sequence": sequence}
    inst, rows, recs, typ = _video_instances(c, inst_all, rows_all, v, modes["instances"])
    skel_ids = recs["skeleton"].astype(np.int64)
    skel, chosen = _choose_skeleton(c, skel_ids, params, ctx)
    if chosen:
        want = skel_ids == skel
        inst, rows, recs, typ = inst[want], rows[want], recs[want], typ[want]
    if not len(inst):
        _no_instances(c, v, modes["instances"], allow_empty, ctx)
        return None
    n_tracks = len(c.track_names)
    track = _instance_tracks(recs, n_tracks, ctx)
    frame = c.frames["frame_idx"][rows].astype(np.int64)
    keep = _resolve_user_predicted(recs, frame, modes["prefer"], n_tracks)
    n_shadowed = int((~keep).sum())
    inst, recs, frame, typ, track = inst[keep], recs[keep], frame[keep], typ[keep], track[keep]
    is_user = typ == USER
    score = np.where(is_user, np.nan, recs["score"].astype(np.float64))
    ids, order, counts = assign_ids(
        frame,
        track,
        np.where(is_user, np.inf, score),
        n_tracks,
        untracked=modes["untracked"],
        duplicates=modes["duplicates"],
        ctx=ctx,
    )
    if not len(order):
        raise TrackFormatError(
            "SLEAP file has no instances left after the untracked/user filters",
            expected="at least one instance",
            found=0,
            **ctx,
        )
    n_nodes = len(c.skeletons[skel][0])
    df = _video_table(
        c, inst[order], recs[order], frame[order], ids[order], is_user[order], score[order], n_nodes, calib, ctx
    )
    for k, val in counts.items():
        if val:
            log.info("%s: %d %s", c.path.name, val, k.replace("_", " "))
    meta = _video_meta(c, v, calib, modes, skel, ids[order], is_user[order], n_shadowed, counts)
    return TrackTable(group, sequence, df, meta)


def _video_meta(
    c: SlpContent,
    v: int,
    calib: Mapping[str, Any],
    modes: dict[str, str],
    skel: int,
    ids: np.ndarray,
    is_user: np.ndarray,
    n_shadowed: int,
    counts: Mapping[str, int],
) -> dict[str, Any]:
    """Return the metadata of video ``v``'s recording (``ids``/``is_user`` per output row)."""
    n_tracks = len(c.track_names)
    node_names, edges = c.skeletons[skel]
    ind_names = {j: name for j, name in enumerate(c.track_names)}
    ind_names.update({int(j): f"untracked{int(j) - n_tracks}" for j in np.unique(ids) if j >= n_tracks})
    return base_meta(
        "sleap_slp",
        [c.path],
        **calib,
        keypoint_names=list(node_names),
        skeleton_edges=[list(e) for e in edges],
        individual_names=ind_names,
        tracked=bool(n_tracks),
        format_id=c.format_id,
        sleap_version=c.extra.get("sleap_version"),
        video_index=v,
        video_path=c.video_files[v] if v < len(c.video_files) else None,
        n_user_instances=int(is_user.sum()),
        n_predicted_instances=int((~is_user).sum()),
        instances=modes["instances"],
        prefer=modes["prefer"],
        untracked=modes["untracked"],
        shadowed_dropped=n_shadowed,
        **counts,
        position="centroid (nan-mean) of nodes",
        frame="video frame index (frame_idx); frames without instances have no rows",
    )
