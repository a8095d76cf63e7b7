"""Atomic writes: a temporary file in the target folder, then ``os.replace``.

An interrupted run leaves the old file or none, never half of one. Temporary names start
with ``.`` and contain ``.tmp-`` so that no glob for outputs ever mistakes them for data, and
always fit in one file-name component (255 bytes) however long the target's name is.

Every target is checked before anything is created (:func:`mosaic.core.paths.check_output_path`:
no write through a link that leaves the dataset). The writer holds an advisory lock
(``flock``) on a lock file beside its temporary file (``<temporary name>.lock``) for as long as
it writes, which is how :func:`sweep_temp_files` tells a live write from a dead one, even from
another PID namespace.
File-system faults (disk full, read-only, permission, name too long) become
:class:`~mosaic.core.errors.StorageError` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import StorageError
from .paths import check_output_path

TMP_MARKER = ".tmp-"
#: the writer's lock file beside its temporary file: ``<temporary name>.lock``
LOCK_SUFFIX = ".lock"
#: longest file-name component on the file systems mosaic writes to (bytes)
NAME_MAX = 255
#: errors raised inside a write block that are about the output, not about its inputs
_WRITE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.ENAMETOOLONG})


def _fit_name(name: str, budget: int) -> str:
    """``name`` cut to ``budget`` UTF-8 bytes (never mid-character), plus a hash when cut."""
    raw = name.encode("utf-8")
    if len(raw) <= budget:
        return name
    digest = hashlib.blake2b(raw, digest_size=4).hexdigest()
    head = raw[: budget - len(digest) - 1].decode("utf-8", errors="ignore")
    return f"{head}~{digest}"


def temp_path_for(path: str | os.PathLike) -> Path:
    """Return a unique hidden temporary path beside ``path`` (its name fits in 255 bytes)."""
    path = Path(path)
    suffix = f"{TMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}"
    budget = NAME_MAX - 1 - len(suffix.encode("utf-8")) - len(LOCK_SUFFIX)  # its lock file's name fits too
    return path.with_name(f".{_fit_name(path.name, budget)}{suffix}")


def is_temp_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is a temporary file left by an atomic write."""
    name = Path(path).name
    return name.startswith(".") and TMP_MARKER in name


