"""The media index ``media/index.csv``: which video belongs to which (group, sequence).

Videos are matched against the sequences the dataset knows: ``tracks/index.csv``, or, before
conversion, the rows of ``tracks_raw/index.csv`` that carry a sequence. Two modes:

``exact``
    the file stem equals a sequence name;
``prefix``
    the longest known sequence that prefixes the stem (split recordings
    ``session01_001.mp4``, ``session01_002.mp4`` → ``session01``).

When the same sequence name exists in several groups, the video's parent folder name picks
the group; a video whose folder names none of them stays unmatched (empty group/sequence,
logged). A video that matches no known sequence -- every video of a dataset without tracks,
e.g. before pose estimation -- is indexed as its own recording: group from its folder,
sequence from its stem (safe names decoded), ``recording_from = 'video'``, so frames can be
sampled from it. Once tracks exist, indexing again matches it as above. ``video_order``
numbers the videos of one sequence (natural sort of their names).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from mosaic.core.atomic import is_temp_file
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import BatchError, ConfigError, InvalidNameError, MosaicError
from mosaic.core.indexes import (
    NAME_COLUMNS,
    TRACKS_RAW_INDEX,
    IndexSchema,
    read_index,
    upsert_index,
)
from mosaic.core.progress import progress
from mosaic.core.safe_names import from_safe_name, to_safe_name

from .errors import AmbiguousMediaError, MediaNotFoundError
from .probe import probe_video

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
MATCH_MODES = ("exact", "prefix")
NO_MATCH = "no known sequence matches"


def media_index_path(ds: DatasetCore, index_filename: str = "index.csv") -> Path:
    """Path of the media index (``<media root>/index.csv``)."""
    return ds.get_root("media") / index_filename


def read_media_index(ds: DatasetCore, index_filename: str = "index.csv", missing_ok: bool = False) -> pd.DataFrame:
    """The media index as a table (named :class:`~mosaic.core.errors.IndexFileError` when missing)."""
    return read_index(media_index_path(ds, index_filename), MEDIA_INDEX, missing_ok=missing_ok)


def known_sequences(ds: DatasetCore, raw_index: pd.DataFrame | None = None) -> pd.DataFrame:
    """(group, sequence) pairs to match videos against.

    From ``tracks/index.csv`` when it lists any, else from the raw tracks index rows that have a
    sequence (``raw_index`` when given, e.g. by the ``ingest`` pipeline, else
    ``tracks_raw/index.csv``), else an empty table.
    """
    tracks_idx = ds.get_root("tracks") / "index.csv"
    df = (
        ds.tracks_index()[["group", "sequence"]]
        if tracks_idx.exists()
        else pd.DataFrame({"group": [], "sequence": []}, dtype=str)
    )
    df = df[df["sequence"].astype(str) != ""]
    if not len(df):
        raw = (
            read_index(ds.get_root("tracks_raw") / "index.csv", TRACKS_RAW_INDEX, missing_ok=True)
            if raw_index is None
            else raw_index
        )
        if len(raw):
            df = raw.loc[raw["sequence"].astype(str) != "", ["group", "sequence"]]
    return df.astype(str).drop_duplicates().reset_index(drop=True)


def _natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def find_videos(search_dirs: Iterable[Path], extensions: Sequence[str], recursive: bool = True) -> list[Path]:
    """Video files under ``search_dirs`` with one of ``extensions`` (case-insensitive), sorted."""
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    found: dict[Path, None] = {}
    for d in search_dirs:
        if d.is_file():
            candidates = [d]
        elif d.is_dir():
            candidates = d.rglob("*") if recursive else d.iterdir()
        else:
            raise ConfigError("search folder does not exist", path=d, hint="pass existing folders as search_dirs")
        for p in candidates:
            if p.is_file() and p.suffix.lower() in exts and not is_temp_file(p) and not p.name.startswith("."):
                found.setdefault(p.absolute(), None)
    return sorted(found, key=lambda p: _natural_key(str(p)))


def match_video(stem: str, parent: str, seq_groups: dict[str, list[str]], mode: str) -> tuple[str, str, str]:
    """Return ``(group, sequence, note)`` for a video stem; empty names and a note when unmatched."""
    if mode == "exact":
        candidates = [stem] if stem in seq_groups else []
    else:
        candidates = sorted((s for s in seq_groups if stem.startswith(s)), key=len, reverse=True)[:1]
    if not candidates:
        return "", "", NO_MATCH
    seq = candidates[0]
    groups = seq_groups[seq]
    if len(groups) == 1:
        return groups[0], seq, ""
    if parent in groups:
        return parent, seq, ""
    return (
        "",
        "",
        f"sequence {seq!r} exists in groups {sorted(groups)} and the parent folder {parent!r} names none of them",
    )


def own_recording(path: Path) -> tuple[str, str]:
    """(group, sequence) of a video that is its own recording: its folder and its stem.

    Safe names (as in ``<media_raw>/<group_safe>/<sequence_safe>.mp4``) are decoded; other
    names are taken as written.
    """

    def decode(name: str) -> str:
        try:
            return from_safe_name(name)
        except InvalidNameError:
            return name

    return decode(path.parent.name), decode(path.stem)


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


def _sequence_groups(seqs: pd.DataFrame) -> dict[str, list[str]]:
    """``{sequence: [groups holding it]}`` of the known recordings."""
    seq_groups: dict[str, list[str]] = {}
    for g, s in zip(seqs["group"].astype(str), seqs["sequence"].astype(str)):
        seq_groups.setdefault(s, []).append(g)
    return seq_groups


def _write_media_index(ds: DatasetCore, df: pd.DataFrame, failures: dict[str, str], index_filename: str) -> Path:
    """Upsert ``df`` into the media index, dropping rows of vanished and of unreadable videos; return its path."""
    out = media_index_path(ds, index_filename)
    old = read_index(out, MEDIA_INDEX, missing_ok=True)
    stale = [{"abs_path": p} for p in old["abs_path"] if not ds.resolve_path(p).exists()] + [
        {"abs_path": p} for p in failures
    ]
    upsert_index(out, df, MEDIA_INDEX, drop=stale)
    return out


def _probe_and_match(
    ds: DatasetCore, videos: list[Path], seq_groups: dict[str, list[str]], mode: str, count_frames: bool
) -> tuple[list[dict], dict[str, str], list[dict], list[dict]]:
    """Probe each video and match it to a recording: ``(rows, failures, unmatched, own recordings)``."""
    rows, failures, unmatched, own = [], {}, [], []
    for path in progress(videos, desc="index media", unit="video"):
        try:
            info = probe_video(path, count=count_frames)
        except MosaicError as exc:
            failures[ds.relative_path(path)] = f"{type(exc).__name__}: {exc}"
            continue
        group, sequence, note = match_video(path.stem, path.parent.name, seq_groups, mode)
        origin = "tracks"
        if not sequence and note == NO_MATCH:
            (group, sequence), origin = own_recording(path), "video"
            own.append({"abs_path": ds.relative_path(path), "group": group, "sequence": sequence})
        elif not sequence:
            unmatched.append({"abs_path": ds.relative_path(path), "reason": note})
            origin = ""
        st = path.stat()
        rows.append(
            {
                "name": path.name,
                "abs_path": ds.relative_path(path),
                "size_bytes": int(st.st_size),
                "mtime_iso": datetime.fromtimestamp(st.st_mtime, tz=timezone.utc).isoformat(timespec="seconds"),
                "group": group,
                "sequence": sequence,
                "group_safe": to_safe_name(group) if group else "",
                "sequence_safe": to_safe_name(sequence) if sequence else "",
                "video_order": 0,
                "fps": info.fps,
                "n_frames": info.n_frames,
                "width": info.width,
                "height": info.height,
                "duration_s": info.duration_s,
                "fourcc": info.fourcc,
                "count_method": info.count_method,
                "recording_from": origin,
            }
        )
    return rows, failures, unmatched, own


def _number_videos(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Set ``video_order`` of the matched rows (by name within a recording); return the videos per recording."""
    counters: dict[tuple[str, str], int] = {}
    ordered = sorted(
        (i for i in df.index if df.at[i, "sequence"] != ""),
        key=lambda i: (df.at[i, "group"], df.at[i, "sequence"], _natural_key(df.at[i, "name"]), df.at[i, "abs_path"]),
    )
    for i in ordered:
        k = (df.at[i, "group"], df.at[i, "sequence"])
        df.at[i, "video_order"] = counters.get(k, 0)
        counters[k] = counters.get(k, 0) + 1
    return counters


