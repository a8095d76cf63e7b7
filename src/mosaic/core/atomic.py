"""Atomic writes: a temporary file in the target folder, then ``os.replace``.

An interrupted run leaves the old file or none, never half of one. Temporary names start
with ``.`` and contain ``.tmp-`` so that no glob for outputs ever mistakes them for data.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TMP_MARKER = ".tmp-"


def temp_path_for(path: str | os.PathLike) -> Path:
    """Return a unique hidden temporary path beside ``path``."""
    path = Path(path)
    return path.with_name(f".{path.name}{TMP_MARKER}{os.getpid()}-{secrets.token_hex(4)}")


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


def sweep_temp_files(folder: str | os.PathLike, dry_run: bool = False) -> list[Path]:
    """Delete temporary files left under ``folder`` by writes that were killed.

    A temporary file is removed only when the process named in it no longer runs, so an
    in-flight write of a concurrent run on this machine is never touched (on a filesystem
    shared between machines, run it where no other machine is writing). Returns the files
    removed (or that would be, with ``dry_run``).
    """
    found = []
    for p in sorted(Path(folder).rglob(f".*{TMP_MARKER}*")):
        if not p.is_file() or not is_temp_file(p):
            continue
        pid = _writer_pid(p)
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue
        if pid == os.getpid():
            continue
        found.append(p)
        if not dry_run:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return found


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    For libraries that write by file name (pyarrow, OpenCV). On error the temporary file
    is removed and ``path`` is untouched. ``durable=False`` skips the fsyncs (the rename
    stays atomic) for many small files whose completeness a later, durable marker file
    records (e.g. PNG frames before their ``run_info.json``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        if durable:
            with contextlib.suppress(OSError):
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        os.replace(tmp, path)
        if durable:
            _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


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
