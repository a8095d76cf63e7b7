"""Nodes of the `convert` pipeline: raw index → ``tracks`` partitions (+ tracks index).

Both nodes drive :class:`mosaic.tracks.convert.ConversionBatch`, the same object the
facade's ``convert_all_tracks`` drives: the first returns its lazy partitions (Kedro's
``PartitionedDataset`` calls them one at a time while saving, so one recording is in
memory at a time) and the batch handle; the second, which runs after the partitions are
saved, records the index, writes the conversion report and raises ``BatchError`` when
files failed (``on_error: skip`` → a warning).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.kedro_config import resolve_dataset_dir
from mosaic.tracks.convert import ConversionBatch
from mosaic.tracks.table import TrackTable

_KEYS = ("params", "overwrite", "merge_per_sequence", "group_from", "on_error", "on_stale")


def convert_tracks(
    tracks_raw_index: pd.DataFrame, convert: Mapping[str, Any], dataset_dir: str
) -> tuple[dict[str, Callable[[], TrackTable | None]], ConversionBatch]:
    """Plan the conversion of every raw index row; return lazy partitions and the batch."""
    convert = dict(convert or {})
    unknown = sorted(set(convert) - set(_KEYS))
    if unknown:
        raise ConfigError("unknown keys in convert parameters", expected=list(_KEYS), found=unknown)
    ds = DatasetCore.open(resolve_dataset_dir(dataset_dir))
    batch = ConversionBatch.from_index(
        ds, tracks_raw_index, params=convert.get("params") or {}, overwrite=bool(convert.get("overwrite", False)),
        merge_per_sequence=convert.get("merge_per_sequence"), group_from=convert.get("group_from"),
        on_error=convert.get("on_error", "raise"), on_stale=convert.get("on_stale", "reconvert"),
    )
    return batch.partitions(), batch


def finish_conversion(batch: ConversionBatch) -> pd.DataFrame:
    """Record the converted files in ``tracks/index.csv`` and report failures; return the rows."""
    rows = pd.DataFrame(list(batch.rows.values()))
    batch.finish()
    return rows
