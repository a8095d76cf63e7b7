"""Path portability: map absolute paths written elsewhere, and rewrite the paths in indexes.

A dataset moved to another machine or folder keeps working through its ``path_map``
(``{old_prefix: new_prefix}``, longest prefix wins) and through index paths stored relative
to the dataset folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath

from .indexes import OWN_INDEXES, index_header, index_lock, is_path_column, read_index, write_index


def remap_with(path_map: dict[str, str], path: str | os.PathLike) -> Path:
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


def own_index_files(roots: Iterable[tuple[str, Path]]) -> list[Path]:
    """The dataset's own ``index.csv`` files under ``roots`` (``(key, folder)`` pairs), each once.

    Only files at the places the dataset writes its indexes whose header holds that index's
    declared columns count.
    """
    folders = dict(roots)
    seen: dict[Path, None] = {}
    for key, pattern, columns in OWN_INDEXES:
        root = folders.get(key)
        if root is None or not root.is_dir():
            continue
        for p in sorted(root.glob(pattern)):
            header = index_header(p)
            if header is not None and set(columns) <= set(header):
                seen.setdefault(p.resolve(), None)
    return list(seen)


def rewrite_index_paths(indexes: Iterable[Path], transform: Callable[[str], str], dry_run: bool) -> dict[str, int]:
    """Pass every non-empty path cell of ``indexes`` through ``transform``; return ``{index: n_changed}``.

    Each index is rewritten under its lock (no row another writer adds meanwhile is lost) and
    only when a cell changed; with ``dry_run`` nothing is written.
    """
    report: dict[str, int] = {}
    for idx in indexes:
        with index_lock(idx):
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


def remapping(path_map: dict[str, str]) -> Callable[[str], str]:
    """A transform mapping absolute paths through ``path_map``; relative ones are kept."""

    def transform(v: str) -> str:
        p = PurePath(v)
        return remap_with(path_map, p).as_posix() if p.is_absolute() else v

    return transform


def portable(folder: Path, remap: Callable[[Path], Path]) -> Callable[[str], str]:
    """A transform making absolute paths inside ``folder`` relative to it.

    Absolute paths that do not exist are first passed through ``remap``; paths outside
    ``folder`` and relative paths are kept.
    """

    def transform(v: str) -> str:
        p = Path(v)
        if not p.is_absolute():
            return v
        if not p.exists():
            p = remap(p)
        try:
            return p.relative_to(folder).as_posix()
        except ValueError:
            return v

    return transform
