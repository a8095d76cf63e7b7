"""Body / pose features from keypoints ``poseX<k>``, ``poseY<k>`` (px), keyed by (frame, id).

Row-wise numpy over the long table (no pivot needed). Missing keypoints are NaN and only make
the quantities that use them NaN.

* :class:`BodyLength` — length of the keypoint chain (sum of segment lengths, px), e.g.
  head → spine → tail: ``body_length_px`` (``body_length_cm`` when ``cm_per_pixel`` is known);
* :class:`KeypointDistances` — ``kpdist_<a>_<b>_px`` for every pair a < b of the keypoints;
* :class:`KeypointAngles` — ``kpangle_<a>_<b>_<c>_rad``, the signed turn angle at ``b`` along
  ``a → b → c`` in (-pi, pi] (0 = straight), for consecutive triplets of the chain.
"""

from __future__ import annotations

from itertools import combinations, pairwise
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mosaic.core.errors import FeatureError
from mosaic.tracks.schema import pose_keypoint_indices

from .base import Feature
from .grid import wrap_angle


class _Pose(Feature):
    required_columns = ("frame", "id")
    optional_columns = ("pose*",)
    defaults: ClassVar[dict[str, Any]] = {"keypoints": None, "cm": "auto"}

    def validate_params(self) -> None:
        kp = self.params["keypoints"]
        if kp is not None and (
            not isinstance(kp, (list, tuple))
            or len(kp) < 2
            or not all(isinstance(k, int) and not isinstance(k, bool) for k in kp)
        ):
            raise FeatureError(
                f"bad 'keypoints' for {self.name!r}", expected="list of >= 2 keypoint indices or null", found=kp
            )

    def _keypoints(self, data: pd.DataFrame, minimum: int = 2) -> list[int]:
        avail = pose_keypoint_indices(data.columns)
        kp = list(self.params["keypoints"]) if self.params["keypoints"] is not None else avail
        missing = [k for k in kp if k not in avail]
        if missing or len(kp) < minimum:
            raise FeatureError(
                f"feature {self.name!r} needs keypoint columns",
                group=data.attrs.get("group"),
                sequence=data.attrs.get("sequence"),
                path=data.attrs.get("path"),
                expected=f">= {minimum} keypoints poseX<k>/poseY<k> {kp if kp else ''}".strip(),
                found=f"keypoints {avail}" + (f", missing {missing}" if missing else ""),
            )
        return kp

    def _xy(self, data: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
        return data[f"poseX{k}"].to_numpy(np.float64, na_value=np.nan), data[f"poseY{k}"].to_numpy(
            np.float64, na_value=np.nan
        )

    def _cm(self, data: pd.DataFrame, cols: dict) -> None:
        cm = data.attrs.get("cm_per_pixel")
        if self.params["cm"] is True and not cm:
            raise FeatureError(
                "cm=True needs cm_per_pixel", group=data.attrs.get("group"), sequence=data.attrs.get("sequence")
            )
        if self.params["cm"] and cm:
            for c in [c for c in cols if c.endswith("_px")]:
                cols[c[:-3] + "_cm"] = cols[c] * float(cm)


class BodyLength(_Pose):
    """Body length (px): summed segment lengths along ``keypoints`` (default: all, in index order)."""

    name = "body_length"
    version = "1"

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        kp = self._keypoints(data)
        total = np.zeros(len(data))
        for a, b in pairwise(kp):
            xa, ya = self._xy(data, a)
            xb, yb = self._xy(data, b)
            total = total + np.hypot(xb - xa, yb - ya)
        cols = {"body_length_px": total}
        self._cm(data, cols)
        return pd.DataFrame({"frame": data["frame"].to_numpy(), "id": data["id"].to_numpy(), **cols}, copy=False)


class KeypointDistances(_Pose):
    """Distances (px) between every pair of ``keypoints`` of the same individual."""

    name = "keypoint_distances"
    version = "1"

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        kp = self._keypoints(data)
        xy = {k: self._xy(data, k) for k in kp}
        cols = {
            f"kpdist_{a}_{b}_px": np.hypot(xy[b][0] - xy[a][0], xy[b][1] - xy[a][1]) for a, b in combinations(kp, 2)
        }
        self._cm(data, cols)
        return pd.DataFrame({"frame": data["frame"].to_numpy(), "id": data["id"].to_numpy(), **cols}, copy=False)


class KeypointAngles(_Pose):
    """Signed turn angles (rad) at each interior keypoint of the chain ``keypoints``."""

    name = "keypoint_angles"
    version = "1"
    defaults: ClassVar[dict[str, Any]] = {"keypoints": None, "cm": False}

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        kp = self._keypoints(data, minimum=3)
        xy = {k: self._xy(data, k) for k in kp}
        cols = {}
        for a, b, c in zip(kp[:-2], kp[1:-1], kp[2:]):
            h1 = np.arctan2(xy[b][1] - xy[a][1], xy[b][0] - xy[a][0])
            h2 = np.arctan2(xy[c][1] - xy[b][1], xy[c][0] - xy[b][0])
            cols[f"kpangle_{a}_{b}_{c}_rad"] = wrap_angle(h2 - h1)
        return pd.DataFrame({"frame": data["frame"].to_numpy(), "id": data["id"].to_numpy(), **cols}, copy=False)
