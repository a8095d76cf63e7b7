"""Safe names: a reversible, file-system-safe encoding of group and sequence names.

Any user string (slashes, dots, ``..``, spaces, unicode) maps to one file name inside its
root and back. The encoding is percent-style over UTF-8 bytes:

* ``A-Z a-z 0-9 -`` stay as they are;
* ``.`` stays except as the first character (so no ``.``, ``..`` or hidden names);
* ``_`` stays except at either end or next to another ``_`` — a safe name therefore never
  contains ``__``, and ``<group_safe>__<sequence_safe>`` splits back uniquely;
* every other byte becomes ``%XX`` (upper-case hex).

Names whose encoding is longer than :data:`MAX_SAFE_LEN` bytes are shortened to a prefix
plus ``~`` and a content hash (``~`` never appears otherwise). Such a name is still unique
and inside its root, but it cannot be decoded from the file name alone: the indexes store
the original names beside the safe ones, so look it up there.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import InvalidNameError, UnsafePathError

KEY_SEPARATOR = "__"
MAX_SAFE_LEN = 120
_HASH_MARK = "~"
_PLAIN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def to_safe_name(name: str) -> str:
    """Encode ``name`` into a safe file-name component.

    Raises
    ------
    InvalidNameError
        If ``name`` is not a non-empty string.
    """
    if not isinstance(name, str) or name == "":
        raise InvalidNameError(
            "a group/sequence name must be a non-empty string", expected="non-empty str", found=repr(name)
        )
    raw = name.encode("utf-8")
    n = len(raw)
    out: list[str] = []
    for i, b in enumerate(raw):
        if b in _PLAIN:
            out.append(chr(b))
        elif b == 0x2E and i > 0:  # '.'
            out.append(".")
        elif b == 0x5F and 0 < i < n - 1 and raw[i - 1] != 0x5F and raw[i + 1] != 0x5F:  # '_'
            out.append("_")
        else:
            out.append(f"%{b:02X}")
    safe = "".join(out)
    if len(safe) > MAX_SAFE_LEN:
        digest = hashlib.blake2b(raw, digest_size=8).hexdigest()
        head = safe[: MAX_SAFE_LEN - len(digest) - 1]
        # never cut a %XX escape in half
        cut = head.rfind("%")
        if cut != -1 and cut > len(head) - 3:
            head = head[:cut]
        safe = f"{head}{_HASH_MARK}{digest}"
    return safe


def is_hashed(safe: str) -> bool:
    """True when ``safe`` was shortened with a hash and must be resolved through an index."""
    return _HASH_MARK in safe


def from_safe_name(safe: str) -> str:
    """Decode a safe name produced by :func:`to_safe_name`.

    Raises
    ------
    InvalidNameError
        If ``safe`` is malformed, or was shortened (look the original up in the index).
    """
    if not isinstance(safe, str) or safe == "":
        raise InvalidNameError("a safe name must be a non-empty string", found=repr(safe))
    if is_hashed(safe):
        raise InvalidNameError(
            "this safe name was shortened with a hash and cannot be decoded alone",
            found=safe,
            hint="look the original name up in the root's index.csv (group/sequence columns)",
        )
    buf = bytearray()
    i = 0
    while i < len(safe):
        c = safe[i]
        if c == "%":
            hx = safe[i + 1 : i + 3]
            if len(hx) != 2 or any(ch not in "0123456789ABCDEF" for ch in hx):
                raise InvalidNameError("malformed escape in safe name", found=safe, expected="%XX with upper-case hex")
            buf.append(int(hx, 16))
            i += 3
        elif ord(c) < 128 and (ord(c) in _PLAIN or c in "._"):
            buf.append(ord(c))
            i += 1
        else:
            raise InvalidNameError("character not allowed in a safe name", found=f"{c!r} in {safe!r}")
    try:
        name = buf.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNameError("safe name does not decode to UTF-8", found=safe) from exc
    if to_safe_name(name) != safe:
        raise InvalidNameError("not a canonical safe name", found=safe, expected=to_safe_name(name))
    return name


def sequence_key(group: str, sequence: str) -> str:
    """Return the file stem ``<group_safe>__<sequence_safe>`` of a recording."""
    return f"{to_safe_name(group)}{KEY_SEPARATOR}{to_safe_name(sequence)}"


def split_sequence_key(key: str) -> tuple[str, str]:
    """Decode ``<group_safe>__<sequence_safe>`` back into ``(group, sequence)``."""
    g, sep, s = key.partition(KEY_SEPARATOR)
    if not sep or not g or not s:
        raise InvalidNameError("not a sequence key", found=key, expected="<group_safe>__<sequence_safe>")
    return from_safe_name(g), from_safe_name(s)


def split_sequence_key_safe(key: str) -> tuple[str, str]:
    """Split a key into its two safe parts without decoding (works for hashed names too)."""
    g, sep, s = key.partition(KEY_SEPARATOR)
    if not sep or not g or not s:
        raise InvalidNameError("not a sequence key", found=key, expected="<group_safe>__<sequence_safe>")
    return g, s


def path_in_root(root: str | os.PathLike, *parts: str) -> Path:
    """Join safe ``parts`` under ``root`` and prove the result stays inside ``root``."""
    root = Path(root).resolve()
    path = root.joinpath(*parts).resolve()
    if path != root and root not in path.parents:
        raise UnsafePathError("path escapes its root", path=path, expected=f"inside {root}")
    return path
