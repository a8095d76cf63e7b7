"""Converting indexed raw tracking files into ``tracks/<group>__<sequence>.parquet``.

:class:`ConversionBatch` is the one place that plans, converts, validates and records a
batch; the facade (:func:`convert_all_tracks`, :func:`convert_one_track`) drives it in a
loop, and the Kedro ``convert`` pipeline hands its lazy :meth:`ConversionBatch.partitions`
to a ``PartitionedDataset`` — so both doors write the same files with the same code.

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

import copy
import functools
import json
import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import (
    BatchError,
    ConfigError,
    MosaicError,
    StaleOutputError,
    TrackFormatError,
    TracksNotFoundError,
    check_identity,
)
from mosaic.core.executor import ExecutorConfig
from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, read_index, upsert_index
from mosaic.core.paths import check_regular_file
from mosaic.core.run_ids import fingerprint_change, source_fingerprint
from mosaic.core.safe_names import path_in_root, sequence_key, to_safe_name
from mosaic.core.validate import check_physical

from .converters import MULTI_SEQUENCE_FORMATS, PER_INDIVIDUAL_FORMATS, REGISTRY, get_converter
from .io import read_tracks, read_tracks_meta, write_tracks
from .schema import TREX_V1, validate_trex_v1
from .table import PARAM_SOURCES_KEY, TrackTable

log = logging.getLogger(__name__)

REPORT_NAME = "conversion_report.json"
ON_ERROR = ("raise", "skip")
ON_STALE = ("reconvert", "raise")
#: extra (undeclared) columns written to tracks/index.csv
TRACKS_INDEX_EXTRA = ("cm_per_pixel", "fps_source", "cm_per_pixel_source", "frame_min", "frame_max", "keypoint_names", "individual_names",
                      "source_files", "source_fingerprints")


@dataclass
class Job:
    """One unit of conversion: the raw file(s) of one recording, or one multi-sequence file."""

    group: str
    sequence: str  # "" for a multi-sequence file: sequences come from inside it
    src_format: str
    rel_paths: list[str]

    @property
    def multi(self) -> bool:
        """True when the file holds many sequences (named at conversion)."""
        return self.sequence == "" or self.src_format in MULTI_SEQUENCE_FORMATS

    @property
    def label(self) -> str:
        """Human-readable name for logs and reports."""
        names = ", ".join(Path(p).name for p in self.rel_paths[:3]) + (" ..." if len(self.rel_paths) > 3 else "")
        return f"{self.group}/{self.sequence or '*'} [{self.src_format}: {names}]"


# ---------------------------------------------------------------------------- planning
def read_raw_index(ds: DatasetCore, index_filename: str = "index.csv") -> pd.DataFrame:
    """``tracks_raw/index.csv`` (named error when missing: run ``index_tracks_raw`` first)."""
    return read_index(ds.get_root("tracks_raw") / index_filename, TRACKS_RAW_INDEX)


def _row_get(row: Mapping[str, Any] | pd.Series, key: str, default: Any = "") -> Any:
    v = row.get(key, default) if hasattr(row, "get") else default
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return default
    return v


def plan_jobs(raw: pd.DataFrame, merge_per_sequence: bool | None = None) -> list[Job]:
    """Group raw index rows into conversion jobs.

    ``merge_per_sequence`` None (default) or True: files of a per-individual format (TRex)
    sharing (group, sequence) are merged into one recording; False: each file is its own
    recording named by its full file stem. Other formats: one job per file.
    """
    jobs: list[Job] = []
    merged: dict[tuple[str, str, str, str], Job] = {}
    for r in raw.to_dict("records"):
        fmt = str(_row_get(r, "src_format"))
        g, s, p = str(_row_get(r, "group")), str(_row_get(r, "sequence")), str(_row_get(r, "abs_path"))
        if fmt in PER_INDIVIDUAL_FORMATS:
            if merge_per_sequence is False:
                jobs.append(Job(g, Path(p).stem, fmt, [p]))
                continue
            key = (g, s, fmt, str(Path(p).parent))  # files of one recording lie in one folder: never merge across folders
            if key in merged:
                merged[key].rel_paths.append(p)
            else:
                merged[key] = Job(g, s, fmt, [p])
                jobs.append(merged[key])
        else:
            jobs.append(Job(g, s if fmt not in MULTI_SEQUENCE_FORMATS else "", fmt, [p]))
    for j in jobs:
        j.rel_paths.sort()
    return jobs


def effective_params(ds: DatasetCore, src_format: str, params: Mapping[str, Any] | None, group_from: str | None = None,
                     **where: Any) -> dict[str, Any]:
    """Converter params for one format (see :func:`effective_params_with_origin`)."""
    return effective_params_with_origin(ds, src_format, params, group_from, **where)[0]


def effective_params_with_origin(
    ds: DatasetCore,
    src_format: str,
    params: Mapping[str, Any] | None,
    group_from: str | None = None,
    *,
    sources: Mapping[str, Any] | None = None,
    files: Sequence[str] | None = None,
    recording: tuple[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Converter params for one format, and where each value came from.

    Lowest to highest priority: dataset meta (``fps_default``/``fps``, ``cm_per_pixel``;
    origin ``dataset``), the dataset's ``sources.yml`` — the params of the source holding
    ``files`` (``source``), then of the ``recording`` (``recording``) —, top-level scalar
    ``params`` (apply to every format; ``params``), the block ``params[<src_format>]``
    (``params['dlc']`` also applies to ``dlc_csv``/``dlc_h5``; ``params:<format>``), then
    ``group_from``. Values found in a source file still win over all of these (see
    :func:`~mosaic.tracks.table.resolve_number`). Dataset-meta values that no later layer
    replaced are marked under ``out['_param_sources']`` so converters record them as
    ``'dataset'``; ``origin`` names the layer of every value.
    """
    from mosaic.core.sources import recording_params, source_params

    out: dict[str, Any] = {}
    origin: dict[str, str] = {}

    def put(values: Mapping[str, Any], name: str) -> None:
        for k, v in values.items():
            out[k] = v
            origin[k] = name

    meta = ds.meta or {}
    fps = meta.get("fps_default", meta.get("fps"))
    if fps is not None:
        put({"fps": fps}, "dataset")
    if meta.get("cm_per_pixel") is not None:
        put({"cm_per_pixel": meta["cm_per_pixel"]}, "dataset")
    if sources:
        if files:
            put(source_params(sources, ds.folder, src_format, list(files)), "source")
        if recording is not None:
            put(recording_params(sources, *recording), "recording")
    params = dict(params or {})
    formats = set(REGISTRY.names())
    put({k: v for k, v in params.items() if not (k in formats and isinstance(v, Mapping))}, "params")
    family = "dlc" if src_format.startswith("dlc") else src_format
    for name in dict.fromkeys((family, src_format)):
        block = params.get(name)
        if isinstance(block, Mapping):
            put(block, f"params:{name}")
    if group_from is not None:
        out["group_from"] = group_from
    defaults = {k: "dataset" for k, o in origin.items() if o == "dataset"}  # ranked below the file's values
    if defaults:
        out[PARAM_SOURCES_KEY] = defaults
    return out, origin


