"""Tracks: raw tracking files → standardized ``trex_v1`` parquet.

Public API (the facade and the Kedro pipelines call these):

* :func:`index_tracks_raw` / :func:`scan_tracks_raw` — inventory raw files into ``tracks_raw/index.csv``;
* :func:`list_converters`, :func:`register_converter` — the converter registry (lazy imports);
* :func:`convert_one_track`, :func:`convert_all_tracks`, :class:`ConversionBatch` — conversion;
* :func:`load_tracks`, :func:`read_tracks`, :func:`read_tracks_meta`, :func:`write_tracks`;
* :func:`list_schemas`, :func:`validate_trex_v1`.
"""

from .convert import ConversionBatch, convert_all_tracks, convert_one_track, load_tracks, plan_jobs
from .converters import get_converter, list_converters, register_converter
from .indexing import index_tracks_raw, scan_tracks_raw
from .io import read_tracks, read_tracks_meta, write_tracks
from .schema import TREX_V1, list_schemas, validate_trex_v1
from .table import TrackTable

__all__ = [
    "TREX_V1",
    "ConversionBatch",
    "TrackTable",
    "convert_all_tracks",
    "convert_one_track",
    "get_converter",
    "index_tracks_raw",
    "list_converters",
    "list_schemas",
    "load_tracks",
    "plan_jobs",
    "read_tracks",
    "read_tracks_meta",
    "register_converter",
    "scan_tracks_raw",
    "validate_trex_v1",
    "write_tracks",
]
