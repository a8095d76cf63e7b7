"""The sequence catalog: (group, sequence) metadata and queries over the tracks index."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import ConfigError
from .safe_names import KEY_SEPARATOR


def sequence_metadata(
    index: pd.DataFrame,
    index_path: Path,
    level_names: list[str] | None = None,
    separator: str = KEY_SEPARATOR,
) -> pd.DataFrame:
    """The tracks ``index`` (read from ``index_path``), one row per recording, plus its name's levels.

    See :meth:`mosaic.core.dataset.DatasetCore.get_sequence_metadata`.
    """
    df = (
        index.drop_duplicates(["group", "sequence"], keep="last")
        .sort_values(["group", "sequence"])
        .reset_index(drop=True)
    )
    keys = df["group"].astype(str) + separator + df["sequence"].astype(str)
    parts = keys.str.split(separator, regex=False)
    lengths = parts.map(len)
    if level_names is not None:
        n = len(level_names)
        bad = keys[lengths != n]
        if len(bad):
            raise ConfigError(
                "sequence keys do not have the expected number of levels",
                path=index_path,
                expected=f"{n} levels {list(level_names)} separated by {separator!r}",
                found=f"{bad.iloc[0]!r} has {len(bad.iloc[0].split(separator))} levels ({len(bad)} key(s) differ)",
            )
    n = len(level_names) if level_names is not None else (int(lengths.max()) if len(lengths) else 0)
    names = list(level_names) if level_names is not None else [f"level_{i}" for i in range(n)]
    levels = (
        pd.DataFrame([p + [None] * (n - len(p)) for p in parts.tolist()], columns=names, dtype=object)
        if len(df)
        else pd.DataFrame(columns=names)
    )
    return pd.concat([df.drop(columns=[c for c in names if c in df.columns]), levels], axis=1)


def query_pairs(index: pd.DataFrame, filters: list[tuple[str, str, str | None]]) -> list[tuple[str, str]]:
    """Sorted (group, sequence) pairs of ``index`` matching every ``(column, how, value)`` filter.

    ``how`` is ``'contains'``, ``'startswith'`` or ``'endswith'``; a None ``value`` is no filter.
    """
    df = index[["group", "sequence"]].drop_duplicates()
    mask = pd.Series(True, index=df.index)
    for col, how, value in filters:
        if value is None:
            continue
        s = df[col].astype(str)
        if how == "contains":
            mask &= s.str.contains(value, regex=False)
        else:
            mask &= getattr(s.str, how)(value)
    return sorted(zip(df.loc[mask, "group"], df.loc[mask, "sequence"]))
