"""The report of a label conversion (``labels/<kind>/conversion_report.json``) and its log summary."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import LabelFormatError

from .label_index import labels_dir

log = logging.getLogger(__name__)
REPORT_NAME = "conversion_report.json"


@dataclass
class LabelConversionReport:
    """Outcome of a conversion: recordings written and skipped, and the problems reported."""

    kind: str
    source_format: str
    written: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    index: pd.DataFrame | None = None
    #: recordings rewritten because their annotation files changed: ``{"group/sequence": why}``
    stale: dict[str, str] = field(default_factory=dict)
    #: recordings whose annotation files changed and no longer yield them (their labels are removed)
    removed: list[tuple[str, str]] = field(default_factory=list)
    #: annotation files whose conversion failed: ``{file(s): error}`` (their recordings are not written)
    failed: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.written)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (written to ``labels/<kind>/conversion_report.json``); plain Python types only."""
        d = {
            "kind": self.kind,
            "source_format": self.source_format,
            "written": [list(x) for x in self.written],
            "skipped": [list(x) for x in self.skipped],
            "stale": dict(self.stale),
            "removed": [list(x) for x in self.removed],
            "failed": dict(self.failed),
            "issues": self.issues,
        }
        return json.loads(json.dumps(d, default=_plain))


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def log_issue_summary(issues: list[dict[str, Any]], examples: int = 3) -> None:
    """One warning per kind of issue (count, files, first examples), not one per event.

    Every issue is kept in ``labels/<kind>/conversion_report.json``.
    """
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for i in issues:
        by_kind.setdefault(str(i.get("issue")), []).append(i)
    for kind, items in sorted(by_kind.items()):
        files = sorted({str(i.get("file")) for i in items})
        shown = "; ".join(f"{i.get('message')} (line {i.get('line', '?')})" for i in items[:examples])
        log.warning(
            "labels: %d x %s in %d file(s) %s, e.g. %s (all listed in conversion_report.json)",
            len(items),
            kind,
            len(files),
            files[:3],
            shown,
        )


def issue_error(issues: list[dict[str, Any]]) -> LabelFormatError:
    """The error of ``on_issue='error'``: the problems found (nothing was written), the first one's file named."""
    first = issues[0]
    return LabelFormatError(
        f"{len(issues)} annotation problem(s) found; nothing was written",
        path=first.get("file"),
        group=first.get("group"),
        sequence=first.get("sequence"),
        expected="clean annotations (or on_issue='warn')",
        found="; ".join(f"{i.get('issue')} line {i.get('line', '?')}: {i.get('message')}" for i in issues[:5]),
    )


def write_conversion_report(ds: DatasetCore, report: LabelConversionReport) -> Path:
    """Write ``labels/<kind>/conversion_report.json`` atomically."""
    return atomic_write_json(labels_dir(ds, report.kind) / REPORT_NAME, report.to_dict())
