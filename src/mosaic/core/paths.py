"""Output paths that cannot leave the dataset, and deletions that never follow a link.

Every write and every delete mosaic performs goes to a path that is checked first:

* :func:`safe_output_path` joins parts under a root and proves that the *resolved* location
  stays inside the resolved root — a folder inside the root that is a symbolic link to
  somewhere else is refused before anything is created, written or removed there;
* :func:`check_output_path` does the same for a bare path, finding its root from the dataset
  manifest above it (used by :mod:`mosaic.core.atomic`, so both doors are covered by one check);
* :func:`safe_unlink` and :func:`safe_rmtree` delete without ever following a link.

A root itself may be a link (a user may keep ``features`` on another disk); what is refused is
a path *below* a root whose resolution leaves it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath

from .errors import UnsafePathError

_MANIFEST_NAMES = ("dataset.yaml", "dataset.yml", "dataset.json")
_ROOTS_CACHE: dict[tuple[str, int, int], tuple[Path, ...]] = {}


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _lexical(path: str | os.PathLike) -> Path:
    """Absolute, normalised path without resolving links (``a/b/../c`` -> ``a/c``)."""
    return Path(os.path.normpath(os.path.abspath(os.fspath(path))))


def check_inside(path: str | os.PathLike, root: str | os.PathLike) -> Path:
    """Raise :class:`UnsafePathError` unless ``path`` resolves to a location inside ``root``.

    Both are resolved (every symbolic link followed, also dangling ones), so a link anywhere
    between ``root`` and ``path`` that points outside is caught. Returns ``path`` unchanged.
    """
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if not _inside(real, real_root):
        raise UnsafePathError(
            "output path leaves its root (a symbolic link or '..' points outside the dataset)",
            path=path,
            expected=f"a location inside {root}",
            found=real,
            hint="replace the link by a real folder, or point the dataset root itself at the other location",
        )
    return Path(path)


def safe_output_path(root: str | os.PathLike, *parts: str | os.PathLike) -> Path:
    """``root/parts...`` after proving that it stays inside ``root`` once links are resolved.

    Parts must be relative and free of ``..``. The returned path is lexical (not resolved), so
    paths stored in indexes keep the dataset's own spelling.

    Raises
    ------
    UnsafePathError
        A part is absolute or contains ``..``, or the resolved location leaves ``root``.
    """
    root_p = _lexical(root)
    for part in parts:
        pp = PurePath(part)
        if pp.is_absolute() or ".." in pp.parts:
            raise UnsafePathError(
                "output path part must be relative and without '..'",
                path=root_p / str(part),
                expected=f"a location inside {root_p}",
                found=str(part),
            )
    path = root_p.joinpath(*parts)
    return check_inside(path, root_p)


def _dataset_roots(manifest: Path) -> tuple[Path, ...]:
    """Lexical absolute roots declared by ``manifest`` (cached by size and mtime)."""
    try:
        st = manifest.stat()
    except OSError:
        return ()
    key = (str(manifest), st.st_mtime_ns, st.st_size)
    roots = _ROOTS_CACHE.get(key)
    if roots is None:
        from .dataset import DatasetCore  # lazy: dataset imports atomic, which imports this module
        from .errors import MosaicError

        try:
            ds = DatasetCore.open(manifest)
            roots = tuple(_lexical(ds.get_root(k)) for k in ds.roots if ds.has_root(k))
        except (MosaicError, OSError, ValueError):
            roots = ()
        if len(_ROOTS_CACHE) > 64:
            _ROOTS_CACHE.clear()
        _ROOTS_CACHE[key] = roots
    return roots


def owning_root(path: str | os.PathLike) -> Path | None:
    """The root a path is written under: the longest root of the nearest dataset above it.

    The dataset is the nearest folder above ``path`` (lexically) that holds a manifest; among
    its roots the one that lexically contains ``path`` wins, else the dataset folder itself.
    Without a dataset above, the longest root declared with :func:`register_root` that contains
    ``path``; else None.
    """
    p = _lexical(path)
    for folder in p.parents:
        for name in _MANIFEST_NAMES:
            manifest = folder / name
            if os.path.isfile(manifest):
                best = folder
                for root in _dataset_roots(manifest):
                    if _inside(str(p), str(root)) and len(str(root)) > len(str(best)):
                        best = root
                return best
    registered = [r for r in _REGISTERED_ROOTS if _inside(str(p), r)]
    return Path(max(registered, key=len)) if registered else None


_REGISTERED_ROOTS: set[str] = set()


def register_root(path: str | os.PathLike) -> None:
    """Declare a root that lies under no dataset folder (an absolute root elsewhere) for :func:`owning_root`.

    The catalog's root resolver registers every root it resolves, so paths under a root kept
    outside the dataset folder are checked in the Kedro door too.
    """
    _REGISTERED_ROOTS.add(str(_lexical(path)))


def check_output_path(path: str | os.PathLike) -> Path:
    """Refuse ``path`` when it resolves outside the root it is written under (see :func:`owning_root`).

    Paths under no dataset are returned unchecked. Call before creating folders, writing or
    deleting. Returns ``path``.
    """
    root = owning_root(path)
    if root is not None:
        check_inside(_lexical(path), root)
    return Path(path)


def safe_unlink(path: str | os.PathLike, root: str | os.PathLike | None = None) -> bool:
    """Remove one file (a link is removed itself, never its target) after checking its folder.

    ``root`` defaults to the owning root of ``path``. Returns False when it did not exist.
    """
    path = Path(path)
    parent = _lexical(path.parent)
    if root is not None:
        check_inside(parent, root)
    else:
        check_output_path(parent)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def safe_rmtree(path: str | os.PathLike, root: str | os.PathLike | None = None, missing_ok: bool = True) -> None:
    """Delete a folder tree without following any symbolic link.

    ``path`` itself must be a real folder inside ``root`` (default: its owning root); links met
    inside are removed as links, their targets are never touched.

    Raises
    ------
    UnsafePathError
        ``path`` is a symbolic link or resolves outside its root.
    """
    path = _lexical(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if missing_ok:
            return
        raise
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(
            "refusing to delete a folder that is a symbolic link",
            path=path,
            expected="a real folder",
            found=f"link to {os.path.realpath(path)}",
        )
    if root is not None:
        check_inside(path, root)
    else:
        check_output_path(path)
    if not stat.S_ISDIR(st.st_mode):
        path.unlink()
        return
    _rmtree_nofollow(path)


def _rmtree_nofollow(folder: Path) -> None:
    with os.scandir(folder) as it:
        entries = list(it)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _rmtree_nofollow(Path(entry.path))
        else:
            os.unlink(entry.path)  # files and links alike: a link is removed, never followed
    os.rmdir(folder)


def walk_files_nofollow(folder: str | os.PathLike) -> list[Path]:
    """Every non-directory entry under ``folder`` (links listed as entries, never descended into)."""
    out: list[Path] = []
    stack = [Path(folder)]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            else:
                out.append(Path(entry.path))
    return out


def check_regular_file(path: str | os.PathLike, error: type | None = None, **context) -> Path:
    """Prove ``path`` is a readable regular file before a reader opens it; return it.

    A FIFO, device, socket or folder where a file is expected is refused at once (opening a
    FIFO to read would block forever); so is a file the process may not read. The probe opens
    with ``O_NONBLOCK`` and never reads.

    Parameters
    ----------
    path
        The file a reader is about to open.
    error
        The :class:`~mosaic.core.errors.MosaicError` subclass to raise (default
        :class:`~mosaic.core.errors.StorageError`); ``context`` (``group``, ``sequence``,
        ``hint``) is passed on.
    """
    from .errors import MosaicError, StorageError

    cls = error or StorageError
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise cls("file not found", path=path, **context) from None
    except OSError as exc:
        import errno as _errno

        code = _errno.errorcode.get(exc.errno or 0, "OSError")
        raise cls(
            f"cannot open file: {exc.strerror or exc}", path=path, found=f"{code} ({exc.strerror or exc})", **context
        ) from exc
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a folder"
            if stat.S_ISDIR(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )
        raise cls("not a regular file", path=path, expected="a regular file", found=kind, **context)
    assert issubclass(cls, MosaicError)
    return path
