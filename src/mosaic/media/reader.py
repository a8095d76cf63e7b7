"""Decoding frames at given indices, exactly as a sequential decode gives them.

Seeking (``CAP_PROP_POS_FRAMES``) is fast but not exact for every codec/container: OpenCV
seeks to a key frame and decodes forward by timestamp, which can land one frame off (B-frames,
non-zero start times, variable frame rate). :func:`seek_is_exact` checks it once per video
file (seek to a probe index, compare with a sequential decode of the same index; the answer
is cached per file identity), and :func:`iter_frames` uses seeks only where they are exact,
otherwise a single sequential ``grab()`` pass that ``retrieve()``\\ s only the wanted frames.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import VideoReadError
from .probe import open_capture

#: Index probed by :func:`seek_is_exact` (clipped to the video): not a multiple of usual GOP sizes.
SEEK_PROBE_INDEX = 37
#: When the next wanted frame is at most this many frames ahead, grab forward instead of seeking.
FORWARD_GRAB_LIMIT = 24

_SEEK_CACHE: dict[tuple[str, int, int], bool] = {}
_SEEK_LOCK = threading.Lock()

#: Decoder pixel formats (``CAP_PROP_CODEC_PIXEL_FORMAT`` fourcc) whose first plane is luma:
#: with ``CAP_PROP_CONVERT_RGB`` off OpenCV then returns that plane, a grayscale frame for
#: free (no YUV→BGR conversion). Other formats are converted to BGR, then to gray.
LUMA_FIRST_FORMATS = frozenset(
    {"I420", "IYUV", "YV12", "J420", "Y42B", "422P", "J422", "444P", "J444", "Y800", "GREY", "NV12", "NV21", "Y41B"}
)
_LOG_LOCK = threading.Lock()
_QUIET_COUNT = [0, None]


@contextlib.contextmanager
def _quiet_opencv():
    """Silence OpenCV's per-frame 'unsupported picture format' warnings of raw luma reads.

    OpenCV's log level is process-wide: it is lowered while at least one raw read runs and
    restored afterwards.
    """
    from cv2.utils import logging as cvlog

    with _LOG_LOCK:
        if _QUIET_COUNT[0] == 0:
            _QUIET_COUNT[1] = cvlog.getLogLevel()
            cvlog.setLogLevel(cvlog.LOG_LEVEL_ERROR)
        _QUIET_COUNT[0] += 1
    try:
        yield
    finally:
        with _LOG_LOCK:
            _QUIET_COUNT[0] -= 1
            if _QUIET_COUNT[0] == 0:
                cvlog.setLogLevel(_QUIET_COUNT[1])


def _pixel_format(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_CODEC_PIXEL_FORMAT) or 0)
    return code.to_bytes(4, "little").decode("latin-1") if code > 0 else ""


def _identity(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _grab_to(cap: cv2.VideoCapture, pos: int, target: int, path: Path) -> int:
    """Grab frames from ``pos`` until the next grab returns frame ``target``; return new pos."""
    while pos <= target:
        if not cap.grab():
            raise VideoReadError(
                "video ended before the requested frame (truncated?)",
                path=path,
                expected=f"frame {target}",
                found=f"only {pos} frames decode",
            )
        pos += 1
    return pos


def seek_is_exact(path: str | os.PathLike, n_frames: int, probe_index: int | None = None) -> bool:
    """True when seeking to a frame gives the same pixels as decoding up to it sequentially.

    Checked once per file identity (path, size, mtime) and cached for the process.
    """
    path = Path(path)
    key = _identity(path)
    with _SEEK_LOCK:
        if key in _SEEK_CACHE:
            return _SEEK_CACHE[key]
    t = min(n_frames - 1, SEEK_PROBE_INDEX if probe_index is None else probe_index)
    if t <= 0:
        exact = True
    else:
        cap = open_capture(path)
        try:
            _grab_to(cap, 0, t - 1, path)
            ok, seq = cap.read()
        finally:
            cap.release()
        cap = open_capture(path)
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, t)
            ok2, sk = cap.read()
        finally:
            cap.release()
        exact = bool(ok and ok2 and seq.shape == sk.shape and np.array_equal(seq, sk))
    with _SEEK_LOCK:
        _SEEK_CACHE[key] = exact
    return exact


def _luma_mode(cap: Any, luma: bool) -> tuple[bool, Any]:
    """Switch ``cap`` to raw luma output when its pixel format has luma first: ``(raw_luma, quiet context)``."""
    if luma and _pixel_format(cap) in LUMA_FIRST_FORMATS:
        return bool(cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)), _quiet_opencv()
    return False, contextlib.nullcontext()


def _as_luma(frame: np.ndarray, raw_luma: bool, path: Path) -> np.ndarray:
    """The grayscale frame: the decoder's luma plane as is, or BGR converted to gray."""
    if not raw_luma or frame.ndim != 2:
        if raw_luma:  # the decoder did not hand back a luma plane after all
            raise VideoReadError("raw luma read returned an unexpected frame layout", path=path, found=frame.shape)
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return frame


def _retrieve(cap: cv2.VideoCapture, index: int, path: Path, luma: bool, raw_luma: bool) -> np.ndarray:
    """Decode the frame just grabbed (frame ``index``): BGR, or grayscale when ``luma``."""
    ok, frame = cap.retrieve()
    if not ok or frame is None:
        raise VideoReadError(
            "a frame could not be decoded", path=path, expected=f"frame {index}", found="decode failure"
        )
    return _as_luma(frame, raw_luma, path) if luma else frame


def iter_frames(
    path: str | os.PathLike,
    indices: Sequence[int],
    *,
    seek: bool,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    luma: bool = False,
    threads: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(index, frame)`` (BGR uint8, after ``transform``) for sorted distinct ``indices``.

    Parameters
    ----------
    path
        The video file.
    indices
        Frame indices within this file, strictly increasing.
    seek
        Seek to far-away frames (only pass True when :func:`seek_is_exact` said so); nearby
        frames are always reached by grabbing forward. With False, one sequential pass
        grabs every frame up to the last index and decodes to BGR only the wanted ones.
    transform
        Applied to each decoded frame before it is yielded (e.g. crop + thumbnail).
    luma
        Yield grayscale (2-D) frames: the decoder's luma plane when its pixel format has one
        first (:data:`LUMA_FIRST_FORMATS`, no colour conversion at all), else BGR → gray.
        For thumbnails; luma is video-range Y, not exactly ``cvtColor(BGR2GRAY)``.
    threads
        Decoder threads (None: OpenCV's default); see :func:`mosaic.media.probe.open_capture`.

    Raises
    ------
    VideoReadError
        The file cannot be opened or a wanted frame cannot be decoded.
    """
    path = Path(path)
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size == 0:
        return
    if np.any(np.diff(idx) <= 0) or idx[0] < 0:
        raise ValueError("indices must be non-negative and strictly increasing")
    cap = open_capture(path, threads)
    raw_luma, quiet = _luma_mode(cap, luma)
    try:
        with quiet:
            pos = 0  # index of the frame the next grab() returns
            for i in idx.tolist():
                if seek and (i < pos or i - pos > FORWARD_GRAB_LIMIT):
                    cap.set(cv2.CAP_PROP_POS_FRAMES, i)
                    pos = i
                pos = _grab_to(cap, pos, i, path)
                frame = _retrieve(cap, i, path, luma, raw_luma)
                yield i, (transform(frame) if transform is not None else frame)
    finally:
        cap.release()