def _log_matching(
    mode: str, counters: dict[tuple[str, str], int], unmatched: list[dict], own: list[dict], has_tracks: bool
) -> None:
    """Warn about recordings with several videos (exact mode), unmatched videos and videos indexed as their own."""
    if mode == "exact":
        multi = sorted(f"{g}/{s}" for (g, s), n in counters.items() if n > 1)
        if multi:
            log.warning("exact match: %d sequence(s) have several videos, ordered by name: %s", len(multi), multi)
    if unmatched:
        log.warning(
            "%d video(s) match no known sequence (kept with an empty sequence): %s",
            len(unmatched),
            "; ".join(f"{u['abs_path']} ({u['reason']})" for u in unmatched),
        )
    if own:
        log.warning(
            "%d video(s) match no known sequence and are indexed as their own recordings (group = folder, sequence = stem)%s: %s",
            len(own),
            "" if has_tracks else " -- no tracks index yet",
            "; ".join(f"{u['abs_path']} -> {u['group']}/{u['sequence']}" for u in own[:10]),
        )


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
    extensions
        Video file extensions (case-insensitive).
    index_filename
        Name of the index file inside the ``media`` root.
    recursive
        Search sub-folders too.
    sequence_match_mode
        ``'exact'`` or ``'prefix'`` (see the module docstring).
    count_frames
        Count frames by a full sequential decode instead of the verified header count.
    on_error
        ``'raise'`` (default): after indexing the readable videos, raise :class:`BatchError`
        listing the unreadable ones; ``'warn'``: log them instead.
    raw_index
        The raw tracks index to match against when no tracks are converted yet (default: read
        ``tracks_raw/index.csv``); see :func:`known_sequences`.

    Returns
    -------
    dict
        ``index_path`` (dataset-relative), ``n_videos``, ``n_matched``, ``unmatched``
        (``[{"abs_path", "reason"}]``: ambiguous videos left without a recording),
        ``unreadable`` (``{abs_path: error}``) and
        ``own_recordings`` (``[{"abs_path", "group", "sequence"}]``: videos matching no known
        sequence, indexed as their own recordings). ``n_matched`` counts the videos with a
        recording. Unreadable videos are never indexed (no zero rows).

    Raises
    ------
    ConfigError
        Unknown match mode / on_error, or a search folder that does not exist.
    BatchError
        Some videos could not be read (with ``on_error='raise'``); the others are indexed.
    """
    if sequence_match_mode not in MATCH_MODES:
        raise ConfigError("unknown sequence_match_mode", expected=list(MATCH_MODES), found=sequence_match_mode)
    if on_error not in ("raise", "warn"):
        raise ConfigError("unknown on_error", expected=["raise", "warn"], found=on_error)
    videos = find_videos(_search_folders(ds, search_dirs), extensions, recursive)
    seqs = known_sequences(ds, raw_index)
    rows, failures, unmatched, own = _probe_and_match(
        ds, videos, _sequence_groups(seqs), sequence_match_mode, count_frames
    )
    df = pd.DataFrame(rows, columns=list(MEDIA_INDEX.columns) + ["count_method", "recording_from"])
    counters = _number_videos(df)
    _log_matching(sequence_match_mode, counters, unmatched, own, has_tracks=bool(len(seqs)))
    out = _write_media_index(ds, df, failures, index_filename)
    log.info("indexed %d video(s) into %s (%d unmatched, %d unreadable)", len(df), out, len(unmatched), len(failures))
    _report_failures(failures, on_error, out)
    return {
        "index_path": ds.relative_path(out),
        "n_videos": len(df),
        "n_matched": int((df["sequence"] != "").sum()),
        "match_mode": sequence_match_mode,
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


def index_media_from_config(ds: DatasetCore, config: dict | None, raw_index: pd.DataFrame | None = None) -> dict:
    """:func:`index_media_report` with keyword arguments from a config mapping (pipeline parameters).

    ``raw_index`` is the raw tracks index to match the videos against (see :func:`known_sequences`).

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
    return index_media_report(ds, **config, raw_index=raw_index)
