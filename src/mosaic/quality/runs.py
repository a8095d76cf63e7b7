"""Runs of True along the time axis of boolean arrays (gaps, bursts), vectorized."""

from __future__ import annotations

import numpy as np


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of True along axis 0 of ``mask`` (any shape ``(T, ...)``).

    Returns
    -------
    col, start, stop
        Flat column index (``mask.reshape(T, -1)``), first frame and stop frame (exclusive)
        of every run, ordered by column then start.
    """
    m = np.asarray(mask, dtype=bool).reshape(mask.shape[0], -1).T  # (cols, T)
    pad = np.zeros((m.shape[0], 1), dtype=np.int8)
    d = np.diff(np.concatenate([pad, m.astype(np.int8), pad], axis=1), axis=1)
    cs, ss = np.nonzero(d == 1)
    _, ee = np.nonzero(d == -1)
    return cs, ss, ee


def run_length_map(mask: np.ndarray) -> np.ndarray:
    """Same shape as ``mask``: the length of the True run each True element belongs to (0 elsewhere)."""
    T = mask.shape[0]
    cols, starts, stops = true_runs(mask)
    out = np.zeros((int(np.prod(mask.shape[1:], dtype=np.int64)), T), dtype=np.int64)
    lengths = stops - starts
    if len(lengths):
        rows = np.repeat(cols, lengths)
        offs = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, np.repeat(starts, lengths) + offs] = np.repeat(lengths, lengths)
    return out.T.reshape(mask.shape)


def interior_runs(mask: np.ndarray) -> np.ndarray:
    """Same shape as ``mask``: True where a True element's run has a False element before and after it."""
    T = mask.shape[0]
    cols, starts, stops = true_runs(mask)
    ok = (starts > 0) & (stops < T)
    out = np.zeros((int(np.prod(mask.shape[1:], dtype=np.int64)), T), dtype=bool)
    lengths = (stops - starts)[ok]
    if len(lengths):
        rows = np.repeat(cols[ok], lengths)
        offs = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, np.repeat(starts[ok], lengths) + offs] = True
    return out.T.reshape(mask.shape)


def last_valid_index(valid: np.ndarray) -> np.ndarray:
    """Index of the last valid frame at or before ``t`` along axis 0 (-1 when none)."""
    T = valid.shape[0]
    idx = np.where(valid, np.arange(T).reshape((T,) + (1,) * (valid.ndim - 1)), -1)
    return np.maximum.accumulate(idx, axis=0)


def next_valid_index(valid: np.ndarray) -> np.ndarray:
    """Index of the first valid frame at or after ``t`` along axis 0 (``T`` when none)."""
    T = valid.shape[0]
    idx = np.where(valid, np.arange(T).reshape((T,) + (1,) * (valid.ndim - 1)), T)
    return np.minimum.accumulate(idx[::-1], axis=0)[::-1]
