"""`Dataset` methods for the labels domain: thin delegation to `mosaic.labels`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic import labels as _labels


class LabelsMixin:
    """Labels part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.labels`)."""

    def convert_all_labels(
        self,
        kind: str = "behavior",
        overwrite: bool = False,
        params: Mapping[str, Any] | None = None,
        source_format: str | None = None,
        parallel_mode: str = "serial",
        parallel_workers: int | None = None,
        dask_address: str | None = None,
        memory_limit: str | int | None = None,
        **kwargs: Any,
    ) -> _labels.LabelConversionReport:
        """Convert annotation files (BORIS, CalMS21, ...) to ``labels/<kind>/``; see :func:`mosaic.labels.convert_all_labels`."""
        return _labels.convert_all_labels(
            self,
            kind=kind,
            overwrite=overwrite,
            params=params,
            source_format=source_format,
            parallel_mode=parallel_mode,
            parallel_workers=parallel_workers,
            dask_address=dask_address,
            memory_limit=memory_limit,
            **kwargs,
        )

    def convert_labels_custom(
        self,
        converter_fn: Callable[..., Any],
        kind: str = "behavior",
        label_format: str = "individual_pair_v1",
        overwrite: bool = False,
        **kwargs: Any,
    ) -> int:
        """Run a user label converter and index its files; see :func:`mosaic.labels.convert_labels_custom`."""
        return _labels.convert_labels_custom(
            self, converter_fn, kind=kind, label_format=label_format, overwrite=overwrite, **kwargs
        )

    def list_label_converters(self) -> list[tuple[str, str]]:
        """Registered ``(source_format, kind)`` label converters."""
        return _labels.list_label_converters()

    def load_labels(self, group: str, sequence: str, kind: str = "behavior") -> dict[str, Any]:
        """Labels of one recording; see :func:`mosaic.labels.load_labels`."""
        return _labels.load_labels(self, group, sequence, kind=kind)

    def get_label_map(self, kind: str = "behavior") -> dict[int, str]:
        """``{label_id: name}`` of a label kind; see :func:`mosaic.labels.get_label_map`."""
        return _labels.get_label_map(self, kind)

    def get_labels_for_individual(
        self,
        group: str,
        sequence: str,
        individual_id: int,
        kind: str = "behavior",
        frame_range: tuple[int | None, int | None] | None = None,
    ) -> dict[str, np.ndarray]:
        """Label rows of one individual (``frames``, ``labels``, ``individual_ids``); see :func:`mosaic.labels.get_labels_for_individual`."""
        return _labels.get_labels_for_individual(
            self, group, sequence, individual_id, kind=kind, frame_range=frame_range
        )

    def get_labels_at_frame(
        self, group: str, sequence: str, frame: int, kind: str = "behavior", individual_id: int | None = None
    ) -> dict[str, np.ndarray]:
        """Label rows at one frame (``frames``, ``labels``, ``individual_ids``); see :func:`mosaic.labels.get_labels_at_frame`."""
        return _labels.get_labels_at_frame(self, group, sequence, frame, kind=kind, individual_id=individual_id)

    def get_labels_table(
        self,
        group: str,
        sequence: str,
        kind: str = "behavior",
        individual_id: int | None = None,
        frame: int | None = None,
        frame_range: tuple[int | None, int | None] | None = None,
    ) -> pd.DataFrame:
        """Label rows as a table ``frame, id, id2, label, label_name``; see :func:`mosaic.labels.get_labels_table`."""
        return _labels.get_labels_table(
            self, group, sequence, kind=kind, individual_id=individual_id, frame=frame, frame_range=frame_range
        )

    def labels_to_dense(
        self, label_dict: Mapping[str, Any], frames=None, ids=None, background: int | str | None = None
    ) -> pd.DataFrame:
        """Per-(frame, id) label table; see :func:`mosaic.labels.labels_to_dense`."""
        return _labels.labels_to_dense(label_dict, frames, ids, background=background)

    def save_id_labels(
        self,
        kind: str,
        group: str,
        sequence: str,
        per_id_labels: Mapping[Any, Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Save per-individual tags of one recording; see :func:`mosaic.labels.save_id_labels`."""
        return _labels.save_id_labels(
            self, kind, group, sequence, per_id_labels, metadata=metadata, overwrite=overwrite
        )

    def convert_id_tags_from_csv(
        self,
        csv_path: str | Path,
        csv_type: str = "focal",
        all_ids: Iterable[int] | Mapping[str, Iterable[int]] | None = None,
        overwrite: bool = False,
        focal_id_column: str = "focal_id",
        id_column: str = "id",
        category_column: str = "category",
        field_columns: Iterable[str] | None = None,
    ) -> list[Path]:
        """Convert a per-individual tags CSV; see :func:`mosaic.labels.convert_id_tags_from_csv`."""
        return _labels.convert_id_tags_from_csv(
            self,
            csv_path,
            csv_type=csv_type,
            all_ids=all_ids,
            overwrite=overwrite,
            focal_id_column=focal_id_column,
            id_column=id_column,
            category_column=category_column,
            field_columns=field_columns,
        )

    def load_id_labels(
        self, kind: str = "id_tags", groups: Iterable[str] | None = None, sequences: Iterable[str] | None = None
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Per-individual tags of every recording; see :func:`mosaic.labels.load_id_labels`."""
        return _labels.load_id_labels(self, kind=kind, groups=groups, sequences=sequences)
