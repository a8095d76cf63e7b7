"""What a dataset holds: recordings, raw and converted tracks, media, labels, features, frames, models.

:func:`inventory` reads every root's ``index.csv`` generically through
:func:`mosaic.core.indexes.read_index` (no domain schema needed, missing indexes tolerated) and
returns a plain dict; :func:`format_inventory` renders it as text for a terminal or a notebook.
A malformed index does not stop the inventory: it is listed under ``problems``.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import MosaicError
from mosaic.core.indexes import read_index

log = logging.getLogger(__name__)

PARAM_COLUMNS = ("params", "params_json", "feature_params", "config", "config_json")
METRIC_FILES = ("metrics.json",)
PARAM_FILES = ("run_info.json", "params.json", "config.json", "resolved_config.json", "meta.json")
SUMMARY_METRICS = ("macro_f1", "f1_macro", "accuracy", "balanced_accuracy", "n_clusters", "inertia", "silhouette")


def _read(path: Path, problems: list[str]) -> pd.DataFrame | None:
    """The index at ``path`` (None when absent; recorded in ``problems`` when unreadable)."""
    if not path.is_file():
        return None
    try:
        return read_index(path)
    except MosaicError as exc:
        problems.append(str(exc))
        log.warning("inventory: %s", exc)
        return None


def _root(ds: DatasetCore, key: str) -> Path | None:
    try:
        return ds.get_root(key) if ds.has_root(key) else None
    except MosaicError:
        return None


def _pairs(df: pd.DataFrame | None) -> set[tuple[str, str]]:
    if df is None or not {"group", "sequence"} <= set(df.columns):
        return set()
    sub = df[df["sequence"].astype(str) != ""]
    return set(zip(sub["group"].astype(str), sub["sequence"].astype(str)))


def _counts(df: pd.DataFrame | None, column: str) -> dict[str, int]:
    if df is None or column not in df.columns:
        return {}
    return {str(k): int(v) for k, v in sorted(Counter(df[column].astype(str)).items()) if str(k) != ""}


def _int_sum(df: pd.DataFrame, column: str) -> int | None:
    if column not in df.columns:
        return None
    return int(pd.to_numeric(df[column], errors="coerce").fillna(0).sum())


def _parse_json(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "{[":
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return value
    return value


def _json_file(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"unreadable JSON: {path} ({exc.__class__.__name__})")
        return None
    return data if isinstance(data, dict) else None


def _run_params(rows: pd.DataFrame, run_dir: Path | None, problems: list[str]) -> dict[str, Any] | None:
    """Parameters of one run: an index params column, else a JSON file in the run folder."""
    for col in PARAM_COLUMNS:
        if col in rows.columns:
            vals = [v for v in rows[col].tolist() if isinstance(v, str) and v.strip()]
            if vals:
                parsed = _parse_json(vals[0])
                return parsed if isinstance(parsed, dict) else {"params": parsed}
    if run_dir is not None and run_dir.is_dir():
        for name in PARAM_FILES:
            p = run_dir / name
            if p.is_file():
                data = _json_file(p, problems)
                if data is not None:
                    for key in ("params", "config", "feature_params"):
                        if isinstance(data.get(key), dict):
                            return data[key]
                    return data
    return None


def _tracks_raw(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None:
        return None
    files = df["abs_path"].nunique() if "abs_path" in df.columns else len(df)
    per_file = df.drop_duplicates("abs_path") if "abs_path" in df.columns else df
    return {"n_files": int(files), "n_sequences": len(_pairs(df)), "by_format": _counts(per_file, "src_format")}


def _tracks(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None:
        return None
    out: dict[str, Any] = {
        "n_sequences": len(_pairs(df)), "by_format": _counts(df, "src_format"), "schemas": sorted(set(_counts(df, "schema"))),
    }
    for col in ("n_rows", "n_frames"):
        total = _int_sum(df, col)
        if total is not None:
            out[col] = total
    if "n_ids" in df.columns:
        ids = pd.to_numeric(df["n_ids"], errors="coerce").dropna()
        if len(ids):
            out["n_ids_range"] = [int(ids.min()), int(ids.max())]
    return out


def _media(df: pd.DataFrame | None) -> dict[str, Any] | None:
    if df is None:
        return None
    out: dict[str, Any] = {"n_videos": int(len(df)), "n_sequences": len(_pairs(df))}
    if "sequence" in df.columns:
        out["n_unmatched"] = int((df["sequence"].astype(str) == "").sum())
    return out


def _labels(root: Path | None, problems: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if root is None or not root.is_dir():
        return out
    for idx in sorted(root.glob("*/index.csv")):
        df = _read(idx, problems)
        if df is None:
            continue
        kind = str(df["kind"].iloc[0]) if "kind" in df.columns and len(df) else idx.parent.name
        info: dict[str, Any] = {"n_sequences": len(_pairs(df)) or int(len(df))}
        n_events = _int_sum(df, "n_events")
        if n_events is not None:
            info["n_events"] = n_events
        names: list[str] = []
        for v in df.get("label_names", pd.Series(dtype=str)).tolist():
            parsed = _parse_json(v)
            for n in parsed if isinstance(parsed, list) else []:
                if str(n) not in names:
                    names.append(str(n))
        if names:
            info["label_names"] = names
        if "label_format" in df.columns:
            info["label_formats"] = sorted(set(_counts(df, "label_format")))
        out[kind] = info
    return out


def _features(root: Path | None, problems: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if root is None or not root.is_dir():
        return out
    for idx in sorted(root.glob("*/index.csv")):
        df = _read(idx, problems)
        if df is None:
            continue
        name_col = next((c for c in ("feature", "name", "feature_name") if c in df.columns), None)
        name = str(df[name_col].iloc[0]) if name_col and len(df) else idx.parent.name
        runs: list[dict[str, Any]] = []
        if "run_id" in df.columns:
            for run_id, rows in df.groupby(df["run_id"].astype(str), sort=True):
                run: dict[str, Any] = {"run_id": run_id, "n_sequences": len(_pairs(rows)) or int(len(rows))}
                params = _run_params(rows, idx.parent / run_id, problems)
                if params is not None:
                    run["params"] = params
                for col in ("version", "feature_version"):
                    if col in rows.columns and len(rows):
                        run["version"] = rows[col].iloc[0] if not hasattr(rows[col].iloc[0], "item") else rows[col].iloc[0].item()
                for col in ("created_iso", "created", "created_at", "timestamp", "mtime_iso"):
                    if col in rows.columns and len(rows):
                        run["created"] = str(rows[col].astype(str).max())
                        break
                runs.append(run)
        else:
            runs.append({"run_id": "", "n_sequences": len(_pairs(df)) or int(len(df))})
        out[name] = runs
    return out


def _frames(root: Path | None, problems: list[str]) -> list[dict[str, Any]]:
    if root is None:
        return []
    df = _read(root / "index.csv", problems)
    if df is None:
        return []
    keys = [c for c in ("method", "run_id") if c in df.columns]
    if not keys:
        return [{"method": "", "run_id": "", "n_sequences": len(_pairs(df)), "n_frames": int(len(df))}]
    runs = []
    for key, rows in df.groupby([df[k].astype(str) for k in keys], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        run = dict(zip(keys, key))
        run.setdefault("method", "")
        run.setdefault("run_id", "")
        run["n_sequences"] = len(_pairs(rows))
        counted = next((c for c in ("n_frames", "n_selected", "n_saved") if c in rows.columns), None)
        one_row_per_sequence = len(rows) == max(1, run["n_sequences"])
        run["n_frames"] = _int_sum(rows, counted) if counted and one_row_per_sequence else int(len(rows))
        runs.append(run)
    return runs


def _summary_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics of a metrics mapping, summary keys first.

    Top-level numbers, plus the summary metrics of the evaluation block named by
    ``metrics['evaluation']`` (e.g. ``cv``) as ``<block>.<metric>``.
    """
    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    block = metrics.get("evaluation")
    if isinstance(block, str) and isinstance(metrics.get(block), dict):
        for k in SUMMARY_METRICS:
            v = metrics[block].get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in scalars:
                scalars[f"{block}.{k}"] = v
    order = [k for s in SUMMARY_METRICS for k in (s, f"{block}.{s}")] if isinstance(block, str) else list(SUMMARY_METRICS)
    first = {k: scalars[k] for k in order if k in scalars}
    return {**first, **{k: v for k, v in scalars.items() if k not in first}}


