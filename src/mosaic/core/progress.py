"""Progress bars for loops over recordings and videos.

Bars show on a terminal and stay quiet otherwise (tqdm's ``disable=None``); set the
environment variable ``MOSAIC_PROGRESS=0`` (or call :func:`set_progress` with ``False``)
to silence them everywhere, e.g. in batch jobs whose logs should hold only log lines.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

_OVERRIDE: bool | None = None


def set_progress(enabled: bool | None) -> None:
    """Force bars on (True), off (False), or back to automatic (None: terminal only)."""
    global _OVERRIDE
    _OVERRIDE = enabled


def _disable() -> bool | None:
    if _OVERRIDE is not None:
        return not _OVERRIDE
    if os.environ.get("MOSAIC_PROGRESS", "").strip().lower() in ("0", "false", "no", "off"):
        return True
    return None  # tqdm: disabled when not a terminal


def progress(
    iterable: Iterable | None = None, *, desc: str, unit: str = "recording", total: int | None = None, **kwargs: Any
):
    """A tqdm bar over ``iterable`` (or a manual bar when ``iterable`` is None), quiet when asked."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, total=total, disable=_disable(), **kwargs)
