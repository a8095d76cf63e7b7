"""Converting indexed raw tracking files into ``tracks/<group>__<sequence>.parquet``.

The facade of conversion (:func:`convert_all_tracks`, :func:`convert_one_track`,
:func:`load_tracks`) over modules with one job each: :mod:`~mosaic.tracks.jobs` plans jobs
from the raw index, :mod:`~mosaic.tracks.batch` holds :class:`ConversionBatch` — the one place
that converts, validates, writes and records, whose :meth:`ConversionBatch.run` is the one write
loop of the facade and of the Kedro ``tracks`` dataset —, :mod:`~mosaic.tracks.staleness`
compares raw-file fingerprints and :mod:`~mosaic.tracks.tracks_index` writes
``tracks/index.csv``. Their names are re-exported here.

Skipping: an output that exists is not converted again unless ``overwrite`` — or unless it
is stale: every output records the fingerprints of its raw files (size, mtime and, for files
up to :data:`~mosaic.core.run_ids.CONTENT_HASH_LIMIT`, a SHA-256), and a raw file edited,
replaced, added to or removed from a recording since makes the output stale. Stale outputs
are converted again (``on_stale='reconvert'``) or refused with a
:class:`~mosaic.core.errors.StaleOutputError` listing them (``on_stale='raise'``). Errors: bad
files are listed in ``tracks/conversion_report.json`` and, at the end, a
:class:`~mosaic.core.errors.BatchError` lists them (``on_error='skip'``: a warning).
Writes are atomic, so a failed or interrupted run never damages converted files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, StaleOutputError, TracksNotFoundError
from mosaic.core.numeric import count_distinct

from .batch import ON_ERROR, ON_STALE, REPORT_NAME, ConversionBatch, finalize_table
from .converters import MULTI_SEQUENCE_FORMATS
from .io import read_tracks
from .jobs import (
    Job,
    effective_params,
    effective_params_with_origin,
    job_for_row,
    plan_jobs,
    raw_index_path,
    raw_jobs_for,
    read_raw_index,
    row_value,
)
from .staleness import stale_on_load, stale_reason
from .tracks_index import (
    TRACKS_INDEX_EXTRA,
    index_row,
    output_path,
    save_tracks_index_rows,
    standard_path,
    tracks_index_path,
)

__all__ = [
    "ON_ERROR",
    "ON_STALE",
    "REPORT_NAME",
    "TRACKS_INDEX_EXTRA",
    "ConversionBatch",
    "Job",
    "convert_all_tracks",
    "convert_one_track",
    "count_distinct",
    "effective_params",
    "effective_params_with_origin",
    "finalize_table",
    "index_row",
    "job_for_row",
    "load_tracks",
    "output_path",
    "plan_jobs",
    "raw_index_path",
    "raw_jobs_for",
    "read_raw_index",
    "row_value",
    "save_tracks_index_rows",
    "stale_on_load",
    "stale_reason",
    "standard_path",
    "tracks_index_path",
]


def convert_all_tracks(
    ds: DatasetCore,
    params: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    merge_per_sequence: bool | None = None,
    group_from: str | None = None,
    on_error: str = "raise",
    on_stale: str = "reconvert",
    parallel_mode: str = "serial",
    parallel_workers: int | None = None,
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
) -> dict[str, Any]:
    """Convert every file of ``tracks_raw/index.csv`` into ``trex_v1`` parquet.

    Parameters
    ----------
    ds
        The dataset.
    params
        Converter params: scalars apply to every format (``fps``, ``cm_per_pixel``,
        ``likelihood_threshold``...), ``{'<src_format>': {...}}`` blocks to one format.
        Dataset meta ``fps_default``/``cm_per_pixel`` fill in when absent; file values win.
    overwrite
        Convert again even when the output exists (default: skip, so reruns are no-ops).
    merge_per_sequence
        Merge per-individual files (TRex) of one (group, sequence); default on.
    group_from
        For CalMS21: ``'infile'`` (default), ``'filename'`` or ``'both'``.
    on_error
        ``'raise'`` (default): after converting the good files, raise :class:`BatchError`
        listing the failed ones; ``'skip'``: warn instead.
    on_stale
        Outputs whose raw files changed since they were converted: ``'reconvert'`` (default)
        or ``'raise'`` (:class:`StaleOutputError` listing them; nothing written).
    parallel_mode, parallel_workers, dask_address, memory_limit
        How recordings are converted: ``'serial'`` (default), ``'thread'``, ``'process'`` or
        ``'dask'`` (see :mod:`mosaic.core.executor`). Each worker reads its raw files and
        writes its track file; the index is written once, in recording order.

    Returns
    -------
    dict
        The conversion report (also written to ``tracks/conversion_report.json``).
    """
    from mosaic.core.executor import ExecutorConfig

    config = ExecutorConfig(parallel_mode, parallel_workers, dask_address, memory_limit)
    batch = ConversionBatch.from_index(
        ds, None, params, overwrite, merge_per_sequence, group_from, on_error, on_stale=on_stale
    )
    return batch.run(progress_desc="convert tracks", executor=config)


def convert_one_track(
    ds: DatasetCore,
    row: Mapping[str, Any] | pd.Series,
    params: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path | list[Path]:
    """Convert the recording of one raw index row and return the written file.

    For per-individual formats (TRex) the row stands for its recording: every indexed file
    of the same (group, sequence) is merged. A multi-sequence file (CalMS21) returns the
    list of its files. An existing output is returned untouched unless ``overwrite``.

    Raises
    ------
    MosaicError
        The first error (e.g. :class:`TrackFormatError` naming the file).
    """
    job = job_for_row(ds, row)
    batch = ConversionBatch(ds, [job], params, overwrite, on_error="raise", fail_fast=True)
    batch.run(write_report=False)
    paths = [output_path(ds, r["group"], r["sequence"]) for r in batch.rows.values()]
    if not job.multi:
        return output_path(ds, job.group, job.sequence)
    return sorted(paths)


def load_tracks(
    ds: DatasetCore,
    group: str,
    sequence: str,
    prefer: str = "standard",
    auto_convert: bool = True,
    convert_params: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The ``trex_v1`` table of (group, sequence).

    Parameters
    ----------
    prefer
        ``'standard'``: the converted file when present, else convert from raw (when
        ``auto_convert``) and write it. ``'raw'``: convert from the raw file in memory
        (nothing written), falling back to the standard file when no raw file is indexed.
    auto_convert
        Allow converting (and writing) a missing standard file from raw.
    convert_params
        Converter params for a conversion (see :func:`convert_all_tracks`).

    Raises
    ------
    TracksNotFoundError
        Neither a standard file nor (allowed) a raw source exists (a
        :class:`SequenceNotFoundError` and a :class:`FileNotFoundError`).
    StaleOutputError
        The standard file's raw files changed since conversion and ``auto_convert`` is off
        (with ``auto_convert`` it is converted again).
    """
    if prefer not in ("standard", "raw"):
        raise ConfigError("unknown prefer", expected=["standard", "raw"], found=prefer)
    std = standard_path(ds, group, sequence)
    if prefer == "standard" and std.exists():
        df = _read_fresh(ds, group, sequence, std, auto_convert)
        if df is not None:
            return df
    if prefer == "raw" or auto_convert:
        df = _convert_for_load(ds, group, sequence, prefer, convert_params)
        if df is not None:
            return df
        std = standard_path(ds, group, sequence)
    return _read_without_raw(ds, group, sequence, std, prefer, auto_convert)


