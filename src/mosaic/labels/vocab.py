"""Label vocabularies: ``{label_id: name}`` maps shared by every file of one label kind."""

from __future__ import annotations

import json
from collections.abc import Iterable

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import LabelFormatError

from .io import labels_index_path, parse_list_cell, read_labels_index


def get_label_map(ds: DatasetCore, kind: str = "behavior") -> dict[int, str]:
    """``{label_id: label_name}`` of one label kind, merged over its index.

    Raises
    ------
    LabelFormatError
        Two files of the kind give one id different names.
    """
    df = read_labels_index(ds, kind)
    out: dict[int, str] = {}
    path = labels_index_path(ds, kind)
    for g, s, ids_s, names_s in zip(df["group"], df["sequence"], df["label_ids"], df["label_names"]):
        try:
            ids = parse_list_cell(ids_s)
            names = parse_list_cell(names_s)
            ids = [int(i) for i in ids]
        except (json.JSONDecodeError, ValueError) as exc:
            raise LabelFormatError(
                "label_ids/label_names in the index are not JSON lists", path=path, group=g, sequence=s, found=str(exc)
            ) from exc
        for i, n in zip(ids, names):
            i = int(i)
            if i in out and out[i] != n:
                raise LabelFormatError(
                    f"label id {i} has two names in kind {kind!r}",
                    path=path,
                    group=g,
                    sequence=s,
                    expected=out[i],
                    found=n,
                    hint="convert with one vocabulary (param 'behaviors') and overwrite=True",
                )
            out[i] = str(n)
    return dict(sorted(out.items()))


def build_vocabulary(
    seen: Iterable[str],
    behaviors: Iterable[str] | None = None,
    background: str | None = None,
    existing: dict[int, str] | None = None,
) -> dict[str, int]:
    """Assign label ids: ``behaviors`` in order when given, else ``existing`` then new names sorted.

    The ``background`` label is id 0 when ids are assigned here (appended when ``behaviors`` lacks it).
    Returns ``{name: id}``.
    """
    seen = sorted({str(s) for s in seen})
    if behaviors is not None:
        names = [str(b) for b in behaviors]
        if background is not None and background not in names:
            names.append(background)
        return {n: i for i, n in enumerate(names)}
    name_to_id = {n: i for i, n in (existing or {}).items()}
    if background is not None and background not in name_to_id:
        name_to_id[background] = 0 if 0 not in (existing or {}) else max(existing) + 1
    nxt = max(name_to_id.values(), default=-1) + 1
    for n in seen:
        if n not in name_to_id:
            name_to_id[n] = nxt
            nxt += 1
    return name_to_id
