"""Running a cleaning run: plan it, clean each recording, write its files, report and index rows.

``run_id`` is a content hash of the cleaning operations and the standardized input files'
fingerprints (:func:`mosaic.core.run_ids.make_run_id`): the same operations on the same
tracks give the same run id, and a rerun is a no-op unless ``overwrite``. Standardized
tracks (``tracks/``) are never written. The layout of ``tracks_clean/`` and the readers that
find cleaned files are in :mod:`mosaic.quality.cleaned` (their names are importable from here too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError, ConfigError, MosaicError, SequenceNotFoundError, TrackFormatError
from mosaic.core.executor import PARALLEL_MODES, ExecutorConfig, run_tasks
from mosaic.core.indexes import upsert_index
from mosaic.core.run_ids import file_fingerprint, make_run_id
from mosaic.core.safe_names import sequence_key, to_safe_name

from .clean import FLAG_COLUMN, check_operations, clean_table
from .cleaned import (  # the layout and the readers, public through this module too
    CLEAN_INDEX,
    CLEAN_VERSION,
    REPORT_FILE,
    clean_index_path,
    clean_root,
    clean_track_paths,
    latest_clean_run,
    parse_tracks_source,
    read_clean_index,
    run_report,
)

__all__ = [
    "CLEAN_INDEX",
    "CLEAN_VERSION",
    "REPORT_FILE",
    "clean_index_path",
    "clean_loaded",
    "clean_report",
    "clean_root",
    "clean_track_paths",
    "clean_tracks",
    "latest_clean_run",
    "parse_tracks_source",
    "plan_clean_run",
    "read_clean_index",
    "run_report",
    "tracks_in_scope",
]

log = logging.getLogger(__name__)


def tracks_in_scope(ds: DatasetCore, groups: Any, sequences: Any) -> pd.DataFrame:
    """The ``tracks/index.csv`` rows of ``groups`` / ``sequences`` (a name, a list or None: all), sorted.

    Raises
    ------
    SequenceNotFoundError
        An unknown group or sequence, or nothing in scope.
    """
    idx = ds.tracks_index()
    tpath = ds.get_root("tracks") / "index.csv"
    for col, want in (("group", groups), ("sequence", sequences)):
        if want is None:
            continue
        want = [want] if isinstance(want, str) else list(want)
        unknown = sorted(set(want) - set(idx[col]))
        if unknown:
            raise SequenceNotFoundError(f"unknown {col}(s)", path=tpath, expected=sorted(set(idx[col])), found=unknown)
        idx = idx[idx[col].isin(want)]
    idx = idx.drop_duplicates(["group", "sequence"]).sort_values(["group", "sequence"], kind="stable")
    if idx.empty:
        raise SequenceNotFoundError(
            "no recordings in scope", path=tpath, found={"groups": groups, "sequences": sequences}
        )
    return idx.reset_index(drop=True)


def plan_clean_run(
    ds: DatasetCore, operations: Sequence[Mapping[str, Any]] | None, scope: pd.DataFrame
) -> dict[str, Any]:
    """Run id, operations and per-recording source/output paths of a cleaning run.

    Raises
    ------
    TrackFormatError
        A track file listed in ``tracks/index.csv`` is missing.
    """
    ops = check_operations(operations)
    inputs, jobs = [], []
    for g, s, p in zip(scope["group"], scope["sequence"], scope["abs_path"]):
        src = ds.resolve_path(p)
        if not src.exists():
            raise TrackFormatError("track file listed in tracks/index.csv is missing", path=src, group=g, sequence=s)
        inputs.append([g, s, file_fingerprint(src)])
        jobs.append({"group": g, "sequence": s, "source": str(src), "source_rel": ds.relative_path(src)})
    run_id = make_run_id({"step": "clean", "version": CLEAN_VERSION, "operations": ops, "inputs": inputs})
    out_dir = clean_root(ds) / run_id
    for j in jobs:
        j["out"] = str(out_dir / f"{sequence_key(j['group'], j['sequence'])}.parquet")
        j["partition"] = f"{run_id}/{sequence_key(j['group'], j['sequence'])}"
    return {"run_id": run_id, "version": CLEAN_VERSION, "operations": ops, "inputs": inputs, "jobs": jobs}


def clean_loaded(
    df: pd.DataFrame,
    meta: Mapping[str, Any],
    operations: Sequence[Mapping[str, Any]],
    run_id: str,
    source: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Clean one loaded recording; return the table, its file metadata and its report record."""
    t0 = time.perf_counter()
    out, rep = clean_table(df, operations, meta, path=source)
    g = str(df["group"].iloc[0]) if len(df) else ""
    s = str(df["sequence"].iloc[0]) if len(df) else ""
    new_meta = {
        **dict(meta),
        "clean_run_id": run_id,
        "clean_operations": list(operations),
        "clean_source": source,
        "flag_columns": [FLAG_COLUMN],
    }
    rec = {"group": g, "sequence": s, **rep, "seconds": round(time.perf_counter() - t0, 4)}
    return out, new_meta, rec


