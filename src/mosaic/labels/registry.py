"""Registry of label converters, one module per source format, imported lazily.

Built-in converters accept any label kind (``'*'``). A converter is a function ``convert(ds, kind, params) -> ConverterOutput`` returning the label
sets of every recording it found plus the problems it met; writing and index bookkeeping are
done once, by :func:`mosaic.labels.convert.convert_all_labels`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from mosaic.core.errors import ConfigError
from mosaic.core.params import Param

from .io import LabelSet

ANY_KIND = "*"
_REGISTRY: dict[tuple[str, str], str] = {
    ("boris_csv", ANY_KIND): "mosaic.labels.converters.boris_csv:convert",
    ("boris_project", ANY_KIND): "mosaic.labels.converters.boris_project:convert",
    ("calms21_npy", ANY_KIND): "mosaic.labels.converters.calms21:convert",
    ("calms21_json", ANY_KIND): "mosaic.labels.converters.calms21:convert",
}


#: parameters every label conversion accepts besides its converter's own
COMMON_PARAMETERS: dict[str, Param] = {
    "on_issue": Param(
        "warn",
        "`'warn'`: problems are logged and listed in `labels/<kind>/conversion_report.json`; "
        "`'error'`: raise and write nothing.",
    ),
}


@dataclass
class ConverterOutput:
    """What a converter returns: label sets (not yet written) and report entries."""

    label_sets: list[LabelSet] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    #: every annotation file the converter read (their fingerprints make outputs current or stale);
    #: a label set naming its own files in ``extra['source_files']`` is tied to those only
    sources: list[str] = field(default_factory=list)


def list_label_converters() -> list[tuple[str, str]]:
    """Registered ``(source_format, kind)`` pairs, sorted."""
    return sorted(_REGISTRY)


def register_label_converter(source_format: str, kind: str, target: str | Callable) -> None:
    """Register a converter: ``target`` is a function or ``'module.path:function'`` (imported on use).

    ``kind='*'`` registers it for every label kind (an exact ``(source_format, kind)`` entry wins).
    """
    _REGISTRY[(str(source_format), str(kind))] = target  # type: ignore[assignment]


def converter_target(source_format: str, kind: str) -> str | Callable:
    """The registered converter of ``(source_format, kind)`` as registered: a function or ``'module:function'``.

    A worker process imports a ``'module:function'`` target itself (what a label task carries).

    Raises
    ------
    ConfigError
        Unknown pair; the message lists the registered ones.
    """
    target = _REGISTRY.get((source_format, kind)) or _REGISTRY.get((source_format, ANY_KIND))
    if target is None:
        raise ConfigError(
            "no label converter for this (source_format, kind)",
            expected=[f"{f}/{k}" for f, k in list_label_converters()],
            found=f"{source_format}/{kind}",
            hint="register one with register_label_converter or use convert_labels_custom",
        )
    return target


def resolve_converter(target: str | Callable) -> Callable:
    """The function of a converter target (``'module:function'`` imported now)."""
    if callable(target):
        return target
    module, _, func = target.partition(":")
    return getattr(import_module(module), func)


def get_label_converter(source_format: str, kind: str) -> Callable:
    """The converter function for ``(source_format, kind)`` (imported now; see :func:`converter_target`)."""
    return resolve_converter(converter_target(source_format, kind))


def label_converter_parameters(source_format: str, kind: str = ANY_KIND) -> dict[str, Param]:
    """The parameter specification of a label converter: its module's ``PARAMETERS`` plus :data:`COMMON_PARAMETERS`."""
    import sys

    func = get_label_converter(source_format, kind)
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    return {**dict(getattr(module, "PARAMETERS", None) or {}), **COMMON_PARAMETERS}
