"""What a dataset holds: recordings, raw, converted and cleaned tracks, track quality, media, labels, features, frames, models.

:func:`inventory` asks each domain's own index reader (the raw and standardized tracks indexes,
the cleaned-track index and run reports, the track-quality tables, the media index, each label
kind's index, each keypoint-label import's index, :func:`~mosaic.features.engine.list_feature_runs`,
:func:`~mosaic.media.store.list_frame_runs`, the models index and each run's ``metrics.json``)
and returns a plain dict; :mod:`mosaic.reporting.inventory_text` renders it. A malformed index
does not stop the inventory: it is listed under ``problems``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import MosaicError
from mosaic.core.indexes import TRACKS_INDEX, TRACKS_RAW_INDEX, read_index
from mosaic.core.safe_names import from_safe_name

log = logging.getLogger(__name__)

#: metrics shown first for a model run (the rest follow in file order)
SUMMARY_METRICS = ("macro_f1", "accuracy", "balanced_accuracy", "n_clusters", "inertia", "silhouette")


def _guarded(what: Callable[[], Any], problems: list[str], empty: Any = None) -> Any:
    """``what()``, or ``empty`` with the error recorded in ``problems`` when a reader refuses its index."""
    try:
        return what()
    except MosaicError as exc:
        problems.append(str(exc))
        log.warning("inventory: %s", exc)
        return empty


def _has_root(ds: DatasetCore, key: str) -> bool:
    try:
        return ds.has_root(key) and ds.get_root(key).is_dir()
    except MosaicError:
        return False


def _pairs(df: pd.DataFrame | None) -> set[tuple[str, str]]:
    if df is None or df.empty:
        return set()
    sub = df[df["sequence"].astype(str) != ""]
    return set(zip(sub["group"].astype(str), sub["sequence"].astype(str)))


def _counts(values: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in sorted(Counter(values.astype(str)).items()) if str(k) != ""}


def _int_sum(values: pd.Series) -> int:
    return int(pd.to_numeric(values, errors="coerce").fillna(0).sum())


def _json_or_none(text: Any) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _index(ds: DatasetCore, root: str, schema, problems: list[str]) -> pd.DataFrame | None:
    """``<root>/index.csv`` read with its declared schema (None when the root or the index is absent)."""
    if not _has_root(ds, root):
        return None
    path = ds.get_root(root) / "index.csv"
    if not path.is_file():
        return None
    return _guarded(lambda: read_index(path, schema), problems)


def _tracks_raw(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None:
        return None
    per_file = df.drop_duplicates("abs_path")
    return {"n_files": int(len(per_file)), "n_sequences": len(_pairs(df)), "by_format": _counts(per_file["src_format"])}


def _tracks(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None:
        return None
    out: dict[str, Any] = {
        "n_sequences": len(_pairs(df)),
        "by_format": _counts(df["src_format"]),
        "schemas": sorted(_counts(df["schema"])),
        "n_rows": _int_sum(df["n_rows"]),
        "n_frames": _int_sum(df["n_frames"]),
    }
    ids = pd.to_numeric(df["n_ids"], errors="coerce").dropna()
    if len(ids):
        out["n_ids_range"] = [int(ids.min()), int(ids.max())]
    return out


def _media(ds: DatasetCore, problems: list[str]) -> dict[str, Any] | None:
    from mosaic.media.index import MEDIA_INDEX

    df = _index(ds, "media", MEDIA_INDEX, problems)
    if df is None:
        return None
    return {
        "n_videos": int(len(df)),
        "n_sequences": len(_pairs(df)),
        "n_unmatched": int((df["sequence"].astype(str) == "").sum()),
    }


def _labels(ds: DatasetCore, problems: list[str]) -> dict[str, Any]:
    from mosaic.labels.io import read_labels_index

    if not _has_root(ds, "labels"):
        return {}
    out: dict[str, Any] = {}
    for idx_path in sorted(ds.get_root("labels").glob("*/index.csv")):
        kind = from_safe_name(idx_path.parent.name)
        df = _guarded(lambda k=kind: read_labels_index(ds, k, missing_ok=False), problems)
        if df is None:
            continue
        names: list[str] = []
        for value in df["label_names"].tolist():
            parsed = _json_or_none(value)
            names += [str(n) for n in parsed or [] if str(n) not in names]
        info: dict[str, Any] = {"n_sequences": len(_pairs(df)), "n_events": _int_sum(df["n_events"])}
        if names:
            info["label_names"] = names
        info["label_formats"] = sorted(_counts(df["label_format"]))
        out[kind] = info
    return out


def _features(ds: DatasetCore, problems: list[str]) -> dict[str, list[dict[str, Any]]]:
    from mosaic.features.engine import list_feature_runs

    if not _has_root(ds, "features"):
        return {}
    runs = _guarded(lambda: list_feature_runs(ds), problems)
    out: dict[str, list[dict[str, Any]]] = {}
    for r in [] if runs is None else runs.to_dict("records"):
        run: dict[str, Any] = {
            "run_id": str(r["run_id"]),
            "version": str(r["version"]),
            "n_sequences": int(r["n_sequences"]),
            "n_rows": int(r["n_rows"]),
            "created": str(r["created_iso"]),
        }
        params = _json_or_none(r["params_json"])
        if params is not None:
            run["params"] = params
        out.setdefault(str(r["feature"]), []).append(run)
    return out


def _frames(ds: DatasetCore, problems: list[str]) -> list[dict[str, Any]]:
    from mosaic.media.store import list_frame_runs

    if not _has_root(ds, "frames"):
        return []
    df = _guarded(lambda: list_frame_runs(ds), problems)
    if df is None or df.empty:
        return []
    runs = []
    for (method, run_id), rows in df.groupby(["method", "run_id"], sort=False):
        runs.append(
            {
                "method": str(method),
                "run_id": str(run_id),
                "n_sequences": len(_pairs(rows)),
                "n_frames": _int_sum(rows["n_frames"]),
                "created": str(rows["created_iso"].max()),
            }
        )
    return runs


def _clean_runs(ds: DatasetCore, problems: list[str]) -> list[dict[str, Any]]:
    """Cleaned-track runs from ``tracks_clean/index.csv`` and each run's ``report.json``."""
    from mosaic.quality.store import clean_root, read_clean_index, run_report

    if not clean_root(ds).is_dir():
        return []
    df = _guarded(lambda: read_clean_index(ds), problems)
    if df is None or df.empty:
        return []
    runs = []
    for run_id, rows in df.groupby("run_id", sort=False):
        run: dict[str, Any] = {
            "run_id": str(run_id),
            "n_sequences": len(_pairs(rows)),
            "n_rows": _int_sum(rows["n_rows"]),
            "n_interpolated_rows": _int_sum(rows["n_interpolated_rows"]),
            "created": str(rows["created_iso"].max()),
        }
        report = _guarded(lambda r=str(run_id): run_report(ds, r), problems)
        if isinstance(report, dict) and isinstance(report.get("operations"), list):
            run["operations"] = [
                str(op.get("op", op)) if isinstance(op, dict) else str(op) for op in report["operations"]
            ]
        runs.append(run)
    return sorted(runs, key=lambda r: r["created"])


