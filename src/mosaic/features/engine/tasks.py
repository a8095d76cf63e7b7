"""One task per (group, sequence): what it reads, how its inputs are joined, and running it.

A task carries paths and parameters only; :func:`execute_task` reads the recording in the
worker, applies the feature, streams the output to its file and returns a small record.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import FeatureError, MosaicError
from mosaic.core.executor import peak_rss_mb, release_unused_memory
from mosaic.core.run_ids import file_fingerprint

from ..base import TRACKS, Feature, SequenceContext
from .blocks import output_chunks
from .load import _check_feature_identity
from .scope import _fmt
from .writer import write_output


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
    block_rows: int | None = None  # input rows per block of a feature applied by blocks (None: the default)


def _schema_names(path: str, task: _Task) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path).names
    except (OSError, pa.ArrowInvalid) as exc:
        raise FeatureError(
            "input file is not readable parquet",
            path=path,
            group=task.group,
            sequence=task.sequence,
            found=str(exc).splitlines()[0],
        ) from exc


def _read_source_file(src_kind: str, path: str, task: _Task, own: bool = False) -> pd.DataFrame:
    """One input file of a task (``own``: the task's recording itself, whose identity is checked)."""
    from mosaic.tracks.io import read_tracks

    if not os.path.exists(path):
        raise FeatureError(
            f"input file of {src_kind!r} is missing",
            path=path,
            group=task.group,
            sequence=task.sequence,
            hint="rerun the upstream step (or the tracks conversion)",
        )
    names = _schema_names(path, task)
    if src_kind == TRACKS:
        cols = task.feature.track_columns(names)
        missing = [c for c in cols if c not in names]
        if missing:
            raise FeatureError(
                f"track file lacks columns feature {task.feature.name!r} needs",
                path=path,
                group=task.group,
                sequence=task.sequence,
                expected=cols,
                found=f"missing {missing}",
            )
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
        raise FeatureError(
            "upstream feature file is not readable",
            path=path,
            group=task.group,
            sequence=task.sequence,
            found=str(exc).splitlines()[0],
        ) from exc


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
            raise FeatureError(
                "cannot join inputs without a frame column",
                group=task.group,
                sequence=task.sequence,
                expected="frame, id[, id2] in every input",
                found=f"{name}: {list(df.columns)[:8]}",
            )
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
    ctx = SequenceContext(
        task.group,
        task.sequence,
        fps=float(fps) if fps else None,
        cm_per_pixel=float(cm) if cm else None,
        path=task.sources[0].path,
    )
    data.attrs.update(ctx.attrs())
    return data


def execute_task(task: _Task) -> dict[str, Any]:
    """Run one (group, sequence): read inputs, apply (chunk by chunk), trim overlap, write.

    Returns only small metadata (no recording passes back to the driver). A named error that
    does not say where it happened gets the task's track file and recording.
    """
    try:
        return _execute(task)
    except MosaicError as exc:
        raise exc.with_context(path=task.tracks_path, group=task.group, sequence=task.sequence) from None


def _execute(task: _Task) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = load_task_input(task)
    release_unused_memory()  # the parquet reader's decompression buffers
    trim = task.meta.get("frame_span") if task.overlap else None
    chunks = output_chunks(task.feature, data, task.block_rows)  # whole, streamed, or block by block
    del data  # a whole output is computed by now: its input goes before the writer starts
    n_rows = write_output(chunks, task, trim)
    return {
        "group": task.group,
        "sequence": task.sequence,
        "abs_path": task.out_path,
        "n_rows": n_rows,
        "seconds": time.perf_counter() - t0,
        "peak_rss_mb": peak_rss_mb(),
    }


def _build_tasks(ds, feat, run_id, scope, track_paths, upstream, out_paths, frame_range, overlap, base_meta) -> dict:
    tasks = {}
    keys = list(zip(scope["group"], scope["sequence"], strict=True))
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
            sources.append(
                _Source(
                    kind,
                    paths[(g, s)],
                    paths.get(prev_k) if overlap and prev_k else None,
                    paths.get(next_k) if overlap and next_k else None,
                )
            )
        meta: dict[str, Any] = {  # what this recording's output is computed from (recorded in its file)
            "inputs": [
                {"tracks": ds.relative_path(track_paths[(g, s)]), "fingerprint": file_fingerprint(track_paths[(g, s)])}
                if item == TRACKS
                else {"feature": upstream[item][0], "run_id": upstream[item][1]}
                for item in feat.inputs
            ]
        }
        if overlap:
            meta["frame_span"] = _frame_span(sources[0].path, sources[0].kind, g, s)
        tasks[(g, s)] = _Task(
            feature=feat,
            run_id=run_id,
            group=g,
            sequence=s,
            sources=sources,
            out_path=str(out_paths[(g, s)]),
            index_fps=_fmt(fps_col.iloc[pos]),
            frame_range=frame_range,
            overlap=overlap,
            meta=meta,
            tracks_path=track_paths.get((g, s)),
            **base_meta,
        )
    return tasks


def _frame_span(path: str, kind: str, g: str, s: str) -> tuple[int, int]:
    """(min, max) frame of a file, from parquet statistics when available."""
    import pyarrow.parquet as pq

    try:
        col = pq.read_table(path, columns=["frame"]).column("frame")
    except Exception as exc:
        raise FeatureError(
            "cannot read frames of input", path=path, group=g, sequence=s, found=str(exc).splitlines()[0]
        ) from exc
    import pyarrow.compute as pc

    mm = pc.min_max(col)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    return (int(lo), int(hi)) if lo is not None else (0, -1)