def _writer_pid(path: str | os.PathLike) -> int | None:
    """The process id recorded in a temporary file's name (None when it has none)."""
    name = Path(path).name
    try:
        return int(name.rsplit(TMP_MARKER, 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _lock_file(tmp: Path) -> Path:
    return tmp.with_name(tmp.name + LOCK_SUFFIX)


@contextlib.contextmanager
def _try_lock(lock: Path) -> Iterator[bool]:
    """Try to take ``lock`` without waiting; yield whether it was taken (held until the block ends)."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a live writer (any process, any PID namespace), or unlockable
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _sweep_one(path: Path, dry_run: bool) -> bool:
    """Remove one temporary file (and its lock file) unless a writer is alive; True when (to be) removed.

    A writer holds the lock file from before it creates the temporary file until after it is
    renamed. Deleting *while holding* that lock closes the race with a writer that has just
    created its lock file: the writer checks, once it holds the lock, that the lock file is
    still in place (see :func:`_create_locked_temp`). A temporary file without a lock file (a
    writer that does not lock) is kept while the process its name records runs here.
    """
    lock = _lock_file(path)
    if lock.exists():
        with _try_lock(lock) as taken:
            if not taken:
                return False
            if not dry_run:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                with contextlib.suppress(FileNotFoundError):
                    lock.unlink()
            return True
    pid = _writer_pid(path)
    if pid is not None and (pid == os.getpid() or _pid_alive(pid)):
        return False
    if not dry_run:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return True


def sweep_temp_files(folder: str | os.PathLike, dry_run: bool = False) -> list[Path]:
    """Delete temporary files left under ``folder`` by writes that were killed.

    A writer holds an advisory lock (on a ``.lock`` file beside its temporary file) while it
    writes; a temporary file whose lock is held is never touched, whichever process, container
    or PID namespace holds it. A temporary file without a lock file is kept while the process
    its name records runs here. On a network file system without ``flock`` support, run it
    where no other machine is writing. Returns the temporary files removed (or that would be,
    with ``dry_run``); their lock files, and lock files left without a temporary file, go too.
    """
    found = []
    for p in sorted(Path(folder).rglob(f".*{TMP_MARKER}*")):
        if p.is_symlink() or not p.is_file() or not is_temp_file(p):
            continue
        if p.name.endswith(LOCK_SUFFIX):
            data = p.with_name(p.name[: -len(LOCK_SUFFIX)])
            if not data.exists() and not dry_run:  # a killed writer's lock file alone
                with _try_lock(p) as taken:
                    if taken:
                        with contextlib.suppress(FileNotFoundError):
                            p.unlink()
            continue
        if _sweep_one(p, dry_run):
            found.append(p)
    return found


def storage_error(exc: OSError, path: str | os.PathLike, action: str = "write") -> StorageError:
    """A :class:`StorageError` naming ``path`` and the fault behind ``exc`` (e.g. ``ENOSPC``)."""
    code = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc) or type(exc).__name__
    hints = {
        errno.ENOSPC: "free disk space (or write the dataset elsewhere) and run again",
        errno.EDQUOT: "free disk space within your quota and run again",
        errno.EROFS: "the dataset is on a read-only file system: copy it somewhere writable",
        errno.EACCES: "check the file's and its folder's owner and permissions",
        errno.EPERM: "check the file's and its folder's owner and permissions",
        errno.ENAMETOOLONG: "use shorter group/sequence names",
    }
    err = StorageError(
        f"cannot {action} file: {reason}",
        path=path,
        found=f"{code or 'OSError'} ({reason})",
        hint=hints.get(exc.errno or 0),
    )
    err.errno = exc.errno
    return err


def _fsync_path(path: Path) -> None:
    """Flush a file or folder to disk by name; best effort (some file systems refuse it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _create_locked_temp(path: Path) -> tuple[Path, Path, int]:
    """Take a writer lock beside ``path`` and reserve a temporary name; return (tmp, lock file, fd).

    The lock sits on its own file, not on the temporary file, so that libraries which lock the
    file they write (HDF5) are not in conflict with it.
    """
    for _ in range(8):
        tmp = temp_path_for(path)
        lock = _lock_file(tmp)
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
                return tmp, lock, fd
        except FileNotFoundError:
            pass  # a sweep removed the lock file between its creation and the lock: take another name
        except OSError:
            with contextlib.suppress(OSError):
                lock.unlink()
            os.close(fd)
            raise
        os.close(fd)
    raise StorageError("cannot create a temporary file that stays in place", path=path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    For libraries that write by file name (pyarrow, OpenCV). On error the temporary file
    is removed and ``path`` is untouched. ``durable=False`` skips the fsyncs (the rename
    stays atomic) for many small files whose completeness a later, durable marker file
    records (e.g. PNG frames before their ``run_info.json``).

    Raises
    ------
    UnsafePathError
        ``path`` resolves outside the dataset root it is written under (nothing is created).
    StorageError
        The file system refused the write (disk full, read-only, permission, name too long).
    """
    path = Path(path)
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, lock, fd = _create_locked_temp(path)
    except OSError as exc:
        if isinstance(exc, StorageError):
            raise
        raise storage_error(exc, path) from exc
    try:
        try:
            yield tmp
        except OSError as exc:
            if isinstance(exc, StorageError) or exc.errno not in _WRITE_FAULTS:
                raise
            raise storage_error(exc, path) from exc
        try:
            if durable:
                _fsync_path(tmp)
            os.replace(tmp, path)
        except OSError as exc:
            raise storage_error(exc, path) from exc
        if durable:
            _fsync_path(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()  # still holding the lock: a sweep never sees a lock file free while its temp exists
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` when the block succeeds."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (``durable=False``: no fsync, see :func:`atomic_path`)."""
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, obj: Any, **kwargs: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("sort_keys", True)
    return atomic_write_text(path, json.dumps(obj, default=_json_default, **kwargs) + "\n")


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path, os.PathLike)):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
