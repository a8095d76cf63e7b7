"""CSV reading and strict numeric parsing of CSV columns shared by the CSV-based converters."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import TrackFormatError
from mosaic.core.limits import check_text_records

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


def read_csv_table(
    path: str | os.PathLike,
    what: str,
    expected: str,
    *,
    group: str | None = None,
    sequence: str | None = None,
    **read_csv: Any,
) -> pd.DataFrame:
    """``pandas.read_csv(path, **read_csv)`` after :func:`~mosaic.core.limits.check_text_records`.

    ``what`` names the file kind in messages (``"DeepLabCut CSV"``); ``expected`` says what a
    non-empty file holds.

    Raises
    ------
    TrackFormatError
        The file is empty or cannot be parsed as CSV (naming the file and the recording).
    """
    check_text_records(path, what, group=group, sequence=sequence)
    ctx: dict[str, Any] = {"path": path, "group": group, "sequence": sequence}
    try:
        return pd.read_csv(path, **read_csv)
    except pd.errors.EmptyDataError as exc:
        raise TrackFormatError(f"empty {what}", expected=expected, found="no content", **ctx) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        found = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrackFormatError(f"not a readable {what}", found=found, **ctx) from exc
