"""Size limits checked before allocating: a small file must not make mosaic allocate gigabytes.

Readers compare what a file *declares* (array shapes in ``.npy`` headers, uncompressed sizes in
a zip directory, frame ranges) with what it holds and with the memory mosaic may use, and
refuse with :class:`~mosaic.core.errors.ResourceLimitError` before any allocation.

The budget for one allocation is half the smaller of physical memory and the address-space
limit (``ulimit -v``); ``MOSAIC_MAX_ALLOC_BYTES`` sets it explicitly.
"""

from __future__ import annotations

import csv
import math
import os
import resource
import zipfile
from pathlib import Path

import numpy as np

from .errors import MosaicError, ResourceLimitError

#: largest ``index.csv`` read (bytes); ``MOSAIC_MAX_INDEX_BYTES`` overrides
MAX_INDEX_BYTES = 512 * 1024**2
#: largest manifest read (bytes)
MAX_MANIFEST_BYTES = 1024**2
#: longest CSV/TSV record (a line, or several lines joined by a quoted field) read; ``MOSAIC_MAX_RECORD_BYTES`` overrides
MAX_RECORD_BYTES = 16 * 1024**2
#: block size of the streaming scan in :func:`check_text_records`
_SCAN_BLOCK = 1024**2


def alloc_budget() -> int:
    """Bytes one array may take: half of min(physical memory, address-space limit), or the env override."""
    env = os.environ.get("MOSAIC_MAX_ALLOC_BYTES")
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            pass
    try:
        phys = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        phys = 8 * 1024**3
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
        phys = min(phys, soft)
    return int(phys // 2)


def max_index_bytes() -> int:
    """Largest index file :func:`mosaic.core.indexes.read_index` reads."""
    env = os.environ.get("MOSAIC_MAX_INDEX_BYTES")
    try:
        return int(float(env)) if env else MAX_INDEX_BYTES
    except ValueError:
        return MAX_INDEX_BYTES


def max_record_bytes() -> int:
    """Longest CSV/TSV record :func:`check_text_records` lets a reader parse."""
    env = os.environ.get("MOSAIC_MAX_RECORD_BYTES")
    try:
        return max(1, int(float(env))) if env else MAX_RECORD_BYTES
    except ValueError:
        return MAX_RECORD_BYTES


def _check_whole_read(fh, path, what: str, error: type, context: dict) -> None:
    """Refuse an open file too large to load as a whole within :func:`alloc_budget`."""
    size = os.fstat(fh.fileno()).st_size
    budget = alloc_budget() // 8  # bytes, decoded text and the parsed rows
    if size > budget:
        raise error(
            f"{what} is too large to read at once",
            path=path,
            expected=f"at most {budget} bytes",
            found=f"{size} bytes",
            **context,
        )


def _scan_block(buf: bytes, quote: bytes, odd: bool, run: int, longest: int) -> tuple[int, int, bool]:
    """Advance the record scan over one block; return ``(longest, run, odd)``.

    ``run`` is the length of the record still open at the block's start, ``odd`` whether a
    ``quote``-quoted field is open there, ``longest`` the longest record so far.
    """
    q = quote[0] if quote else None
    arr = np.frombuffer(buf, np.uint8)
    newline = arr == 10
    if q is not None and (odd or quote in buf):
        parity = (np.cumsum(arr == q, dtype=np.int64) + int(odd)) % 2
        newline &= parity == 0
        odd = bool(parity[-1])
    ends = np.flatnonzero(newline)
    if ends.size == 0:
        run += len(buf)
    else:
        inner = int(np.diff(ends).max()) - 1 if ends.size > 1 else 0
        longest = max(longest, run + int(ends[0]), inner)
        run = len(buf) - int(ends[-1]) - 1
    return max(longest, run), run, odd


def check_text_records(
    path: str | os.PathLike,
    what: str,
    *,
    whole: bool = False,
    quote: bytes = b'"',
    error: type = ResourceLimitError,
    **context,
) -> int:
    """Refuse a CSV/TSV file whose longest record is beyond :func:`max_record_bytes`; return that length.

    The file is streamed once in blocks (memory stays at one block whatever the file holds). A
    record ends at a newline outside ``quote``-quoted text, so one huge quoted cell spread over many
    lines counts as one record. Python's :func:`csv.field_size_limit` is raised to the record limit
    (no field of a checked file can be longer), so ``csv`` readers accept what passed. With
    ``whole=True`` (the reader loads the whole text at once) the file size is also checked against
    :func:`alloc_budget`.

    Raises
    ------
    error
        A record (or, with ``whole``, the file) is too large. ``context`` (``group``,
        ``sequence``) is passed on. Unreadable files are left to the reader's own errors (returns 0).
    """
    limit = max_record_bytes()
    try:
        fh = open(path, "rb")
    except OSError:
        return 0  # the reader names its own unreadable-file error
    with fh:
        if whole:
            _check_whole_read(fh, path, what, error, context)
        block = min(_SCAN_BLOCK, limit)
        run = longest = 0
        odd = False  # inside a quoted field at the start of the block
        while True:
            try:
                buf = fh.read(block)
            except OSError:
                return longest
            if not buf:
                break
            longest, run, odd = _scan_block(buf, quote, odd, run, longest)
            if longest > limit:
                raise error(
                    f"{what} has a line or cell too long to parse",
                    path=path,
                    expected=f"records of at most {limit} bytes",
                    found=f"a record of more than {limit} bytes",
                    hint="MOSAIC_MAX_RECORD_BYTES raises the limit",
                    **context,
                )
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)
    return longest


