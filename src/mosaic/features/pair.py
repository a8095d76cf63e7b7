"""Pair features over all ordered pairs (focal ``id``, partner ``id2``), keyed by (frame, id, id2).

Computed on dense ``(frames × n × n)`` arrays in frame chunks (bounded memory). Positions are
image pixels (x right, y down), angles in rad in that frame.

Output columns:

====================  =====================================================================
``distance_px``       ``|p2 - p1|`` (px)
``ego_x_px``          partner position along the focal's heading (px, > 0 = in front)
``ego_y_px``          partner position along heading + pi/2 (px; on screen, y down, that is
                      the focal's right-hand side)
``bearing_rad``       direction to the partner relative to the focal's heading, (-pi, pi]
``facing_rad``        ``|bearing|`` in [0, pi]: 0 when the focal faces the partner
``rel_speed_px_s``    ``|v2 - v1|`` (px/s)
``approach_px_s``     ``-d(distance)/dt`` (px/s): > 0 approaching, < 0 moving apart
====================  =====================================================================

``*_cm`` / ``*_cm_s`` variants are added when ``cm_per_pixel`` is known. Rows exist for every
frame where both animals have a row in the tracks; NaN values propagate.

Neighbourhoods
--------------
All ordered pairs are ``n (n - 1)`` rows per frame. For large groups the partners are limited
to a neighbourhood per frame (:mod:`mosaic.features.neighbors`), so the cost grows with
``n · k``:

* ``neighbors: k`` keeps each focal's ``k`` nearest partners in that frame;
* ``radius: r`` keeps the partners at distance ``<= r`` px (both may be given);
* ``neighbors: 'all'`` (no radius) keeps every pair;
* ``neighbors: 'auto'`` (the default) keeps every pair when the recording has at most
  :data:`ALL_PAIRS_MAX_N` individuals, else the :data:`AUTO_K` nearest (or, with a radius,
  those within it).

With a neighbourhood the rows are still keyed by ``(frame, id, id2)`` (``id2`` is the
partner's id) and gain ``neighbor_rank`` (1 = nearest partner of ``id`` in that frame, by
distance). Only partners with a known position are ranked, so a row exists when both
positions are known; every value equals the all-pairs value of the same (frame, id, id2).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mosaic.core.errors import FeatureError

from .base import KEY_PAIR, Feature
from .grid import Grid, derivative, wrap_angle
from .kinematics import HEADING_DEFAULTS, check_heading_source, heading_of, heading_track_columns
from .neighbors import chunk_frames, select_neighbors

PAIR_OUTPUTS = ("distance", "egocentric", "facing", "relative_speed", "approach_rate")
CHUNK_FRAMES = 4096
#: ``neighbors: 'auto'``: all pairs up to this many individuals, else the AUTO_K nearest
ALL_PAIRS_MAX_N = 32
AUTO_K = 8


def pair_rows(present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mask ``(T, n, n)`` of ordered pairs (i != j) both present, and its (t, i, j) coordinates."""
    n = present.shape[1]
    mask = present[:, :, None] & present[:, None, :]
    mask &= ~np.eye(n, dtype=bool)[None]
    t, i, j = np.nonzero(mask)
    return mask, t, i, j