def _read_fresh(ds: DatasetCore, group: str, sequence: str, std: Path, auto_convert: bool) -> pd.DataFrame | None:
    """The standard file when it is not stale; None when stale and ``auto_convert`` (convert it again).

    Stale without ``auto_convert`` is a :class:`StaleOutputError`.
    """
    why = stale_on_load(ds, group, sequence, std)
    if why is None:
        return read_tracks(std, group=group, sequence=sequence)
    if not auto_convert:
        raise StaleOutputError(
            "converted tracks are stale: their raw files changed since conversion",
            path=std,
            group=group,
            sequence=sequence,
            found=why,
            hint="convert again (convert_all_tracks) or pass auto_convert=True",
        )
    return None


def _read_without_raw(
    ds: DatasetCore, group: str, sequence: str, std: Path, prefer: str, auto_convert: bool
) -> pd.DataFrame:
    """The standard file when no conversion made it (refused when stale: nothing to convert it from), else not found."""
    if std.exists():
        why = stale_on_load(ds, group, sequence, std) if prefer == "standard" else None
        if why is not None:  # no raw index entry to convert it from again
            raise StaleOutputError(
                "converted tracks are stale and cannot be converted again",
                path=std,
                group=group,
                sequence=sequence,
                found=why,
                hint="index the raw files (index_tracks_raw), then convert_all_tracks",
            )
        return read_tracks(std, group=group, sequence=sequence)
    raw_index = raw_index_path(ds)
    raise TracksNotFoundError(
        "no standardized tracks for this recording"
        + ("" if auto_convert or prefer == "raw" else " (auto_convert is off)")
        + ("" if raw_index.exists() else f" and no raw-tracks index ({raw_index})"),
        path=std,
        group=group,
        sequence=sequence,
        hint="index raw files with index_tracks_raw and convert them (convert_all_tracks), or check the names",
    )


def _convert_for_load(
    ds: DatasetCore, group: str, sequence: str, prefer: str, convert_params: Mapping[str, Any] | None
) -> pd.DataFrame | None:
    """(group, sequence) converted from its raw jobs: in memory (``'raw'``) or written and read back (None: no job made it)."""
    for job in raw_jobs_for(ds, group, sequence):
        batch = ConversionBatch(ds, [job], convert_params, overwrite=prefer == "raw", fail_fast=True)
        if prefer == "raw":
            seq = "" if job.src_format in MULTI_SEQUENCE_FORMATS else job.sequence
            for t in batch.convert_job(job, job.group, seq):
                if (t.group, t.sequence) == (group, sequence):
                    return t.df
            continue
        batch.run(write_report=False)
        std = standard_path(ds, group, sequence)
        if std.exists():
            return read_tracks(std, group=group, sequence=sequence)
    return None
