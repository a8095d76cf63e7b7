"""Render a simulated sequence as a small video (mp4v via OpenCV).

Each animal is a filled ellipse (body length x 0.4 body length) oriented by its heading,
with a darker dot at the head, in a distinct colour per id, on a plain background with
the arena border. Missing detections are not drawn. One video pixel = one arena pixel
(scaled by ``scale``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mosaic.core.atomic import atomic_path
from mosaic.core.errors import MediaError

from .simulate import SimSequence

# distinct BGR colours (tab10-like)
PALETTE: tuple[tuple[int, int, int], ...] = (
    (180, 119, 31),
    (14, 127, 255),
    (44, 160, 44),
    (40, 39, 214),
    (189, 103, 148),
    (75, 86, 140),
    (194, 119, 227),
    (127, 127, 127),
    (34, 189, 188),
    (207, 190, 23),
)
BACKGROUND = (225, 225, 225)
BORDER = (60, 60, 60)
_SHIFT = 4  # sub-pixel drawing precision (1/16 px)


def _body_shapes(sim: SimSequence, scale: float) -> tuple[np.ndarray, tuple[int, int], np.ndarray, np.ndarray, int]:
    """Drawing geometry in fixed point (``_SHIFT`` bits): body centres, ellipse axes, angles (degrees),
    head centres and head radius."""
    f = float(1 << _SHIFT)
    centre = np.round(sim.pos * scale * f).astype(np.int64)
    bl = sim.body_length * scale
    axes = (int(round(bl / 2 * f)), int(round(bl / 5 * f)))
    head = sim.pos + 0.35 * sim.body_length * np.stack([np.cos(sim.heading), np.sin(sim.heading)], axis=-1)
    head = np.round(head * scale * f).astype(np.int64)
    head_r = int(round(bl / 8 * f))
    angles = np.degrees(sim.heading)
    return centre, axes, angles, head, head_r


def render_video(
    sim: SimSequence,
    path: str | os.PathLike,
    scale: float = 1.0,
    fourcc: str = "mp4v",
) -> Path:
    """Render ``sim`` into ``path`` (atomically) and return it.

    Parameters
    ----------
    sim
        The simulated sequence (``arena_size`` gives the frame size).
    path
        Output video file (``.mp4``).
    scale
        Video pixels per arena pixel.
    fourcc
        OpenCV codec code.

    Raises
    ------
    MediaError
        If OpenCV cannot open a writer for the file.
    """
    import cv2

    sim.validate()
    path = Path(path)
    w = int(round(sim.arena_size[0] * scale))
    h = int(round(sim.arena_size[1] * scale))
    frame0 = _background(w, h)
    shapes = _body_shapes(sim, scale)
    visible = ~sim.missing
    with atomic_path(path) as tmp:
        tmp_video = tmp.with_name(tmp.name + path.suffix)  # OpenCV picks the container from the suffix
        try:
            writer = cv2.VideoWriter(str(tmp_video), cv2.VideoWriter_fourcc(*fourcc), float(sim.fps), (w, h))
            if not writer.isOpened():
                raise MediaError("OpenCV cannot open a video writer", path=path, expected=f"codec {fourcc}")
            try:
                for t in range(sim.n_frames):
                    writer.write(_draw_frame(frame0, shapes, t, np.flatnonzero(visible[t])))
            finally:
                writer.release()
            os.replace(tmp_video, tmp)
        finally:
            if tmp_video.exists():
                tmp_video.unlink()
    return path


def _background(w: int, h: int) -> np.ndarray:
    """The empty arena: plain background with the border, ``(h, w, 3)`` BGR."""
    import cv2

    frame0 = np.empty((h, w, 3), dtype=np.uint8)
    frame0[:] = BACKGROUND
    cv2.rectangle(frame0, (0, 0), (w - 1, h - 1), BORDER, 2)
    return frame0


def _draw_frame(frame0: np.ndarray, shapes: tuple, t: int, animals: np.ndarray) -> np.ndarray:
    """A copy of ``frame0`` with the ``animals`` visible at frame ``t`` drawn (``shapes`` from :func:`_body_shapes`)."""
    import cv2

    centre, axes, angles, head, head_r = shapes
    img = frame0.copy()
    for k in animals:
        colour = PALETTE[k % len(PALETTE)]
        cv2.ellipse(
            img,
            (int(centre[t, k, 0]), int(centre[t, k, 1])),
            axes,
            float(angles[t, k]),
            0,
            360,
            colour,
            -1,
            cv2.LINE_AA,
            _SHIFT,
        )
        cv2.circle(img, (int(head[t, k, 0]), int(head[t, k, 1])), head_r, (20, 20, 20), -1, cv2.LINE_AA, _SHIFT)
    return img
