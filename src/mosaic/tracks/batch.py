"""The conversion batch: plan, convert, validate, write and record raw tracking files.

:class:`ConversionBatch` is the one place that converts and writes: :meth:`ConversionBatch.run`
is the one write loop of the facade and of the Kedro ``tracks`` dataset. Long for a reason: planning,
converting, writing and recording share the batch's bookkeeping (rows, failures, stale outputs).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
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
)
from mosaic.core.executor import ExecutorConfig
from mosaic.core.indexes import TRACKS_INDEX, read_index
from mosaic.core.numeric import count_distinct
from mosaic.core.paths import check_regular_file
from mosaic.core.run_ids import source_fingerprint
from mosaic.core.safe_names import sequence_key
from mosaic.core.validate import check_physical

from .converters import MULTI_SEQUENCE_FORMATS, get_converter
from .io import read_tracks_meta, write_tracks
from .jobs import Job, effective_params_with_origin, plan_jobs, read_raw_index
from .schema import TREX_V1, validate_trex_v1
from .staleness import stale_reason
from .table import TrackTable
from .tracks_index import index_row, output_path, save_tracks_index_rows, tracks_index_path

log = logging.getLogger(__name__)

REPORT_NAME = "conversion_report.json"
ON_ERROR = ("raise", "skip")
ON_STALE = ("reconvert", "raise")


def finalize_table(
    table: TrackTable, job: Job, src_format: str, fingerprints: Mapping[str, Any] | None = None
) -> TrackTable:
    """Validate a converted table and complete its metadata (counts, source files)."""
    df = table.df
    path = job.rel_paths[0] if len(job.rel_paths) == 1 else ", ".join(job.rel_paths)
    validate_trex_v1(df, path=path, group=table.group, sequence=table.sequence)
    if len(df) == 0:
        raise TrackFormatError(
            "conversion produced no rows",
            path=path,
            group=table.group,
            sequence=table.sequence,
            expected="at least one row",
            found=0,
        )
    frames = df["frame"].to_numpy()
    ids = df["id"].to_numpy()
    meta = dict(table.meta)
    meta.update(
        schema=TREX_V1,
        group=table.group,
        sequence=table.sequence,
        src_format=meta.get("src_format", src_format),
        source_files=list(job.rel_paths),
        source_fingerprints=dict(fingerprints or {}),
        n_rows=int(len(df)),
        n_frames=int(1 + np.count_nonzero(frames[1:] != frames[:-1])),
        n_ids=count_distinct(ids),
        frame_min=int(frames[0]),
        frame_max=int(frames[-1]),
    )
    return TrackTable(table.group, table.sequence, df, meta)


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
        check_physical(
            {k: v for k, v in (ds.meta or {}).items() if k in ("fps", "fps_default", "cm_per_pixel")},
            path=ds.manifest_path,
            where="the dataset meta",
        )
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
        self.executor: ExecutorConfig | None = None  # default executor of :meth:`run`
        from mosaic.core.sources import read_sources

        self.sources = read_sources(ds.folder)  # the dataset's own sources.yml ({} when none)

    def __deepcopy__(self, memo: dict) -> ConversionBatch:
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
    ) -> ConversionBatch:
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
        return effective_params_with_origin(
            self.ds,
            job.src_format,
            self.params,
            self.group_from,
            sources=self.sources,
            files=job.rel_paths,
            recording=recording,
        )

    def convert_job(self, job: Job, group: str, sequence: str) -> list[TrackTable]:
        """Convert one job in memory: its validated tables, nothing written (errors raised)."""
        conv = get_converter(job.src_format, path=job.rel_paths[0])
        paths = [self.ds.resolve_path(p) for p in job.rel_paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise TrackFormatError(
                "raw tracking file not found",
                path=missing[0],
                group=group or None,
                sequence=sequence or None,
                hint="re-run index_tracks_raw (the index lists a file that is gone)",
            )
        for p in paths:
            check_regular_file(p, TrackFormatError, group=group or None, sequence=sequence or None)
        try:  # fingerprints first: a file edited during the conversion makes the output stale, never falsely current
            fingerprints = {rel: source_fingerprint(p) for rel, p in zip(job.rel_paths, paths)}
        except OSError as exc:
            raise TrackFormatError(
                "raw tracking file is unreadable",
                path=", ".join(map(str, paths)),
                group=group or None,
                sequence=sequence or None,
                found=f"{type(exc).__name__}: {exc.strerror or exc}",
            ) from exc
        params, origin = self._params(job)
        try:
            tables = conv(paths, params, group=group, sequence=sequence)
        except MosaicError:
            raise
        except Exception as exc:
            raise TrackFormatError(
                "conversion failed",
                path=", ".join(map(str, paths)),
                group=group or None,
                sequence=sequence or None,
                found=f"{type(exc).__name__}: {exc}",
            ) from exc
        out = [finalize_table(t, job, job.src_format, fingerprints) for t in tables]
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
                targets = self._multi_targets(job, refused)
                if targets is None:
                    continue
            else:
                targets = [(job.group, job.sequence, None)]
            for g, s, table in targets:
                self._plan_target(job, g, s, table, parts, owner, refused)
        if refused:
            self._pending.clear()
            listing = {k: self.stale[k] for k in sorted(set(refused)) if k in self.stale}
            raise StaleOutputError(
                f"{len(listing)} converted recording(s) are stale: their raw files changed since conversion",
                path=tracks_index_path(self.ds),
                expected="outputs matching their raw files",
                found=listing,
                hint="convert again with on_stale='reconvert' (the default) or overwrite=True",
            )
        return parts

    def _multi_targets(self, job: Job, refused: list[str]) -> list[tuple[str, str, TrackTable | None]] | None:
        """The recordings of a multi-sequence file to plan, read now (None: skipped, refused or failed)."""
        done = None if self.overwrite else self._multi_done(job)
        if done is not None and any([self._stale(job, sequence_key(g, s), p) for g, s, p in done]):
            if self.on_stale == "raise":
                refused += [sequence_key(g, s) for g, s, _ in done]
                return None
            done = None
        if done is not None:
            for g, s, p in done:
                key = sequence_key(g, s)
                self.skipped.append(key)
                self._record_existing(key, p)
            return None
        try:
            tables = self.convert_job(job, job.group, "" if job.src_format in MULTI_SEQUENCE_FORMATS else job.sequence)
        except Exception as exc:
            self._fail(job.label, exc)
            return None
        return [(t.group, t.sequence, t) for t in tables]

    def _plan_target(
        self,
        job: Job,
        g: str,
        s: str,
        table: TrackTable | None,
        parts: dict[str, Callable[[], TrackTable | None]],
        owner: dict[str, str],
        refused: list[str],
    ) -> None:
        """Add the recording (g, s) of ``job`` to ``parts``, unless it fails, is taken, current or refused as stale."""
        try:
            key = sequence_key(g, s)
            out = output_path(self.ds, g, s)
        except MosaicError as exc:
            self._fail(job.label, exc)
            return
        if key in owner:
            self._fail(
                job.label,
                TrackFormatError(
                    "two raw sources map to the same recording",
                    path=", ".join(job.rel_paths),
                    group=g,
                    sequence=s,
                    expected="one source per (group, sequence)",
                    found=f"also from {owner[key]}",
                    hint="exclude one of them when indexing, or index them with different groups",
                ),
            )
            return
        owner[key] = job.label
        if out.exists() and not self.overwrite:
            if not self._stale(job, key, out):
                self.skipped.append(key)
                self._record_existing(key, out)
                return
            if self.on_stale == "raise":
                refused.append(key)
                return
        if table is not None:
            self._pending[key] = table
        parts[key] = functools.partial(self._convert_recording, job, g, s, key)

    def _convert_recording(self, job: Job, group: str, sequence: str, key: str) -> TrackTable | None:
        try:
            table = self._pending.pop(key, None)
            if table is None:
                tables = self.convert_job(job, group, sequence)
                if len(tables) != 1 or (tables[0].group, tables[0].sequence) != (group, sequence):
                    raise TrackFormatError(
                        "converter returned unexpected recordings",
                        path=job.rel_paths[0],
                        group=group,
                        sequence=sequence,
                        expected=[(group, sequence)],
                        found=[(t.group, t.sequence) for t in tables],
                    )
                table = tables[0]
        except Exception as exc:
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

    def run(
        self, write_report: bool = True, progress_desc: str | None = None, executor: ExecutorConfig | None = None
    ) -> dict[str, Any]:
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
        light = self._task_copy()
        tasks = [(light, *parts[k].args) for k in sorted(set(parts) - set(local))]
        results = {}
        for r in run_tasks(_convert_write, tasks, executor or self.executor or ExecutorConfig(), desc=desc):
            if isinstance(r, MosaicError):  # recorded per recording, as serially (the task records its own)
                if self.fail_fast:
                    raise r
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

    def _task_copy(self) -> ConversionBatch:
        """The batch's settings without its bookkeeping: what a task carries."""
        light = copy.copy(self)
        light.jobs, light.rows, light.converted, light.skipped, light.failures, light._pending = [], {}, [], [], {}, {}
        light.conflicts, light.stale = {}, {}
        return light

    def convert_and_write(
        self, job: Job, group: str, sequence: str, key: str
    ) -> tuple[dict[str, Any] | None, dict[str, str], dict[str, list]]:
        """Convert and write one recording on a copy with its own bookkeeping; ``(index row or None, failures, conflicts)``."""
        batch = copy.copy(self)  # own bookkeeping (threads share this batch)
        batch.rows, batch.converted, batch.failures, batch.conflicts = {}, [], {}, {}
        batch.write(key, batch._convert_recording(job, group, sequence, key))
        row = batch.rows.get(key) if key in batch.converted else None
        return row, batch.failures, batch.conflicts if row is not None else {}

    def _labels_past_end(self) -> list[dict[str, Any]]:
        """Labels converted earlier that run past the end of the tracks written now (warned once)."""
        from mosaic.labels.lengths import labels_past_tracks_end  # labels read tracks lengths, not the reverse

        lengths = {
            (str(r["group"]), str(r["sequence"])): int(r["frame_max"]) + 1
            for k, r in self.rows.items()
            if k in self.converted and r.get("frame_max") is not None
        }
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
                kinds.setdefault((c["name"], c["used_source"], c["used"], c["other_source"], c["other"]), []).append(
                    key
                )
        for (name, src, used, other_src, other), keys in sorted(kinds.items(), key=lambda kv: str(kv[0])):
            shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
            msg = (
                f"{name}: used {used:g} from the {src} over {other:g} from the {other_src} "
                f"for {len(keys)} recording(s) ({shown}); tracks/index.csv records the source ({name}_source)"
            )
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
                raise BatchError(
                    "some tracking files failed to convert", self.failures, path=report_path if write_report else None
                )
            msg = f"{len(self.failures)} tracking file(s) failed to convert; see {report_path}"
            log.warning(msg)
            warnings.warn(msg, stacklevel=3)
        return report


def _convert_write(task: tuple) -> tuple[str, dict[str, Any] | None, dict[str, str], dict[str, list]]:
    """Convert and write one recording in a worker; return ``(key, index row or None, failures, conflicts)``."""
    light, job, group, sequence, key = task
    return (key, *light.convert_and_write(job, group, sequence, key))
