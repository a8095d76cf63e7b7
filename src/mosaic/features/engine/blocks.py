"""A task's output as a stream of chunks: whole, the feature's own chunks, or blocks of frames.

Memory per task follows what is alive at once. A feature that streams (``apply_chunks``)
yields its chunks; a feature that declares a frame halo (:meth:`Feature.frame_halo`) is
applied to consecutive blocks of about ``block_rows`` input rows, each extended by the halo
on both sides, and only each block's own frames are kept — the same rows and values as one
``apply`` over the recording, with the block's temporaries instead of the recording's. Any
other feature sees the whole recording.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from ..base import Feature

#: input rows per block of a feature applied block by block (its temporaries scale with this)
BLOCK_ROWS = 1 << 14


def output_chunks(feat: Feature, data: pd.DataFrame, block_rows: int | None = None) -> Iterable[pd.DataFrame]:
    """The chunks (frame order) whose concatenation is ``feat.apply(data)``.

    Parameters
    ----------
    feat
        The feature.
    data
        One recording's input table (``attrs`` set), sorted by frame for blocks to apply.
    block_rows
        Input rows per block (default :data:`BLOCK_ROWS`) for a feature with a frame halo.

    Returns
    -------
    Iterable of DataFrame
        A list with the whole output when the feature neither streams nor has a halo (the
        input is no longer needed once it is computed), else a generator.
    """
    if type(feat).apply_chunks is not Feature.apply_chunks:
        return feat.apply_chunks(data)  # the feature streams its own chunks
    halo = feat.frame_halo()
    frame = data["frame"].to_numpy() if "frame" in data.columns else None
    size = int(block_rows or BLOCK_ROWS)
    if halo is None or frame is None or len(frame) <= size or bool(np.any(frame[1:] < frame[:-1])):
        return [feat.apply(data)]
    return _blocks(feat, data, frame, size, int(halo))


def block_starts(frame: np.ndarray, block_rows: int) -> np.ndarray:
    """First frame of each block: every ``block_rows``-th row's frame, deduplicated (``frame`` sorted)."""
    return np.unique(frame[::block_rows])


def _blocks(feat: Feature, data: pd.DataFrame, frame: np.ndarray, block_rows: int, halo: int) -> Iterator[pd.DataFrame]:
    starts = block_starts(frame, block_rows)
    ends = np.append(starts[1:], frame[-1] + 1)
    lo = np.searchsorted(frame, starts - halo, side="left")
    hi = np.searchsorted(frame, ends + halo, side="left")
    for a, b, r0, r1 in zip(starts.tolist(), ends.tolist(), lo.tolist(), hi.tolist(), strict=True):
        block = data.iloc[r0:r1]  # a view of the rows: no copy of the input
        block.attrs = dict(data.attrs)
        out = feat.apply(block)
        del block
        if "frame" in out.columns:
            fr = out["frame"].to_numpy()
            keep = (fr >= a) & (fr < b)
            if not keep.all():
                out = out[keep].reset_index(drop=True)
        yield out
