"""The dataset folder: manifest, named roots, path portability and the sequence catalog.

:class:`DatasetCore` is the manifest part of the public :class:`mosaic.Dataset`; it knows
nothing about tracks, labels or features beyond where their roots are and which
(group, sequence) pairs ``tracks/index.csv`` lists.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path, PurePath
from typing import Any, ClassVar

import pandas as pd
import yaml

from .atomic import atomic_write_text
from .errors import ConfigError, ManifestError, RootNotSetError
from .indexes import OWN_INDEXES, TRACKS_INDEX, index_header, index_lock, is_path_column, read_index, write_index
from .limits import MAX_MANIFEST_BYTES, check_file_size
from .paths import check_regular_file
from .safe_names import KEY_SEPARATOR

MANIFEST_NAMES = ("dataset.yaml", "dataset.yml", "dataset.json")
ROOT_KEYS = ("media_raw", "media", "tracks_raw", "tracks", "features", "labels", "models", "frames")
#: roots holding the user's original files; they may share a folder (videos beside tracking files)
RAW_ROOT_KEYS = ("media_raw", "tracks_raw")
DATASET_TYPES = ("discrete", "continuous")
MEDIA_ROOT_KEYS = ("media_raw", "media")
_ROOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def is_safe_root_name(key: Any) -> bool:
    """True for a root name a manifest may use: a letter, then letters, digits, ``_ . -`` (at most 64)."""
    return isinstance(key, str) and _ROOT_NAME.fullmatch(key) is not None and ".." not in key


def default_roots() -> dict[str, str]:
    """Default named roots, each a folder of the same name inside the dataset folder."""
    return {k: k for k in ROOT_KEYS}


def parse_duration(value: str | int | float | None) -> float | None:
    """Parse a duration such as ``'1h'``, ``'30min'``, ``'90s'`` or seconds into seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"duration must be positive, got {value}")
        return float(value)
    td = pd.Timedelta(str(value))
    if td.total_seconds() <= 0:
        raise ValueError(f"duration must be positive, got {value}")
    return td.total_seconds()


class _ManifestLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases: a manifest needs none, and an alias
    bomb (each alias doubling the document) would otherwise expand to gigabytes."""

    def compose_node(self, parent, index):
        """Compose one node, refusing anchors and aliases (PyYAML hook)."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a dataset manifest", event.start_mark
            )
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, "anchors (&name) are not allowed in a dataset manifest", event.start_mark
            )
        return super().compose_node(parent, index)


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


