"""Nodes of the `label` pipeline: raw annotation files → ``labels`` partitions + labels index.

:func:`convert_labels` calls :func:`mosaic.labels.plan_label_conversion`, the same function the
facade's ``convert_all_labels`` calls; Kedro then saves each label set through
:class:`mosaic.datasets.npz_labels.NpzLabelsDataset` (the domain writer) and the index rows
through :class:`~mosaic.datasets.npz_labels.LabelsIndexDataset` (the domain's locked upsert, after
removing the labels of recordings the annotations no longer hold). The node writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.labels import (
    LABELS_INDEX,
    LabelSet,
    index_row,
    label_file_path,
    plan_label_conversion,
)
from mosaic.labels.io import INDEX_ROW_COLUMNS

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


#: label formats whose converter takes recording lengths (``n_frames``) from the caller
LENGTH_FORMATS = ("boris_csv", "boris_project")


def convert_labels(
    tracks_index: pd.DataFrame, media_index: pd.DataFrame, dataset: DatasetCore, label: Mapping[str, Any]
) -> tuple[dict[str, Callable[[], LabelSet]], pd.DataFrame, dict[str, Any]]:
    """Convert the configured annotation files.

    Parameters
    ----------
    tracks_index
        ``tracks/index.csv`` (``tracks@index``): the recording lengths. Events past a recording's
        end are clipped or dropped and reported, and ``background`` fills up to that length.
    media_index
        ``media/index.csv`` (``media_index@table``): videos matched to recordings, which the
        annotation matcher uses to name the recording of each observation.
    dataset
        The dataset folder (catalog entry ``dataset``).
    label
        The ``label`` parameters: ``kind``, ``source_format``, ``overwrite``, ``if_missing``
        (``'skip'``: no annotation files → warning and nothing to do; ``'error'``) and ``params``
        (the converter's parameters; an explicit ``params.n_frames`` wins over the tracks index).

    Returns
    -------
    tuple
        ``{partition_id: callable -> LabelSet}`` (saved lazily), the index update
        ``{'kind', 'rows', 'removed'}`` (the rows of those partitions, and the recordings whose
        annotations are gone: saving ``labels_index`` removes their files and rows), and the
        conversion report.
    """
    from mosaic.labels.matching import recording_lengths

    label = dict(label or {})
    unknown = sorted(set(label) - set(_KEYS))
    if unknown:
        raise ConfigError("unknown keys in label parameters", expected=list(_KEYS), found=unknown)
    if label.get("if_missing", "skip") not in ("skip", "error"):
        raise ConfigError("label.if_missing must be 'skip' or 'error'", found=label.get("if_missing"))
    ds = dataset
    kind = label.get("kind", "behavior")
    params = dict(label.get("params") or {})
    empty = (
        {},
        {"kind": kind, "rows": pd.DataFrame(columns=list(LABELS_INDEX.columns)), "removed": []},
        {"kind": kind, "written": [], "skipped": [], "issues": []},
    )
    if label.get("if_missing", "skip") == "skip" and _inputs_missing(ds, params):
        log.warning("label: no annotation files at %s; nothing to convert", params.get("paths"))
        return empty
    source_format = label.get("source_format")
    lengths = recording_lengths(tracks_index)
    if source_format in LENGTH_FORMATS and params.get("n_frames") is None and lengths:
        params["n_frames"] = lengths
    log.info(
        "label: %d recording length(s) from the tracks index, %d video(s) in the media index",
        len(lengths),
        0 if media_index is None else len(media_index),
    )
    todo, report = plan_label_conversion(ds, kind, bool(label.get("overwrite", False)), params, source_format)
    partitions = {ls.key: partial(_identity, ls) for ls in todo}
    rows = pd.DataFrame(
        [index_row(ds, kind, ls, label_file_path(ds, kind, ls.group, ls.sequence)) for ls in todo],
        columns=list(INDEX_ROW_COLUMNS),
    )
    # recordings the changed annotations no longer hold: `labels_index` removes their files and rows on save
    update = {"kind": kind, "rows": rows, "removed": [list(p) for p in report.removed]}
    return partitions, update, report.to_dict()
