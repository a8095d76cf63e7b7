"""Cleaned-track runs on disk: the layout, the clean index, and where readers find the files.

Layout (relative to the dataset folder)::

    tracks_clean/index.csv                                   every run's recordings
    tracks_clean/<run_id>/<group_safe>__<sequence_safe>.parquet   trex_v1 + 'interpolated'
    tracks_clean/<run_id>/report.json                        operations, inputs, per-recording counts

The runs are written by :func:`mosaic.quality.store.clean_tracks` (and the ``clean`` pipeline,
whose report is ``tracks_clean/clean_report.json``). Features read them through
``tracks_source``: ``'standardized'``, ``'clean'`` (the latest run) or ``'clean:<run_id>'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, MosaicError, SequenceNotFoundError
from mosaic.core.indexes import IndexSchema, read_index
from mosaic.core.safe_names import sequence_key, to_safe_name

CLEAN_ROOT = "tracks_clean"
CLEAN_VERSION = 1
REPORT_FILE = "report.json"
STANDARDIZED = "standardized"
KEDRO_REPORT = "clean_report.json"  # the `clean` pipeline's run report
_CLEAN_COLUMNS = (
    "run_id",
    "group",
    "sequence",
    "group_safe",
    "sequence_safe",
    "abs_path",
    "source_path",
    "n_rows",
    "n_interpolated_rows",
    "created_iso",
)
CLEAN_INDEX = IndexSchema(
    name="tracks_clean",
    columns=_CLEAN_COLUMNS,
    key=("run_id", "group", "sequence"),
    text_columns=tuple(c for c in _CLEAN_COLUMNS if c not in ("n_rows", "n_interpolated_rows")),
)


def clean_root(ds: DatasetCore) -> Path:
    """``<dataset>/tracks_clean``."""
    return ds.folder / CLEAN_ROOT


def clean_index_path(ds: DatasetCore) -> Path:
    """``tracks_clean/index.csv``."""
    return clean_root(ds) / "index.csv"


def read_clean_index(ds: DatasetCore) -> pd.DataFrame:
    """Every cleaned recording of every run (empty when there is none)."""
    return read_index(clean_index_path(ds), CLEAN_INDEX, missing_ok=True)


def latest_clean_run(ds: DatasetCore) -> str | None:
    """The most recent cleaning run: of the facade's index and the `clean` pipeline's report, the newer."""
    import json

    found: list[tuple[str, str]] = []
    idx = read_clean_index(ds)
    if not idx.empty:
        last = idx.sort_values("created_iso", kind="stable").iloc[-1]
        found.append((str(last["created_iso"]), str(last["run_id"])))
    kr = clean_root(ds) / KEDRO_REPORT
    if kr.exists():
        try:
            info = json.loads(kr.read_text("utf-8"))
            found.append((str(info.get("created_iso", "")), str(info["run_id"])))
        except (OSError, ValueError, KeyError):
            pass
    return max(found)[1] if found else None


def parse_tracks_source(source: str | None) -> tuple[str, str | None]:
    """``'standardized'`` → ``('standardized', None)``; ``'clean:<run_id>'`` → ``('clean', run_id)``;
    ``'clean'`` → ``('clean', None)`` (the latest run).

    Raises
    ------
    ConfigError
        Anything else.
    """
    if source is None or source == STANDARDIZED:
        return STANDARDIZED, None
    if isinstance(source, str) and (source == "clean" or source.startswith("clean:")):
        rid = source.partition(":")[2].strip() or None
        return "clean", rid
    raise ConfigError("unknown tracks_source", expected=["standardized", "clean", "clean:<run_id>"], found=source)


def clean_track_paths(
    ds: DatasetCore, run_id: str | None = None, keys: Sequence[tuple[str, str]] | None = None
) -> dict[tuple[str, str], Path]:
    """``{(group, sequence): cleaned file}`` of run ``run_id`` (latest when None), for ``keys`` or all.

    Raises
    ------
    SequenceNotFoundError
        No cleaning run, an unknown run id, or a recording the run does not have.
    """
    rid = run_id or latest_clean_run(ds)
    if rid is None:
        raise SequenceNotFoundError(
            "no cleaned tracks in this dataset",
            path=clean_index_path(ds),
            expected="a run of clean_tracks",
            found="none",
            hint="run ds.clean_tracks() or `kedro run --pipelines clean`",
        )
    run_dir = clean_root(ds) / to_safe_name(str(rid))
    if not run_dir.is_dir():
        known = sorted(p.name for p in clean_root(ds).iterdir() if p.is_dir()) if clean_root(ds).is_dir() else []
        raise SequenceNotFoundError("unknown cleaning run", path=run_dir, expected=known, found=rid)
    if keys is None:  # every recording of the run (file names are the safe keys)
        from mosaic.core.safe_names import split_sequence_key

        paths = {}
        for f in sorted(run_dir.glob("*.parquet")):
            try:
                paths[split_sequence_key(f.stem)] = f
            except MosaicError:
                continue
        return paths
    paths = {k: run_dir / f"{sequence_key(*k)}.parquet" for k in keys}
    absent = [k for k in keys if not paths[k].exists()]
    if absent:
        raise SequenceNotFoundError(
            f"cleaning run {rid} lacks recordings",
            path=clean_root(ds) / rid,
            expected="every (group, sequence) in scope",
            found=f"missing {absent[:5]}",
        )
    return {k: paths[k] for k in keys}


def track_paths(
    ds: DatasetCore, tracks_source: str | None, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Path]:
    """Track files of ``keys`` from ``tracks_source`` (``'standardized'`` or ``'clean[:run_id]'``)."""
    kind, rid = parse_tracks_source(tracks_source)
    if kind == "clean":
        return clean_track_paths(ds, rid, keys)
    idx = ds.tracks_index()
    paths = {(g, s): ds.resolve_path(p) for g, s, p in zip(idx["group"], idx["sequence"], idx["abs_path"])}
    absent = [k for k in keys if k not in paths]
    if absent:
        raise SequenceNotFoundError(
            "recordings not in tracks/index.csv",
            path=ds.get_root("tracks") / "index.csv",
            found=f"missing {absent[:5]}",
        )
    return {k: paths[k] for k in keys}


def load_clean_tracks(ds: DatasetCore, group: str, sequence: str, run_id: str | None = None) -> pd.DataFrame:
    """The cleaned table of (group, sequence) from run ``run_id`` (latest when None)."""
    from mosaic.tracks.io import read_tracks

    return read_tracks(clean_track_paths(ds, run_id, [(group, sequence)])[(group, sequence)])


def run_report(ds: DatasetCore, run_id: str | None = None) -> dict[str, Any]:
    """The ``report.json`` of a cleaning run (latest when None)."""
    import json

    rid = run_id or latest_clean_run(ds)
    path = clean_root(ds) / str(rid) / REPORT_FILE
    if rid is None or not path.exists():
        raise SequenceNotFoundError("no report of that cleaning run", path=path, found=rid)
    return json.loads(path.read_text("utf-8"))
