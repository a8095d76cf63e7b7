"""Text rendering of a dataset inventory (:func:`mosaic.reporting.inventory.inventory`)."""

from __future__ import annotations

import json
from typing import Any

from mosaic.core.dataset import DatasetCore


def _fmt_params(params: Any, limit: int = 160) -> str:
    text = json.dumps(params, sort_keys=True, default=str, separators=(", ", "=")).replace('"', "")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt_value(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _dataset_lines(inv: dict[str, Any], max_sequences: int) -> list[str]:
    """The dataset line, its meta and the recordings per group."""
    d = inv.get("dataset", {})
    lines = [f"Dataset {d.get('name', '?')!r} at {d.get('folder', '?')} ({d.get('dataset_type', '?')})"]
    meta = d.get("meta") or {}
    if meta:
        lines.append("  meta: " + ", ".join(f"{k}={meta[k]}" for k in sorted(meta)))
    lines.append(f"Recordings: {inv.get('n_groups', 0)} groups, {inv.get('n_sequences', 0)} sequences")
    for g, seqs in (inv.get("groups") or {}).items():
        shown = ", ".join(seqs[:max_sequences]) + (
            f", ... (+{len(seqs) - max_sequences})" if len(seqs) > max_sequences else ""
        )
        lines.append(f"  {g}: {shown}")
    return lines


def _tracks_lines(inv: dict[str, Any]) -> list[str]:
    """Raw, converted and cleaned tracks, the track-quality report and media."""
    lines: list[str] = []
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
    clean = inv.get("tracks_clean") or []
    if clean:
        lines.append(f"Cleaned tracks: {len(clean)} run(s)")
        for run in clean:
            s = f"  run {run['run_id']}: {run['n_sequences']} sequences, {run['n_rows']} rows, {run['n_interpolated_rows']} interpolated"
            if run.get("operations"):
                s += "; " + " > ".join(run["operations"])
            lines.append(s)
    quality = inv.get("quality")
    if quality is not None:
        tables = ", ".join(f"{k}: {v} rows" for k, v in quality["tables"].items())
        lines.append(f"Track quality: {quality['n_sequences']} sequences in {quality['folder']} ({tables})")
    media = inv.get("media")
    if media is not None:
        lines.append(
            f"Media: {media['n_videos']} videos for {media['n_sequences']} sequences"
            + (f", {media['n_unmatched']} unmatched" if media.get("n_unmatched") else "")
        )
    return lines


def _labels_lines(inv: dict[str, Any]) -> list[str]:
    """Label kinds and imported keypoint labels."""
    lines: list[str] = []
    labels = inv.get("labels") or {}
    lines.append(f"Labels: {len(labels)} kind(s)" + ("" if labels else " (none)"))
    for kind, info in labels.items():
        s = f"  {kind}: {info['n_sequences']} sequences"
        if "n_events" in info:
            s += f", {info['n_events']} events"
        if info.get("label_names"):
            s += "; labels: " + ", ".join(info["label_names"])
        lines.append(s)
    keypoints = inv.get("keypoint_labels") or {}
    if keypoints:
        lines.append(f"Keypoint labels: {len(keypoints)} import(s)")
        for name, info in keypoints.items():
            s = f"  {name}: {info['n_sequences']} sequences, {info['n_frames']} labelled frames"
            if info.get("keypoint_names"):
                s += "; keypoints: " + ", ".join(info["keypoint_names"])
            lines.append(s)
    return lines


def _runs_lines(inv: dict[str, Any]) -> list[str]:
    """Feature runs and frame runs."""
    lines: list[str] = []
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
        lines.append(
            f"  {run['method'] or '?'} run {run['run_id'] or '?'}: {run['n_sequences']} sequences, {run['n_frames']} frames"
        )
    return lines


def _models_lines(inv: dict[str, Any]) -> list[str]:
    """Model runs and problems found."""
    lines: list[str] = []
    models = inv.get("models") or []
    lines.append(f"Models: {len(models)}" + ("" if models else " (none)"))
    for m in models:
        s = f"  {m['model'] or '?'} run {m['run_id'] or '?'}"
        facts = [m[k] for k in ("kind", "estimator") if m.get(k)] + (
            [f"labels {m['label_kind']}"] if m.get("label_kind") else []
        )
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
    return lines


def format_inventory(inv: dict[str, Any], max_sequences: int = 8) -> str:
    """Render an :func:`inventory` dict as indented text (one section per root).

    Parameters
    ----------
    inv
        The dict returned by :func:`inventory`.
    max_sequences
        Sequences listed per group before ``...``.
    """
    lines = _dataset_lines(inv, max_sequences)
    for section in (_tracks_lines, _labels_lines, _runs_lines, _models_lines):
        lines.extend(section(inv))
    return "\n".join(lines)


def print_inventory(ds: DatasetCore, print_it: bool = True) -> dict[str, Any]:
    """Compute :func:`inventory`, print :func:`format_inventory` of it (unless ``print_it`` is False), return the dict."""
    from mosaic.reporting.inventory import inventory

    inv = inventory(ds)
    if print_it:
        print(format_inventory(inv))
    return inv
