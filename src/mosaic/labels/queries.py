"""Queries over converted labels: load one recording, filter by individual or frame, densify."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, SequenceNotFoundError
from mosaic.core.safe_names import sequence_key

from .io import label_file_path, labels_index_path, read_label_npz, read_labels_index

EVENT_COLUMNS = ("frame", "id", "id2", "label", "label_name")


def label_path(ds: DatasetCore, group: str, sequence: str, kind: str = "behavior"):
    """Path of the label file of a recording (from the index, else the default location)."""
    df = read_labels_index(ds, kind)
    hit = df[(df["group"] == group) & (df["sequence"] == sequence)]
    if len(hit) and hit["abs_path"].iloc[0]:
        return ds.resolve_path(hit["abs_path"].iloc[0])
    return label_file_path(ds, kind, group, sequence)


def load_labels(ds: DatasetCore, group: str, sequence: str, kind: str = "behavior") -> dict[str, Any]:
    """Labels of one recording.

    Returns
    -------
    dict
        ``frames`` int32 (n,), ``labels`` int32 (n,), ``individual_ids`` int32 (n, 2),
        ``label_ids``, ``label_names``, ``label_format``, ``fps``, ``group``, ``sequence``,
        ``sequence_key``. Older dense files (one label per frame, no ``individual_ids``) load as
        scene-level rows ``[-1, -1]``.

    Raises
    ------
    SequenceNotFoundError
        No label file of ``kind`` for the recording.
    LabelFormatError
        The file is not a valid label file.
    """
    path = label_path(ds, group, sequence, kind)
    if not path.exists():
        raise SequenceNotFoundError(
            f"no {kind!r} labels for this recording",
            path=path,
            group=group,
            sequence=sequence,
            hint=f"convert labels first (convert_all_labels(kind={kind!r})); index: {labels_index_path(ds, kind)}",
        )
    d = read_label_npz(path, group=group, sequence=sequence)
    d["group"] = d["group"] or group
    d["sequence"] = d["sequence"] or sequence
    d["sequence_key"] = sequence_key(group, sequence)
    return d


def _events_frame(d: Mapping[str, Any], mask: np.ndarray, names: Mapping[int, str] | None = None) -> pd.DataFrame:
    if names is None:
        names = dict(
            zip(np.asarray(d.get("label_ids", [])).tolist(), np.asarray(d.get("label_names", [])).astype(str).tolist())
        )
    lab = np.asarray(d["labels"])[mask]
    ids = np.asarray(d["individual_ids"]).reshape(-1, 2)[mask]
    uniq, inv = np.unique(lab, return_inverse=True)
    lname = (
        np.array([names.get(int(u), str(int(u))) for u in uniq], dtype=object)[inv]
        if len(lab)
        else np.array([], dtype=object)
    )
    return pd.DataFrame(
        {
            "frame": np.asarray(d["frames"])[mask].astype(np.int64),
            "id": ids[:, 0].astype(np.int64),
            "id2": ids[:, 1].astype(np.int64),
            "label": lab.astype(np.int64),
            "label_name": lname,
        }
    )


def events_table(label_dict: Mapping[str, Any], label_map: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Rows of a label dict as a table ``frame, id, id2, label, label_name``.

    ``label_dict`` is what :func:`load_labels`, :func:`get_labels_for_individual` or
    :func:`get_labels_at_frame` return (``frames``, ``labels``, ``individual_ids``); names come
    from ``label_map`` (``{label_id: name}``, e.g. :func:`get_label_map`), else from the dict's
    own ``label_ids``/``label_names``, else the id as text.
    """
    return _events_frame(label_dict, np.ones(len(label_dict["frames"]), bool), label_map)


def _subset(d: Mapping[str, Any], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "frames": np.asarray(d["frames"], dtype=np.int32)[mask],
        "labels": np.asarray(d["labels"], dtype=np.int32)[mask],
        "individual_ids": np.asarray(d["individual_ids"], dtype=np.int32).reshape(-1, 2)[mask],
    }


def _individual_mask(d: Mapping[str, Any], individual_id: int, frame_range) -> np.ndarray:
    return (d["individual_ids"][:, 0] == int(individual_id)) & _range_mask(d["frames"], frame_range)


