"""Several BORIS files in one conversion: what each holds (surveyed by a worker) and how they are grouped.

A conversion over several exports or projects runs one task per file (see
:mod:`mosaic.labels.batch`). A first pass reads each file for what it shares with the others
(:func:`survey_exports`); :func:`join_surveys` then puts files labelling a common recording in one
task and fixes the vocabulary and partner names for all, so every task converts exactly as one
combined read of every file would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mosaic.core.dataset import DatasetCore

from ..matching import SequenceMatcher
from ..vocab import build_vocabulary, get_label_map
from .boris_bouts import bout_table

__all__ = ["join_surveys", "survey_exports"]


def survey_exports(exports, p: Mapping[str, Any], matcher: SequenceMatcher) -> dict[str, list]:
    """What one export shares with the others of a conversion: behaviours, subjects, recordings (sorted lists)."""
    b = bout_table(exports, p)
    if b is None:
        return {"behaviors": [], "subjects": [], "recordings": []}
    obs = b[["source_file", "observation_id", "media_file"]].drop_duplicates()
    recordings = {
        matcher.resolve(observation_id=oid, media_file=mf, source_file=sf)
        for sf, oid, mf in obs.itertuples(index=False)
    }
    return {
        "behaviors": sorted(set(b["behavior"].astype(str))),
        "subjects": sorted(set(b["subject"].astype(str))),
        "recordings": [list(r) for r in sorted(recordings)],
    }


def join_surveys(
    ds: DatasetCore, kind: str, p: Mapping[str, Any], surveys: list[Mapping[str, list]]
) -> tuple[list[list[int]], dict[str, Any]]:
    """Group the exports that label a common recording and decide what they all share.

    Returns the groups (positions in ``surveys``, each converted as one task, in order) and the
    context of :func:`convert_bouts`: the vocabulary of every export read together (when
    ``behaviors`` is not fixed) and every subject name, so that each task converts exactly as
    one combined read would.
    """
    context: dict[str, Any] = {"known_subjects": sorted({n for s in surveys for n in s["subjects"]})}
    if p["behaviors"] is None:
        seen = [n for s in surveys for n in s["behaviors"]]
        context["vocabulary"] = build_vocabulary(seen, None, p["background"], get_label_map(ds, kind))
    parent = list(range(len(surveys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    for i, s in enumerate(surveys):
        for rec in s["recordings"]:
            j = owner.setdefault(tuple(rec), i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(surveys)):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values()), context
