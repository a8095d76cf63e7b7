"""Dataset-level label conversion: registered converters and user-supplied ones (:mod:`mosaic.labels.custom`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, LabelFormatError
from mosaic.core.run_ids import source_fingerprint

from .custom import convert_labels_custom  # noqa: F401 (importable from here too)
from .io import (
    SOURCE_FINGERPRINTS,
    LabelSet,
    existing_pairs,
    labels_dir,
    read_labels_index,
    remove_label_pairs,
    save_label_sets,
)
from .registry import ConverterOutput, get_label_converter, list_label_converters

log = logging.getLogger(__name__)
ON_ISSUE = ("warn", "error")
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
            "issues": self.issues,
        }
        return json.loads(json.dumps(d, default=_plain))


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _detect_format(ds: DatasetCore, params: Mapping[str, Any]) -> str:
    """Guess the source format: from the extensions of ``params['paths']``, else from what the dataset holds
    (the BORIS converter's default folder, or CalMS21 rows in ``tracks_raw/index.csv``)."""
    paths = params.get("paths")
    if paths:
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        sufs = {Path(str(x)).suffix.lower() for x in paths}
        if sufs <= {".npy"}:
            return "calms21_npy"
        if sufs <= {".json"}:
            return "calms21_json"
        if sufs <= {".boris"}:
            return "boris_project"
        if sufs <= {".csv", ".tsv", ".txt", ".xlsx", ""}:
            return "boris_csv"
    else:
        from .converters.boris_csv import DEFAULTS as BORIS_DEFAULTS
        from .converters.calms21 import indexed_calms21_files

        if any(ds.resolve_path(p).exists() for p in BORIS_DEFAULTS["paths"]):
            return "boris_csv"
        calms = indexed_calms21_files(ds)
        if calms:
            return "calms21_json" if calms[0][0].suffix.lower() == ".json" else "calms21_npy"
    raise ConfigError(
        "cannot tell the label source format",
        expected=[f for f, _ in list_label_converters()],
        found=f"paths={params.get('paths')!r}",
        hint="pass source_format=... and params paths=[...]",
    )


def _log_issue_summary(issues: list[dict[str, Any]], examples: int = 3) -> None:
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


def run_label_converter(
    ds: DatasetCore, kind: str, source_format: str, params: Mapping[str, Any]
) -> tuple[ConverterOutput, str]:
    """Run a registered converter (no writing) and apply ``on_issue``; returns (output, on_issue)."""
    params = dict(params)
    on_issue = params.pop("on_issue", "warn")
    if on_issue not in ON_ISSUE:
        raise ConfigError("unknown on_issue", expected=list(ON_ISSUE), found=on_issue)
    fn = get_label_converter(source_format, kind)
    out = fn(ds, kind, params)
    _log_issue_summary(out.issues)
    if out.issues and on_issue == "error":
        first = out.issues[0]
        raise LabelFormatError(
            f"{len(out.issues)} annotation problem(s) found; nothing was written",
            path=first.get("file"),
            group=first.get("group"),
            sequence=first.get("sequence"),
            expected="clean annotations (or on_issue='warn')",
            found="; ".join(f"{i.get('issue')} line {i.get('line', '?')}: {i.get('message')}" for i in out.issues[:5]),
        )
    return out, on_issue


def plan_label_conversion(
    ds: DatasetCore,
    kind: str = "behavior",
    overwrite: bool = False,
    params: Mapping[str, Any] | None = None,
    source_format: str | None = None,
    **kwargs: Any,
) -> tuple[list[LabelSet], LabelConversionReport]:
    """Run the converter and decide what to write (nothing is written).

    Returns the label sets to write (already converted recordings dropped unless ``overwrite``)
    and the report. :func:`convert_all_labels` and the Kedro ``label`` pipeline both use it.
    """
    from mosaic.core.sources import read_sources

    described = read_sources(ds.folder).get("labels") or {}  # the dataset's sources.yml: under the caller's params
    p = {**dict(described.get("params") or {}), **dict(params or {}), **kwargs}
    source_format = (
        source_format or p.pop("source_format", None) or described.get("source_format") or _detect_format(ds, p)
    )
    p.pop("source_format", None)
    out, _ = run_label_converter(ds, kind, source_format, p)
    current = _source_fingerprints(ds, out)
    mine = {id(ls): {rel: current[rel] for rel in _sources_of(ds, ls, current)} for ls in out.label_sets}
    for ls in out.label_sets:  # a JSON string: it rides in the label file (a plain array) and the index row
        ls.extra[SOURCE_FINGERPRINTS] = json.dumps(mine[id(ls)], sort_keys=True)
    recorded = {} if overwrite else _recorded_fingerprints(ds, kind)
    stale: dict[str, str] = {}
    todo, skipped = _to_write(out.label_sets, recorded, mine, current, stale)
    removed = _vanished(recorded, {(ls.group, ls.sequence) for ls in out.label_sets}, current, stale)
    report = LabelConversionReport(
        kind=kind,
        source_format=source_format,
        written=[(ls.group, ls.sequence) for ls in todo],
        skipped=skipped,
        issues=out.issues,
        stale=stale,
        removed=sorted(removed),
    )
    log.info(
        "labels %s/%s: %d to write (%d stale), %d already converted, %d to remove, %d issue(s)",
        kind,
        source_format,
        len(todo),
        len(stale) - len(removed),
        len(skipped),
        len(removed),
        len(out.issues),
    )
    return todo, report


def _to_write(
    label_sets: list[LabelSet],
    recorded: Mapping[tuple[str, str], dict[str, Any]],
    mine: Mapping[int, dict[str, Any]],
    current: Mapping[str, Any],
    stale: dict[str, str],
) -> tuple[list[LabelSet], list[tuple[str, str]]]:
    """(label sets to write, pairs already converted from unchanged files); records why in ``stale``."""
    todo, skipped = [], []
    for ls in label_sets:
        pair = (ls.group, ls.sequence)
        if pair not in recorded:
            todo.append(ls)
            continue
        why = _stale_reason(recorded[pair], mine[id(ls)]) if current else None
        if why is None:
            skipped.append(pair)
        else:
            stale[f"{ls.group}/{ls.sequence}"] = why
            todo.append(ls)
    return todo, skipped


def _vanished(
    recorded: Mapping[tuple[str, str], dict[str, Any]],
    produced: set[tuple[str, str]],
    current: Mapping[str, Any],
    stale: dict[str, str],
) -> list[tuple[str, str]]:
    """Recordings labelled before from a changed file that no longer yields them (e.g. an export cut to its
    header); records why in ``stale``."""
    removed = []
    for pair, fps in recorded.items():
        if pair in produced or not (set(fps) & set(current)):
            continue
        shared = sorted(set(fps) & set(current))
        why = _stale_reason({k: fps[k] for k in shared}, {k: current[k] for k in shared})
        if why is not None:
            removed.append(pair)
            stale[f"{pair[0]}/{pair[1]}"] = f"{why}; the annotations no longer hold this recording"
    return removed


def _source_fingerprints(ds: DatasetCore, out: ConverterOutput) -> dict[str, dict[str, Any]]:
    """``{dataset-relative path: fingerprint}`` of every annotation file the converter read."""
    fps = {}
    for src in out.sources:
        p = ds.resolve_path(src)
        try:
            fps[ds.relative_path(p)] = source_fingerprint(p)
        except OSError as exc:
            raise LabelFormatError(
                "annotation file is unreadable", path=p, found=f"{type(exc).__name__}: {exc.strerror or exc}"
            ) from exc
    return fps


def _sources_of(ds: DatasetCore, ls: LabelSet, current: Mapping[str, Any]) -> list[str]:
    """The annotation files one label set comes from: its own (``extra``) when named, else every file read."""
    own = ls.extra.get("source_files") or ([ls.extra["source_file"]] if ls.extra.get("source_file") else [])
    rel = [ds.relative_path(ds.resolve_path(str(x))) for x in own]
    return [r for r in rel if r in current] if rel and all(r in current for r in rel) else list(current)


def _recorded_fingerprints(ds: DatasetCore, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(group, sequence): {file: fingerprint}}`` of the recordings labelled with an existing file."""
    have = existing_pairs(ds, kind)
    idx = read_labels_index(ds, kind)
    out: dict[tuple[str, str], dict[str, Any]] = {pair: {} for pair in have}
    if SOURCE_FINGERPRINTS in idx.columns:
        for g, s, raw in zip(idx["group"], idx["sequence"], idx[SOURCE_FINGERPRINTS].fillna("").astype(str)):
            if (g, s) in out and raw:
                try:
                    val = json.loads(raw)
                except ValueError:
                    val = {}
                out[(g, s)] = val if isinstance(val, dict) else {}
    return out


def _stale_reason(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> str | None:
    """Why labels written from ``recorded`` sources do not reflect the ``now`` ones (None: they do)."""
    if not recorded:
        return "no source fingerprints recorded (converted by an older version)"
    if set(recorded) != set(now):
        return f"annotation files changed: added {sorted(set(now) - set(recorded))}, removed {sorted(set(recorded) - set(now))}"
    for rel in sorted(now):
        a, b = recorded[rel], now[rel]
        if (
            not isinstance(a, Mapping)
            or a.get("size") != b.get("size")
            or (a.get("mtime_ns") != b.get("mtime_ns") and not (a.get("sha256") and a.get("sha256") == b.get("sha256")))
        ):
            return f"{rel}: changed since the labels were written"
    return None


def write_conversion_report(ds: DatasetCore, report: LabelConversionReport) -> Path:
    """Write ``labels/<kind>/conversion_report.json`` atomically."""
    return atomic_write_json(labels_dir(ds, report.kind) / REPORT_NAME, report.to_dict())


def convert_all_labels(
    ds: DatasetCore,
    kind: str = "behavior",
    overwrite: bool = False,
    params: Mapping[str, Any] | None = None,
    source_format: str | None = None,
    **kwargs: Any,
) -> LabelConversionReport:
    """Convert annotation files to ``labels/<kind>/*.npz`` with a registered converter.

    Parameters
    ----------
    ds
        The dataset.
    kind
        Label kind (folder under ``labels/``), ``'behavior'`` by default.
    overwrite
        Rewrite recordings already converted (default: skip them).
    params
        Converter parameters (see ``mosaic.labels.converters.<format>``), plus ``on_issue``
        (``'warn'`` default: problems are logged and reported; ``'error'``: raise and write nothing).
    source_format
        ``'boris_csv'``, ``'boris_project'``, ``'calms21_npy'``, ``'calms21_json'`` or a registered one; default
        ``params['source_format']``, else guessed from the extensions of ``params['paths']``, else
        from the dataset (``annotations/boris_aggregated`` → BORIS; CalMS21 rows in
        ``tracks_raw/index.csv`` → CalMS21).
    **kwargs
        Merged into ``params``.

    Returns
    -------
    LabelConversionReport
        Written/skipped recordings and reported problems (also saved as
        ``labels/<kind>/conversion_report.json``); ``report.index`` is the updated index.
    """
    todo, report = plan_label_conversion(ds, kind, overwrite, params, source_format, **kwargs)
    remove_label_pairs(ds, kind, report.removed)
    save_label_sets(ds, kind, todo, overwrite=True)
    write_conversion_report(ds, report)
    report.index = read_labels_index(ds, kind)
    return report
