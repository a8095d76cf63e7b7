"""Node of the `label` pipeline: raw annotation files → the planned label conversion.

:func:`convert_labels` plans a :class:`mosaic.labels.LabelConversionBatch` with
:func:`mosaic.labels.plan_label_conversion`, the function the facade's ``convert_all_labels``
calls, and returns it for the ``labels``, ``labels_index@csv`` and ``labels_conversion_report`` catalog
entries (:mod:`mosaic.datasets.npz_labels`): saving any of them runs the batch once — one task per annotation
file on the configured executor, the label files written by the workers, ``labels/<kind>/index.csv``
and ``conversion_report.json`` written once. The node reads no annotation and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.core.executor import EXECUTOR_PARAMS, executor_from_params
from mosaic.labels import LabelConversionBatch, plan_label_conversion

log = logging.getLogger(__name__)
_KEYS = ("kind", "source_format", "overwrite", "if_missing", "params", *EXECUTOR_PARAMS)
#: label formats whose converter takes recording lengths (``n_frames``) from the caller
LENGTH_FORMATS = ("boris_csv", "boris_project")


def _inputs_missing(ds: DatasetCore, params: Mapping[str, Any]) -> bool:
    paths = params.get("paths")
    if not paths:
        return False
    paths = [paths] if isinstance(paths, str) else list(paths)
    return not any(ds.resolve_path(p).exists() for p in paths)


def _checked(label: Mapping[str, Any] | None) -> dict[str, Any]:
    label = dict(label or {})
    unknown = sorted(set(label) - set(_KEYS))
    if unknown:
        raise ConfigError("unknown keys in label parameters", expected=list(_KEYS), found=unknown)
    if label.get("if_missing", "skip") not in ("skip", "error"):
        raise ConfigError("label.if_missing must be 'skip' or 'error'", found=label.get("if_missing"))
    return label


def convert_labels(
    tracks_index: pd.DataFrame, media_index: pd.DataFrame, dataset: DatasetCore, label: Mapping[str, Any]
) -> tuple[LabelConversionBatch, LabelConversionBatch, LabelConversionBatch]:
    """Plan the conversion of the configured annotation files (saving an output runs it, once).

    Parameters
    ----------
    tracks_index
        ``tracks/index.csv`` (``tracks@index``): the recording lengths (BORIS events past a
        recording's end are clipped or dropped and reported; ``background`` fills up to it).
    media_index
        ``media/index.csv`` (``media_index@table``): videos matched to recordings.
    dataset
        The dataset folder (catalog entry ``dataset``).
    label
        ``kind``, ``source_format``, ``overwrite``, ``if_missing`` (``'skip'``: no annotation files
        → warning, nothing to do; ``'error'``), ``params`` (the converter's; an explicit
        ``params.n_frames`` wins over the tracks index) and the executor: ``parallel_mode``,
        ``parallel_workers``, ``dask_address``, ``memory_limit`` (see :mod:`mosaic.core.executor`).

    Returns
    -------
    tuple
        The planned batch, for ``labels``, ``labels_index@csv`` and ``labels_conversion_report``.
    """
    from mosaic.labels.matching import recording_lengths

    label = _checked(label)
    kind, params = label.get("kind", "behavior"), dict(label.get("params") or {})
    if label.get("if_missing", "skip") == "skip" and _inputs_missing(dataset, params):
        log.warning("label: no annotation files at %s; nothing to convert", params.get("paths"))
        batch = LabelConversionBatch.empty(dataset, kind, label.get("source_format"))
        return batch, batch, batch
    lengths = recording_lengths(tracks_index)
    if label.get("source_format") in LENGTH_FORMATS and params.get("n_frames") is None and lengths:
        params["n_frames"] = lengths
    n_media = 0 if media_index is None else len(media_index)
    log.info(
        "label: %d recording length(s) from the tracks index, %d video(s) in the media index", len(lengths), n_media
    )
    executor = executor_from_params(label)
    overwrite = bool(label.get("overwrite", False))
    batch = plan_label_conversion(dataset, kind, overwrite, params, label.get("source_format"), executor=executor)
    return batch, batch, batch