def _frame_mask(d: Mapping[str, Any], frame: int, individual_id: int | None) -> np.ndarray:
    mask = d["frames"] == int(frame)
    if individual_id is not None:
        mask &= d["individual_ids"][:, 0] == int(individual_id)
    return mask


def get_labels_for_individual(
    ds: DatasetCore,
    group: str,
    sequence: str,
    individual_id: int,
    kind: str = "behavior",
    frame_range: tuple[int | None, int | None] | None = None,
) -> dict[str, np.ndarray]:
    """Label rows whose subject is ``individual_id`` (its own and, as subject, its pair events).

    ``frame_range=(start, stop)`` keeps ``start <= frame < stop`` (either end may be None).
    Pair events have the partner in ``individual_ids[:, 1]`` (stored in both directions, so an
    individual also sees pair events where it is the partner); ``-1`` selects scene rows.

    Returns
    -------
    dict
        ``frames`` int32 (n,), ``labels`` int32 (n,), ``individual_ids`` int32 (n, 2), in file
        order. :func:`events_table` or :func:`get_labels_table` give the table view.
    """
    d = load_labels(ds, group, sequence, kind)
    return _subset(d, _individual_mask(d, individual_id, frame_range))


def _range_mask(frames: np.ndarray, frame_range) -> np.ndarray:
    m = np.ones(len(frames), bool)
    if frame_range is None:
        return m
    if not isinstance(frame_range, (tuple, list)) or len(frame_range) != 2:
        raise ConfigError(
            "frame_range must be (start, stop)", expected="(start, stop), stop exclusive", found=frame_range
        )
    lo, hi = frame_range
    if lo is not None:
        m &= frames >= int(lo)
    if hi is not None:
        m &= frames < int(hi)
    return m


def get_labels_at_frame(
    ds: DatasetCore,
    group: str,
    sequence: str,
    frame: int,
    kind: str = "behavior",
    individual_id: int | None = None,
) -> dict[str, np.ndarray]:
    """Label rows at one frame (all subjects, scene-level included; or one subject's).

    Returns
    -------
    dict
        ``frames``, ``labels``, ``individual_ids`` as :func:`get_labels_for_individual` (empty
        arrays when nothing is labelled there).
    """
    d = load_labels(ds, group, sequence, kind)
    return _subset(d, _frame_mask(d, frame, individual_id))


def get_labels_table(
    ds: DatasetCore,
    group: str,
    sequence: str,
    kind: str = "behavior",
    individual_id: int | None = None,
    frame: int | None = None,
    frame_range: tuple[int | None, int | None] | None = None,
) -> pd.DataFrame:
    """The label rows of one recording as a table ``frame, id, id2, label, label_name``.

    ``individual_id`` keeps one subject's rows, ``frame`` one frame, ``frame_range=(start, stop)``
    ``start <= frame < stop``; all optional and combinable. The table view of
    :func:`get_labels_for_individual` / :func:`get_labels_at_frame`.
    """
    d = load_labels(ds, group, sequence, kind)
    mask = _range_mask(d["frames"], frame_range)
    if individual_id is not None:
        mask &= d["individual_ids"][:, 0] == int(individual_id)
    if frame is not None:
        mask &= d["frames"] == int(frame)
    return _events_frame(d, mask).reset_index(drop=True)


def _check_unique(**arrays: np.ndarray) -> None:
    """Refuse duplicates in the ``frames`` / ``ids`` of :func:`labels_to_dense`."""
    for name, arr in arrays.items():
        if len(np.unique(arr)) != len(arr):
            raise ConfigError(
                f"labels_to_dense {name} must be unique",
                expected=f"unique {name}",
                found=f"{len(arr) - len(np.unique(arr))} duplicate(s)",
            )


def _background_id(background: int | str | None, lids: np.ndarray, lnames: np.ndarray) -> int:
    """Label id of the ``background`` of :func:`labels_to_dense` (a name, an id, or None = -1)."""
    if isinstance(background, str):
        hit = lids[lnames == background]
        if not len(hit):
            raise ConfigError("background label not in the vocabulary", expected=lnames.tolist(), found=background)
        return int(hit[0])
    return -1 if background is None else int(background)


