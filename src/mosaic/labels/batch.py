"""Label conversion as a planned batch of per-file tasks on the core executor (:mod:`mosaic.core.executor`).

The unit of work is one annotation source file: a BORIS export or project — which may hold several
recordings: its task reads the file once and writes every recording it holds — or a CalMS21 file
(every sequence it holds). A task carries paths and parameters, never tables: its worker reads its
file, validates, writes each label file atomically (:func:`~mosaic.labels.io.write_label_npz`) and
returns a small record (index rows, recordings written and skipped, problems). The driver then
removes the labels of recordings the annotations no longer hold and writes
``labels/<kind>/index.csv`` once, and the conversion report.

Several BORIS files are first *surveyed* on the same executor (each worker returns the file's
behaviours, subjects and recordings): files labelling a common recording become one task, and the
vocabulary (when ``behaviors`` is not fixed) and partner names are decided from every file, so the
label files are the same as from one combined read, whatever the executor. A converter registered
without a per-file split (:func:`~mosaic.labels.registry.register_label_converter`) runs as one task.
With ``on_issue='error'`` every task is first converted without writing; any problem stops the run
before a file is written.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, LabelFormatError, MosaicError

from .io import SOURCE_FINGERPRINTS, label_file_path, write_label_npz
from .label_index import index_row, remove_label_pairs, upsert_labels_index
from .registry import resolve_converter
from .report import LabelConversionReport, issue_error, log_issue_summary, write_conversion_report
from .staleness import file_fingerprints, recorded_fingerprints, recorded_for, sources_of, stale_reason, vanished

log = logging.getLogger(__name__)
ON_ISSUE = ("warn", "error")


@dataclass(frozen=True)
class LabelTask:
    """One unit of label conversion: the annotation files it reads and what its worker needs besides them."""

    order: int
    #: dataset-relative (or absolute) annotation files; empty for a converter without a per-file split
    files: tuple[str, ...]
    #: converter parameters, ``paths`` naming ``files``
    params: Mapping[str, Any]
    #: what every task shares (BORIS: the vocabulary and subject names of every file)
    context: Mapping[str, Any] = field(default_factory=dict)
    #: ``{(group, sequence): {file: fingerprint}}`` recorded for the recordings these files made
    recorded: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    write: bool = True


@dataclass(frozen=True)
class _Settings:
    """What every task of a batch carries: the dataset and the conversion's settings (small, picklable)."""

    ds: DatasetCore
    kind: str
    source_format: str
    target: str | Callable
    overwrite: bool
    on_issue: str


def _module(target: str | Callable):
    """The module of a converter (its optional ``split``/``survey``/``join`` functions live there)."""
    fn = resolve_converter(target)
    return sys.modules.get(getattr(fn, "__module__", "") or "")


def _named(settings: _Settings, task: LabelTask, exc: Exception) -> MosaicError:
    """A converter's unexpected exception as a :class:`LabelFormatError` naming the task's files."""
    if isinstance(exc, MosaicError):
        return exc
    files = ", ".join(task.files) or settings.source_format
    err = LabelFormatError("label conversion failed", path=files, found=f"{type(exc).__name__}: {exc}")
    err.__cause__ = exc
    return err


def survey_task(item: tuple[_Settings, LabelTask]) -> dict[str, Any]:
    """Worker: what one file shares with the others (the converter module's ``survey``)."""
    settings, task = item
    try:
        found = _module(settings.target).survey(settings.ds, settings.kind, task.params)
    except Exception as exc:
        raise _named(settings, task, exc) from exc
    return {"order": task.order, **found}


def convert_task(item: tuple[_Settings, LabelTask]) -> dict[str, Any]:
    """Worker: convert one task's files, write each recording (unless current or a dry run), return its record.

    An error comes back naming the task's files (``task_order`` set on it).
    """
    settings, task = item
    try:
        return _convert(settings, task)
    except Exception as exc:
        err = _named(settings, task, exc)
        err.task_order = task.order
        if err is exc:
            raise
        raise err from exc


def _convert(s: _Settings, task: LabelTask) -> dict[str, Any]:
    current = file_fingerprints(s.ds, task.files)  # before reading: a file edited meanwhile makes it stale
    fn = resolve_converter(s.target)
    out = (
        fn(s.ds, s.kind, dict(task.params), context=task.context)
        if task.context
        else fn(s.ds, s.kind, dict(task.params))
    )
    current = current or file_fingerprints(s.ds, out.sources)
    if out.issues and s.on_issue == "error" and task.write:
        raise issue_error(out.issues)
    rec: dict[str, Any] = {"order": task.order, "files": list(task.files), "fingerprints": current}
    rec.update(issues=list(out.issues), produced=[], written=[], skipped=[], stale={}, rows=[])
    for ls in out.label_sets:
        mine = {rel: current[rel] for rel in sources_of(s.ds, ls, current)}
        ls.extra[SOURCE_FINGERPRINTS] = json.dumps(mine, sort_keys=True)  # rides in the file and its index row
        pair = (ls.group, ls.sequence)
        rec["produced"].append(pair)
        if not s.overwrite and pair in task.recorded:
            why = stale_reason(task.recorded[pair], mine) if current else None
            if why is None:
                rec["skipped"].append(pair)
                continue
            rec["stale"][f"{ls.group}/{ls.sequence}"] = why
        if task.write:
            path = label_file_path(s.ds, s.kind, ls.group, ls.sequence)
            write_label_npz(path, ls)
            rec["rows"].append(index_row(s.ds, s.kind, ls, path))
        rec["written"].append(pair)
    return rec


