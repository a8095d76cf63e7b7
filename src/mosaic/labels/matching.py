"""Map an annotation's observation id / media file to a dataset (group, sequence).

Order tried by :class:`SequenceMatcher`:

1. ``sequence_map`` param: keys are observation ids, media file names (with or without
   extension, or as written in the export) or annotation file stems; values ``[group, sequence]``,
   ``{'group': ..., 'sequence': ...}`` or ``'group/sequence'``;
2. the media index ``media/index.csv`` (columns ``name, abs_path, group, sequence``): media file name
   equal to ``name`` or to the file name of ``abs_path`` (ties broken by the longest common path tail);
3. ``tracks/index.csv``: a sequence named like the media file stem, the observation id or the
   annotation file stem (ties broken by a group named like the media file's parent folder);
4. the media file lies in the ``media_raw`` (or ``media``) root as ``<group_safe>/<sequence_safe>.<ext>``
   (path as written in the export, absolute or relative to the dataset folder);
5. ``default_group`` param: ``(default_group, media stem or observation id)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import (
    ConfigError,
    IndexFileError,
    InvalidNameError,
    LabelFormatError,
)
from mosaic.core.indexes import TRACKS_INDEX, read_index
from mosaic.core.safe_names import from_safe_name


def _parts(p: str) -> tuple[str, ...]:
    if not p:
        return ()
    return PureWindowsPath(p).parts if "\\" in p else PurePath(p).parts


def _as_pair(value: Any, key: str) -> tuple[str, str]:
    if isinstance(value, Mapping) and "group" in value and "sequence" in value:
        return str(value["group"]), str(value["sequence"])
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return str(value[0]), str(value[1])
    if isinstance(value, str) and "/" in value:
        g, s = value.split("/", 1)
        return g, s
    raise ConfigError(
        "sequence_map values must be [group, sequence], {group, sequence} or 'group/sequence'",
        expected="[group, sequence]",
        found=f"{key!r}: {value!r}",
    )


def recording_lengths(tracks_index: pd.DataFrame | None) -> dict[str, int]:
    """``{'group/sequence': n_frames}`` from ``tracks/index.csv`` rows: ``frame_max + 1``, else ``n_frames``."""
    if tracks_index is None or len(tracks_index) == 0 or not {"group", "sequence"} <= set(tracks_index.columns):
        return {}
    n = pd.Series(np.nan, index=tracks_index.index)
    for col, add in (("n_frames", 0), ("frame_max", 1)):  # frame_max wins where both are known
        if col in tracks_index.columns:
            v = pd.to_numeric(tracks_index[col], errors="coerce") + add
            n = v.where(v.notna(), n)
    keys = tracks_index["group"].astype(str) + "/" + tracks_index["sequence"].astype(str)
    ok = n.notna().to_numpy()
    return dict(zip(keys[ok], n[ok].astype(np.int64).tolist()))


class SequenceMatcher:
    """Resolve (group, sequence) for annotation records of one dataset (indexes read once)."""

    def __init__(
        self, ds: DatasetCore, sequence_map: Mapping[str, Any] | None = None, default_group: str | None = None
    ):
        self.ds = ds
        self.sequence_map = {str(k): _as_pair(v, str(k)) for k, v in (sequence_map or {}).items()}
        self.default_group = default_group
        self.media = self._read_media_index()
        self.tracks = self._read_tracks_index()
        self._lengths: dict[str, int] | None = None

    def _read_media_index(self) -> pd.DataFrame | None:
        try:
            path = self.ds.get_root("media") / "index.csv"
        except KeyError:
            return None
        if not path.exists():
            return None
        try:
            df = read_index(path)
        except IndexFileError:
            return None
        if not {"group", "sequence"} <= set(df.columns):
            return None
        df = df.copy()
        df["_file"] = [PurePath(str(p)).name for p in df.get("abs_path", pd.Series([""] * len(df)))]
        df["_name"] = df["name"].astype(str) if "name" in df.columns else df["_file"]
        return df

    def _read_tracks_index(self) -> pd.DataFrame | None:
        try:
            path = self.ds.get_root("tracks") / "index.csv"
        except KeyError:
            return None
        if not path.exists():
            return None
        return read_index(path, TRACKS_INDEX)

    def _from_media_root(self, media_file: str) -> tuple[str, str] | None:
        return _from_media_root_impl(self.ds, media_file)

    def n_frames(self, group: str, sequence: str) -> int | None:
        """Recording length from ``tracks/index.csv``: ``frame_max + 1`` when indexed, else ``n_frames``."""
        if self.tracks is None:
            return None
        if self._lengths is None:
            self._lengths = recording_lengths(self.tracks.drop_duplicates(["group", "sequence"]))
        return self._lengths.get(f"{group}/{sequence}")

    def resolve(
        self, *, observation_id: str = "", media_file: str = "", source_file: str | Path = ""
    ) -> tuple[str, str]:
        """(group, sequence) of one observation/media; LabelFormatError naming what was tried."""
        if media_file.strip().upper() in ("LIVE", "NA"):
            media_file = ""  # live observations have no media: use the observation id
        media_parts = _parts(media_file)
        media_name = media_parts[-1] if media_parts else ""
        media_stem = PurePath(media_name).stem if media_name else ""
        file_stem = Path(source_file).stem if source_file else ""
        keys = [k for k in (observation_id, media_file, media_name, media_stem, file_stem) if k]
        for k in keys:
            if k in self.sequence_map:
                return self.sequence_map[k]
        if self.media is not None and media_name:
            hit = self.media[
                (self.media["_name"] == media_name)
                | (self.media["_file"] == media_name)
                | (self.media["_name"] == media_stem)
            ]
            if len(hit) > 1 and "abs_path" in hit.columns:
                tails = [_common_tail(_parts(str(p)), media_parts) for p in hit["abs_path"]]
                best = max(tails)
                hit = hit[[t == best for t in tails]]
            if len(hit) == 1:
                return str(hit["group"].iloc[0]), str(hit["sequence"].iloc[0])
        if self.tracks is not None:
            for k in (media_stem, observation_id, file_stem):
                if not k:
                    continue
                hit = self.tracks[self.tracks["sequence"] == k]
                if len(hit) > 1 and len(media_parts) >= 2:
                    hit = hit[hit["group"] == media_parts[-2]]
                if len(hit) == 1:
                    return str(hit["group"].iloc[0]), str(hit["sequence"].iloc[0])
        hit2 = self._from_media_root(media_file)
        if hit2 is not None:
            return hit2
        if self.default_group is not None and (media_stem or observation_id or file_stem):
            return str(self.default_group), media_stem or observation_id or file_stem
        raise LabelFormatError(
            "cannot tell which (group, sequence) this annotation belongs to",
            path=source_file or None,
            expected="a sequence_map entry, a media/index.csv row or a tracks/index.csv sequence matching one of the keys",
            found=f"keys {keys}",
            hint="pass params sequence_map={key: [group, sequence]} or default_group=...",
        )


def _from_media_root_impl(ds: DatasetCore, media_file: str) -> tuple[str, str] | None:
    if not media_file or "\\" in media_file:
        return None
    p = Path(media_file)
    p = p if p.is_absolute() else ds.folder / p
    for key in ("media_raw", "media"):
        try:
            root = ds.get_root(key)
        except KeyError:
            continue
        try:
            rel = p.absolute().relative_to(root.absolute())
        except ValueError:
            continue
        if len(rel.parts) == 2:
            try:
                return from_safe_name(rel.parts[0]), from_safe_name(PurePath(rel.parts[1]).stem)
            except InvalidNameError:
                return None
    return None


def _common_tail(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
