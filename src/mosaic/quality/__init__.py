"""Track quality: measure, clean and repair standardized tracks.

Public API (the facade and the ``clean`` pipeline call these):

* :func:`quality_report` (one table), :func:`track_quality` (a dataset, written under
  ``reporting/quality/``) — missingness, gaps, confidence, jumps, identity swaps, duplicates;
* :func:`clean_table` (one table), :func:`clean_tracks` (a dataset, written under
  ``tracks_clean/<run_id>/``) — ordered operations: confidence filter, jump removal,
  identity-swap repair, gap interpolation, rolling median, Savitzky–Golay;
* :func:`load_clean_tracks`, :func:`clean_track_paths`, :func:`track_paths` — where features
  find cleaned tracks (``tracks_source: clean:<run_id>``);
* :func:`render_clip` — a video clip with the tracks and the quality flags drawn on it;
* the array-level building blocks in :mod:`.filters` and :mod:`.detect`.
"""

from .clean import DEFAULT_OPERATIONS, FLAG_COLUMN, check_operations, clean_arrays, clean_table
from .cleaned import (
    clean_root,
    clean_track_paths,
    latest_clean_run,
    load_clean_tracks,
    parse_tracks_source,
    read_clean_index,
    run_report,
    track_paths,
)
from .dataset import quality_dir, track_quality
from .report import DEFAULT_REPORT_PARAMS, QualityReport, quality_report
from .store import clean_tracks

__all__ = [
    "DEFAULT_OPERATIONS",
    "DEFAULT_REPORT_PARAMS",
    "FLAG_COLUMN",
    "QualityReport",
    "check_operations",
    "clean_arrays",
    "clean_root",
    "clean_table",
    "clean_track_paths",
    "clean_tracks",
    "latest_clean_run",
    "load_clean_tracks",
    "parse_tracks_source",
    "quality_dir",
    "quality_report",
    "read_clean_index",
    "run_report",
    "track_paths",
    "track_quality",
]