class LabelConversionBatch:
    """A planned label conversion: its tasks, run by :meth:`run` (the one write loop of both doors).

    Built by :func:`mosaic.labels.plan_label_conversion` (files listed, nothing read). The facade's
    ``convert_all_labels`` runs it; the Kedro ``label`` node returns it and its catalog entries
    (``labels``, the labels index, the report) save it by running it (once: a later save finds it done).

    Parameters
    ----------
    ds, kind, source_format
        The dataset, the label kind (``labels/<kind>``) and the converter's source format.
    params
        Converter parameters (without ``on_issue``).
    overwrite
        Rewrite recordings whose labels are current.
    on_issue
        ``'warn'`` or ``'error'`` (see :func:`mosaic.labels.convert_all_labels`).
    executor
        How tasks run (:class:`~mosaic.core.executor.ExecutorConfig`; serial when None).
    """

    def __init__(
        self,
        ds: DatasetCore,
        kind: str,
        source_format: str,
        params: Mapping[str, Any],
        overwrite: bool = False,
        on_issue: str = "warn",
        executor: Any = None,
    ) -> None:
        from mosaic.core.executor import ExecutorConfig

        from .registry import converter_target

        if on_issue not in ON_ISSUE:
            raise ConfigError("unknown on_issue", expected=list(ON_ISSUE), found=on_issue)
        target = converter_target(source_format, kind)
        self.settings = _Settings(ds, kind, source_format, target, bool(overwrite), on_issue)
        self.params = dict(params)
        self.executor = executor or ExecutorConfig()
        self.recorded = {} if overwrite else recorded_fingerprints(ds, kind)
        split = getattr(_module(target), "split", None)
        if split is None:  # a converter without a per-file split: one task, every recording
            self.tasks = [LabelTask(0, (), dict(self.params), {}, self.recorded)]
        else:
            self.tasks = [self._task(i, u) for i, u in enumerate(split(ds, self.params))]
        self._lock = threading.Lock()
        self._outcome: LabelConversionReport | MosaicError | None = None

    @classmethod
    def empty(cls, ds: DatasetCore, kind: str, source_format: str | None = None) -> LabelConversionBatch:
        """A batch with no task (no annotation files): running it removes nothing and writes the report only."""
        from mosaic.core.executor import ExecutorConfig

        batch = cls.__new__(cls)
        batch.settings = _Settings(ds, kind, source_format or "", "", False, "warn")
        batch.params, batch.executor, batch.recorded, batch.tasks = {}, ExecutorConfig(), {}, []
        batch.__setstate__({"_outcome": None})
        return batch

    @property
    def ds(self) -> DatasetCore:
        return self.settings.ds

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def source_format(self) -> str:
        return self.settings.source_format

    def __deepcopy__(self, memo: dict) -> LabelConversionBatch:
        return self  # a MemoryDataset holding it hands out the batch itself (it is run once)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _task(self, order: int, params: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> LabelTask:
        """A task reading the files ``params['paths']`` names (as dataset-relative keys)."""
        ds = self.ds
        files = tuple(ds.relative_path(ds.resolve_path(str(p))) for p in params["paths"])
        return LabelTask(
            order, files, {**params, "paths": list(files)}, dict(context or {}), recorded_for(self.recorded, files)
        )

    def _items(self, tasks: list[LabelTask]) -> list[tuple[_Settings, LabelTask]]:
        return [(self.settings, t) for t in tasks]

    def _joined(self) -> list[LabelTask]:
        """The tasks to convert: files surveyed and grouped when the converter shares facts between them."""
        from mosaic.core.executor import run_tasks

        if len(self.tasks) < 2 or not hasattr(module := _module(self.settings.target), "survey"):
            return list(self.tasks)
        found = _results(
            run_tasks(survey_task, self._items(self.tasks), self.executor, desc="survey labels", unit="file")
        )
        groups, context = module.join(self.ds, self.kind, self.params, [found[t.order] for t in self.tasks])
        tasks = []
        for i, members in enumerate(groups):
            paths = [p for m in members for p in self.tasks[m].files]
            tasks.append(self._task(i, {**self.tasks[members[0]].params, "paths": paths}, context))
        return tasks

    def run(self, executor: Any = None, write_report: bool = True) -> LabelConversionReport:
        """Convert and write every task, then index and report once; a second call returns the first outcome.

        Raises the first task error (in task order) after the good files are written and indexed,
        and :class:`~mosaic.core.errors.LabelFormatError` for problems with ``on_issue='error'``
        (nothing written).
        """
        with self._lock:
            if self._outcome is None:
                if executor is not None:
                    self.executor = executor
                try:
                    self._outcome = self._run(write_report)
                except MosaicError as exc:
                    self._outcome = exc
            if isinstance(self._outcome, MosaicError):
                raise self._outcome
            return self._outcome

    def _run(self, write_report: bool) -> LabelConversionReport:
        from mosaic.core.executor import run_tasks

        tasks = self._joined()
        desc = f"convert labels {self.kind}"
        if self.settings.on_issue == "error":  # convert everything first: a problem anywhere writes nothing
            dry = _results(
                run_tasks(
                    convert_task,
                    self._items([replace(t, write=False) for t in tasks]),
                    self.executor,
                    desc=desc,
                    unit="file",
                )
            )
            issues = [i for o in sorted(dry) for i in dry[o]["issues"]]
            if issues:
                log_issue_summary(issues)
                raise issue_error(issues)
        records, errors = {}, {}
        for r, t in _paired(run_tasks(convert_task, self._items(tasks), self.executor, desc=desc, unit="file"), tasks):
            if isinstance(r, MosaicError):
                errors[t.order] = (t, r)
            else:
                records[r["order"]] = r
        return self._finish([records[o] for o in sorted(records)], [errors[o] for o in sorted(errors)], write_report)

    def _finish(
        self, records: list[dict], errors: list[tuple[LabelTask, MosaicError]], write_report: bool
    ) -> LabelConversionReport:
        """Remove vanished recordings, upsert the index once, write the report; raise the first error."""
        ds, kind = self.ds, self.kind
        stale = {k: v for r in records for k, v in r["stale"].items()}
        clashes = _duplicates(records)
        errors = errors + clashes
        clashing = {(e.group, e.sequence) for _, e in clashes}
        current = {k: v for r in records for k, v in r["fingerprints"].items()}
        produced = {tuple(p) for r in records for p in r["produced"]}
        # a failed file's recordings are unknown: nothing is removed on its account
        removed = [] if errors else vanished(self.recorded, produced, current, stale)
        remove_label_pairs(ds, kind, removed)
        rows = [row for r in records for row in r["rows"] if (row["group"], row["sequence"]) not in clashing]
        rows.sort(key=lambda row: (row["group"], row["sequence"]))
        if rows:
            upsert_labels_index(ds, kind, rows)
        issues = [i for r in records for i in r["issues"]]
        log_issue_summary(issues)
        report = LabelConversionReport(
            kind=kind,
            source_format=self.source_format,
            written=[tuple(p) for r in records for p in r["written"]],
            skipped=[tuple(p) for r in records for p in r["skipped"]],
            issues=issues,
            stale=stale,
            removed=removed,
            failed={", ".join(t.files) or self.source_format: str(e) for t, e in errors},
        )
        log.info(
            "labels %s/%s: %d written (%d stale), %d already converted, %d removed, %d issue(s), %d failed file(s)",
            kind,
            self.source_format,
            len(report.written),
            len(stale) - len(removed),
            len(report.skipped),
            len(removed),
            len(issues),
            len(errors),
        )
        if write_report and (
            rows or removed or not errors
        ):  # a run that failed and changed nothing leaves all as it was
            write_conversion_report(ds, report)
        for t, e in errors[1:]:
            log.error("label conversion failed: %s: %s", ", ".join(t.files), e)
        if errors:
            raise errors[0][1]
        return report