def tracks_index_path(ds: DatasetCore) -> Path:
    """``tracks/index.csv``."""
    return ds.get_root("tracks") / "index.csv"


def output_path(ds: DatasetCore, group: str, sequence: str) -> Path:
    """Where the standardized file of (group, sequence) lives: ``tracks/<key>.parquet``."""
    return path_in_root(ds.get_root("tracks"), sequence_key(group, sequence) + ".parquet")


def index_row(ds: DatasetCore, path: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tracks/index.csv`` row of a written file, from its metadata only."""
    g, s = str(meta["group"]), str(meta["sequence"])
    return {
        "group": g, "sequence": s, "group_safe": to_safe_name(g), "sequence_safe": to_safe_name(s),
        "abs_path": ds.relative_path(path), "schema": meta.get("schema", TREX_V1), "src_format": meta.get("src_format", ""),
        "n_rows": meta.get("n_rows"), "n_frames": meta.get("n_frames"), "n_ids": meta.get("n_ids"), "fps": meta.get("fps"),
        "cm_per_pixel": meta.get("cm_per_pixel"), "fps_source": meta.get("fps_source"),
        "cm_per_pixel_source": meta.get("cm_per_pixel_source"), "frame_min": meta.get("frame_min"), "frame_max": meta.get("frame_max"),
        "keypoint_names": json.dumps(list(meta.get("keypoint_names") or [])),
        "individual_names": json.dumps(meta.get("individual_names") or {}, sort_keys=True, default=str),
        "source_files": json.dumps(list(meta.get("source_files") or [])),
        "source_fingerprints": json.dumps(meta.get("source_fingerprints") or {}, sort_keys=True),
    }


def save_tracks_index_rows(path: str | os.PathLike, rows: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Upsert rows into ``tracks/index.csv`` (locked, atomic) by (group, sequence); return the index."""
    df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if len(df) == 0:
        return read_index(path, TRACKS_INDEX, missing_ok=True)
    cols = list(TRACKS_INDEX.columns) + [c for c in TRACKS_INDEX_EXTRA if c not in TRACKS_INDEX.columns]
    df = df.reindex(columns=cols + [c for c in df.columns if c not in cols])
    for c in ("n_rows", "n_frames", "n_ids", "frame_min", "frame_max"):
        df[c] = pd.array(pd.to_numeric(df[c], errors="coerce"), dtype="Int64")  # stay integers through the merge
    return upsert_index(path, df, TRACKS_INDEX)


def count_distinct(values: np.ndarray) -> int:
    """Number of distinct values, without a hash table as large as the column.

    Integer ids span a small range: one bool per possible value (``pd.unique`` on a
    million-row column allocates ~30 MB of hash table). Other dtypes fall back to ``pd.unique``.
    """
    values = np.asarray(values)
    if len(values) == 0:
        return 0
    if values.dtype.kind in "iu":
        lo, hi = int(values.min()), int(values.max())
        if 0 <= lo and hi < 4 * len(values) + 1024:
            seen = np.zeros(hi + 1, dtype=bool)
            seen[values] = True  # no shifted copy of the column
            return int(np.count_nonzero(seen))  # noqa: RUF046 - numpy returns np.int64 here
        if hi - lo < 4 * len(values) + 1024:
            seen = np.zeros(hi - lo + 1, dtype=bool)
            seen[values - lo] = True
            return int(np.count_nonzero(seen))  # noqa: RUF046 - numpy returns np.int64 here
    return len(pd.unique(values))


def stale_reason(ds: DatasetCore, source_files: Sequence[str], meta: Mapping[str, Any]) -> str | None:
    """Why an output whose metadata is ``meta`` no longer reflects ``source_files`` (None: it does).

    The recorded set of raw files must be the same, and each must match its fingerprint.
    """
    recorded = meta.get("source_fingerprints")
    if not isinstance(recorded, Mapping) or not recorded:
        return "no input fingerprints recorded (converted by an older version)"
    now, before = set(map(str, source_files)), set(map(str, recorded))
    if now != before:
        return f"raw files changed: added {sorted(now - before)}, removed {sorted(before - now)}"
    for rel in sorted(now):
        why = fingerprint_change(recorded[rel], ds.resolve_path(rel))
        if why is not None:
            return f"{rel}: {why}"
    return None


def _finalize(table: TrackTable, job: Job, src_format: str, fingerprints: Mapping[str, Any] | None = None) -> TrackTable:
    """Validate a converted table and complete its metadata (counts, source files)."""
    df = table.df
    path = job.rel_paths[0] if len(job.rel_paths) == 1 else ", ".join(job.rel_paths)
    validate_trex_v1(df, path=path, group=table.group, sequence=table.sequence)
    if len(df) == 0:
        raise TrackFormatError("conversion produced no rows", path=path, group=table.group, sequence=table.sequence, expected="at least one row", found=0)
    frames = df["frame"].to_numpy()
    ids = df["id"].to_numpy()
    meta = dict(table.meta)
    meta.update(
        schema=TREX_V1, group=table.group, sequence=table.sequence, src_format=meta.get("src_format", src_format),
        source_files=list(job.rel_paths), source_fingerprints=dict(fingerprints or {}), n_rows=int(len(df)), n_frames=int(1 + np.count_nonzero(frames[1:] != frames[:-1])),
        n_ids=count_distinct(ids), frame_min=int(frames[0]), frame_max=int(frames[-1]),
    )
    return TrackTable(table.group, table.sequence, df, meta)


# ---------------------------------------------------------------------------- batch
class ConversionBatch:
    """Plan, convert, validate and record the conversion of raw tracking files.

    Parameters
    ----------
    ds
        The dataset.
    jobs
        What to convert (see :func:`plan_jobs`).
    params
        Converter params (see :func:`effective_params`).
    overwrite
        Convert again even when the output exists.
    group_from
        Passed to converters that name groups from inside the file (CalMS21).
    on_error
        ``'raise'``: :meth:`finish` raises :class:`BatchError` listing failed files;
        ``'skip'``: it logs a warning instead. Good files are written either way.
    fail_fast
        Raise the first error immediately (used for single conversions).
    on_stale
        An existing output whose raw files changed since it was written: ``'reconvert'``
        (default) converts it again; ``'raise'``: :meth:`partitions` raises
        :class:`StaleOutputError` listing every stale recording (nothing is written).

    Notes
    -----
    The Kedro ``convert`` node returns a planned batch and the ``tracks`` catalog dataset
    saves it with :meth:`run` in the same process (``deepcopy`` returns it unchanged so a
    ``MemoryDataset`` can hold it in tests).
    """

    def __init__(
        self,
        ds: DatasetCore,
        jobs: Sequence[Job],
        params: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        group_from: str | None = None,
        on_error: str = "raise",
        fail_fast: bool = False,
        on_stale: str = "reconvert",
    ) -> None:
        if on_error not in ON_ERROR:
            raise ConfigError("unknown on_error", expected=list(ON_ERROR), found=on_error)
        if on_stale not in ON_STALE:
            raise ConfigError("unknown on_stale", expected=list(ON_STALE), found=on_stale)
        # physical parameters at the boundary, even those a file's own value would override
        check_physical({k: v for k, v in (ds.meta or {}).items() if k in ("fps", "fps_default", "cm_per_pixel")},
                       path=ds.manifest_path, where="the dataset meta")
        check_physical(dict(params or {}), where="the conversion params")
        for name, block in dict(params or {}).items():
            if isinstance(block, Mapping):
                check_physical(block, where=f"the conversion params of {name!r}")
        self.ds = ds
        self.jobs = list(jobs)
        self.params = dict(params or {})
        self.overwrite = bool(overwrite)
        self.group_from = group_from
        self.on_error = on_error
        self.fail_fast = fail_fast
        self.on_stale = on_stale
        self.stale: dict[str, str] = {}  # sequence key -> why its existing output is stale
        self.rows: dict[str, dict[str, Any]] = {}
        self.converted: list[str] = []
        self.skipped: list[str] = []
        self.failures: dict[str, str] = {}
        self.conflicts: dict[str, list[dict[str, Any]]] = {}
        self._pending: dict[str, TrackTable] = {}
        from mosaic.core.sources import read_sources

        self.sources = read_sources(ds.folder)  # the dataset's own sources.yml ({} when none)

    def __deepcopy__(self, memo: dict) -> "ConversionBatch":
        return self

    @classmethod
    def from_index(
        cls,
        ds: DatasetCore,
        raw: pd.DataFrame | None = None,
        params: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        merge_per_sequence: bool | None = None,
        group_from: str | None = None,
        on_error: str = "raise",
        on_stale: str = "reconvert",
    ) -> "ConversionBatch":
        """A batch over every row of the raw index (``raw`` or ``tracks_raw/index.csv``)."""
        raw = read_raw_index(ds) if raw is None else raw
        return cls(ds, plan_jobs(raw, merge_per_sequence), params, overwrite, group_from, on_error, on_stale=on_stale)

    # -- helpers
    def _fail(self, label: str, exc: BaseException) -> None:
        msg = str(exc) if isinstance(exc, MosaicError) else f"{type(exc).__name__}: {exc}"
        self.failures[label] = msg
        log.error("conversion failed: %s: %s", label, msg)
        if self.fail_fast:
            if isinstance(exc, MosaicError):
                raise exc
            raise TrackFormatError("conversion failed", path=label, found=msg) from exc

    def _params(self, job: Job) -> tuple[dict[str, Any], dict[str, str]]:
        recording = None if job.multi else (job.group, job.sequence)
        return effective_params_with_origin(self.ds, job.src_format, self.params, self.group_from, sources=self.sources,
                                            files=job.rel_paths, recording=recording)

    def _run(self, job: Job, group: str, sequence: str) -> list[TrackTable]:
        conv = get_converter(job.src_format, path=job.rel_paths[0])
        paths = [self.ds.resolve_path(p) for p in job.rel_paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise TrackFormatError("raw tracking file not found", path=missing[0], group=group or None, sequence=sequence or None,
                                   hint="re-run index_tracks_raw (the index lists a file that is gone)")
        for p in paths:
            check_regular_file(p, TrackFormatError, group=group or None, sequence=sequence or None)
        try:  # fingerprints first: a file edited during the conversion makes the output stale, never falsely current
            fingerprints = {rel: source_fingerprint(p) for rel, p in zip(job.rel_paths, paths)}
        except OSError as exc:
            raise TrackFormatError("raw tracking file is unreadable", path=", ".join(map(str, paths)), group=group or None,
                                   sequence=sequence or None, found=f"{type(exc).__name__}: {exc.strerror or exc}") from exc
        params, origin = self._params(job)
        try:
            tables = conv(paths, params, group=group, sequence=sequence)
        except MosaicError:
            raise
        except Exception as exc:  # noqa: BLE001 - never let a raw library error reach the user
            raise TrackFormatError("conversion failed", path=", ".join(map(str, paths)), group=group or None, sequence=sequence or None,
                                   found=f"{type(exc).__name__}: {exc}") from exc
        out = [_finalize(t, job, job.src_format, fingerprints) for t in tables]
        for t in out:  # a "params" value that came from the dataset's sources.yml says which block gave it
            for key in ("fps", "cm_per_pixel"):
                if t.meta.get(f"{key}_source") == "params" and origin.get(key) in ("source", "recording"):
                    t.meta[f"{key}_source"] = origin[key]
        return out

    def _multi_done(self, job: Job) -> list[tuple[str, str, Path]] | None:
        """Outputs already made from a multi-sequence file (None when not all present)."""
        idx = read_index(tracks_index_path(self.ds), TRACKS_INDEX, missing_ok=True)
        if "source_files" not in idx.columns or len(idx) == 0:
            return None
        mine = idx[idx["source_files"].astype(str) == json.dumps(list(job.rel_paths))]
        if len(mine) == 0:
            return None
        outs = [(g, s, self.ds.resolve_path(p)) for g, s, p in zip(mine["group"], mine["sequence"], mine["abs_path"])]
        return outs if all(p.exists() for _, _, p in outs) else None

    def _stale(self, job: Job, key: str, out: Path) -> bool:
        """True when the existing output ``out`` no longer reflects the job's raw files (recorded in ``self.stale``)."""
        try:
            meta = read_tracks_meta(out)
        except MosaicError as exc:
            why: str | None = f"output unreadable: {exc.problem}"
        else:
            why = stale_reason(self.ds, job.rel_paths, meta)
        if why is None:
            return False
        self.stale[key] = why
        log.info("tracks %s are stale (%s)%s", key, why, "" if self.on_stale == "raise" else "; converting again")
        return True

    def _record_existing(self, key: str, path: Path) -> None:
        try:
            meta = read_tracks_meta(path)
        except MosaicError:
            meta = {}
        if {"group", "sequence", "n_rows"} <= set(meta):
            self.rows[key] = index_row(self.ds, path, meta)

    # -- public
    def partitions(self) -> dict[str, Callable[[], TrackTable | None]]:
        """``{sequence_key: callable}``; each call converts one recording (None on failure).

        Existing outputs are skipped (unless ``overwrite``) without reading their sources.
        Multi-sequence files are converted when listed, their tables handed out one by one.
        """
        parts: dict[str, Callable[[], TrackTable | None]] = {}
        owner: dict[str, str] = {}
        refused: list[str] = []
        for job in self.jobs:
            if job.multi:
                done = None if self.overwrite else self._multi_done(job)
                if done is not None and any([self._stale(job, sequence_key(g, s), p) for g, s, p in done]):
                    if self.on_stale == "raise":
                        refused += [sequence_key(g, s) for g, s, _ in done]
                        continue
                    done = None
                if done is not None:
                    for g, s, p in done:
                        key = sequence_key(g, s)
                        self.skipped.append(key)
                        self._record_existing(key, p)
                    continue
                try:
                    tables = self._run(job, job.group, "" if job.src_format in MULTI_SEQUENCE_FORMATS else job.sequence)
                except Exception as exc:  # noqa: BLE001 - recorded, raised at finish()
                    self._fail(job.label, exc)
                    continue
                targets = [(t.group, t.sequence, t) for t in tables]
            else:
                targets = [(job.group, job.sequence, None)]
            for g, s, table in targets:
                try:
                    key = sequence_key(g, s)
                    out = output_path(self.ds, g, s)
                except MosaicError as exc:
                    self._fail(job.label, exc)
                    continue
                if key in owner:
                    self._fail(job.label, TrackFormatError(
                        "two raw sources map to the same recording", path=", ".join(job.rel_paths), group=g, sequence=s,
                        expected="one source per (group, sequence)", found=f"also from {owner[key]}",
                        hint="exclude one of them when indexing, or index them with different groups",
                    ))
                    continue
                owner[key] = job.label
                if out.exists() and not self.overwrite:
                    if not self._stale(job, key, out):
                        self.skipped.append(key)
                        self._record_existing(key, out)
                        continue
                    if self.on_stale == "raise":
                        refused.append(key)
                        continue
                if table is not None:
                    self._pending[key] = table
                parts[key] = functools.partial(self._convert, job, g, s, key)
        if refused:
            self._pending.clear()
            listing = {k: self.stale[k] for k in sorted(set(refused)) if k in self.stale}
            raise StaleOutputError(
                f"{len(listing)} converted recording(s) are stale: their raw files changed since conversion", path=tracks_index_path(self.ds),
                expected="outputs matching their raw files", found=listing,
                hint="convert again with on_stale='reconvert' (the default) or overwrite=True",
            )
        return parts

    def _convert(self, job: Job, group: str, sequence: str, key: str) -> TrackTable | None:
        try:
            table = self._pending.pop(key, None)
            if table is None:
                tables = self._run(job, group, sequence)
                if len(tables) != 1 or (tables[0].group, tables[0].sequence) != (group, sequence):
                    raise TrackFormatError("converter returned unexpected recordings", path=job.rel_paths[0], group=group, sequence=sequence,
                                           expected=[(group, sequence)], found=[(t.group, t.sequence) for t in tables])
                table = tables[0]
        except Exception as exc:  # noqa: BLE001 - recorded, raised at finish()
            self._fail(job.label, exc)
            return None
        self.rows[key] = index_row(self.ds, output_path(self.ds, group, sequence), table.meta)
        self.converted.append(key)
        if table.meta.get("calibration_conflicts"):
            self.conflicts[key] = list(table.meta["calibration_conflicts"])
        return table

    def write(self, key: str, table: TrackTable | None) -> Path | None:
        """Write one converted table (validated, atomic); None passes through."""
        if table is None:
            return None
        path = output_path(self.ds, table.group, table.sequence)
        try:
            write_tracks(table.df, path, table.meta)
        except MosaicError as exc:
            self.rows.pop(key, None)
            if key in self.converted:
                self.converted.remove(key)
            self._fail(key, exc)
            return None
        return path

    def run(self, write_report: bool = True, progress_desc: str | None = None,
            executor: ExecutorConfig | None = None) -> dict[str, Any]:
        """Convert and write every recording, then :meth:`finish`; the one conversion loop of both doors.

        :func:`convert_all_tracks` calls it, and so does the Kedro ``tracks`` dataset when the
        ``convert`` node's batch is saved. Recordings of multi-recording files (already read
        while planning) are written here; every other recording is one task on ``executor``
        (:mod:`mosaic.core.executor`; serial by default) carrying its job, never a table. Each
        worker converts and writes one recording; results are recorded in recording order.
        """
        from mosaic.core.executor import ExecutorConfig, run_tasks
        from mosaic.core.progress import progress

        desc = progress_desc or "convert tracks"
        parts = self.partitions()
        local = sorted(k for k in parts if k in self._pending)
        for key in progress(local, desc=desc) if progress_desc else local:
            self.write(key, parts[key]())
        light = copy.copy(self)  # the batch's settings without its bookkeeping: what a task carries
        light.jobs, light.rows, light.converted, light.skipped, light.failures, light._pending = [], {}, [], [], {}, {}
        light.conflicts, light.stale = {}, {}
        tasks = [(light, *parts[k].args) for k in sorted(set(parts) - set(local))]
        results = {}
        for r in run_tasks(_convert_write, tasks, executor or ExecutorConfig(), desc=desc):
            if isinstance(r, MosaicError):  # recorded per recording, as serially (the task records its own)
                self.failures[f"{getattr(r, 'group', '?')}/{getattr(r, 'sequence', '?')}"] = str(r)
                continue
            results[r[0]] = r
        for key in sorted(results):  # recording order, whatever order they finished in
            _, row, failures, conflicts = results[key]
            if row is not None:
                self.rows[key] = row
                self.converted.append(key)
            self.failures.update(failures)
            self.conflicts.update(conflicts)
        return self.finish(write_report=write_report)

    def _labels_past_end(self) -> list[dict[str, Any]]:
        """Labels converted earlier that run past the end of the tracks written now (warned once)."""
        from mosaic.labels.lengths import labels_past_tracks_end  # labels read tracks lengths, not the reverse

        lengths = {(str(r["group"]), str(r["sequence"])): int(r["frame_max"]) + 1
                   for k, r in self.rows.items() if k in self.converted and r.get("frame_max") is not None}
        found = labels_past_tracks_end(self.ds, lengths)
        if found:
            shown = "; ".join(i["message"].split(";")[0] + f" ({i['group']}/{i['sequence']})" for i in found[:3])
            msg = f"{len(found)} label file(s) run past the end of their tracks: {shown}; see the conversion report"
            log.warning(msg)
            warnings.warn(msg, stacklevel=4)
        return found

    def _warn_conflicts(self) -> None:
        """One warning per kind of disagreement between value sources in this run."""
        kinds: dict[tuple, list[str]] = {}
        for key, items in self.conflicts.items():
            for c in items:
                kinds.setdefault((c["name"], c["used_source"], c["used"], c["other_source"], c["other"]), []).append(key)
        for (name, src, used, other_src, other), keys in sorted(kinds.items(), key=lambda kv: str(kv[0])):
            shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
            msg = (f"{name}: used {used:g} from the {src} over {other:g} from the {other_src} "
                   f"for {len(keys)} recording(s) ({shown}); tracks/index.csv records the source ({name}_source)")
            log.warning(msg)
            warnings.warn(msg, stacklevel=4)

    def finish(self, write_report: bool = True) -> dict[str, Any]:
        """Update ``tracks/index.csv``, write the report, then raise/warn about failures."""
        if self.rows:
            save_tracks_index_rows(tracks_index_path(self.ds), list(self.rows.values()))
        report = {
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "converted": sorted(self.converted),
            "skipped": sorted(self.skipped),
            "failed": dict(sorted(self.failures.items())),
            "calibration_conflicts": dict(sorted(self.conflicts.items())),
            "labels_past_end": self._labels_past_end(),
            "stale": dict(sorted(self.stale.items())),
            "overwrite": self.overwrite,
            "params": self.params,
        }
        report_path = self.ds.get_root("tracks") / REPORT_NAME
        if write_report:
            atomic_write_json(report_path, report)
        report["report_path"] = str(report_path)
        self._warn_conflicts()
        if self.failures:
            if self.on_error == "raise":
                raise BatchError("some tracking files failed to convert", self.failures, path=report_path if write_report else None)
            msg = f"{len(self.failures)} tracking file(s) failed to convert; see {report_path}"
            log.warning(msg)
            warnings.warn(msg, stacklevel=3)
        return report


# ---------------------------------------------------------------------------- facade functions
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
    batch = ConversionBatch.from_index(ds, None, params, overwrite, merge_per_sequence, group_from, on_error, on_stale=on_stale)
    return batch.run(progress_desc="convert tracks", executor=config)


def _convert_write(task: tuple) -> tuple[str, dict[str, Any] | None, dict[str, str], dict[str, list]]:
    """Convert and write one recording in a worker; return ``(key, index row or None, failures, conflicts)``."""
    light, job, group, sequence, key = task
    batch = copy.copy(light)  # own bookkeeping (threads share ``light``)
    batch.rows, batch.converted, batch.failures, batch.conflicts = {}, [], {}, {}
    batch.write(key, batch._convert(job, group, sequence, key))
    row = batch.rows.get(key) if key in batch.converted else None
    return key, row, batch.failures, batch.conflicts if row is not None else {}


def _job_for_row(ds: DatasetCore, row: Mapping[str, Any] | pd.Series, merge_per_sequence: bool | None = None) -> Job:
    fmt = str(_row_get(row, "src_format"))
    p = str(_row_get(row, "abs_path"))
    if not fmt or not p:
        raise ConfigError("a raw index row needs 'abs_path' and 'src_format'", expected=["abs_path", "src_format", "group", "sequence"],
                          found=sorted(dict(row)) if hasattr(row, "keys") else type(row).__name__)
    p = ds.relative_path(ds.resolve_path(p))
    g, s = str(_row_get(row, "group")), str(_row_get(row, "sequence"))
    if fmt in PER_INDIVIDUAL_FORMATS and merge_per_sequence is not False:
        raw = read_index(ds.get_root("tracks_raw") / "index.csv", TRACKS_RAW_INDEX, missing_ok=True)
        sib = raw[(raw["group"] == g) & (raw["sequence"] == s) & (raw["src_format"] == fmt)]
        paths = sorted(set(sib["abs_path"].astype(str)) | {p}) if p in set(sib["abs_path"].astype(str)) else [p]
        return Job(g, s, fmt, paths)
    return plan_jobs(pd.DataFrame([{"group": g, "sequence": s, "abs_path": p, "src_format": fmt}]), merge_per_sequence)[0]


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
    job = _job_for_row(ds, row)
    batch = ConversionBatch(ds, [job], params, overwrite, on_error="raise", fail_fast=True)
    parts = batch.partitions()
    for key in sorted(parts):
        batch.write(key, parts[key]())
    batch.finish(write_report=False)
    paths = [output_path(ds, r["group"], r["sequence"]) for r in batch.rows.values()]
    if not job.multi:
        return output_path(ds, job.group, job.sequence)
    return sorted(paths)


def _standard_path(ds: DatasetCore, group: str, sequence: str) -> Path:
    idx = read_index(tracks_index_path(ds), TRACKS_INDEX, missing_ok=True)
    hit = idx[(idx["group"] == group) & (idx["sequence"] == sequence)] if len(idx) else idx
    if len(hit):
        return ds.resolve_path(hit["abs_path"].iloc[0])
    return output_path(ds, group, sequence)


def _raw_jobs_for(ds: DatasetCore, group: str, sequence: str) -> list[Job]:
    raw = read_index(ds.get_root("tracks_raw") / "index.csv", TRACKS_RAW_INDEX, missing_ok=True)
    if len(raw) == 0:
        return []
    jobs = plan_jobs(raw)
    exact = [j for j in jobs if not j.multi and j.group == group and j.sequence == sequence]
    return exact or [j for j in jobs if j.multi]


def _stale_on_load(ds: DatasetCore, group: str, sequence: str, std: Path) -> str | None:
    """Why the standard file of (group, sequence) is stale (None: current, or written without fingerprints)."""
    try:
        meta = read_tracks_meta(std)
    except MosaicError:
        return None  # read_tracks names the problem
    # an index row pointing at another recording's file is an error, never "stale, convert again"
    check_identity(std, {"group": group, "sequence": sequence}, {k: meta.get(k) for k in ("group", "sequence")}, "track file")
    if not meta.get("source_fingerprints"):
        return None  # written without fingerprints (older version, or not by conversion): nothing to compare
    exact = [j for j in _raw_jobs_for(ds, group, sequence) if not j.multi]
    sources = exact[0].rel_paths if exact else list(meta.get("source_files") or meta["source_fingerprints"])
    if not any(ds.resolve_path(r).exists() for r in sources):
        return None  # raw files archived or moved away: the conversion is all there is
    return stale_reason(ds, sources, meta)


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
    std = _standard_path(ds, group, sequence)
    if prefer == "standard" and std.exists():
        why = _stale_on_load(ds, group, sequence, std)
        if why is None:
            return read_tracks(std, group=group, sequence=sequence)
        if not auto_convert:
            raise StaleOutputError("converted tracks are stale: their raw files changed since conversion", path=std, group=group,
                                   sequence=sequence, found=why, hint="convert again (convert_all_tracks) or pass auto_convert=True")
    if prefer == "raw" or auto_convert:
        for job in _raw_jobs_for(ds, group, sequence):
            batch = ConversionBatch(ds, [job], convert_params, overwrite=prefer == "raw", fail_fast=True)
            if prefer == "raw":
                seq = "" if job.src_format in MULTI_SEQUENCE_FORMATS else job.sequence
                for t in batch._run(job, job.group, seq):
                    if (t.group, t.sequence) == (group, sequence):
                        return t.df
                continue
            parts = batch.partitions()
            for key in sorted(parts):
                batch.write(key, parts[key]())
            batch.finish(write_report=False)
            std = _standard_path(ds, group, sequence)
            if std.exists():
                return read_tracks(std, group=group, sequence=sequence)
    if std.exists():
        why = _stale_on_load(ds, group, sequence, std) if prefer == "standard" else None
        if why is not None:  # no raw index entry to convert it from again
            raise StaleOutputError("converted tracks are stale and cannot be converted again", path=std, group=group, sequence=sequence,
                                   found=why, hint="index the raw files (index_tracks_raw), then convert_all_tracks")
        return read_tracks(std, group=group, sequence=sequence)
    raw_index = ds.get_root("tracks_raw") / "index.csv"
    raise TracksNotFoundError(
        "no standardized tracks for this recording" + ("" if auto_convert or prefer == "raw" else " (auto_convert is off)")
        + ("" if raw_index.exists() else f" and no raw-tracks index ({raw_index})"),
        path=std, group=group, sequence=sequence,
        hint="index raw files with index_tracks_raw and convert them (convert_all_tracks), or check the names",
    )
