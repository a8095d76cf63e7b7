"""The media index ``media/index.csv``: which video belongs to which (group, sequence).

Indexing finds the videos, probes them and matches each to a recording (the rules are in
:mod:`mosaic.media.matching`), then upserts the rows into ``media/index.csv``, dropping the rows
of vanished and unreadable videos. The readers here resolve a recording's videos from the index.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError, ConfigError
from mosaic.core.indexes import (
    NAME_COLUMNS,
    IndexSchema,
    read_index,
    upsert_index,
)

from .errors import AmbiguousMediaError, MediaNotFoundError
from .matching import (
    MATCH_MODES,
    find_videos,
    known_sequences,
    log_matching,
    number_videos,
    probe_and_match,
    sequence_groups,
)

log = logging.getLogger(__name__)

MEDIA_INDEX = IndexSchema(
    name="media",
    columns=(
        "name",
        "abs_path",
        "size_bytes",
        "mtime_iso",
        "group",
        "sequence",
        "group_safe",
        "sequence_safe",
        "video_order",
        "fps",
        "n_frames",
        "width",
        "height",
        "duration_s",
        "fourcc",
    ),
    key=("abs_path",),
    text_columns=NAME_COLUMNS + ("abs_path", "name", "mtime_iso", "fourcc", "count_method", "recording_from"),
)


def media_index_path(ds: DatasetCore, index_filename: str = "index.csv") -> Path:
    """Path of the media index (``<media root>/index.csv``)."""
    return ds.get_root("media") / index_filename


def read_media_index(ds: DatasetCore, index_filename: str = "index.csv", missing_ok: bool = False) -> pd.DataFrame:
    """The media index as a table (named :class:`~mosaic.core.errors.IndexFileError` when missing)."""
    return read_index(media_index_path(ds, index_filename), MEDIA_INDEX, missing_ok=missing_ok)


def _search_folders(ds: DatasetCore, search_dirs: str | os.PathLike | Sequence[str | os.PathLike] | None) -> list[Path]:
    """The folders to search: ``search_dirs`` against the dataset folder, or the media root."""
    if search_dirs is None:
        return [ds.get_root(ds.resolve_media_root())]
    raw = [search_dirs] if isinstance(search_dirs, (str, os.PathLike)) else list(search_dirs)
    return [ds.resolve_path(d) for d in raw]


def _report_failures(failures: dict[str, str], on_error: str, out: Path) -> None:
    """Raise :class:`BatchError` on unreadable videos (``on_error='raise'``), else log them."""
    if failures:
        if on_error == "raise":
            raise BatchError("some videos could not be read and were not indexed", failures, path=out)
        log.warning(
            "%d unreadable video(s) not indexed: %s", len(failures), "; ".join(f"{k}: {v}" for k, v in failures.items())
        )


def _write_media_index(ds: DatasetCore, df: pd.DataFrame, failures: dict[str, str], index_filename: str) -> Path:
    """Upsert ``df`` into the media index, dropping rows of vanished and of unreadable videos; return its path."""
    out = media_index_path(ds, index_filename)
    old = read_index(out, MEDIA_INDEX, missing_ok=True)
    stale = [{"abs_path": p} for p in old["abs_path"] if not ds.resolve_path(p).exists()] + [
        {"abs_path": p} for p in failures
    ]
    upsert_index(out, df, MEDIA_INDEX, drop=stale)
    return out


def _check_index_options(sequence_match_mode: str, on_error: str) -> None:
    """Raise :class:`ConfigError` on an unknown match mode or ``on_error`` (before any work)."""
    if sequence_match_mode not in MATCH_MODES:
        raise ConfigError("unknown sequence_match_mode", expected=list(MATCH_MODES), found=sequence_match_mode)
    if on_error not in ("raise", "warn"):
        raise ConfigError("unknown on_error", expected=["raise", "warn"], found=on_error)


def _media_table(
    ds: DatasetCore, videos: list[Path], raw_index: pd.DataFrame | None, mode: str, count_frames: bool
) -> tuple[pd.DataFrame, dict[str, str], list[dict], list[dict]]:
    """Probe ``videos`` and match them to the known recordings: ``(table, unreadable, unmatched, own)``.

    The table has the media-index columns with ``video_order`` set; ``raw_index`` as in
    :func:`~mosaic.media.matching.known_sequences`.
    """
    seqs = known_sequences(ds, raw_index)
    rows, failures, unmatched, own = probe_and_match(ds, videos, sequence_groups(seqs), mode, count_frames)
    df = pd.DataFrame(rows, columns=list(MEDIA_INDEX.columns) + ["count_method", "recording_from"])
    log_matching(mode, number_videos(df), unmatched, own, has_tracks=bool(len(seqs)))
    return df, failures, unmatched, own


def index_media_report(
    ds: DatasetCore,
    search_dirs: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    extensions: Sequence[str] = (".mp4", ".avi"),
    index_filename: str = "index.csv",
    recursive: bool = True,
    sequence_match_mode: str = "exact",
    *,
    count_frames: bool = False,
    on_error: str = "raise",
    raw_index: pd.DataFrame | None = None,
) -> dict:
    """Index the videos under ``search_dirs`` into ``media/index.csv`` and return a report.

    Parameters
    ----------
    ds
        The dataset.
    search_dirs
        Folders (or files) to search; relative paths are taken against the dataset folder.
        Default: the media root (``media_raw`` when set).
    extensions, recursive
        Video file extensions (case-insensitive); search sub-folders too.
    index_filename
        Name of the index file inside the ``media`` root.
    sequence_match_mode
        ``'exact'`` or ``'prefix'`` (see :mod:`mosaic.media.matching`).
    count_frames
        Count frames by a full sequential decode instead of the verified header count.
    on_error
        ``'raise'`` (default): after indexing the readable videos, raise :class:`BatchError`
        listing the unreadable ones; ``'warn'``: log them instead.
    raw_index
        The raw tracks index to match against when no tracks are converted yet (default: read
        ``tracks_raw/index.csv``); see :func:`~mosaic.media.matching.known_sequences`.

    Returns
    -------
    dict
        ``index_path`` (dataset-relative), ``n_videos``, ``n_matched`` (videos with a recording),
        ``match_mode``, ``unmatched`` (``[{"abs_path", "reason"}]``: ambiguous videos left without a
        recording), ``unreadable`` (``{abs_path: error}``; never indexed, no zero rows) and
        ``own_recordings`` (``[{"abs_path", "group", "sequence"}]``: videos matching no known
        sequence, indexed as their own recordings).

    Raises
    ------
    ConfigError
        Unknown match mode / on_error, or a search folder that does not exist.
    BatchError
        Some videos could not be read (with ``on_error='raise'``); the others are indexed.
    """
    return plan_media_index(
        ds,
        search_dirs,
        extensions,
        index_filename,
        recursive,
        sequence_match_mode,
        count_frames=count_frames,
        on_error=on_error,
        raw_index=raw_index,
    ).write()


@dataclass
class MediaIndexing:
    """Videos probed and matched to recordings, not yet written (see :func:`plan_media_index`).

    :meth:`write` upserts them into ``media/index.csv`` and returns the report of
    :func:`index_media_report`; the Kedro ``media_index@report`` dataset saves a planned
    indexing by calling it, so the node itself writes nothing.
    """

    ds: DatasetCore
    table: pd.DataFrame
    failures: dict[str, str]
    unmatched: list[dict]
    own: list[dict]
    match_mode: str
    index_filename: str = "index.csv"
    on_error: str = "raise"

    def write(self) -> dict:
        """Write the index (the one writer of ``media/index.csv``); return the report."""
        df, failures = self.table, self.failures
        out = _write_media_index(self.ds, df, failures, self.index_filename)
        log.info(
            "indexed %d video(s) into %s (%d unmatched, %d unreadable)",
            len(df),
            out,
            len(self.unmatched),
            len(failures),
        )
        _report_failures(failures, self.on_error, out)
        return _index_report(self.ds, out, df, self.match_mode, self.unmatched, failures, self.own)


def plan_media_index(
    ds: DatasetCore,
    search_dirs: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    extensions: Sequence[str] = (".mp4", ".avi"),
    index_filename: str = "index.csv",
    recursive: bool = True,
    sequence_match_mode: str = "exact",
    *,
    count_frames: bool = False,
    on_error: str = "raise",
    raw_index: pd.DataFrame | None = None,
) -> MediaIndexing:
    """Find, probe and match the videos as :func:`index_media_report` does, writing nothing.

    Same parameters; ``.write()`` on the result writes the index and returns the report.
    """
    _check_index_options(sequence_match_mode, on_error)
    videos = find_videos(_search_folders(ds, search_dirs), extensions, recursive)
    df, failures, unmatched, own = _media_table(ds, videos, raw_index, sequence_match_mode, count_frames)
    return MediaIndexing(ds, df, failures, unmatched, own, sequence_match_mode, index_filename, on_error)


def _index_report(
    ds: DatasetCore,
    out: Path,
    df: pd.DataFrame,
    mode: str,
    unmatched: list[dict],
    failures: dict[str, str],
    own: list[dict],
) -> dict:
    """The JSON-able report of one indexing run (see :func:`index_media_report`)."""
    return {
        "index_path": ds.relative_path(out),
        "n_videos": len(df),
        "n_matched": int((df["sequence"] != "").sum()),
        "match_mode": mode,
        "unmatched": unmatched,
        "unreadable": failures,
        "own_recordings": own,
    }


def index_media(
    ds: DatasetCore,
    search_dirs: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    extensions: Sequence[str] = (".mp4", ".avi"),
    index_filename: str = "index.csv",
    recursive: bool = True,
    sequence_match_mode: str = "exact",
    *,
    count_frames: bool = False,
    on_error: str = "raise",
) -> Path:
    """Index the videos under ``search_dirs`` into ``media/index.csv``; return the index path.

    Same parameters as :func:`index_media_report` (which also returns what was unmatched or
    unreadable).

    Raises
    ------
    ConfigError
        Unknown match mode / on_error, or a search folder that does not exist.
    BatchError
        Some videos could not be read (with ``on_error='raise'``); the others are indexed.
    """
    report = index_media_report(
        ds,
        search_dirs,
        extensions,
        index_filename,
        recursive,
        sequence_match_mode,
        count_frames=count_frames,
        on_error=on_error,
    )
    return ds.resolve_path(report["index_path"])


def media_rows(ds: DatasetCore, group: str, sequence: str, index_filename: str = "index.csv") -> pd.DataFrame:
    """Index rows of the videos of one (group, sequence), ordered by ``video_order``.

    Raises
    ------
    MediaNotFoundError
        No video is indexed for the recording.
    """
    df = read_media_index(ds, index_filename)
    sel = df[(df["group"] == str(group)) & (df["sequence"] == str(sequence))]
    if not len(sel):
        raise MediaNotFoundError(
            "no video is indexed for this recording",
            path=media_index_path(ds, index_filename),
            group=group,
            sequence=sequence,
            hint="run index_media (check sequence_match_mode and that the video names match the sequences)",
        )
    return sel.sort_values(["video_order", "abs_path"]).reset_index(drop=True)


def resolve_media_paths(ds: DatasetCore, group: str, sequence: str) -> list[Path]:
    """Absolute paths of the videos of (group, sequence), ordered by ``video_order``.

    Raises
    ------
    MediaNotFoundError
        No video is indexed for the recording.
    """
    return [ds.resolve_path(p) for p in media_rows(ds, group, sequence)["abs_path"]]


def resolve_media_path(ds: DatasetCore, group: str, sequence: str) -> Path:
    """The one video of (group, sequence).

    Raises
    ------
    MediaNotFoundError
        No video is indexed for the recording.
    AmbiguousMediaError
        The recording has several videos (use :func:`resolve_media_paths`).
    """
    paths = resolve_media_paths(ds, group, sequence)
    if len(paths) > 1:
        raise AmbiguousMediaError(
            "this recording has several videos",
            path=media_index_path(ds),
            group=group,
            sequence=sequence,
            expected="one video",
            found=[p.name for p in paths],
            hint="use resolve_media_paths(group, sequence) for split recordings",
        )
    return paths[0]


INDEX_CONFIG_KEYS = (
    "search_dirs",
    "extensions",
    "index_filename",
    "recursive",
    "sequence_match_mode",
    "count_frames",
    "on_error",
)


def index_media_from_config(
    ds: DatasetCore, config: dict | None, raw_index: pd.DataFrame | None = None
) -> MediaIndexing:
    """:func:`plan_media_index` with keyword arguments from a config mapping (pipeline parameters).

    ``raw_index`` is the raw tracks index to match the videos against (see :func:`~mosaic.media.matching.known_sequences`).

    Raises
    ------
    ConfigError
        An unknown key (the message lists the known ones).
    """
    config = dict(config or {})
    unknown = sorted(set(config) - set(INDEX_CONFIG_KEYS))
    if unknown:
        raise ConfigError("unknown keys in media indexing parameters", expected=list(INDEX_CONFIG_KEYS), found=unknown)
    if "extensions" in config:
        config["extensions"] = tuple(config["extensions"])
    return plan_media_index(ds, **config, raw_index=raw_index)