def _paired(results, tasks: list[LabelTask]):
    """``(result, task)`` pairs: a record or an error names its task by ``order`` (``task_order``)."""
    by_order = {t.order: t for t in tasks}
    for r in results:
        order = getattr(r, "task_order", None) if isinstance(r, MosaicError) else r["order"]
        yield r, by_order.get(order, LabelTask(-1, (), {}))


def _results(results) -> dict[int, dict[str, Any]]:
    """``{order: record}`` of a pass that must not fail (survey, dry run): the first error is raised."""
    out = {}
    for r in results:
        if isinstance(r, MosaicError):
            raise r
        out[r["order"]] = r
    return out


def _duplicates(records: list[dict]) -> list[tuple[LabelTask, MosaicError]]:
    """A recording produced by two tasks (two files name the same recording): an error naming both files."""
    owner: dict[tuple[str, str], list[str]] = {}
    out = []
    for r in records:
        for p in r["produced"]:
            pair = tuple(p)
            if pair in owner:
                err = LabelFormatError(
                    "two annotation files map to the same (group, sequence)",
                    path=", ".join(r["files"]),
                    group=pair[0],
                    sequence=pair[1],
                    expected="unique names",
                    found=f"also from {', '.join(owner[pair])}",
                )
                out.append((LabelTask(r["order"], tuple(r["files"]), {}), err))
            owner.setdefault(pair, list(r["files"]))
    return out
