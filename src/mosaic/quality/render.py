"""Render a clip of a recording's video with its tracks drawn on it (mp4 via OpenCV).

Each individual gets a stable colour (the same palette as the quality plots, by its position
among the recording's ids); the body centre is a filled dot with the id, keypoints small dots
(joined by the skeleton edges when given); points flagged as jumps get a red ring, identity
swaps a black star frame banner, interpolated points a hollow ring. A caption (behaviour
labels or model predictions per frame) is written at the bottom.

Codec: the first of ``avc1`` (H.264), ``vp09`` (VP9 in MP4) and ``mp4v`` (MPEG-4 part 2)
that the installed OpenCV can write. The pip wheels of ``opencv-python-headless`` ship no
H.264 encoder, so they write VP9, which current Chrome, Firefox, Edge and Safari play;
``mp4v`` is the last resort (plays in VLC, not in browsers).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import ConfigError, MediaError

from .arrays import table_to_arrays
from .plots import id_colors

FOURCC_PREFERENCE: tuple[str, ...] = ("avc1", "vp09", "mp4v")


def writable_fourcc(preference: Sequence[str] = FOURCC_PREFERENCE, size: tuple[int, int] = (64, 48)) -> str:
    """The first codec of ``preference`` that OpenCV can open an ``.mp4`` writer with.

    Raises
    ------
    MediaError
        None of them can be written.
    """
    import tempfile

    import cv2

    from mosaic.media.reader import _quiet_opencv

    with tempfile.TemporaryDirectory() as d:
        for cc in preference:
            with _quiet_opencv():
                w = cv2.VideoWriter(os.path.join(d, f"probe_{cc}.mp4"), cv2.VideoWriter_fourcc(*cc), 10.0, size)
                ok = w.isOpened()
                w.release()
            if ok:
                return cc
    raise MediaError("OpenCV cannot write any mp4 codec", expected=list(preference), found="none opened")


def _bgr(rgba: tuple) -> tuple[int, int, int]:
    return int(255 * rgba[2]), int(255 * rgba[1]), int(255 * rgba[0])


def caption_per_frame(frames: np.ndarray, labels: Mapping[str, Any] | pd.DataFrame | None) -> list[str]:
    """One caption string per frame from a label set (``read_label_npz`` dict) or a table
    with ``frame`` and ``label`` (or ``label_name``/``prediction``) columns."""
    out = [""] * len(frames)
    if labels is None:
        return out
    if isinstance(labels, pd.DataFrame):
        col = next((c for c in ("label_name", "label", "prediction", "behavior") if c in labels.columns), None)
        if "frame" not in labels.columns or col is None:
            raise ConfigError(
                "caption table needs 'frame' and a label column",
                expected=["frame", "label"],
                found=list(labels.columns),
            )
        fr, names, who = labels["frame"].to_numpy(), labels[col].astype(str).to_numpy(), labels.get("id")
        who = who.astype(str).to_numpy() if who is not None else np.full(len(fr), "")
    else:
        ids = np.asarray(labels["label_ids"]).tolist()
        names_map = dict(zip(ids, np.asarray(labels["label_names"]).astype(str).tolist()))
        fr = np.asarray(labels["frames"])
        names = np.array([names_map.get(v, str(v)) for v in np.asarray(labels["labels"]).tolist()], dtype=object)
        iid = np.asarray(labels["individual_ids"]).reshape(len(fr), -1)
        who = (
            np.array(
                [("" if a < 0 else (f"{a}" if b < 0 else f"{a}>{b}")) for a, b in iid[:, :2].tolist()], dtype=object
            )
            if iid.shape[1] >= 2
            else np.full(len(fr), "")
        )
    pos = np.searchsorted(frames, fr)
    ok = (pos < len(frames)) & (frames[np.clip(pos, 0, len(frames) - 1)] == fr)
    parts: dict[int, list[str]] = {}
    for p, n, w in zip(pos[ok].tolist(), names[ok].tolist(), who[ok].tolist()):  # label events of the clip
        parts.setdefault(p, []).append(f"{w}: {n}" if w else n)
    for p, items in parts.items():
        out[p] = "  ".join(sorted(set(items)))
    return out


def _clip_tracks(arr: Any, tracks: pd.DataFrame, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(len(sel), n, P, 2)`` (NaN outside the tracks) and interpolated flags ``(len(sel), n)`` of the clip frames."""
    T, n, P = arr.shape
    fidx = sel - arr.frames[0]
    inside = (fidx >= 0) & (fidx < T)
    pos = np.full((len(sel), n, P, 2), np.nan)
    pos[inside] = arr.pos[fidx[inside]]
    interp = np.zeros((len(sel), n), dtype=bool)
    if "interpolated" in tracks.columns:
        dense = np.zeros((T, n), dtype=bool)
        dense[arr.rows] = tracks["interpolated"].to_numpy(dtype=bool)
        interp[inside] = dense[fidx[inside]]
    return pos, interp


