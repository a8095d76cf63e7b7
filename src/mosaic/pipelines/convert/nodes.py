"""Node of the `convert` pipeline: raw index → the planned conversion of every recording.

:func:`convert_tracks` plans a :class:`mosaic.tracks.convert.ConversionBatch` (the object the
facade's ``convert_all_tracks`` drives) and returns it; the ``tracks@parquet`` catalog entry
(:class:`mosaic.datasets.tracks_parquet.TracksPartitionsDataset`) saves it by running it in the
same process: one recording converted and written at a time, ``tracks/index.csv`` upserted once,
the conversion report written. :func:`check_tracks_conversion` then reads that report
(``tracks@report``) and raises the named error listing the failed files (``on_error: raise``)
or logs them (``skip``). Nothing is passed between nodes but data files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError, ConfigError
from mosaic.core.executor import EXECUTOR_PARAMS, executor_from_params
from mosaic.tracks.convert import ON_ERROR, ConversionBatch

log = logging.getLogger(__name__)
_KEYS = ("params", "overwrite", "merge_per_sequence", "group_from", "on_error", "on_stale", *EXECUTOR_PARAMS)


def convert_tracks(tracks_raw_index: pd.DataFrame, dataset: DatasetCore, convert: Mapping[str, Any]) -> ConversionBatch:
    """Plan the conversion of every raw index row of ``dataset``; saving the result converts.

    Parameters
    ----------
    tracks_raw_index
        ``tracks_raw/index.csv`` (the ``ingest`` pipeline's output).
    dataset
        The dataset folder (catalog entry ``dataset``): roots and metadata defaults.
    convert
        ``params``, ``overwrite``, ``merge_per_sequence``, ``group_from``, ``on_error``,
        ``on_stale`` — the keyword arguments of ``Dataset.convert_all_tracks``.
    """
    convert = dict(convert or {})
    unknown = sorted(set(convert) - set(_KEYS))
    if unknown:
        raise ConfigError("unknown keys in convert parameters", expected=list(_KEYS), found=unknown)
    on_error = convert.get("on_error", "raise")
    if on_error not in ON_ERROR:
        raise ConfigError("unknown convert.on_error", expected=list(ON_ERROR), found=on_error)
    batch = ConversionBatch.from_index(
        dataset,
        tracks_raw_index,
        params=convert.get("params") or {},
        overwrite=bool(convert.get("overwrite", False)),
        merge_per_sequence=convert.get("merge_per_sequence"),
        group_from=convert.get("group_from"),
        on_error=on_error,
        on_stale=convert.get("on_stale", "reconvert"),
    )
    batch.executor = executor_from_params(convert)  # the executor `tracks@parquet` runs the batch on
    return batch


class TracksConversionError(BatchError):
    """Raw files that failed to convert (``convert.on_error: raise``), named with their errors.

    A :class:`~mosaic.core.errors.BatchError` that survives pickling, so ``ParallelRunner`` hands
    it back from its worker process unchanged.
    """

    def __init__(self, problem: str, failures: dict[str, str], **kwargs: Any) -> None:
        self._init_args = (problem, dict(failures), dict(kwargs))
        super().__init__(problem, failures, **kwargs)

    def __reduce__(self):
        return (_rebuild_error, self._init_args)


def _rebuild_error(problem: str, failures: dict[str, str], kwargs: dict[str, Any]) -> TracksConversionError:
    return TracksConversionError(problem, failures, **kwargs)


def check_tracks_conversion(report: Mapping[str, Any], convert: Mapping[str, Any]) -> None:
    """Raise (``on_error: raise``) or log (``skip``) the files that failed to convert.

    Parameters
    ----------
    report
        ``tracks/conversion_report.json`` (``tracks@report``) written when ``tracks@parquet`` was
        saved: ``converted``, ``skipped`` and ``failed`` (``{file label: error}``).
    convert
        The ``convert`` parameters (``on_error``).

    Raises
    ------
    TracksConversionError
        Some files failed and ``on_error`` is ``raise``; the good files are already written and indexed.
    """
    failed = dict((report or {}).get("failed") or {})
    log.info(
        "tracks: %d converted, %d already converted, %d failed",
        len(report.get("converted") or []),
        len(report.get("skipped") or []),
        len(failed),
    )
    if not failed:
        return
    if (convert or {}).get("on_error", "raise") == "raise":
        raise TracksConversionError(
            "some tracking files failed to convert",
            failed,
            hint="fix or remove them and run again, or set convert.on_error: skip",
        )
    for label, msg in failed.items():
        log.warning("not converted: %s: %s", label, msg)
