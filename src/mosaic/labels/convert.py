"""Dataset-level label conversion: registered converters and user-supplied ones (:mod:`mosaic.labels.custom`).

:func:`plan_label_conversion` plans a :class:`~mosaic.labels.batch.LabelConversionBatch` (one task
per annotation file, nothing read); :func:`convert_all_labels` runs it. The Kedro ``label`` node
plans the same batch and its catalog entries run it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError

from .batch import ON_ISSUE, LabelConversionBatch  # noqa: F401 (ON_ISSUE importable from here)
from .custom import convert_labels_custom  # noqa: F401 (importable from here too)
from .io import read_labels_index
from .registry import list_label_converters
from .report import REPORT_NAME, LabelConversionReport, write_conversion_report  # noqa: F401

log = logging.getLogger(__name__)


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


def plan_label_conversion(
    ds: DatasetCore,
    kind: str = "behavior",
    overwrite: bool = False,
    params: Mapping[str, Any] | None = None,
    source_format: str | None = None,
    executor: Any = None,
    **kwargs: Any,
) -> LabelConversionBatch:
    """Plan a label conversion: the source format, the parameters and one task per annotation file.

    Nothing is read but the file listing; :meth:`LabelConversionBatch.run` converts and writes.
    The dataset's ``sources.yml`` (``labels``: ``source_format``, ``params``) lies under ``params``
    and ``kwargs``. :func:`convert_all_labels` and the Kedro ``label`` node both use it.
    """
    from mosaic.core.sources import read_sources

    described = read_sources(ds.folder).get("labels") or {}  # the dataset's sources.yml: under the caller's params
    p = {**dict(described.get("params") or {}), **dict(params or {}), **kwargs}
    source_format = (
        source_format or p.pop("source_format", None) or described.get("source_format") or _detect_format(ds, p)
    )
    p.pop("source_format", None)
    on_issue = p.pop("on_issue", "warn")
    return LabelConversionBatch(ds, kind, source_format, p, overwrite=overwrite, on_issue=on_issue, executor=executor)


def convert_all_labels(
    ds: DatasetCore,
    kind: str = "behavior",
    overwrite: bool = False,
    params: Mapping[str, Any] | None = None,
    source_format: str | None = None,
    parallel_mode: str = "serial",
    parallel_workers: int | None = None,
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
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
        Rewrite recordings already converted (default: skip those whose files are unchanged).
    params
        Converter parameters (see ``mosaic.labels.converters.<format>``), plus ``on_issue``
        (``'warn'`` default: problems are logged and reported; ``'error'``: raise and write nothing).
    source_format
        ``'boris_csv'``, ``'boris_project'``, ``'calms21_npy'``, ``'calms21_json'`` or a registered one; default
        ``params['source_format']``, else guessed from the extensions of ``params['paths']``, else
        from the dataset (``annotations/boris_aggregated`` → BORIS; CalMS21 rows in
        ``tracks_raw/index.csv`` → CalMS21).
    parallel_mode, parallel_workers, dask_address, memory_limit
        How annotation files are converted: ``'serial'`` (default), ``'thread'``, ``'process'`` or
        ``'dask'`` (see :mod:`mosaic.core.executor`). Each task reads one annotation file (a BORIS
        export or project may hold several recordings; a CalMS21 file several sequences) and
        writes its label files; the index is written once.
    **kwargs
        Merged into ``params``.

    Returns
    -------
    LabelConversionReport
        Written/skipped recordings and reported problems (also saved as
        ``labels/<kind>/conversion_report.json``); ``report.index`` is the updated index.

    Raises
    ------
    MosaicError
        The first file that failed (named), after the other files are written and indexed.
    """
    from mosaic.core.executor import ExecutorConfig

    config = ExecutorConfig(parallel_mode, parallel_workers, dask_address, memory_limit)
    report = plan_label_conversion(ds, kind, overwrite, params, source_format, executor=config, **kwargs).run()
    report.index = read_labels_index(ds, kind)
    return report
