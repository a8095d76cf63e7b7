"""`Dataset` methods for the other tools' formats: thin delegation to `mosaic.interop`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.interop import api as _interop


class InteropMixin:
    """Interop part of the :class:`mosaic.Dataset` facade (movement, NWB, BORIS, DeepLabCut/SLEAP labelling)."""

    def to_movement(self, group: str, sequence: str, include_centroid: bool = True) -> Any:
        """One recording as a movement poses ``xarray.Dataset`` (see :func:`mosaic.interop.api.to_movement`)."""
        return _interop.to_movement(self, group, sequence, include_centroid=include_centroid)

    def export_movement(
        self,
        groups: Any = None,
        sequences: Any = None,
        out_dir: str | os.PathLike | None = None,
        include_centroid: bool = True,
    ) -> list[Path]:
        """Recordings as movement netCDF files (see :func:`mosaic.interop.api.export_movement`)."""
        return _interop.export_movement(self, groups, sequences, out_dir=out_dir, include_centroid=include_centroid)

    def export_nwb(
        self,
        groups: Any = None,
        sequences: Any = None,
        out_dir: str | os.PathLike | None = None,
        label_kinds: Sequence[str] | None = None,
        session_start_time: Any = None,
    ) -> list[Path]:
        """Recordings (+ labels) as NWB files with ndx-pose (see :func:`mosaic.interop.api.export_nwb`)."""
        return _interop.export_nwb(
            self, groups, sequences, out_dir=out_dir, label_kinds=label_kinds, session_start_time=session_start_time
        )

    def export_boris(
        self,
        path: str | os.PathLike | None = None,
        *,
        model: str | None = None,
        run_id: str | None = None,
        kind: str = "behavior",
        groups: Any = None,
        sequences: Any = None,
        skip: Sequence[str] = (),
        project_name: str | None = None,
    ) -> Path:
        """Predictions or labels as a BORIS project for review (see :func:`mosaic.interop.api.export_boris`)."""
        return _interop.export_boris(
            self,
            path,
            model=model,
            run_id=run_id,
            kind=kind,
            groups=groups,
            sequences=sequences,
            skip=skip,
            project_name=project_name,
        )

    def import_boris(
        self, path: str | os.PathLike, kind: str = "behavior_reviewed", overwrite: bool = False, **params: Any
    ) -> Any:
        """A reviewed BORIS project back as labels (see :func:`mosaic.interop.api.import_boris`)."""
        return _interop.import_boris(self, path, kind=kind, overwrite=overwrite, **params)

    def export_labelling_project(self, tool: str, bodyparts: Sequence[str], **kwargs: Any) -> Path:
        """A DeepLabCut or SLEAP labelling project from a frame run (see :func:`mosaic.interop.api.export_labelling_project`)."""
        return _interop.export_labelling_project(self, tool, bodyparts, **kwargs)

    def import_pose_labels(
        self,
        path: str | os.PathLike,
        name: str | None = None,
        *,
        recording: tuple[str, str] | None = None,
        fps: float | None = None,
    ) -> pd.DataFrame:
        """Labelled DLC/SLEAP frames as keypoint labels (see :func:`mosaic.interop.api.import_pose_labels`)."""
        return _interop.import_pose_labels(self, path, name, recording=recording, fps=fps)

    def load_keypoint_labels(self, group: str, sequence: str, name: str = "dlc") -> pd.DataFrame:
        """Keypoint labels of a recording (see :func:`mosaic.interop.api.load_keypoint_labels`)."""
        return _interop.load_keypoint_labels(self, group, sequence, name)
