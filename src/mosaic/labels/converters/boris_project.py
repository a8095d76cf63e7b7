"""``boris_project``: the coded events of BORIS project files (``.boris``) → ``individual_pair_v1``.

Reads every observation of the project (see :func:`mosaic.labels.boris.read_boris_project`), then
converts exactly like ``boris_csv`` (same parameters and reports, see
:mod:`mosaic.labels.converters.boris_csv`) except that ``paths`` defaults to
``['annotations/boris_project']``, ``patterns`` to ``['*.boris']`` and ``delimiter``/``media_offsets``
do not apply (queued media and time offsets are taken from the project itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.params import Param, defaults

from ..boris import read_boris_project
from ..matching import SequenceMatcher
from ..registry import ConverterOutput
from .boris_bouts import convert_bouts
from .boris_csv import PARAMETERS as CSV_PARAMETERS
from .boris_csv import collect_files, resolve_params
from .boris_survey import join_surveys, survey_exports

PARAMETERS: dict[str, Param] = {k: v for k, v in CSV_PARAMETERS.items() if k not in ("delimiter", "media_offsets")}
PARAMETERS.update(
    paths=Param(
        ["annotations/boris_project"],
        "BORIS project files (`.boris`) or folders (relative to the dataset folder, or absolute).",
    ),
    patterns=Param(["*.boris"], "File patterns searched in folders."),
)
DEFAULTS: dict[str, Any] = defaults(PARAMETERS)


def convert(
    ds: DatasetCore, kind: str, params: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> ConverterOutput:
    """Convert the observations of the BORIS projects named by ``params`` into label sets (``context``: see
    :func:`mosaic.labels.converters.boris_csv.convert`)."""
    p = resolve_params(params, DEFAULTS, "boris_project")
    files = collect_files(ds, p["paths"], p["patterns"])
    projects = [read_boris_project(f) for f in files]
    out = convert_bouts(ds, kind, projects, {**p, "media_offsets": None}, context=context)
    out.sources = [str(f) for f in files]
    return out


def split(ds: DatasetCore, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One task per project file: ``params`` with ``paths`` naming that file (files listed, not read)."""
    p = resolve_params(params, DEFAULTS, "boris_project")
    return [{**dict(params), "paths": [str(f)]} for f in collect_files(ds, p["paths"], p["patterns"])]


def survey(ds: DatasetCore, kind: str, params: Mapping[str, Any]) -> dict[str, list]:
    """Behaviours, subjects and recordings of the projects named by ``params``."""
    p = resolve_params(params, DEFAULTS, "boris_project")
    projects = [read_boris_project(f) for f in collect_files(ds, p["paths"], p["patterns"])]
    return survey_exports(projects, p, SequenceMatcher(ds, p["sequence_map"], p["default_group"]))


def join(
    ds: DatasetCore, kind: str, params: Mapping[str, Any], surveys: list[Mapping[str, list]]
) -> tuple[list[list[int]], dict[str, Any]]:
    """Tasks (projects labelling a common recording together) and their shared context, from the surveys."""
    return join_surveys(ds, kind, resolve_params(params, DEFAULTS, "boris_project"), surveys)
