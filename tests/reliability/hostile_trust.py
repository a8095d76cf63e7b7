"""Hostile inputs that try to make mosaic run code, serve another recording's data or stale data.

Registered into :data:`tests.reliability.hostile.CASE_BUILDERS` on import.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.hostile import Case, calms_dict, convert_row, register_cases

MARKER = "MARKER_CODE_RAN"


class _MarkerPayload:
    """Unpickles as ``open(<marker>, 'w')``: the marker file appears only if code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickled_npy(where: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / MARKER
        rec = calms_dict()["annotator-id_0"]["task1/train/mouse001"]
        if where == "metadata":
            rec = {**rec, "metadata": {**rec.get("metadata", {}), "x": _MarkerPayload(marker)}}
            obj: Any = {"hostile_calms21_npy": {folder.name: rec}}
        elif where == "record":
            obj = {"hostile_calms21_npy": {folder.name: _MarkerPayload(marker)}}
        else:  # the whole file
            obj = _MarkerPayload(marker)
        p = folder / "calms21.npy"
        np.save(p, np.array(obj, dtype=object), allow_pickle=True)
        return p

    return build


def _no_code_ran(call: Callable[[Any, Path], Any]) -> Callable[[Any, Path], Any]:
    def wrapped(ds, path: Path):
        try:
            return call(ds, path)
        finally:
            if (path.parent / MARKER).exists():
                raise AssertionError(f"code from {path} ran: {path.parent / MARKER} was created")

    return wrapped


def _pickle_cases() -> list[Case]:
    out = []
    for where in ("metadata", "record", "file"):
        out.append(Case("calms21_npy", f"pickled_code_in_{where}", _pickled_npy(where), _no_code_ran(convert_row("calms21_npy"))))
    return out


register_cases("trust_pickle", _pickle_cases)
