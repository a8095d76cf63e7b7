"""Kinematics of each individual: velocity, speed, acceleration, heading, angular velocity, tortuosity.

All computed on dense ``(frames × individuals)`` arrays (see :mod:`mosaic.features.grid`).
Positions are image pixels (x right, y down); angles are ``atan2(dy, dx)`` in that frame, in
radians, so a positive angle turns clockwise on screen.

Output columns (units in the name):

========================  ===========================================================
``vx_px_s``, ``vy_px_s``  velocity (px/s)
``speed_px_s``            ``|v|`` (px/s)
``ax_px_s2``, ``ay_px_s2`` acceleration = derivative of velocity (px/s²)
``acc_px_s2``             ``|a|`` (px/s²)
``heading_rad``           heading in ``(-pi, pi]`` (rad) from ``ANGLE``, keypoints or motion
``angvel_rad_s``          derivative of heading, differences wrapped to ``(-pi, pi]`` (rad/s)
``tortuosity``            path length / net displacement over a centred window (≥ 1, unitless)
========================  ===========================================================

With a known ``cm_per_pixel`` the length-based columns also come as ``*_cm_s`` / ``*_cm_s2``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mosaic.core.errors import FeatureError

from .base import Feature
from .grid import Grid, derivative, window_sum, wrap_angle

OUTPUTS = ("velocity", "speed", "acceleration", "heading", "angular_velocity", "tortuosity")
HEADING_SOURCES = ("auto", "angle", "keypoints", "motion")
#: heading parameters (see :func:`resolve_heading`), the same in every feature that finds a heading
HEADING_DEFAULTS: dict[str, Any] = {
    "heading_source": "auto",
    "head_keypoint": None,
    "tail_keypoint": None,
    "min_speed": 0.0,
}


def heading_from_keypoints(df: pd.DataFrame, head: int, tail: int) -> np.ndarray:
    """Heading (rad) of the vector tail → head keypoint, per row (NaN when either is missing)."""
    dx = df[f"poseX{head}"].to_numpy(np.float64) - df[f"poseX{tail}"].to_numpy(np.float64)
    dy = df[f"poseY{head}"].to_numpy(np.float64) - df[f"poseY{tail}"].to_numpy(np.float64)
    return np.arctan2(dy, dx)


def resolve_heading(
    df: pd.DataFrame,
    grid: Grid,
    vx: np.ndarray | None,
    vy: np.ndarray | None,
    source: str,
    head: int | None,
    tail: int | None,
    min_speed: float,
) -> tuple[np.ndarray, str]:
    """Dense heading ``(T, n)`` in rad and the source used (``angle``, ``keypoints`` or ``motion``).

    ``auto`` takes ``ANGLE`` when the column exists, else keypoints when ``head``/``tail`` are
    given and present, else the direction of motion (NaN where speed is 0 or < ``min_speed`` px/s).
    """
    if source in ("auto", "angle") and "ANGLE" in df.columns:
        return wrap_angle(grid.dense(df["ANGLE"].to_numpy(np.float64))), "angle"
    if source == "angle":
        raise FeatureError(
            "heading source 'angle' needs an ANGLE column",
            group=df.attrs.get("group"),
            sequence=df.attrs.get("sequence"),
            path=df.attrs.get("path"),
            expected="ANGLE",
            found=list(df.columns),
        )
    kp_ok = (
        head is not None
        and tail is not None
        and {f"poseX{head}", f"poseY{head}", f"poseX{tail}", f"poseY{tail}"} <= set(df.columns)
    )
    if source in ("auto", "keypoints") and kp_ok:
        return grid.dense(heading_from_keypoints(df, head, tail)), "keypoints"
    if source == "keypoints":
        raise FeatureError(
            "heading source 'keypoints' needs head_keypoint/tail_keypoint columns",
            group=df.attrs.get("group"),
            sequence=df.attrs.get("sequence"),
            path=df.attrs.get("path"),
            expected=f"poseX{head}/poseY{head}, poseX{tail}/poseY{tail}",
            found=list(df.columns),
        )
    h = np.arctan2(vy, vx)
    sp = np.hypot(vx, vy)
    h[(sp < min_speed) | (sp == 0)] = np.nan  # no direction of motion when still
    return h, "motion"


def heading_of(
    df: pd.DataFrame, grid: Grid, vx: np.ndarray | None, vy: np.ndarray | None, params: Mapping
) -> np.ndarray:
    """:func:`resolve_heading` with a feature's heading parameters (:data:`HEADING_DEFAULTS`): dense ``(T, n)`` rad."""
    source, head, tail = params["heading_source"], params["head_keypoint"], params["tail_keypoint"]
    return resolve_heading(df, grid, vx, vy, source, head, tail, float(params["min_speed"]))[0]


