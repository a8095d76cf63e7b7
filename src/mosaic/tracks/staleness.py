"""Is a converted output stale? Its recorded raw-file fingerprints against the raw files now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import MosaicError, check_identity
from mosaic.core.run_ids import fingerprint_change

from .io import read_tracks_meta
from .jobs import raw_jobs_for


def stale_reason(ds: DatasetCore, source_files: Sequence[str], meta: Mapping[str, Any]) -> str | None:
    """Why an output whose metadata is ``meta`` no longer reflects ``source_files`` (None: it does).

    The recorded set of raw files must be the same, and each must match its fingerprint.
    """
    recorded = meta.get("source_fingerprints")
    if not isinstance(recorded, Mapping) or not recorded:
        return "no input fingerprints recorded (converted by an older version)"
    now, before = set(map(str, source_files)), set(map(str, recorded))
    if now != before:
        return f"raw files changed: added {sorted(now - before)}, removed {sorted(before - now)}"
    for rel in sorted(now):
        why = fingerprint_change(recorded[rel], ds.resolve_path(rel))
        if why is not None:
            return f"{rel}: {why}"
    return None


def stale_on_load(ds: DatasetCore, group: str, sequence: str, std: Path) -> str | None:
    """Why the standard file of (group, sequence) is stale (None: current, or written without fingerprints)."""
    try:
        meta = read_tracks_meta(std)
    except MosaicError:
        return None  # read_tracks names the problem
    # an index row pointing at another recording's file is an error, never "stale, convert again"
    check_identity(
        std, {"group": group, "sequence": sequence}, {k: meta.get(k) for k in ("group", "sequence")}, "track file"
    )
    if not meta.get("source_fingerprints"):
        return None  # written without fingerprints (older version, or not by conversion): nothing to compare
    exact = [j for j in raw_jobs_for(ds, group, sequence) if not j.multi]
    sources = exact[0].rel_paths if exact else list(meta.get("source_files") or meta["source_fingerprints"])
    if not any(ds.resolve_path(r).exists() for r in sources):
        return None  # raw files archived or moved away: the conversion is all there is
    return stale_reason(ds, sources, meta)
