"""Temporal features over an upstream feature's columns: rolling statistics and lag stacking.

They take an upstream :class:`~mosaic.features.base.Result` as input (``inputs=Result("speed")``)
and keep its key: per individual ``(frame, id)`` or per ordered pair ``(frame, id, id2)``.
Windows and lags are in frames on the full frame axis, so missing frames count as gaps.
Units are those of the source column (a rolling mean of ``speed_px_s`` is in px/s).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mosaic.core.errors import FeatureError

from .base import KEY_INDIVIDUAL, KEY_PAIR, Feature, Inputs
from .grid import Grid

STATS = ("mean", "std", "min", "max", "median", "sum")


def entity_grid(data: pd.DataFrame) -> tuple[Grid, tuple[str, ...]]:
    """Grid over frames × entities, an entity being ``id`` or the ordered pair ``(id, id2)``."""
    if "id2" in data.columns:
        codes, _ = pd.factorize(pd.MultiIndex.from_arrays([data["id"], data["id2"]]))
        return Grid.from_long(data["frame"].to_numpy(), np.asarray(codes, dtype=np.int64)), KEY_PAIR
    return Grid.from_long(data["frame"].to_numpy(), data["id"].to_numpy()), KEY_INDIVIDUAL


def value_columns(data: pd.DataFrame, columns: list[str] | None, feat: Feature) -> list[str]:
    """The float columns to transform (all non-key float columns when ``columns`` is None)."""
    if columns is None:
        return [c for c in data.columns if c not in ("frame", "id", "id2", "time") and data[c].dtype.kind == "f"]
    feat.check_columns(data, columns)
    return list(columns)


def _check_columns_param(feat: Feature) -> None:
    cols = feat.params["columns"]
    if cols is not None and (not isinstance(cols, (list, tuple)) or not all(isinstance(c, str) for c in cols)):
        raise FeatureError(
            f"bad 'columns' for feature {feat.name!r}", expected="list of column names or null", found=cols
        )


class _Temporal(Feature):
    """Base of the temporal features: the output keeps the input's key (``id2`` too for pairs)."""

    default_inputs = Inputs(("tracks",))
    required_columns = ("frame", "id")

    def track_columns(self, available):
        cols = self.params["columns"] or ["X", "Y"]
        return ["frame", "id"] + [c for c in cols if c not in ("frame", "id")]


class Rolling(_Temporal):
    """Rolling statistics over centred (or trailing) windows of frames.

    Parameters
    ----------
    windows : list of int
        Window lengths in frames.
    stats : list of str
        Any of ``mean, std, min, max, median, sum``.
    columns : list of str or None
        Source columns (None: every float column of the input).
    center : bool
        Centred window (else trailing: frames ``t - w + 1 .. t``).
    min_periods : int
        Minimum non-NaN values in a window for a result (else NaN).

    Output columns are ``<column>_roll<w>_<stat>``.
    """

    name = "rolling"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {
        "windows": [15],
        "stats": ["mean", "std", "min", "max"],
        "columns": None,
        "center": True,
        "min_periods": 1,
    }

    def validate_params(self) -> None:
        p = self.params
        if (
            not isinstance(p["windows"], (list, tuple))
            or not p["windows"]
            or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in p["windows"])
        ):
            raise FeatureError(
                "bad 'windows' for rolling", expected="non-empty list of int >= 1 (frames)", found=p["windows"]
            )
        if not isinstance(p["stats"], (list, tuple)) or not p["stats"] or any(s not in STATS for s in p["stats"]):
            raise FeatureError(
                "bad 'stats' for rolling", expected=f"non-empty subset of {list(STATS)}", found=p["stats"]
            )
        if not isinstance(p["min_periods"], int) or p["min_periods"] < 1:
            raise FeatureError("bad 'min_periods' for rolling", expected="int >= 1", found=p["min_periods"])
        _check_columns_param(self)

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self.check_columns(data, ["frame", "id"])
        p = self.params
        grid, key = entity_grid(data)
        out: dict[str, Any] = {k: data[k].to_numpy() for k in key}
        for c in value_columns(data, p["columns"], self):
            dense = pd.DataFrame(grid.dense(data[c].to_numpy(np.float64, na_value=np.nan)))
            for w in p["windows"]:
                r = dense.rolling(w, center=p["center"], min_periods=min(p["min_periods"], w))
                for st in p["stats"]:
                    res = getattr(r, st)().to_numpy()
                    out[f"{c}_roll{w}_{st}"] = grid.take(res)
        return pd.DataFrame(out, copy=False)


class Lags(_Temporal):
    """Lag stacking: the value ``k`` frames earlier (``k < 0``: later) for each source column.

    Parameters
    ----------
    lags : list of int
        Offsets in frames (non-zero).
    columns : list of str or None
        Source columns (None: every float column of the input).

    Output columns are ``<column>_lag<k>`` (``<column>_lead<|k|>`` for negative k).
    """

    name = "lags"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {"lags": [1, 2, 4, 8], "columns": None}

    def validate_params(self) -> None:
        lags = self.params["lags"]
        if (
            not isinstance(lags, (list, tuple))
            or not lags
            or any(not isinstance(k, int) or isinstance(k, bool) or k == 0 for k in lags)
        ):
            raise FeatureError("bad 'lags'", expected="non-empty list of non-zero int (frames)", found=lags)
        _check_columns_param(self)

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        self.check_columns(data, ["frame", "id"])
        grid, key = entity_grid(data)
        out: dict[str, Any] = {k: data[k].to_numpy() for k in key}
        for c in value_columns(data, self.params["columns"], self):
            dense = grid.dense(data[c].to_numpy(np.float64, na_value=np.nan))
            for k in self.params["lags"]:
                sh = np.full_like(dense, np.nan)
                if abs(k) < grid.T:
                    if k > 0:
                        sh[k:] = dense[:-k]
                    else:
                        sh[:k] = dense[-k:]
                out[f"{c}_lag{k}" if k > 0 else f"{c}_lead{-k}"] = grid.take(sh)
        return pd.DataFrame(out, copy=False)
