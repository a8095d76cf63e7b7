"""Parameter specifications: one source for what a function accepts, its defaults and its docs.

A converter module declares ``PARAMETERS = {name: Param(default, doc)}``; its code reads its
defaults from there (:func:`defaults`), and the documentation site renders the same mapping
(:func:`markdown_table`), so the reference cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Param", "defaults", "format_default", "markdown_table"]


@dataclass(frozen=True)
class Param:
    """One parameter: its default value and a one-paragraph description (markdown)."""

    default: Any
    doc: str


def defaults(spec: Mapping[str, Param]) -> dict[str, Any]:
    """``{name: default}`` of a parameter specification."""
    return {k: p.default for k, p in spec.items()}


def format_default(value: Any) -> str:
    """A default as shown in the docs (``None`` as ``None``, strings quoted, sequences as lists)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_default(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    return repr(value)


def markdown_table(spec: Mapping[str, Param]) -> str:
    """A markdown table ``parameter | default | meaning`` of ``spec`` (in its order)."""
    if not spec:
        return "No parameters.\n"
    lines = ["| parameter | default | meaning |", "|---|---|---|"]
    for name, p in spec.items():
        doc = " ".join(str(p.doc).split()).replace("|", "\\|")
        lines.append(f"| `{name}` | `{format_default(p.default)}` | {doc} |")
    return "\n".join(lines) + "\n"
