"""Where a dataset's named roots lie: none may coincide with or contain another."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import ManifestError


def check_roots_apart(
    folder: Path,
    roots: Mapping[str, object],
    manifest_path: Path,
    keys: Iterable[str],
    shared_ok: Iterable[str],
) -> None:
    """Refuse roots among ``keys`` that coincide or lie inside one another.

    Paths are compared as written (relative ones joined to ``folder``) and with links
    resolved; two roots both in ``shared_ok`` (the raw roots) may share a folder.

    Raises
    ------
    ManifestError
        Two roots overlap (the message names both and their values).
    """
    shared_ok = tuple(shared_ok)
    places = {}
    for key, value in roots.items():
        if not value or not isinstance(value, str):
            continue
        p = Path(value)
        lexical = os.path.normpath(p if p.is_absolute() else folder / p)
        places[key] = (lexical, os.path.realpath(lexical))
    ordered = [k for k in keys if k in places]
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if a in shared_ok and b in shared_ok:
                continue
            for pa, pb in zip(places[a], places[b], strict=True):
                if pa == pb or pa.startswith(pb.rstrip(os.sep) + os.sep) or pb.startswith(pa.rstrip(os.sep) + os.sep):
                    raise ManifestError(
                        f"roots {a!r} and {b!r} overlap",
                        path=manifest_path,
                        expected="each root its own folder, none inside another (only media_raw and tracks_raw may share one)",
                        found=f"{a}: {roots[a]!r}, {b}: {roots[b]!r}",
                        hint="give each root its own folder in the manifest's 'roots'",
                    )
