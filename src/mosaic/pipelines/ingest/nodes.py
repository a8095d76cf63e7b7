"""Nodes of the `ingest` pipeline: index raw tracking files (same function as the facade)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.core.indexes import TRACKS_RAW_INDEX
from mosaic.core.sources import SCAN_KEYS
from mosaic.media.index import MediaIndexing, index_media_from_config
from mosaic.tracks.indexing import scan_tracks_raw

log = logging.getLogger(__name__)


def index_raw_tracks(ingest: Mapping[str, Any], dataset: DatasetCore) -> pd.DataFrame:
    """Scan every configured source and return the raw index rows.

    ``ingest['sources']`` is a list of :func:`mosaic.tracks.index_tracks_raw` argument sets
    (by default the ``tracks`` block of the dataset's ``sources.yml``; a ``params`` key there
    is for the conversion and ignored here); a source with ``optional: true`` whose folders do
    not exist is skipped. ``dataset`` is the dataset folder (catalog entry ``dataset``) whose raw
    folders are scanned. The rows are merged into ``tracks_raw/index.csv`` by the catalog dataset
    (the same merge as the facade).
    """
    from mosaic.core.sources import read_sources

    ds = dataset
    read_sources(ds.folder)  # a broken sources.yml is a named error here, not a silent fallback
    sources = list((ingest or {}).get("sources") or [])
    if not sources:
        raise ConfigError(
            "ingest needs at least one source",
            expected="ingest.sources: [{search_dirs, src_format, ...}]",
            found=ingest,
        )
    frames = []
    for src in sources:
        unknown = sorted(set(src) - set(SCAN_KEYS) - {"optional", "params"})
        if unknown:
            raise ConfigError(
                "unknown keys in an ingest source", expected=list(SCAN_KEYS) + ["optional", "params"], found=unknown
            )
        kwargs = {k: v for k, v in src.items() if k in SCAN_KEYS}
        try:
            frames.append(scan_tracks_raw(ds, **kwargs))
        except ConfigError as exc:
            if src.get("optional") and "none of the search_dirs exists" in str(exc):
                log.info("optional ingest source skipped: %s", exc)
                continue
            raise
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(TRACKS_RAW_INDEX.columns))


def index_media_node(
    media_ingest: Mapping[str, Any], dataset: DatasetCore, tracks_raw_index: pd.DataFrame | None = None
) -> MediaIndexing:
    """Probe and match the dataset's videos; return the planned index (the node writes nothing).

    Videos are matched against the converted tracks when there are any, else against
    ``tracks_raw_index`` (the raw index this pipeline has just built), as ``Dataset.index_media``
    does (:func:`mosaic.media.index.index_media_from_config`). Saving ``media_index@report``
    writes ``media/index.csv`` (:meth:`~mosaic.media.index.MediaIndexing.write`) and the report.
    """
    return index_media_from_config(dataset, dict(media_ingest or {}), raw_index=tracks_raw_index)