def check_heading_source(params: Mapping[str, Any]) -> None:
    """Refuse a ``heading_source`` outside :data:`HEADING_SOURCES`."""
    if params["heading_source"] not in HEADING_SOURCES:
        raise FeatureError("bad 'heading_source'", expected=list(HEADING_SOURCES), found=params["heading_source"])


def heading_track_columns(cols: list[str], params: Mapping[str, Any], needed: bool) -> list[str]:
    """``cols`` less the heading inputs a feature does not use.

    Without a ``needed`` heading ``ANGLE`` and every pose column go; with one, the pose columns
    other than the ``head_keypoint``/``tail_keypoint`` ones.
    """
    if not needed:
        return [c for c in cols if c != "ANGLE" and not c.startswith("pose")]
    h, t = params["head_keypoint"], params["tail_keypoint"]
    keep = {f"pose{a}{k}" for a in "XY" for k in (h, t) if k is not None}
    return [c for c in cols if not c.startswith("pose") or c in keep]


class Kinematics(Feature):
    """Per-individual kinematics (see the module docstring for columns and units).

    Parameters
    ----------
    outputs : list of str
        Any of ``velocity, speed, acceleration, heading, angular_velocity, tortuosity``.
    method : {'central', 'backward'}
        Finite differences (see :func:`mosaic.features.grid.derivative`).
    heading_source : {'auto', 'angle', 'keypoints', 'motion'}
    head_keypoint, tail_keypoint : int or None
        Keypoint indices ``k`` of ``poseX<k>`` used for a keypoint heading.
    min_speed : float
        px/s below which a motion heading is NaN.
    tortuosity_window : int
        Window in frames (odd; centred) for tortuosity.
    cm : {'auto', True, False}
        Add ``*_cm_*`` columns when ``cm_per_pixel`` is known (``True``: required).
    fps : float or None
        Overrides the recording's frame rate.
    """

    name = "kinematics"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {
        "outputs": list(OUTPUTS),
        "method": "central",
        **HEADING_DEFAULTS,
        "tortuosity_window": 15,
        "cm": "auto",
        "fps": None,
    }
    required_columns = ("frame", "id", "X", "Y")
    optional_columns = ("ANGLE", "pose*")

    def validate_params(self) -> None:
        p = self.params
        bad = [o for o in p["outputs"] if o not in OUTPUTS] if isinstance(p["outputs"], (list, tuple)) else p["outputs"]
        if bad or not p["outputs"]:
            raise FeatureError(
                f"bad 'outputs' for feature {self.name!r}",
                expected=f"non-empty subset of {list(OUTPUTS)}",
                found=bad or p["outputs"],
            )
        if p["method"] not in ("central", "backward"):
            raise FeatureError("bad 'method'", expected=["central", "backward"], found=p["method"])
        check_heading_source(p)
        w = p["tortuosity_window"]
        if not isinstance(w, int) or w < 3 or w % 2 == 0:
            raise FeatureError("bad 'tortuosity_window'", expected="odd int >= 3 (frames)", found=w)
        if p["cm"] not in ("auto", True, False):
            raise FeatureError("bad 'cm'", expected=["auto", True, False], found=p["cm"])

    def track_columns(self, available):
        needed = any(o in self.params["outputs"] for o in ("heading", "angular_velocity"))
        return heading_track_columns(super().track_columns(available), self.params, needed)

    def frame_halo(self) -> int | None:
        """2 frames (a derivative of a derivative); None with tortuosity (its window sums are prefix sums)."""
        return None if "tortuosity" in self.params["outputs"] else 2

    def _cm_per_pixel(self, data: pd.DataFrame) -> float | None:
        """The recording's ``cm_per_pixel`` (a named error when ``cm=True`` and it is unknown)."""
        cm = data.attrs.get("cm_per_pixel")
        if self.params["cm"] is True and not cm:
            raise FeatureError(
                "cm=True needs cm_per_pixel",
                group=data.attrs.get("group"),
                sequence=data.attrs.get("sequence"),
                expected="cm_per_pixel in the track metadata or dataset meta",
                found=cm,
            )
        return cm

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self.check_columns(data)
        p = self.params
        out_set = set(p["outputs"])
        dt = self._time_step(data, out_set)
        grid = Grid.from_long(data["frame"].to_numpy(), data["id"].to_numpy())
        cm = self._cm_per_pixel(data)
        # each dense (T, n) array is gathered back to rows as soon as it is final and then freed
        X = grid.dense(data["X"].to_numpy(np.float64))
        Y = grid.dense(data["Y"].to_numpy(np.float64))
        cols = self._motion_columns(data, grid, X, Y, dt, out_set)
        if "tortuosity" in out_set:
            cols["tortuosity"] = grid.take(tortuosity(X, Y, p["tortuosity_window"]))
        del X, Y
        if p["cm"] and cm:
            for c in [c for c in cols if "_px_" in c]:
                cols[c.replace("_px_", "_cm_")] = cols[c] * float(cm)
        out = {"frame": data["frame"].to_numpy(), "id": data["id"].to_numpy(), **cols}
        return pd.DataFrame(out, copy=False)

    def _time_step(self, data: pd.DataFrame, out_set: set[str]) -> float:
        """Seconds per frame when an output needs a derivative, else 1 (the frame rate is then not required)."""
        p = self.params
        # a heading from ANGLE or keypoints and tortuosity need no frame rate
        angle_heading = "ANGLE" in data.columns and p["heading_source"] in ("auto", "angle")
        derivs = out_set & {"velocity", "speed", "acceleration", "angular_velocity"} or (
            "heading" in out_set and not angle_heading and p["heading_source"] != "keypoints"
        )
        return 1.0 / (float(p["fps"]) if p["fps"] else self.fps_of(data)) if derivs else 1.0

    def _motion_columns(
        self, data: pd.DataFrame, grid: Grid, X: np.ndarray, Y: np.ndarray, dt: float, out_set: set[str]
    ) -> dict[str, np.ndarray]:
        """Velocity, speed, acceleration, heading and angular velocity columns (per row) that ``out_set`` asks for."""
        p = self.params
        cols: dict[str, np.ndarray] = {}
        need_v = out_set & {"velocity", "speed", "acceleration"} or (
            out_set & {"heading", "angular_velocity"} and p["heading_source"] in ("auto", "motion")
        )
        vx = vy = None
        if need_v:
            vx = derivative(X, dt, p["method"])
            vy = derivative(Y, dt, p["method"])
        if "velocity" in out_set:
            cols["vx_px_s"], cols["vy_px_s"] = grid.take(vx), grid.take(vy)
        if "speed" in out_set:
            cols["speed_px_s"] = grid.take(np.hypot(vx, vy))
        if "acceleration" in out_set:
            ax = derivative(vx, dt, p["method"])
            ay = derivative(vy, dt, p["method"])
            cols["ax_px_s2"], cols["ay_px_s2"], cols["acc_px_s2"] = (
                grid.take(ax),
                grid.take(ay),
                grid.take(np.hypot(ax, ay)),
            )
            del ax, ay
        if out_set & {"heading", "angular_velocity"}:
            h = heading_of(data, grid, vx, vy, p)
            if "heading" in out_set:
                cols["heading_rad"] = grid.take(h)
            if "angular_velocity" in out_set:
                cols["angvel_rad_s"] = grid.take(derivative(h, dt, p["method"], angular=True))
        return cols


