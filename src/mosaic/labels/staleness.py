"""Whether converted labels still reflect their annotation files (fingerprints recorded per recording).

Every label file and its index row record ``{annotation file: fingerprint}`` of the files it came
from (:data:`~mosaic.labels.label_index.SOURCE_FINGERPRINTS`); a rerun rewrites a recording whose
files changed and removes one a changed file no longer holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import LabelFormatError
from mosaic.core.run_ids import source_fingerprint

from .io import LabelSet
from .label_index import SOURCE_FINGERPRINTS, existing_pairs, read_labels_index


def file_fingerprints(ds: DatasetCore, files: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{dataset-relative path: fingerprint}`` of annotation files (a named error when one is unreadable)."""
    fps = {}
    for src in files:
        p = ds.resolve_path(src)
        try:
            fps[ds.relative_path(p)] = source_fingerprint(p)
        except OSError as exc:
            raise LabelFormatError(
                "annotation file is unreadable", path=p, found=f"{type(exc).__name__}: {exc.strerror or exc}"
            ) from exc
    return fps


def sources_of(ds: DatasetCore, ls: LabelSet, current: Mapping[str, Any]) -> list[str]:
    """The annotation files one label set comes from: its own (``extra``) when named, else every file read."""
    own = ls.extra.get("source_files") or ([ls.extra["source_file"]] if ls.extra.get("source_file") else [])
    rel = [ds.relative_path(ds.resolve_path(str(x))) for x in own]
    return [r for r in rel if r in current] if rel and all(r in current for r in rel) else list(current)


def recorded_fingerprints(ds: DatasetCore, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(group, sequence): {file: fingerprint}}`` of the recordings labelled with an existing file."""
    have = existing_pairs(ds, kind)
    idx = read_labels_index(ds, kind)
    out: dict[tuple[str, str], dict[str, Any]] = {pair: {} for pair in have}
    if SOURCE_FINGERPRINTS in idx.columns:
        for g, s, raw in zip(idx["group"], idx["sequence"], idx[SOURCE_FINGERPRINTS].fillna("").astype(str)):
            if (g, s) in out and raw:
                try:
                    val = json.loads(raw)
                except ValueError:
                    val = {}
                out[(g, s)] = val if isinstance(val, dict) else {}
    return out


def stale_reason(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> str | None:
    """Why labels written from ``recorded`` sources do not reflect the ``now`` ones (None: they do)."""
    if not recorded:
        return "no source fingerprints recorded (converted by an older version)"
    if set(recorded) != set(now):
        return f"annotation files changed: added {sorted(set(now) - set(recorded))}, removed {sorted(set(recorded) - set(now))}"
    for rel in sorted(now):
        a, b = recorded[rel], now[rel]
        if (
            not isinstance(a, Mapping)
            or a.get("size") != b.get("size")
            or (a.get("mtime_ns") != b.get("mtime_ns") and not (a.get("sha256") and a.get("sha256") == b.get("sha256")))
        ):
            return f"{rel}: changed since the labels were written"
    return None


def vanished(
    recorded: Mapping[tuple[str, str], dict[str, Any]],
    produced: set[tuple[str, str]],
    current: Mapping[str, Any],
    stale: dict[str, str],
) -> list[tuple[str, str]]:
    """Recordings labelled before from a changed file that no longer yields them (e.g. an export cut to its
    header), sorted; records why in ``stale``."""
    removed = []
    for pair, fps in recorded.items():
        if pair in produced or not (set(fps) & set(current)):
            continue
        shared = sorted(set(fps) & set(current))
        why = stale_reason({k: fps[k] for k in shared}, {k: current[k] for k in shared})
        if why is not None:
            removed.append(pair)
            stale[f"{pair[0]}/{pair[1]}"] = f"{why}; the annotations no longer hold this recording"
    return sorted(removed)


def recorded_for(
    recorded: Mapping[tuple[str, str], dict[str, Any]], files: Iterable[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The part of ``recorded`` a task reading ``files`` needs: recordings made from one of them, or with no
    fingerprints (older datasets)."""
    mine = set(files)
    return {pair: fps for pair, fps in recorded.items() if not fps or mine & set(fps)}
