"""Indexing raw tracking files into ``tracks_raw/index.csv``.

:func:`scan_tracks_raw` finds files and names their recordings (no writing);
:func:`save_raw_index_rows` merges rows into the index (locked, atomic); the facade's
:func:`index_tracks_raw` is the two together, and the Kedro ``ingest`` pipeline runs the
first as a node and the second through its catalog dataset — same code, same file.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.atomic import is_temp_file
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, NameCollisionError
from mosaic.core.indexes import TRACKS_RAW_INDEX, index_lock, read_index, write_index
from mosaic.core.run_ids import md5_of_file
from mosaic.core.safe_names import to_safe_name

from .converters import DEFAULT_PATTERNS, MULTI_SEQUENCE_FORMATS, PER_INDIVIDUAL_FORMATS, REGISTRY
from .naming import DEFAULT_PREFIXES, individual_suffix, sequence_name

log = logging.getLogger(__name__)

GROUP_FROM = ("parent", "filename")


def _as_list(v: str | os.PathLike | Iterable | None) -> list:
    if v is None:
        return []
    if isinstance(v, (str, os.PathLike)):
        return [v]
    return list(v)


def _excluded(rel: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def _group_regex(group_pattern: str | None) -> re.Pattern | None:
    """``group_pattern`` compiled (None when not given); it must have one capturing group."""
    if not group_pattern:
        return None
    try:
        regex = re.compile(group_pattern)
    except re.error as exc:
        raise ConfigError(
            "group_pattern is not a valid regex", found=group_pattern, expected="a regex with one capturing group"
        ) from exc
    if regex.groups < 1:
        raise ConfigError("group_pattern needs one capturing group", found=group_pattern, expected="e.g. r'^(\\w+?)_'")
    return regex


def _find_files(
    ds: DatasetCore, search_dirs: Any, pats: Sequence[str], excl: Sequence[str], recursive: bool
) -> tuple[list[Path], dict[Path, None]]:
    """The existing search folders, and the files in them matching ``pats`` and not ``excl`` (in order, once each)."""
    dirs = [ds.folder / d if not Path(d).is_absolute() else Path(d) for d in _as_list(search_dirs)]
    if not dirs:
        raise ConfigError(
            "no search_dirs given", expected="one or more folders (relative to the dataset folder)", found=search_dirs
        )
    existing = [d for d in dirs if d.is_dir()]
    if not existing:
        raise ConfigError(
            "none of the search_dirs exists", path=dirs[0], expected="existing folder(s)", found=[str(d) for d in dirs]
        )
    for d in dirs:
        if d not in existing:
            log.warning("search dir %s does not exist; skipped", d)
    files: dict[Path, None] = {}
    for d in existing:
        for pat in pats:
            for p in sorted(d.rglob(pat) if recursive else d.glob(pat)):
                if p.is_file() and not is_temp_file(p) and not p.name.startswith("."):
                    rel = p.relative_to(d).as_posix()
                    if not _excluded(rel, p.name, excl):
                        files.setdefault(p.absolute(), None)
    return existing, files


def _file_group(
    p: Path,
    name_for_group: str,
    regex: re.Pattern | None,
    group_pattern: str | None,
    group_from: str | None,
    multi: bool,
) -> str:
    """The group of raw file ``p``: from ``group_pattern``, its sequence name, or its folder."""
    if regex is not None:
        m = regex.search(name_for_group)
        if not m or m.group(1) is None:
            raise ConfigError(
                "group_pattern does not match a file's sequence name",
                path=p,
                expected=group_pattern,
                found=name_for_group,
                hint="fix the regex or exclude the file with exclude_patterns",
            )
        return m.group(1)
    if group_from == "filename" or (group_from is None and multi):
        return name_for_group
    return p.parent.name


def scan_tracks_raw(
    ds: DatasetCore,
    search_dirs: str | os.PathLike | Sequence[str | os.PathLike],
    patterns: str | Sequence[str] | None = None,
    src_format: str = "calms21_npy",
    recursive: bool = True,
    multi_sequences_per_file: bool = False,
    group_from: str | None = None,
    group_pattern: str | None = None,
    exclude_patterns: str | Sequence[str] | None = None,
    compute_md5: bool = False,
    individual_prefixes: Sequence[str] = DEFAULT_PREFIXES,
) -> pd.DataFrame:
    """Find raw tracking files and return their ``tracks_raw`` index rows (nothing written).

    See :func:`index_tracks_raw` for the parameters.
    """
    if src_format not in REGISTRY.names():
        raise ConfigError(
            "unknown src_format",
            expected=f"one of {REGISTRY.names()}",
            found=repr(src_format),
            hint="register a converter with register_converter(name, func)",
        )
    if group_from is not None and group_from not in GROUP_FROM:
        raise ConfigError("unknown group_from", expected=list(GROUP_FROM) + [None], found=group_from)
    pats = _as_list(patterns) or list(DEFAULT_PATTERNS.get(src_format, ("*",)))
    excl = [str(p) for p in _as_list(exclude_patterns)]
    if src_format in PER_INDIVIDUAL_FORMATS:
        excl.append("*_posture_*")  # TRex posture exports are not tracks
    regex = _group_regex(group_pattern)
    multi = bool(multi_sequences_per_file) or src_format in MULTI_SEQUENCE_FORMATS  # CalMS21 files always hold many
    existing, files = _find_files(ds, search_dirs, pats, excl, recursive)
    rows = []
    for p in files:
        seq = "" if multi else sequence_name(p, src_format, individual_prefixes)
        group = _file_group(
            p, sequence_name(p, src_format, individual_prefixes), regex, group_pattern, group_from, multi
        )
        st = p.stat()
        rows.append(
            {
                "group": group,
                "sequence": seq,
                "group_safe": to_safe_name(group),
                "sequence_safe": to_safe_name(seq) if seq else "",
                "abs_path": ds.relative_path(p),
                "src_format": src_format,
                "size_bytes": int(st.st_size),
                "mtime_iso": datetime.fromtimestamp(st.st_mtime, tz=timezone.utc).isoformat(timespec="seconds"),
                "md5": md5_of_file(p) if compute_md5 else "",
            }
        )
    if not rows:
        log.warning("no %s files matched %s under %s", src_format, pats, [str(d) for d in existing])
    out = pd.DataFrame(rows, columns=list(TRACKS_RAW_INDEX.columns))
    check_recording_names(out, individual_prefixes)
    return out


def check_recording_names(rows: pd.DataFrame, individual_prefixes: Sequence[str] | None = DEFAULT_PREFIXES) -> None:
    """Refuse index rows whose names would merge files of different recordings.

    Per-individual files (TRex) sharing a (group, sequence) are merged into one recording at
    conversion: they must lie in one folder and (checked when ``individual_prefixes`` is
    given) name distinct individuals. One-file formats whose files share a name are reported
    at conversion, the first one converted.

    Raises
    ------
    NameCollisionError
        Listing the colliding files and the (group, sequence) they would share.
    """
    if len(rows) == 0:
        return
    per = rows[rows["src_format"].isin(PER_INDIVIDUAL_FORMATS)]
    for (g, s, fmt), part in per.groupby(["group", "sequence", "src_format"], sort=True):
        paths = sorted(part["abs_path"].astype(str))
        if len(paths) < 2:
            continue
        folders = sorted({str(Path(p).parent) for p in paths})
        if len(folders) > 1:
            raise NameCollisionError(
                "files from different folders would be merged into one recording",
                group=g,
                sequence=s,
                expected="one folder per recording",
                found=paths,
                hint="index the folders with group_from='filename' or a group_pattern that tells them apart, or index them separately",
            )
        if individual_prefixes is None:
            continue
        ks: dict[int | None, list[str]] = {}
        for p in paths:
            split = individual_suffix(Path(p).stem, individual_prefixes)
            ks.setdefault(split[1] if split else None, []).append(p)
        dup = {k: v for k, v in ks.items() if len(v) > 1 or k is None}
        if dup:
            raise NameCollisionError(
                f"{fmt} files of one recording name the same individual (or none)",
                group=g,
                sequence=s,
                expected="one file per individual (<video>_<prefix><k>)",
                found=[p for v in dup.values() for p in v],
                hint="exclude the duplicates with exclude_patterns",
            )


def save_raw_index_rows(path: str | os.PathLike, rows: pd.DataFrame) -> pd.DataFrame:
    """Merge ``rows`` into the raw index at ``path`` (locked, atomic) and return the whole index.

    Rows of files being re-indexed are replaced (even if their group/sequence changed);
    rows of other files and formats are kept. Re-indexing the same files is idempotent.
    """
    path = Path(path)
    with index_lock(path):
        old = read_index(path, TRACKS_RAW_INDEX, missing_ok=True)
        if len(rows):
            old = old[~old["abs_path"].astype(str).isin(set(rows["abs_path"].astype(str)))]
        merged = pd.concat([df for df in (old, rows) if len(df)], ignore_index=True) if (len(old) or len(rows)) else old
        for c in TRACKS_RAW_INDEX.text_columns:
            if c in merged:
                merged[c] = merged[c].fillna("").astype(str)
        check_recording_names(merged, None)  # new rows must not merge with rows indexed before
        write_index(path, merged, TRACKS_RAW_INDEX)
    return read_index(path, TRACKS_RAW_INDEX)


def raw_index_path(ds: DatasetCore, index_filename: str = "index.csv") -> Path:
    """Path of the raw tracks index."""
    return ds.get_root("tracks_raw") / index_filename


def index_tracks_raw(
    ds: DatasetCore,
    search_dirs: str | os.PathLike | Sequence[str | os.PathLike],
    patterns: str | Sequence[str] | None = None,
    src_format: str = "calms21_npy",
    index_filename: str = "index.csv",
    recursive: bool = True,
    multi_sequences_per_file: bool = False,
    group_from: str | None = None,
    group_pattern: str | None = None,
    exclude_patterns: str | Sequence[str] | None = None,
    compute_md5: bool = False,
    individual_prefixes: Sequence[str] = DEFAULT_PREFIXES,
) -> Path:
    """Index raw tracking files into ``tracks_raw/<index_filename>`` (rows of re-indexed files replaced); return it.

    Parameters
    ----------
    search_dirs
        Folder(s) to search; relative ones are relative to the dataset folder.
    patterns
        Glob pattern(s); default per format (:data:`~mosaic.tracks.converters.DEFAULT_PATTERNS`:
        ``*.npz`` for ``trex_npz``, ``*.npy`` for ``calms21_npy``, ``*.h5``/``*.csv`` for ``dlc`` ...).
    src_format
        Converter name (see :func:`~mosaic.tracks.converters.list_converters`).
    recursive
        Search sub-folders too.
    multi_sequences_per_file
        One file holds many sequences: ``sequence`` stays blank until conversion (always
        so for the CalMS21 formats).
    group_from
        ``'parent'`` (folder name; the default for one-recording files) or ``'filename'``
        (file stem; the default for multi-sequence files).
    group_pattern
        Regex with one capturing group applied to the sequence name (after the
        per-individual suffix is stripped); overrides ``group_from``.
    exclude_patterns
        Glob(s) on file name or path relative to the search dir to leave out.
    compute_md5
        Fill the ``md5`` column (reads every file).
    individual_prefixes
        Per-individual suffix prefixes of TRex files (``_fish0``, ``_id3``).
    """
    rows = scan_tracks_raw(
        ds,
        search_dirs,
        patterns=patterns,
        src_format=src_format,
        recursive=recursive,
        multi_sequences_per_file=multi_sequences_per_file,
        group_from=group_from,
        group_pattern=group_pattern,
        exclude_patterns=exclude_patterns,
        compute_md5=compute_md5,
        individual_prefixes=individual_prefixes,
    )
    path = raw_index_path(ds, index_filename)
    save_raw_index_rows(path, rows)
    return path
