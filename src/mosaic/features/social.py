"""Social features of each individual within its group, keyed by (frame, id).

* :class:`NearestNeighbor` — ids and distances (px) of the ``k`` nearest other individuals
  (``nn<r>_id``, ``nn<r>_dist_px`` for r = 1..k; null id / NaN distance when fewer exist, or
  fewer lie within ``radius``); found per frame chunk by :mod:`mosaic.features.neighbors`
  (a dense sort for small groups, a k-d tree for large ones: cost grows with ``n · k``);
* :class:`CentroidDistance` — distance (px) to the group centroid (mean position of the
  individuals present in that frame), ``centroid_dist_px``, plus ``n_present``;
* :class:`Polarization` — length of the mean unit heading vector over the individuals with a
  heading in that frame, in [0, 1] (1 = all aligned), repeated on each individual's row.

All on dense ``(frames × n [× n])`` arrays, in frame chunks for the pairwise ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mosaic.core.errors import FeatureError
from mosaic.core.limits import check_alloc
from mosaic.core.validate import int_at_least

from .base import Feature
from .grid import Grid, derivative
from .kinematics import HEADING_DEFAULTS, check_heading_source, heading_of
from .neighbors import chunk_frames, select_neighbors

CHUNK_FRAMES = 4096
#: nearest neighbours of small groups: (frames × n × n) cells per chunk of the dense sort (its
#: temporaries are a few such blocks; a neighbour's rank does not depend on the chunk)
NN_DENSE_CELLS = 1 << 16


def _ids_column(ids: np.ndarray, idx: np.ndarray, valid: np.ndarray):
    """Neighbour ids as a column: nullable Int64 for integer ids, object with None otherwise."""
    if ids.dtype.kind in "iu":
        vals = ids[np.where(valid, idx, 0)] if len(ids) else np.zeros(len(idx), dtype=np.int64)
        return pd.arrays.IntegerArray(vals.astype(np.int64), ~valid)
    out = np.empty(len(idx), dtype=object)
    out[valid] = ids[idx[valid]]
    out[~valid] = None
    return out


def _cm_columns(cols: dict, cm: float | None) -> None:
    if cm:
        for k in [k for k in cols if k.endswith("_px")]:
            cols[k[:-3] + "_cm"] = cols[k] * float(cm)


def _check_cm(feat: Feature, data: pd.DataFrame) -> float | None:
    cm = data.attrs.get("cm_per_pixel")
    if feat.params.get("cm") is True and not cm:
        raise FeatureError(
            "cm=True needs cm_per_pixel", group=data.attrs.get("group"), sequence=data.attrs.get("sequence")
        )
    return cm if feat.params.get("cm") else None


class NearestNeighbor(Feature):
    """The ``k`` nearest neighbours of each individual: ids and distances (px).

    Parameters
    ----------
    k : int
        Number of neighbours (>= 1).
    radius : float or None
        Ignore partners farther than this (px).
    cm : {'auto', True, False}
        Add ``nn<r>_dist_cm`` when ``cm_per_pixel`` is known.
    """

    name = "nearest_neighbor"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {"k": 1, "radius": None, "cm": "auto"}
    required_columns = ("frame", "id", "X", "Y")

    def validate_params(self) -> None:
        k = self.params["k"]
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise FeatureError("bad 'k' for nearest_neighbor", expected="int >= 1", found=k)
        r = self.params["radius"]
        if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or not np.isfinite(r) or r <= 0):
            raise FeatureError("bad 'radius' for nearest_neighbor", expected="None or a distance > 0 (px)", found=r)
        if self.params["cm"] not in ("auto", True, False):
            raise FeatureError("bad 'cm'", expected=["auto", True, False], found=self.params["cm"])

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        parts = list(self.apply_chunks(data))
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

    def apply_chunks(self, data: pd.DataFrame) -> Iterator[pd.DataFrame]:
        """The output frame chunk by frame chunk (one chunk when ``data`` is not sorted by frame)."""
        self.check_columns(data)
        cm = _check_cm(self, data)
        k = self.params["k"]
        frame, ids = data["frame"].to_numpy(), data["id"].to_numpy()
        grid = Grid.from_long(frame, ids)
        X = grid.dense(data["X"].to_numpy(np.float64))
        Y = grid.dense(data["Y"].to_numpy(np.float64))
        n = grid.n
        # k beyond the number of individuals asks for columns that can only be NaN (and memory T x n x k)
        int_at_least(
            k,
            "k",
            1,
            maximum=max(n, 1),
            error=FeatureError,
            group=data.attrs.get("group"),
            sequence=data.attrs.get("sequence"),
            path=data.attrs.get("path"),
            hint=f"this recording has {n} individual(s); use k <= {max(n, 1)}",
        )
        radius = None if self.params["radius"] is None else float(self.params["radius"])
        del data  # the positions live on in X, Y: a caller that let go of the table frees its columns now
        step = chunk_frames(n, CHUNK_FRAMES, cells=NN_DENSE_CELLS)
        if len(frame) > 1 and bool(np.any(frame[1:] < frame[:-1])):  # rows out of frame order: one output
            check_alloc(float(grid.T) * n * k, 16, f"nearest_neighbor with k={k}", FeatureError)
            nn_idx, nn_d = np.zeros((grid.T, n, k), dtype=np.int64), np.full((grid.T, n, k), np.nan)
            for a in range(0, grid.T, step):
                self._fill(X, Y, a, min(grid.T, a + step), radius, nn_idx[a : a + step], nn_d[a : a + step])
            yield self._rows(grid, nn_idx, nn_d, grid.flat, frame, ids, cm)
            return
        for a in range(0, grid.T, step) if grid.T else [0]:
            b = min(grid.T, a + step)
            r0, r1 = np.searchsorted(frame, [grid.frame0 + a, grid.frame0 + b], side="left").tolist()
            nn_idx, nn_d = np.zeros((b - a, n, k), dtype=np.int64), np.full((b - a, n, k), np.nan)
            self._fill(X, Y, a, b, radius, nn_idx, nn_d)
            yield self._rows(grid, nn_idx, nn_d, grid.flat[r0:r1] - a * n, frame[r0:r1], ids[r0:r1], cm)

    def _fill(
        self, X: np.ndarray, Y: np.ndarray, a: int, b: int, radius: float | None, nn_idx: np.ndarray, nn_d: np.ndarray
    ) -> None:
        """Neighbour indices and distances of frames ``[a, b)`` of the grid into ``(b - a, n, k)`` arrays."""
        if b <= a:
            return
        t, i, j, rank = select_neighbors(X[a:b], Y[a:b], self.params["k"], radius)
        nn_idx[t, i, rank - 1] = j
        t = t + a
        nn_d[t - a, i, rank - 1] = np.hypot(X[t, j] - X[t, i], Y[t, j] - Y[t, i])

    def _rows(
        self,
        grid: Grid,
        nn_idx: np.ndarray,
        nn_d: np.ndarray,
        flat: np.ndarray,
        frame: np.ndarray,
        ids: np.ndarray,
        cm: float | None,
    ) -> pd.DataFrame:
        """Output rows of the cells ``flat`` of ``(frames, n, k)`` neighbour arrays."""
        out: dict[str, Any] = {"frame": frame, "id": ids}
        cols: dict[str, np.ndarray] = {}
        for r in range(nn_idx.shape[2]):
            dist = np.take(np.ascontiguousarray(nn_d[:, :, r]).reshape(-1), flat)
            idx = np.take(np.ascontiguousarray(nn_idx[:, :, r]).reshape(-1), flat)
            out[f"nn{r + 1}_id"] = _ids_column(grid.ids, idx, ~np.isnan(dist))
            cols[f"nn{r + 1}_dist_px"] = dist
        _cm_columns(cols, cm)
        out.update(cols)
        return pd.DataFrame(out, copy=False)


class CentroidDistance(Feature):
    """Distance (px) of each individual to the centroid of the individuals present in the frame.

    Parameters
    ----------
    exclude_self : bool
        Centroid of the *other* individuals instead of all of them.
    cm : {'auto', True, False}
    """

    name = "centroid_distance"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {"exclude_self": False, "cm": "auto"}
    required_columns = ("frame", "id", "X", "Y")

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self.check_columns(data)
        cm = _check_cm(self, data)
        grid = Grid.from_long(data["frame"].to_numpy(), data["id"].to_numpy())
        X = grid.dense(data["X"].to_numpy(np.float64))
        Y = grid.dense(data["Y"].to_numpy(np.float64))
        ok = ~(np.isnan(X) | np.isnan(Y))
        cnt = ok.sum(axis=1, keepdims=True).astype(np.float64)
        sx = np.where(ok, X, 0.0).sum(axis=1, keepdims=True)
        sy = np.where(ok, Y, 0.0).sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.params["exclude_self"]:
                m = cnt - ok
                cx = (sx - np.where(ok, X, 0.0)) / m
                cy = (sy - np.where(ok, Y, 0.0)) / m
            else:
                cx, cy = sx / cnt, sy / cnt
        d = np.hypot(X - cx, Y - cy)
        cols = {"centroid_dist_px": grid.take(d)}
        _cm_columns(cols, cm)
        out = {
            "frame": data["frame"].to_numpy(),
            "id": data["id"].to_numpy(),
            **cols,
            "n_present": grid.take(np.broadcast_to(cnt, X.shape)).astype(np.int64),
        }
        return pd.DataFrame(out, copy=False)


class Polarization(Feature):
    """Group polarization per frame: ``|mean(cos h, sin h)|`` over individuals with a heading.

    Parameters
    ----------
    heading_source, head_keypoint, tail_keypoint, min_speed, method, fps
        How headings are found (see :class:`~mosaic.features.kinematics.Kinematics`).
    """

    name = "polarization"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {
        **HEADING_DEFAULTS,
        "method": "central",
        "fps": None,
    }
    required_columns = ("frame", "id", "X", "Y")
    optional_columns = ("ANGLE", "pose*")

    def validate_params(self) -> None:
        check_heading_source(self.params)

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self.check_columns(data)
        p = self.params
        grid = Grid.from_long(data["frame"].to_numpy(), data["id"].to_numpy())
        vx = vy = None
        if not ("ANGLE" in data.columns and p["heading_source"] in ("auto", "angle")):
            dt = 1.0 / (float(p["fps"]) if p["fps"] else self.fps_of(data))
            vx = derivative(grid.dense(data["X"].to_numpy(np.float64)), dt, p["method"])
            vy = derivative(grid.dense(data["Y"].to_numpy(np.float64)), dt, p["method"])
        H = heading_of(data, grid, vx, vy, p)
        ok = ~np.isnan(H)
        cnt = ok.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(ok, np.cos(H), 0.0).sum(axis=1) / cnt
            s = np.where(ok, np.sin(H), 0.0).sum(axis=1) / cnt
        pol = np.hypot(c, s)
        pol[cnt == 0] = np.nan
        return pd.DataFrame(
            {"frame": data["frame"].to_numpy(), "id": data["id"].to_numpy(), "polarization": pol[grid.t]}
        )