def _clean_job(job: Mapping[str, Any], operations: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """Worker: read one standardized file, clean it, write the cleaned file atomically."""
    from mosaic.tracks.io import read_tracks, read_tracks_meta, release_unused_memory, write_tracks

    try:
        df = read_tracks(job["source"])
        out, meta, rec = clean_loaded(df, read_tracks_meta(job["source"]), operations, run_id, source=job["source_rel"])
        del df
        write_tracks(out, job["out"], meta)
        rec.update(group=job["group"], sequence=job["sequence"], abs_path=job["out"], source_path=job["source"])
        del out
        release_unused_memory()
        return rec
    except MosaicError as exc:
        return {"group": job["group"], "sequence": job["sequence"], "error": exc}


def _clean_task(task: tuple) -> dict[str, Any]:
    job, operations, run_id = task
    return _clean_job(job, operations, run_id)


def _run_jobs(jobs: list[dict[str, Any]], ops: list[dict[str, Any]], run_id: str, config: ExecutorConfig):
    """The jobs on the shared executor (:mod:`mosaic.core.executor`), records as they complete."""
    yield from run_tasks(_clean_task, [(j, ops, run_id) for j in jobs], config, desc="clean tracks")


def _cleaned_keys(ds: DatasetCore, run_id: str, overwrite: bool) -> set[tuple[str, str]]:
    """Recordings the clean index lists for this run whose file exists (none when ``overwrite``)."""
    idx = read_clean_index(ds)
    if overwrite or not len(idx):
        return set()
    mine = idx[idx["run_id"] == run_id]
    return {(g, s) for g, s, p in zip(mine["group"], mine["sequence"], mine["abs_path"]) if ds.resolve_path(p).exists()}


def _pending_jobs(ds: DatasetCore, plan: Mapping[str, Any], overwrite: bool) -> list[dict[str, Any]]:
    """The planned jobs whose cleaned file is not indexed and present yet (every job when ``overwrite``)."""
    done = _cleaned_keys(ds, plan["run_id"], overwrite)
    return [j for j in plan["jobs"] if (j["group"], j["sequence"]) not in done]


def _write_report(report_path: Path, plan: Mapping[str, Any], created: str, records: list[dict[str, Any]]) -> None:
    """Merge ``records`` into the run's ``report.json`` (kept recordings of earlier calls) with per-operation totals."""
    old = {}
    if report_path.exists():
        import json

        try:
            old = {
                (x["group"], x["sequence"]): x for x in json.loads(report_path.read_text("utf-8")).get("recordings", [])
            }
        except (OSError, ValueError):
            old = {}
    for r in records:
        old[(r["group"], r["sequence"])] = {k: v for k, v in r.items() if k not in ("abs_path", "source_path")}
    atomic_write_json(report_path, clean_report(plan, created, [old[k] for k in sorted(old)]))


def clean_report(plan: Mapping[str, Any], created: str, recordings: list[dict[str, Any]]) -> dict[str, Any]:
    """The report of a cleaning run: its plan, per-operation totals of changed values and ``recordings``."""
    totals: dict[str, int] = {}
    for r in recordings:
        for st in r.get("steps", []):
            totals[st["op"]] = totals.get(st["op"], 0) + int(st.get("n_changed", 0))
    return {
        "run_id": plan["run_id"],
        "version": CLEAN_VERSION,
        "operations": plan["operations"],
        "inputs": plan["inputs"],
        "created_iso": created,
        "n_changed_total": totals,
        "recordings": recordings,
    }


def _index_cleaned(ds: DatasetCore, run_id: str, created: str, records: list[dict[str, Any]]) -> None:
    """List the cleaned recordings in the clean index (written after the report)."""
    if records:
        upsert_index(
            clean_index_path(ds),
            [
                {
                    "run_id": run_id,
                    "group": r["group"],
                    "sequence": r["sequence"],
                    "group_safe": to_safe_name(r["group"]),
                    "sequence_safe": to_safe_name(r["sequence"]),
                    "abs_path": ds.relative_path(r["abs_path"]),
                    "source_path": ds.relative_path(r["source_path"]),
                    "n_rows": r["n_rows"],
                    "n_interpolated_rows": r["n_interpolated_rows"],
                    "created_iso": created,
                }
                for r in records
            ],
            CLEAN_INDEX,
        )


def clean_tracks(
    ds: DatasetCore,
    operations: Sequence[Mapping[str, Any]] | None = None,
    groups: Any = None,
    sequences: Any = None,
    overwrite: bool = False,
    parallel_mode: str = "thread",
    parallel_workers: int | None = None,
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
) -> dict[str, Any]:
    """Clean the standardized tracks in scope into ``tracks_clean/<run_id>/``.

    Parameters
    ----------
    ds
        The dataset.
    operations
        Ordered cleaning operations (see :mod:`mosaic.quality.clean`; default
        :data:`~mosaic.quality.clean.DEFAULT_OPERATIONS`).
    groups, sequences
        Restrict the scope (a name or a list).
    overwrite
        Recompute the run's files even when they exist.
    parallel_mode, parallel_workers, dask_address, memory_limit
        ``'serial'``, ``'thread'``, ``'process'`` (joblib/loky) or ``'dask'``, one recording per
        task (see :mod:`mosaic.core.executor`).

    Returns
    -------
    dict
        ``{'run_id', 'paths': {(group, sequence): path}, 'report': path of report.json,
        'recordings': [per-recording records], 'skipped': bool}``.

    Raises
    ------
    ConfigError
        Bad operations or mode.
    BatchError
        Some recordings failed (the others are written and indexed).
    """
    if parallel_mode not in PARALLEL_MODES:
        raise ConfigError("unknown parallel_mode", expected=list(PARALLEL_MODES), found=parallel_mode)
    plan = plan_clean_run(ds, operations, tracks_in_scope(ds, groups, sequences))
    run_id = plan["run_id"]
    out_dir = clean_root(ds) / run_id
    report_path = out_dir / REPORT_FILE
    paths = {(j["group"], j["sequence"]): Path(j["out"]) for j in plan["jobs"]}
    todo = _pending_jobs(ds, plan, overwrite)
    if not todo and report_path.exists():
        log.info("clean run %s: all %d outputs exist, nothing to do", run_id, len(paths))
        return {"run_id": run_id, "paths": paths, "report": report_path, "recordings": [], "skipped": True}
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    config = ExecutorConfig(parallel_mode, parallel_workers, dask_address, memory_limit)
    records, failures, errors = _collect(_run_jobs(todo, plan["operations"], run_id, config))
    _write_report(report_path, plan, created, records)
    _index_cleaned(ds, run_id, created, records)
    log.info("clean run %s: %d recording(s) cleaned, %d failed", run_id, len(records), len(failures))
    _raise_failures(records, failures, errors, out_dir)
    return {"run_id": run_id, "paths": paths, "report": report_path, "recordings": records, "skipped": False}


def _collect(
    results: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, str], list[MosaicError]]:
    """Split worker records into ``(records in recording order, failures by label, errors)``."""
    records, failures, errors = [], {}, []
    for r in results:
        if "error" in r:
            errors.append(r["error"])
            failures[f"{r['group']}/{r['sequence']}"] = str(r["error"])
        else:
            records.append(r)
    records.sort(key=lambda r: (str(r["group"]), str(r["sequence"])))  # recording order, whatever the mode
    return records, failures, errors


def _raise_failures(
    records: list[dict[str, Any]], failures: dict[str, str], errors: list[MosaicError], out_dir: Path
) -> None:
    """Re-raise the one error when every recording failed the same way, else a :class:`BatchError`."""
    if failures:
        if not records and len({(type(e), getattr(e, "problem", str(e))) for e in errors}) == 1:
            raise errors[0]
        raise BatchError("cleaning failed on some recordings", failures, path=out_dir)
