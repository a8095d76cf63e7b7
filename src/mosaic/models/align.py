"""Aligning labels with features: the per-(frame, id) or per-(frame, id, id2) training table.

Everything here is a pure function on DataFrames / label mappings (no files), vectorized with
merges and group-bys (no per-frame loops).

Label events (``individual_pair_v1``) map onto rows as follows:

* individual event ``[subject, -1]`` → row ``(frame, subject)``;
* pair event ``[a, b]`` → pair row ``(frame, a, b)``; for a per-individual classifier it is the
  label of the subject ``a`` at ``frame`` (pairs are stored in both directions, so ``b`` gets
  it too through the mirrored ``[b, a]`` row);
* scene event ``[-1, -1]`` → every row of ``frame``.

Rows are the *feature* rows: labelled frames without a feature row (e.g. an animal not
detected, so no track row) are not part of the table.

When a row receives several labels, the first by *priority* wins: the ``label_priority``
list when given, else individual events before pair events before scene events, then the order
of ``label_ids``. (In the demo a resting animal that is approached carries its own ``rest``
and the mirrored ``approach``: its own individual label wins.) Rows without any label get the
background label.

Pair features are reduced to one row per (frame, id) for an individual classifier by
:func:`reduce_pair_features`: ``nearest`` takes every pair column of the partner with the
smallest distance column, ``min``/``mean``/``max`` aggregate each column over all partners.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ConfigError, ModelError

KEY_INDIVIDUAL = ("frame", "id")
KEY_PAIR = ("frame", "id", "id2")
NON_FEATURE_COLUMNS = frozenset({"frame", "id", "id2", "time", "group", "sequence"})
LEVEL_INDIVIDUAL, LEVEL_PAIR, LEVEL_SCENE = 0, 1, 2


# --------------------------------------------------------------------------- labels
def label_vocabulary(labels: Mapping[str, Any]) -> dict[int, str]:
    """``{label_id: label_name}`` of a label mapping."""
    return {
        int(i): str(n)
        for i, n in zip(np.asarray(labels["label_ids"]).ravel(), np.asarray(labels["label_names"]).ravel())
    }


def label_events(labels: Mapping[str, Any]) -> pd.DataFrame:
    """Event rows of a label mapping as a table.

    Returns
    -------
    DataFrame
        ``frame, id_a, id_b, label_id, label, level`` (level 0 individual, 1 pair, 2 scene).
    """
    frames = np.asarray(labels["frames"], dtype=np.int64).ravel()
    ids = np.asarray(labels["individual_ids"], dtype=np.int64).reshape(-1, 2)
    lab = np.asarray(labels["labels"], dtype=np.int64).ravel()
    vocab = label_vocabulary(labels)
    names = pd.Series(lab).map(vocab).astype(object).to_numpy() if len(lab) else np.zeros(0, dtype=object)
    level = np.where(ids[:, 0] < 0, LEVEL_SCENE, np.where(ids[:, 1] < 0, LEVEL_INDIVIDUAL, LEVEL_PAIR))
    return pd.DataFrame(
        {"frame": frames, "id_a": ids[:, 0], "id_b": ids[:, 1], "label_id": lab, "label": names, "level": level}
    )


def _rank(events: pd.DataFrame, labels: Mapping[str, Any], priority: Sequence[str] | None) -> np.ndarray:
    order = {int(i): k for k, i in enumerate(np.asarray(labels["label_ids"]).ravel())}
    within = events["label_id"].map(order).to_numpy(dtype=np.int64)
    if priority:
        pos = {name: k for k, name in enumerate(priority)}
        pr = events["label"].map(pos).fillna(len(pos)).to_numpy(dtype=np.int64)
        return pr * 1_000_000 + events["level"].to_numpy() * 10_000 + within
    return events["level"].to_numpy(dtype=np.int64) * 10_000 + within


def _int_keys(rows: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """``rows[key]`` as int64 (label ids are integers); :class:`ModelError` when an id is not an integer."""
    try:
        return rows[key].astype(np.int64).reset_index(drop=True)
    except (ValueError, TypeError) as exc:
        raise ModelError(
            "feature rows have non-integer frame/id values; labels address individuals by integer id",
            expected=f"integer {key}",
            found=str(exc).splitlines()[0],
        ) from exc


def _pick_first(cand: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    cand = cand.sort_values(key + ["rank"], kind="stable")
    return cand.drop_duplicates(key, keep="first")


def individual_targets(
    rows: pd.DataFrame,
    labels: Mapping[str, Any],
    background: str = "background",
    priority: Sequence[str] | None = None,
) -> np.ndarray:
    """Label name of every ``(frame, id)`` row (object array aligned with ``rows``).

    Parameters
    ----------
    rows
        Table with ``frame`` and ``id`` columns (one row per (frame, id)).
    labels
        ``individual_pair_v1`` mapping (``frames, labels, individual_ids, label_ids, label_names``).
    background
        Name given to rows without a label.
    priority
        Optional label names; earlier wins when a row has several labels.
    """
    ev = label_events(labels)
    key = list(KEY_INDIVIDUAL)
    base = _int_keys(rows, key)
    if len(ev) == 0 or len(base) == 0:
        return np.full(len(rows), background, dtype=object)
    ev["rank"] = _rank(ev, labels, priority)
    own = ev[ev["level"] != LEVEL_SCENE].rename(columns={"id_a": "id"})[["frame", "id", "label", "rank"]]
    scene = ev[ev["level"] == LEVEL_SCENE][["frame", "label", "rank"]]
    parts = [own]
    if len(scene):
        parts.append(base.drop_duplicates().merge(scene, on="frame", how="inner")[["frame", "id", "label", "rank"]])
    best = _pick_first(pd.concat(parts, ignore_index=True), key)
    out = base.merge(best[key + ["label"]], on=key, how="left")["label"]
    return out.fillna(background).to_numpy(dtype=object)


def pair_targets(
    rows: pd.DataFrame,
    labels: Mapping[str, Any],
    background: str = "background",
    priority: Sequence[str] | None = None,
) -> np.ndarray:
    """Label name of every ``(frame, id, id2)`` pair row: pair events ``[id, id2]`` (and scene events).

    Individual events are not pair labels; pair rows without a pair or scene label get ``background``.
    """
    ev = label_events(labels)
    key = list(KEY_PAIR)
    base = _int_keys(rows, key)
    if len(ev) == 0 or len(base) == 0:
        return np.full(len(rows), background, dtype=object)
    ev["rank"] = _rank(ev, labels, priority)
    pair = ev[ev["level"] == LEVEL_PAIR].rename(columns={"id_a": "id", "id_b": "id2"})[key + ["label", "rank"]]
    scene = ev[ev["level"] == LEVEL_SCENE][["frame", "label", "rank"]]
    parts = [pair]
    if len(scene):
        parts.append(base.drop_duplicates().merge(scene, on="frame", how="inner")[key + ["label", "rank"]])
    best = _pick_first(pd.concat(parts, ignore_index=True), key)
    out = base.merge(best[key + ["label"]], on=key, how="left")["label"]
    return out.fillna(background).to_numpy(dtype=object)


# --------------------------------------------------------------------------- features
def numeric_feature_columns(df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` usable as model inputs: numeric or bool, not a key/time/name column."""
    out = []
    for c in df.columns:
        if c in NON_FEATURE_COLUMNS:
            continue
        dt = df[c].dtype
        if pd.api.types.is_bool_dtype(dt) or pd.api.types.is_numeric_dtype(dt):
            out.append(c)
    return out


