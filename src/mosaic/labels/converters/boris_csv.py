"""``boris_csv``: BORIS tabular / aggregated event exports → ``individual_pair_v1``.

Parameters (``params`` of :func:`mosaic.labels.convert_all_labels`): see :data:`PARAMETERS` (also
rendered in the documentation's format reference).

Frames: ``start = round(Start(s) * fps)``, ``stop = round(Stop(s) * fps)`` (exclusive); a POINT is
the one frame ``start``. Reported (not dropped silently): unmatched START/STOP, overlapping state
events of one subject, zero-length bouts, times before 0 or past the recording end (clipped),
pair events without a partner (stored as individual events), several observations for one
recording. Observations spanning several queued media files are placed file by file (see
:func:`mosaic.labels.converters.boris_queue.place_queued_media`) or refused when the files' starts
cannot be known. Bout tables become label sets in :mod:`mosaic.labels.converters.boris_bouts`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.core.params import Param, defaults
from mosaic.core.validate import check_physical

from ..boris import read_boris_export
from ..matching import SequenceMatcher
from ..registry import ConverterOutput
from .boris_bouts import convert_bouts
from .boris_queue import KnownMediaLengths, place_queued_media
from .boris_survey import join_surveys, survey_exports

log = logging.getLogger(__name__)

PARAMETERS: dict[str, Param] = {
    "paths": Param(
        ["annotations/boris_aggregated"], "Export files or folders (relative to the dataset folder, or absolute)."
    ),
    "patterns": Param(
        ["*.csv", "*.tsv", "*.txt", "*.xlsx"], "File patterns searched in folders (XLSX needs `openpyxl`)."
    ),
    "delimiter": Param(None, "Force a delimiter (`'\\t'`, `','`, `';'`); default: detected per file."),
    "fps": Param(None, "Frame rate where the export has no `FPS` (then the dataset's `meta.fps_default`)."),
    "fps_override": Param(None, "Frame rate for every row, whatever the export says."),
    "sequence_map": Param(
        None,
        "`{key: [group, sequence]}` (or `'group/sequence'`): key = observation id, media file "
        "(path, name or stem) or export file stem. Tried first; then the media index, the tracks "
        "index, a media file lying in `media_raw/<group>/<sequence>.<ext>`, then `default_group`.",
    ),
    "default_group": Param(
        None, "Group of observations nothing else maps; the sequence is the media file stem (or the observation id)."
    ),
    "subject_map": Param(
        None,
        "`{subject name: individual id}`; default: the trailing integer of the name (`fish3` -> 3). "
        "`No focal subject` (or empty) is scene-level (`[-1, -1]`).",
    ),
    "point_events": Param(True, "Keep POINT events (one frame each)."),
    "pair_behaviors": Param(
        [],
        "Behaviours stored as pairs (both directions, each directed event once); the partner is the "
        "first token of `Modifiers`, else of the start `Comment` (split on `|`, `,`, `;`), naming a subject.",
    ),
    "background": Param(
        None, "Label filling the frames where an individual has no event (needs the recording length)."
    ),
    "ids": Param(None, "Individuals filled with `background` besides those named in the export."),
    "n_frames": Param(
        None,
        "Recording length (or `{'group/sequence': n}`); default: the tracks' length (`tracks/index.csv`), "
        "else the media file's length x fps from the export.",
    ),
    "media_offsets": Param(
        None,
        "`{media file (path, name or stem): start seconds}` of queued media files within their "
        "observation. Usually not needed: the starts are derived from the export (queue and lengths "
        "of current BORIS), the indexed videos' durations (`index_media`) or the tracks; an observation "
        "whose starts cannot be known is refused with an error.",
    ),
    "behaviors": Param(
        None,
        "Fixed vocabulary (label id = position; unknown behaviours are an error). Default: the kind's "
        "existing vocabulary extended by new names, sorted; `background` gets id 0.",
    ),
}
DEFAULTS: dict[str, Any] = defaults(PARAMETERS)


def collect_files(ds: DatasetCore, paths, patterns) -> list[Path]:
    """Export files named by ``paths`` (files, or folders searched with ``patterns``), sorted."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        path = ds.resolve_path(p)
        if path.is_dir():
            for pat in patterns:
                files.extend(f for f in path.glob(pat) if f.is_file() and not f.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(
                "annotation path not found", path=path, expected="an existing file or folder", hint="params 'paths'"
            )
    files = sorted(set(files))
    if not files:
        raise ConfigError(
            "no annotation files found",
            path=", ".join(str(ds.resolve_path(p)) for p in paths),
            expected=f"files matching {list(patterns)}",
        )
    return files


def resolve_params(params: Mapping[str, Any], defaults: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``defaults`` updated by ``params``; unknown keys are a :class:`ConfigError` listing the known ones."""
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown {name} parameters", expected=sorted(defaults), found=unknown)
    check_physical(params, where=f"the {name} converter")  # fps > 0 and finite, ...
    return {**defaults, **dict(params)}


def _read(ds: DatasetCore, p: Mapping[str, Any], files: list[Path]) -> tuple[list, SequenceMatcher]:
    """Parsed exports of ``files`` with queued media placed, and the recording matcher."""
    exports = [read_boris_export(f, delimiter=p["delimiter"]) for f in files]
    matcher = SequenceMatcher(ds, p["sequence_map"], p["default_group"])
    lengths = KnownMediaLengths(matcher)
    for e in exports:
        e.bouts = place_queued_media(e.bouts, p["media_offsets"], lengths)
    return exports, matcher


def convert(
    ds: DatasetCore, kind: str, params: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> ConverterOutput:
    """Convert BORIS exports named by ``params`` (see module docstring) into label sets.

    ``context``: what the other exports of a conversion decide (see
    :func:`~mosaic.labels.converters.boris_bouts.join_surveys`); by default, these exports alone.
    """
    p = resolve_params(params, DEFAULTS, "boris_csv")
    files = collect_files(ds, p["paths"], p["patterns"])
    exports, matcher = _read(ds, p, files)
    out = convert_bouts(ds, kind, exports, p, matcher=matcher, context=context)
    out.sources = [str(f) for f in files]
    return out


def split(ds: DatasetCore, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One task per export file: ``params`` with ``paths`` naming that file (files listed, not read)."""
    p = resolve_params(params, DEFAULTS, "boris_csv")
    return [{**dict(params), "paths": [str(f)]} for f in collect_files(ds, p["paths"], p["patterns"])]


def survey(ds: DatasetCore, kind: str, params: Mapping[str, Any]) -> dict[str, list]:
    """Behaviours, subjects and recordings of the exports named by ``params`` (see :func:`join`)."""
    p = resolve_params(params, DEFAULTS, "boris_csv")
    exports, matcher = _read(ds, p, collect_files(ds, p["paths"], p["patterns"]))
    return survey_exports(exports, p, matcher)


def join(
    ds: DatasetCore, kind: str, params: Mapping[str, Any], surveys: list[Mapping[str, list]]
) -> tuple[list[list[int]], dict[str, Any]]:
    """Tasks (exports labelling a common recording together) and their shared context, from the surveys."""
    return join_surveys(ds, kind, resolve_params(params, DEFAULTS, "boris_csv"), surveys)
