"""Planning a conversion: raw index rows → :class:`Job` s, and the converter params of each job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.core.indexes import TRACKS_RAW_INDEX, read_index

from .converters import MULTI_SEQUENCE_FORMATS, PER_INDIVIDUAL_FORMATS, REGISTRY
from .table import PARAM_SOURCES_KEY


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


def raw_index_path(ds: DatasetCore, index_filename: str = "index.csv") -> Path:
    """``tracks_raw/index.csv``."""
    return ds.get_root("tracks_raw") / index_filename


def read_raw_index(ds: DatasetCore, index_filename: str = "index.csv", *, missing_ok: bool = False) -> pd.DataFrame:
    """``tracks_raw/index.csv`` (named error when missing: run ``index_tracks_raw`` first; empty with ``missing_ok``)."""
    return read_index(raw_index_path(ds, index_filename), TRACKS_RAW_INDEX, missing_ok=missing_ok)


def row_value(row: Mapping[str, Any] | pd.Series, key: str, default: Any = "") -> Any:
    """``row[key]``, or ``default`` when absent, None or NaN."""
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
        fmt = str(row_value(r, "src_format"))
        g, s, p = str(row_value(r, "group")), str(row_value(r, "sequence")), str(row_value(r, "abs_path"))
        if fmt in PER_INDIVIDUAL_FORMATS:
            if merge_per_sequence is False:
                jobs.append(Job(g, Path(p).stem, fmt, [p]))
                continue
            key = (
                g,
                s,
                fmt,
                str(Path(p).parent),
            )  # files of one recording lie in one folder: never merge across folders
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


def effective_params(
    ds: DatasetCore, src_format: str, params: Mapping[str, Any] | None, group_from: str | None = None, **where: Any
) -> dict[str, Any]:
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


def job_for_row(ds: DatasetCore, row: Mapping[str, Any] | pd.Series, merge_per_sequence: bool | None = None) -> Job:
    """The conversion job of one raw index row (per-individual formats: with the indexed files of its recording)."""
    fmt = str(row_value(row, "src_format"))
    p = str(row_value(row, "abs_path"))
    if not fmt or not p:
        raise ConfigError(
            "a raw index row needs 'abs_path' and 'src_format'",
            expected=["abs_path", "src_format", "group", "sequence"],
            found=sorted(dict(row)) if hasattr(row, "keys") else type(row).__name__,
        )
    p = ds.relative_path(ds.resolve_path(p))
    g, s = str(row_value(row, "group")), str(row_value(row, "sequence"))
    if fmt in PER_INDIVIDUAL_FORMATS and merge_per_sequence is not False:
        raw = read_raw_index(ds, missing_ok=True)
        sib = raw[(raw["group"] == g) & (raw["sequence"] == s) & (raw["src_format"] == fmt)]
        paths = sorted(set(sib["abs_path"].astype(str)) | {p}) if p in set(sib["abs_path"].astype(str)) else [p]
        return Job(g, s, fmt, paths)
    return plan_jobs(pd.DataFrame([{"group": g, "sequence": s, "abs_path": p, "src_format": fmt}]), merge_per_sequence)[
        0
    ]


def raw_jobs_for(ds: DatasetCore, group: str, sequence: str) -> list[Job]:
    """The jobs that make (group, sequence): its own, else every multi-sequence file's (none without a raw index)."""
    raw = read_raw_index(ds, missing_ok=True)
    if len(raw) == 0:
        return []
    jobs = plan_jobs(raw)
    exact = [j for j in jobs if not j.multi and j.group == group and j.sequence == sequence]
    return exact or [j for j in jobs if j.multi]
