"""BORIS subject names → individual ids (``subject_map``, else the name's trailing integer).

``No focal subject`` (or an empty name) is scene-level (``-1``); a pair event's partner is the
first token of its modifiers (or comment) naming a subject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.errors import LabelFormatError

from ..boris import NO_FOCAL

__all__ = ["partner_id", "subject_ids"]

_TRAILING_INT = re.compile(r"(\d+)\s*$")
_SUBJECT_LIKE = re.compile(r"^[A-Za-z][A-Za-z _\-]*\d+$")

_ID_MAX = int(np.iinfo(np.int32).max)


def _checked_id(value: Any, name: str, path: Any) -> int:
    """An individual id that fits the int32 label format, else a named error (never a silent wrap)."""
    try:
        v = int(value)
    except (TypeError, ValueError) as exc:
        raise LabelFormatError(
            "subject id is not an integer", path=path, expected="integer id", found=f"{name!r} -> {value!r}"
        ) from exc
    if not 0 <= v <= _ID_MAX:
        raise LabelFormatError(
            "subject id out of range",
            path=path,
            expected=f"0..{_ID_MAX}",
            found=f"{name!r} -> {v}",
            hint="pass params subject_map={name: id}",
        )
    return v


def subject_ids(subjects: np.ndarray, subject_map: Mapping[str, int] | None, files: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(subjects.astype(str), return_inverse=True)
    out = np.empty(len(uniq), np.int64)
    for i, name in enumerate(uniq):
        if name.strip().lower() in NO_FOCAL:
            out[i] = -1
        elif subject_map is not None:
            if name not in subject_map:
                f = files[inv == i][0]
                raise LabelFormatError(
                    "unknown subject (not in subject_map)",
                    path=f,
                    expected=sorted(subject_map),
                    found=name,
                    hint="add it to params subject_map",
                )
            out[i] = _checked_id(subject_map[name], name, files[inv == i][0])
        else:
            m = _TRAILING_INT.search(name)
            if m is None:
                f = files[inv == i][0]
                raise LabelFormatError(
                    "unknown subject: no trailing integer id in its name",
                    path=f,
                    expected="names like 'fish3' or a subject_map",
                    found=name,
                    hint="pass params subject_map={name: id}",
                )
            out[i] = _checked_id(m.group(1), name, files[inv == i][0])
    ids = out[inv]
    # two subject names of one file must not share an id
    pairs = pd.DataFrame({"file": files, "subject": subjects.astype(str), "id": ids}).drop_duplicates()
    pairs = pairs[pairs["id"] >= 0]
    clash = pairs[pairs.duplicated(["file", "id"], keep=False)]
    if len(clash):
        first = clash.iloc[0]
        names = sorted(clash[(clash["file"] == first["file"]) & (clash["id"] == first["id"])]["subject"])
        raise LabelFormatError(
            "two subjects map to the same individual id",
            path=first["file"],
            expected="one id per subject",
            found=f"{names} -> {int(first['id'])}",
            hint="pass params subject_map={name: id}",
        )
    return ids


def partner_id(modifiers: str, subject: str, known: set[str], subject_map: Mapping[str, int] | None) -> int | None:
    for tok in re.split(r"[|,;]", modifiers or ""):
        tok = tok.strip()
        if not tok or tok == subject:
            continue
        if subject_map is not None:
            if tok in subject_map:
                return _checked_id(subject_map[tok], tok, None)
            continue
        if tok in known or _SUBJECT_LIKE.match(tok):
            m = _TRAILING_INT.search(tok)
            if m:
                return _checked_id(m.group(1), tok, None)
    return None
