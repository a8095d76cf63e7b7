"""Run ids: short content hashes of what a run depends on.

Same inputs and params give the same run id, so a rerun is recognised and skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

RUN_ID_LENGTH = 12
_FINGERPRINT_CACHE: dict[tuple[str, int, int], str] = {}


def canonical_json(obj: Any) -> str:
    """Serialise ``obj`` deterministically (sorted keys, tuples as lists, numpy as Python)."""
    from .atomic import _json_default

    return json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), default=_json_default)


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    return obj


def make_run_id(payload: Any, length: int = RUN_ID_LENGTH) -> str:
    """Return the first ``length`` hex digits of the SHA-256 of ``canonical_json(payload)``."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()[:length]


def _hash_file(path: str | os.PathLike, h: Any, chunk_size: int) -> str:
    """Feed the file to the hash object ``h`` in chunks of ``chunk_size`` bytes; return its hex digest."""
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            h.update(chunk)
    return h.hexdigest()


def file_fingerprint(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Content hash (BLAKE2b, 16 hex digits) of a file, cached per (path, size, mtime).

    Content, not mtime, identifies a file, so a copied or re-cloned dataset keeps its run ids.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    cached = _FINGERPRINT_CACHE.get(key)
    if cached is not None:
        return cached
    digest = _hash_file(path, hashlib.blake2b(digest_size=8), chunk_size)
    _FINGERPRINT_CACHE[key] = digest
    return digest


def md5_of_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """MD5 hex digest of a file (for raw-file inventories where users expect md5)."""
    return _hash_file(path, hashlib.md5(), chunk_size)


def sha256_of_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file (what a saved artefact is verified against when read back)."""
    return _hash_file(path, hashlib.sha256(), chunk_size)


#: files up to this size get a content hash in their fingerprint (reading them again is cheap)
CONTENT_HASH_LIMIT = 64 * 2**20


def source_fingerprint(path: str | os.PathLike, content_hash_limit: int = CONTENT_HASH_LIMIT) -> dict[str, Any]:
    """What an output records about one of its input files: ``size``, ``mtime_ns`` and, for
    files up to ``content_hash_limit`` bytes, ``sha256``."""
    st = os.stat(path)
    out: dict[str, Any] = {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}
    if st.st_size <= content_hash_limit:
        out["sha256"] = sha256_of_file(path)
    return out


def fingerprint_change(recorded: Any, path: str | os.PathLike) -> str | None:
    """Why ``path`` no longer matches its ``recorded`` fingerprint (None when it still does).

    Same size and mtime: unchanged. Same size, another mtime: unchanged only when the
    recorded content hash still matches (a file touched or copied, not edited).
    """
    if not isinstance(recorded, dict) or "size" not in recorded:
        return "no fingerprint recorded"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "source file is gone"
    if st.st_size != recorded.get("size"):
        return f"size changed ({recorded.get('size')} -> {st.st_size} bytes)"
    if st.st_mtime_ns == recorded.get("mtime_ns"):
        return None
    digest = recorded.get("sha256")
    if digest and st.st_size <= CONTENT_HASH_LIMIT * 4 and sha256_of_file(path) == digest:
        return None
    return "content changed" if digest else "modified (newer mtime, no content hash recorded)"
