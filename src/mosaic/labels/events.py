"""Vectorized conversions between bouts and per-frame event rows.

A *bout* is ``(start, stop, label, id_a, id_b)`` with ``stop`` exclusive; the stored format
has one row per frame of each bout (see :mod:`mosaic.labels.schema`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BOUT_COLUMNS = ("start", "stop", "label", "id_a", "id_b")


def _mirrored(starts, stops, labels, id_a, id_b, both_directions) -> tuple[np.ndarray, ...]:
    """Bout arrays (int64, broadcast to m) with the mirrored ``[id_b, id_a]`` copies of pair bouts appended."""
    starts = np.asarray(starts, dtype=np.int64).ravel()
    stops = np.asarray(stops, dtype=np.int64).ravel()
    m = len(starts)
    labels = np.broadcast_to(np.asarray(labels, dtype=np.int64), (m,))
    id_a = np.full(m, -1, np.int64) if id_a is None else np.broadcast_to(np.asarray(id_a, dtype=np.int64), (m,))
    id_b = np.full(m, -1, np.int64) if id_b is None else np.broadcast_to(np.asarray(id_b, dtype=np.int64), (m,))
    if both_directions is None:
        both = id_b >= 0
    else:
        both = np.broadcast_to(np.asarray(both_directions, dtype=bool), (m,)) & (id_b >= 0)
    return (
        np.concatenate([starts, starts[both]]),
        np.concatenate([stops, stops[both]]),
        np.concatenate([labels, labels[both]]),
        np.concatenate([id_a, id_b[both]]),
        np.concatenate([id_b, id_a[both]]),
    )


def _sorted_unique(frames: np.ndarray, lab: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by (frame, id_a, id_b, label), each once.

    A pair event annotated for both animals (each naming the other) mirrors into the same directed
    rows twice, and overlapping identical bouts repeat rows.
    """
    total = len(frames)
    if not total:
        return frames, lab, ids
    order = np.lexsort((lab, ids[:, 1], ids[:, 0], frames))
    frames, lab, ids = frames[order], lab[order], ids[order]
    if total > 1:
        keep = np.ones(total, bool)
        keep[1:] = (
            (frames[1:] != frames[:-1])
            | (ids[1:, 0] != ids[:-1, 0])
            | (ids[1:, 1] != ids[:-1, 1])
            | (lab[1:] != lab[:-1])
        )
        if not keep.all():
            frames, lab, ids = frames[keep], lab[keep], ids[keep]
    return frames, lab, ids


def bouts_to_events(
    starts, stops, labels, id_a=None, id_b=None, *, both_directions=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expand bouts ``[start, stop)`` into per-frame rows.

    Parameters
    ----------
    starts, stops
        Integer arrays (m,); ``stop`` exclusive. Bouts with ``stop <= start`` give no rows.
    labels
        Label id per bout (m,).
    id_a, id_b
        Subject and partner per bout (default -1: scene-level / individual).
    both_directions
        Boolean (m,) or bool: for these pair bouts (``id_b >= 0``) also emit ``[id_b, id_a]``.
        Default: every bout with ``id_b >= 0``.

    Returns
    -------
    frames, labels, individual_ids
        int32 (n,), int32 (n,), int32 (n, 2), sorted by (frame, id_a, id_b, label); each
        (frame, id_a, id_b, label) once, however many bouts cover it.
    """
    starts, stops, labels, ida, idb = _mirrored(starts, stops, labels, id_a, id_b, both_directions)
    lengths = np.clip(stops - starts, 0, None)
    total = int(lengths.sum())
    rep = np.repeat(np.arange(len(starts)), lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frames = starts[rep] + offsets
    lab = labels[rep]
    ids = np.stack([ida[rep], idb[rep]], axis=1) if total else np.zeros((0, 2), np.int64)
    frames, lab, ids = _sorted_unique(frames, lab, ids)
    return (
        frames.astype(np.int32),
        lab.astype(np.int32),
        ids.astype(np.int32).reshape(-1, 2),
    )


def events_to_bouts(frames, labels, individual_ids) -> pd.DataFrame:
    """Collapse per-frame rows into bouts (runs of consecutive frames per (label, id_a, id_b)).

    Both directions of a pair are returned as they are stored (two bouts).

    Returns
    -------
    DataFrame
        Columns ``start, stop`` (exclusive), ``label``, ``id_a``, ``id_b``, sorted by
        (id_a, id_b, label, start).
    """
    frames = np.asarray(frames, dtype=np.int64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    ids = np.asarray(individual_ids, dtype=np.int64).reshape(-1, 2)
    if len(frames) == 0:
        return pd.DataFrame({c: pd.Series(dtype=np.int64) for c in BOUT_COLUMNS})
    order = np.lexsort((frames, labels, ids[:, 1], ids[:, 0]))
    f, lab, a, b = frames[order], labels[order], ids[order, 0], ids[order, 1]
    new = np.ones(len(f), bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (lab[1:] != lab[:-1]) | (f[1:] != f[:-1] + 1)
    # duplicates of the same frame (overlapping identical events) stay in the current bout
    dup = np.zeros(len(f), bool)
    dup[1:] = (a[1:] == a[:-1]) & (b[1:] == b[:-1]) & (lab[1:] == lab[:-1]) & (f[1:] == f[:-1])
    new &= ~dup
    starts_idx = np.flatnonzero(new)
    ends_idx = np.append(starts_idx[1:], len(f)) - 1
    return pd.DataFrame(
        {
            "start": f[starts_idx],
            "stop": f[ends_idx] + 1,
            "label": lab[starts_idx],
            "id_a": a[starts_idx],
            "id_b": b[starts_idx],
        }
    )


def dense_to_events(dense_labels, frames=None, individual_id: int = -1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of a dense per-frame label vector (one label per frame) for one subject (default scene)."""
    dense = np.asarray(dense_labels, dtype=np.int64).ravel()
    frames = np.arange(len(dense), dtype=np.int64) if frames is None else np.asarray(frames, dtype=np.int64).ravel()
    ids = np.empty((len(dense), 2), np.int32)
    ids[:, 0] = individual_id
    ids[:, 1] = -1
    return frames.astype(np.int32), dense.astype(np.int32), ids
