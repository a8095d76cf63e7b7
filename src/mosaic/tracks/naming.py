"""Recording names from raw file names (per-individual suffixes, tool-specific stem parts)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

DEFAULT_PREFIXES = ("fish", "id")
#: formats whose files hold one individual each and are merged per (group, sequence)
PER_INDIVIDUAL_FORMATS = frozenset({"trex_npz", "trex_csv"})
_DLC_SCORER = re.compile(r"DLC_.*\Z", re.DOTALL)


def individual_suffix(stem: str, prefixes: Sequence[str] = DEFAULT_PREFIXES) -> tuple[str, int] | None:
    """Split ``'<video>_<prefix><k>'`` into ``('<video>', k)``; None when there is no such suffix."""
    alts = "|".join(re.escape(p) for p in prefixes)
    # DOTALL and \Z: a name with a newline is still one name (never split, never partly matched)
    m = re.match(rf"(?P<video>.+)_(?:{alts})(?P<k>[0-9]+)\Z", stem, re.DOTALL)
    if not m:
        return None
    return m.group("video"), int(m.group("k"))


def sequence_name(path: Path, src_format: str, prefixes: Sequence[str] = DEFAULT_PREFIXES) -> str:
    """The recording name of a raw file.

    TRex per-individual files lose their ``_<prefix><k>`` suffix; DeepLabCut files lose the
    ``DLC_<scorer>...`` part (``raw_clip1DLC_resnet50_...`` → ``raw_clip1``); SLEAP files
    lose ``.analysis``/``.predictions``; otherwise the file stem.
    """
    stem = path.stem
    if src_format in PER_INDIVIDUAL_FORMATS:
        split = individual_suffix(stem, prefixes)
        return split[0] if split else stem
    if src_format.startswith("dlc"):
        cut = _DLC_SCORER.sub("", stem)
        return cut or stem
    if src_format.startswith("sleap"):
        for suffix in (".analysis", ".predictions"):
            if stem.endswith(suffix):
                return stem[: -len(suffix)] or stem
    return stem
