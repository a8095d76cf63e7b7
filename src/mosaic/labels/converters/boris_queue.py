"""Queued media files of a BORIS observation: event times made relative to their own file.

BORIS plays the media files of player #1 one after the other and writes times running across
the queue; :func:`place_queued_media` places each file in the queue (from the export, the
dataset's media index or tracks, or ``media_offsets``) or refuses the observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import LabelFormatError

from ..matching import SequenceMatcher

__all__ = ["KnownMediaLengths", "place_queued_media"]


def _keys(media: str) -> tuple[str, ...]:
    name = PurePath(media.replace("\\", "/")).name
    return (media, name, PurePath(name).stem)


class KnownMediaLengths:
    """Lengths (s) of media files the dataset knows: ``media/index.csv`` durations, else tracks."""

    def __init__(self, matcher: SequenceMatcher) -> None:
        self.matcher = matcher

    def __call__(self, media: str, fps: float, *, observation_id: str, source_file: str) -> float:
        m = self.matcher.media
        keys = _keys(media)
        if m is not None and "duration_s" in m.columns:
            hit = m[m["_name"].isin(keys) | m["_file"].isin(keys)]
            d = pd.to_numeric(hit["duration_s"], errors="coerce").dropna().unique()
            if len(d) == 1 and d[0] > 0:
                return float(d[0])
        if np.isfinite(fps) and fps > 0:
            try:
                g, s = self.matcher.resolve(observation_id=observation_id, media_file=media, source_file=source_file)
            except LabelFormatError:
                return np.nan
            n = self.matcher.n_frames(g, s)
            if n:
                return n / fps
        return np.nan


def _queue_and_lengths(g: pd.DataFrame, media: list[str]) -> tuple[list[str], bool, dict[str, float]]:
    """The queue order of one observation, whether the export gave it, and the lengths its cell gives."""
    explicit = next((q for q in g["media_queue"] if len(q) > 1 and set(media) <= set(q)), None)
    queue = list(explicit) if explicit is not None else media
    lengths: dict[str, float] = {}
    if explicit is not None:
        cell = next((t for t in g["media_lengths"] if len(t) == len(queue)), ())
        lengths = {m: float(x) for m, x in zip(queue, cell, strict=False) if np.isfinite(x) and x > 0}
    return queue, explicit is not None, lengths


def _queue_offsets(
    queue: list[str],
    lengths: dict[str, float],
    given: dict[str, float],
    explicit: bool,
    obs_total: float,
) -> dict[str, float | None]:
    """Start (s) of each queued file (None = unknown); fills ``lengths`` derivable from the starts."""
    offsets: dict[str, float | None] = {}
    running: float | None = 0.0
    for m in queue:
        own = next((given[k] for k in _keys(m) if k in given), None)
        offsets[m] = own if own is not None else running
        running = offsets[m] + lengths[m] if offsets[m] is not None and m in lengths else None
    for a, nxt in zip(queue[:-1], queue[1:], strict=False):  # a file's length from where the next one starts
        if a not in lengths and offsets[a] is not None and offsets[nxt] is not None and offsets[nxt] > offsets[a]:
            lengths[a] = offsets[nxt] - offsets[a]
    last = queue[-1]
    if (
        last not in lengths
        and not explicit
        and offsets[last] is not None
        and np.isfinite(obs_total)
        and obs_total > offsets[last]
    ):
        lengths[last] = obs_total - offsets[last]  # older exports give the observation's total length
    return offsets


def _check_queue_known(
    oid, media, queue, offsets, lengths, given, explicit: bool, obs_total: float, fps: float, ctx: dict[str, Any]
) -> None:
    """Refuse an observation whose queued files' starts are unknown or whose lengths miss its total."""
    unknown = [m for m in media if offsets[m] is None]
    if unknown:
        raise LabelFormatError(
            f"observation {oid!r} spans {len(queue)} queued media files and the start of {unknown} within it is unknown; "
            "nothing of it was written",
            found=f"queue {queue}, known lengths {lengths}",
            hint="index the videos first (index_media: their durations place the queue), convert the tracks first, "
            "pass params media_offsets={file: start seconds}, or convert the .boris project (source_format='boris_project')",
            **ctx,
        )
    if (
        not explicit
        and len(lengths) == len(queue)
        and np.isfinite(obs_total)
        and not any(k in given for m in queue for k in _keys(m))
    ):
        if abs(sum(lengths.values()) - obs_total) > 0.5 + 2.0 / (fps if np.isfinite(fps) and fps > 0 else 25.0):
            raise LabelFormatError(
                f"observation {oid!r}: the lengths of its media files do not add up to its total length "
                "(the queue holds files without events); nothing of it was written",
                found=f"{lengths} sum to {sum(lengths.values()):.3f} s, total length {obs_total:.3f} s",
                hint="pass params media_offsets={file: start seconds}, or convert the .boris project",
                **ctx,
            )


