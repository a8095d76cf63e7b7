"""The manifest file: its names, standard roots, reading and field validation.

:func:`read_manifest` turns a manifest file into a checked mapping;
:func:`validate_manifest` checks the fields of an opened dataset; :func:`manifest_dict`
is the content :meth:`mosaic.core.dataset.DatasetCore.save` writes back.
"""

from __future__ import annotations

import errno
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from .errors import ManifestError
from .limits import MAX_MANIFEST_BYTES, check_file_size
from .paths import check_regular_file
from .roots import check_roots_apart

if TYPE_CHECKING:
    from .dataset import DatasetCore

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


def _parse_manifest_text(path: Path) -> Any:
    """The parsed content of the manifest file at ``path`` (a regular file of bounded size)."""
    check_regular_file(path, ManifestError)
    check_file_size(path, MAX_MANIFEST_BYTES, "manifest", ManifestError)
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_ManifestLoader)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise ManifestError("manifest is not valid YAML/JSON", path=path, found=str(exc).splitlines()[0]) from exc
    except OSError as exc:
        raise ManifestError(
            f"cannot read manifest: {exc.strerror or exc}",
            path=path,
            found=f"{errno.errorcode.get(exc.errno or 0, 'OSError')} ({exc.strerror or exc})",
        ) from exc


def read_manifest(path: Path) -> dict[str, Any]:
    """Read the manifest file at ``path`` into a mapping with text keys.

    ``meta``, ``path_map`` and ``roots`` are checked to be mappings (or absent); field values
    are checked later by :func:`validate_manifest`.

    Raises
    ------
    ManifestError
        The file is missing, unreadable, not YAML/JSON, or not a mapping of that shape.
    """
    if not path.exists():
        raise ManifestError("manifest not found", path=path)
    data = _parse_manifest_text(path)
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
    return data


def _check_segment_fields(ds: DatasetCore) -> None:
    """Check ``segment_duration`` and ``time_column`` for the dataset's type."""
    p = ds.manifest_path
    if ds.dataset_type == "continuous":
        if ds.segment_duration is None:
            raise ManifestError("a continuous dataset needs segment_duration", path=p, expected="e.g. '1h'", found=None)
        try:
            parse_duration(ds.segment_duration)
        except (ValueError, TypeError) as exc:
            raise ManifestError(
                "segment_duration is not a duration",
                path=p,
                expected="e.g. '1h', '30min', 3600",
                found=ds.segment_duration,
            ) from exc
        if not isinstance(ds.time_column, str) or not ds.time_column:
            raise ManifestError(
                "a continuous dataset needs time_column",
                path=p,
                expected="name of the clock column",
                found=ds.time_column,
            )
    elif ds.segment_duration is not None:
        try:
            parse_duration(ds.segment_duration)
        except (ValueError, TypeError) as exc:
            raise ManifestError("segment_duration is not a duration", path=p, found=ds.segment_duration) from exc


def validate_manifest(ds: DatasetCore) -> None:
    """Check the fields of ``ds``: root names and places, format, type, ``meta``, segments.

    Raises
    ------
    ManifestError
        The first field found wrong, naming the manifest, what was expected and what was found.
    """
    p = ds.manifest_path
    bad_roots = sorted(str(k) for k in ds.roots if not is_safe_root_name(k))
    if bad_roots:
        raise ManifestError(
            "manifest names roots that are not safe names",
            path=p,
            expected="root names of letters, digits, '_', '.', '-' starting with a letter "
            f"(standard roots {list(ROOT_KEYS)})",
            found=bad_roots,
        )
    if ds.format not in ("yaml", "json"):
        raise ManifestError("unknown manifest format", path=p, expected="yaml or json", found=ds.format)
    if ds.dataset_type not in DATASET_TYPES:
        raise ManifestError("unknown dataset_type", path=p, expected=list(DATASET_TYPES), found=ds.dataset_type)
    if not isinstance(ds.meta, dict):
        raise ManifestError("'meta' must be a mapping", path=p, found=type(ds.meta).__name__)
    check_roots_apart(ds.folder, ds.roots, ds.manifest_path, ROOT_KEYS, RAW_ROOT_KEYS)
    _check_segment_fields(ds)


def manifest_dict(ds: DatasetCore) -> dict[str, Any]:
    """The manifest content of ``ds`` as written to disk (see :meth:`DatasetCore.to_dict`)."""
    d = asdict(ds)
    out = {k: d[k] for k in ds._SERIALISED}
    out["roots"] = {
        k: v for k, v in out["roots"].items() if not (k in ds._implicit_roots and ds._implicit_roots[k] == v)
    }
    if ds._file_keys is None:
        return out
    for k, v in ds._absent.items():
        if out.get(k) == v:
            del out[k]
    if not out["roots"] and "roots" not in ds._file_keys:
        del out["roots"]
    out.update({k: v for k, v in ds._extra.items() if k not in out})
    first = [k for k in ds._file_keys if k in out]
    return {k: out[k] for k in first + [k for k in out if k not in first]}
