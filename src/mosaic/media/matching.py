"""Matching videos to the recordings the dataset knows (group, sequence).

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
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from mosaic.core.atomic import is_temp_file
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, InvalidNameError, MosaicError
from mosaic.core.indexes import TRACKS_RAW_INDEX, read_index
from mosaic.core.progress import progress
from mosaic.core.safe_names import from_safe_name, to_safe_name

from .probe import probe_video

log = logging.getLogger(__name__)

MATCH_MODES = ("exact", "prefix")
NO_MATCH = "no known sequence matches"


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


def natural_key(text: str) -> list:
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
    return sorted(found, key=lambda p: natural_key(str(p)))


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


def sequence_groups(seqs: pd.DataFrame) -> dict[str, list[str]]:
    """``{sequence: [groups holding it]}`` of the known recordings."""
    seq_groups: dict[str, list[str]] = {}
    for g, s in zip(seqs["group"].astype(str), seqs["sequence"].astype(str)):
        seq_groups.setdefault(s, []).append(g)
    return seq_groups


def probe_and_match(
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


def number_videos(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Set ``video_order`` of the matched rows (by name within a recording); return the videos per recording."""
    counters: dict[tuple[str, str], int] = {}
    ordered = sorted(
        (i for i in df.index if df.at[i, "sequence"] != ""),
        key=lambda i: (df.at[i, "group"], df.at[i, "sequence"], natural_key(df.at[i, "name"]), df.at[i, "abs_path"]),
    )
    for i in ordered:
        k = (df.at[i, "group"], df.at[i, "sequence"])
        df.at[i, "video_order"] = counters.get(k, 0)
        counters[k] = counters.get(k, 0) + 1
    return counters


def log_matching(
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
