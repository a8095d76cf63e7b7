"""Size limits checked before allocating: a small file must not make mosaic allocate gigabytes.

Readers compare what a file *declares* (array shapes in ``.npy`` headers, uncompressed sizes in
a zip directory, frame ranges) with what it holds and with the memory mosaic may use, and
refuse with :class:`~mosaic.core.errors.ResourceLimitError` before any allocation.

The budget for one allocation is half the smaller of physical memory and the address-space
limit (``ulimit -v``); ``MOSAIC_MAX_ALLOC_BYTES`` sets it explicitly.
"""
from __future__ import annotations

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


def check_file_size(path: str | os.PathLike, limit: int, what: str, error: type = ResourceLimitError, **context) -> int:
    """Refuse a file larger than ``limit`` bytes before reading it; return its size."""
    size = os.stat(path).st_size
    if size > limit:
        raise error(f"{what} is too large to read", path=path, expected=f"at most {limit} bytes", found=f"{size} bytes",
                    **context)
    return size


def check_alloc(n_items: int | float, itemsize: int, what: str, error: type = ResourceLimitError, **context) -> None:
    """Refuse an allocation of ``n_items`` × ``itemsize`` bytes beyond :func:`alloc_budget`."""
    need = float(n_items) * float(itemsize)
    budget = alloc_budget()
    if not math.isfinite(need) or need > budget:
        raise error(f"{what} would need more memory than allowed", expected=f"at most {budget} bytes",
                    found=f"{need:.3g} bytes", **context)


def check_npz(path: str | os.PathLike, error: type = ResourceLimitError, **context) -> dict[str, tuple[tuple[int, ...], str]]:
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
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=10000)
                    else:
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=10000)
                    header_len = fh.tell()
                declared = float(np.prod([float(d) for d in shape])) * dtype.itemsize if shape else float(dtype.itemsize)
                if dtype.hasobject:
                    out[name] = (tuple(shape), dtype.str)
                    continue  # pickled content: the reader's own allow_pickle=False refuses it
                if declared != info.file_size - header_len:
                    raise error("array in .npz declares a size its data does not have", path=path,
                                expected=f"{name}: {declared:.0f} data bytes for shape {tuple(shape)} {dtype}",
                                found=f"{info.file_size - header_len} bytes in the archive", **context)
                total += declared
                out[name] = (tuple(shape), dtype.str)
    except MosaicError:
        raise
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
        raise error("not a readable .npz file", path=path, found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                    **context) from exc
    budget = alloc_budget()
    if total > budget:
        raise error("arrays in .npz would need more memory than allowed", path=path, expected=f"at most {budget} bytes",
                    found=f"{total:.0f} bytes declared", **context)
    return out
