"""Validators of physical parameters, used at every boundary (facade arguments, YAML parameters,
converter params, values read from files).

One rule per quantity, one error type: a frame rate is a finite number > 0 whether it comes
from ``parameters_featurize.yml``, a BORIS ``FPS`` cell or a keyword argument, and a bad one is
a :class:`~mosaic.core.errors.ConfigError` (or the ``error`` the caller names) saying which
parameter, where, what was expected and what was found.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ConfigError, MosaicError


def _number(value: Any, name: str, error: type[MosaicError], expected: str, ctx: dict[str, Any]) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise error(f"parameter {name!r} is not a number", expected=expected, found=repr(value)[:80], **ctx)
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise error(f"parameter {name!r} is not a number", expected=expected, found=repr(value)[:80], **ctx) from None
    if not math.isfinite(v):
        raise error(f"parameter {name!r} must be a finite number", expected=expected, found=value, **ctx)
    return v


def positive_or_none(value: Any) -> float | None:
    """``value`` as a finite float > 0, else None: a metadata value (``fps``, ``cm_per_pixel``) taken
    as unknown when it is missing or unusable (never raises; :func:`positive_number` refuses instead)."""
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def _absent(value: Any, name: str, allow_none: bool, error: type[MosaicError], expected: str, ctx: dict) -> bool:
    """True when ``value`` is None and that is allowed; raise ``error`` when it is None and not allowed."""
    if value is None and not allow_none:
        raise error(f"parameter {name!r} is missing", expected=expected, found=None, **ctx)
    return value is None


def _signed_number(
    value: Any, name: str, strict: bool, allow_none: bool, error: type[MosaicError], ctx: dict[str, Any]
) -> float | None:
    """``value`` as a finite float > 0 (``strict``) or >= 0; ``None`` only with ``allow_none``."""
    op = ">" if strict else ">="
    expected = f"a finite number {op} 0" + (" or null" if allow_none else "")
    if _absent(value, name, allow_none, error, expected, ctx):
        return None
    v = _number(value, name, error, expected, ctx)
    if v < 0 or (strict and v == 0):
        raise error(f"parameter {name!r} must be {op} 0", expected=expected, found=value, **ctx)
    return v


def positive_number(
    value: Any, name: str, *, allow_none: bool = False, error: type[MosaicError] = ConfigError, **ctx: Any
) -> float | None:
    """``value`` as a float that is finite and > 0 (e.g. ``fps``, ``cm_per_pixel``).

    Numeric strings (``"30"``) are accepted, as YAML/CSV give them; ``None`` only with ``allow_none``.
    ``ctx`` (``path``, ``group``, ``sequence``, ``hint``) goes into the error.
    """
    return _signed_number(value, name, True, allow_none, error, ctx)


def non_negative_number(
    value: Any, name: str, *, allow_none: bool = False, error: type[MosaicError] = ConfigError, **ctx: Any
) -> float | None:
    """``value`` as a finite float ≥ 0 (e.g. a speed threshold)."""
    return _signed_number(value, name, False, allow_none, error, ctx)


def int_at_least(
    value: Any,
    name: str,
    minimum: int = 1,
    *,
    maximum: int | None = None,
    allow_none: bool = False,
    error: type[MosaicError] = ConfigError,
    **ctx: Any,
) -> int | None:
    """``value`` as an int in ``[minimum, maximum]`` (e.g. a window in frames, ``k`` neighbours).

    Floats are refused unless they are whole (``15.0``); bools are refused.
    """
    expected = (
        f"an integer >= {minimum}"
        + (f" and <= {maximum}" if maximum is not None else "")
        + (" or null" if allow_none else "")
    )
    if _absent(value, name, allow_none, error, expected, ctx):
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise error(f"parameter {name!r} is not an integer", expected=expected, found=repr(value)[:80], **ctx)
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = float(value)
        if not (math.isfinite(f) and f.is_integer()):
            raise error(f"parameter {name!r} is not an integer", expected=expected, found=value, **ctx)
        v = int(f)
    if v < minimum or (maximum is not None and v > maximum):
        raise error(f"parameter {name!r} is out of range", expected=expected, found=value, **ctx)
    return v


def windows(value: Any, name: str = "windows", *, error: type[MosaicError] = ConfigError, **ctx: Any) -> list[int]:
    """A non-empty list of window lengths (frames), each an integer ≥ 1 (a single int is one window)."""
    items = [value] if isinstance(value, numbers.Real) and not isinstance(value, bool) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise error(
            f"parameter {name!r} must be a non-empty list of window lengths",
            expected="e.g. [15, 31] (frames >= 1)",
            found=repr(value)[:80],
            **ctx,
        )
    return [int_at_least(w, f"{name}[{i}]", 1, error=error, **ctx) for i, w in enumerate(items)]


#: rules for physical parameters known by name (``None`` allowed: "not given, use the default")
PHYSICAL_RULES: dict[str, Callable[..., Any]] = {
    "fps": lambda v, n, **kw: positive_number(v, n, allow_none=True, **kw),
    "fps_default": lambda v, n, **kw: positive_number(v, n, allow_none=True, **kw),
    "fps_override": lambda v, n, **kw: positive_number(v, n, allow_none=True, **kw),
    "cm_per_pixel": lambda v, n, **kw: positive_number(v, n, allow_none=True, **kw),
    "min_speed": lambda v, n, **kw: non_negative_number(v, n, allow_none=True, **kw),
    "k": lambda v, n, **kw: int_at_least(v, n, 1, **kw),
    "windows": lambda v, n, **kw: windows(v, n, **kw),
}


def check_physical(
    params: Mapping[str, Any], *, error: type[MosaicError] = ConfigError, where: str | None = None, **ctx: Any
) -> None:
    """Check every physical parameter of ``params`` known by name (:data:`PHYSICAL_RULES`).

    Also any key ending in ``_window`` (an integer ≥ 1). Keys not known here are left to the
    caller. ``where`` (e.g. ``"feature 'kinematics'"``) is named in the error's hint.
    """
    if where is not None and "hint" not in ctx:
        ctx = {**ctx, "hint": f"check the parameters of {where}"}
    for key, value in params.items():
        rule = PHYSICAL_RULES.get(key)
        if rule is not None:
            rule(value, key, error=error, **ctx)
        elif isinstance(key, str) and key.endswith("_window") and value is not None:
            int_at_least(value, key, 1, error=error, **ctx)
