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
from ..registry import ConverterOutput
from .boris_csv import PARAMETERS as CSV_PARAMETERS
from .boris_csv import collect_files, convert_bouts, resolve_params

PARAMETERS: dict[str, Param] = {k: v for k, v in CSV_PARAMETERS.items() if k not in ("delimiter", "media_offsets")}
PARAMETERS.update(
    paths=Param(
        ["annotations/boris_project"],
        "BORIS project files (`.boris`) or folders (relative to the dataset folder, or absolute).",
    ),
    patterns=Param(["*.boris"], "File patterns searched in folders."),
)
DEFAULTS: dict[str, Any] = defaults(PARAMETERS)


def convert(ds: DatasetCore, kind: str, params: Mapping[str, Any]) -> ConverterOutput:
    """Convert the observations of the BORIS projects named by ``params`` into label sets."""
    p = resolve_params(params, DEFAULTS, "boris_project")
    files = collect_files(ds, p["paths"], p["patterns"])
    projects = [read_boris_project(f) for f in files]
    out = convert_bouts(ds, kind, projects, {**p, "media_offsets": None})
    out.sources = [str(f) for f in files]
    return out