def tortuosity(X: np.ndarray, Y: np.ndarray, window: int) -> np.ndarray:
    """Path length / net displacement over frames ``[t - h, t + h]`` (``h = window // 2``).

    NaN where any position in the window is missing, at the edges, and where the net
    displacement is 0.
    """
    h = window // 2
    step = np.full(X.shape, np.nan)
    step[1:] = np.hypot(X[1:] - X[:-1], Y[1:] - Y[:-1])
    path = window_sum(step, -h + 1, h)
    chord = np.full(X.shape, np.nan)
    if X.shape[0] > 2 * h:
        chord[h:-h] = np.hypot(X[2 * h :] - X[: -2 * h], Y[2 * h :] - Y[: -2 * h])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = path / chord
    out[~np.isfinite(out)] = np.nan
    return out


class Speed(Kinematics):
    """Velocity and speed (px/s; cm/s when known). See :class:`Kinematics`."""

    name = "speed"
    defaults: ClassVar[dict[str, Any]] = {**Kinematics.defaults, "outputs": ["velocity", "speed"]}


class Acceleration(Kinematics):
    """Acceleration (px/s²). See :class:`Kinematics`."""

    name = "acceleration"
    defaults: ClassVar[dict[str, Any]] = {**Kinematics.defaults, "outputs": ["acceleration"]}


class Heading(Kinematics):
    """Heading (rad) from ANGLE, keypoints or motion. See :class:`Kinematics`."""

    name = "heading"
    defaults: ClassVar[dict[str, Any]] = {**Kinematics.defaults, "outputs": ["heading"]}


class AngularVelocity(Kinematics):
    """Angular velocity (rad/s, wrapped differences). See :class:`Kinematics`."""

    name = "angular_velocity"
    defaults: ClassVar[dict[str, Any]] = {**Kinematics.defaults, "outputs": ["heading", "angular_velocity"]}


class Tortuosity(Kinematics):
    """Path tortuosity over a centred window (unitless). See :class:`Kinematics`."""

    name = "tortuosity"
    defaults: ClassVar[dict[str, Any]] = {**Kinematics.defaults, "outputs": ["tortuosity"]}
