"""Strict numeric parsing of CSV columns shared by the CSV-based converters."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import TrackFormatError

_SPELLINGS = {
    "inf": np.inf,
    "+inf": np.inf,
    "-inf": -np.inf,
    "Inf": np.inf,
    "-Inf": -np.inf,
    "nan": np.nan,
    "NaN": np.nan,
}


def numeric_column(values: pd.Series, column: str, **ctx: Any) -> np.ndarray:
    """``values`` as float64; empty cells and ``nan``/``inf`` spellings are allowed, text is an error.

    Raises
    ------
    TrackFormatError
        Naming the column, the first offending value and its row (plus ``ctx``: path, group...).
    """
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    raw = values.replace(_SPELLINGS)
    num = pd.to_numeric(raw, errors="coerce")
    text = raw.astype(str).str.strip()
    bad = num.isna() & raw.notna() & (text != "") & ~text.isin(list(_SPELLINGS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise TrackFormatError(
            f"CSV column {column!r} is not numeric",
            expected="numbers, empty cells, nan or inf",
            found=f"{values.iloc[i]!r} in data row {i + 1}",
            **ctx,
        )
    return num.to_numpy(dtype=np.float64, na_value=np.nan)