def _quality(ds: DatasetCore, problems: list[str]) -> dict[str, Any] | None:
    """The track-quality report under ``reporting/quality/``: rows per table, recordings covered."""
    from mosaic.quality import quality_dir

    folder = quality_dir(ds)
    tables = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not tables:
        return None
    out: dict[str, Any] = {"folder": ds.relative_path(folder), "tables": {}}
    pairs: set[tuple[str, str]] = set()
    for path in tables:
        try:
            df = pd.read_csv(path, dtype={"group": str, "sequence": str}, keep_default_na=False)
        except pd.errors.EmptyDataError:
            df = pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            problems.append(f"unreadable quality table {path}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
            continue
        out["tables"][path.stem] = int(len(df))
        if {"group", "sequence"} <= set(df.columns):
            pairs |= _pairs(df)
    out["n_sequences"] = len(pairs)
    return out


def _keypoint_labels(ds: DatasetCore, problems: list[str]) -> dict[str, dict[str, Any]]:
    """Imported keypoint labels (``labels/keypoints/<name>/index.csv``), per name."""
    from mosaic.interop.api import KEYPOINT_LABELS_DIR, KEYPOINT_LABELS_INDEX

    if not _has_root(ds, "labels"):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for idx_path in sorted((ds.get_root("labels") / KEYPOINT_LABELS_DIR).glob("*/index.csv")):
        df = _guarded(lambda p=idx_path: read_index(p, KEYPOINT_LABELS_INDEX), problems)
        if df is None or df.empty:
            continue
        names: list[str] = []
        for value in df["keypoint_names"].astype(str):
            names += [n for n in value.split("|") if n and n not in names]
        out[str(df["name"].iloc[0])] = {
            "n_sequences": len(_pairs(df)),
            "n_frames": _int_sum(df["n_frames"]),
            "n_rows": _int_sum(df["n_rows"]),
            "keypoint_names": names,
            "src_formats": sorted(_counts(df["src_format"])),
        }
    return out


def summary_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics of a run's ``metrics.json``, :data:`SUMMARY_METRICS` first.

    Top-level numbers, plus the summary metrics of the evaluation block named by
    ``metrics['evaluation']`` (e.g. ``cv``) as ``<block>.<metric>``.
    """

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    scalars = {k: v for k, v in metrics.items() if number(v)}
    block = metrics.get("evaluation")
    if isinstance(block, str) and isinstance(metrics.get(block), dict):
        for k in SUMMARY_METRICS:
            v = metrics[block].get(k)
            if number(v) and k not in scalars:
                scalars[f"{block}.{k}"] = v
    order = [k for s in SUMMARY_METRICS for k in (s, f"{block}.{s}")]
    first = {k: scalars[k] for k in order if k in scalars}
    return {**first, **{k: v for k, v in scalars.items() if k not in first}}


def _models(ds: DatasetCore, problems: list[str]) -> list[dict[str, Any]]:
    from mosaic.models.store import METRICS_FILE, read_models_index, run_dir

    if not _has_root(ds, "models"):
        return []
    df = _guarded(lambda: read_models_index(ds), problems)
    out: list[dict[str, Any]] = []
    for r in [] if df is None else df.to_dict("records"):
        entry: dict[str, Any] = {"model": str(r["model"]), "run_id": str(r["run_id"])}
        for col in ("kind", "label_kind", "created_iso"):
            if str(r[col]) not in ("", "nan"):
                entry[col] = str(r[col])
        metrics: dict[str, Any] = {}
        path = run_dir(ds, entry["model"], entry["run_id"]) / METRICS_FILE
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                metrics = summary_metrics(data) if isinstance(data, dict) else {}
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                problems.append(f"unreadable metrics file {path}: {exc.__class__.__name__}: {exc}")
        macro = pd.to_numeric(pd.Series([r["macro_f1"]]), errors="coerce").iloc[0]
        if pd.notna(macro):
            metrics.setdefault("macro_f1", float(macro))
        if metrics:
            entry["metrics"] = metrics
        out.append(entry)
    return out


def inventory(ds: DatasetCore) -> dict[str, Any]:
    """Summarise what the dataset folder holds, from its index files.

    Parameters
    ----------
    ds
        The dataset (a :class:`~mosaic.core.dataset.DatasetCore` or :class:`mosaic.Dataset`).

    Returns
    -------
    dict
        ``dataset`` (name, folder, type, meta), ``groups`` (``{group: [sequences]}`` from the
        converted tracks, else the raw tracks), ``n_groups``, ``n_sequences``, and per root:
        ``tracks_raw`` (files per source format), ``tracks`` (sequences, rows, frames, formats),
        ``tracks_clean`` (``[{run_id, n_sequences, n_rows, n_interpolated_rows, created,
        operations}]``), ``quality`` (the track-quality report: ``{folder, tables: {name: rows},
        n_sequences}`` or ``None``), ``keypoint_labels`` (``{name: {n_sequences, n_frames, n_rows,
        keypoint_names, src_formats}}``),
        ``media`` (videos), ``labels`` (``{kind: {n_sequences, n_events, label_names,
        label_formats}}``), ``features`` (``{name: [{run_id, version, n_sequences, n_rows,
        created, params}]}``), ``frames`` (``[{method, run_id, n_sequences, n_frames, created}]``),
        ``models`` (``[{model, run_id, kind, label_kind, created_iso, metrics}]``). Absent roots
        give ``None`` or empty containers; unreadable indexes are listed under ``problems``.
    """
    problems: list[str] = []
    raw_df = _index(ds, "tracks_raw", TRACKS_RAW_INDEX, problems)
    tracks_df = _index(ds, "tracks", TRACKS_INDEX, problems)
    pairs = _pairs(tracks_df) or _pairs(raw_df)
    groups: dict[str, list[str]] = {}
    for g, s in sorted(pairs):
        groups.setdefault(g, []).append(s)
    return {
        "dataset": {"name": ds.name, "folder": str(ds.folder), "dataset_type": ds.dataset_type, "meta": dict(ds.meta)},
        "groups": groups,
        "n_groups": len(groups),
        "n_sequences": len(pairs),
        "tracks_raw": _tracks_raw(raw_df),
        "tracks": _tracks(tracks_df),
        "tracks_clean": _clean_runs(ds, problems),
        "quality": _quality(ds, problems),
        "media": _media(ds, problems),
        "labels": _labels(ds, problems),
        "keypoint_labels": _keypoint_labels(ds, problems),
        "features": _features(ds, problems),
        "frames": _frames(ds, problems),
        "models": _models(ds, problems),
        "problems": problems,
    }


__all__ = ["SUMMARY_METRICS", "inventory", "summary_metrics"]
