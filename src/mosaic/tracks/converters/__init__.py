"""Converter registry: one module per source format, imported only when used.

A converter is a pure function ::

    convert(paths: list[Path], params: Mapping, *, group: str, sequence: str) -> list[TrackTable]

It reads the source files (several for formats with one file per individual, e.g. TRex)
and returns one :class:`~mosaic.tracks.table.TrackTable` per recording it found (several
for files holding many sequences, e.g. CalMS21). It never writes.

Built-in formats: ``trex_npz``, ``trex_csv``, ``calms21_npy``, ``calms21_json``,
``sleap_h5``, ``sleap_slp`` (SLEAP ``.slp`` labels/predictions), ``sleap_csv``
(SLEAP analysis CSV), ``dlc`` (CSV or H5; ``dlc_csv``/``dlc_h5`` are aliases), ``csv``
(generic table with a column mapping), ``idtracker_npy`` (idtracker.ai trajectories),
``movement_netcdf`` (a movement poses dataset saved as netCDF) and ``nwb_pose`` (ndx-pose
``PoseEstimation`` in an NWB file); the last two need the ``interop`` extra.
Add your own with :func:`register_converter`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from mosaic.core.errors import ConfigError

from ..naming import PER_INDIVIDUAL_FORMATS

__all__ = [
    "DEFAULT_PATTERNS",
    "MULTI_SEQUENCE_FORMATS",
    "PER_INDIVIDUAL_FORMATS",
    "REGISTRY",
    "ConverterRegistry",
    "converter_parameters",
    "default_registry",
    "get_converter",
    "list_converters",
    "register_converter",
]

ConverterFunc = Callable[..., list]

#: format name -> "module:function" (imported lazily)
_BUILTIN: dict[str, str] = {
    "trex_npz": "mosaic.tracks.converters.trex:convert_npz",
    "trex_csv": "mosaic.tracks.converters.trex:convert_csv",
    "calms21_npy": "mosaic.tracks.converters.calms21:convert_npy",
    "calms21_json": "mosaic.tracks.converters.calms21:convert_json",
    "sleap_h5": "mosaic.tracks.converters.sleap:convert_h5",
    "sleap_slp": "mosaic.tracks.converters.sleap_slp:convert_slp",
    "sleap_csv": "mosaic.tracks.converters.sleap_csv:convert_csv",
    "dlc": "mosaic.tracks.converters.dlc:convert",
    "dlc_csv": "mosaic.tracks.converters.dlc:convert",
    "dlc_h5": "mosaic.tracks.converters.dlc:convert",
    "csv": "mosaic.tracks.converters.generic_csv:convert",
    "idtracker_npy": "mosaic.tracks.converters.idtracker:convert",
    "movement_netcdf": "mosaic.interop.movement:convert",
    "nwb_pose": "mosaic.interop.nwb:convert",
}

#: formats whose files hold many sequences
MULTI_SEQUENCE_FORMATS = frozenset({"calms21_npy", "calms21_json"})
#: default glob patterns per format (used when index_tracks_raw gets no patterns)
DEFAULT_PATTERNS: dict[str, tuple[str, ...]] = {
    "trex_npz": ("*.npz",),
    "trex_csv": ("*.csv",),
    "calms21_npy": ("*.npy",),
    "calms21_json": ("*.json",),
    "sleap_h5": ("*.h5",),
    "sleap_slp": ("*.slp",),
    "sleap_csv": ("*.csv",),
    "dlc": ("*.h5", "*.csv"),
    "dlc_csv": ("*.csv",),
    "dlc_h5": ("*.h5",),
    "csv": ("*.csv",),
    "idtracker_npy": ("trajectories*.npy",),
    "movement_netcdf": ("*.nc",),
    "nwb_pose": ("*.nwb",),
}


class ConverterRegistry:
    """Maps format names to converter functions; entries may be lazy import strings."""

    def __init__(self, entries: Mapping[str, Any] | None = None) -> None:
        self._entries: dict[str, Any] = dict(entries or {})

    def names(self) -> list[str]:
        """Sorted registered format names."""
        return sorted(self._entries)

    def register(self, name: str, converter: str | ModuleType | ConverterFunc) -> None:
        """Register ``converter`` (callable, module with ``convert``, or ``'module:func'``) as ``name``."""
        if not isinstance(name, str) or not name:
            raise ConfigError("converter name must be a non-empty string", found=repr(name))
        if isinstance(converter, ModuleType):
            if not callable(getattr(converter, "convert", None)):
                raise ConfigError(
                    "converter module has no convert() function", expected="module.convert", found=converter.__name__
                )
            converter = converter.convert
        elif not (callable(converter) or isinstance(converter, str)):
            raise ConfigError(
                "converter must be a callable, a module or 'module:function'", found=type(converter).__name__
            )
        self._entries[name] = converter

    def get(self, name: str, *, path: str | Path | None = None) -> ConverterFunc:
        """The converter function for ``name`` (imported on first use)."""
        if name not in self._entries:
            raise ConfigError(
                "unknown src_format",
                path=path,
                expected=f"one of {self.names()}",
                found=repr(name),
                hint="register a converter with register_converter(name, func)",
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            mod_name, _, func = entry.partition(":")
            module = importlib.import_module(mod_name)
            entry = getattr(module, func or "convert")
            self._entries[name] = entry
        return entry


def default_registry() -> ConverterRegistry:
    """A new registry holding the built-in converters."""
    return ConverterRegistry(_BUILTIN)


#: the process-wide registry behind list_converters/register_converter
REGISTRY = default_registry()


def list_converters() -> list[str]:
    """Names of the registered source formats."""
    return REGISTRY.names()


def register_converter(name: str, module_or_callable: str | ModuleType | ConverterFunc) -> None:
    """Register a converter for source format ``name``.

    Parameters
    ----------
    name
        Format name as used in ``tracks_raw/index.csv`` (``src_format``).
    module_or_callable
        A function ``convert(paths, params, *, group, sequence) -> list[TrackTable]``, a module
        exposing such a ``convert``, or a lazy ``'package.module:function'`` string.
    """
    REGISTRY.register(name, module_or_callable)


def get_converter(name: str, *, path: str | Path | None = None) -> ConverterFunc:
    """The converter function registered for ``name`` (``ConfigError`` naming ``path`` if unknown)."""
    return REGISTRY.get(name, path=path)


def converter_parameters(name: str) -> dict[str, Any]:
    """The parameter specification (``{name: Param}``) of the converter registered as ``name``.

    Read from the ``PARAMETERS`` mapping of the converter's module (the one source the code and
    the documentation share); empty for a converter whose module declares none.
    """
    import sys

    func = get_converter(name)
    module = sys.modules.get(getattr(func, "__module__", "") or "")
    return dict(getattr(module, "PARAMETERS", None) or {})
