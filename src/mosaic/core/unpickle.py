"""Reading pickled data without running code from it.

Some formats are pickles by nature (CalMS21 and idtracker.ai ``.npy`` files hold a pickled
dict). :func:`load_npy` reads them with :class:`RestrictedUnpickler`, which admits only
plain containers (dict, list, tuple), strings, bytes, numbers, None and numpy arrays,
dtypes and scalars; any other global a pickle names (a class, ``os.system``, ...) is refused
with :class:`UnsafePickleError` before it is looked up, so nothing in the file runs.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UnsafePickleError

#: the only globals a pickled numpy array (numpy 1.x or 2.x, any protocol) refers to
_NUMPY_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _NUMPY_GLOBALS[(_mod, "_reconstruct")] = np._core.multiarray._reconstruct
    _NUMPY_GLOBALS[(_mod, "scalar")] = np._core.multiarray.scalar
for _mod in ("numpy.core.numeric", "numpy._core.numeric"):
    _NUMPY_GLOBALS[(_mod, "_frombuffer")] = np._core.numeric._frombuffer
#: plain Python types a pickle may name explicitly (protocol 0-2 write some of them as globals)
_BUILTIN_GLOBALS = {
    ("builtins", n): getattr(__import__("builtins"), n)
    for n in ("dict", "list", "tuple", "str", "bytes", "int", "float", "complex", "bool")
}
_BUILTIN_GLOBALS[("__builtin__", "unicode")] = str


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """What protocol 0-2 pickles call to rebuild ``bytes``; any other codec is refused."""
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591") or not isinstance(text, str):
        raise UnsafePickleError(
            "pickled data asks for an unexpected codec (refused)", expected="latin1", found=repr(encoding)[:40]
        )
    return text.encode("latin1")


_BUILTIN_GLOBALS[("_codecs", "encode")] = _latin1_encode
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {**_NUMPY_GLOBALS, **_BUILTIN_GLOBALS}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`ALLOWED_GLOBALS` (no other class or function).

    Parameters
    ----------
    file
        Binary file positioned at the pickle stream.
    path
        The file the stream comes from (named in errors).
    """

    def __init__(self, file: Any, path: str | os.PathLike | None = None) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                "pickled data file refers to code (refused; nothing from it was run)",
                path=self._path,
                expected="only dict, list, str, numbers and numpy arrays",
                found=f"{module}.{name}",
                hint="export the data as plain arrays (JSON, .npz) or convert it with a trusted tool",
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            "pickled data file uses persistent ids (refused)",
            path=self._path,
            expected="a self-contained pickle",
            found=repr(pid)[:80],
        )


def restricted_loads(data: bytes, path: str | os.PathLike | None = None) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data), path).load()


def load_npy(path: str | os.PathLike) -> Any:
    """Read a ``.npy`` file; object arrays (pickles) through :class:`RestrictedUnpickler`.

    A 0-d object array (``np.save`` of a dict) is returned as its item, as
    ``np.load(..., allow_pickle=True).item()`` would.

    Raises
    ------
    UnsafePickleError
        The pickle names a global outside :data:`ALLOWED_GLOBALS`.
    OSError, ValueError, pickle.UnpicklingError, EOFError
        The file is not a readable ``.npy`` (callers name the file in their own error).
    """
    path = Path(path)
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
        if not dtype.hasobject:
            fh.seek(0)
            return np.load(fh, allow_pickle=False)
        obj = RestrictedUnpickler(fh, path).load()
    if not isinstance(obj, np.ndarray):
        raise ValueError(f"the pickle holds a {type(obj).__name__}, not an array")
    if obj.shape != tuple(shape):
        raise ValueError(f"array shape {obj.shape} differs from the header's {tuple(shape)}")
    if obj.ndim == 0 and obj.dtype == object:
        return obj.item()
    return obj
