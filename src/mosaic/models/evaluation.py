"""Sequence-grouped cross-validation, classification metrics and bout smoothing.

Cross-validation folds are built on a (group, sequence) key, so no recording ever has rows
in both the training and the test part of a fold; :func:`grouped_folds` asserts it and raises
:class:`ModelError` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import ModelError

SEQ_SEP = "\x1f"


def sequence_keys(groups: Sequence[str] | np.ndarray, sequences: Sequence[str] | np.ndarray) -> np.ndarray:
    """One key string per row identifying its recording (group, sequence)."""
    return (
        pd.Series(np.asarray(groups, dtype=object)).astype(str)
        + SEQ_SEP
        + pd.Series(np.asarray(sequences, dtype=object)).astype(str)
    ).to_numpy(dtype=object)


def assert_no_leak(seq_key: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray) -> None:
    """Raise :class:`ModelError` when a recording has rows on both sides of a split."""
    shared = np.intersect1d(np.unique(seq_key[train_idx]).astype(str), np.unique(seq_key[test_idx]).astype(str))
    if len(shared):
        raise ModelError(
            "cross-validation split leaks recordings into both train and test",
            expected="disjoint (group, sequence) sets",
            found=[s.replace(SEQ_SEP, "/") for s in shared[:5]],
        )


def grouped_folds(
    y: np.ndarray,
    seq_key: np.ndarray,
    n_splits: int = 5,
    stratified: bool = True,
    seed: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(train_idx, test_idx)`` folds grouped by recording (no recording in both parts).

    ``n_splits`` is capped at the number of recordings; ``StratifiedGroupKFold`` (shuffled with
    ``seed``) when ``stratified`` else ``GroupKFold``. Every fold is checked with
    :func:`assert_no_leak`.

    Raises
    ------
    ModelError
        Fewer than two recordings (no held-out recording possible), or a leaking split.
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    seq_key = np.asarray(seq_key, dtype=object)
    uniq = np.unique(seq_key.astype(str))
    if len(uniq) < 2:
        raise ModelError(
            "sequence-grouped cross-validation needs at least two recordings",
            expected=">= 2 (group, sequence) with labels and features",
            found=len(uniq),
        )
    k = min(int(n_splits), len(uniq))
    if stratified:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = GroupKFold(n_splits=k)
    codes = pd.factorize(seq_key)[0]
    X = np.zeros((len(y), 1))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has only n members"
        for train_idx, test_idx in splitter.split(X, np.asarray(y).astype(str), groups=codes):
            assert_no_leak(seq_key, train_idx, test_idx)
            yield train_idx, test_idx


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    classes: Sequence[str] | None = None,
    background: str | None = None,
) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, macro F1 (all, and excluding ``background``), confusion matrix.

    ``macro_f1`` averages F1 over the behaviours present in ``y_true`` **excluding** the
    background label; ``macro_f1_all`` includes it.
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    y_true = np.asarray(y_true).astype(str)
    y_pred = np.asarray(y_pred).astype(str)
    if classes is None:
        classes = sorted(set(y_true) | set(y_pred))
    classes = [str(c) for c in classes]
    extra = sorted((set(y_true) | set(y_pred)) - set(classes))
    seen = set(y_true) | set(y_pred)
    classes = [c for c in classes if c in seen] + extra  # drop classes neither true nor predicted
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    per_class = {
        c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, c in enumerate(classes)
    }
    present = [c for c in classes if per_class[c]["support"] > 0]
    behaviours = [c for c in present if c != background]
    macro = float(np.mean([per_class[c]["f1"] for c in behaviours])) if behaviours else float("nan")
    macro_all = float(np.mean([per_class[c]["f1"] for c in present])) if present else float("nan")
    cm = confusion_matrix(y_true, y_pred, labels=classes)
    return {
        "classes": classes,
        "background_label": background,
        "macro_f1_classes": behaviours,
        "macro_f1": macro,
        "macro_f1_all": macro_all,
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else float("nan"),
        "per_class": per_class,
        "confusion_matrix": cm.astype(int).tolist(),
        "n_rows": len(y_true),
    }


def smooth_bouts(labels: np.ndarray, track: np.ndarray, min_bout: int) -> np.ndarray:
    """Merge predicted bouts shorter than ``min_bout`` rows into their neighbours.

    Rows must be ordered by frame within each ``track`` (e.g. one track per (recording, id)).
    A run is a maximal block of consecutive rows of one track with the same label; runs shorter
    than ``min_bout`` take the label of the preceding run of the track (the following one when
    the short run starts the track; a track made only of short runs is left as it is).
    Vectorized: run-length encoding with numpy, then a forward/backward fill per track.
    """
    labels = np.asarray(labels, dtype=object)
    n = len(labels)
    if min_bout <= 1 or n == 0:
        return labels.copy()
    track = np.asarray(pd.factorize(np.asarray(track, dtype=object))[0])
    lab_codes, uniques = pd.factorize(labels)
    new_run = np.ones(n, bool)
    new_run[1:] = (lab_codes[1:] != lab_codes[:-1]) | (track[1:] != track[:-1])
    run_id = np.cumsum(new_run) - 1
    run_len = np.bincount(run_id)
    short = run_len[run_id] < min_bout
    vals = pd.Series(np.where(short, np.nan, lab_codes.astype(np.float64)))
    filled = vals.groupby(track).ffill()
    filled = filled.groupby(track).bfill()
    out_codes = np.where(filled.isna(), lab_codes, filled.fillna(-1).to_numpy()).astype(np.int64)
    return np.asarray(uniques, dtype=object)[out_codes]


def run_lengths(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run-length encoding: ``(starts, lengths, run_values)`` of a 1-D array."""
    values = np.asarray(values)
    if len(values) == 0:
        return np.zeros(0, int), np.zeros(0, int), values[:0]
    change = np.ones(len(values), bool)
    change[1:] = values[1:] != values[:-1]
    starts = np.flatnonzero(change)
    lengths = np.diff(np.append(starts, len(values)))
    return starts, lengths, values[starts]