def _models(ds: DatasetCore, root: Path | None, problems: list[str]) -> list[dict[str, Any]]:
    if root is None:
        return []
    df = _read(root / "index.csv", problems)
    rows: list[dict[str, Any]] = []
    if df is not None and len(df):
        name_col = next((c for c in ("model", "name", "model_name") if c in df.columns), None)
        for _, r in df.iterrows():
            model = str(r[name_col]) if name_col else ""
            run_id = str(r.get("run_id", ""))
            entry: dict[str, Any] = {"model": model, "run_id": run_id}
            for col in ("kind", "model_type", "estimator", "label_kind", "created", "created_at"):
                if col in df.columns and str(r[col]) not in ("", "nan"):
                    entry[col] = str(r[col])
            metrics: dict[str, Any] = {}
            mpath = next((str(r[c]) for c in ("metrics_path",) if c in df.columns and str(r[c])), "")
            candidates = [ds.resolve_path(mpath)] if mpath else []
            candidates += [root / model / run_id / f for f in METRIC_FILES]
            for p in candidates:
                if Path(p).is_file():
                    data = _json_file(Path(p), problems)
                    if data is not None:
                        metrics = _summary_metrics(data)
                        break
            for col in df.columns:
                if col.startswith("metric_") or col in SUMMARY_METRICS:
                    v = pd.to_numeric(pd.Series([r[col]]), errors="coerce").iloc[0]
                    if pd.notna(v):
                        metrics.setdefault(col.removeprefix("metric_"), float(v))
            if "metrics" in df.columns:
                parsed = _parse_json(r["metrics"])
                if isinstance(parsed, dict):
                    metrics = {**_summary_metrics(parsed), **metrics}
            if metrics:
                entry["metrics"] = metrics
            rows.append(entry)
    return rows


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
        ``tracks_raw`` (files per source format), ``tracks`` (sequences, rows, formats), ``media``
        (videos), ``labels`` (``{kind: {n_sequences, n_events, label_names}}``), ``features``
        (``{name: [{run_id, n_sequences, params}]}``), ``frames`` (``[{method, run_id,
        n_sequences, n_frames}]``), ``models`` (``[{model, run_id, metrics}]``). Absent roots give
        ``None`` or empty containers; unreadable indexes are listed under ``problems``.
    """
    problems: list[str] = []
    tracks_raw_root, tracks_root = _root(ds, "tracks_raw"), _root(ds, "tracks")
    media_root = _root(ds, "media")
    raw_df = _read(tracks_raw_root / "index.csv", problems) if tracks_raw_root else None
    tracks_df = _read(tracks_root / "index.csv", problems) if tracks_root else None
    media_df = _read(media_root / "index.csv", problems) if media_root else None
    pairs = _pairs(tracks_df) or _pairs(raw_df)
    groups: dict[str, list[str]] = {}
    for g, s in sorted(pairs):
        groups.setdefault(g, []).append(s)
    return {
        "dataset": {
            "name": ds.name,
            "folder": str(ds.folder),
            "dataset_type": ds.dataset_type,
            "meta": dict(ds.meta),
        },
        "groups": groups,
        "n_groups": len(groups),
        "n_sequences": len(pairs),
        "tracks_raw": _tracks_raw(raw_df),
        "tracks": _tracks(tracks_df),
        "media": _media(media_df),
        "labels": _labels(_root(ds, "labels"), problems),
        "features": _features(_root(ds, "features"), problems),
        "frames": _frames(_root(ds, "frames"), problems),
        "models": _models(ds, _root(ds, "models"), problems),
        "problems": problems,
    }


def _fmt_params(params: Any, limit: int = 160) -> str:
    text = json.dumps(params, sort_keys=True, default=str, separators=(", ", "=")).replace('"', "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt_value(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def format_inventory(inv: dict[str, Any], max_sequences: int = 8) -> str:
    """Render an :func:`inventory` dict as indented text (one section per root).

    Parameters
    ----------
    inv
        The dict returned by :func:`inventory`.
    max_sequences
        Sequences listed per group before ``...``.
    """
    d = inv.get("dataset", {})
    lines = [f"Dataset {d.get('name', '?')!r} at {d.get('folder', '?')} ({d.get('dataset_type', '?')})"]
    meta = d.get("meta") or {}
    if meta:
        lines.append("  meta: " + ", ".join(f"{k}={meta[k]}" for k in sorted(meta)))
    lines.append(f"Recordings: {inv.get('n_groups', 0)} groups, {inv.get('n_sequences', 0)} sequences")
    for g, seqs in (inv.get("groups") or {}).items():
        shown = ", ".join(seqs[:max_sequences]) + (f", ... (+{len(seqs) - max_sequences})" if len(seqs) > max_sequences else "")
        lines.append(f"  {g}: {shown}")
    raw = inv.get("tracks_raw")
    if raw is None:
        lines.append("Raw tracks: none indexed")
    else:
        fmts = ", ".join(f"{k}: {v}" for k, v in raw["by_format"].items())
        lines.append(f"Raw tracks: {raw['n_files']} files" + (f" ({fmts})" if fmts else ""))
    tr = inv.get("tracks")
    if tr is None:
        lines.append("Converted tracks: none")
    else:
        extra = []
        if "n_rows" in tr:
            extra.append(f"{tr['n_rows']} rows")
        if "n_frames" in tr:
            extra.append(f"{tr['n_frames']} frames")
        if tr.get("schemas"):
            extra.append("schema " + "/".join(tr["schemas"]))
        if tr.get("by_format"):
            extra.append("from " + ", ".join(f"{k}: {v}" for k, v in tr["by_format"].items()))
        lines.append(f"Converted tracks: {tr['n_sequences']} sequences" + (", " + ", ".join(extra) if extra else ""))
    media = inv.get("media")
    if media is not None:
        lines.append(f"Media: {media['n_videos']} videos for {media['n_sequences']} sequences"
                     + (f", {media['n_unmatched']} unmatched" if media.get("n_unmatched") else ""))
    labels = inv.get("labels") or {}
    lines.append(f"Labels: {len(labels)} kind(s)" + ("" if labels else " (none)"))
    for kind, info in labels.items():
        s = f"  {kind}: {info['n_sequences']} sequences"
        if "n_events" in info:
            s += f", {info['n_events']} events"
        if info.get("label_names"):
            s += "; labels: " + ", ".join(info["label_names"])
        lines.append(s)
    feats = inv.get("features") or {}
    n_runs = sum(len(r) for r in feats.values())
    lines.append(f"Features: {len(feats)} feature(s), {n_runs} run(s)" + ("" if feats else " (none)"))
    for name, runs in feats.items():
        for run in runs:
            s = f"  {name} run {run['run_id'] or '?'}: {run['n_sequences']} sequences"
            if "params" in run:
                s += f", params {_fmt_params(run['params'])}"
            lines.append(s)
    frames = inv.get("frames") or []
    lines.append(f"Frame runs: {len(frames)}" + ("" if frames else " (none)"))
    for run in frames:
        lines.append(f"  {run['method'] or '?'} run {run['run_id'] or '?'}: {run['n_sequences']} sequences, {run['n_frames']} frames")
    models = inv.get("models") or []
    lines.append(f"Models: {len(models)}" + ("" if models else " (none)"))
    for m in models:
        s = f"  {m['model'] or '?'} run {m['run_id'] or '?'}"
        facts = [m[k] for k in ("kind", "estimator") if m.get(k)] + ([f"labels {m['label_kind']}"] if m.get("label_kind") else [])
        if facts:
            s += f" ({', '.join(facts)})"
        metrics = m.get("metrics") or {}
        if metrics:
            s += ": " + ", ".join(f"{k}={_fmt_value(v)}" for k, v in list(metrics.items())[:6])
        lines.append(s)
    problems = inv.get("problems") or []
    if problems:
        lines.append(f"Problems: {len(problems)}")
        lines.extend(f"  {p}" for p in problems)
    return "\n".join(lines)


__all__ = ["format_inventory", "inventory", "print_inventory"]


def print_inventory(ds: DatasetCore, print_it: bool = True) -> dict[str, Any]:
    """Compute :func:`inventory`, print :func:`format_inventory` of it (unless ``print_it`` is False), return the dict."""
    inv = inventory(ds)
    if print_it:
        print(format_inventory(inv))  # noqa: T201 - printing is the point
    return inv