def find_distance_column(columns: Iterable[str], preferred: str | None = None) -> str | None:
    """The partner-ranking column: ``preferred`` if given, else ``distance``, else the first ``*dist*`` column."""
    columns = list(columns)
    if preferred is not None:
        return preferred if preferred in columns else None
    for c in columns:
        if c.lower() in ("distance", "dist", "pair_distance"):
            return c
    for c in columns:
        if "dist" in c.lower():
            return c
    return None


def reduce_pair_features(
    pair: pd.DataFrame,
    how: Sequence[str] | str = "auto",
    distance_column: str | None = None,
) -> pd.DataFrame:
    """Reduce a pair feature table ``(frame, id, id2, ...)`` to one row per ``(frame, id)``.

    Parameters
    ----------
    pair
        Pair feature table (``id`` is the subject, ``id2`` the partner).
    how
        Reductions, any of ``nearest`` (all columns of the partner with the smallest
        ``distance_column``; NaN distances rank last), ``min``, ``mean``, ``max`` over partners.
        ``'auto'``: ``nearest`` when a distance column exists, plus ``min`` and ``mean``.
    distance_column
        The ranking column for ``nearest`` (default: found by :func:`find_distance_column`).

    Returns
    -------
    DataFrame
        ``frame, id`` and columns named ``<col>@<reduction>`` (plus ``n_partners``).

    Raises
    ------
    ConfigError
        ``nearest`` asked for explicitly but no distance column exists.
    """
    cols = [c for c in numeric_feature_columns(pair)]
    dist = find_distance_column(cols, distance_column)
    if how == "auto":
        how = (["nearest"] if dist is not None else []) + ["min", "mean"]
    elif isinstance(how, str):
        how = [how]
    if "nearest" in how and dist is None:
        raise ConfigError(
            "pair reduction 'nearest' needs a distance column in the pair feature",
            expected=f"pair_distance_column in {cols}" if distance_column else "a column named like 'distance'",
            found=distance_column or cols,
        )
    key = list(KEY_INDIVIDUAL)
    data = pair[key + ["id2"] + cols].copy()
    for c in cols:
        if pd.api.types.is_bool_dtype(data[c].dtype):
            data[c] = data[c].astype(np.float64)
    g = data.groupby(key, sort=True)
    out = g.size().rename("n_partners").reset_index()
    if "nearest" in how:
        ordered = data.sort_values(key + [dist], kind="stable", na_position="last")
        near = ordered.drop_duplicates(key, keep="first")[key + cols]
        out = out.merge(near.rename(columns={c: f"{c}@nearest" for c in cols}), on=key, how="left")
    aggs = [h for h in how if h in ("min", "mean", "max")]
    if aggs and cols:
        agg = g[cols].agg(aggs)
        agg.columns = [f"{c}@{h}" for c, h in agg.columns]
        out = out.merge(agg.reset_index(), on=key, how="left")
    return out


