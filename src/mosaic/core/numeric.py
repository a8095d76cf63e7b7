"""Generic numeric helpers over numpy columns (no domain knowledge)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def count_distinct(values: np.ndarray) -> int:
    """Number of distinct values, without a hash table as large as the column.

    Integer ids span a small range: one bool per possible value (``pd.unique`` on a
    million-row column allocates ~30 MB of hash table). Other dtypes fall back to ``pd.unique``.
    """
    values = np.asarray(values)
    if len(values) == 0:
        return 0
    if values.dtype.kind in "iu":
        lo, hi = int(values.min()), int(values.max())
        if 0 <= lo and hi < 4 * len(values) + 1024:
            seen = np.zeros(hi + 1, dtype=bool)
            seen[values] = True  # no shifted copy of the column
            return int(np.count_nonzero(seen))
        if hi - lo < 4 * len(values) + 1024:
            seen = np.zeros(hi - lo + 1, dtype=bool)
            seen[values - lo] = True
            return int(np.count_nonzero(seen))
    return len(pd.unique(values))
