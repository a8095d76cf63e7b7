"""Nodes of the `label` pipeline: raw annotation files → ``labels`` partitions + labels index.

:func:`convert_labels` calls :func:`mosaic.labels.plan_label_conversion`, the same function the
facade's ``convert_all_labels`` calls; Kedro then saves each label set through
:class:`mosaic.datasets.npz_labels.NpzLabelsDataset` (the domain writer) and the index rows
through :class:`~mosaic.datasets.npz_labels.LabelsIndexDataset` (the domain's locked upsert).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.kedro_config import resolve_dataset_dir
from mosaic.labels import (
    LABELS_INDEX,
    LabelSet,
    index_row,
    label_file_path,
    plan_label_conversion,
)
from mosaic.labels.io import INDEX_ROW_COLUMNS, remove_label_pairs

log = logging.getLogger(__name__)
_KEYS = ("kind", "source_format", "overwrite", "if_missing", "params")


def _identity(x: LabelSet) -> LabelSet:
    return x


def _inputs_missing(ds: DatasetCore, params: Mapping[str, Any]) -> bool:
    paths = params.get("paths")
    if not paths:
        return False
    paths = [paths] if isinstance(paths, str) else list(paths)
    return not any(ds.resolve_path(p).exists() for p in paths)


def convert_labels(label: Mapping[str, Any], dataset_dir: str) -> tuple[dict[str, Callable[[], LabelSet]], pd.DataFrame, dict[str, Any]]:
    """Convert the configured annotation files.

    Parameters
    ----------
    label
        The ``label`` parameters: ``kind``, ``source_format``, ``overwrite``, ``if_missing``
        (``'skip'``: no annotation files → warning and nothing to do; ``'error'``) and ``params``
        (the converter's parameters).
    dataset_dir
        The dataset folder.

    Returns
    -------
    tuple
        ``{partition_id: callable -> LabelSet}`` (saved lazily), the index rows of those
        partitions, and the conversion report.
    """
    label = dict(label or {})
    unknown = sorted(set(label) - set(_KEYS))
    if unknown:
        raise ConfigError("unknown keys in label parameters", expected=list(_KEYS), found=unknown)
    if label.get("if_missing", "skip") not in ("skip", "error"):
        raise ConfigError("label.if_missing must be 'skip' or 'error'", found=label.get("if_missing"))
    ds = DatasetCore.open(resolve_dataset_dir(dataset_dir))
    kind = label.get("kind", "behavior")
    params = dict(label.get("params") or {})
    empty = ({}, pd.DataFrame(columns=list(LABELS_INDEX.columns)), {"kind": kind, "written": [], "skipped": [], "issues": []})
    if label.get("if_missing", "skip") == "skip" and _inputs_missing(ds, params):
        log.warning("label: no annotation files at %s; nothing to convert", params.get("paths"))
        return empty
    todo, report = plan_label_conversion(ds, kind, bool(label.get("overwrite", False)), params, label.get("source_format"))
    remove_label_pairs(ds, kind, report.removed)  # labels of recordings the changed annotations no longer hold
    partitions = {ls.key: partial(_identity, ls) for ls in todo}
    rows = pd.DataFrame([index_row(ds, kind, ls, label_file_path(ds, kind, ls.group, ls.sequence)) for ls in todo],
                        columns=list(INDEX_ROW_COLUMNS))
    return partitions, rows, report.to_dict()