def check_file_size(path: str | os.PathLike, limit: int, what: str, error: type = ResourceLimitError, **context) -> int:
    """Refuse a file larger than ``limit`` bytes before reading it; return its size."""
    size = os.stat(path).st_size
    if size > limit:
        raise error(
            f"{what} is too large to read",
            path=path,
            expected=f"at most {limit} bytes",
            found=f"{size} bytes",
            **context,
        )
    return size


def check_alloc(n_items: int | float, itemsize: int, what: str, error: type = ResourceLimitError, **context) -> None:
    """Refuse an allocation of ``n_items`` × ``itemsize`` bytes beyond :func:`alloc_budget`."""
    need = float(n_items) * float(itemsize)
    budget = alloc_budget()
    if not math.isfinite(need) or need > budget:
        raise error(
            f"{what} would need more memory than allowed",
            expected=f"at most {budget} bytes",
            found=f"{need:.3g} bytes",
            **context,
        )


def _npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype, int]:
    """Shape, dtype and header length of one ``.npy`` member of a zip (its data is not read)."""
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=10000)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=10000)
        return tuple(shape), dtype, fh.tell()


def check_npz(
    path: str | os.PathLike, error: type = ResourceLimitError, **context
) -> dict[str, tuple[tuple[int, ...], str]]:
    """Read the ``.npy`` headers of an ``.npz`` without loading any array; refuse size bombs.

    Each member's declared shape × itemsize must equal the bytes the zip directory says it
    holds, and the total must fit :func:`alloc_budget`. Returns ``{name: (shape, dtype)}``.

    Raises
    ------
    error
        A member's header is unreadable, declares more (or less) data than it holds, or the
        arrays would not fit in memory. ``context`` (``group``, ``sequence``) is passed on.
    """
    path = Path(path)
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    total = 0.0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[:-4]
                shape, dtype, header_len = _npy_header(zf, info)
                declared = (
                    float(np.prod([float(d) for d in shape])) * dtype.itemsize if shape else float(dtype.itemsize)
                )
                if dtype.hasobject:
                    out[name] = (tuple(shape), dtype.str)
                    continue  # pickled content: the reader's own allow_pickle=False refuses it
                if declared != info.file_size - header_len:
                    raise error(
                        "array in .npz declares a size its data does not have",
                        path=path,
                        expected=f"{name}: {declared:.0f} data bytes for shape {tuple(shape)} {dtype}",
                        found=f"{info.file_size - header_len} bytes in the archive",
                        **context,
                    )
                total += declared
                out[name] = (tuple(shape), dtype.str)
    except MosaicError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise error(
            "not a readable .npz file",
            path=path,
            found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            **context,
        ) from exc
    budget = alloc_budget()
    if total > budget:
        raise error(
            "arrays in .npz would need more memory than allowed",
            path=path,
            expected=f"at most {budget} bytes",
            found=f"{total:.0f} bytes declared",
            **context,
        )
    return out
