"""Decoding the frames of a recording: crops, thumbnails, exact reads, parallel pieces.

Every read goes through :func:`mosaic.media.reader.iter_frames`, which seeks only where
:func:`~mosaic.media.reader.seek_is_exact` holds, so a saved frame always equals the frame a
sequential decode gives at that index.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from .plan import SequenceJob, VideoSource
from .reader import iter_frames, seek_is_exact


def video_read_mode(video: VideoSource) -> str:
    """``'seek'`` when seeking in this video is exact, else ``'sequential'``."""
    return "seek" if seek_is_exact(video.path, video.n_frames) else "sequential"


def apply_crop(frame: np.ndarray, crop: tuple[int, int, int, int] | None) -> np.ndarray:
    """The ``(x, y, w, h)`` region of ``frame`` (the frame itself when ``crop`` is None)."""
    if crop is None:
        return frame
    x, y, w, h = crop
    return frame[y : y + h, x : x + w]


def thumbnail(frame: np.ndarray, crop, size: tuple[int, int], grayscale: bool) -> np.ndarray:
    """Crop, shrink to ``size`` (w, h), optionally grayscale; flattened float32 in [0, 1].

    The frame is first subsampled by an integer stride (half the shrink factor per axis),
    then area-averaged to ``size`` — about 5x cheaper than area-averaging the full frame
    and visually equivalent at thumbnail size.
    """
    frame = apply_crop(frame, crop)
    fh, fw = frame.shape[:2]
    sy, sx = max(1, fh // size[1] // 2), max(1, fw // size[0] // 2)
    small = cv2.resize(frame[::sy, ::sx], size, interpolation=cv2.INTER_AREA)
    if grayscale and small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return small.reshape(-1).astype(np.float32) * np.float32(1.0 / 255.0)


def read_sequence_frames(
    job: SequenceJob,
    indices: Sequence[int],
    crop: tuple[int, int, int, int] | None = None,
    *,
    transform=None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(global index, frame)`` for sorted ``indices``, each exactly as a sequential decode gives it.

    Seeks only in videos where :func:`~mosaic.media.reader.seek_is_exact` holds; ``crop`` is
    applied, then ``transform`` when given. Frames are produced one at a time (lazy).
    """

    def _t(frame):
        out = apply_crop(frame, crop)
        return transform(out) if transform is not None else out

    for v, local in job.split(indices):
        seek = video_read_mode(v) == "seek"
        for i, frame in iter_frames(v.path, local, seek=seek, transform=_t):
            yield int(i + v.offset), frame


def frame_chunks(
    job: SequenceJob, indices: Sequence[int], n_chunks: int, min_chunk: int = 8
) -> list[tuple[VideoSource, np.ndarray, bool]]:
    """Split sorted global ``indices`` into ``(video, local indices, seek)`` pieces for parallel decoding.

    A video where seeking is exact is cut into up to ``n_chunks`` contiguous pieces of at
    least ``min_chunk`` frames (each piece starts with one exact seek); otherwise the video
    stays one sequential piece.
    """
    out = []
    for v, local in job.split(indices):
        seek = video_read_mode(v) == "seek"
        k = max(1, min(n_chunks, len(local) // min_chunk)) if seek else 1
        out.extend((v, part, seek) for part in np.array_split(local, k) if part.size)
    return out


def for_each_frame(
    job: SequenceJob,
    indices: Sequence[int],
    fn,
    crop: tuple[int, int, int, int] | None = None,
    *,
    workers: int = 1,
    luma: bool = False,
) -> None:
    """Call ``fn(global_index, frame)`` for every frame of ``indices`` (cropped), decoding pieces in parallel.

    Each piece (see :func:`frame_chunks`) opens its own capture in a worker thread (OpenCV
    releases the GIL while decoding), so ``fn`` may be called from several threads at once.
    With ``luma`` frames are grayscale (see :func:`mosaic.media.reader.iter_frames`).
    """
    pieces = frame_chunks(job, indices, workers)
    parallel = workers > 1 and len(pieces) > 1
    threads = 1 if parallel else None  # pieces in parallel: one decoder thread each (less CPU)

    def run(piece):
        v, local, seek = piece
        for i, frame in iter_frames(v.path, local, seek=seek, luma=luma, threads=threads):
            fn(int(i + v.offset), apply_crop(frame, crop))

    if not parallel:
        for piece in pieces:
            run(piece)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(run, pieces):
            pass


class LazySequenceFrames:
    """Frames of one recording decoded on demand, in index order, one at a time.

    ``frame(i)`` for increasing ``i`` (the order a PartitionedDataset saves partitions in)
    advances one sequential reader, so memory holds one frame; asking out of order buffers
    the frames passed over until they are asked for.
    """

    def __init__(self, job: SequenceJob, indices: Sequence[int], crop=None) -> None:
        self.job = job
        self.indices = [int(i) for i in indices]
        self.crop = crop
        self._it: Iterator[tuple[int, np.ndarray]] | None = None
        self._buffer: dict[int, np.ndarray] = {}

    def frame(self, index: int) -> np.ndarray:
        """The (cropped) BGR frame at global ``index`` (one of ``indices``)."""
        index = int(index)
        if index in self._buffer:
            return self._buffer.pop(index)
        if self._it is None:
            self._it = read_sequence_frames(self.job, self.indices, self.crop)
        for i, f in self._it:
            if i == index:
                if i == self.indices[-1]:
                    self._it.close()  # last frame: release the video now
                return f
            self._buffer[i] = f
        raise KeyError(f"frame {index} is not among the selected frames of {self.job.group}/{self.job.sequence}")

    def rgb(self, index: int) -> np.ndarray:
        """The frame at ``index`` as RGB (for PIL)."""
        return cv2.cvtColor(self.frame(index), cv2.COLOR_BGR2RGB)