def _remap_with(path_map: dict[str, str], path: str | os.PathLike) -> Path:
    """Replace the longest matching prefix (by whole path components) of ``path``."""
    p = PurePath(path)
    best: tuple[int, str, str] | None = None
    for old, new in (path_map or {}).items():
        op = PurePath(old)
        n = len(op.parts)
        if p.parts[:n] == op.parts and (best is None or n > best[0]):
            best = (n, old, new)
    if best is None:
        return Path(p)
    n, _, new = best
    return Path(new).joinpath(*p.parts[n:])


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
        if not path.exists():
            raise ManifestError("manifest not found", path=path)
        check_regular_file(path, ManifestError)
        check_file_size(path, MAX_MANIFEST_BYTES, "manifest", ManifestError)
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_ManifestLoader)
        except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
            raise ManifestError("manifest is not valid YAML/JSON", path=path, found=str(exc).splitlines()[0]) from exc
        except OSError as exc:
            raise ManifestError(
                f"cannot read manifest: {exc.strerror or exc}",
                path=path,
                found=f"{errno.errorcode.get(exc.errno or 0, 'OSError')} ({exc.strerror or exc})",
            ) from exc
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ManifestError(
                "manifest must be a mapping", path=path, expected="mapping of fields", found=type(data).__name__
            )
        bad_keys = sorted(repr(k) for k in data if not isinstance(k, str))
        if bad_keys:
            raise ManifestError("manifest keys must be strings", path=path, expected="text keys", found=bad_keys)
        for name in ("meta", "path_map"):
            if not isinstance(data.get(name) or {}, dict):
                raise ManifestError(
                    f"{name!r} must be a mapping", path=path, expected="mapping", found=type(data[name]).__name__
                )
        roots = data.get("roots") or {}
        if not isinstance(roots, dict):
            raise ManifestError("'roots' must be a mapping of root name to path", path=path, found=type(roots).__name__)
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
        p = self.manifest_path
        bad_roots = sorted(str(k) for k in self.roots if not is_safe_root_name(k))
        if bad_roots:
            raise ManifestError(
                "manifest names roots that are not safe names",
                path=p,
                expected="root names of letters, digits, '_', '.', '-' starting with a letter "
                f"(standard roots {list(ROOT_KEYS)})",
                found=bad_roots,
            )
        if self.format not in ("yaml", "json"):
            raise ManifestError("unknown manifest format", path=p, expected="yaml or json", found=self.format)
        if self.dataset_type not in DATASET_TYPES:
            raise ManifestError("unknown dataset_type", path=p, expected=list(DATASET_TYPES), found=self.dataset_type)
        if not isinstance(self.meta, dict):
            raise ManifestError("'meta' must be a mapping", path=p, found=type(self.meta).__name__)
        self._check_roots_apart()
        if self.dataset_type == "continuous":
            if self.segment_duration is None:
                raise ManifestError(
                    "a continuous dataset needs segment_duration", path=p, expected="e.g. '1h'", found=None
                )
            try:
                parse_duration(self.segment_duration)
            except (ValueError, TypeError) as exc:
                raise ManifestError(
                    "segment_duration is not a duration",
                    path=p,
                    expected="e.g. '1h', '30min', 3600",
                    found=self.segment_duration,
                ) from exc
            if not isinstance(self.time_column, str) or not self.time_column:
                raise ManifestError(
                    "a continuous dataset needs time_column",
                    path=p,
                    expected="name of the clock column",
                    found=self.time_column,
                )
        elif self.segment_duration is not None:
            try:
                parse_duration(self.segment_duration)
            except (ValueError, TypeError) as exc:
                raise ManifestError("segment_duration is not a duration", path=p, found=self.segment_duration) from exc

    def _check_roots_apart(self) -> None:
        """Refuse roots that coincide or lie inside one another (raw roots may share a folder)."""
        places = {}
        for key, value in self.roots.items():
            if not value or not isinstance(value, str):
                continue
            p = Path(value)
            lexical = os.path.normpath(p if p.is_absolute() else self.folder / p)
            places[key] = (lexical, os.path.realpath(lexical))
        keys = [k for k in ROOT_KEYS if k in places]
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if a in RAW_ROOT_KEYS and b in RAW_ROOT_KEYS:
                    continue
                for pa, pb in zip(places[a], places[b], strict=True):
                    if (
                        pa == pb
                        or pa.startswith(pb.rstrip(os.sep) + os.sep)
                        or pb.startswith(pa.rstrip(os.sep) + os.sep)
                    ):
                        raise ManifestError(
                            f"roots {a!r} and {b!r} overlap",
                            path=self.manifest_path,
                            expected="each root its own folder, none inside another (only media_raw and tracks_raw may share one)",
                            found=f"{a}: {self.roots[a]!r}, {b}: {self.roots[b]!r}",
                            hint="give each root its own folder in the manifest's 'roots'",
                        )

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
        d = asdict(self)
        out = {k: d[k] for k in self._SERIALISED}
        out["roots"] = {
            k: v for k, v in out["roots"].items() if not (k in self._implicit_roots and self._implicit_roots[k] == v)
        }
        if self._file_keys is None:
            return out
        for k, v in self._absent.items():
            if out.get(k) == v:
                del out[k]
        if not out["roots"] and "roots" not in self._file_keys:
            del out["roots"]
        out.update({k: v for k, v in self._extra.items() if k not in out})
        first = [k for k in self._file_keys if k in out]
        return {k: out[k] for k in first + [k for k in out if k not in first]}

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
                new = _remap_with(path_map, value).as_posix()
                if new != value:
                    changed[key] = (value, new)
                    self.roots[key] = new
        return changed

    def remap_path(self, path: str | os.PathLike) -> Path:
        """Map an absolute path through the manifest's ``path_map`` (longest prefix wins)."""
        return _remap_with(self.path_map, path)

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
        seen: dict[Path, None] = {}
        for key, pattern, columns in OWN_INDEXES:
            if not self.has_root(key):
                continue
            root = self.get_root(key)
            if not root.is_dir():
                continue
            for p in sorted(root.glob(pattern)):
                header = index_header(p)
                if header is not None and set(columns) <= set(header):
                    seen.setdefault(p.resolve(), None)
        return list(seen)

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
        report: dict[str, int] = {}
        for idx in self.index_files():
            with index_lock(idx):  # read-modify-write: no row another writer adds meanwhile is lost
                df = read_index(idx)
                cols = [c for c in df.columns if is_path_column(c)]
                n_changed = 0
                for c in cols:
                    old = df[c].astype(str)
                    new = old.map(lambda v: transform(v) if v else v)
                    n_changed += int((old != new).sum())
                    df[c] = new
                report[str(idx)] = n_changed
                if n_changed and not dry_run:
                    write_index(idx, df)
        return report

    def rewrite_index_paths(self, path_map: dict[str, str], dry_run: bool = False) -> dict[str, int]:
        """Rewrite absolute paths in every index through ``path_map``.

        Returns ``{index_path: n_changed}``; with ``dry_run`` nothing is written.
        """

        def transform(v: str) -> str:
            p = PurePath(v)
            return _remap_with(path_map, p).as_posix() if p.is_absolute() else v

        return self._rewrite_indexes(transform, dry_run)

    def make_portable(self, dry_run: bool = False) -> dict[str, int]:
        """Store every index path relative to the dataset folder where it lies inside it.

        Absolute paths are first mapped through ``path_map``. Idempotent: a second call
        changes nothing. Returns ``{index_path: n_changed}``.
        """
        folder = self.folder.absolute()

        def transform(v: str) -> str:
            p = Path(v)
            if not p.is_absolute():
                return v
            if not p.exists():
                p = self.remap_path(p)
            try:
                return p.relative_to(folder).as_posix()
            except ValueError:
                return v

        return self._rewrite_indexes(transform, dry_run)

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
        index = self.tracks_index()
        df = (
            index.drop_duplicates(["group", "sequence"], keep="last")
            .sort_values(["group", "sequence"])
            .reset_index(drop=True)
        )
        keys = df["group"].astype(str) + separator + df["sequence"].astype(str)
        parts = keys.str.split(separator, regex=False)
        lengths = parts.map(len)
        if level_names is not None:
            n = len(level_names)
            bad = keys[lengths != n]
            if len(bad):
                raise ConfigError(
                    "sequence keys do not have the expected number of levels",
                    path=self.get_root("tracks") / "index.csv",
                    expected=f"{n} levels {list(level_names)} separated by {separator!r}",
                    found=f"{bad.iloc[0]!r} has {len(bad.iloc[0].split(separator))} levels ({len(bad)} key(s) differ)",
                )
        n = len(level_names) if level_names is not None else (int(lengths.max()) if len(lengths) else 0)
        names = list(level_names) if level_names is not None else [f"level_{i}" for i in range(n)]
        levels = (
            pd.DataFrame([p + [None] * (n - len(p)) for p in parts.tolist()], columns=names, dtype=object)
            if len(df)
            else pd.DataFrame(columns=names)
        )
        return pd.concat([df.drop(columns=[c for c in names if c in df.columns]), levels], axis=1)

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
        df = self.tracks_index()[["group", "sequence"]].drop_duplicates()
        mask = pd.Series(True, index=df.index)
        for col, how, value in (
            ("group", "contains", group_contains),
            ("group", "startswith", group_startswith),
            ("group", "endswith", group_endswith),
            ("sequence", "contains", sequence_contains),
            ("sequence", "startswith", sequence_startswith),
            ("sequence", "endswith", sequence_endswith),
        ):
            if value is None:
                continue
            s = df[col].astype(str)
            if how == "contains":
                mask &= s.str.contains(value, regex=False)
            else:
                mask &= getattr(s.str, how)(value)
        return sorted(zip(df.loc[mask, "group"], df.loc[mask, "sequence"]))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, folder={str(self.folder)!r}, type={self.dataset_type!r})"


def dataset_fields() -> list[str]:
    """Constructor fields of :class:`DatasetCore` (for facades and docs)."""
    return [f.name for f in fields(DatasetCore) if f.init]
