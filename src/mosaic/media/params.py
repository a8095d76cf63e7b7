"""Frame-sampling parameters and their validation (before any video is opened)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .errors import CropError, FrameMethodError

METHODS = ("uniform", "kmeans")


@dataclass(frozen=True)
class FrameParams:
    """Validated sampling parameters (everything that decides which pixels are saved)."""

    method: str
    n_frames: int
    start_frame: int | None = None
    end_frame: int | None = None
    candidate_step: int = 1
    crop: tuple[int, int, int, int] | None = None
    kmeans_resize: tuple[int, int] = (64, 64)
    kmeans_grayscale: bool = True
    kmeans_max_candidates: int | None = 5000  # None: no cap (every candidate_step-th frame)
    kmeans_batch_size: int = 1024
    kmeans_max_iter: int = 100
    kmeans_n_init: int | str = "auto"
    random_state: int | None = 42

    def to_dict(self) -> dict[str, Any]:
        """All fields (tuples as lists) — what ``run_info.json`` records."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def identity(self) -> dict[str, Any]:
        """The fields that influence the output (k-means knobs only for ``kmeans``)."""
        d = self.to_dict()
        if self.method != "kmeans":
            d = {
                k: v
                for k, v in d.items()
                if not k.startswith("kmeans_") and k not in ("candidate_step", "random_state")
            }
        return d


#: the one home of every sampling default: :class:`FrameParams`' field defaults
FRAME_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(FrameParams) if f.name not in ("method", "n_frames")
}


def _as_int(name: str, value: Any, minimum: int | None = None, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise FrameMethodError(
            f"{name} must be an integer", expected="int" + (" or None" if allow_none else ""), found=repr(value)
        )
    if minimum is not None and value < minimum:
        raise FrameMethodError(f"{name} is too small", expected=f">= {minimum}", found=int(value))
    return int(value)


def validate_crop(crop: Any) -> tuple[int, int, int, int] | None:
    """Check ``crop`` is None or four integers ``(x, y, w, h)`` with x, y >= 0 and w, h > 0."""
    if crop is None:
        return None
    try:
        vals = tuple(crop)
    except TypeError:
        raise CropError("crop must be (x, y, w, h)", expected="4 integers", found=repr(crop)) from None
    if len(vals) != 4 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in vals):
        raise CropError("crop must be (x, y, w, h)", expected="4 integers", found=repr(crop))
    x, y, w, h = (int(v) for v in vals)
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise CropError("crop must have x, y >= 0 and w, h > 0", expected="(x>=0, y>=0, w>0, h>0)", found=(x, y, w, h))
    return (x, y, w, h)


def validate_frame_params(n_frames: Any, method: Any = "uniform", **kwargs: Any) -> FrameParams:
    """Validate the sampling parameters of :func:`extract_frames`.

    Raises
    ------
    FrameMethodError
        Unknown method, unknown keyword or a value of the wrong type/range.
    CropError
        A malformed crop (its position against the frame is checked per video later).
    """
    if method not in METHODS:
        raise FrameMethodError("unknown frame-sampling method", expected=list(METHODS), found=repr(method))
    allowed = {f for f in FrameParams.__dataclass_fields__} - {"method", "n_frames"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise FrameMethodError("unknown frame-sampling parameter(s)", expected=sorted(allowed), found=unknown)
    p = {**FRAME_DEFAULTS, **kwargs}
    n = _as_int("n_frames", n_frames, 1)
    start = _as_int("start_frame", p["start_frame"], 0, allow_none=True)
    end = _as_int("end_frame", p["end_frame"], 1, allow_none=True)
    if start is not None and end is not None and end <= start:
        raise FrameMethodError("end_frame must be after start_frame", expected=f"> {start}", found=end)
    resize = p["kmeans_resize"]
    try:
        resize = tuple(int(v) for v in resize)
    except (TypeError, ValueError):
        raise FrameMethodError("kmeans_resize must be (width, height)", found=repr(resize)) from None
    if len(resize) != 2 or min(resize) < 1:
        raise FrameMethodError("kmeans_resize must be two positive integers (width, height)", found=repr(resize))
    n_init = p["kmeans_n_init"]
    if n_init != "auto":
        n_init = _as_int("kmeans_n_init", n_init, 1)
    return FrameParams(
        method=method,
        n_frames=n,
        start_frame=start,
        end_frame=end,
        candidate_step=_as_int("candidate_step", p["candidate_step"], 1),
        crop=validate_crop(p["crop"]),
        kmeans_resize=resize,
        kmeans_grayscale=bool(p["kmeans_grayscale"]),
        kmeans_max_candidates=_as_int("kmeans_max_candidates", p["kmeans_max_candidates"], 1, allow_none=True),
        kmeans_batch_size=_as_int("kmeans_batch_size", p["kmeans_batch_size"], 1),
        kmeans_max_iter=_as_int("kmeans_max_iter", p["kmeans_max_iter"], 1),
        kmeans_n_init=n_init,
        random_state=_as_int("random_state", p["random_state"], 0, allow_none=True),
    )