def _event_marks(
    events: pd.DataFrame | None, ids: np.ndarray, n: int, start: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """Jump flags ``(end - start, n)`` per animal and swap flags ``(end - start,)`` of the clip frames."""
    n_sel = end - start
    jump = np.zeros((n_sel, n), dtype=bool)
    swap_frames = np.zeros(n_sel, dtype=bool)
    if events is not None and len(events):
        id_pos = {v: k for k, v in enumerate(ids.tolist())}
        ev = events[(events["frame"] >= start) & (events["frame"] < end)]
        j = ev[ev["kind"] == "jump"]
        jk = np.array([id_pos.get(v, -1) for v in j["id"].tolist()], dtype=np.int64)
        okj = jk >= 0
        jump[j["frame"].to_numpy()[okj] - start, jk[okj]] = True
        swap_frames[ev.loc[ev["kind"] == "swap", "frame"].to_numpy() - start] = True
    return jump, swap_frames


def _write_captions(img: np.ndarray, swap: bool, text: str, H: int) -> None:
    """Outlined text: the swap warning at the top (when ``swap``), ``text`` at the bottom."""
    import cv2

    if swap:
        cv2.putText(img, "identity swap", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, "identity swap", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(img, text, (8, H - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (8, H - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)


def render_clip(
    video_path: str | os.PathLike,
    tracks: pd.DataFrame,
    out_path: str | os.PathLike,
    start_frame: int = 0,
    end_frame: int | None = None,
    events: pd.DataFrame | None = None,
    labels: Any = None,
    skeleton: Sequence[tuple[int, int]] | None = None,
    keypoint_names: list[str] | None = None,
    fps: float | None = None,
    fourcc: str | None = None,
    scale: float = 1.0,
) -> dict[str, Any]:
    """Draw ``tracks`` on frames ``[start_frame, end_frame)`` of a video and write an mp4.

    Parameters
    ----------
    video_path
        The recording's video (frame ``k`` of the video is track frame ``k``).
    tracks
        ``trex_v1`` table (standardized or cleaned; an ``interpolated`` column is marked).
    out_path
        The mp4 to write (atomically).
    start_frame, end_frame
        Frame range (end exclusive; default: the end of the video).
    events
        Quality events (``kind``, ``frame``, ``id``; see :func:`~mosaic.quality.report.quality_report`).
    labels
        Caption source: a label set dict or a table with ``frame`` and a label column.
    skeleton, keypoint_names
        Keypoint index pairs ``(a, b)`` (0-based over the keypoints) to join with lines; the
        names of the keypoints (for the arrays).
    fps, fourcc, scale
        Output frame rate (default: the video's), codec (default: :func:`writable_fourcc`) and
        resize factor.

    Returns
    -------
    dict
        ``{'path', 'fourcc', 'n_frames', 'size'}``.

    Raises
    ------
    MediaError
        The video cannot be opened, or the range holds no frame.
    """
    video_path, out_path = Path(video_path), Path(out_path)
    cap, n_video, vfps, (W, H) = _open_video(video_path)
    try:
        start, end = _clip_range(video_path, start_frame, end_frame, n_video)
        layers, ids = _clip_layers(tracks, keypoint_names, events, labels, start, end)
        cc = fourcc or writable_fourcc()
        size = (max(1, int(round(W * scale))), max(1, int(round(H * scale))))
        frames = _drawn_frames(cap, np.arange(start, end), layers, ids, skeleton, (W, H), size)
        empty = MediaError("no frame could be read in the range", path=video_path, found=(start, end))
        written = _write_mp4(frames, out_path, cc, float(fps or vfps), size, empty)
    finally:
        cap.release()
    return {"path": out_path, "fourcc": cc, "n_frames": written, "size": size}


def _open_video(video_path: Path) -> tuple[Any, int, float, tuple[int, int]]:
    """An opened capture with the video's frame count, frame rate (30 when unknown) and ``(W, H)``."""
    import cv2

    from mosaic.media.reader import _quiet_opencv

    with _quiet_opencv():
        cap = cv2.VideoCapture(str(video_path))
    if not cap.isOpened():
        raise MediaError("cannot open video", path=video_path)
    try:
        n_video = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
        vfps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
        W, H = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    except BaseException:
        cap.release()
        raise
    return cap, n_video, vfps, (W, H)


def _clip_range(video_path: Path, start_frame: int, end_frame: int | None, n_video: int) -> tuple[int, int]:
    """``(start, end)`` of the clip, the end clipped to the video's frame count (``MediaError`` when empty)."""
    end = n_video if end_frame is None else min(int(end_frame), n_video or int(end_frame))
    start = max(0, int(start_frame))
    if end <= start:
        raise MediaError(
            "empty frame range", path=video_path, expected=f"start < end <= {n_video}", found=(start, end_frame)
        )
    return start, end


def _clip_layers(
    tracks: pd.DataFrame,
    keypoint_names: list[str] | None,
    events: pd.DataFrame | None,
    labels: Any,
    start: int,
    end: int,
) -> tuple[tuple, np.ndarray]:
    """What is drawn on the clip frames: ``(positions, interpolated, jumps, swaps, captions)`` and the ids."""
    arr = table_to_arrays(tracks, keypoint_names)
    sel = np.arange(start, end)
    pos, interp = _clip_tracks(arr, tracks, sel)
    jump, swap_frames = _event_marks(events, arr.ids, arr.shape[1], start, end)
    return (pos, interp, jump, swap_frames, caption_per_frame(sel, labels)), arr.ids


def _drawn_frames(
    cap: Any,
    sel: np.ndarray,
    layers: tuple,
    ids: np.ndarray,
    skeleton: Sequence[tuple[int, int]] | None,
    video_size: tuple[int, int],
    size: tuple[int, int],
) -> Iterator[np.ndarray]:
    """Seek ``cap`` to the clip's start, read its frames and yield them drawn on and resized.

    ``layers`` holds per clip frame: positions, interpolated flags, jump flags, swap flags, captions.
    Each individual has its palette colour; the dot radius follows the video size. Stops early
    at the first frame that cannot be read.
    """
    import cv2

    pos, interp, jump, swap_frames, captions = layers
    W, H = video_size
    colors = [_bgr(c) for c in id_colors(pos.shape[1])]
    r = max(2, int(round(0.012 * max(W, H))))
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(sel[0]))
    for k in range(len(sel)):  # one video frame at a time: decoding and drawing are per frame
        ok, img = cap.read()
        if not ok:
            break
        _draw(img, pos[k], colors, ids, interp[k], jump[k], r, skeleton)
        _write_captions(img, bool(swap_frames[k]), f"{int(sel[k])}  {captions[k]}".strip(), H)
        if size != (W, H):
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        yield img


def _write_mp4(
    frames: Iterable[np.ndarray], out_path: Path, cc: str, fps: float, size: tuple[int, int], empty: MediaError
) -> int:
    """Write ``frames`` to ``out_path`` atomically with codec ``cc``; return how many (raise ``empty`` for none)."""
    import cv2

    from mosaic.media.reader import _quiet_opencv

    written = 0
    with atomic_path(out_path) as tmp:
        tmp_mp4 = Path(str(tmp) + ".mp4")  # OpenCV picks the container from the suffix
        with _quiet_opencv():
            writer = cv2.VideoWriter(str(tmp_mp4), cv2.VideoWriter_fourcc(*cc), fps, size)
        if not writer.isOpened():
            raise MediaError(
                "OpenCV cannot write this codec", path=out_path, expected=list(FOURCC_PREFERENCE), found=cc
            )
        try:
            for img in frames:
                writer.write(img)
                written += 1
        except BaseException:
            writer.release()
            tmp_mp4.unlink(missing_ok=True)
            raise
        writer.release()
        if written == 0:
            tmp_mp4.unlink(missing_ok=True)
            raise empty
        os.replace(tmp_mp4, tmp)
    return written


def _draw(
    img: np.ndarray,
    pos: np.ndarray,
    colors: list,
    ids: np.ndarray,
    interp: np.ndarray,
    jump: np.ndarray,
    r: int,
    skeleton: Sequence[tuple[int, int]] | None,
) -> None:
    """Draw one frame's points (``pos``: ``(n, P, 2)``) onto ``img`` in place."""
    import cv2

    n, P = pos.shape[:2]
    for i in range(n):  # individuals of one frame
        col = colors[i]
        if skeleton and P > 1:
            for a, b in skeleton:
                pa, pb = pos[i, 1 + a], pos[i, 1 + b]
                if np.isfinite(pa).all() and np.isfinite(pb).all():
                    cv2.line(img, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), col, 1, cv2.LINE_AA)
        for p in range(1, P):
            if np.isfinite(pos[i, p]).all():
                cv2.circle(img, (int(pos[i, p, 0]), int(pos[i, p, 1])), max(1, r // 2), col, -1, cv2.LINE_AA)
        c = pos[i, 0]
        if not np.isfinite(c).all():
            continue
        xy = (int(c[0]), int(c[1]))
        if interp[i]:  # interpolated: a hollow ring
            cv2.circle(img, xy, r, (255, 255, 255), 3, cv2.LINE_AA)
            cv2.circle(img, xy, r, col, 1, cv2.LINE_AA)
        else:  # detected: a filled dot with a white rim (visible on an animal of the same colour)
            cv2.circle(img, xy, r + 1, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(img, xy, r, col, -1, cv2.LINE_AA)
        if jump[i]:
            cv2.circle(img, xy, 2 * r, (0, 0, 255), 2, cv2.LINE_AA)
        cv2.putText(img, str(ids[i]), (xy[0] + r + 1, xy[1] - r), cv2.FONT_HERSHEY_SIMPLEX, 0.4, col, 1, cv2.LINE_AA)


def render_tracks(
    ds: Any,
    group: str,
    sequence: str,
    out_path: str | os.PathLike | None = None,
    start_frame: int = 0,
    end_frame: int | None = None,
    tracks_source: str = "standardized",
    label_kind: str | None = None,
    mark_quality: bool = True,
    quality_params: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Render a clip of a dataset recording: its video, tracks (standardized or cleaned), the
    quality report's jumps and swaps and, with ``label_kind``, its labels as caption.

    ``out_path`` defaults to ``reporting/clips/<group_safe>__<sequence_safe>__<start>-<end>.mp4``.
    Other keywords go to :func:`render_clip`.
    """
    from mosaic.core.safe_names import sequence_key
    from mosaic.media.index import resolve_media_path
    from mosaic.tracks.io import read_tracks, read_tracks_meta

    from .cleaned import track_paths
    from .report import quality_report

    video = resolve_media_path(ds, group, sequence)
    path = track_paths(ds, tracks_source, [(group, sequence)])[(group, sequence)]
    df, meta = read_tracks(path), read_tracks_meta(path)
    events = quality_report(df, meta, quality_params, path=path).events if mark_quality else None
    labels = None
    if label_kind:
        from mosaic.labels.io import label_file_path, read_label_npz

        labels = read_label_npz(label_file_path(ds, label_kind, group, sequence), group=group, sequence=sequence)
    if out_path is None:
        tail = "end" if end_frame is None else str(int(end_frame))
        out_path = ds.folder / "reporting" / "clips" / f"{sequence_key(group, sequence)}__{int(start_frame)}-{tail}.mp4"
    kwargs.setdefault("keypoint_names", meta.get("keypoint_names"))
    return render_clip(video, df, out_path, start_frame, end_frame, events=events, labels=labels, **kwargs)