class PairFeatures(Feature):
    """Pair features for all ordered pairs (see the module docstring for columns and units).

    Parameters
    ----------
    outputs : list of str
        Any of ``distance, egocentric, facing, relative_speed, approach_rate``.
    method : {'central', 'backward'}
        Finite differences for velocities and the approach rate.
    heading_source, head_keypoint, tail_keypoint, min_speed
        How the focal's heading is found (see :class:`~mosaic.features.kinematics.Kinematics`).
    cm : {'auto', True, False}
        Add cm columns when ``cm_per_pixel`` is known.
    fps : float or None
        Overrides the recording's frame rate.
    """

    name = "pair"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {
        "outputs": list(PAIR_OUTPUTS),
        "method": "central",
        **HEADING_DEFAULTS,
        "cm": "auto",
        "fps": None,
        "neighbors": "auto",
        "radius": None,
    }
    required_columns = ("frame", "id", "X", "Y")
    optional_columns = ("ANGLE", "pose*")
    output_key = KEY_PAIR

    def validate_params(self) -> None:
        p = self.params
        outs = p["outputs"]
        if not isinstance(outs, (list, tuple)) or not outs or any(o not in PAIR_OUTPUTS for o in outs):
            raise FeatureError(
                f"bad 'outputs' for feature {self.name!r}",
                expected=f"non-empty subset of {list(PAIR_OUTPUTS)}",
                found=outs,
            )
        if p["method"] not in ("central", "backward"):
            raise FeatureError("bad 'method'", expected=["central", "backward"], found=p["method"])
        check_heading_source(p)
        if p["cm"] not in ("auto", True, False):
            raise FeatureError("bad 'cm'", expected=["auto", True, False], found=p["cm"])
        k = p["neighbors"]
        if k not in ("auto", "all") and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise FeatureError("bad 'neighbors'", expected="'auto', 'all' or an int >= 1", found=k)
        r = p["radius"]
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or not np.isfinite(r) or r <= 0):
            raise FeatureError("bad 'radius'", expected="None or a distance > 0 (px)", found=r)

    def neighborhood(self, n: int) -> tuple[int | None, float | None] | None:
        """``(k, radius)`` for a recording of ``n`` individuals, or None for all pairs."""
        k, r = self.params["neighbors"], self.params["radius"]
        r = None if r is None else float(r)
        if k == "all":
            return None if r is None else (None, r)
        if k == "auto":
            if r is not None:
                return (None, r)
            return None if n <= ALL_PAIRS_MAX_N else (AUTO_K, None)
        return (int(k), r)

    def _needs_heading(self) -> bool:
        return bool({"egocentric", "facing"} & set(self.params["outputs"]))

    def track_columns(self, available):
        return heading_track_columns(super().track_columns(available), self.params, self._needs_heading())

    def apply_chunks(self, data: pd.DataFrame):
        """Pair rows in chunks of :data:`CHUNK_FRAMES` frames (bounded memory)."""
        self.check_columns(data)
        p = self.params
        outs = set(p["outputs"])
        grid = Grid.from_long(data["frame"].to_numpy(), data["id"].to_numpy())
        X = grid.dense(data["X"].to_numpy(np.float64))
        Y = grid.dense(data["Y"].to_numpy(np.float64))
        present = grid.present()
        need_v = bool(outs & {"relative_speed", "approach_rate"}) or (
            self._needs_heading() and p["heading_source"] in ("auto", "motion")
        )
        dt = None
        vx = vy = H = None
        if need_v:
            dt = 1.0 / (float(p["fps"]) if p["fps"] else self.fps_of(data))
            vx, vy = derivative(X, dt, p["method"]), derivative(Y, dt, p["method"])
        if self._needs_heading():
            H = heading_of(data, grid, vx, vy, p)
        cm = data.attrs.get("cm_per_pixel")
        if p["cm"] is True and not cm:
            raise FeatureError(
                "cm=True needs cm_per_pixel", group=data.attrs.get("group"), sequence=data.attrs.get("sequence")
            )
        hood = self.neighborhood(grid.n)
        step = chunk_frames(grid.n, CHUNK_FRAMES, dense=True if hood is None else None)
        for a in range(0, max(grid.T, 1), step):  # at least one (possibly empty) chunk
            b = min(grid.T, a + step)
            args = (grid, X, Y, vx, vy, H, present, a, b, dt, outs, cm if p["cm"] else None)
            cols = self._chunk(*args) if hood is None else self._chunk_neighbors(*args, hood)
            yield pd.DataFrame(cols, copy=False)

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        """All pair rows of the sequence as one table (concatenated :meth:`apply_chunks`)."""
        parts = list(self.apply_chunks(data))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def _chunk(self, grid, X, Y, vx, vy, H, present, a, b, dt, outs, cm) -> dict[str, np.ndarray]:
        # one padding frame each side for the approach-rate derivative
        pa, pb = max(0, a - 1), min(grid.T, b + 1)
        sl = slice(pa, pb)
        inner = slice(a - pa, a - pa + (b - a))
        mask, t, i, j = pair_rows(present[a:b])
        cols: dict[str, np.ndarray] = {
            "frame": (t + a + grid.frame0).astype(np.int64),
            "id": grid.ids[i],
            "id2": grid.ids[j],
        }
        x, y = X[sl], Y[sl]
        dx = x[:, None, :] - x[:, :, None]  # [t, i, j] = X_j - X_i
        dy = y[:, None, :] - y[:, :, None]
        dist = np.hypot(dx, dy)
        if "distance" in outs:
            cols["distance_px"] = dist[inner][mask]
        if H is not None:
            h = H[sl][:, :, None]
            c, s = np.cos(h), np.sin(h)
            if "egocentric" in outs:
                cols["ego_x_px"] = (dx * c + dy * s)[inner][mask]
                cols["ego_y_px"] = (-dx * s + dy * c)[inner][mask]
            if "facing" in outs:
                bearing = wrap_angle(np.arctan2(dy[inner], dx[inner]) - h[inner])
                bearing[dist[inner] == 0] = np.nan
                cols["bearing_rad"] = bearing[mask]
                cols["facing_rad"] = np.abs(cols["bearing_rad"])
        if "relative_speed" in outs:
            vxs, vys = vx[a:b], vy[a:b]
            cols["rel_speed_px_s"] = np.hypot(vxs[:, None, :] - vxs[:, :, None], vys[:, None, :] - vys[:, :, None])[
                mask
            ]
        if "approach_rate" in outs:
            d = derivative(dist, dt, self.params["method"])
            cols["approach_px_s"] = 0.0 - d[inner][mask]
        if cm:
            for k in [k for k in cols if k.endswith("_px") or "_px_" in k]:
                cols[k.replace("_px", "_cm")] = cols[k] * float(cm)
        return cols

    def _chunk_neighbors(self, grid, X, Y, vx, vy, H, present, a, b, dt, outs, cm, hood) -> dict[str, np.ndarray]:
        """The rows of the focal's neighbourhood only: values gathered per (t, i, j), as in :meth:`_chunk`."""
        k, radius = hood
        t, i, j, rank = select_neighbors(X[a:b], Y[a:b], k, radius)
        t = t + a  # absolute frame offsets
        cols: dict[str, np.ndarray] = {
            "frame": (t + grid.frame0).astype(np.int64),
            "id": grid.ids[i],
            "id2": grid.ids[j],
            "neighbor_rank": rank,
        }
        dx = X[t, j] - X[t, i]
        dy = Y[t, j] - Y[t, i]
        dist = np.hypot(dx, dy)
        if "distance" in outs:
            cols["distance_px"] = dist
        if H is not None:
            h = H[t, i]
            c, s = np.cos(h), np.sin(h)
            if "egocentric" in outs:
                cols["ego_x_px"] = dx * c + dy * s
                cols["ego_y_px"] = -dx * s + dy * c
            if "facing" in outs:
                bearing = wrap_angle(np.arctan2(dy, dx) - h)
                bearing[dist == 0] = np.nan
                cols["bearing_rad"] = bearing
                cols["facing_rad"] = np.abs(bearing)
        if "relative_speed" in outs:
            cols["rel_speed_px_s"] = np.hypot(vx[t, j] - vx[t, i], vy[t, j] - vy[t, i])
        if "approach_rate" in outs:
            # the pair's distance at t-1, t, t+1 (NaN outside the recording); the same derivative
            dd = np.full((3, len(t)), np.nan)
            dd[1] = dist
            for row, off in ((0, -1), (2, 1)):
                tn = t + off
                ok = (tn >= 0) & (tn < grid.T)
                dd[row, ok] = np.hypot(X[tn[ok], j[ok]] - X[tn[ok], i[ok]], Y[tn[ok], j[ok]] - Y[tn[ok], i[ok]])
            cols["approach_px_s"] = 0.0 - derivative(dd, dt, self.params["method"])[1]
        if cm:
            for key in [key for key in cols if key.endswith("_px") or "_px_" in key]:
                cols[key.replace("_px", "_cm")] = cols[key] * float(cm)
        return cols


class PairDistance(PairFeatures):
    """Distance between every ordered pair (px). See :class:`PairFeatures`."""

    name = "pair_distance"
    defaults: ClassVar[dict[str, Any]] = {**PairFeatures.defaults, "outputs": ["distance"]}
