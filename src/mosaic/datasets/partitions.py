"""``{partition id: loader}`` of a folder of per-recording files, as a ``PartitionedDataset`` loads.

Shared by the catalog entries whose ``save`` runs a stage's batch and whose ``load`` gives the
files it wrote (tracks, labels).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def file_partitions(folder: Path, suffix: str, dataset: Callable[[str], Any]) -> dict[str, Callable[[], Any]]:
    """``{file stem: dataset(path).load}`` of the visible ``*<suffix>`` files of ``folder``, sorted (``{}``: no folder)."""
    if not folder.is_dir():
        return {}
    return {p.stem: dataset(p.as_posix()).load for p in sorted(folder.glob(f"*{suffix}")) if not p.name.startswith(".")}