def join_feature_tables(
    tables: Sequence[tuple[str, pd.DataFrame]],
    target: str = "individual",
    pair_reduce: Sequence[str] | str = "auto",
    pair_distance_column: str | None = None,
) -> pd.DataFrame:
    """Join the feature tables of one recording into one model-input table.

    Each table is keyed by ``(frame, id)`` (individual feature) or ``(frame, id, id2)`` (pair
    feature); its numeric columns are renamed ``<feature>.<column>``.

    * ``target='individual'``: rows are the union of (frame, id) of all tables; pair tables are
      reduced with :func:`reduce_pair_features` first.
    * ``target='pair'``: rows are the union of (frame, id, id2) of the pair tables; individual
      tables are joined for the subject (``<feature>.<col>``) and the partner
      (``<feature>.<col>@partner``).

    Raises
    ------
    ModelError
        ``target='pair'`` without any pair feature; a table without ``frame``/``id``.
    """
    indiv, pairs = _split_by_key(tables)
    if target == "pair":
        if not pairs:
            raise ModelError(
                "a pair classifier needs at least one pair feature (keyed by frame, id, id2)",
                expected="a feature with an 'id2' column",
                found=[n for n, _ in tables],
            )
        return _join_pair_rows(indiv, pairs)
    return _join_individual_rows(indiv, pairs, pair_reduce, pair_distance_column)


# (feature name, table, numeric feature columns)
_Table = tuple[str, pd.DataFrame, list[str]]


def _split_by_key(tables: Sequence[tuple[str, pd.DataFrame]]) -> tuple[list[_Table], list[_Table]]:
    """The individual tables (keyed by frame, id) and the pair tables (with ``id2``), with their feature columns."""
    indiv, pairs = [], []
    for name, df in tables:
        missing = [c for c in KEY_INDIVIDUAL if c not in df.columns]
        if missing:
            raise ModelError(
                f"feature {name!r} table lacks key columns", expected=list(KEY_INDIVIDUAL), found=f"missing {missing}"
            )
        cols = numeric_feature_columns(df)
        if "id2" in df.columns:
            pairs.append((name, df, cols))
        else:
            indiv.append((name, df, cols))
    return indiv, pairs


def _join_pair_rows(indiv: list[_Table], pairs: list[_Table]) -> pd.DataFrame:
    """Rows (frame, id, id2) of the pair tables; individual columns joined for the subject and the partner."""
    key = list(KEY_PAIR)
    out = None
    for name, df, cols in pairs:
        t = df[key + cols].rename(columns={c: f"{name}.{c}" for c in cols})
        t = t.drop_duplicates(key)
        out = t if out is None else out.merge(t, on=key, how="outer")
    for name, df, cols in indiv:
        t = df[list(KEY_INDIVIDUAL) + cols].drop_duplicates(list(KEY_INDIVIDUAL))
        subj = t.rename(columns={c: f"{name}.{c}" for c in cols})
        part = t.rename(columns={"id": "id2", **{c: f"{name}.{c}@partner" for c in cols}})
        out = out.merge(subj, on=["frame", "id"], how="left").merge(part, on=["frame", "id2"], how="left")
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def _join_individual_rows(
    indiv: list[_Table], pairs: list[_Table], pair_reduce: Sequence[str] | str, pair_distance_column: str | None
) -> pd.DataFrame:
    """Rows (frame, id) of all tables; pair tables reduced over partners first."""
    key = list(KEY_INDIVIDUAL)
    out = None
    for name, df, cols in indiv:
        t = df[key + cols].drop_duplicates(key).rename(columns={c: f"{name}.{c}" for c in cols})
        out = t if out is None else out.merge(t, on=key, how="outer")
    for name, df, _cols in pairs:
        red = reduce_pair_features(df, pair_reduce, pair_distance_column)
        red = red.rename(columns={c: f"{name}.{c}" for c in red.columns if c not in key})
        out = red if out is None else out.merge(red, on=key, how="outer")
    if out is None:
        raise ModelError("no feature tables to join", expected="at least one feature")
    return out.sort_values(key, kind="stable").reset_index(drop=True)
