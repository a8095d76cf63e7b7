"""A dataset's own description of its raw sources: ``<dataset folder>/sources.yml``.

The file travels with the data, so a project runs on several datasets without editing its
configuration. Every block is optional::

    tracks:                         # raw tracking sources, one index_tracks_raw call each
      - search_dirs: [tracks_raw/sleap]
        src_format: sleap_h5
        patterns: ["*.h5"]
        params: {fps: 15, likelihood_threshold: 0.6}   # converter params for this source's files
    recordings:                     # converter params of single recordings ("group/sequence")
      arena1/session3: {fps: 12.5, cm_per_pixel: 0.05}
    labels:                         # annotation conversion
      source_format: boris_csv
      params: {paths: [annotations/boris], sequence_map: {obs1: [arena1, session3]}}

Who reads it: the tracks conversion (per-source and per-recording converter params, in both
doors), the label conversion (``labels.params`` under the caller's params), and the Kedro
``ingest`` parameters (``tracks`` becomes ``ingest.sources`` unless the project's parameters
set them). Values found in a raw file (TRex/SLEAP frame rate, ...) still win over all of these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

SOURCES_FILE = "sources.yml"
TOP_KEYS = ("tracks", "recordings", "labels")
#: ``index_tracks_raw`` arguments an ingest source may set
SCAN_KEYS = (
    "search_dirs",
    "patterns",
    "src_format",
    "recursive",
    "multi_sequences_per_file",
    "group_from",
    "group_pattern",
    "exclude_patterns",
    "compute_md5",
    "individual_prefixes",
)
#: keys of one ``tracks`` entry: ``index_tracks_raw`` arguments, ``optional`` and ``params``
TRACK_SOURCE_KEYS = (*SCAN_KEYS, "optional", "params")
LABEL_KEYS = ("source_format", "params")
MAX_BYTES = 1_000_000


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases (no alias expansion bombs in a data folder's file)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def sources_path(folder: str | os.PathLike) -> Path:
    """``<folder>/sources.yml``."""
    return Path(folder) / SOURCES_FILE


def read_sources(folder: str | os.PathLike) -> dict[str, Any]:
    """The validated source description of the dataset at ``folder`` (``{}`` when it has none).

    Raises
    ------
    ConfigError
        The file is not a regular file, too large, not YAML, or has unknown or ill-typed keys;
        the message names the file and the key.
    """
    path = sources_path(folder)
    if not path.exists():
        return {}
    if not path.is_file():
        raise ConfigError("the source description is not a regular file", path=path, expected="a YAML file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ConfigError(
            "the source description is too large", path=path, expected=f"at most {MAX_BYTES} bytes", found=size
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoAliasLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "the source description is not valid YAML", path=path, found=str(exc).splitlines()[0]
        ) from exc
    if data is None:
        return {}
    return validate_sources(data, path)


def _check_keys(value: Mapping, what: str, path: str | os.PathLike | None, allowed: Sequence[str]) -> None:
    """Refuse keys of ``value`` outside ``allowed`` (``what`` names it in the message)."""
    bad = sorted(set(map(str, value)) - set(allowed))
    if bad:
        raise ConfigError(f"unknown keys in {what}", path=path, expected=list(allowed), found=bad)


def _check_mapping(value: Any, what: str, path: str | os.PathLike | None, allowed: Sequence[str] | None = None) -> None:
    """Refuse a ``value`` that is not a mapping, or (with ``allowed``) has keys outside ``allowed``."""
    if not isinstance(value, Mapping):
        expected = None if allowed is None else list(allowed)
        raise ConfigError(f"{what} must be a mapping", path=path, expected=expected, found=type(value).__name__)
    if allowed is not None:
        _check_keys(value, what, path, allowed)


def validate_sources(data: Any, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Check the structure of a source description; return it as plain dicts and lists."""
    _check_mapping(data, "the source description", path, TOP_KEYS)
    out: dict[str, Any] = {}
    tracks = data.get("tracks")
    if tracks is not None:
        if not isinstance(tracks, list) or not all(isinstance(t, Mapping) for t in tracks):
            raise ConfigError(
                "'tracks' must be a list of sources",
                path=path,
                expected="[{search_dirs, src_format, ...}]",
                found=type(tracks).__name__,
            )
        for i, t in enumerate(tracks):
            _check_keys(t, f"tracks source {i}", path, TRACK_SOURCE_KEYS)
            if "search_dirs" not in t or "src_format" not in t:
                raise ConfigError(
                    f"tracks source {i} needs search_dirs and src_format",
                    path=path,
                    expected=["search_dirs", "src_format"],
                    found=sorted(map(str, t)),
                )
            _check_mapping(t.get("params") or {}, f"'params' of tracks source {i}", path)
        out["tracks"] = [dict(t) for t in tracks]
    recs = data.get("recordings")
    if recs is not None:
        if not isinstance(recs, Mapping) or not all(isinstance(v, Mapping) for v in recs.values()):
            raise ConfigError(
                "'recordings' must map 'group/sequence' to converter params",
                path=path,
                expected="{'group/sequence': {fps: ...}}",
                found=type(recs).__name__,
            )
        out["recordings"] = {str(k): dict(v) for k, v in recs.items()}
    labels = data.get("labels")
    if labels is not None:
        _check_mapping(labels, "'labels'", path, LABEL_KEYS)
        _check_mapping(labels.get("params") or {}, "'labels.params'", path)
        out["labels"] = dict(labels)
    return out


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def source_params(
    sources: Mapping[str, Any], dataset_folder: str | os.PathLike, src_format: str, files: list[str | os.PathLike]
) -> dict[str, Any]:
    """Converter params of the ``tracks`` source that holds ``files`` (same format, under its search_dirs)."""
    root = Path(dataset_folder).resolve()
    paths = [(root / p).resolve() if not Path(p).is_absolute() else Path(p).resolve() for p in files]
    out: dict[str, Any] = {}
    for src in sources.get("tracks") or []:
        if src.get("src_format") != src_format or not src.get("params"):
            continue
        dirs = src["search_dirs"]
        dirs = [dirs] if isinstance(dirs, (str, os.PathLike)) else list(dirs)
        folders = [(root / d).resolve() if not Path(d).is_absolute() else Path(d).resolve() for d in dirs]
        if paths and all(any(_inside(p, f) for f in folders) for p in paths):
            out.update(src["params"])
    return out


def recording_params(sources: Mapping[str, Any], group: str, sequence: str) -> dict[str, Any]:
    """Converter params the description gives one recording (``recordings['group/sequence']``)."""
    return dict((sources.get("recordings") or {}).get(f"{group}/{sequence}") or {})


def ingest_sources(sources: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The ``tracks`` block as ``index_tracks_raw`` argument sets (``params`` removed); None when absent."""
    tracks = sources.get("tracks")
    if tracks is None:
        return None
    return [{k: v for k, v in t.items() if k != "params"} for t in tracks]
