"""The dataset folder: manifest, named roots, path portability and the sequence catalog.

:class:`DatasetCore` is the manifest part of the public :class:`mosaic.Dataset`; it knows
nothing about tracks, labels or features beyond where their roots are and which
(group, sequence) pairs ``tracks/index.csv`` lists. The work lives in sibling modules —
:mod:`~mosaic.core.manifest` (reading and checking the manifest), :mod:`~mosaic.core.roots`
(root placement), :mod:`~mosaic.core.remap` (path portability) and
:mod:`~mosaic.core.sequences` (the sequence catalog) — and the methods here delegate to them.

The module stays above 400 lines because :class:`DatasetCore` is the public surface of a
dataset folder: some thirty methods, each with its documentation, whose bodies are a few
lines of delegation; splitting the class itself would scatter one object's API.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import yaml

from .atomic import atomic_write_text
from .errors import ConfigError, ManifestError, RootNotSetError
from .indexes import OWN_INDEXES, TRACKS_INDEX, read_index
from .manifest import (
    DATASET_TYPES,
    MANIFEST_NAMES,
    MEDIA_ROOT_KEYS,
    RAW_ROOT_KEYS,
    ROOT_KEYS,
    default_roots,
    is_safe_root_name,
    manifest_dict,
    parse_duration,
    read_manifest,
    validate_manifest,
)
from .remap import own_index_files, portable, remap_with, remapping, rewrite_index_paths
from .safe_names import KEY_SEPARATOR
from .sequences import query_pairs, sequence_metadata

__all__ = [
    "DATASET_TYPES",
    "MANIFEST_NAMES",
    "MEDIA_ROOT_KEYS",
    "RAW_ROOT_KEYS",
    "ROOT_KEYS",
    "DatasetCore",
    "dataset_fields",
    "default_roots",
    "is_safe_root_name",
    "parse_duration",
]


class _instance_only:
    """An instance method that, called on the class, says which class method to use instead."""

    def __init__(self, fn, instead: str):
        self.fn, self.instead, self.name = fn, instead, fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, cls):
        if obj is None:

            def refuse(*args, **kwargs):
                raise TypeError(
                    f"{cls.__name__}.{self.name}() re-reads an open dataset's manifest "
                    f"(ds.load()); to open a folder use {cls.__name__}.{self.instead}(path)"
                )

            return refuse
        return self.fn.__get__(obj, cls)


@dataclass
class DatasetCore:
    """A dataset folder described by a manifest (``dataset.yaml`` by default).

    Parameters
    ----------
    manifest_path
        Path of the manifest file; the dataset folder is its parent.
    name, version
        Free-form identification of the dataset.
    format
        ``'yaml'`` (default) or ``'json'``: how :meth:`save` writes the manifest.
    roots
        Named roots (see :data:`ROOT_KEYS`), relative to the dataset folder or absolute.
    meta
        Dataset-level facts, e.g. ``fps_default``, ``cm_per_pixel``.
    dataset_type
        ``'discrete'`` (independent recordings) or ``'continuous'`` (the sequences of a group
        are consecutive segments of one recording, each ``segment_duration`` long).
    segment_duration
        Length of one segment of a continuous dataset, e.g. ``'1h'``.
    time_column
        Name of the clock column of a continuous dataset.
    path_map
        ``{old_prefix: new_prefix}`` used to read absolute paths written on another machine.

    Roots beyond :data:`ROOT_KEYS` (``annotations``, ``exports``, ...) and top-level manifest
    keys mosaic does not use are kept and written back unchanged by :meth:`save`; a manifest
    that lacks a standard root gets the default folder for it, without writing it back.
    """

    manifest_path: Path
    name: str = "unnamed"
    version: str = "0.1"
    format: str = "yaml"
    roots: dict[str, str] = field(default_factory=default_roots)
    meta: dict[str, Any] = field(default_factory=dict)
    dataset_type: str = "discrete"
    segment_duration: str | None = None
    time_column: str | None = None
    path_map: dict[str, str] = field(default_factory=dict)
    _extra: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _implicit_roots: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _file_keys: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _absent: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    _SERIALISED: ClassVar[tuple[str, ...]] = (
        "name",
        "version",
        "format",
        "roots",
        "meta",
        "dataset_type",
        "segment_duration",
        "time_column",
        "path_map",
    )

    def __post_init__(self) -> None:
        self.manifest_path = Path(self.manifest_path)
        if self.manifest_path.is_dir() or self.manifest_path.suffix == "":
            self.manifest_path = self.manifest_path / ("dataset.json" if self.format == "json" else "dataset.yaml")
        self.manifest_path = self.manifest_path.absolute()
        self.roots = dict(self.roots or {})
        self.meta = dict(self.meta or {})
        self.path_map = dict(self.path_map or {})

    # ------------------------------------------------------------------ manifest
    @property
    def folder(self) -> Path:
        """The dataset folder (the manifest's parent)."""
        return self.manifest_path.parent

    @classmethod
    def create(cls, folder: str | os.PathLike, name: str = "unnamed", **kwargs: Any):
        """Create a dataset folder with a manifest and the default roots, and return it.

        An existing manifest is never overwritten: it is opened instead.
        """
        folder = Path(folder)
        fmt = kwargs.get("format", "yaml")
        manifest = folder / ("dataset.json" if fmt == "json" else "dataset.yaml")
        if manifest.exists():
            return cls.open(manifest)
        ds = cls(manifest_path=manifest, name=name, **kwargs)
        ds.validate()
        folder.mkdir(parents=True, exist_ok=True)
        ds.ensure_roots()
        ds.save()
        return ds

    @classmethod
    def open(cls, path: str | os.PathLike):
        """Open a dataset from its folder or its manifest file."""
        path = Path(path)
        if path.is_dir():
            for name in MANIFEST_NAMES:
                if (path / name).exists():
                    path = path / name
                    break
            else:
                raise ManifestError(
                    "no dataset manifest in folder",
                    path=path,
                    expected=" or ".join(MANIFEST_NAMES),
                    hint="create one with Dataset.create(folder, name=...)",
                )
        fmt = "json" if path.suffix.lower() == ".json" else "yaml"
        return cls(manifest_path=path, format=fmt)._load_manifest()

    def _load_manifest(self):
        """Re-read the manifest file into this object (validated) and return ``self``.

        ``ds.load()`` only: a folder is opened with :meth:`open`.
        """
        path = self.manifest_path
        data = read_manifest(path)
        roots = data.get("roots") or {}
        declared = {str(k): ("" if v is None else str(v)) for k, v in roots.items()}
        implicit = {k: v for k, v in default_roots().items() if k not in declared}
        for f in self._SERIALISED:
            if f in data and f != "roots":
                setattr(self, f, data[f])
        self.roots = {**declared, **implicit}
        self._implicit_roots = implicit
        self._extra = {k: v for k, v in data.items() if k not in self._SERIALISED}
        self.meta = dict(self.meta or {})
        self.path_map = {str(k): str(v) for k, v in (self.path_map or {}).items()}
        self.format = "json" if path.suffix.lower() == ".json" else "yaml"
        self._file_keys = [str(k) for k in data]
        self._absent = {f: copy.deepcopy(getattr(self, f)) for f in self._SERIALISED if f not in data and f != "roots"}
        self.validate()
        return self

    load = _instance_only(_load_manifest, instead="open")

    def validate(self) -> None:
        """Check field types and the continuous-dataset fields; raise :class:`ManifestError`."""
        validate_manifest(self)

    @property
    def segment_seconds(self) -> float | None:
        """``segment_duration`` in seconds (None when unset)."""
        return parse_duration(self.segment_duration)

    def to_dict(self) -> dict[str, Any]:
        """The manifest content as written to disk.

        For a manifest that was read from a file, keys keep the file's order, extra keys and
        roots are kept as they were, and mosaic's own fields the file did not set are written
        only once they change.
        """
        return manifest_dict(self)

    def save(self) -> Path:
        """Write the manifest atomically (YAML, or JSON when ``format='json'``)."""
        self.validate()
        data = self.to_dict()
        if self.format == "json":
            text = json.dumps(data, indent=2, sort_keys=False) + "\n"
        else:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        self.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.manifest_path, text)
        return self.manifest_path

    # ------------------------------------------------------------------ roots
    def has_root(self, key: str) -> bool:
        """True when the manifest defines root ``key``."""
        return bool(self.roots.get(key))

    def get_root(self, key: str) -> Path:
        """Absolute path of root ``key``.

        Raises
        ------
        RootNotSetError
            The manifest does not define ``key`` (the message lists the known roots).
        """
        value = self.roots.get(key)
        if not value:
            raise RootNotSetError(
                f"root {key!r} is not set",
                path=self.manifest_path,
                expected=f"one of {sorted(k for k, v in self.roots.items() if v)}",
                found=key,
                hint=f"ds.set_root({key!r}, path)",
            )
        p = Path(value)
        if p.is_absolute():
            return p if p.exists() else self.remap_path(p)
        return (self.folder / p).absolute()

    def set_root(self, key: str, path: str | os.PathLike) -> Path:
        """Set root ``key`` to ``path`` (relative to the dataset folder, or absolute) and create it.

        ``key`` is a standard root (:data:`ROOT_KEYS`) or any other safe name (``annotations``,
        ``exports``, ...: a letter, then letters, digits, ``_ . -``).
        """
        if not is_safe_root_name(key):
            raise ConfigError(
                f"invalid root name {key!r}",
                path=self.manifest_path,
                expected=f"a letter, then letters, digits, '_', '.', '-' (standard roots {list(ROOT_KEYS)})",
                found=key,
            )
        self._implicit_roots.pop(key, None)
        p = Path(path)
        if p.is_absolute():
            try:
                p = p.relative_to(self.folder)
            except ValueError:
                pass
        self.roots[key] = p.as_posix()
        root = self.get_root(key)
        root.mkdir(parents=True, exist_ok=True)
        return root

    def ensure_roots(self) -> dict[str, Path]:
        """Create every root folder that does not exist yet; return ``{key: path}``."""
        out = {}
        for key in self.roots:
            if self.roots[key]:
                root = self.get_root(key)
                root.mkdir(parents=True, exist_ok=True)
                out[key] = root
        return out

    def resolve_media_root(self) -> str:
        """The key of the root holding original videos: ``'media_raw'`` or ``'media'``.

        ``'media_raw'`` when the manifest sets it, else ``'media'`` (older manifests without
        ``media_raw`` kept their videos there). ``get_root(ds.resolve_media_root())``
        is the folder.

        Raises
        ------
        RootNotSetError
            Neither root is set.
        """
        if self.has_root("media_raw") and self._implicit_roots.get("media_raw") != self.roots["media_raw"]:
            return "media_raw"
        if self.has_root("media"):
            return "media"
        raise RootNotSetError(
            "no media root is set",
            path=self.manifest_path,
            expected=list(MEDIA_ROOT_KEYS),
            found=sorted(k for k, v in self.roots.items() if v),
            hint="ds.set_root('media_raw', videos_folder)",
        )

    # ------------------------------------------------------------------ portability
    def remap_roots(self, path_map: dict[str, str]) -> dict[str, tuple[str, str]]:
        """Rewrite absolute roots through ``path_map`` (longest prefix wins).

        The map is also remembered in ``self.path_map``. Returns ``{root: (old, new)}`` of
        the roots that changed; call :meth:`save` to persist.
        """
        self.path_map.update({str(k): str(v) for k, v in path_map.items()})
        changed = {}
        for key, value in list(self.roots.items()):
            if value and Path(value).is_absolute():
                new = remap_with(path_map, value).as_posix()
                if new != value:
                    changed[key] = (value, new)
                    self.roots[key] = new
        return changed

    def remap_path(self, path: str | os.PathLike) -> Path:
        """Map an absolute path through the manifest's ``path_map`` (longest prefix wins)."""
        return remap_with(self.path_map, path)

    def resolve_path(self, path: str | os.PathLike, anchor: str | os.PathLike | None = None) -> Path:
        """Turn a stored path into a usable absolute path.

        Relative paths are joined to ``anchor`` (default: the dataset folder); absolute
        paths that exist are returned as they are; absolute paths that do not exist are
        mapped through :meth:`remap_path`.
        """
        p = Path(path)
        if not p.is_absolute():
            return (Path(anchor) if anchor is not None else self.folder).joinpath(p).absolute()
        if p.exists():
            return p
        return self.remap_path(p)

    def relative_path(self, path: str | os.PathLike) -> str:
        """Express ``path`` relative to the dataset folder when inside it (POSIX style), else absolute."""
        p = Path(path).absolute()
        try:
            return p.relative_to(self.folder.absolute()).as_posix()
        except ValueError:
            return p.as_posix()

    def index_files(self) -> list[Path]:
        """This dataset's own ``index.csv`` files (each found once).

        Only files at the places the dataset writes its indexes (``tracks/index.csv``,
        ``features/<name>/index.csv``, ...) whose header holds that index's declared columns:
        an ``index.csv`` of another project in a shared folder a root points at is not one.
        """
        keys = dict.fromkeys(key for key, _, _ in OWN_INDEXES)
        return own_index_files((key, self.get_root(key)) for key in keys if self.has_root(key))

    def clean_temp_files(self, dry_run: bool = False) -> list[Path]:
        """Remove temporary files that killed writes left under the dataset's roots.

        Only files no live writer holds (its lock is free; see
        :func:`mosaic.core.atomic.sweep_temp_files`) are removed; returns them.
        """
        from .atomic import sweep_temp_files

        removed: list[Path] = []
        seen: set[Path] = set()
        for key in ROOT_KEYS:  # roots beyond the standard ones hold the user's files, not mosaic's
            if self.has_root(key):
                root = self.get_root(key).resolve()
                if root.exists() and root not in seen:
                    seen.add(root)
                    removed += sweep_temp_files(root, dry_run=dry_run)
        return removed

    def _rewrite_indexes(self, transform, dry_run: bool) -> dict[str, int]:
        return rewrite_index_paths(self.index_files(), transform, dry_run)

    def rewrite_index_paths(self, path_map: dict[str, str], dry_run: bool = False) -> dict[str, int]:
        """Rewrite absolute paths in every index through ``path_map``.

        Returns ``{index_path: n_changed}``; with ``dry_run`` nothing is written.
        """
        return self._rewrite_indexes(remapping(path_map), dry_run)

    def make_portable(self, dry_run: bool = False) -> dict[str, int]:
        """Store every index path relative to the dataset folder where it lies inside it.

        Absolute paths are first mapped through ``path_map``. Idempotent: a second call
        changes nothing. Returns ``{index_path: n_changed}``.
        """
        return self._rewrite_indexes(portable(self.folder.absolute(), self.remap_path), dry_run)

    # ------------------------------------------------------------------ sequence catalog
    def tracks_index(self) -> pd.DataFrame:
        """``tracks/index.csv`` as a table (named error when missing or malformed)."""
        return read_index(self.get_root("tracks") / "index.csv", TRACKS_INDEX)

    def list_groups(self) -> list[str]:
        """Sorted groups of the converted tracks."""
        return sorted(self.tracks_index()["group"].unique().tolist())

    def list_sequences(self, group: str | None = None) -> list[str]:
        """Sorted sequences (of one group, or of all groups)."""
        df = self.tracks_index()
        if group is not None:
            df = df[df["group"] == group]
        return sorted(df["sequence"].unique().tolist())

    def list_pairs(self) -> list[tuple[str, str]]:
        """Sorted (group, sequence) pairs of the converted tracks."""
        df = self.tracks_index()
        return sorted(zip(df["group"], df["sequence"]))

    def get_sequence_metadata(
        self, level_names: list[str] | None = None, separator: str = KEY_SEPARATOR
    ) -> pd.DataFrame:
        """The tracks index, one row per recording, plus one column per level of its name.

        Each ``group<sep>sequence`` key is split at ``separator`` into levels.

        Parameters
        ----------
        level_names
            Names of the levels; their number must equal the number of parts in every key.
            Default: ``level_0 .. level_{n-1}`` with ``n`` the deepest key; shallower keys have
            None in the levels they lack.
        separator
            Separator between levels, ``'__'`` by default.

        Returns
        -------
        DataFrame
            The columns of ``tracks/index.csv`` (``group``, ``sequence``, ``group_safe``,
            ``sequence_safe``, ``abs_path``, ``n_rows``, ``n_frames``, ...), sorted by
            (group, sequence), then the level columns (a level named like an index column
            replaces it).

        Raises
        ------
        ConfigError
            When ``level_names`` is given and a key has a different number of levels.
        """
        index_path = self.get_root("tracks") / "index.csv"
        return sequence_metadata(self.tracks_index(), index_path, level_names, separator)

    def query_sequences(
        self,
        group_contains: str | None = None,
        group_startswith: str | None = None,
        group_endswith: str | None = None,
        sequence_contains: str | None = None,
        sequence_startswith: str | None = None,
        sequence_endswith: str | None = None,
    ) -> list[tuple[str, str]]:
        """(group, sequence) pairs matching every given substring/prefix/suffix filter."""
        filters = [
            ("group", "contains", group_contains),
            ("group", "startswith", group_startswith),
            ("group", "endswith", group_endswith),
            ("sequence", "contains", sequence_contains),
            ("sequence", "startswith", sequence_startswith),
            ("sequence", "endswith", sequence_endswith),
        ]
        return query_pairs(self.tracks_index(), filters)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, folder={str(self.folder)!r}, type={self.dataset_type!r})"


def dataset_fields() -> list[str]:
    """Constructor fields of :class:`DatasetCore` (for facades and docs)."""
    return [f.name for f in fields(DatasetCore) if f.init]
