"""Named media errors (all :class:`~mosaic.core.errors.MediaError` subclasses).

They live in the media domain so that callers can catch precisely what went wrong while
``except MediaError`` still catches them all.
"""

from __future__ import annotations

from mosaic.core.errors import ConfigError, MediaError


class VideoReadError(MediaError):
    """A video cannot be opened or decoded (missing, unreadable, truncated, zero frames)."""


class NotEnoughFramesError(MediaError, ValueError):
    """More frames were requested than the range (or the k-means candidates) holds."""


class CropError(MediaError, ValueError):
    """A crop ``(x, y, w, h)`` is malformed or lies outside the frame."""


class MediaNotFoundError(MediaError, KeyError):
    """No video is indexed for a (group, sequence)."""


class AmbiguousMediaError(MediaError, LookupError, RuntimeError):
    """Several videos are indexed for a (group, sequence) where one was asked for (also a :class:`RuntimeError`)."""


class FrameMethodError(ConfigError):
    """An unknown frame-sampling method or an invalid sampling parameter."""


__all__ = [
    "AmbiguousMediaError",
    "CropError",
    "FrameMethodError",
    "MediaNotFoundError",
    "NotEnoughFramesError",
    "VideoReadError",
]