def _dense_grid(
    fr: np.ndarray, lab: np.ndarray, iid: np.ndarray, frames: np.ndarray, ids: np.ndarray, bg: int
) -> tuple[np.ndarray, np.ndarray]:
    """Winning (label, partner) of each (frame, id) cell, flattened in ``frames`` × ``ids`` order."""
    nf, ni = len(frames), len(ids)
    out_lab = np.full(nf * ni, bg, np.int64)
    out_id2 = np.full(nf * ni, -1, np.int64)
    # positions of events in the (frames × ids) grid (frames/ids need not be sorted)
    fo, io_ = np.argsort(frames, kind="stable"), np.argsort(ids, kind="stable")
    fs, is_ = frames[fo], ids[io_]
    pf = np.searchsorted(fs, fr).clip(0, max(nf - 1, 0))
    pi = np.searchsorted(is_, iid[:, 0]).clip(0, max(ni - 1, 0))
    ok = (nf > 0) & (ni > 0)
    if ok and len(fr):
        hit = (fs[pf] == fr) & (is_[pi] == iid[:, 0])
        rows = np.flatnonzero(hit)
        flat = fo[pf[rows]] * ni + io_[pi[rows]]
        priority = (iid[rows, 1] < 0).astype(np.int64)  # individual/scene rows beat pair rows
        order = np.lexsort((rows, priority))  # ascending; the winner is last
        rev = order[::-1]
        _, first = np.unique(flat[rev], return_index=True)
        win = rev[first]
        out_lab[flat[win]] = lab[rows[win]]
        out_id2[flat[win]] = iid[rows[win], 1]
    return out_lab, out_id2


def labels_to_dense(
    label_dict: Mapping[str, Any],
    frames: Sequence[int] | np.ndarray | None = None,
    ids: Sequence[int] | np.ndarray | None = None,
    background: int | str | None = None,
) -> pd.DataFrame:
    """Per-(frame, id) label table for training, vectorized.

    Parameters
    ----------
    label_dict
        As returned by :func:`load_labels`.
    frames
        Frames of the table (default ``0 .. max frame``).
    ids
        Individuals of the table (default: every subject id >= 0 in the labels). Include ``-1``
        to get the scene-level labels as id ``-1``.
    background
        Label for cells without an event: a label name or id of the vocabulary, or None (label
        ``-1``, name missing).

    Returns
    -------
    DataFrame
        One row per (frame, id) in ``frames`` × ``ids`` order: ``frame, id, label, label_name, id2``
        (``id2`` = partner of a pair event, ``-1`` otherwise). When a cell has several events, an
        individual event beats a pair event (a pair is stored in both directions, so the partner's
        own behaviour wins over the mirrored row), then the later row of the file wins.
    """
    fr = np.asarray(label_dict["frames"], dtype=np.int64)
    lab = np.asarray(label_dict["labels"], dtype=np.int64)
    iid = np.asarray(label_dict["individual_ids"], dtype=np.int64).reshape(-1, 2)
    lids = np.asarray(label_dict["label_ids"], dtype=np.int64)
    lnames = np.asarray(label_dict["label_names"]).astype(str)
    names = dict(zip(lids.tolist(), lnames.tolist()))
    if frames is None:
        frames = np.arange(int(fr.max()) + 1 if len(fr) else 0, dtype=np.int64)
    if ids is None:
        ids = np.unique(iid[:, 0][iid[:, 0] >= 0])
    frames = np.asarray(frames, dtype=np.int64).ravel()
    ids = np.asarray(ids, dtype=np.int64).ravel()
    _check_unique(frames=frames, ids=ids)
    bg = _background_id(background, lids, lnames)
    nf, ni = len(frames), len(ids)
    out_lab, out_id2 = _dense_grid(fr, lab, iid, frames, ids, bg)
    uniq, inv = np.unique(out_lab, return_inverse=True)
    lname = (
        np.array([names.get(int(u)) if int(u) in names else None for u in uniq], dtype=object)[inv]
        if len(out_lab)
        else np.array([], dtype=object)
    )
    return pd.DataFrame(
        {
            "frame": np.repeat(frames, ni),
            "id": np.tile(ids, nf),
            "label": out_lab,
            "label_name": lname,
            "id2": out_id2,
        }
    )