def place_queued_media(b: pd.DataFrame, media_offsets: Mapping[str, float] | None, known_length=None) -> pd.DataFrame:
    """Make the times of queued media files relative to their own file.

    BORIS plays the media files of player #1 one after the other and writes observation times
    (running across the queue). For an observation whose events name several media files, the
    queue order comes from the export's multi-media cell (``Source``), else from the order of
    the first event of each file; the start of each file is the sum of the lengths of the files
    before it: from the export's multi-value length cell, else ``known_length(media, fps, ...)``
    (the dataset's media index or tracks). ``media_offsets`` (file → start seconds) wins over
    what is derived. ``total_length`` of each bout becomes the length of its own file (NaN when
    unknown), so a recording's length is its video's, not the observation's.

    Raises
    ------
    LabelFormatError
        The start of a queued file cannot be known, or the events do not fit the files' lengths
        (the observation is refused rather than written with wrong frames).
    """
    if not len(b) or "media_queue" not in b.columns:
        return b
    b = b.reset_index(drop=True)
    given = {str(k): float(v) for k, v in (media_offsets or {}).items()}
    start = b["start_s"].to_numpy(float).copy()
    stop = b["stop_s"].to_numpy(float).copy()
    total = b["total_length"].to_numpy(float).copy()
    for (sf, oid), g in b.groupby(["source_file", "observation_id"], sort=False):
        media = list(dict.fromkeys(m for m in g.sort_values("start_s", kind="stable")["media_file"].astype(str) if m))
        queue, explicit, lengths = _queue_and_lengths(g, media)
        obs_total = float(np.nanmax(total[g.index])) if np.isfinite(total[g.index]).any() else np.nan
        if len(queue) <= 1:
            continue
        fps = float(np.nanmedian(g["fps"].to_numpy(float))) if np.isfinite(g["fps"].to_numpy(float)).any() else np.nan
        for m in queue:
            if m not in lengths and known_length is not None:
                v = known_length(m, fps, observation_id=str(oid), source_file=str(sf))
                if np.isfinite(v) and v > 0:
                    lengths[m] = float(v)
        offsets = _queue_offsets(queue, lengths, given, explicit, obs_total)
        ctx = {"path": sf, "expected": "the start of every queued media file (their lengths)"}
        _check_queue_known(oid, media, queue, offsets, lengths, given, explicit, obs_total, fps, ctx)
        for m in media:
            r = g.index[g["media_file"].astype(str) == m].to_numpy()
            start[r] -= offsets[m]
            stop[r] -= offsets[m]
            total[r] = lengths.get(m, np.nan)
            slack = 1.0 / fps if np.isfinite(fps) and fps > 0 else 0.05
            if m in lengths and ((start[r] < -slack).any() or (stop[r] > lengths[m] + slack).any()):
                raise LabelFormatError(
                    f"observation {oid!r}: events of {m!r} fall outside that file once the queue is placed; nothing of it was written",
                    found=f"start {offsets[m]:.3f} s, length {lengths[m]:.3f} s, events {start[r].min():.3f}..{stop[r].max():.3f} s (file time)",
                    hint="check params media_offsets, or convert the .boris project",
                    **ctx,
                )
    return b.assign(start_s=start, stop_s=stop, total_length=total)
