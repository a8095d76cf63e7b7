"""The feature engine: :func:`run_feature`, :func:`load_feature` and the feature run index.

Layout (DESIGN.md)::

    features/<name>/<run_id>/<group_safe>__<sequence_safe>.parquet
    features/<name>/<run_id>/run.json          params, inputs, filters, fitted state
    features/<name>/index.csv                  one row per (run_id, group, sequence)

``run_id`` is a short content hash of the feature name and version, its canonical params,
its inputs' identities (content fingerprints of the track files in scope, upstream run ids),
the scope and the filters. The same call therefore gives the same ``run_id``; when its outputs
exist nothing is recomputed or rewritten unless ``overwrite``.

Every per-sequence task reads its own inputs, applies the feature and writes its own output
file; it returns only a small row of metadata, so no recording passes through the driver in
``'process'`` or ``'dask'`` mode.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_path, atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import (
    BatchError,
    ConfigError,
    FeatureError,
    MosaicError,
    SequenceNotFoundError,
    check_identity,
)
from mosaic.core.indexes import NAME_COLUMNS, IndexSchema, read_index, upsert_index
from mosaic.core.run_ids import canonical_json, file_fingerprint, make_run_id
from mosaic.core.safe_names import sequence_key, to_safe_name

from .base import TRACKS, Feature, Result, SequenceContext
from .registry import make_feature

log = logging.getLogger(__name__)

FEATURES_INDEX = IndexSchema(
    name="features",
    columns=(
        "feature", "version", "run_id", "group", "sequence", "group_safe", "sequence_safe", "abs_path",
        "n_rows", "params_json", "inputs_json", "filters_json", "created_iso",
    ),
    key=("run_id", "group", "sequence"),
    text_columns=NAME_COLUMNS + ("abs_path", "feature", "version", "run_id", "params_json", "inputs_json",
                                 "filters_json", "created_iso"),
)
PARALLEL_MODES = ("thread", "process", "dask")
RUN_INFO = "run.json"
DASK_ENV = "MOSAIC_DASK_SCHEDULER"
#: streamed outputs: give freed memory back to the system every this many chunks
TRIM_EVERY_CHUNKS = 8


# ---------------------------------------------------------------------------------------- paths
def feature_root(ds: DatasetCore, name: str) -> Path:
    """``features/<name>`` (the name is encoded as a safe name)."""
    return ds.get_root("features") / to_safe_name(name)


def feature_index_path(ds: DatasetCore, name: str) -> Path:
    """``features/<name>/index.csv``."""
    return feature_root(ds, name) / "index.csv"


def read_feature_index(ds: DatasetCore, name: str, missing_ok: bool = True) -> pd.DataFrame:
    """The run index of feature ``name`` (empty table when it never ran and ``missing_ok``)."""
    return read_index(feature_index_path(ds, name), FEATURES_INDEX, missing_ok=missing_ok)


def latest_run_id(ds: DatasetCore, name: str) -> str | None:
    """The most recently created run of ``name`` (None when it never ran)."""
    idx = read_feature_index(ds, name)
    if idx.empty:
        return None
    order = idx.reset_index(drop=True).sort_values("created_iso", kind="stable")
    return str(order["run_id"].iloc[-1])


def list_feature_runs(ds: DatasetCore, name: str | None = None) -> pd.DataFrame:
    """One row per run: feature, run_id, version, n_sequences, n_rows, created_iso, params_json, inputs_json.

    All features when ``name`` is None (every folder of the ``features`` root with an index).
    """
    cols = ["feature", "run_id", "version", "n_sequences", "n_rows", "created_iso", "params_json", "inputs_json"]
    if name is None:
        root = ds.get_root("features")
        idx_paths = sorted(root.glob("*/index.csv")) if root.exists() else []
        frames = [read_index(p, FEATURES_INDEX) for p in idx_paths]
    else:
        frames = [read_feature_index(ds, name)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    idx = pd.concat(frames, ignore_index=True)
    g = idx.groupby(["feature", "run_id"], sort=False)
    out = g.agg(version=("version", "first"), n_sequences=("sequence", "size"), n_rows=("n_rows", "sum"),
                created_iso=("created_iso", "max"), params_json=("params_json", "first"),
                inputs_json=("inputs_json", "first")).reset_index()
    return out.sort_values(["feature", "created_iso"], kind="stable").reset_index(drop=True)[cols]


# ---------------------------------------------------------------------------------------- scope
def _natural_key(s: str) -> tuple:
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(s)) if t)


def _as_list(v: Any) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def select_sequences(ds: DatasetCore, groups: Any = None, sequences: Any = None) -> pd.DataFrame:
    """Rows of ``tracks/index.csv`` in scope, ordered by group then (natural) sequence order.

    Raises
    ------
    SequenceNotFoundError
        A requested group or sequence is not in the tracks index.
    """
    idx = ds.tracks_index()
    groups, sequences = _as_list(groups), _as_list(sequences)
    tpath = ds.get_root("tracks") / "index.csv"
    if groups is not None:
        unknown = sorted(set(groups) - set(idx["group"]))
        if unknown:
            raise SequenceNotFoundError("unknown group(s)", path=tpath, expected=sorted(set(idx["group"])), found=unknown)
        idx = idx[idx["group"].isin(groups)]
    if sequences is not None:
        unknown = sorted(set(sequences) - set(idx["sequence"]))
        if unknown:
            raise SequenceNotFoundError("unknown sequence(s)", path=tpath, expected=sorted(set(idx["sequence"])), found=unknown)
        idx = idx[idx["sequence"].isin(sequences)]
    idx = idx.drop_duplicates(["group", "sequence"]).reset_index(drop=True)
    order = sorted(range(len(idx)), key=lambda k: (idx["group"].iloc[k], _natural_key(idx["sequence"].iloc[k])))
    return idx.iloc[order].reset_index(drop=True)


# ---------------------------------------------------------------------------------------- tasks
@dataclass
class _Source:
    """One input of one task: 'tracks' or an upstream feature file (+ neighbours for overlap)."""

    kind: str  # "tracks" or the upstream feature name
    path: str
    prev_path: str | None = None
    next_path: str | None = None


@dataclass
class _Task:
    feature: Feature
    run_id: str
    group: str
    sequence: str
    sources: list[_Source]
    out_path: str
    index_fps: float | None = None
    fps_default: float | None = None
    cm_default: float | None = None
    frame_range: tuple[int | None, int | None] | None = None
    overlap: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    tracks_path: str | None = None  # the recording's track file (its metadata gives fps, cm_per_pixel)


def _schema_names(path: str, task: _Task) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path).names
    except (OSError, pa.ArrowInvalid) as exc:
        raise FeatureError("input file is not readable parquet", path=path, group=task.group, sequence=task.sequence,
                           found=str(exc).splitlines()[0]) from exc


def _read_source_file(src_kind: str, path: str, task: _Task, own: bool = False) -> pd.DataFrame:
    """One input file of a task (``own``: the task's recording itself, whose identity is checked)."""
    from mosaic.tracks.io import read_tracks

    if not os.path.exists(path):
        raise FeatureError(f"input file of {src_kind!r} is missing", path=path, group=task.group, sequence=task.sequence,
                           hint="rerun the upstream step (or the tracks conversion)")
    names = _schema_names(path, task)
    if src_kind == TRACKS:
        cols = task.feature.track_columns(names)
        missing = [c for c in cols if c not in names]
        if missing:
            raise FeatureError(f"track file lacks columns feature {task.feature.name!r} needs", path=path,
                               group=task.group, sequence=task.sequence, expected=cols, found=f"missing {missing}")
        if own:
            return read_tracks(path, columns=cols, group=task.group, sequence=task.sequence)
        return read_tracks(path, columns=cols)
    try:
        if own:
            _check_feature_identity(path, {"group": task.group, "sequence": task.sequence})
        return pd.read_parquet(path)
    except MosaicError:
        raise
    except Exception as exc:  # pyarrow raises several types
        raise FeatureError("upstream feature file is not readable", path=path, group=task.group,
                           sequence=task.sequence, found=str(exc).splitlines()[0]) from exc


def _with_neighbours(src: _Source, cur: pd.DataFrame, task: _Task) -> pd.DataFrame:
    """Prepend the last / append the first ``overlap`` frames of the neighbouring segments.

    Neighbour frames are renumbered to continue the current segment's frame axis when the
    segments number their frames from 0 (local numbering); global numbering is kept.
    """
    if not task.overlap or cur.empty:
        return cur
    n = task.overlap
    f0, f1 = int(cur["frame"].min()), int(cur["frame"].max())
    parts = []
    if src.prev_path:
        prev = _read_source_file(src.kind, src.prev_path, task)
        if len(prev):
            pf1 = int(prev["frame"].max())
            prev = prev[prev["frame"] > pf1 - n].copy()
            if pf1 >= f0:
                prev["frame"] = prev["frame"] + (f0 - 1 - pf1)
            parts.append(prev)
    parts.append(cur)
    if src.next_path:
        nxt = _read_source_file(src.kind, src.next_path, task)
        if len(nxt):
            nf0 = int(nxt["frame"].min())
            nxt = nxt[nxt["frame"] < nf0 + n].copy()
            if nf0 <= f1:
                nxt["frame"] = nxt["frame"] + (f1 + 1 - nf0)
            parts.append(nxt)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else cur
    if "group" in out.columns:
        out["group"] = task.group
    if "sequence" in out.columns:
        out["sequence"] = task.sequence
    return out


def _join(frames: list[tuple[str, pd.DataFrame]], task: _Task) -> pd.DataFrame:
    """Left-join inputs on their common key; clashing columns of later inputs get ``<name>.``."""
    _, out = frames[0]
    for name, df in frames[1:]:
        key = [k for k in ("frame", "id", "id2") if k in out.columns and k in df.columns]
        if "frame" not in key:
            raise FeatureError("cannot join inputs without a frame column", group=task.group, sequence=task.sequence,
                               expected="frame, id[, id2] in every input", found=f"{name}: {list(df.columns)[:8]}")
        rename = {c: f"{name}.{c}" for c in df.columns if c not in key and c in out.columns}
        out = out.merge(df.rename(columns=rename), on=key, how="left", sort=False)
    return out


def load_task_input(task: _Task) -> pd.DataFrame:
    """Read, extend (overlap), filter and join a task's inputs; set ``attrs``."""
    from mosaic.tracks.io import read_tracks_meta

    frames = []
    for src in task.sources:
        df = _read_source_file(src.kind, src.path, task, own=True)
        df = _with_neighbours(src, df, task)
        if task.frame_range is not None:
            lo, hi = task.frame_range
            m = np.ones(len(df), dtype=bool)
            fr = df["frame"].to_numpy()
            if lo is not None:
                m &= fr >= lo
            if hi is not None:
                m &= fr < hi
            if not m.all():
                df = df[m].reset_index(drop=True)
        frames.append((src.kind, df))
    data = _join(frames, task) if len(frames) > 1 else frames[0][1]
    # recording facts: fps from the tracks index, else the file's metadata, else fps_default
    fps = task.index_fps
    meta = read_tracks_meta(task.tracks_path) if task.tracks_path and os.path.exists(task.tracks_path) else {}
    if fps is None or not (fps > 0):
        fps = meta.get("fps") or task.fps_default
    cm = meta.get("cm_per_pixel") or task.cm_default
    ctx = SequenceContext(task.group, task.sequence, fps=float(fps) if fps else None,
                          cm_per_pixel=float(cm) if cm else None, path=task.sources[0].path)
    data.attrs.update(ctx.attrs())
    return data


def _check_chunk(out: Any, task: _Task) -> None:
    if not isinstance(out, pd.DataFrame):
        raise FeatureError(f"feature {task.feature.name!r} did not return a DataFrame", group=task.group,
                           sequence=task.sequence, found=type(out).__name__)
    key = list(task.feature.output_key)
    missing = [k for k in key if k not in out.columns]
    if missing:
        raise FeatureError(f"feature {task.feature.name!r} output lacks key columns", group=task.group,
                           sequence=task.sequence, expected=key, found=f"missing {missing}")


def _write_output(chunks: Iterable[pd.DataFrame], task: _Task, trim: tuple[int, int] | None) -> int:
    """Stream ``chunks`` into the task's parquet file (atomically); return the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mosaic.tracks.io import release_unused_memory

    info = {"feature": task.feature.name, "version": task.feature.version, "run_id": task.run_id,
            "group": task.group, "sequence": task.sequence, "params": task.feature.get_params(),
            "inputs": task.meta.get("inputs", [])}
    n_rows = 0
    writer = None
    streamed = not isinstance(chunks, (list, tuple))
    n_chunks = 0
    with atomic_path(task.out_path) as tmp:
        try:
            for df in chunks:
                _check_chunk(df, task)
                if trim is not None:
                    fr = df["frame"].to_numpy()
                    df = df[(fr >= trim[0]) & (fr <= trim[1])]
                table = pa.Table.from_pandas(df, preserve_index=False)  # numeric columns zero-copy
                if writer is None:
                    # the input and apply's temporaries are freed by now: hand their memory back
                    # before the writer allocates its buffers, so they do not stack on top of it
                    release_unused_memory()
                    md = dict(table.schema.metadata or {})
                    md[b"mosaic"] = json.dumps(info, default=str).encode("utf-8")
                    schema = table.schema.with_metadata(md)
                    # dictionary-encode the keys only: float feature columns gain nothing from it and it costs time
                    keys = [k for k in ("frame", "id", "id2") if k in table.column_names]
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd", use_dictionary=keys)
                if not table.schema.equals(writer.schema, check_metadata=False):
                    try:
                        table = table.cast(writer.schema)
                    except (pa.ArrowInvalid, ValueError, TypeError) as exc:
                        raise FeatureError(f"feature {task.feature.name!r} yielded chunks with different columns",
                                           group=task.group, sequence=task.sequence, expected=str(writer.schema),
                                           found=str(table.schema)) from exc
                writer.write_table(table)
                n_rows += len(df)
                n_chunks += 1
                if streamed and n_chunks % TRIM_EVERY_CHUNKS == 0:
                    # freed chunk temporaries fragment the heap, which creeps up over a long recording.
                    # Not every chunk: memory handed back is faulted in again by the next chunk (each
                    # chunk's table also stays alive until the next one replaces it, so the allocator
                    # reuses its pages instead of returning them: deleting it early made pairs ~25 % slower)
                    release_unused_memory()
            if writer is None:
                raise FeatureError(f"feature {task.feature.name!r} produced no output table", group=task.group,
                                   sequence=task.sequence)
        finally:
            if writer is not None:
                writer.close()
            release_unused_memory()  # the writer's page buffers (arrow keeps them otherwise)
    return n_rows


def execute_task(task: _Task) -> dict[str, Any]:
    """Run one (group, sequence): read inputs, apply (chunk by chunk), trim overlap, write.

    Returns only small metadata (no recording passes back to the driver).
    """
    from mosaic.tracks.io import release_unused_memory

    t0 = time.perf_counter()
    data = load_task_input(task)
    release_unused_memory()  # the parquet reader's decompression buffers
    trim = task.meta.get("frame_span") if task.overlap else None
    feat = task.feature
    if type(feat).apply_chunks is Feature.apply_chunks:
        chunks: Iterable[pd.DataFrame] = [feat.apply(data)]  # whole output; the input is freed before writing
    else:
        chunks = feat.apply_chunks(data)  # streamed chunk by chunk
    del data
    n_rows = _write_output(chunks, task, trim)
    return {"group": task.group, "sequence": task.sequence, "abs_path": task.out_path, "n_rows": n_rows,
            "seconds": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process (worker) in MB, from /proc (None elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


# ---------------------------------------------------------------------------------------- runners
def _run_tasks(tasks: list[_Task], mode: str, workers: int | None, dask_address: str | None) -> Iterator[dict | Exception]:
    """Yield each task's metadata row (or the exception it raised) as tasks complete."""
    from mosaic.core.progress import progress

    bar = progress(total=len(tasks), desc=f"feature {tasks[0].feature.name}", leave=False)

    def _wrap(fn, t):
        try:
            return fn(t)
        except MosaicError as exc:
            return exc.with_context(path=t.tracks_path, group=t.group, sequence=t.sequence)

    try:
        serial = not tasks[0].feature.parallelizable or len(tasks) == 1 and mode != "dask"
        if serial or (mode == "thread" and (workers or 1) <= 1):
            for t in tasks:
                yield _wrap(execute_task, t)
                bar.update()
        elif mode == "thread":
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(max_workers=workers) as ex:
                futs = [ex.submit(_wrap, execute_task, t) for t in tasks]
                for f in as_completed(futs):
                    yield f.result()
                    bar.update()
        elif mode == "process":
            from joblib import Parallel, delayed

            n = workers or min(os.cpu_count() or 1, len(tasks))
            par = Parallel(n_jobs=n, backend="loky", return_as="generator_unordered")
            for r in par(delayed(_safe_execute)(t) for t in tasks):
                yield r
                bar.update()
        else:
            yield from _run_dask(tasks, workers, dask_address, bar)
    finally:
        bar.close()


def _safe_execute(task: _Task) -> dict | Exception:
    try:
        return execute_task(task)
    except MosaicError as exc:
        return exc.with_context(path=task.tracks_path, group=task.group, sequence=task.sequence)


def _run_dask(tasks: list[_Task], workers: int | None, address: str | None, bar) -> Iterator[dict | Exception]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - installed in the project env
        raise ConfigError("parallel_mode='dask' needs dask.distributed", expected="pip install 'dask[distributed]'",
                          found=str(exc)) from exc
    address = address or os.environ.get(DASK_ENV)
    cluster = None
    if address:
        client = Client(address)
    else:
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futs = client.map(_safe_execute, tasks, pure=False)
        for fut in as_completed(futs):
            yield fut.result()
            fut.release()
            bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------------------------------- run
def _frame_filters(ds: DatasetCore, start_frame, end_frame, start_time, end_time) -> tuple[int | None, int | None] | None:
    if start_frame is not None and start_time is not None:
        raise ConfigError("give filter_start_frame or filter_start_time, not both", found=(start_frame, start_time))
    if end_frame is not None and end_time is not None:
        raise ConfigError("give filter_end_frame or filter_end_time, not both", found=(end_frame, end_time))
    if start_time is not None or end_time is not None:
        fps = ds.meta.get("fps_default")
        if not fps or not float(fps) > 0:
            raise ConfigError("time filters need meta['fps_default'] in the dataset manifest", path=ds.manifest_path,
                              expected="fps_default > 0", found=fps, hint="set ds.meta['fps_default'] and ds.save(), or filter by frames")
        fps = float(fps)
        if start_time is not None:
            start_frame = math.ceil(float(start_time) * fps - 1e-9)
        if end_time is not None:
            end_frame = math.ceil(float(end_time) * fps - 1e-9)
    if start_frame is None and end_frame is None:
        return None
    for v in (start_frame, end_frame):
        if v is not None and (not isinstance(v, (int, np.integer)) or v < 0):
            raise ConfigError("frame filters must be non-negative integers", expected="int >= 0", found=v)
    if start_frame is not None and end_frame is not None and end_frame <= start_frame:
        raise ConfigError("empty frame filter", expected="start < end (end excluded)", found=(start_frame, end_frame))
    return (None if start_frame is None else int(start_frame), None if end_frame is None else int(end_frame))


def _resolve_upstream(ds: DatasetCore, res: Result) -> tuple[str, pd.DataFrame]:
    idx = read_feature_index(ds, res.feature)
    run_id = res.run_id or latest_run_id(ds, res.feature)
    if run_id is None:
        raise FeatureError(f"upstream feature {res.feature!r} has no run", path=feature_index_path(ds, res.feature),
                           hint=f"run_feature(ds, {res.feature!r}) first")
    rows = idx[idx["run_id"] == run_id]
    if rows.empty:
        raise FeatureError(f"upstream run {res.feature}/{run_id} not found", path=feature_index_path(ds, res.feature),
                           expected=sorted(set(idx["run_id"])) or "a recorded run", found=run_id)
    return run_id, rows


def _fmt(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) and f > 0 else None


def run_feature(
    ds: DatasetCore,
    feature: Any,
    groups: Any = None,
    sequences: Any = None,
    overwrite: bool = False,
    parallel_workers: int | None = None,
    parallel_mode: str | None = "thread",
    overlap_frames: int = 0,
    filter_start_frame: int | None = None,
    filter_end_frame: int | None = None,
    filter_start_time: float | None = None,
    filter_end_time: float | None = None,
    registry: Any = None,
    dask_address: str | None = None,
    tracks_source: str | None = None,
) -> Result:
    """Compute ``feature`` for every (group, sequence) in scope and record the run.

    Parameters
    ----------
    ds
        The dataset.
    feature
        A :class:`~mosaic.features.base.Feature` instance, a registered name, a feature class,
        a spec ``{'name', 'params', 'inputs'}``, or any object implementing the feature
        protocol (``name``, ``version``, ``params``, ``inputs``, ``fit``, ``apply``).
    groups, sequences
        Restrict the scope (a name or a list; both may be given).
    overwrite
        Recompute and rewrite outputs of the same ``run_id``.
    parallel_workers
        Workers (``None``: 1 thread; all cores for ``'process'``; 2 local Dask workers).
    parallel_mode
        ``'thread'`` (also when None), ``'process'`` (joblib/loky) or ``'dask'`` (dask.distributed; a
        ``LocalCluster`` on 127.0.0.1 unless ``dask_address`` or ``$MOSAIC_DASK_SCHEDULER``
        names a scheduler).
    overlap_frames
        For a continuous dataset: frames of the neighbouring segments (same group, sequences
        in natural order) given to ``apply`` and trimmed from its output.
    filter_start_frame, filter_end_frame
        Keep frames in ``[start, end)``.
    filter_start_time, filter_end_time
        The same in seconds, converted with ``meta['fps_default']``.
    registry
        A mapping ``name -> class | "module:Class"`` used instead of the global registry.
    dask_address
        Scheduler address for ``'dask'`` mode (e.g. ``'tcp://10.0.0.5:8786'``).
    tracks_source
        Which tracks a ``'tracks'`` input reads: ``'standardized'`` (default) or cleaned tracks,
        ``'clean:<run_id>'`` (``'clean'``: the latest cleaning run); see :mod:`mosaic.quality`.

    Returns
    -------
    Result
        ``Result(feature=name, run_id=..., paths=(...))`` with one output path per sequence.

    Raises
    ------
    ConfigError
        Bad mode, workers, filters, or overlap with filters / on a discrete dataset.
    FeatureError
        Unknown feature/param, missing input columns, missing upstream run or sequence.
    BatchError
        Some sequences failed (the others are written and indexed).
    """
    feat = make_feature(feature, registry)
    if parallel_mode is None:
        parallel_mode = "thread"
    if not feat.name or feat.name == TRACKS:
        raise FeatureError("a feature needs a name (not 'tracks')", expected="class attribute `name`",
                           found=f"{type(feat).__name__}.name = {feat.name!r}")
    if parallel_mode not in PARALLEL_MODES:
        raise ConfigError("unknown parallel_mode", expected=list(PARALLEL_MODES), found=parallel_mode)
    if parallel_workers is not None and (not isinstance(parallel_workers, int) or parallel_workers < 1):
        raise ConfigError("parallel_workers must be a positive int or None", found=parallel_workers)
    if not isinstance(overlap_frames, (int, np.integer)) or overlap_frames < 0:
        raise ConfigError("overlap_frames must be a non-negative int", found=overlap_frames)
    frame_range = _frame_filters(ds, filter_start_frame, filter_end_frame, filter_start_time, filter_end_time)
    if overlap_frames and frame_range is not None:
        raise ConfigError("overlap_frames and frame/time filters cannot be combined", found={"overlap_frames": overlap_frames,
                          "filter_frames": frame_range})
    if overlap_frames and ds.dataset_type != "continuous":
        raise ConfigError("overlap_frames needs a continuous dataset", path=ds.manifest_path, expected="dataset_type: continuous",
                          found=ds.dataset_type)

    scope = select_sequences(ds, groups, sequences)
    if scope.empty:
        raise FeatureError("no sequences in scope", path=ds.get_root("tracks") / "index.csv", found={"groups": groups, "sequences": sequences})

    # ---- inputs and their identities
    upstream: dict[Result, tuple[str, str, dict[tuple[str, str], str]]] = {}
    for res in feat.inputs.results:
        run_id_up, rows = _resolve_upstream(ds, res)
        paths = {(g, s): str(ds.resolve_path(p)) for g, s, p in zip(rows["group"], rows["sequence"], rows["abs_path"])}
        missing = [(g, s) for g, s in zip(scope["group"], scope["sequence"]) if (g, s) not in paths]
        if missing:
            raise FeatureError(f"upstream run {res.feature}/{run_id_up} lacks sequences in scope",
                               path=feature_index_path(ds, res.feature), expected="every (group, sequence) in scope",
                               found=f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        upstream[res] = (res.feature, run_id_up, paths)
    track_paths = {(g, s): str(ds.resolve_path(p)) for g, s, p in zip(scope["group"], scope["sequence"], scope["abs_path"])}
    source_filter = {}
    if tracks_source not in (None, "standardized"):  # cleaned tracks of a cleaning run
        from mosaic.quality.store import clean_track_paths, latest_clean_run, parse_tracks_source

        _, clean_run = parse_tracks_source(tracks_source)
        clean_run = clean_run or latest_clean_run(ds)
        track_paths = {k: str(p) for k, p in clean_track_paths(ds, clean_run, list(track_paths)).items()}
        source_filter = {"tracks_source": f"clean:{clean_run}"}
    identities: list[Any] = []
    for item in feat.inputs:
        if item == TRACKS:
            ids = []
            for (g, s), p in track_paths.items():
                if not os.path.exists(p):
                    raise FeatureError("track file listed in tracks/index.csv is missing", path=p, group=g, sequence=s)
                ids.append([g, s, file_fingerprint(p)])
            identities.append({"tracks": ids})
        else:
            nm, rid, _ = upstream[item]
            identities.append({"feature": nm, "run_id": rid})
    filters = {"frame_range": list(frame_range) if frame_range else None, "overlap_frames": int(overlap_frames),
               **source_filter}
    scope_list = [[g, s] for g, s in zip(scope["group"], scope["sequence"])]
    params = feat.get_params()
    run_id = make_run_id({"feature": feat.name, "version": feat.version, "params": params, "inputs": identities,
                          "scope": scope_list, "filters": filters})
    out_dir = feature_root(ds, feat.name) / run_id
    out_paths = {(g, s): out_dir / f"{sequence_key(g, s)}.parquet" for g, s in zip(scope["group"], scope["sequence"])}
    result = Result(feat.name, run_id, tuple(out_paths[k] for k in out_paths))

    # ---- what is already done
    idx = read_feature_index(ds, feat.name)
    done = set()
    if not overwrite and len(idx):
        mine = idx[idx["run_id"] == run_id]
        done = {(g, s) for g, s, p in zip(mine["group"], mine["sequence"], mine["abs_path"]) if ds.resolve_path(p).exists()}
    todo = [k for k in out_paths if k not in done]
    if not todo:
        log.info("feature %s run %s: all %d outputs exist, nothing to do", feat.name, run_id, len(out_paths))
        return result

    # ---- fit (global features) over the whole scope, loading one sequence at a time
    base_meta = {"fps_default": _fmt(ds.meta.get("fps_default")), "cm_default": _fmt(ds.meta.get("cm_per_pixel"))}
    tasks_all = _build_tasks(ds, feat, run_id, scope, track_paths, upstream, out_paths, frame_range, int(overlap_frames), base_meta)
    if feat.needs_fit:
        feat.fit(load_task_input(tasks_all[k]) for k in out_paths)
        for t in tasks_all.values():
            t.feature = feat

    tasks = [tasks_all[k] for k in todo]
    inputs_json = canonical_json([{"feature": i.feature, "run_id": upstream[i][1]}
                                  if isinstance(i, Result) else i for i in feat.inputs])
    created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    rows, failures, errors = [], {}, []
    t_run = time.perf_counter()
    peaks: list[float] = []
    for r in _run_tasks(tasks, parallel_mode, parallel_workers, dask_address):
        if isinstance(r, Exception):
            errors.append(r)
            failures[f"{getattr(r, 'group', '?')}/{getattr(r, 'sequence', '?')}"] = str(r)
            continue
        rows.append({
            "feature": feat.name, "version": feat.version, "run_id": run_id, "group": r["group"],
            "sequence": r["sequence"], "group_safe": to_safe_name(r["group"]), "sequence_safe": to_safe_name(r["sequence"]),
            "abs_path": ds.relative_path(r["abs_path"]), "n_rows": r["n_rows"], "params_json": canonical_json(params),
            "inputs_json": inputs_json, "filters_json": canonical_json(filters), "created_iso": created,
        })
        if r.get("peak_rss_mb"):
            peaks.append(r["peak_rss_mb"])
    stats = {"seconds": round(time.perf_counter() - t_run, 4), "n_computed": len(rows), "parallel_mode": parallel_mode,
             "max_worker_peak_rss_mb": round(max(peaks), 1) if peaks else None}
    log.info("feature %s run %s: %d sequence(s) in %.2f s (worker peak RSS %s MB)", feat.name, run_id, len(rows),
             stats["seconds"], stats["max_worker_peak_rss_mb"])
    if rows:  # run.json first, the index rows last: an indexed run always has its run.json
        atomic_write_json(out_dir / RUN_INFO, {
            "feature": feat.name, "version": feat.version, "run_id": run_id, "params": params,
            "inputs": json.loads(inputs_json), "filters": filters, "scope": scope_list,
            "fitted_state": feat.fitted_state(), "created_iso": created, "stats": stats,
        })
        upsert_index(feature_index_path(ds, feat.name), rows, FEATURES_INDEX)
    if failures:
        if not rows and len({(type(e), getattr(e, "problem", str(e))) for e in errors}) == 1:
            raise errors[0]  # every sequence failed the same way: that named error
        raise BatchError(f"feature {feat.name!r} failed on some sequences", failures, path=out_dir)
    return result


def _build_tasks(ds, feat, run_id, scope, track_paths, upstream, out_paths, frame_range, overlap, base_meta) -> dict:
    tasks = {}
    keys = list(zip(scope["group"], scope["sequence"]))
    fps_col = scope["fps"] if "fps" in scope.columns else pd.Series([None] * len(scope))
    # neighbours within a group (continuous datasets), in scope order
    all_scope = keys
    for pos, (g, s) in enumerate(keys):
        prev_k = all_scope[pos - 1] if pos > 0 and all_scope[pos - 1][0] == g else None
        next_k = all_scope[pos + 1] if pos + 1 < len(all_scope) and all_scope[pos + 1][0] == g else None
        sources = []
        for item in feat.inputs:
            if item == TRACKS:
                paths = track_paths
                kind = TRACKS
            else:
                kind, _, paths = upstream[item]
            sources.append(_Source(kind, paths[(g, s)],
                                   paths.get(prev_k) if overlap and prev_k else None,
                                   paths.get(next_k) if overlap and next_k else None))
        meta: dict[str, Any] = {"inputs": [  # what this recording's output is computed from (recorded in its file)
            {"tracks": ds.relative_path(track_paths[(g, s)]), "fingerprint": file_fingerprint(track_paths[(g, s)])}
            if item == TRACKS else {"feature": upstream[item][0], "run_id": upstream[item][1]} for item in feat.inputs]}
        if overlap:
            meta["frame_span"] = _frame_span(sources[0].path, sources[0].kind, g, s)
        tasks[(g, s)] = _Task(feature=feat, run_id=run_id, group=g, sequence=s, sources=sources,
                              out_path=str(out_paths[(g, s)]), index_fps=_fmt(fps_col.iloc[pos]),
                              frame_range=frame_range, overlap=overlap, meta=meta, tracks_path=track_paths.get((g, s)),
                              **base_meta)
    return tasks


def _frame_span(path: str, kind: str, g: str, s: str) -> tuple[int, int]:
    """(min, max) frame of a file, from parquet statistics when available."""
    import pyarrow.parquet as pq

    try:
        col = pq.read_table(path, columns=["frame"]).column("frame")
    except Exception as exc:
        raise FeatureError("cannot read frames of input", path=path, group=g, sequence=s, found=str(exc).splitlines()[0]) from exc
    import pyarrow.compute as pc

    mm = pc.min_max(col)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    return (int(lo), int(hi)) if lo is not None else (0, -1)


# ---------------------------------------------------------------------------------------- load
def feature_files(ds: DatasetCore, name: str, run_id: str | None = None, groups: Any = None,
                  sequences: Any = None) -> pd.DataFrame:
    """Index rows (with ``path`` resolved) of one run of ``name`` (latest when ``run_id`` is None).

    Raises
    ------
    FeatureError
        The feature never ran, or ``run_id`` is unknown.
    """
    _, rows = _resolve_upstream(ds, Result(name, run_id))
    groups, sequences = _as_list(groups), _as_list(sequences)
    if groups is not None:
        rows = rows[rows["group"].isin(groups)]
    if sequences is not None:
        rows = rows[rows["sequence"].isin(sequences)]
    rows = rows.copy()
    rows["path"] = [str(ds.resolve_path(p)) for p in rows["abs_path"]]
    return rows.reset_index(drop=True)


def iter_feature(ds: DatasetCore, name: str, run_id: str | None = None, groups: Any = None,
                 sequences: Any = None, columns: list[str] | None = None) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Yield ``(group, sequence, table)`` of one run, one recording at a time (bounded memory)."""
    rows = feature_files(ds, name, run_id, groups, sequences)
    for g, s, p, rid in zip(rows["group"], rows["sequence"], rows["path"], rows["run_id"]):
        if not os.path.exists(p):
            raise FeatureError("feature output listed in the index is missing", path=p, group=g, sequence=s,
                               hint="rerun with overwrite=True")
        yield g, s, _read_feature_file(p, g, s, columns, identity={"feature": name, "run_id": rid})


def _check_feature_identity(path: str, requested: dict[str, Any]) -> Any:
    """Raise :class:`IdentityError` when the ``mosaic`` metadata of a feature file contradicts ``requested``; return its schema."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(b"mosaic")
    try:
        recorded = json.loads(raw) if raw else {}
    except ValueError:
        recorded = {}
    check_identity(path, requested, recorded if isinstance(recorded, dict) else {}, "feature file")
    return schema


def _read_feature_file(path: str, group: str, sequence: str, columns: list[str] | None,
                       identity: dict[str, Any] | None = None) -> pd.DataFrame:
    """Read one feature parquet; damaged files and absent columns give a named :class:`FeatureError`.

    The identity the file records (``mosaic`` metadata: feature, run_id, group, sequence)
    must match the request; a file of another recording or run raises :class:`IdentityError`.
    """
    import pyarrow as pa

    try:
        schema = _check_feature_identity(path, {"group": group, "sequence": sequence, **(identity or {})})
        if columns is not None:
            absent = [c for c in columns if c not in schema.names]
            if absent:
                raise FeatureError("feature output lacks requested columns", path=path, group=group, sequence=sequence,
                                   expected=list(columns), found=f"missing {absent}")
        return pd.read_parquet(path, columns=columns)
    except (OSError, pa.ArrowException, ValueError) as exc:
        raise FeatureError("feature output is not readable parquet", path=path, group=group, sequence=sequence,
                           found=str(exc).splitlines()[0], hint="rerun the feature with overwrite=True") from exc


def load_feature(ds: DatasetCore, name: str, run_id: str | None = None, groups: Any = None,
                 sequences: Any = None, columns: list[str] | None = None) -> pd.DataFrame:
    """One run of feature ``name`` (the latest when ``run_id`` is None) as one table.

    Columns ``group``, ``sequence`` come first, then the feature's key and values.
    """
    parts = []
    for g, s, df in iter_feature(ds, name, run_id, groups, sequences, columns):
        df.insert(0, "sequence", s)
        df.insert(0, "group", g)
        parts.append(df)
    if not parts:
        return pd.DataFrame(columns=["group", "sequence"])
    return pd.concat(parts, ignore_index=True)


def load_result(ds: DatasetCore, result: Result | Iterable, **kwargs: Any) -> pd.DataFrame:
    """:func:`load_feature` of a :class:`Result` (its feature and run_id)."""
    return load_feature(ds, result.feature, result.run_id, **kwargs)
