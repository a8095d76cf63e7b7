"""Older per-individual tags files (``.npz`` of object arrays), read without running foreign code.

:func:`read_legacy_id_tags_npz` admits only numpy arrays of plain values (numbers, strings,
booleans, None): object arrays are unpickled with a whitelist of numpy's array constructors.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from mosaic.core.errors import LabelFormatError

_PLAIN_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}
_PLAIN_TYPES = (int, float, str, bool, type(None), np.generic)
#: what a damaged or hostile member raises while read
_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, pickle.UnpicklingError, AttributeError, TypeError)


class _PlainArrayUnpickler(pickle.Unpickler):
    """Unpickles a numpy object array of plain values; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PLAIN_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a tags array")
        if module == "numpy.core.multiarray":  # numpy >= 2 moved it; avoid the deprecated alias
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def _object_array(fh: IO[bytes], key: str, shape: tuple[int, ...], path: Path) -> np.ndarray:
    """An object array member (after its header): unpickled with the whitelist, every value plain."""
    arr = _PlainArrayUnpickler(fh).load()
    if not isinstance(arr, np.ndarray) or arr.shape != tuple(shape):
        raise LabelFormatError(
            "id tags array is not what its header declares",
            path=path,
            expected=f"array {shape}",
            found=type(arr).__name__,
        )
    bad = sorted({type(x).__name__ for x in arr.ravel().tolist() if not isinstance(x, _PLAIN_TYPES)})
    if bad:
        raise LabelFormatError(
            f"id tags array {key!r} holds values that are not plain",
            path=path,
            expected="numbers, strings, booleans or None",
            found=bad,
        )
    return arr


def _member(zf: zipfile.ZipFile, member: str, path: Path) -> np.ndarray:
    """One ``.npy`` member: a plain array read without pickles, an object array through :func:`_object_array`."""
    from numpy.lib import format as npformat

    with zf.open(member) as fh:
        version = npformat.read_magic(fh)
        read_header = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
        shape, _fortran, dtype = read_header(fh)
        if not dtype.hasobject:
            fh.seek(0)
            return npformat.read_array(fh, allow_pickle=False)
        return _object_array(fh, member.removesuffix(".npy"), shape, path)


def read_legacy_id_tags_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of an older id-tags ``.npz`` (object arrays of plain values included).

    Object arrays are unpickled with a whitelist of numpy's array constructors only, and every
    element must be a number, string, boolean or None: no other code can run.

    Raises
    ------
    LabelFormatError
        Not an npz, an array holding anything else, or an unreadable member.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            return {member.removesuffix(".npy"): _member(zf, member, path) for member in zf.namelist()}
    except _READ_ERRORS as exc:
        raise LabelFormatError(
            "not a readable id tags .npz",
            path=path,
            found=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            hint="re-save the tags with save_id_labels (JSON)",
        ) from exc
