"""Nodes of the `clean` pipeline: standardized tracks in, cleaned tracks and their report out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, SequenceNotFoundError
from mosaic.core.safe_names import sequence_key
from mosaic.quality.report import quality_report
from mosaic.quality.store import clean_loaded, clean_report, plan_clean_run, tracks_in_scope

log = logging.getLogger(__name__)


def _load(value: Any) -> Any:
    return value() if callable(value) else value


def clean_partitions(
    tracks: Mapping[str, Callable[[], pd.DataFrame] | pd.DataFrame],
    tracks_index: pd.DataFrame,
    clean_params: Mapping[str, Any],
    dataset: DatasetCore,
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Clean every recording of ``tracks`` in scope, one at a time.

    A generator: each step yields ``({'<run_id>/<group_safe>__<sequence_safe>': (table, meta)},
    report)`` so that Kedro writes each cleaned partition as soon as it exists (one recording in
    memory) and rewrites the report with the recordings done so far. The run id is the content
    hash of the operations and the input files' fingerprints (the same as the facade's).

    Parameters
    ----------
    tracks
        ``{partition_id: loader}`` of standardized tables (the ``tracks@parquet`` dataset).
    tracks_index
        ``tracks/index.csv`` (``tracks@index``: which files, and the order).
    clean_params
        ``params:clean``: ``operations`` (ordered list), ``groups``, ``sequences``.
    dataset
        The dataset folder (catalog entry ``dataset``; resolves the index's relative paths).
    """
    ds = dataset
    params = _check_params(clean_params)
    plan = plan_clean_run(ds, params.get("operations"), _indexed_scope(ds, params, tracks_index))
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    records: list[dict[str, Any]] = []
    for job in plan["jobs"]:
        out, new_meta, rec = _clean_partition(tracks, job, plan)
        records.append(rec)
        yield {job["partition"]: (out, new_meta)}, clean_report(plan, created, records)


def _check_params(clean_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """``params:clean`` as a dict (``ConfigError`` on an unknown key)."""
    params = dict(clean_params or {})
    unknown = sorted(set(params) - {"operations", "groups", "sequences"})
    if unknown:
        raise ConfigError(
            "unknown key(s) in params:clean", expected=["operations", "groups", "sequences"], found=unknown
        )
    return params


def _indexed_scope(ds: DatasetCore, params: Mapping[str, Any], tracks_index: pd.DataFrame) -> pd.DataFrame:
    """The recordings in the parameters' scope that ``tracks_index`` lists."""
    scope = tracks_in_scope(ds, params.get("groups"), params.get("sequences"))
    return scope[
        scope.set_index(["group", "sequence"]).index.isin(
            pd.MultiIndex.from_frame(tracks_index[["group", "sequence"]].astype(str))
        )
    ]


def _clean_partition(
    tracks: Mapping[str, Callable[[], pd.DataFrame] | pd.DataFrame], job: Mapping[str, Any], plan: Mapping[str, Any]
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Load and clean the partition of one planned job: ``(table, file metadata, report record)``.

    Raises
    ------
    SequenceNotFoundError
        ``tracks`` has no partition for the recording.
    """
    key = sequence_key(job["group"], job["sequence"])
    if key not in tracks:
        raise SequenceNotFoundError(
            "recording of tracks/index.csv has no partition in `tracks`",
            path=job["source"],
            group=job["group"],
            sequence=job["sequence"],
            expected=key,
            found=sorted(tracks)[:5],
        )
    df = _load(tracks[key])
    meta = dict(df.attrs.get("mosaic") or {})
    out, new_meta, rec = clean_loaded(df, meta, plan["operations"], plan["run_id"], source=job["source_rel"])
    del df
    log.info(
        "cleaned %s/%s (run %s): %s",
        job["group"],
        job["sequence"],
        plan["run_id"],
        ", ".join(f"{s['op']} {s['n_changed']}" for s in rec["steps"]),
    )
    return out, new_meta, rec


def track_quality_tables(
    tracks: Mapping[str, Callable[[], pd.DataFrame] | pd.DataFrame], quality_params: Mapping[str, Any] | None
) -> dict[str, list[dict[str, Any]]]:
    """The quality report of every standardized recording (one in memory at a time), as records.

    Returns ``{'individuals': [...], 'points': [...], 'events': [...]}`` — the tables of
    :func:`mosaic.quality.track_quality` — saved as ``track_quality_report``.
    """
    parts: dict[str, list[pd.DataFrame]] = {"individuals": [], "points": [], "events": []}
    for key in sorted(tracks):
        df = _load(tracks[key])
        rep = quality_report(df, dict(df.attrs.get("mosaic") or {}), quality_params)
        del df
        parts["individuals"].append(rep.individuals)
        parts["points"].append(rep.points)
        parts["events"].append(rep.events)
    out = {}
    for k, v in parts.items():
        t = pd.concat(v, ignore_index=True) if v else pd.DataFrame()
        out[k] = [
            {c: (None if isinstance(x, float) and x != x else x) for c, x in row.items()}
            for row in t.astype(object).to_dict(orient="records")
        ]
    log.info("track quality of %d recording(s)", len(tracks))
    return out
